/* The process table: who each audited pid is, who started it, what it runs, which
 * labels it carries. Fed by the records themselves in stream order (SYSCALL: execve,
 * execveat, clone, clone3, fork, vfork results, exit, exit_group; EXECVE argv; CWD;
 * PROCTITLE), so that a replay is deterministic and a reordered stream is
 * attributed like the plain one. Pure: no /proc, no clocks, no I/O; a live
 * collector may pass a lookup for processes older than itself. Bounded: a fixed
 * number of entries allocated up front, the least recently used reused; nothing is
 * allocated per record or event.
 *
 * Model (laurel's, src/proc.rs and coalesce.rs, reimplemented): an entry is one
 * program image of one pid. An execve gives the pid a new entry (same parent,
 * same start, the labels carried over); a fork result gives the child pid a fresh
 * entry (the parent's image and labels, the fork's time as its start); a pid seen
 * with another parent (not a reparenting) or another exe than its entry is another
 * process and gets a new entry too. Labels come from configured rules on the key,
 * exe, argv or script and are inherited by everything the process starts. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "enrich/cgroup.h"
#include "parse/header.h"
#include "reasm/reasm.h"

#define AR_PROC_MAX_DEPTH 16
#define AR_PROC_MAX_LABELS 64
#define AR_PROC_EXE_MAX 128    /* bytes kept of an exe or script path; longer is cut */
#define AR_PROC_COMM_MAX 16
#define AR_PROC_TTY_MAX 12     /* "pts4095", "ttyUSB10", "console"; longer is not kept */
#define AR_PROC_SES_UNSET UINT32_MAX /* no login session (ses=4294967295 or unset) */
/* /proc's start time is in clock ticks (10 ms) from a boot time computed to the
 * millisecond, the record's time is the kernel's coarse clock: a process may seem
 * to have started a little after its own event. */
#define AR_PROC_START_SLACK_MS 20

/* What a live collector learned about a process from /proc (lookup below). */
struct ar_proc_observed {
    uint32_t ppid;
    uint64_t start_ms;         /* 0: unknown */
    char exe[AR_PROC_EXE_MAX];
    char comm[AR_PROC_COMM_MAX + 1];
    struct ar_cgroup_ctx cgroup; /* from /proc/PID/cgroup (ar_cgroup_parse_file) */
};
/* Returns 0 and *ret, or a negative errno (no such process). Never called in replay.
 * The table calls it for a pid it meets without having seen its fork (the process
 * and, up the chain, its ancestors) and at each exec (the cgroup a process moved to
 * before it: runc, systemd), at most 1 + depth times per record. What it says is
 * taken only when the process started before the event (its start_ms at most
 * AR_PROC_START_SLACK_MS later than the record's time): a pid reused since is
 * another process. */
typedef int (*ar_proc_lookup_fn)(uint32_t pid, struct ar_proc_observed *ret, void *ctx);

struct ar_proctab_config {
    uint32_t size;             /* entries (default 8192) */
    uint32_t depth;            /* parent and ancestors reported (default 4, at most 16) */
    uint32_t max_pending;      /* events in flight remembered (default 8192) */
    const char *const *labels; /* label rules, "NAME:key|exe|argv|script:PATTERN" */
    size_t nlabels;
    ar_proc_lookup_fn lookup;  /* NULL: no /proc (replay) */
    void *lookup_ctx;
};

void ar_proctab_config_default(struct ar_proctab_config *ret);

/* One process as an event reports it. Spans point into the table: valid until the
 * next ar_proctab_record call. */
struct ar_proc_ref {
    uint32_t pid;
    struct ar_span exe;        /* empty when unknown */
    struct ar_span comm;
    uint64_t start_ms;         /* when it was forked; valid with has_start */
    bool has_start;
    bool from_proc;            /* learned from /proc after the fact */
    bool truncated;            /* exe longer than AR_PROC_EXE_MAX */
};

/* The process context of one event. */
struct ar_proc_info {
    bool present;              /* false: the event names no pid the table knows */
    uint32_t pid;
    uint64_t start_ms;
    bool has_start;
    bool from_proc;            /* its start (container, unit) learned from /proc after the fact */
    uint32_t session;          /* login session (ses=), AR_PROC_SES_UNSET for none */
    uint8_t tty_len;           /* 0: no tty */
    char tty[AR_PROC_TTY_MAX];
    struct ar_cgroup_ctx cgroup; /* container and unit: live only (from /proc), inherited */
    struct ar_span script;     /* the script an interpreter runs, empty if none */
    bool script_truncated;
    uint64_t labels;           /* bit i: label_names[i] */
    const char *const *label_names; /* the table's, for its lifetime */
    uint32_t nancestors;       /* [0] is the parent, [1] the grandparent... */
    struct ar_proc_ref ancestors[AR_PROC_MAX_DEPTH];
};

struct ar_proctab_stats {
    uint64_t size;             /* entries allocated (the bound) */
    uint64_t entries;          /* in use now */
    uint64_t created;          /* entries made (fork, exec, first seen) */
    uint64_t evicted;          /* least recently used entries reused */
    uint64_t lost;             /* events whose entry was reused before they completed */
    uint64_t pending_full;     /* events not remembered: too many in flight */
    uint64_t truncated;        /* exe or script paths cut to AR_PROC_EXE_MAX */
    uint64_t chains_cut;       /* events whose ancestor chain stopped at a reused parent entry */
    uint64_t proc_lookups;     /* /proc lookups (live only) */
    uint64_t proc_unknown;     /* of which found no process */
    uint64_t proc_reused;      /* of which found a process started after the event or after
                                  the entry of its pid (the pid reused): not taken for it */
    uint64_t memory_bytes;     /* allocated at creation, fixed */
    uint64_t fed_forks, fed_execs, fed_exits; /* lifecycle feed calls (below) */
    uint64_t feed_lost;        /* changes the feed lost (ar_proctab_feed_lost) */
};

struct ar_proctab;

/* Returns 0, -ENOMEM, or -EINVAL with a message naming the bad label rule in
 * errbuf (errlen bytes). */
int ar_proctab_new(const struct ar_proctab_config *cfg, struct ar_proctab **ret, char *errbuf,
                   size_t errlen);
void ar_proctab_free(struct ar_proctab *t);

/* Checks one label rule; returns 0 or -EINVAL with the reason in errbuf. */
int ar_proctab_label_check(const char *rule, char *errbuf, size_t errlen);

/* Feeds one record, in stream order, before the reassembler sees it. */
void ar_proctab_record(struct ar_proctab *t, const struct ar_record *rec);

/* The context of a completed event (and forgets the event). */
void ar_proctab_event(struct ar_proctab *t, const struct ar_event *ev, struct ar_proc_info *ret);

/* Label i's name (NUL-terminated), or NULL past the last. */
const char *ar_proctab_label_name(const struct ar_proctab *t, size_t i);

const struct ar_proctab_stats *ar_proctab_stats(const struct ar_proctab *t);

/* The live lifecycle feed: the kernel's sched_process_fork/exec/exit of whole
 * processes (thread-group leaders; threads are not entries), in the kernel's
 * order, with their times on the wall clock (ms). The first call switches the
 * table to the feed's model:
 *
 * - Each fork and exec makes an entry (a fork: the parent's image and labels, born
 *   then; an exec: a new image of the same process, parent, start and labels
 *   kept) stamped with when its image began; the pid's older entries stay linked
 *   behind it, and an exit only marks the entry (it stays findable).
 * - The feed's records and audit's travel apart (a BPF ring, the audit socket).
 *   The caller drains the feed before it hands over each audit record: the
 *   kernel wrote a process's fork and exec into the ring before the process
 *   could make a syscall, so the feed is never behind a record; it may be ahead
 *   (an exec or exit after the record's syscall, or the pid reused since).
 * - So a record is matched by time: it names the newest of its pid's entries
 *   that began by its stamp (audit's coarse clock: 10 ms of slack) running the
 *   record's exe, else the newest that began by then. A record of an exec or
 *   fork the feed already made adds its argv (labels, script) to that entry
 *   instead of making another. A record of a process the feed never saw (it
 *   lost the record: ring full) makes its entry as without the feed.
 *
 * exe is the path of the process's executable (as audit's exe=), cut to
 * AR_PROC_EXE_MAX (exe_truncated: it was cut before); comm its name. */
void ar_proctab_fork(struct ar_proctab *t, uint32_t pid, uint32_t ppid, uint64_t time_ms,
                     struct ar_span comm);
void ar_proctab_exec(struct ar_proctab *t, uint32_t pid, uint32_t ppid, uint64_t time_ms,
                     struct ar_span exe, bool exe_truncated, struct ar_span comm);
void ar_proctab_exit(struct ar_proctab *t, uint32_t pid, uint64_t time_ms);
/* The feed lost n changes (its ring was full): counted in the stats. */
void ar_proctab_feed_lost(struct ar_proctab *t, uint64_t n);
