/* The tracepoint source's plan: compiled audit rules (rules/rules.h, the kernel's
 * struct audit_rule_data) translated into what the tracepoint engines can trace and
 * filter: which syscalls to hook, and per rule the conditions an event must meet.
 * Pure: no libbpf, no I/O. A rule this source cannot express faithfully is refused
 * with its file:line, the rule and why; never ignored and never widened.
 *
 * Semantics are audit's exit filter: rules in order, the first rule whose syscall
 * set and conditions all match decides (action always: an event with the rule's
 * key; action never: no event). ar_tp_plan_match is the reference implementation
 * (the perf engine uses it; the BPF program implements the same in the kernel and
 * is tested against it). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "rules/rules.h"
#include "sources/tracepoint/sample.h"

#define AR_TP_MAX_RULES 64  /* the shipped rule set alone has 43 */
#define AR_TP_MAX_CONDS 8
#define AR_TP_MAX_PREFIX 256   /* bytes of a watched path or -F dir= prefix */
#define AR_TP_NR_SYSCALLS 512  /* x86_64 syscall numbers below this */
#define AR_TP_KEY_MAX 256

/* Fields a condition can test: what every engine has for every event. */
enum ar_tp_field {
    AR_TP_F_PID, AR_TP_F_PPID,
    AR_TP_F_UID, AR_TP_F_EUID, AR_TP_F_SUID, AR_TP_F_FSUID,
    AR_TP_F_GID, AR_TP_F_EGID, AR_TP_F_SGID, AR_TP_F_FSGID,
    AR_TP_F_AUID, AR_TP_F_SES,
    AR_TP_F_EXIT, AR_TP_F_SUCCESS,
    AR_TP_F_A0, AR_TP_F_A1, AR_TP_F_A2, AR_TP_F_A3,
    AR_TP_F_COUNT
};

/* Operators, as audit's (AUDIT_EQUAL...); BIT_MASK: (v & x) != 0; BIT_TEST:
 * (v & x) == x. Every comparison is the kernel's audit_comparator: unsigned 32-bit
 * on both sides. exit and a0-a3 are cut to their low 32 bits first, as the kernel
 * does (so `-F exit<0` matches nothing there either, and `-F a0=-1` matches
 * 0xffffffff and 0xffffffffffffffff alike). AR_TP_F_SUCCESS is 1 when the syscall
 * succeeded and 2 when it failed (AUDITSC_SUCCESS/FAILURE; failed: exit in
 * -4095..-1, see ar_tp_exit_success), and a rule's success= value is stored mapped
 * the same way (success=0 -> 2, else 1). AR_TP_F_AUID and _SES are 4294967295 when
 * the sample has no auid. `-F auid!=unset` is AUID != 4294967295. */
enum ar_tp_op { AR_TP_EQ, AR_TP_NE, AR_TP_LT, AR_TP_LE, AR_TP_GT, AR_TP_GE,
                AR_TP_BIT_MASK, AR_TP_BIT_TEST };

/* One condition: field op value, or with field_vs_field a comparison between two
 * of the task's ids (-C uid!=euid: field=UID op=NE field2=EUID). value holds the
 * rule's 32-bit value (0..4294967295). */
struct ar_tp_cond {
    uint8_t field;          /* enum ar_tp_field */
    uint8_t op;             /* enum ar_tp_op */
    bool field_vs_field;    /* compare with field2 instead of value */
    uint8_t field2;
    int64_t value;
};

/* One rule. A sample matches when its arch is `arch` (or arch is 0), its syscall
 * is in `syscalls` (or all_syscalls), every condition holds, its permission class
 * (ar_tp_sample_perm) shares a bit with `perm` (when perm is not 0), and one of
 * its path arguments matches `path` (when path_len is not 0).
 *
 * Watches and perm rules (-w, -F path/dir/perm): `syscalls` is the set of x86_64
 * syscalls of the permission classes (ar_tp_syscall_table), only those with a path
 * argument when there is a path, intersected with -S when the rule has one;
 * all_syscalls is false and arch is x86_64. The kernel matches a watch by inode;
 * here the path arguments are matched as strings (see `path`), so these are not
 * seen: fd-based syscalls on an already open file (fchmod, ftruncate, write), other
 * names of the same inode (hard links, symlinks, bind mounts, "..", "./"), paths
 * relative to a directory fd other than AT_FDCWD, and 32-bit syscalls.
 *
 * Rules with -S but no -F arch are for the machine's arch (x86_64) only; the
 * kernel would also apply the numbers to 32-bit syscalls, which auditctl warns
 * about. -S all without -F arch keeps arch 0 (every arch), as in the kernel. */
struct ar_tp_rule {
    struct ar_rules_origin origin; /* .file points into the ar_rules set: valid while it lives */
    bool never;             /* action never: matching suppresses the event */
    uint32_t arch;          /* AUDIT_ARCH_* the rule is for; 0: any */
    bool all_syscalls;      /* -S all (not a watch): every syscall of the arch */
    uint64_t syscalls[AR_TP_NR_SYSCALLS / 64]; /* bitmap over the arch's numbers */
    struct ar_tp_cond conds[AR_TP_MAX_CONDS];
    unsigned nconds;
    uint32_t perm;          /* AUDIT_PERM_* bits (-p, -F perm); 0: none required */
    /* -w PATH / -F path= (exact), -w DIR / -F dir= (the dir and below): matched
     * against the sample's path arguments (ar_tp_syscall's, not a symlink's target)
     * as strings, nothing normalised: an absolute one as it is; a relative one
     * joined as cwd + "/" + path when the sample has the cwd and the path is not
     * relative to a directory fd other than AT_FDCWD (else it does not match).
     * File: equal. Dir: equal, or starts with path + "/" ("/" holds everything).
     * NUL-terminated, at most AR_TP_MAX_PREFIX - 1 bytes, no trailing "/" for a
     * dir. len 0: no path condition. */
    char path[AR_TP_MAX_PREFIX];
    size_t path_len;
    bool path_is_dir;
    char key[AR_TP_KEY_MAX]; /* -k (several joined with audit's \001); "" none */
};

struct ar_tp_plan {
    struct ar_tp_rule rules[AR_TP_MAX_RULES];
    unsigned nrules;
    /* The x86_64 syscalls to hook with per-syscall tracepoints: the union of the
     * rules' sets. */
    uint64_t syscalls[AR_TP_NR_SYSCALLS / 64];
    /* Some rule needs every syscall or a 32-bit one: hook raw_syscalls too (for
     * what the per-syscall tracepoints above do not deliver). */
    bool raw_syscalls;
    /* Some rule's syscalls take a path the rule tests or the event shows relative
     * to the cwd: the engines collect the cwd. */
    bool need_cwd;
};

/* Translates the ADD operations of a compiled set into *ret. Refusals go to `log`
 * one per line, "auditrelay: FILE:LINE: RULE: cannot be traced by the tracepoint
 * source: WHY", with the rule as `auditctl -l` prints it. Operations other than ADD
 * (-D, -b, -e...) are audit settings that mean nothing here and are skipped with a
 * note. Returns 0, or -EINVAL when any rule was refused (then nothing should run). */
int ar_tp_plan_build(const struct ar_rules *rules, FILE *log, struct ar_tp_plan *ret);

/* True when some rule of the plan covers `nr` of `arch` (so it is hooked, by its
 * per-syscall tracepoint or raw_syscalls). */
bool ar_tp_plan_hooks(const struct ar_tp_plan *plan, uint32_t arch, int nr);

/* The index of the rule deciding the sample (its `rule` field is ignored), or -1
 * when none matches or the first match is a never rule. */
int ar_tp_plan_match(const struct ar_tp_plan *plan, const struct ar_tp_sample *s);

/* Audit's view of an x86_64 syscall that is in one of its permission classes
 * (asm-generic/audit_{read,write,dir_write,change_attr}.h and
 * audit_classify_syscall): the classes, and which arguments are path names. The
 * engines put a syscall's path arguments into sample.paths in argument order, so
 * paths[i] is argument path_arg[i]. */
enum ar_tp_sc_kind {
    AR_TP_SC_CLASS,         /* perm is the syscall's class */
    AR_TP_SC_OPEN,          /* open: read/write by ACC_MODE(a1) */
    AR_TP_SC_OPENAT,        /* openat: by ACC_MODE(a2) */
    AR_TP_SC_OPENAT2,       /* openat2: flags behind a2, taken as read|write */
    AR_TP_SC_EXEC,          /* execve, execveat: exec */
};

struct ar_tp_syscall {
    const char *name;
    int nr;                 /* x86_64 */
    uint8_t perm;           /* AUDIT_PERM_* classes it can be in */
    uint8_t kind;           /* enum ar_tp_sc_kind */
    uint8_t npaths;         /* path arguments (0: fd-based, e.g. fchmod) */
    int8_t path_arg[AR_TP_MAX_PATHS];  /* aN of paths[i] */
    int8_t dirfd_arg[AR_TP_MAX_PATHS]; /* aN of the dir fd paths[i] is relative to; -1: cwd */
    bool target_text[AR_TP_MAX_PATHS]; /* symlink's target: stored text, never matched */
};

/* The x86_64 table (sorted by nr; static) and a lookup in it: NULL for other
 * arches and syscalls in no class. */
const struct ar_tp_syscall *ar_tp_syscall_table(size_t *ret_count);
const struct ar_tp_syscall *ar_tp_syscall_find(uint32_t arch, int nr);

/* The syscall's name (what its tracepoints are named after): the table above, then
 * the generated tables; NULL when neither knows it. Engines name tracepoints with it. */
const char *ar_tp_syscall_name(uint32_t arch, int nr);

/* The sample's permission class (AUDIT_PERM_* bits) as audit_match_perm sees it:
 * the syscall's class; for open/openat ACC_MODE of the flags (O_RDONLY: read,
 * O_WRONLY: write, O_RDWR: both; O_CREAT and O_TRUNC do not count, as in the
 * kernel); openat2 read|write (its flags are behind a pointer no engine reads:
 * wider than the kernel); execve/execveat exec; 0 outside every class. */
uint32_t ar_tp_sample_perm(const struct ar_tp_sample *s);

/* The kernel's success= and success=yes: exit is not in -4095..-1. */
bool ar_tp_exit_success(int64_t exit);
