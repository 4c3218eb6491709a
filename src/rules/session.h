/* Applying compiled rules to the kernel, and taking them back.
 *
 * A session applies a set's operations in order (rules, -D/-d/-W deletions,
 * settings) and remembers what it did: the rules it installed (it owns those), the
 * rules of others it removed (only because a file said -D, -d or -W), and the
 * settings it changed with their previous values. If any operation fails, everything
 * done so far is undone before ar_rules_session_start returns: a set loads
 * completely or not at all (except after -i/-c in a file, which ask otherwise).
 *
 * ar_rules_session_stop removes exactly the rules the session installed, puts back
 * the rules of others it removed (in their original order), and restores the
 * settings; rules loaded by others are never touched. ar_rules_session_free alone
 * leaves everything in place (what `auditrelay rules load` wants).
 *
 * Two settings never reach the kernel unless the caller says so: "-e 2" (and
 * --loginuid-immutable), which lock the configuration until reboot, and "-f 2",
 * which makes the kernel panic on the first lost record. Tests must never pass
 * AR_RULES_ALLOW_LOCK or AR_RULES_ALLOW_PANIC. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "rules/kernel.h"
#include "rules/rules.h"

enum {
    /* Let "-e 2" and --loginuid-immutable reach the kernel (locked until reboot). */
    AR_RULES_ALLOW_LOCK = 1u << 0,
    /* Let "-f 2" reach the kernel (panic on the first lost record). */
    AR_RULES_ALLOW_PANIC = 1u << 1,
    /* Share the rule list with others (the collector): a rule that is already
     * loaded is left alone and not owned, and a -d/-W of a rule that is not loaded
     * is not an error. Without it, both fail the load as they fail auditctl. */
    AR_RULES_SHARED = 1u << 2,
};

enum {
    /* Leave the installed rules (and the rules of others that were removed) as they
     * are. */
    AR_RULES_STOP_KEEP_RULES = 1u << 0,
    /* Leave the changed settings (-b, -e, -f, -r, --backlog_wait_time) as they are. */
    AR_RULES_STOP_KEEP_SETTINGS = 1u << 1,
};

/* Why a start failed: the operation and the reason, one sentence with file:line. */
struct ar_rules_failure {
    int error; /* -errno */
    char message[768];
};

struct ar_rules_session_stats {
    size_t added;            /* rules installed, owned by the session */
    size_t taken_over;       /* a replacement's: rules of the replaced session kept */
    size_t already_loaded;   /* AR_RULES_SHARED: present before, left alone, not owned */
    size_t deleted;          /* rules of others removed (-D, -d, -W) */
    size_t settings;         /* settings changed */
    size_t other;            /* -t, -q, -m, --reset-lost... */
    size_t ignored_errors;   /* kernel errors after -i in the file */
    size_t continued_errors; /* kernel errors after -c: the load counts as failed */
};

struct ar_rules_stop_stats {
    size_t removed;      /* owned rules removed */
    size_t already_gone; /* owned rules someone else had removed meanwhile */
    size_t restored;     /* rules of others put back */
    size_t settings;     /* settings put back */
    size_t failed;       /* anything that could not be undone (see messages) */
};

struct ar_rules_session;

/* Applies the set's operations (the set must have no errors: -EINVAL otherwise).
 * Opens its own netlink socket. On success *ret is the session (0 returned); on
 * failure nothing the session did remains, *ret_failure says why (may be NULL) and
 * the -errno is returned: -EPERM also when the configuration is locked (enabled 2)
 * or when an operation needs AR_RULES_ALLOW_LOCK/PANIC. The set may be freed after
 * this returns. Settings the set changes (-b, -e, -f, -r, --backlog_wait_time) are
 * recorded in *settings (rules/kernel.h: the collector's one record, which its state
 * file persists), or in the session's own record when it is NULL; the session puts
 * back the ones it changed when it stops, from that record. A replacing session
 * shares the record of the one it replaces. */
int ar_rules_session_start(const struct ar_rules *rules, unsigned flags,
                           struct ar_settings_record *settings, struct ar_rules_session **ret,
                           struct ar_rules_failure *ret_failure);

const struct ar_rules_session_stats *ar_rules_session_stats(const struct ar_rules_session *s);

/* Removes what the session installed and restores what it changed (see the flags).
 * Idempotent. Returns 0 when everything was undone, else the first -errno (the
 * details are in the messages); *ret may be NULL. */
int ar_rules_session_stop(struct ar_rules_session *s, unsigned flags,
                          struct ar_rules_stop_stats *ret);

/* Notes for the caller to log: rules that were already loaded, errors that -i/-c
 * let pass, what could not be undone. Each is one line with file:line where there
 * is one. Valid until the session is freed. */
const char *const *ar_rules_session_messages(const struct ar_rules_session *s, size_t *ret_count);

/* Replaces a running session's rules with another set, with no moment in which a
 * rule both sets have is not loaded (a reload): the new session applies the set as
 * start does, but a rule `old` installed that the set has too is taken over, not
 * added again, and deletions (-D, -d, -W) leave `old`'s rules alone. Then `old` is
 * stopped (its remaining rules removed, the settings only it changed put back;
 * *ret_old says what it did) and freed. The new session, when it stops, restores
 * what `old` would have: settings to their values from before `old`, and the rules
 * of others `old` removed. On failure (returned -errno, *ret_failure) nothing
 * changed and `old` runs on as before. */
int ar_rules_session_replace(struct ar_rules_session *old, const struct ar_rules *rules,
                             unsigned flags, struct ar_rules_session **ret,
                             struct ar_rules_failure *ret_failure,
                             struct ar_rules_stop_stats *ret_old);

/* Frees the session without touching the kernel; NULL is fine. */
void ar_rules_session_free(struct ar_rules_session *s);

/* The rules a running session owns, in the kernel's form, e.g. to save them in a
 * state file so that a later run can remove them after a crash. */
size_t ar_rules_session_owned(const struct ar_rules_session *s,
                              const struct audit_rule_data *const **ret_rules,
                              const size_t **ret_sizes);
