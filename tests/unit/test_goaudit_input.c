/* go-audit input (sources/goaudit_input.c): the records a line gives, the lines it
 * refuses (handing nothing over), and every prefix of a good line placed against a
 * guard page (libcjson must not read past the line: replay's lines are not
 * NUL-terminated). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "guard.h"
#include "sources/goaudit_input.h"

#define MAX_RECS 8

struct got {
    size_t nrecs, ends, losses;
    struct {
        uint32_t type, msec, serial;
        uint64_t sec;
        bool has_time;
        char body[256];
        char enriched[256];
    } recs[MAX_RECS];
    uint32_t end_serial;
    char loss_kind[32];
    uint64_t loss_count;
};

static int on_record(void *ctx, const struct ar_record *rec)
{
    struct got *g = ctx;
    if (g->nrecs < MAX_RECS) {
        g->recs[g->nrecs].type = rec->type;
        g->recs[g->nrecs].sec = rec->sec;
        g->recs[g->nrecs].msec = rec->msec;
        g->recs[g->nrecs].serial = rec->serial;
        g->recs[g->nrecs].has_time = rec->has_time;
        snprintf(g->recs[g->nrecs].body, sizeof(g->recs[0].body), "%.*s", (int)rec->body.len,
                 rec->body.p);
        snprintf(g->recs[g->nrecs].enriched, sizeof(g->recs[0].enriched), "%.*s",
                 (int)rec->enriched.len, rec->enriched.p);
        CHECK(rec->node.len == 0);
    }
    g->nrecs++;
    return 0;
}

static int on_end_event(void *ctx, const struct ar_record *rec)
{
    struct got *g = ctx;
    g->ends++;
    g->end_serial = rec->serial;
    return 0;
}

static void on_loss(void *ctx, const char *kind, uint64_t count)
{
    struct got *g = ctx;
    g->losses++;
    snprintf(g->loss_kind, sizeof(g->loss_kind), "%s", kind);
    g->loss_count = count;
}

static int decode(const char *line, struct got *g)
{
    memset(g, 0, sizeof(*g));
    const struct ar_source_sink sink = {
        .record = on_record, .end_event = on_end_event, .loss = on_loss, .ctx = g};
    return ar_goaudit_decode_line(line, strlen(line), &sink);
}

static const char good[] =
    "{\"sequence\":1226,\"timestamp\":\"1459449216.329\",\"messages\":["
    "{\"type\":1300,\"data\":\"arch=c000003e syscall=59 key=\\\"\\u003cx\\u003e\\\"\","
    "\"containers\":{\"id\":\"abc\"}},"
    "{\"type\":1327,\"data\":\"proctitle=7368\"}],\"uid_map\":{\"0\":\"root\"}}";

static void test_good(void)
{
    struct got g;
    CHECK(decode(good, &g) == 0);
    CHECK(g.nrecs == 2 && g.ends == 1 && g.end_serial == 1226 && g.losses == 0);
    CHECK(g.recs[0].type == 1300 && g.recs[1].type == 1327);
    CHECK(g.recs[0].sec == 1459449216 && g.recs[0].msec == 329 && g.recs[0].serial == 1226);
    CHECK(g.recs[0].has_time && g.recs[1].has_time);
    CHECK_STR(g.recs[0].body, "arch=c000003e syscall=59 key=\"<x>\"");
    CHECK_STR(g.recs[1].body, "proctitle=7368");
    /* White space around the object and a null uid_map; then no uid_map at all. */
    CHECK(decode("  {\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,"
                 "\"data\":\"\"}],\"uid_map\":null} \r",
                 &g) == 0);
    CHECK(g.nrecs == 1 && g.recs[0].msec == 500 && g.recs[0].sec == 1);
    CHECK(decode("{\"sequence\":4294967295,\"timestamp\":\"18446744073709551.999\","
                 "\"messages\":[{\"type\":65535,\"data\":\"a\\\\u0000\"}]}",
                 &g) == 0);
    CHECK(g.nrecs == 1 && g.recs[0].serial == 4294967295u && g.recs[0].type == 65535);
    CHECK_STR(g.recs[0].body, "a\\u0000"); /* a backslash, then text: no NUL */
    /* What --format go-audit writes for "msg=?" records: no stamp. */
    CHECK(decode("{\"sequence\":0,\"timestamp\":\"0.000\",\"messages\":[{\"type\":1329,"
                 "\"data\":\"x=1\"}],\"uid_map\":{}}",
                 &g) == 0);
    CHECK(g.nrecs == 1 && !g.recs[0].has_time && g.ends == 1);
}

/* go-audit's uid_map (uid -> name on the recording host) becomes each record's
 * ENRICHED part, as auditd writes it: KEY="name" for every user id field the map
 * names (in a msg='...' too), each key once; UNKNOWN_USER (no name) and names that
 * would not survive the format are left out. */
static void test_uid_map(void)
{
    struct got g;
    CHECK(decode("{\"sequence\":7,\"timestamp\":\"1459449216.329\",\"messages\":["
                 "{\"type\":1300,\"data\":\"arch=c000003e syscall=59 ppid=1 pid=42 auid=1000 "
                 "uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 ses=3\"},"
                 "{\"type\":1302,\"data\":\"item=0 name=\\\"/bin/sh\\\" ouid=1001 ogid=0\"},"
                 "{\"type\":1112,\"data\":\"pid=5 uid=0 auid=4294967295 msg='op=login "
                 "id=31337 res=success'\"},"
                 "{\"type\":1327,\"data\":\"proctitle=7368\"}],"
                 "\"uid_map\":{\"0\":\"root\",\"1000\":\"alice\",\"1001\":\"UNKNOWN_USER\","
                 "\"31337\":\"mal lory\",\"4294967295\":\"UNKNOWN_USER\"}}",
                 &g) == 0);
    CHECK(g.nrecs == 4);
    CHECK_STR(g.recs[0].enriched,
              "AUID=\"alice\" UID=\"root\" EUID=\"root\" SUID=\"root\" FSUID=\"root\"");
    CHECK_STR(g.recs[1].enriched, "");
    CHECK_STR(g.recs[2].enriched, "UID=\"root\"");
    CHECK_STR(g.recs[3].enriched, "");
    /* No map, or an empty one: no names. */
    CHECK(decode(good, &g) == 0 && !g.recs[0].enriched[0]);
}

static void test_loss(void)
{
    struct got g;
    CHECK(decode("{\"timestamp\":\"2017-07-21T18:28:19.000Z\",\"serial\":385,\"type\":"
                 "\"AUDITRELAY_LOST\",\"category\":\"loss\",\"loss\":{\"kind\":\"serial_gap\","
                 "\"count\":3,\"after_serial\":385},\"records\":[]}",
                 &g) == 0);
    CHECK(g.nrecs == 0 && g.ends == 0 && g.losses == 0); /* found again by reassembly */
    CHECK(decode("{\"type\":\"AUDITRELAY_LOST\",\"loss\":{\"kind\":\"kernel_lost\",\"count\":7}}",
                 &g) == 0);
    CHECK(g.losses == 1 && g.loss_count == 7);
    CHECK_STR(g.loss_kind, "kernel_lost");
    CHECK(decode("{\"type\":\"AUDITRELAY_LOST\",\"loss\":{\"kind\":\"other\",\"count\":7}}", &g) ==
          1);
    CHECK(decode("{\"type\":\"AUDITRELAY_LOST\",\"loss\":{\"kind\":\"enobufs\",\"count\":-1}}",
                 &g) == 1);
    CHECK(g.losses == 0);
}

static void test_refused(void)
{
    static const char *const bad[] = {
        "",
        "{}",
        "null",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":\"\"}]} x",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":\"\"}]}{}",
        "{\"sequence\":-1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1e10,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1\",\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\".5\",\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1.\",\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1.5.6\",\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1.5:2): x\",\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1.1234567890\",\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"123456789012345678901.5\","
        "\"messages\":[{\"type\":1,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":{}}",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[1]}",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1.5,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":4294967296,\"data\":\"\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":1}]}",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":\"a\\u0000\"}]}",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":\"a\\\\\\u0000\"}"
        "]}",
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":\"\"}],"
        "\"uid_map\":\"x\"}",
        /* The second message is bad: the first must not have been handed over. */
        "{\"sequence\":1,\"timestamp\":\"1.5\",\"messages\":[{\"type\":1,\"data\":\"\"},{}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct got g;
        int r = decode(bad[i], &g);
        if (r != 1 || g.nrecs || g.ends || g.losses)
            fprintf(stderr, "line %zu: %d, %zu records\n", i, r, g.nrecs);
        CHECK(r == 1 && g.nrecs == 0 && g.ends == 0 && g.losses == 0);
    }
}

/* Every prefix of a good line ends at a page that cannot be read: each is refused
 * and hands nothing over; the whole line decodes. */
static void test_prefixes(void)
{
    struct guard_buf guard;
    CHECK(guard_init(&guard, sizeof(good)) == 0);
    size_t len = strlen(good);
    for (size_t n = 0; n <= len; n++) {
        const char *p = guard_place(&guard, good, n);
        struct got g;
        memset(&g, 0, sizeof(g));
        const struct ar_source_sink sink = {
            .record = on_record, .end_event = on_end_event, .loss = on_loss, .ctx = &g};
        int r = ar_goaudit_decode_line(p, n, &sink);
        CHECK(n == len ? r == 0 && g.nrecs == 2 : r == 1 && g.nrecs == 0 && g.ends == 0);
    }
    guard_free(&guard);
}

int main(void)
{
    test_good();
    test_uid_map();
    test_loss();
    test_refused();
    test_prefixes();
    return check_done();
}
