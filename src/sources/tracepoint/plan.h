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

#define AR_TP_MAX_RULES 32
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
 * (v & x) == x. uid/gid/pid fields compare unsigned, exit signed, a0-a3 unsigned 64. */
enum ar_tp_op { AR_TP_EQ, AR_TP_NE, AR_TP_LT, AR_TP_LE, AR_TP_GT, AR_TP_GE,
                AR_TP_BIT_MASK, AR_TP_BIT_TEST };

/* A comparison between two of the task's ids (-C uid!=euid). */
struct ar_tp_cond {
    uint8_t field;          /* enum ar_tp_field */
    uint8_t op;             /* enum ar_tp_op */
    bool field_vs_field;    /* compare with field2 instead of value */
    uint8_t field2;
    int64_t value;
};

/* Audit's permission classes of -p / -F perm (AUDIT_PERM_*), by syscall and, for
 * open/openat/openat2, by the open flags. */
struct ar_tp_rule {
    struct ar_rules_origin origin;
    bool never;             /* action never: matching suppresses the event */
    uint32_t arch;          /* AUDIT_ARCH_* the rule is for; 0: any */
    bool all_syscalls;      /* -S all (or a watch with no -S): every hooked syscall */
    uint64_t syscalls[AR_TP_NR_SYSCALLS / 64]; /* bitmap over the arch's numbers */
    struct ar_tp_cond conds[AR_TP_MAX_CONDS];
    unsigned nconds;
    uint32_t perm;          /* AUDIT_PERM_* bits; 0: none required */
    /* -w PATH / -F path= (exact), -w DIR/ / -F dir= (the dir and below): matched
     * against the path arguments (absolute ones, and relative ones joined with the
     * cwd) as strings. len 0: no path condition. */
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
    /* Some rule needs every syscall or a 32-bit one: hook raw_syscalls too. */
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

/* True when the plan hooks `nr` of `arch` (per-syscall tracepoint or raw). */
bool ar_tp_plan_hooks(const struct ar_tp_plan *plan, uint32_t arch, int nr);

/* The index of the rule deciding the sample (its `rule` field is ignored), or -1
 * when none matches or the first match is a never rule. */
int ar_tp_plan_match(const struct ar_tp_plan *plan, const struct ar_tp_sample *s);
