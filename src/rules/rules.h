/* The audit rules compiler: auditctl syntax (`-a always,exit -F arch=b64 -S open
 * -k key`, `-w /etc/passwd -p wa`, `-b 8192`...) to the kernel's binary form,
 * struct audit_rule_data (linux/audit.h), and back to auditctl's listing syntax.
 *
 * Pure: no sockets, no libuv, no files. What depends on the host (the machine's
 * arch for `b64`/`b32` and for -S without -F arch, user and group names, whether a
 * watched path is a directory) comes in through struct ar_rules_env, so the same
 * input compiles the same way in a unit test, a fuzzer and on the live machine.
 * Reading files and directories is in rules/files.h; talking to the kernel in
 * rules/kernel.h and rules/session.h.
 *
 * A rule file is compiled completely before anything touches the kernel: every
 * error is reported with file:line, and a set with any error yields no operations.
 * See docs/RULES.md for the syntax and where it differs from auditctl. */
#pragma once
#include <linux/audit.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* AUDIT_FILTER_URING_EXIT and AUDIT_FILTER_FS arrived in later headers than some
 * distributions ship; the numbers are the kernel ABI. */
#ifndef AUDIT_FILTER_FS
#define AUDIT_FILTER_FS 0x06
#endif
#ifndef AUDIT_FILTER_URING_EXIT
#define AUDIT_FILTER_URING_EXIT 0x07
#endif

/* What a compiled line asks of the kernel, in file order. */
enum ar_rules_op_type {
    AR_RULES_OP_ADD,                /* -a, -A, -w: AUDIT_ADD_RULE with `rule` */
    AR_RULES_OP_DELETE,             /* -d, -W: AUDIT_DEL_RULE with `rule` */
    AR_RULES_OP_DELETE_ALL,         /* -D [-k key]: every rule (whose key contains `text`) */
    AR_RULES_OP_SET,                /* -e -f -b -r --backlog_wait_time --reset-lost
                                       --reset_backlog_wait_time_actual: AUDIT_SET of one field */
    AR_RULES_OP_LOGINUID_IMMUTABLE, /* --loginuid-immutable: AUDIT_SET_FEATURE, locked */
    AR_RULES_OP_TRIM,               /* -t: AUDIT_TRIM */
    AR_RULES_OP_MAKE_EQUIV,         /* -q mount,subtree: AUDIT_MAKE_EQUIV (`text`, `text2`) */
    AR_RULES_OP_USER_MSG,           /* -m text: an AUDIT_USER message "text=..." (`text`) */
};

/* Where an operation came from. `file` points into the set's own copy of the name. */
struct ar_rules_origin {
    const char *file;
    unsigned line;
};

/* One operation. Everything it points to is owned by the ar_rules set and lives as
 * long as the set. */
struct ar_rules_op {
    enum ar_rules_op_type type;
    struct ar_rules_origin origin;
    /* ADD, DELETE: the kernel's form, sizeof(struct audit_rule_data) + rule->buflen
     * bytes. It is what the kernel lists back for the rule (see ar_rules_same). */
    struct audit_rule_data *rule;
    size_t rule_size;
    /* SET: one AUDIT_STATUS_* bit and the value for it. */
    uint32_t status_mask;
    uint32_t value;
    /* DELETE_ALL: the -k filter or NULL; MAKE_EQUIV: mount point and subtree;
     * USER_MSG: the message. */
    const char *text;
    const char *text2;
    /* The line said -i or -c before (auditctl: ignore kernel errors from here on in
     * this file; with -c the load still fails at the end). */
    bool ignore_errors;
    bool continue_errors;
};

enum ar_rules_severity { AR_RULES_WARNING, AR_RULES_ERROR };

/* A message about the input: file:line and what is wrong, in one sentence. */
struct ar_rules_diag {
    enum ar_rules_severity severity;
    struct ar_rules_origin origin;
    const char *message;
};

/* The host facts the compiler needs. Any callback may be NULL: then names do not
 * resolve (an error) and every watched path is treated as a file. */
struct ar_rules_env {
    /* AUDIT_ARCH_* of the machine the rules are for: what `b64` and `b32` mean and
     * which syscall table -S uses before any -F arch (auditctl uses uname's). 0: the
     * build machine's own arch. */
    uint32_t machine;
    /* Name to id; return 0 and set *ret, or a negative errno when unknown. */
    int (*user_id)(const char *name, uint32_t *ret, void *userdata);
    int (*group_id)(const char *name, uint32_t *ret, void *userdata);
    /* True when `path` is a directory now: auditctl sends `-w DIR` as a recursive
     * directory watch (AUDIT_DIR) and any other path as AUDIT_WATCH. */
    bool (*is_dir)(const char *path, void *userdata);
    void *userdata;
};

struct ar_rules;

/* An empty set for rules compiled against `env` (copied; NULL: no callbacks, the
 * build machine's arch). Returns 0 or -ENOMEM; *ret untouched on failure. */
int ar_rules_new(const struct ar_rules_env *env, struct ar_rules **ret);
/* Frees the set and everything it owns; NULL is fine. */
void ar_rules_free(struct ar_rules *r);

/* Compiles rule-file text (auditctl -R syntax: one command per line, words
 * separated by single spaces, `\ ` an escaped space, `#` comments, blank lines)
 * and appends its operations. `name` labels diagnostics (copied). The text need
 * not be NUL-terminated and may contain any bytes. Returns the number of errors in
 * this text (0: all compiled) or -ENOMEM. */
int ar_rules_add_text(struct ar_rules *r, const char *name, const char *text, size_t len);

/* Compiles one command given as words, as a shell would pass them to auditctl
 * (no "auditctl" in argv[0]): e.g. {"-w", "/tmp/a b", "-p", "wa"}. Same return as
 * ar_rules_add_text. */
int ar_rules_add_argv(struct ar_rules *r, const char *name, unsigned line, int argc,
                      const char *const *argv);

/* Rearranges the operations from index `first` on as augenrules arranges the files
 * of a rules directory: the first -D goes to the front (later ones are dropped),
 * then the last -b and the last -f, then the rest in order, and the last -e at the
 * very end (so that "-e 2" locks only after every rule is in). Returns 0. */
int ar_rules_reorder_like_augenrules(struct ar_rules *r, size_t first);

/* Adds a diagnostic of the caller's (e.g. a file that cannot be read), so that
 * all problems are reported in one list. `message` is copied. Returns 0 or -ENOMEM. */
int ar_rules_add_diag(struct ar_rules *r, enum ar_rules_severity severity, const char *file,
                      unsigned line, const char *message);

/* Errors so far (every compile call and ar_rules_add_diag with AR_RULES_ERROR). */
size_t ar_rules_error_count(const struct ar_rules *r);

/* All diagnostics in input order; valid until the next call that changes the set. */
const struct ar_rules_diag *ar_rules_diags(const struct ar_rules *r, size_t *ret_count);

/* The operations, in order. Only meaningful when ar_rules_error_count() is 0. Valid
 * until the next call that changes the set. */
const struct ar_rules_op *ar_rules_ops(const struct ar_rules *r, size_t *ret_count);

/* The arch the set was compiled for (env->machine or the build machine's). */
uint32_t ar_rules_machine(const struct ar_rules *r);

/* True when two rules in the kernel's form are the same rule for the kernel (what
 * AUDIT_ADD_RULE refuses as a duplicate and AUDIT_DEL_RULE matches): list, action,
 * fields, values, strings and syscalls; the prepend flag of -A does not count. */
bool ar_rules_same(const struct audit_rule_data *a, size_t a_size, const struct audit_rule_data *b,
                   size_t b_size);

/* Checks that `size` bytes hold a well-formed struct audit_rule_data (as the kernel
 * lists them): field_count <= AUDIT_MAX_FIELDS, buflen within size, string lengths
 * within buflen. Returns 0 or -EBADMSG. */
int ar_rules_check_data(const struct audit_rule_data *rule, size_t size);

/* Formats a rule the way `auditctl -l` prints it (no newline). `machine` is the
 * host's AUDIT_ARCH_* (syscall names for rules without -F arch; 0: the build
 * machine's). Sets *ret to a malloc'ed NUL-terminated line; returns its length,
 * -EBADMSG for malformed data (ar_rules_check_data), or -ENOMEM. */
int ar_rules_format(const struct audit_rule_data *rule, size_t size, uint32_t machine, char **ret);

/* True when the rule's key (-k, -F key=, any of several) contains `key`, as
 * `auditctl -l -k` and `-D -k` match. */
bool ar_rules_key_matches(const struct audit_rule_data *rule, size_t size, const char *key);

/* True for the fields whose value is the length of a string in the rule's buf
 * (the kernel's list in audit_krule_to_data): LSM labels, watch, dir, key, exe. */
bool ar_rules_field_is_string(uint32_t field);

/* The build machine's AUDIT_ARCH_* (what b64 means when nothing else is said). */
uint32_t ar_rules_build_machine(void);
