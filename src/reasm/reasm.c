#include "reasm/reasm.h"

#include <errno.h>
#include <libaudit.h> /* message type ranges; header only, never linked */
#include <stdlib.h>
#include <string.h>

/* Serial loss tracking: a window of the last GAP_WINDOW serials per node; a serial
 * that leaves the window without having been seen was lost. */
#define GAP_WINDOW 4096u
#define GAP_MAX_JUMP 65536u /* without one_counter a bigger jump is a restart, not loss */
#define MAX_NODES 64
#define NODE_NAME_MAX 256

struct serial_window {
    char node[NODE_NAME_MAX];
    size_t node_len;
    bool started;
    uint32_t top;    /* highest serial seen */
    uint32_t valid;  /* how many serials up to top the window covers */
    bool young;      /* nothing has left the window since it started */
    uint64_t top_sec; /* log time of top */
    uint64_t seen[GAP_WINDOW / 64];
};

/* An event being assembled: what is handed out, and reassembly's own. */
struct pending {
    struct ar_event ev;
    uint32_t records_cap;
    size_t buf_cap;
    uint64_t arrival_ms;
    struct pending *older, *newer; /* creation order */
    struct pending *hash_next;
};

struct ar_reasm {
    struct ar_reasm_config cfg;
    struct ar_reasm_callbacks cbs;
    struct ar_reasm_stats stats;
    struct pending **buckets;
    size_t nbuckets;          /* power of two */
    size_t in_flight;
    struct pending *oldest, *newest;
    struct pending *free_list;
    uint64_t min_sec;         /* lower bound on the oldest in-flight event's sec */
    bool seen_eoe;            /* the stream carries EOE records: wait for them */
    struct serial_window *windows[MAX_NODES];
    size_t nwindows;
};

void ar_reasm_config_default(struct ar_reasm_config *ret)
{
    *ret = (struct ar_reasm_config){
        .max_in_flight = 4096,
        .max_records = 4096,
        .max_event_bytes = 8u << 20,
        .log_timeout_sec = 2,
        .idle_timeout_ms = 1000,
    };
}

int ar_reasm_new(const struct ar_reasm_config *cfg, const struct ar_reasm_callbacks *cbs,
                 struct ar_reasm **ret)
{
    if (!cfg || !cbs || !cbs->event || cfg->max_in_flight == 0 || cfg->max_records == 0)
        return -EINVAL;
    struct ar_reasm *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->cfg = *cfg;
    r->seen_eoe = cfg->eoe_stream;
    r->cbs = *cbs;
    r->nbuckets = 64;
    while (r->nbuckets < cfg->max_in_flight * 2)
        r->nbuckets <<= 1;
    r->buckets = calloc(r->nbuckets, sizeof(*r->buckets));
    if (!r->buckets) {
        free(r);
        return -ENOMEM;
    }
    *ret = r;
    return 0;
}

static void event_destroy(struct pending *ev)
{
    free(ev->ev.records);
    free(ev->ev.buf);
    free(ev);
}

void ar_reasm_free(struct ar_reasm *r)
{
    if (!r)
        return;
    for (struct pending *ev = r->oldest, *next; ev; ev = next) {
        next = ev->newer;
        event_destroy(ev);
    }
    for (struct pending *ev = r->free_list, *next; ev; ev = next) {
        next = ev->hash_next;
        event_destroy(ev);
    }
    for (size_t i = 0; i < r->nwindows; i++)
        free(r->windows[i]);
    free(r->buckets);
    free(r);
}

const struct ar_reasm_stats *ar_reasm_stats(const struct ar_reasm *r)
{
    return &r->stats;
}

size_t ar_reasm_in_flight(const struct ar_reasm *r)
{
    return r->in_flight;
}

/* ---- loss accounting ---- */

static bool window_test(const struct serial_window *w, uint32_t s)
{
    uint32_t i = s % GAP_WINDOW;
    return w->seen[i / 64] >> (i % 64) & 1;
}

static void window_set(struct serial_window *w, uint32_t s, bool on)
{
    uint32_t i = s % GAP_WINDOW;
    if (on)
        w->seen[i / 64] |= UINT64_C(1) << (i % 64);
    else
        w->seen[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static struct serial_window *window_for(struct ar_reasm *r, struct ar_span node)
{
    size_t len = node.len < NODE_NAME_MAX ? node.len : NODE_NAME_MAX;
    for (size_t i = 0; i < r->nwindows; i++) {
        struct serial_window *w = r->windows[i];
        /* Most streams have no node= names: no memcmp call for those. */
        if (w->node_len == len && (len == 0 || memcmp(w->node, node.p, len) == 0))
            return w;
    }
    if (r->nwindows == MAX_NODES)
        return NULL; /* more nodes than we track: loss accounting stops for the rest */
    struct serial_window *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    memcpy(w->node, node.p, len);
    w->node_len = len;
    r->windows[r->nwindows++] = w;
    return w;
}

static void report_gap(struct ar_reasm *r, struct serial_window *w, uint32_t after, uint64_t lost)
{
    r->stats.lost += lost;
    r->stats.gap_events++;
    if (r->cbs.gap)
        r->cbs.gap((struct ar_span){w->node, w->node_len}, after, lost, r->cbs.userdata);
}

/* Counts unseen serials among the `n` oldest of the window and reports them as one
 * or more gaps (consecutive missing serials form one gap). */
static void window_retire(struct ar_reasm *r, struct serial_window *w, uint32_t n)
{
    uint32_t first = w->top - w->valid + 1;
    uint32_t run = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t s = first + k;
        if (!window_test(w, s)) {
            run++;
        } else if (run) {
            report_gap(r, w, s - run - 1, run);
            run = 0;
        }
    }
    if (run)
        report_gap(r, w, first + n - run - 1, run);
    w->valid -= n;
}

static void window_restart(struct serial_window *w, uint32_t s, uint64_t sec)
{
    memset(w->seen, 0, sizeof(w->seen));
    w->started = true;
    w->young = true;
    w->top = s;
    w->top_sec = sec;
    w->valid = 1;
    window_set(w, s, true);
}

static void track_serial(struct ar_reasm *r, const struct ar_record *rec)
{
    /* auditd numbers its own DAEMON_* records from a counter of its own. */
    if (!rec->has_time || (rec->type >= AUDIT_FIRST_DAEMON && rec->type <= AUDIT_LAST_DAEMON))
        return;
    struct serial_window *w = window_for(r, rec->node);
    if (!w)
        return;
    uint32_t s = rec->serial;
    if (!w->started) {
        window_restart(w, s, rec->sec);
        return;
    }
    int64_t d = (int32_t)(s - w->top);
    if (d > 0 && (d <= GAP_MAX_JUMP || r->cfg.one_counter)) {
        if (d >= GAP_WINDOW) {
            /* Everything in the window leaves, and the serials between the old top
             * and s never entered it: one gap. */
            uint32_t top = w->top;
            window_retire(r, w, w->valid);
            report_gap(r, w, top, (uint64_t)d - 1);
            window_restart(w, s, rec->sec);
            w->young = false; /* what is below was counted in the gap */
            return;
        }
        /* Slide: serials leaving the window must have been seen by now. */
        if (w->valid + (uint32_t)d > GAP_WINDOW) {
            window_retire(r, w, w->valid + (uint32_t)d - GAP_WINDOW);
            w->young = false;
        }
        for (int64_t k = 1; k <= d; k++)
            window_set(w, w->top + (uint32_t)k, false);
        w->top = s;
        w->top_sec = rec->sec;
        w->valid += (uint32_t)d;
        window_set(w, s, true);
    } else if (d <= 0 && (uint64_t)(-d) < w->valid) {
        window_set(w, s, true); /* late, out of order: fine */
    } else if (d < 0 && w->young && (uint64_t)(-d) < GAP_WINDOW &&
               (r->cfg.one_counter || rec->sec <= w->top_sec)) {
        /* Below where the stream started, but no later in log time than its top: the
         * stream started out of order (go-audit writes events as they complete, so
         * s, s - 2, s - 1). The window reaches down to it, and the serials between
         * are expected too. A reboot's serials start over later in time. */
        for (uint32_t k = s + 1, bottom = w->top - w->valid + 1; k != bottom; k++)
            window_set(w, k, false);
        window_set(w, s, true);
        w->valid = (uint32_t)(-d) + 1;
    } else if (d <= 0 && r->cfg.one_counter) {
        /* Later still: it left the window unseen and was counted lost then. One
         * boot's counter does not go back, so this is no restart. */
    } else {
        /* A restart (reboot, new auditd): what the window still misses was lost
         * before it. */
        r->stats.serial_resets++;
        window_retire(r, w, w->valid);
        window_restart(w, s, rec->sec);
    }
}

static void settle_windows(struct ar_reasm *r)
{
    for (size_t i = 0; i < r->nwindows; i++) {
        struct serial_window *w = r->windows[i];
        if (w->started && w->valid)
            window_retire(r, w, w->valid);
        w->started = false;
    }
}

/* ---- events in flight ---- */

/* The serial's low bits: the events in flight have nearby serials (at most
 * max_in_flight of them, with twice as many buckets), so consecutive events share
 * a cache line of buckets and two collide only when their serials are a multiple of
 * nbuckets apart (a straggler, or another node's). Scattered by a multiplicative
 * hash, each new event's bucket was a cache miss: 90% of the lookup's time, 6% of the
 * live collector's user time (perf, 200,000 audited opens). */
static size_t bucket_of(const struct ar_reasm *r, uint32_t serial)
{
    return serial & (r->nbuckets - 1);
}

static bool same_event(const struct pending *ev, const struct ar_record *rec)
{
    return ev->ev.serial == rec->serial && ev->ev.sec == rec->sec && ev->ev.msec == rec->msec &&
           ev->ev.has_time == rec->has_time && ev->ev.node_len == rec->node.len &&
           (rec->node.len == 0 || memcmp(ev->ev.buf, rec->node.p, rec->node.len) == 0);
}

static void unlink_event(struct ar_reasm *r, struct pending *ev)
{
    struct pending **pp = &r->buckets[bucket_of(r, ev->ev.serial)];
    while (*pp != ev)
        pp = &(*pp)->hash_next;
    *pp = ev->hash_next;
    if (ev->older)
        ev->older->newer = ev->newer;
    else
        r->oldest = ev->newer;
    if (ev->newer)
        ev->newer->older = ev->older;
    else
        r->newest = ev->older;
    r->in_flight--;
}

static void complete(struct ar_reasm *r, struct pending *ev, unsigned flags)
{
    unlink_event(r, ev);
    ev->ev.flags |= flags;
    if (flags & AR_EVENT_TIMED_OUT)
        r->stats.timed_out++;
    if (flags & AR_EVENT_EVICTED)
        r->stats.evicted++;
    r->stats.events++;
    r->cbs.event(&ev->ev, r->cbs.userdata);
    ev->hash_next = r->free_list;
    r->free_list = ev;
}

static int buf_reserve(struct pending *ev, size_t extra)
{
    if (ev->ev.buf_len + extra <= ev->buf_cap && ev->ev.buf)
        return 0;
    size_t cap = ev->buf_cap ? ev->buf_cap : 1024;
    while (cap < ev->ev.buf_len + extra)
        cap *= 2;
    char *nb = realloc(ev->ev.buf, cap);
    if (!nb)
        return -ENOMEM;
    ev->ev.buf = nb;
    ev->buf_cap = cap;
    return 0;
}

static int append_record(struct ar_reasm *r, struct pending *ev, const struct ar_record *rec)
{
    size_t need = rec->body.len + rec->enriched.len;
    if (ev->ev.nrecords >= r->cfg.max_records || ev->ev.buf_len + need > r->cfg.max_event_bytes ||
        need > UINT32_MAX) {
        ev->ev.flags |= AR_EVENT_TRUNCATED;
        r->stats.dropped_records++;
        return 0;
    }
    if (ev->ev.nrecords == ev->records_cap) {
        uint32_t cap = ev->records_cap ? ev->records_cap * 2 : 8;
        struct ar_event_record *nr = realloc(ev->ev.records, cap * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        ev->ev.records = nr;
        ev->records_cap = cap;
    }
    if (buf_reserve(ev, need) < 0)
        return -ENOMEM;
    struct ar_event_record *er = &ev->ev.records[ev->ev.nrecords++];
    er->type = rec->type;
    er->has_time = rec->has_time;
    er->body_off = (uint32_t)ev->ev.buf_len;
    er->body_len = (uint32_t)rec->body.len;
    er->enriched_off = (uint32_t)(ev->ev.buf_len + rec->body.len);
    er->enriched_len = (uint32_t)rec->enriched.len;
    /* An empty record on an event without text has no buffer yet: no memcpy. */
    if (need) {
        memcpy(ev->ev.buf + ev->ev.buf_len, rec->body.p, rec->body.len);
        if (rec->enriched.len) /* only auditd's ENRICHED logs have one */
            memcpy(ev->ev.buf + er->enriched_off, rec->enriched.p, rec->enriched.len);
        ev->ev.buf_len += need;
    }
    return 0;
}

static struct pending *new_event(struct ar_reasm *r, const struct ar_record *rec, uint64_t now_ms)
{
    if (r->in_flight >= r->cfg.max_in_flight)
        complete(r, r->oldest, AR_EVENT_EVICTED);
    struct pending *ev = r->free_list;
    if (ev) {
        r->free_list = ev->hash_next;
    } else {
        ev = calloc(1, sizeof(*ev));
        if (!ev)
            return NULL;
    }
    ev->ev.sec = rec->sec;
    ev->ev.msec = rec->msec;
    ev->ev.serial = rec->serial;
    ev->ev.has_time = rec->has_time;
    ev->ev.flags = 0;
    ev->ev.nrecords = 0;
    ev->ev.buf_len = 0;
    ev->arrival_ms = now_ms;
    if (buf_reserve(ev, rec->node.len) < 0) {
        ev->hash_next = r->free_list;
        r->free_list = ev;
        return NULL;
    }
    memcpy(ev->ev.buf, rec->node.p, rec->node.len);
    ev->ev.node_len = (uint32_t)rec->node.len;
    ev->ev.buf_len = rec->node.len;
    size_t b = bucket_of(r, rec->serial);
    ev->hash_next = r->buckets[b];
    r->buckets[b] = ev;
    ev->older = r->newest;
    ev->newer = NULL;
    if (r->newest)
        r->newest->newer = ev;
    else
        r->oldest = ev;
    r->newest = ev;
    r->in_flight++;
    if (r->in_flight == 1 || rec->sec < r->min_sec)
        r->min_sec = rec->sec;
    if (r->in_flight > r->stats.max_in_flight_seen)
        r->stats.max_in_flight_seen = (uint32_t)r->in_flight;
    return ev;
}

/* libauparse's rule for "this record ends its event": single-record types and the
 * kernel's last record, as current audit-userspace has it (LOGIN does not end an
 * event: the kernel writes it inside the syscall that sets loginuid; libauparse
 * 3.0.9 still split it off). When the stream carries EOE records, only EOE ends a
 * kernel event (PROCTITLE is then not the last). */
static bool ends_event(const struct ar_reasm *r, uint32_t type)
{
    if (type == AUDIT_EOE)
        return true;
    if (type == AUDIT_PROCTITLE)
        return !r->seen_eoe;
    return (type > AUDIT_LOGIN && type < AUDIT_FIRST_EVENT) || type >= AUDIT_FIRST_ANOM_MSG ||
           type == AUDIT_KERNEL || (type >= AUDIT_MAC_UNLBL_ALLOW && type <= AUDIT_MAC_CALIPSO_DEL);
}

/* Completes events whose log time is more than log_timeout_sec before `sec`. */
static void age_by_log_time(struct ar_reasm *r, uint64_t sec)
{
    if (r->in_flight == 0 || r->min_sec + r->cfg.log_timeout_sec >= sec)
        return;
    uint64_t min_sec = UINT64_MAX;
    for (struct pending *ev = r->oldest, *next; ev; ev = next) {
        next = ev->newer;
        if (ev->ev.has_time && ev->ev.sec + r->cfg.log_timeout_sec < sec)
            complete(r, ev, AR_EVENT_TIMED_OUT);
        else if (ev->ev.sec < min_sec)
            min_sec = ev->ev.sec;
    }
    r->min_sec = min_sec;
}

static struct pending *find_event(struct ar_reasm *r, const struct ar_record *rec)
{
    for (struct pending *ev = r->buckets[bucket_of(r, rec->serial)]; ev; ev = ev->hash_next)
        if (same_event(ev, rec))
            return ev;
    return NULL;
}

int ar_reasm_push(struct ar_reasm *r, const struct ar_record *rec, uint64_t now_ms)
{
    r->stats.records++;
    track_serial(r, rec);
    struct pending *ev = find_event(r, rec);
    if (rec->type == AUDIT_EOE) {
        r->seen_eoe = true;
        if (!ev) {
            /* Its event already completed (by timeout or eviction): nothing to add. */
            r->stats.stray_eoe++;
            if (rec->has_time)
                age_by_log_time(r, rec->sec);
            return 0;
        }
    }
    if (!ev) {
        ev = new_event(r, rec, now_ms);
        if (!ev)
            return -ENOMEM;
    }
    int ret = append_record(r, ev, rec);
    if (ret < 0)
        return ret;
    if (ends_event(r, rec->type) || !rec->has_time)
        complete(r, ev, 0);
    if (rec->has_time)
        age_by_log_time(r, rec->sec);
    return 0;
}

void ar_reasm_end_event(struct ar_reasm *r, const struct ar_record *rec)
{
    struct pending *ev = find_event(r, rec);
    if (ev)
        complete(r, ev, 0);
}

void ar_reasm_expire(struct ar_reasm *r, uint64_t now_ms)
{
    while (r->oldest && r->oldest->arrival_ms + r->cfg.idle_timeout_ms <= now_ms)
        complete(r, r->oldest, AR_EVENT_TIMED_OUT);
}

int64_t ar_reasm_next_deadline(const struct ar_reasm *r, uint64_t now_ms)
{
    if (!r->oldest)
        return -1;
    uint64_t due = r->oldest->arrival_ms + r->cfg.idle_timeout_ms;
    return due > now_ms ? (int64_t)(due - now_ms) : 0;
}

void ar_reasm_flush(struct ar_reasm *r)
{
    while (r->oldest)
        complete(r, r->oldest, AR_EVENT_AT_END);
    settle_windows(r);
}
