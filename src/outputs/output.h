/* Outputs: each destination (stdout, a file, a syslog peer...) has its own bounded
 * queue and a writer thread of its own, so one slow or dead output never delays
 * another, the event loop or the source. When a peer is down the queue spills to a
 * bounded on-disk spool and drains in order when it is back; a send that failed is
 * resent after reconnecting (with exponential backoff and jitter). Only when memory
 * and spool are both full are lines dropped (policy "drop", the live collector: the
 * kernel cannot wait) or the source waits (policy "block", replay: nothing is lost,
 * and with a spool a slow peer holds up nothing until the spool is full). */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "util/line_meta.h"

/* A transport's own delivery counts (lines), for transports whose peer acknowledges
 * each line after it was handed over (Kafka). */
struct ar_transport_counts {
    uint64_t sent;           /* handed to the peer's client library */
    uint64_t acked;          /* acknowledged by the peer */
    uint64_t retried;        /* handed over again after a failed delivery: may be twice there */
    uint64_t awaiting;       /* handed over, not yet acknowledged */
};

/* A transport moves batches of whole lines (each ending in '\n') to one kind of
 * destination. It runs on its output's writer thread and may block there. Each
 * batch carries its events' metadata (util/line_meta.h: time, serial, node,
 * source; ar_lines_meta finds a line's), so a transport that needs them (the
 * syslog header, Kafka's key and timestamp) never reads its lines back. */
struct ar_transport_ops {
    const char *scheme;      /* "stdout", "file", "syslog+tcp"... */
    /* Parses the target (after "scheme:" or "scheme://") and options; no I/O.
     * Errors are described in err (for the user) and return -EINVAL. */
    int (*create)(const char *target, const char *options, char *err, size_t errlen,
                  void **ret);
    /* Opens or connects. Returns 0 or -errno; the output retries with backoff. */
    int (*connect)(void *t);
    /* Sends the batch. Returns 0 when all of it was handed over, or -errno: the
     * output disconnects, reconnects and sends the whole batch again (-ESHUTDOWN:
     * the output ends for good, as errors_are_final). Lines the
     * transport cannot carry at all (too large for a datagram) are dropped here and
     * counted in *dropped_lines. */
    int (*send)(void *t, const struct ar_lines *batch, uint64_t *dropped_lines);
    /* Optional, for streams: at the end, with everything sent, confirms that the
     * peer took it: ends our side of the stream and waits (up to timeout_ms) for the
     * peer to end its side after reading everything. Returns 0, -ETIMEDOUT (the
     * peer did not answer: unknown), or another -errno: the peer reset or refused
     * the stream, so the recent lines are sent again on a new connection.
     * A transport whose peer acknowledges later (Kafka) waits up to timeout_ms for
     * the acknowledgements and returns -EAGAIN while some are missing: it is called
     * again until the output's deadline. */
    int (*finish)(void *t, int timeout_ms);
    /* Optional, with finish's -EAGAIN: at the very end, gives up on what the peer has
     * not acknowledged and returns how many lines that was (counted as dropped). */
    uint64_t (*abandon)(void *t);
    /* Optional: called every 100 ms while the output has nothing to send, so that a
     * transport whose client library works through callbacks (Kafka's delivery
     * reports and errors) serves them. */
    void (*idle)(void *t);
    /* Optional: the capabilities (bits 1 << CAP_*) the transport needs after it was
     * opened (a file reopened with its owner set: CAP_CHOWN, CAP_DAC_OVERRIDE). */
    uint64_t (*capabilities)(void *t);
    /* Those capabilities are for the programs the transport starts (exec:), which
     * inherit them only while the collector runs as root. */
    bool capabilities_for_children;
    /* Optional: the transport's delivery counts (called from any thread). */
    void (*counts)(void *t, struct ar_transport_counts *ret);
    void (*disconnect)(void *t);
    void (*destroy)(void *t);
    /* Optional: the last connect failure in words ("TLS: the peer's certificate is
     * refused: ..."), NULL when there is nothing to add to strerror. */
    const char *(*error)(void *t);
    bool spools;             /* a peer that can be down: spill to disk */
    bool errors_are_final;   /* a send error will not heal (stdout's reader left) */
    /* The peer acknowledges what it took and the transport resends the rest after a
     * reconnect (RELP): the output's own resend of recent lines is not needed. */
    bool acknowledged;
    /* Optional: how many times the destination's file system went at or below its
     * space_left [0] and admin_space_left [1] thresholds; any thread may call it. */
    void (*space_warnings)(void *t, uint64_t ret[2]);
    /* Optional: true when a send can wait only on this machine (a regular file,
     * /dev/null), never on a reader that may stall (a pipe, a socket, a terminal):
     * a replay then writes it on the thread that hands the lines out
     * (ar_outputs.producer_writes). */
    bool (*never_waits_on_reader)(void *t);
    /* The destination is an auditd plugin: with --format raw or enriched, the
     * stream carries EOE records, as auditd's dispatcher's does. */
    bool wants_eoe;
    /* Set in a registry entry whose transport is a module (util/module.h): the
     * file to load and the symbol of its ops; the entry has the scheme only. */
    const char *module;
    const char *module_symbol;
};

/* The transports, one line each (outputs/registry.c). NULL-terminated. */
extern const struct ar_transport_ops ar_transport_exec; /* outputs/exec/ */
extern const struct ar_transport_ops *const ar_transports[];

enum ar_output_policy { AR_OUTPUT_DROP, AR_OUTPUT_BLOCK };

struct ar_output_config {
    enum ar_output_policy policy;
    size_t max_memory;       /* bytes queued in memory */
    const char *spool_dir;   /* NULL: no spool */
    uint64_t max_spool;      /* bytes on disk */
};

void ar_output_config_default(struct ar_output_config *ret);

struct ar_output_stats {
    uint64_t bytes_queued;
    uint64_t bytes_sent;
    uint64_t lines_dropped;  /* memory and spool full (policy drop), or too large */
    uint64_t reconnects;
    uint64_t spooled_bytes;  /* written to the spool so far */
    uint64_t spool_now;      /* on disk right now */
    uint64_t memory_now;     /* queued in memory right now */
    uint64_t resent_bytes;   /* recent lines sent again after a broken connection */
    int last_error;          /* last connect/send error (-errno), 0 when healthy */
    bool failed;             /* an error that does not heal (errors_are_final) ended it,
                              * not a stop its configuration asked for (-ESHUTDOWN:
                              * admin_space_left_action=stop): what came after was
                              * dropped; in a total, any output's */
    bool has_counts;         /* the transport counts acknowledgements: */
    struct ar_transport_counts delivery;
    uint64_t space_warnings[2]; /* space_left, admin_space_left reached (file) */
};

struct ar_output;

/* Parses SPEC ("stdout", "file:/var/log/audit.json?mode=0640", "syslog+tcp://h:514")
 * and opens it; its writer thread starts with ar_outputs_start. Errors go to err. Returns 0, -EINVAL (bad spec),
 * -ENOMEM. */
int ar_output_new(const char *spec, const struct ar_output_config *cfg, char *err, size_t errlen,
                  struct ar_output **ret);

/* Queues whole lines with their metadata (kept with them in memory and in the
 * spool). With policy drop it never blocks (but see reading_may_wait) and drops
 * when memory and spool are full; with policy block it waits for room.
 * Returns 0 (dropped lines are counted, not errors). */
int ar_output_write(struct ar_output *o, const struct ar_lines *lines);

/* Waits until everything queued was sent or the deadline (ms, -1: none) passed,
 * stops the thread and frees. Lines still queued are counted as dropped. Final
 * statistics go to *ret_final when not NULL. */
void ar_output_free(struct ar_output *o, int deadline_ms, struct ar_output_stats *ret_final);

struct ar_output_stats ar_output_stats(struct ar_output *o);
const char *ar_output_name(const struct ar_output *o);

/* Asks file outputs to reopen their file (SIGHUP, after logrotate moved it).
 * Async-signal-safe. */
void ar_outputs_reopen(void);
/* The reopen generation transports compare against (incremented by reopen). */
unsigned ar_outputs_reopen_generation(void);

/* All outputs of a run: every line goes to each. */
struct ar_outputs {
    struct ar_output **v;
    size_t n;
    /* Set before ar_outputs_start by a source that can leave records unread (the
     * tracepoint source's ring; audit's netlink, whose kernel backlog holds them):
     * with policy drop, a producer that finds the queue past a soft limit waits a
     * moment for a writer that is behind, instead of queueing its lines (output.c,
     * wait_for_writer). */
    bool reading_may_wait;
    /* Set before ar_outputs_start by a replay: a local output whose writes never
     * wait on a reader (never_waits_on_reader) is written by the producer itself,
     * with no writer thread to wake (output.c, send_on_producer; its send_lock
     * makes the producers take turns). */
    bool producer_writes;
    /* Outputs a reload took out, closing on threads of their own (joined by
     * ar_outputs_close), and the lines they dropped. */
    struct ar_retiring *retiring;
};

/* From any thread: producers waiting for room in an output (policy block) stop
 * waiting, and from now on lines that find no room are dropped and counted instead.
 * A replay stopped by a signal must not wait for a peer that is not reading. */
void ar_outputs_interrupt(struct ar_outputs *set);

/* Opens the outputs named by specs (none: stdout); their threads start with
 * ar_outputs_start. Errors are explained on stderr. Returns 0 or a negative errno. */
int ar_outputs_open(struct ar_outputs *set, char *const *specs, size_t nspecs,
                    const struct ar_output_config *cfg);

/* Starts the writer threads (after the caller dropped the capabilities the threads
 * must not have: they are per thread, inherited at creation). Returns 0 or -errno. */
int ar_outputs_start(struct ar_outputs *set);

/* A reload's outputs, in two steps so that nothing changes unless everything
 * could be opened. ar_outputs_prepare fills *next with one output per spec (none:
 * stdout): the running output of `set` with the same spec, which goes on untouched
 * (no reconnect, its queue and spool kept), or a new one. Errors are explained on
 * stderr and leave `set` as it was. Returns 0 or -errno. */
int ar_outputs_prepare(const struct ar_outputs *set, char *const *specs, size_t nspecs,
                       const struct ar_output_config *cfg, struct ar_outputs *next);
/* Makes *next the set and starts its new outputs' threads. Outputs it did not reuse
 * are closed on a thread of their
 * own, each sending what it has queued within deadline_ms (what it could not is
 * reported on stderr as at exit, and its dropped lines stay counted). */
void ar_outputs_commit(struct ar_outputs *set, struct ar_outputs *next, int deadline_ms);
/* Gives up a prepared set: closes the outputs it opened itself. */
void ar_outputs_abort(const struct ar_outputs *set, struct ar_outputs *next);

/* ar_sink write callback over every output of the set. Returns 0, or the error of
 * the last output when every output has failed for good (stdout closed): the
 * pipeline then stops. */
int ar_outputs_write(void *ctx, const struct ar_lines *lines);

/* ar_sink take callback: ar_outputs_write of the lines in `lines` described by
 * `meta`, both then emptied. A single output whose queue is empty keeps their memory
 * instead of a copy (both get its empty buffers): one copy less of every byte. */
int ar_outputs_take(void *ctx, struct ar_buf *lines, struct ar_buf *meta);

/* The capabilities the set's transports still need (bits 1 << CAP_*); with
 * children_root false (the collector runs as another user), without those only the
 * programs they start would use. */
uint64_t ar_outputs_capabilities(const struct ar_outputs *set, bool children_root);

/* Times the outputs' file systems reached space_left [0] and admin_space_left [1],
 * summed; ar_sink's space_warnings callback (ctx: the set). */
void ar_outputs_space_warnings(void *ctx, uint64_t ret[2]);

/* True when an output of the set wants the dispatcher stream's EOE records. */
bool ar_outputs_want_eoe(const struct ar_outputs *set);

/* Lines dropped so far, summed over the outputs; ar_sink's dropped callback. */
uint64_t ar_outputs_dropped(struct ar_outputs *set);
uint64_t ar_outputs_sink_dropped(void *ctx);

/* One line per output on f: bytes sent, lines dropped, reconnects, spool, last error
 * (the collector's SIGUSR1 statistics; the same line as ar_outputs_close's report). */
void ar_outputs_print_stats(struct ar_outputs *set, FILE *f);

/* Flushes (up to deadline_ms, -1: no limit) and closes each output; with report,
 * outputs that dropped, reconnected or still spool say so on stderr. The summed
 * final statistics go to *ret_total when not NULL. */
void ar_outputs_close(struct ar_outputs *set, int deadline_ms, bool report,
                      struct ar_output_stats *ret_total);
