/* The kernel audit control client, the one module that speaks the audit netlink
 * control protocol, for the rules and the collector alike (the collector's reading
 * socket only claims and releases the daemon slot): over NETLINK_AUDIT (libmnl),
 * AUDIT_LIST_RULES, AUDIT_ADD_RULE, AUDIT_DEL_RULE, AUDIT_GET/AUDIT_SET, features,
 * trim, make-equivalent, user messages. Every call is a synchronous round trip on a
 * socket of its own (not the collector's reading socket), waits at most a few
 * seconds, and accepts replies only from the kernel (nl_pid 0) with the request's
 * sequence number. Needs CAP_AUDIT_CONTROL (root). */
#pragma once
#include <linux/audit.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ar_rules_nl;

/* Opens the socket. Returns 0, -EPROTONOSUPPORT (no audit in this kernel), -EPERM,
 * or another -errno; *ret untouched on failure. */
int ar_rules_nl_open(struct ar_rules_nl **ret);
void ar_rules_nl_close(struct ar_rules_nl *nl);

/* One rule as the kernel lists it. */
struct ar_kernel_rule {
    struct audit_rule_data *rule; /* malloc'ed, size bytes */
    size_t size;
};

/* The kernel's rules in its listing order (by filter list, then insertion). */
struct ar_kernel_rules {
    struct ar_kernel_rule *v;
    size_t n;
};

/* AUDIT_LIST_RULES. Replies that are not well-formed rules (ar_rules_check_data)
 * are counted in *ret_bad (may be NULL) and skipped. Returns 0 or -errno; on
 * failure *ret is empty. */
int ar_rules_nl_list(struct ar_rules_nl *nl, struct ar_kernel_rules *ret, size_t *ret_bad);
void ar_kernel_rules_free(struct ar_kernel_rules *rules);

/* AUDIT_ADD_RULE / AUDIT_DEL_RULE with `size` bytes of rule. Return 0 or the
 * kernel's -errno (-EEXIST: the same rule is loaded; -ENOENT on delete: no such
 * rule; -EPERM: not root or the configuration is locked, enabled 2). */
int ar_rules_nl_add(struct ar_rules_nl *nl, const struct audit_rule_data *rule, size_t size);
int ar_rules_nl_delete(struct ar_rules_nl *nl, const struct audit_rule_data *rule, size_t size);

/* AUDIT_GET. Returns 0 or -errno. */
int ar_rules_nl_get_status(struct ar_rules_nl *nl, struct audit_status *ret);
/* AUDIT_SET of the fields in s->mask. Returns 0 or the kernel's -errno. */
int ar_rules_nl_set_status(struct ar_rules_nl *nl, const struct audit_status *s);

/* Settings that can be put back (the counters --reset-* clears cannot). */
#define AR_SETTINGS_RESTORABLE                                                              \
    (AUDIT_STATUS_ENABLED | AUDIT_STATUS_FAILURE | AUDIT_STATUS_RATE_LIMIT |                \
     AUDIT_STATUS_BACKLOG_LIMIT | AUDIT_STATUS_BACKLOG_WAIT_TIME)

/* The kernel's audit settings as a run found them and which it has changed since:
 * one record for everything that changes them in a run (the collector's own
 * settings and the -b, -e, -f, -r, --backlog_wait_time lines of its rule files,
 * through their session), which the collector's state file persists, so that the
 * start after a SIGKILL puts back what was there, and which each changer restores
 * its fields from. */
struct ar_settings_record {
    struct audit_status found; /* per changed field, its value before the first change */
    uint32_t changed;          /* AUDIT_STATUS_* fields changed and not put back */
};

/* AUDIT_SET of want's fields; a field changed for the first time keeps its value in
 * `now` (the kernel's status read before) as the one to put back. 0 or -errno. */
int ar_settings_change(struct ar_rules_nl *nl, struct ar_settings_record *rec,
                       const struct audit_status *now, const struct audit_status *want);

/* Puts back the fields of `mask` still marked changed; they are unmarked when the
 * kernel took them. 0 or -errno. */
int ar_settings_restore(struct ar_rules_nl *nl, struct ar_settings_record *rec, uint32_t mask);

/* A field's value from *st (AUDIT_STATUS_ENABLED... one bit); set_field writes it. */
uint32_t ar_settings_field(const struct audit_status *st, uint32_t field);
void ar_settings_set_field(struct audit_status *st, uint32_t field, uint32_t value);

/* AUDIT_GET_FEATURE / AUDIT_SET_FEATURE. */
int ar_rules_nl_get_features(struct ar_rules_nl *nl, struct audit_features *ret);
int ar_rules_nl_set_features(struct ar_rules_nl *nl, const struct audit_features *f);

/* AUDIT_TRIM (drop directory watches on unmounted trees). */
int ar_rules_nl_trim(struct ar_rules_nl *nl);
/* AUDIT_MAKE_EQUIV: make `subtree` part of `mount`'s directory watches. */
int ar_rules_nl_make_equiv(struct ar_rules_nl *nl, const char *mount, const char *subtree);
/* An AUDIT_USER message with this text (needs CAP_AUDIT_WRITE). */
int ar_rules_nl_user_message(struct ar_rules_nl *nl, const char *text);
