/* Reassembly: completion rules, interleaving, out of order, 32-bit serial wrap, gaps,
 * timeouts (log time and idle), eviction, caps. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "reasm/reasm.h"

#define MAX_SEEN 64

static struct {
    uint32_t serial;
    uint32_t nrecords;
    uint32_t types[16];
    unsigned flags;
} seen[MAX_SEEN];
static size_t nseen;
static uint64_t gap_total;
static uint32_t last_gap_after;

static void on_event(const struct ar_event *ev, void *ud)
{
    (void)ud;
    if (nseen == MAX_SEEN)
        return;
    seen[nseen].serial = ev->serial;
    seen[nseen].nrecords = ev->nrecords;
    seen[nseen].flags = ev->flags;
    for (uint32_t i = 0; i < ev->nrecords && i < 16; i++)
        seen[nseen].types[i] = ev->records[i].type;
    nseen++;
}

static void on_gap(struct ar_span node, uint32_t after, uint64_t lost, void *ud)
{
    (void)node;
    (void)ud;
    gap_total += lost;
    last_gap_after = after;
}

static struct ar_reasm *make(struct ar_reasm_config *cfg)
{
    struct ar_reasm_config def;
    ar_reasm_config_default(&def);
    if (!cfg)
        cfg = &def;
    struct ar_reasm_callbacks cbs = {.event = on_event, .gap = on_gap};
    struct ar_reasm *r = NULL;
    CHECK(ar_reasm_new(cfg, &cbs, &r) == 0);
    nseen = 0;
    gap_total = 0;
    return r;
}

static void push(struct ar_reasm *r, uint32_t type, uint64_t sec, uint32_t serial, const char *body,
                 uint64_t now_ms)
{
    struct ar_record rec = {
        .type = type, .sec = sec, .msec = 1, .serial = serial, .has_time = true,
        .body = {body, strlen(body)}, .node = {"", 0}, .enriched = {"", 0},
    };
    CHECK(ar_reasm_push(r, &rec, now_ms) == 0);
}

static void test_kernel_event_ends_on_proctitle(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1300, 100, 1, "syscall=1", 0);
    push(r, 1307, 100, 1, "cwd=/", 0);
    push(r, 1302, 100, 1, "item=0", 0);
    CHECK(nseen == 0);
    push(r, 1327, 100, 1, "proctitle=6C73", 0);
    CHECK(nseen == 1);
    CHECK(seen[0].nrecords == 4);
    CHECK(seen[0].types[3] == 1327);
    /* Single-record types complete at once. */
    push(r, 1112, 100, 2, "pid=1", 0); /* USER_LOGIN */
    CHECK(nseen == 2 && seen[1].nrecords == 1);
    ar_reasm_flush(r);
    CHECK(gap_total == 0);
    ar_reasm_free(r);
}

static void test_interleaved_and_out_of_order(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1300, 100, 11, "a", 0);
    push(r, 1300, 100, 12, "b", 0);
    push(r, 1302, 100, 11, "c", 0);
    push(r, 1327, 100, 12, "d", 0);
    CHECK(nseen == 1 && seen[0].serial == 12 && seen[0].nrecords == 2);
    push(r, 1327, 100, 11, "e", 0);
    CHECK(nseen == 2 && seen[1].serial == 11 && seen[1].nrecords == 3);
    /* 10 arrives late: not a gap. */
    push(r, 1300, 100, 10, "f", 0);
    push(r, 1327, 100, 10, "g", 0);
    ar_reasm_flush(r);
    CHECK(gap_total == 0);
    CHECK(ar_reasm_stats(r)->events == 3);
    ar_reasm_free(r);
}

static void test_same_serial_other_time_is_other_event(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1300, 100, 5, "a", 0);
    push(r, 1300, 101, 5, "b", 0);
    ar_reasm_flush(r);
    CHECK(nseen == 2);
    ar_reasm_free(r);
}

static void test_wrap(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1112, 100, 4294967294u, "a", 0);
    push(r, 1112, 100, 4294967295u, "b", 0);
    push(r, 1112, 100, 0, "c", 0);
    push(r, 1112, 100, 1, "d", 0);
    ar_reasm_flush(r);
    CHECK(nseen == 4);
    CHECK(gap_total == 0);
    CHECK(ar_reasm_stats(r)->serial_resets == 0);
    ar_reasm_free(r);
}

static void test_gap(void)
{
    struct ar_reasm *r = make(NULL);
    for (uint32_t s = 50; s < 58; s++)
        push(r, 1112, 100, s, "x", 0);
    /* 58, 59 lost */
    for (uint32_t s = 60; s < 70; s++)
        push(r, 1112, 100, s, "x", 0);
    ar_reasm_flush(r);
    CHECK(gap_total == 2);
    CHECK(last_gap_after == 57);
    CHECK(ar_reasm_stats(r)->gap_events == 1);
    ar_reasm_free(r);
}

static void test_gap_across_window(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1112, 100, 1, "x", 0);
    push(r, 1112, 100, 10001, "x", 0); /* 9999 lost, more than the window */
    push(r, 1112, 100, 10002, "x", 0);
    ar_reasm_flush(r);
    CHECK(gap_total == 9999);
    ar_reasm_free(r);
}

static void test_restart_is_not_loss(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1112, 100, 900000, "x", 0);
    push(r, 1112, 100, 5, "x", 0); /* reboot: serials start over */
    push(r, 1112, 100, 6, "x", 0);
    ar_reasm_flush(r);
    CHECK(gap_total == 0);
    CHECK(ar_reasm_stats(r)->serial_resets == 1);
    ar_reasm_free(r);
}

/* The live kernel's serial only goes up within a boot: a jump far past the window is
 * a socket overrun, every skipped serial lost (it used to be a restart: no loss). */
static void test_big_jump_in_one_counter_is_loss(void)
{
    struct ar_reasm_config cfg;
    ar_reasm_config_default(&cfg);
    cfg.one_counter = true;
    struct ar_reasm *r = make(&cfg);
    push(r, 1112, 100, 1000, "x", 0);
    push(r, 1112, 100, 1001, "x", 0);
    push(r, 1112, 101, 1001 + 200000, "x", 0);
    push(r, 1112, 101, 1002 + 200000, "x", 0);
    ar_reasm_flush(r);
    CHECK(gap_total == 199999);
    CHECK(last_gap_after == 1001);
    CHECK(ar_reasm_stats(r)->serial_resets == 0);
    ar_reasm_free(r);
}

/* Replay's logs may come from several boots and hosts: the same jump there is a
 * restart, and so is a serial far below the window. */
static void test_big_jump_in_replay_is_restart(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1112, 100, 1000, "x", 0);
    push(r, 1112, 100, 1000 + 200000, "x", 0);
    push(r, 1112, 100, 1001 + 200000, "x", 0);
    push(r, 1112, 100, 7, "x", 0);
    ar_reasm_flush(r);
    CHECK(gap_total == 0);
    CHECK(ar_reasm_stats(r)->serial_resets == 2);
    ar_reasm_free(r);
}

/* A serial that arrives after it left the window was counted lost then; in one
 * boot's counter it is no restart, so what follows is no gap. */
static void test_very_late_serial_in_one_counter(void)
{
    struct ar_reasm_config cfg;
    ar_reasm_config_default(&cfg);
    cfg.one_counter = true;
    struct ar_reasm *r = make(&cfg);
    for (uint32_t s = 1; s <= 6000; s++)
        if (s != 10)
            push(r, 1112, 100, s, "x", 0);
    CHECK(gap_total == 1 && last_gap_after == 9);
    push(r, 1112, 100, 10, "x", 0);
    push(r, 1112, 100, 6001, "x", 0);
    ar_reasm_flush(r);
    CHECK(gap_total == 1);
    CHECK(ar_reasm_stats(r)->serial_resets == 0);
    ar_reasm_free(r);
}

/* go-audit writes events as they complete: a stream may start s, s - 2, s - 1.
 * That is no restart and nothing is lost (it used to count both). */
static void test_reordered_start(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1112, 100, 1002, "x", 0);
    push(r, 1112, 100, 1000, "x", 0);
    push(r, 1112, 100, 1001, "x", 0);
    push(r, 1112, 100, 1003, "x", 0);
    ar_reasm_flush(r);
    CHECK(nseen == 4);
    CHECK(gap_total == 0);
    CHECK(ar_reasm_stats(r)->serial_resets == 0);
    ar_reasm_free(r);
}

static void test_daemon_records_do_not_count(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1112, 100, 36572, "x", 0);
    push(r, 1200, 100, 1548, "op=start", 0); /* DAEMON_START: auditd's own counter */
    push(r, 1112, 100, 36573, "x", 0);
    ar_reasm_flush(r);
    CHECK(gap_total == 0 && ar_reasm_stats(r)->serial_resets == 0);
    ar_reasm_free(r);
}

static void test_log_time_timeout(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1300, 100, 1, "no proctitle (old kernel)", 0);
    push(r, 1300, 102, 2, "x", 0);
    CHECK(nseen == 0); /* 100 + 2 is not < 102 */
    push(r, 1300, 103, 3, "x", 0);
    CHECK(nseen == 1 && seen[0].serial == 1);
    CHECK(seen[0].flags & AR_EVENT_TIMED_OUT);
    ar_reasm_flush(r);
    CHECK(nseen == 3);
    CHECK(seen[2].flags & AR_EVENT_AT_END);
    ar_reasm_free(r);
}

static void test_idle_timer(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1300, 100, 1, "x", 1000);
    CHECK(ar_reasm_next_deadline(r, 1500) == 500);
    ar_reasm_expire(r, 1999);
    CHECK(nseen == 0);
    ar_reasm_expire(r, 2000);
    CHECK(nseen == 1);
    CHECK(ar_reasm_next_deadline(r, 2000) == -1);
    ar_reasm_free(r);
}

static void test_eoe_stream(void)
{
    struct ar_reasm *r = make(NULL);
    push(r, 1300, 100, 1, "a", 0);
    push(r, 1327, 100, 1, "b", 0);
    CHECK(nseen == 1); /* no EOE seen yet: PROCTITLE ends it */
    push(r, 1320, 100, 1, "", 0);
    CHECK(nseen == 1 && ar_reasm_stats(r)->stray_eoe == 1);
    /* From now on the stream has EOE: PROCTITLE no longer ends events. */
    push(r, 1300, 100, 2, "a", 0);
    push(r, 1327, 100, 2, "b", 0);
    CHECK(nseen == 1);
    push(r, 1320, 100, 2, "", 0);
    CHECK(nseen == 2 && seen[1].nrecords == 3);
    ar_reasm_free(r);

    /* A stream known to carry EOE (live): its first event waits for its EOE too. */
    struct ar_reasm_config cfg;
    ar_reasm_config_default(&cfg);
    cfg.eoe_stream = true;
    r = make(&cfg);
    push(r, 1300, 100, 1, "a", 0);
    push(r, 1327, 100, 1, "b", 0);
    CHECK(nseen == 0);
    push(r, 1320, 100, 1, "", 0);
    CHECK(nseen == 1 && seen[0].nrecords == 3 && seen[0].types[2] == 1320);
    CHECK(ar_reasm_stats(r)->stray_eoe == 0);
    ar_reasm_free(r);
}

static void test_bounds(void)
{
    struct ar_reasm_config cfg;
    ar_reasm_config_default(&cfg);
    cfg.max_in_flight = 2;
    cfg.max_records = 3;
    struct ar_reasm *r = make(&cfg);
    push(r, 1300, 100, 1, "a", 0);
    push(r, 1300, 100, 2, "a", 0);
    push(r, 1300, 100, 3, "a", 0); /* evicts 1 */
    CHECK(nseen == 1 && seen[0].serial == 1 && (seen[0].flags & AR_EVENT_EVICTED));
    for (int i = 0; i < 5; i++)
        push(r, 1302, 100, 2, "p", 0);
    ar_reasm_flush(r);
    CHECK(ar_reasm_stats(r)->dropped_records == 3);
    CHECK(ar_reasm_stats(r)->evicted == 1);
    for (size_t i = 0; i < nseen; i++)
        if (seen[i].serial == 2)
            CHECK(seen[i].nrecords == 3 && (seen[i].flags & AR_EVENT_TRUNCATED));
    ar_reasm_free(r);
}

int main(void)
{
    test_kernel_event_ends_on_proctitle();
    test_interleaved_and_out_of_order();
    test_same_serial_other_time_is_other_event();
    test_wrap();
    test_gap();
    test_gap_across_window();
    test_restart_is_not_loss();
    test_big_jump_in_one_counter_is_loss();
    test_big_jump_in_replay_is_restart();
    test_very_late_serial_in_one_counter();
    test_reordered_start();
    test_daemon_records_do_not_count();
    test_log_time_timeout();
    test_idle_timer();
    test_eoe_stream();
    test_bounds();
    return check_done();
}
