/* One traced syscall (or process lifecycle step) as the tracepoint engines hand it
 * to the renderer: userspace's view, independent of how an engine got it (the BPF
 * ring's wire format is the BPF engine's own business). Pure data: no libbpf, no
 * perf, no libuv. Every string is a span into memory the engine owns, valid for the
 * duration of the emit callback only. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "util/span.h"

#define AR_TP_MAX_PATHS 2   /* openat/unlinkat: 1; renameat2, linkat, symlinkat: 2 */
#define AR_TP_MAX_ARGS 64   /* execve argv entries carried; more: argv_truncated */

enum ar_tp_kind {
    AR_TP_SYSCALL,          /* a syscall: entry and exit joined */
    AR_TP_EXEC,             /* sched_process_exec (not a syscall record of its own) */
};

/* Values an engine may have read late (after the syscall returned, from /proc or
 * the process's memory): the renderer marks each such value in its record. */
enum ar_tp_late {
    AR_TP_LATE_PATH0 = 1u << 0,
    AR_TP_LATE_PATH1 = 1u << 1,
    AR_TP_LATE_CWD = 1u << 2,
    AR_TP_LATE_EXE = 1u << 3,
    AR_TP_LATE_ARGV = 1u << 4,
    AR_TP_LATE_SOCKADDR = 1u << 5,
    AR_TP_LATE_IDS = 1u << 6,      /* uid family, auid, ses read at consumption */
};

/* Values an engine carried cut short (at its size cap, or where a path walk
 * stopped): the renderer marks each such value's record `truncated=yes`. */
enum ar_tp_cut {
    AR_TP_CUT_EXE = 1u << 0,
    AR_TP_CUT_CWD = 1u << 1,
    AR_TP_CUT_PATH0 = 1u << 2,
    AR_TP_CUT_PATH1 = 1u << 3,
};

struct ar_tp_sample {
    enum ar_tp_kind kind;
    uint64_t time_ns;       /* CLOCK_REALTIME nanoseconds at syscall entry */
    uint32_t arch;          /* AUDIT_ARCH_X86_64, AUDIT_ARCH_I386... */
    int32_t syscall;        /* the arch's syscall number */
    int64_t exit;           /* return value (negative errno on failure) */
    uint64_t args[4];       /* a0..a3 as audit prints them */
    uint32_t pid, ppid;     /* tgid and parent tgid */
    uint32_t uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
    uint32_t auid, ses;     /* loginuid and sessionid (4294967295: unset) */
    bool has_auid;          /* false: the kernel has no loginuid (no CONFIG_AUDIT) */
    struct ar_span comm;    /* up to 16 bytes, may hold any byte */
    struct ar_span exe;     /* full path of the executable; len 0: unknown */
    struct ar_span cwd;     /* the process's cwd; len 0: not collected */
    struct ar_span tty;     /* "pts0", "tty1"; len 0: none ("(none)") */
    struct ar_span paths[AR_TP_MAX_PATHS]; /* path arguments as the caller gave them, in
                                            argument order (plan.h ar_tp_syscall) */
    unsigned npaths;
    struct ar_span argv[AR_TP_MAX_ARGS];   /* execve argv (also the PROCTITLE source) */
    unsigned nargv;
    bool argv_truncated;    /* more args, or an arg cut at the engine's size cap */
    struct ar_span sockaddr;/* raw struct sockaddr bytes (connect, bind, accept) */
    uint32_t late;          /* enum ar_tp_late bits */
    uint32_t cut;           /* enum ar_tp_cut bits */
    int rule;               /* index of the matching rule in the plan (its key) */
};
