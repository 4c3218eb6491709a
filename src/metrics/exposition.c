/* The metrics page in Prometheus' text exposition format, and the listen address
 * parser shared by --metrics and the config file. No I/O here. */
#include "metrics/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int ar_metrics_parse_listen(const char *s, struct ar_metrics_listen *ret, char *err,
                            size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *port_s;
    if (!s || !*s) {
        snprintf(err, errlen, "an empty metrics address (want PORT, IPV4:PORT or [IPV6]:PORT)");
        return -EINVAL;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host)) {
            snprintf(err, errlen, "'%s': an IPv6 address is written [ADDR]:PORT", s);
            return -EINVAL;
        }
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = 0;
        port_s = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            strcpy(host, "127.0.0.1"); /* a port alone: loopback */
            port_s = s;
        } else {
            if (strchr(s, ':') != colon) {
                snprintf(err, errlen, "'%s': an IPv6 address is written [ADDR]:PORT", s);
                return -EINVAL;
            }
            if ((size_t)(colon - s) >= sizeof(host) || colon == s) {
                snprintf(err, errlen, "'%s' is not IPV4:PORT", s);
                return -EINVAL;
            }
            memcpy(host, s, (size_t)(colon - s));
            host[colon - s] = 0;
            port_s = colon + 1;
        }
    }
    char *end;
    errno = 0;
    unsigned long port = strtoul(port_s, &end, 10);
    if (errno || end == port_s || *end || port > 65535 || port_s[0] == '-' || port_s[0] == '+') {
        snprintf(err, errlen, "'%s': the port must be a number from 0 to 65535", s);
        return -EINVAL;
    }
    struct ar_metrics_listen l = {.on = true};
    struct sockaddr_in *v4 = (struct sockaddr_in *)&l.addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&l.addr;
    if (s[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        l.addrlen = sizeof(*v4);
    } else if (s[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        l.addrlen = sizeof(*v6);
    } else {
        snprintf(err, errlen, "'%s': '%s' is not a numeric IP%s address (names are not looked up)",
                 s, host, s[0] == '[' ? "v6" : "v4");
        return -EINVAL;
    }
    *ret = l;
    return 0;
}

void ar_metrics_listen_format(const struct sockaddr *sa, char *buf, size_t size)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        snprintf(buf, size, "[%s]:%u", host, ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, ntohs(v4->sin_port));
    }
}

/* The metrics, one table per kind of sample. Names follow Prometheus' conventions:
 * counters end in _total, units in the name (bytes, lines). */
enum group { G_ALL, G_AUDIT, G_RING, G_TEXT, G_PROCTAB };

struct metric {
    const char *name, *help;
    bool gauge;
    enum group group;
    size_t offset; /* of a uint64_t in struct ar_metrics_snapshot */
};

#define SNAP(f) offsetof(struct ar_metrics_snapshot, f)
static const struct metric run_metrics[] = {
    {"auditrelay_records_total", "Audit records read by the pipeline.", false, G_ALL,
     SNAP(pipeline.records)},
    {"auditrelay_events_total", "Events completed by reassembly (records grouped by serial).",
     false, G_ALL, SNAP(reasm.events)},
    {"auditrelay_events_in_flight", "Events being assembled now (records waiting for their event's end).",
     true, G_ALL, SNAP(in_flight)},
    {"auditrelay_events_timed_out_total", "Events completed by a timeout, not by their last record.",
     false, G_ALL, SNAP(reasm.timed_out)},
    {"auditrelay_events_evicted_total", "Events completed early: too many in flight.", false,
     G_ALL, SNAP(reasm.evicted)},
    {"auditrelay_records_over_cap_total", "Records dropped over the per-event caps.", false,
     G_ALL, SNAP(reasm.dropped_records)},
    {"auditrelay_stray_eoe_total", "EOE records whose event had already completed.", false,
     G_ALL, SNAP(reasm.stray_eoe)},
    {"auditrelay_serial_gaps_total", "Gaps in the audit serials (each reported as a loss event).",
     false, G_ALL, SNAP(reasm.gap_events)},
    {"auditrelay_serials_lost_total", "Serials that never arrived (in the gaps).", false, G_ALL,
     SNAP(reasm.lost)},
    {"auditrelay_serial_resets_total", "Serial discontinuities (reboot, daemon restart): not loss.",
     false, G_ALL, SNAP(reasm.serial_resets)},
    {"auditrelay_encode_errors_total", "Events that could not be encoded (out of memory).", false,
     G_ALL, SNAP(pipeline.encode_errors)},
    {"auditrelay_field_overflow_total", "Records with more fields than the encoder holds.", false,
     G_ALL, SNAP(encoder.field_overflow)},
    {"auditrelay_unterminated_quotes_total", "Records with a quote that never closed.", false,
     G_ALL, SNAP(encoder.unterminated)},
    {"auditrelay_invalid_utf8_values_total", "Values not valid UTF-8 (carried as hex).", false,
     G_ALL, SNAP(encoder.invalid_utf8)},
    {"auditrelay_kernel_lost_total", "Records the kernel lost while we ran (its lost counter).",
     false, G_AUDIT, SNAP(src.kernel_lost)},
    {"auditrelay_enobufs_total", "Audit socket buffer overflows (ENOBUFS): records lost.", false,
     G_AUDIT, SNAP(src.enobufs)},
    {"auditrelay_kernel_backlog",
     "Records in the kernel's audit queue (as last polled: each second, while behind "
     "at the stream's pauses).",
     true, G_AUDIT, SNAP(src.kernel_backlog)},
    {"auditrelay_kernel_backlog_limit", "The kernel's audit queue limit (as last polled).",
     true, G_AUDIT, SNAP(src.kernel_backlog_limit)},
    {"auditrelay_netlink_foreign_total", "Netlink messages not from the kernel, dropped.", false,
     G_AUDIT, SNAP(src.foreign)},
    {"auditrelay_netlink_bad_records_total", "Netlink records whose header did not parse.", false,
     G_AUDIT, SNAP(src.bad_records)},
    {"auditrelay_ring_lost_total", "Tracepoint samples lost in the kernel (ring full).", false,
     G_RING, SNAP(src.ring_lost)},
    {"auditrelay_input_lines_total", "Lines read from the replayed logs.", false, G_TEXT,
     SNAP(src.lines)},
    {"auditrelay_malformed_lines_total", "Lines that are not audit records (or too long).",
     false, G_TEXT, SNAP(src.malformed)},
    {"auditrelay_input_bytes_total", "Bytes read from the replayed logs.", false, G_TEXT,
     SNAP(src.bytes_in)},
    {"auditrelay_input_files_total", "Replayed files opened.", false, G_TEXT, SNAP(src.files)},
    {"auditrelay_input_errors_total", "Replayed files that could not be read.", false, G_TEXT,
     SNAP(src.input_errors)},
    {"auditrelay_long_lines_total", "Replayed lines over the line length cap.", false, G_TEXT,
     SNAP(src.long_lines)},
    {"auditrelay_process_table_entries", "Processes the process table holds now.", true,
     G_PROCTAB, SNAP(proctab.entries)},
    {"auditrelay_process_table_size", "Processes the process table can hold (its bound).", true,
     G_PROCTAB, SNAP(proctab.size)},
    {"auditrelay_process_table_made_total", "Process entries made (fork, exec, first seen).",
     false, G_PROCTAB, SNAP(proctab.created)},
    {"auditrelay_process_table_reused_total", "Least recently seen process entries reused.",
     false, G_PROCTAB, SNAP(proctab.evicted)},
    {"auditrelay_process_context_lost_total",
     "Events whose process entry was reused before they completed (no process object).", false,
     G_PROCTAB, SNAP(proctab.lost)},
    {"auditrelay_process_chains_cut_total",
     "Events whose ancestor chain stopped at a parent entry reused for another process.", false,
     G_PROCTAB, SNAP(proctab.chains_cut)},
    {"auditrelay_process_proc_lookups_total",
     "Processes looked up in /proc (live only: met without their fork, or at exec).", false,
     G_PROCTAB, SNAP(proctab.proc_lookups)},
    {"auditrelay_process_proc_reused_total",
     "/proc lookups that found a process started after the event (its pid reused): not taken.",
     false, G_PROCTAB, SNAP(proctab.proc_reused)},
    {"auditrelay_process_feed_forks_total", "Forks the process feed (BPF) told the table of.",
     false, G_PROCTAB, SNAP(proctab.fed_forks)},
    {"auditrelay_process_feed_execs_total", "Execs the process feed (BPF) told the table of.",
     false, G_PROCTAB, SNAP(proctab.fed_execs)},
    {"auditrelay_process_feed_exits_total", "Exits the process feed (BPF) told the table of.",
     false, G_PROCTAB, SNAP(proctab.fed_exits)},
    {"auditrelay_process_feed_lost_total",
     "Forks, execs and exits the process feed lost (its ring was full).", false, G_PROCTAB,
     SNAP(proctab.feed_lost)},
    {"auditrelay_process_feed_events_total",
     "Events of the process feed's own audit rules: to the process table only, not forwarded.",
     false, G_PROCTAB, SNAP(pipeline.feed_events)},
    {"auditrelay_start_time_seconds", "When the run started (Unix time).", true, G_ALL,
     SNAP(start_time)},
};

/* Per output (label output="SPEC"); offsets into struct ar_output_stats. */
#define OUT(f) offsetof(struct ar_output_stats, f)
static const struct metric output_metrics[] = {
    {"auditrelay_output_queued_bytes_total", "Bytes queued to the output.", false, G_ALL,
     OUT(bytes_queued)},
    {"auditrelay_output_sent_bytes_total", "Bytes the output handed to its destination.", false,
     G_ALL, OUT(bytes_sent)},
    {"auditrelay_output_dropped_lines_total",
     "Lines the output dropped (memory and spool full, or too large to carry).", false, G_ALL,
     OUT(lines_dropped)},
    {"auditrelay_output_reconnects_total", "Reconnections after a failure.", false, G_ALL,
     OUT(reconnects)},
    {"auditrelay_output_spooled_bytes_total", "Bytes written to the on-disk spool.", false,
     G_ALL, OUT(spooled_bytes)},
    {"auditrelay_output_resent_bytes_total", "Recent lines sent again after a broken connection.",
     false, G_ALL, OUT(resent_bytes)},
    {"auditrelay_output_queue_bytes", "Bytes queued in memory now.", true, G_ALL, OUT(memory_now)},
    {"auditrelay_output_spool_bytes", "Bytes in the on-disk spool now.", true, G_ALL,
     OUT(spool_now)},
};

/* Acknowledging outputs (Kafka) only. */
static const struct metric delivery_metrics[] = {
    {"auditrelay_output_delivery_sent_lines_total", "Lines handed to the peer's client library.",
     false, G_ALL, OUT(delivery.sent)},
    {"auditrelay_output_delivery_acked_lines_total", "Lines the peer acknowledged.", false,
     G_ALL, OUT(delivery.acked)},
    {"auditrelay_output_delivery_retried_lines_total",
     "Lines handed over again after a failed delivery (may be there twice).", false, G_ALL,
     OUT(delivery.retried)},
    {"auditrelay_output_delivery_awaiting_lines", "Lines handed over, not yet acknowledged.",
     true, G_ALL, OUT(delivery.awaiting)},
};

static void put_str(struct ar_buf *b, const char *s)
{
    ar_buf_put(b, s, strlen(s));
}

static void put_u64(struct ar_buf *b, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRIu64, v);
    ar_buf_put(b, num, (size_t)n);
}

static void put_header(struct ar_buf *b, const struct metric *m)
{
    put_str(b, "# HELP ");
    put_str(b, m->name);
    ar_buf_putc(b, ' ');
    put_str(b, m->help); /* our own text: no backslash or newline to escape */
    put_str(b, "\n# TYPE ");
    put_str(b, m->name);
    put_str(b, m->gauge ? " gauge\n" : " counter\n");
}

/* A label value: backslash, double quote and line feed escaped. */
static void put_label_value(struct ar_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            put_str(b, "\\\\");
        else if (*v == '"')
            put_str(b, "\\\"");
        else if (*v == '\n')
            put_str(b, "\\n");
        else
            ar_buf_putc(b, *v);
    }
}

/* An option whose value must not reach an unauthenticated page (and Prometheus'
 * storage): kafka://...?rdkafka.sasl.password=P. Names compared without case. */
static bool secret_option(const char *name, size_t len)
{
    static const char *const words[] = {"password", "secret", "token"};
    for (size_t w = 0; w < AR_ARRAY_LEN(words); w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = 0; i + wl <= len; i++)
            if (strncasecmp(name + i, words[w], wl) == 0)
                return true;
    }
    return false;
}

/* The output label: the spec as given, escaped, with secret option values replaced
 * by "redacted". */
static void put_output_label(struct ar_buf *b, const char *spec)
{
    const char *q = strchr(spec, '?');
    if (!q) {
        put_label_value(b, spec);
        return;
    }
    char part[1024];
    size_t n = (size_t)(q - spec) + 1 < sizeof(part) ? (size_t)(q - spec) + 1 : sizeof(part) - 1;
    memcpy(part, spec, n);
    part[n] = 0;
    put_label_value(b, part);
    for (const char *opt = q + 1; *opt;) {
        const char *end = strchr(opt, '&');
        if (!end)
            end = opt + strlen(opt);
        const char *eq = memchr(opt, '=', (size_t)(end - opt));
        n = (size_t)((eq && secret_option(opt, (size_t)(eq - opt)) ? eq + 1 : end) - opt);
        if (n >= sizeof(part))
            n = sizeof(part) - 1;
        memcpy(part, opt, n);
        part[n] = 0;
        put_label_value(b, part);
        if (eq && secret_option(opt, (size_t)(eq - opt)))
            put_str(b, "redacted");
        if (*end)
            ar_buf_putc(b, '&');
        opt = *end ? end + 1 : end;
    }
}

static bool in_group(const struct ar_metrics_snapshot *s, enum group g)
{
    return g == G_ALL || (g == G_AUDIT && s->src.audit) || (g == G_RING && s->src.ring) ||
           (g == G_TEXT && s->src.text) || (g == G_PROCTAB && s->has_proctab);
}

static void put_output_family(struct ar_buf *b, const struct ar_metrics_snapshot *s,
                              const struct metric *m, bool delivery)
{
    bool header = false;
    for (size_t i = 0; i < s->noutputs; i++) {
        const struct ar_output_stats *st = &s->outputs[i].stats;
        if (delivery && !st->has_counts)
            continue;
        if (!header)
            put_header(b, m);
        header = true;
        put_str(b, m->name);
        put_str(b, "{output=\"");
        put_output_label(b, s->outputs[i].name);
        put_str(b, "\"} ");
        put_u64(b, *(const uint64_t *)((const char *)st + m->offset));
        ar_buf_putc(b, '\n');
    }
}

/* With filters: the events they dropped, and what each filter decided (labels: its
 * position, its action and its text). */
static void put_filters(struct ar_buf *b, const struct ar_filter *f)
{
    static const struct metric dropped = {
        "auditrelay_filter_dropped_events_total", "Events dropped by the filters.", false,
        G_ALL, 0};
    static const struct metric unmatched = {
        "auditrelay_filter_unmatched_events_total",
        "Events no filter matched (the opposite of the last filter's action applied).", false,
        G_ALL, 0};
    static const struct metric each = {
        "auditrelay_filter_matched_events_total",
        "Events each filter decided (the first filter that matched: it kept or dropped them).",
        false, G_ALL, 0};
    if (!f)
        return;
    put_header(b, &dropped);
    put_str(b, dropped.name);
    ar_buf_putc(b, ' ');
    put_u64(b, ar_filter_stats(f)->dropped);
    ar_buf_putc(b, '\n');
    put_header(b, &unmatched);
    put_str(b, unmatched.name);
    ar_buf_putc(b, ' ');
    put_u64(b, ar_filter_stats(f)->unmatched);
    ar_buf_putc(b, '\n');
    struct ar_filter_info in;
    for (size_t i = 0; ar_filter_info(f, i, &in); i++) {
        if (i == 0)
            put_header(b, &each);
        put_str(b, each.name);
        put_str(b, "{filter=\"");
        put_u64(b, i + 1);
        put_str(b, in.drop ? "\",action=\"drop\",spec=\"" : "\",action=\"keep\",spec=\"");
        put_label_value(b, in.text);
        put_str(b, "\"} ");
        put_u64(b, in.matched);
        ar_buf_putc(b, '\n');
    }
}

int ar_metrics_format(const struct ar_metrics_snapshot *s, struct ar_buf *out)
{
    static const struct metric info = {"auditrelay_info", "The version and the source, as labels.",
                                       true, G_ALL, 0};
    put_header(out, &info);
    put_str(out, "auditrelay_info{version=\"");
    put_label_value(out, AR_VERSION);
    put_str(out, "\",source=\"");
    put_label_value(out, s->source ? s->source : "");
    put_str(out, "\"} 1\n");
    for (size_t i = 0; i < AR_ARRAY_LEN(run_metrics); i++) {
        const struct metric *m = &run_metrics[i];
        if (!in_group(s, m->group))
            continue;
        put_header(out, m);
        put_str(out, m->name);
        ar_buf_putc(out, ' ');
        put_u64(out, *(const uint64_t *)((const char *)s + m->offset));
        ar_buf_putc(out, '\n');
    }
    put_filters(out, s->filter);
    for (size_t i = 0; i < AR_ARRAY_LEN(output_metrics); i++)
        put_output_family(out, s, &output_metrics[i], false);
    for (size_t i = 0; i < AR_ARRAY_LEN(delivery_metrics); i++)
        put_output_family(out, s, &delivery_metrics[i], true);
    return out->failed ? -ENOMEM : 0;
}
