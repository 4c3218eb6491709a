/* The process feed: what tells the process table (enrich/proctable.h) of forks,
 * execs and exits in live collection, whichever source produces the events. Two
 * ways, picked at start (--process-feed, [process] feed):
 *
 * - bpf: the scheduler's sched_process_fork/exec/exit tracepoints through a BPF
 *   ring of their own (sources/tracepoint/procfeed_bpf.h), drained on the loop on
 *   a timer, when a quarter of it was sent, and before every record a source hands over
 *   (the table's ordering model relies on that: proctable.h).
 * - audit: where BPF is unavailable and the source is audit's, audit rules of the
 *   collector's own on clone, clone3, fork, vfork, execve, execveat and exit_group
 *   (b64 and b32 where the arch has them; threads' clones excluded by a never
 *   rule), with the key AR_PROCESS_FEED_KEY. The netlink source installs them
 *   after the configured rules through its rule session, so they are removed on
 *   exit and, after a SIGKILL, by the next start (the state file). Their events
 *   feed the table and are not forwarded (the pipeline's feed_key); an event a
 *   configured rule matched carries that rule's key and is forwarded as always.
 *
 * Replay never uses it. Runs on the loop thread. */
#pragma once
#include <stdbool.h>
#include <stdio.h>
#include <uv.h>
#include "collector.h"

#define AR_PROCESS_FEED_KEY "auditrelay-process-feed"

struct ar_procfeed;

/* Picks and sets up the feed for cfg->process_feed, before the source opens (the
 * audit way's rules go in with the source's). audit_source: the source will be a
 * netlink one (the audit way is possible). have_table false (the format writes
 * no process object): no feed. Returns 0 with *ret (NULL: no feed), or -errno
 * after saying why on stderr (a way asked for explicitly that cannot work here). */
int ar_procfeed_open(const struct ar_collector_config *cfg, bool audit_source,
                     bool have_table, struct ar_procfeed **ret);
/* The table it feeds (the pipeline's, once the pipeline is final); changes wait in
 * the ring until then. */
void ar_procfeed_attach(struct ar_procfeed *f, struct ar_proctab *tab);
/* The audit rules to install (the audit way), else NULL. */
const char *ar_procfeed_rules(const struct ar_procfeed *f);
/* The key the pipeline takes as the feed's (the audit way), else NULL. */
const char *ar_procfeed_key(const struct ar_procfeed *f);
/* The source turned out not to be audit's: the audit way has nothing to read. */
void ar_procfeed_no_audit(struct ar_procfeed *f);
/* Starts draining on the loop. Returns 0 or -errno. */
int ar_procfeed_start(struct ar_procfeed *f, uv_loop_t *loop);
/* Feeds the table what the kernel has sent so far: before each record. */
void ar_procfeed_sync(struct ar_procfeed *f);
/* Takes what is left, detaches the programs and closes the loop handles. */
void ar_procfeed_stop(struct ar_procfeed *f);
/* After the loop ended. NULL is fine. */
void ar_procfeed_free(struct ar_procfeed *f);
/* True when it reads a BPF ring (the system call filter must allow bpf(); no
 * capability is needed for that: the maps are our fds). */
bool ar_procfeed_uses_bpf(const struct ar_procfeed *f);
/* One line for the run's report. */
void ar_procfeed_print_stats(const struct ar_procfeed *f, FILE *out);
