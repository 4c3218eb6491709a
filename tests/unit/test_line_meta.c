/* Each line's metadata (util/line_meta.h) on its way from the pipeline to the
 * transports: the packed entries and the cursor, the pipeline's entries for every
 * format (inline and on the encoding pool's threads, the same) and for loss lines,
 * and the outputs' resend ring (outputs/recent.c) keeping them with the lines. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "outputs/recent.h"
#include "pipeline/pipeline.h"
#include "util/line_meta.h"

static struct ar_line_meta meta(size_t len, uint64_t sec, uint16_t ms, uint32_t serial,
                                const char *node)
{
    return (struct ar_line_meta){.len = len, .sec = sec, .ms = ms, .has_time = true,
                                 .serial = serial, .node = {node, strlen(node)},
                                 .source = AR_SPAN_LIT("replay")};
}

static void test_packing(void)
{
    struct ar_buf b = {0};
    struct ar_line_meta a = meta(10, 1700000000, 123, 42, "host-a");
    struct ar_line_meta timeless = {.len = 5, .serial = 7};
    char long_node[2000];
    memset(long_node, 'n', sizeof(long_node) - 1);
    long_node[sizeof(long_node) - 1] = '\0';
    struct ar_line_meta cut = meta(1, 1, 999, 0xffffffffu, long_node);
    ar_line_meta_put(&b, &a);
    ar_line_meta_put(&b, &timeless);
    ar_line_meta_put(&b, &cut);
    CHECK(!b.failed);
    size_t off = 0;
    struct ar_line_meta m;
    CHECK(ar_line_meta_get(b.p, b.len, &off, &m));
    CHECK(m.len == 10 && m.sec == 1700000000 && m.ms == 123 && m.has_time && m.serial == 42);
    CHECK_SPAN(m.node, "host-a");
    CHECK_SPAN(m.source, "replay");
    CHECK(ar_line_meta_get(b.p, b.len, &off, &m));
    CHECK(m.len == 5 && !m.has_time && m.serial == 7 && m.node.len == 0 && m.source.len == 0);
    CHECK(ar_line_meta_get(b.p, b.len, &off, &m));
    CHECK(m.serial == 0xffffffffu && m.ms == 999 && m.node.len == AR_LINE_META_MAX_NODE);
    CHECK(off == b.len);
    CHECK(!ar_line_meta_get(b.p, b.len, &off, &m));
    CHECK(ar_line_meta_check(b.p, b.len, 16));
    CHECK(!ar_line_meta_check(b.p, b.len, 15));
    /* Every entry cut short is refused, never read past its end. */
    for (size_t n = 0; n < b.len; n++) {
        size_t o = 0, whole = 0;
        while (ar_line_meta_get(b.p, n, &o, &m))
            whole++;
        CHECK(o <= n);
        CHECK(whole < 3);
        CHECK(!ar_line_meta_check(b.p, n, 16));
    }
    ar_buf_free(&b);
}

/* Three events: one line, three lines (auditd's formats), one line. */
static const char lines3[] = "aaaa\nb1\nb2\nb3\ncc\n";

static void put3(struct ar_buf *b)
{
    struct ar_line_meta e[] = {meta(5, 100, 1, 1, "n1"), meta(9, 200, 2, 2, "n2"),
                               meta(3, 300, 3, 3, "")};
    for (size_t i = 0; i < 3; i++)
        ar_line_meta_put(b, &e[i]);
}

static void test_cursor(void)
{
    struct ar_buf mb = {0};
    put3(&mb);
    struct ar_lines b = {lines3, sizeof(lines3) - 1, mb.p, mb.len};
    struct ar_lines_cursor c = {0};
    static const struct {
        size_t at;
        uint32_t serial;
    } want[] = {{0, 1}, {5, 2}, {8, 2}, {11, 2}, {14, 3}, {0, 1}, {11, 2}, {5, 2}};
    for (size_t i = 0; i < AR_ARRAY_SIZE(want); i++) {
        const struct ar_line_meta *m = ar_lines_meta(&b, &c, want[i].at);
        CHECK(m && m->serial == want[i].serial);
    }
    CHECK(ar_lines_meta(&b, &c, b.len) == NULL);
    ar_buf_free(&mb);
}

/* The ring keeps whole events from the first one whose first byte is still kept,
 * and an event added up to its middle (a plugin that died mid-write) as far as it
 * went. */
static void test_recent(void)
{
    struct ar_buf mb = {0};
    put3(&mb);
    struct ar_lines b = {lines3, sizeof(lines3) - 1, mb.p, mb.len};
    struct ar_recent r;
    ar_recent_init(&r, 10);
    struct ar_buf lines = {0}, m = {0};
    CHECK(ar_recent_copy(&r, &lines, &m) == 0);
    /* Added in pieces, as a pipe takes them: "aaaa\nb1" then "\nb2\nb3\ncc\n". */
    ar_recent_add(&r, &b, 0, 7);
    CHECK(ar_recent_copy(&r, &lines, &m) == 7);
    CHECK(lines.len == 7 && memcmp(lines.p, "aaaa\nb1", 7) == 0);
    CHECK(ar_line_meta_check(m.p, m.len, 7)); /* the second event: the 2 bytes it has */
    lines.len = m.len = 0;
    ar_recent_add(&r, &b, 7, b.len);
    /* 17 bytes went, 10 kept: the first event and the start of the second are
     * gone, so the copy starts at the third event. */
    CHECK(ar_recent_copy(&r, &lines, &m) == 3);
    CHECK(lines.len == 3 && memcmp(lines.p, "cc\n", 3) == 0);
    size_t off = 0;
    struct ar_line_meta e;
    CHECK(ar_line_meta_get(m.p, m.len, &off, &e) && e.serial == 3 && e.len == 3);
    CHECK(off == m.len);
    /* A bigger ring keeps all three with their metadata. */
    struct ar_recent big;
    ar_recent_init(&big, 1024);
    ar_recent_add(&big, &b, 0, b.len);
    lines.len = m.len = 0;
    CHECK(ar_recent_copy(&big, &lines, &m) == b.len);
    CHECK(m.len == mb.len && memcmp(m.p, mb.p, mb.len) == 0);
    ar_recent_free(&big);
    ar_recent_free(&r);
    ar_buf_free(&lines);
    ar_buf_free(&m);
    ar_buf_free(&mb);
}

/* What a sink got: all lines and all entries, in order. */
struct got {
    struct ar_buf lines, meta;
    size_t writes;
};

static int capture(void *ctx, const struct ar_lines *b)
{
    struct got *g = ctx;
    CHECK(ar_line_meta_check(b->meta, b->meta_len, b->len));
    ar_buf_put(&g->lines, b->p, b->len);
    ar_buf_put(&g->meta, b->meta, b->meta_len);
    g->writes++;
    return 0;
}

/* Four events: a syscall on node h1 with three records, a login without a node,
 * a reordered event, and one whose serial is far off (a gap is reported). */
static const char log_text[] =
    "node=h1 type=SYSCALL msg=audit(1700000000.123:10): arch=c000003e syscall=2 success=yes "
    "exit=3 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=100 auid=0 uid=0 gid=0 euid=0 suid=0 "
    "fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"cat\" exe=\"/usr/bin/cat\" key=(null)\n"
    "node=h1 type=CWD msg=audit(1700000000.123:10): cwd=\"/\"\n"
    "node=h1 type=PATH msg=audit(1700000000.123:10): item=0 name=\"/etc/hosts\" inode=1 "
    "dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL\n"
    "node=h1 type=PROCTITLE msg=audit(1700000000.123:10): proctitle=636174\n"
    "type=USER_LOGIN msg=audit(1700000001.456:11): pid=1 uid=0 auid=0 ses=1 msg='op=login "
    "acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? addr=? terminal=ssh res=success'\n"
    "type=USER_LOGIN msg=audit(1700000002.789:12): pid=2 uid=0 auid=0 ses=2 msg='op=login "
    "acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? addr=? terminal=ssh res=success'\n";

struct want_event {
    uint64_t sec;
    uint16_t ms;
    uint32_t serial;
    const char *node;
    unsigned records; /* lines in raw and enriched */
};
static const struct want_event want_events[] = {
    {1700000000, 123, 10, "h1", 4},
    {1700000001, 456, 11, "", 1},
    {1700000002, 789, 12, "", 1},
};

static void run(const struct ar_format_ops *format, unsigned threads, struct got *g)
{
    struct ar_pipeline_config cfg;
    ar_pipeline_config_default(&cfg);
    cfg.format = format;
    cfg.resolve_ids = false;
    cfg.encode_threads = threads;
    cfg.flush_bytes = 1; /* a write per event: entries cross writes correctly */
    cfg.sink = (struct ar_sink){.write = capture, .ctx = g};
    struct ar_pipeline *p;
    CHECK(ar_pipeline_new(&cfg, &p) == 0);
    for (const char *l = log_text; *l;) {
        const char *nl = strchr(l, '\n');
        CHECK(ar_pipeline_line(p, l, (size_t)(nl - l)) == 0);
        l = nl + 1;
    }
    CHECK(ar_pipeline_flush(p) == 0);
    CHECK(ar_pipeline_loss(p, "kernel_lost", 5, 1700000009) == 0);
    ar_pipeline_free(p);
}

/* The JSON shapes (go-audit's, ECS, ours; loss lines are ours in all three): the
 * line's own time, serial and node agree with its entry. */
static void check_json_line(const char *line, size_t len, const struct ar_line_meta *m)
{
    cJSON *j = cJSON_ParseWithLength(line, len);
    CHECK(j != NULL);
    if (!j)
        return;
    bool goaudit = cJSON_HasObjectItem(j, "sequence"), ecs = cJSON_HasObjectItem(j, "@timestamp");
    if (!ecs) {
        const cJSON *serial = cJSON_GetObjectItem(j, goaudit ? "sequence" : "serial");
        CHECK(cJSON_IsNumber(serial) && (uint32_t)serial->valuedouble == m->serial);
    }
    const cJSON *ts = cJSON_GetObjectItem(j, ecs ? "@timestamp" : "timestamp");
    char want[64];
    if (goaudit) {
        snprintf(want, sizeof(want), "%llu.%03u", (unsigned long long)m->sec, m->ms);
    } else {
        time_t t = (time_t)m->sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        size_t n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + n, sizeof(want) - n, ".%03uZ", m->ms);
    }
    CHECK(cJSON_IsString(ts) && strcmp(ts->valuestring, want) == 0);
    if (!goaudit && !ecs) {
        const cJSON *node = cJSON_GetObjectItem(j, "node");
        CHECK(m->node.len ? cJSON_IsString(node) && strlen(node->valuestring) == m->node.len &&
                                memcmp(node->valuestring, m->node.p, m->node.len) == 0
                          : node == NULL);
        const cJSON *source = cJSON_GetObjectItem(j, "source");
        CHECK(cJSON_IsString(source) && strlen(source->valuestring) == m->source.len &&
              memcmp(source->valuestring, m->source.p, m->source.len) == 0);
    }
    cJSON_Delete(j);
}

/* auditd's formats: every record line of the event carries its stamp and node. */
static void check_record_line(const char *line, size_t len, const struct ar_line_meta *m)
{
    char stamp[64], node[64];
    int n = snprintf(stamp, sizeof(stamp), "msg=audit(%llu.%03u:%u)",
                     (unsigned long long)m->sec, m->ms, m->serial);
    CHECK(memmem(line, len, stamp, (size_t)n) != NULL);
    n = snprintf(node, sizeof(node), "node=%.*s ", (int)m->node.len, m->node.p);
    CHECK(m->node.len ? len > (size_t)n && memcmp(line, node, (size_t)n) == 0
                      : memcmp(line, "type=", 5) == 0);
}

static void test_pipeline(void)
{
    for (size_t f = 0; ar_formats[f]; f++) {
        const char *name = ar_formats[f]->name;
        bool records = strcmp(name, "raw") == 0 || strcmp(name, "enriched") == 0;
        int failures_before = check_failures;
        struct got inline_got = {0}, pool_got = {0};
        run(ar_formats[f], 0, &inline_got);
        run(ar_formats[f], 2, &pool_got);
        /* The encoding pool gives the same lines with the same entries. */
        CHECK(inline_got.lines.len == pool_got.lines.len &&
              memcmp(inline_got.lines.p, pool_got.lines.p, pool_got.lines.len) == 0);
        CHECK(inline_got.meta.len == pool_got.meta.len &&
              memcmp(inline_got.meta.p, pool_got.meta.p, pool_got.meta.len) == 0);
        CHECK(ar_line_meta_check(inline_got.meta.p, inline_got.meta.len, inline_got.lines.len));
        size_t off = 0, at = 0, k = 0;
        struct ar_line_meta m;
        while (ar_line_meta_get(inline_got.meta.p, inline_got.meta.len, &off, &m)) {
            const char *p = inline_got.lines.p + at, *end = p + m.len;
            unsigned nlines = 0;
            for (const char *l = p; l < end; nlines++) {
                const char *nl = memchr(l, '\n', (size_t)(end - l));
                CHECK(nl != NULL);
                if (!nl)
                    break;
                if (records)
                    check_record_line(l, (size_t)(nl - l), &m);
                else
                    check_json_line(l, (size_t)(nl - l), &m);
                l = nl + 1;
            }
            CHECK_SPAN(m.source, "replay");
            if (k < AR_ARRAY_SIZE(want_events)) {
                const struct want_event *w = &want_events[k];
                CHECK(m.has_time && m.sec == w->sec && m.ms == w->ms && m.serial == w->serial);
                CHECK(m.node.len == strlen(w->node) && memcmp(m.node.p, w->node, m.node.len) == 0);
                CHECK(nlines == (records ? w->records : 1));
            } else {
                /* The loss line: its time is when it was noticed, as the line says. */
                CHECK(k == AR_ARRAY_SIZE(want_events));
                CHECK(m.has_time && m.sec == 1700000009 && m.ms == 0 && m.serial == 0);
                CHECK(nlines == 1);
            }
            at += m.len;
            k++;
        }
        CHECK(k == AR_ARRAY_SIZE(want_events) + 1);
        if (check_failures > failures_before)
            fprintf(stderr, "  (the checks above: format %s)\n", name);
        ar_buf_free(&inline_got.lines);
        ar_buf_free(&inline_got.meta);
        ar_buf_free(&pool_got.lines);
        ar_buf_free(&pool_got.meta);
    }
}

int main(void)
{
    test_packing();
    test_cursor();
    test_recent();
    test_pipeline();
    return check_failures ? 1 : 0;
}
