/* Sources: where records come from. Each source is a const ops table, one line in
 * sources/registry.c; the driver (driver.c) opens the one the configuration names,
 * starts it on the libuv loop, and stops it on SIGINT/SIGTERM or when it ends by
 * itself (replay at the end of its input). A source hands records to the pipeline
 * only through struct ar_source_sink and knows nothing of the pipeline's insides.
 * Adding a source is a folder (or file) under sources/ and a line in registry.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>
#include "encode/encoder.h"
#include "parse/header.h"
#include "reasm/reasm.h"

struct ar_collector_config;

/* The run's counters, for a source's report (print_stats). */
struct ar_source_counts {
    uint64_t records, events, bytes_out;
    uint64_t output_dropped;             /* lines, summed over the outputs */
    const struct ar_reasm_stats *reasm;
};

/* A source's own counters, for metrics. A group the source does not have stays
 * false and zero. */
struct ar_source_metrics {
    bool audit;                  /* the audit netlink socket: */
    uint64_t kernel_lost;        /*   the kernel's lost counter, risen while we ran */
    uint64_t enobufs;            /*   socket buffer overflows (records lost) */
    uint64_t foreign;            /*   messages not from the kernel, dropped */
    uint64_t bad_records;        /*   records whose header did not parse */
    uint64_t kernel_backlog;     /*   the kernel's queue and its limit, polled each */
    uint64_t kernel_backlog_limit; /* second (gauges) */
    bool ring;                   /* the tracepoint source: */
    uint64_t ring_lost;          /*   samples lost in the kernel (ring full) */
    bool text;                   /* replay: */
    uint64_t lines, malformed, bytes_in, files, input_errors, long_lines;
};

/* What a source calls; the driver implements it over the pipeline. */
struct ar_source_sink {
    /* One record; its spans are valid during the call only. Returns 0, or a
     * negative errno when every output failed for good: the source stops. */
    int (*record)(void *ctx, const struct ar_record *rec);
    /* One line of a text log (no newline; '#' lines are comments): parsed and fed
     * like a record. Returns 0, 1 when the line is not an audit record (counted),
     * or a negative errno as record() does. */
    int (*line)(void *ctx, const char *p, size_t len);
    /* The event of `rec` (a record handed over before) has all its records: it
     * completes now, not by type or timeout (a go-audit line is one event).
     * Returns 0 or a negative errno as record() does. */
    int (*end_event)(void *ctx, const struct ar_record *rec);
    /* Records or events the source knows were lost before they reached it (the
     * kernel's lost counter, ENOBUFS, a full BPF ring): a loss event is emitted. */
    void (*loss)(void *ctx, const char *kind, uint64_t count);
    /* A batch ended (the socket or ring is drained): complete events go out now. */
    void (*batch_end)(void *ctx);
    /* The source ended by itself (err 0: end of input) or failed (err < 0, already
     * explained on stderr): the driver stops the run. */
    void (*done)(void *ctx, int err);
    void *ctx;
};

struct ar_source_ops {
    const char *name;         /* what --source says: "unicast", "tracepoint"... */
    const char *event_source; /* what the JSON says: "netlink", "tracepoint"... */
    /* Live: records arrive in real time, so events idle for a while are completed on
     * a timer and outputs drop rather than wait. Not live (replay): log time only,
     * and the outputs wait for a slow peer. */
    bool live;
    /* Live: reading may wait a moment for an output's writer rather than queue JSON
     * (ar_outputs.reading_may_wait). The tracepoint source's ring is compact and
     * counts what does not fit. Audit's netlink too: its unread records wait in the
     * kernel's backlog, which holds the audited tasks (backlog_wait_time) rather
     * than lose them; without the wait, a collector faster than its file output
     * dropped 12,000-32,000 of 600,000 events at the queue's bound (live/collector
     * case_overload_status_poll, 4 of 9 runs). */
    bool reading_may_wait;
    /* Sets up everything before the first record (kernel settings, rules, BPF
     * programs) without reading. On failure everything done is undone, the reason
     * is written to `why` (one sentence, no "auditrelay:" prefix) and -errno is
     * returned; -EPROTONOSUPPORT, -EPERM, -EACCES, -EEXIST and -ENOSYS mean "this
     * source cannot run on this host" (the auto mode then tries the next one). */
    int (*open)(const struct ar_collector_config *cfg, const struct ar_source_sink *sink,
                char *why, size_t whylen, void **ret);
    /* Starts reading on the loop. Returns 0 or -errno. */
    int (*start)(void *s, uv_loop_t *loop);
    /* Stops reading: takes what is still pending (hands it to the sink), puts back
     * what it changed on the host, and closes its loop handles (the loop then
     * ends). Idempotent. */
    void (*stop)(void *s);
    /* Frees the source after the loop ended. NULL is fine. */
    void (*close)(void *s);
    /* The run's report on f (SIGUSR1 and exit; `when` is "stats" or "exit"): the
     * run's counters with the source's own, in the source's words. What every
     * source has (reassembly's and the encoder's conditions, filters, the process
     * table, the outputs) the collector prints after it. */
    void (*print_stats)(void *s, const struct ar_source_counts *c, const char *when, FILE *f);
    /* Optional: the source's own counters for metrics (on the loop thread). */
    void (*metrics)(void *s, struct ar_source_metrics *ret);
    /* Optional: the exit status the source asks for at the end (replay: 1 after
     * input errors or malformed lines); 0 when absent. */
    int (*exit_status)(void *s);
    /* Optional, live sources: a reload (SIGHUP) with a new configuration that
     * stays valid until the source is closed. Applies what can change while
     * running (the rules, kernel settings) without a moment in which the rules both
     * configurations have are missing; says on stderr what changed. On failure
     * (explained on stderr, with file:line for rule errors) nothing changed and
     * -errno is returned. NULL: the source reloads nothing. */
    int (*reload)(void *s, const struct ar_collector_config *cfg);
    /* Optional: the capabilities (bits 1 << CAP_*) the started source still needs,
     * to stop and put the host back or to reload its rules; the driver drops every
     * other one after start. NULL: none. */
    uint64_t (*capabilities)(void *s);
    /* Optional, live sources whose events may span reads: true when data is waiting
     * to be read. The driver completes idle events only when it is false: after the
     * collector was starved of CPU, the rest of an "idle" event may be in the
     * socket, and completing it first would split it in two. NULL: never waiting
     * (a tracepoint sample gives all of its event's records at once). */
    bool (*has_pending)(void *s);
};

/* The sources, one line each (sources/registry.c). NULL-terminated. */
extern const struct ar_source_ops *const ar_sources[];

/* The source named `name`, or NULL. */
const struct ar_source_ops *ar_source_find(const char *name);
