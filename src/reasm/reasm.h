/* Reassembly: groups records into events by (node, timestamp, serial), the way
 * libauparse does, plus what a live stream needs (EOE, timers, bounds, loss).
 * Pure: no clocks (callers pass `now`), no I/O. Records are copied once into the
 * event's own buffer, so the caller's read buffer can be reused at once. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "parse/header.h"

struct ar_event_record {
    uint32_t type;
    bool has_time;
    uint32_t body_off, body_len;       /* into ar_event.buf */
    uint32_t enriched_off, enriched_len;
};

enum ar_event_flags {
    AR_EVENT_TIMED_OUT = 1u << 0,  /* completed by the timeout, not by its last record */
    AR_EVENT_EVICTED = 1u << 1,    /* completed early: too many events in flight */
    AR_EVENT_TRUNCATED = 1u << 2,  /* records dropped: record or byte cap hit */
    AR_EVENT_AT_END = 1u << 3,     /* completed because the input ended */
};

struct ar_proc_info;

/* A completed event, valid only during the ar_event_cb call that hands it out. */
struct ar_event {
    uint64_t sec;
    uint32_t msec;
    uint32_t serial;
    bool has_time;
    unsigned flags;                /* enum ar_event_flags */
    uint32_t node_len;             /* node name is buf[0, node_len) */
    uint32_t nrecords;
    struct ar_event_record *records;
    char *buf;
    size_t buf_len;
    /* The process context (enrich/proctable.h) the pipeline adds to a copy before
     * encoding; NULL from the reassembler. */
    const struct ar_proc_info *proc;
};

static inline struct ar_span ar_event_node(const struct ar_event *ev)
{
    return (struct ar_span){ev->buf, ev->node_len};
}
static inline struct ar_span ar_event_body(const struct ar_event *ev, uint32_t i)
{
    return (struct ar_span){ev->buf + ev->records[i].body_off, ev->records[i].body_len};
}
static inline struct ar_span ar_event_enriched(const struct ar_event *ev, uint32_t i)
{
    return (struct ar_span){ev->buf + ev->records[i].enriched_off, ev->records[i].enriched_len};
}

struct ar_reasm_config {
    size_t max_in_flight;       /* events being assembled; the oldest is evicted beyond */
    uint32_t max_records;       /* records per event; more are dropped and counted */
    size_t max_event_bytes;     /* text per event; more records are dropped and counted */
    uint32_t log_timeout_sec;   /* complete an event when a record this much newer (log time) arrives */
    uint64_t idle_timeout_ms;   /* ar_reasm_expire: complete events that waited this long */
    bool eoe_stream;            /* the stream is known to carry EOE records (the live
                                 * kernel's): EOE, not PROCTITLE, ends kernel events from
                                 * the first record on, not only after the first EOE */
    bool one_counter;           /* the serials are one kernel's counter within one boot
                                 * (the live sources): a forward jump of any size is loss,
                                 * a serial below the window is late, never a restart */
};

/* Defaults: 4096 in flight, 4096 records, 8 MiB, 2 s log time (libauparse's), 1000 ms idle,
 * EOE learned from the stream. */
void ar_reasm_config_default(struct ar_reasm_config *ret);

struct ar_reasm_stats {
    uint64_t records;
    uint64_t events;
    uint64_t timed_out;       /* events completed by a timeout */
    uint64_t evicted;         /* events completed early by max_in_flight */
    uint64_t dropped_records; /* records over max_records / max_event_bytes */
    uint64_t stray_eoe;       /* EOE records whose event had already completed */
    uint64_t lost;            /* serials that never arrived (gaps) */
    uint64_t gap_events;      /* how many distinct gaps */
    uint64_t serial_resets;   /* discontinuities (reboot, auditd restart): not counted as lost */
    uint32_t max_in_flight_seen;
};

/* Loss accounting. Serials are tracked per node in a window of the last 4096: a
 * serial that leaves the window unseen was lost, and consecutive lost serials are
 * one gap. Arrivals out of order inside the window are fine; u32 wrap is modular.
 * A stream that starts out of order (go-audit writes events as they complete: s,
 * s - 2, s - 1) widens the window down to the lowest serial, as long as nothing
 * has left the window yet and that serial's log time is no later than the top's.
 * The kernel's serial is a global atomic counter that only goes up within a boot,
 * and a serial is taken only for a record that is being logged (audit_log_start),
 * so in a live stream every skipped serial is a record the kernel stamped and we
 * never got (a socket overrun, the rate limit): with one_counter a forward jump of
 * any size is loss, and a serial below the window is a late arrival (counted lost
 * when it left the window), never a restart. Replay has no such guarantee (logs of
 * several boots and hosts are concatenated), so there a serial below the window
 * (a reboot starts over, later in log time) or more than 65536 above it is a
 * restart: serial_resets, not loss (what the window still missed is settled as
 * lost first). auditd's own DAEMON_* records have a counter of their own and are
 * ignored. */

/* Called for each completed event, in completion order. `gap_lost` > 0 reports
 * serials found missing just before this call, with the last serial seen before the
 * gap, so callers can emit a loss event in stream order. */
struct ar_reasm_callbacks {
    void (*event)(const struct ar_event *ev, void *userdata);
    void (*gap)(struct ar_span node, uint32_t after_serial, uint64_t lost, void *userdata);
    void *userdata;
};

struct ar_reasm;

/* Returns 0 and *ret, or -ENOMEM / -EINVAL. */
int ar_reasm_new(const struct ar_reasm_config *cfg, const struct ar_reasm_callbacks *cbs,
                 struct ar_reasm **ret);
/* Completes nothing; frees all events still in flight without handing them out. */
void ar_reasm_free(struct ar_reasm *r);

/* Adds one parsed record (its spans may point into a buffer the caller reuses right
 * after). May complete events through the callback. `now_ms` is a monotonic clock
 * reading used only by ar_reasm_expire (pass 0 in replay). Returns 0 or -ENOMEM. */
int ar_reasm_push(struct ar_reasm *r, const struct ar_record *rec, uint64_t now_ms);

/* Completes the event in flight that `rec` belongs to (same node, stamp, serial),
 * if there is one: the source knows it has no more records (a go-audit line is one
 * whole event). */
void ar_reasm_end_event(struct ar_reasm *r, const struct ar_record *rec);

/* Completes events that have waited idle_timeout_ms since their first record (the
 * live collector's timer). */
void ar_reasm_expire(struct ar_reasm *r, uint64_t now_ms);

/* Completes every event in flight (end of input, shutdown) and settles loss
 * accounting for serials still missing. */
void ar_reasm_flush(struct ar_reasm *r);

/* Milliseconds until the oldest event in flight reaches idle_timeout_ms, or -1 when
 * none is in flight: what the live timer should wait. */
int64_t ar_reasm_next_deadline(const struct ar_reasm *r, uint64_t now_ms);

const struct ar_reasm_stats *ar_reasm_stats(const struct ar_reasm *r);
size_t ar_reasm_in_flight(const struct ar_reasm *r);
