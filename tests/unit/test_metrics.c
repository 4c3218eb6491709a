/* The metrics page (exposition format: names, HELP/TYPE, label escaping, which
 * families appear) and the listen address parser shared by --metrics and the
 * config file. */
#include <arpa/inet.h>
#include <errno.h>

#include "check.h"
#include "metrics/metrics.h"

static char *page_of(const struct ar_metrics_snapshot *s)
{
    struct ar_buf b = {0};
    CHECK(ar_metrics_format(s, &b) == 0);
    ar_buf_putc(&b, 0);
    return b.p;
}

/* Every sample line's name has a HELP and a TYPE line before it, once. */
static void check_well_formed(const char *page)
{
    char typed[256][96];
    size_t ntyped = 0;
    for (const char *line = page; *line;) {
        const char *end = strchr(line, '\n');
        CHECK(end != NULL);
        if (!end)
            return;
        char name[96];
        if (sscanf(line, "# TYPE %95s", name) == 1) {
            for (size_t i = 0; i < ntyped; i++)
                CHECK(strcmp(typed[i], name) != 0);
            if (ntyped < 256)
                strcpy(typed[ntyped++], name);
            CHECK(strncmp(end - 8, " counter", 8) == 0 || strncmp(end - 6, " gauge", 6) == 0);
            if (strncmp(end - 8, " counter", 8) == 0)
                CHECK(strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0);
        } else if (line[0] != '#') {
            size_t n = strcspn(line, "{ ");
            bool found = false;
            for (size_t i = 0; i < ntyped; i++)
                found |= strlen(typed[i]) == n && strncmp(typed[i], line, n) == 0;
            CHECK(found);
        }
        line = end + 1;
    }
}

static void test_page(void)
{
    struct ar_metrics_output outs[2] = {
        {.name = "file:/var/log/a\"b\\c\nd.json", .stats = {.bytes_sent = 1234, .lines_dropped = 5,
                                                            .memory_now = 77}},
        {.name = "kafka://127.0.0.1:9092/audit",
         .stats = {.bytes_sent = 99, .has_counts = true,
                   .delivery = {.sent = 10, .acked = 8, .retried = 1, .awaiting = 2}}},
    };
    struct ar_metrics_snapshot s = {
        .source = "unicast",
        .start_time = 1700000000,
        .pipeline = {.records = 42},
        .reasm = {.events = 7, .gap_events = 3, .lost = 11},
        .in_flight = 6,
        .src = {.audit = true, .kernel_lost = 4, .enobufs = 2, .kernel_backlog = 3,
                .kernel_backlog_limit = 8192},
        .outputs = outs,
        .noutputs = 2,
    };
    char *page = page_of(&s);
    check_well_formed(page);
    CHECK(strstr(page, "\nauditrelay_records_total 42\n"));
    CHECK(strstr(page, "\nauditrelay_events_total 7\n"));
    CHECK(strstr(page, "\nauditrelay_serial_gaps_total 3\n"));
    CHECK(strstr(page, "\nauditrelay_serials_lost_total 11\n"));
    CHECK(strstr(page, "\nauditrelay_kernel_lost_total 4\n"));
    CHECK(strstr(page, "\nauditrelay_enobufs_total 2\n"));
    CHECK(strstr(page, "# TYPE auditrelay_kernel_backlog gauge\nauditrelay_kernel_backlog 3\n"));
    CHECK(strstr(page, "\nauditrelay_kernel_backlog_limit 8192\n"));
    CHECK(strstr(page, "# TYPE auditrelay_events_in_flight gauge\nauditrelay_events_in_flight 6\n"));
    CHECK(strstr(page, "auditrelay_info{version=\"" AR_VERSION "\",source=\"unicast\"} 1\n"));
    CHECK(strstr(page, "# TYPE auditrelay_records_total counter\n"));
    CHECK(strstr(page, "# TYPE auditrelay_output_queue_bytes gauge\n"));
    /* Backslash, double quote and line feed escaped in label values. */
    CHECK(strstr(page, "auditrelay_output_sent_bytes_total{output=\"file:/var/log/a\\\"b\\\\c\\nd.json\"} 1234\n"));
    CHECK(strstr(page, "auditrelay_output_dropped_lines_total{output=\"file:/var/log/a\\\"b\\\\c\\nd.json\"} 5\n"));
    CHECK(strstr(page, "auditrelay_output_queue_bytes{output=\"file:/var/log/a\\\"b\\\\c\\nd.json\"} 77\n"));
    /* Delivery counts only for the acknowledging output. */
    CHECK(strstr(page, "auditrelay_output_delivery_acked_lines_total{output=\"kafka://127.0.0.1:9092/audit\"} 8\n"));
    CHECK(strstr(page, "auditrelay_output_delivery_awaiting_lines{output=\"kafka://127.0.0.1:9092/audit\"} 2\n"));
    CHECK(!strstr(page, "auditrelay_output_delivery_sent_lines_total{output=\"file:"));
    /* Secrets in options do not reach the page; everything else does. */
    struct ar_metrics_output secret = {
        .name = "kafka://b1:9092/audit?compression=zstd&rdkafka.sasl.password=hunter2&"
                "rdkafka.sasl.username=u&rdkafka.Client.Secret=s3&key=host"};
    struct ar_metrics_snapshot ss = {.source = "unicast", .outputs = &secret, .noutputs = 1};
    char *sp = page_of(&ss);
    CHECK(strstr(sp, "auditrelay_output_sent_bytes_total{output=\"kafka://b1:9092/audit?"
                     "compression=zstd&rdkafka.sasl.password=redacted&rdkafka.sasl.username=u&"
                     "rdkafka.Client.Secret=redacted&key=host\"} 0\n"));
    CHECK(!strstr(sp, "hunter2") && !strstr(sp, "s3&"));
    free(sp);
    /* Groups the source does not have are left out. */
    CHECK(!strstr(page, "auditrelay_ring_lost_total"));
    CHECK(!strstr(page, "auditrelay_malformed_lines_total"));
    CHECK(!strstr(page, "auditrelay_process_")); /* no process table */
    free(page);

    /* Replay: its own counters; no output with delivery counts: no such family. */
    struct ar_metrics_snapshot r = {.source = "replay", .src = {.text = true, .lines = 9,
                                                                .malformed = 2},
                                    .has_proctab = true,
                                    .proctab = {.size = 16384, .entries = 10, .created = 12,
                                                .evicted = 2, .lost = 1, .chains_cut = 3,
                                                .proc_lookups = 4, .proc_reused = 5}};
    page = page_of(&r);
    check_well_formed(page);
    CHECK(strstr(page, "# TYPE auditrelay_process_table_entries gauge\n"
                       "auditrelay_process_table_entries 10\n"));
    CHECK(strstr(page, "\nauditrelay_process_table_size 16384\n"));
    CHECK(strstr(page, "\nauditrelay_process_table_made_total 12\n"));
    CHECK(strstr(page, "\nauditrelay_process_table_reused_total 2\n"));
    CHECK(strstr(page, "\nauditrelay_process_context_lost_total 1\n"));
    CHECK(strstr(page, "\nauditrelay_process_chains_cut_total 3\n"));
    CHECK(strstr(page, "\nauditrelay_process_proc_lookups_total 4\n"));
    CHECK(strstr(page, "\nauditrelay_process_proc_reused_total 5\n"));
    CHECK(strstr(page, "\nauditrelay_input_lines_total 9\n"));
    CHECK(strstr(page, "\nauditrelay_malformed_lines_total 2\n"));
    CHECK(!strstr(page, "auditrelay_kernel_lost_total"));
    CHECK(!strstr(page, "auditrelay_output_"));
    free(page);
}

static void check_listen(const char *s, int family, const char *addr, unsigned port)
{
    struct ar_metrics_listen l;
    char err[256] = "", buf[128];
    int r = ar_metrics_parse_listen(s, &l, err, sizeof(err));
    CHECK(r == 0);
    if (r < 0) {
        fprintf(stderr, "  '%s': %s\n", s, err);
        return;
    }
    CHECK(l.on && l.addr.ss_family == family);
    ar_metrics_listen_format((struct sockaddr *)&l.addr, buf, sizeof(buf));
    char want[128];
    snprintf(want, sizeof(want), family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, port);
    CHECK_STR(buf, want);
}

static void check_bad(const char *s, const char *says)
{
    struct ar_metrics_listen l = {.on = false};
    char err[256] = "";
    CHECK(ar_metrics_parse_listen(s, &l, err, sizeof(err)) == -EINVAL);
    CHECK(!l.on);
    CHECK(strstr(err, says) != NULL);
    if (!strstr(err, says))
        fprintf(stderr, "  '%s': got '%s', want '%s'\n", s, err, says);
}

static void test_listen(void)
{
    check_listen("9469", AF_INET, "127.0.0.1", 9469); /* a port alone: loopback */
    check_listen("0", AF_INET, "127.0.0.1", 0);
    check_listen("127.0.0.1:9469", AF_INET, "127.0.0.1", 9469);
    check_listen("0.0.0.0:80", AF_INET, "0.0.0.0", 80);
    check_listen("[::1]:9469", AF_INET6, "::1", 9469);
    check_listen("[::]:65535", AF_INET6, "::", 65535);
    check_bad("", "empty");
    check_bad("65536", "0 to 65535");
    check_bad("-1", "0 to 65535");
    check_bad("127.0.0.1:", "0 to 65535");
    check_bad("127.0.0.1:http", "0 to 65535");
    check_bad("127.0.0.1", "0 to 65535");
    check_bad("localhost:9469", "not a numeric IPv4");
    check_bad("300.1.1.1:9469", "not a numeric IPv4");
    check_bad("::1:9469", "[ADDR]:PORT");
    check_bad("[::1]", "[ADDR]:PORT");
    check_bad("[::1]9469", "[ADDR]:PORT");
    check_bad("[127.0.0.1]:9469", "not a numeric IPv6");
    check_bad(":9469", "not IPV4:PORT");
}

/* Filters: the dropped total and one sample per filter, its text a label value. */
static void test_filters(void)
{
    struct ar_filter *f;
    char why[256];
    CHECK(ar_filter_new(NULL, &f) == 0);
    CHECK(ar_filter_add(f, "keep key=\"a\\\"b\"", why, sizeof(why)) == 0);
    CHECK(ar_filter_add(f, "drop all", why, sizeof(why)) == 0);
    struct ar_metrics_snapshot s = {.source = "replay", .filter = f};
    char *page = page_of(&s);
    check_well_formed(page);
    CHECK(strstr(page, "\nauditrelay_filter_dropped_events_total 0\n"));
    CHECK(strstr(page, "\nauditrelay_filter_unmatched_events_total 0\n"));
    CHECK(strstr(page, "\nauditrelay_filter_matched_events_total{filter=\"1\",action=\"keep\","
                       "spec=\"keep key=\\\"a\\\\\\\"b\\\"\"} 0\n"));
    CHECK(strstr(page, "\nauditrelay_filter_matched_events_total{filter=\"2\",action=\"drop\","
                       "spec=\"drop all\"} 0\n"));
    free(page);
    /* Without filters, no filter family at all. */
    struct ar_metrics_snapshot none = {.source = "replay"};
    page = page_of(&none);
    CHECK(!strstr(page, "auditrelay_filter_"));
    free(page);
    ar_filter_free(f);
}

int main(void)
{
    test_page();
    test_filters();
    test_listen();
    return check_done();
}
