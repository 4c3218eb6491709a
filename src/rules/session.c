#include "rules/session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/kernel.h"
#include "rules/ruletab.h"

/* Filter lists the kernel has (AUDIT_NR_FILTERS). */
#define NR_LISTS 8

struct ar_rules_session {
    struct ar_rules_nl *nl;
    /* The kernel's rules when the session started, and which of them it removed. */
    struct ar_kernel_rules before;
    bool *removed;
    /* Rules of others removed that were not there at the start (added meanwhile). */
    struct ar_kernel_rules extra;
    /* Rules the session installed, in order. */
    const struct audit_rule_data **owned;
    size_t *owned_size;
    size_t nowned, ownedcap;
    /* While replacing a session (a reload): the session being replaced, whose rules
     * this one takes over instead of adding them again; taken_over[i] marks the
     * owned rules that came from it, to give back if the new set fails. */
    struct ar_rules_session *replacing;
    bool *taken_over;
    struct audit_status status_before; /* the kernel's when the session started */
    /* Where the values to put back are kept: the caller's record (the collector's,
     * which its state file persists), else the session's own. */
    struct ar_settings_record own_settings;
    struct ar_settings_record *settings;
    uint32_t changed; /* AUDIT_STATUS_* the session set and puts back */
    struct ar_rules_session_stats stats;
    char **messages;
    size_t nmessages, messagescap;
    bool stopped;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
note(struct ar_rules_session *s, const char *fmt, ...)
{
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (s->nmessages == s->messagescap) {
        size_t cap = s->messagescap ? s->messagescap * 2 : 8;
        char **v = realloc(s->messages, cap * sizeof(*v));
        if (!v)
            return;
        s->messages = v;
        s->messagescap = cap;
    }
    char *copy = strdup(buf);
    if (copy)
        s->messages[s->nmessages++] = copy;
}

static const char *op_what(const struct ar_rules_op *op)
{
    switch (op->type) {
    case AR_RULES_OP_ADD:
        return "adding the rule";
    case AR_RULES_OP_DELETE:
        return "deleting the rule";
    case AR_RULES_OP_DELETE_ALL:
        return "deleting all rules";
    case AR_RULES_OP_SET:
        return "changing the setting";
    case AR_RULES_OP_LOGINUID_IMMUTABLE:
        return "making login uids immutable";
    case AR_RULES_OP_TRIM:
        return "trimming directory watches";
    case AR_RULES_OP_MAKE_EQUIV:
        return "making the subtree equivalent";
    case AR_RULES_OP_USER_MSG:
        return "sending the message";
    }
    return "?";
}

/* Why the kernel said no, in words that point at the likely cause. */
static const char *hint(const struct ar_rules_op *op, int err)
{
    switch (-err) {
    case EEXIST:
        return " (the same rule is already loaded)";
    case ENOENT:
        return op->type == AR_RULES_OP_ADD
                   ? " (a watched path's parent directory, or the -F dir tree, does not exist)"
                   : " (no such rule is loaded)";
    case EPERM:
        return " (needs root, CAP_AUDIT_CONTROL; or the configuration is locked)";
    case EINVAL:
        return " (the kernel finds the rule invalid)";
    default:
        return "";
    }
}

static void fail(struct ar_rules_failure *f, const struct ar_rules_op *op, int err, const char *fmt,
                 ...)
{
    if (!f)
        return;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    f->error = err;
    if (op)
        snprintf(f->message, sizeof(f->message), "%s:%u: %s", op->origin.file, op->origin.line,
                 what);
    else
        snprintf(f->message, sizeof(f->message), "%s", what);
}

static int own(struct ar_rules_session *s, const struct audit_rule_data *rule, size_t size)
{
    if (s->nowned == s->ownedcap) {
        size_t cap = s->ownedcap ? s->ownedcap * 2 : 32;
        const struct audit_rule_data **v = realloc(s->owned, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->owned = v;
        size_t *z = realloc(s->owned_size, cap * sizeof(*z));
        if (!z)
            return -ENOMEM;
        s->owned_size = z;
        bool *t = realloc(s->taken_over, cap * sizeof(*t));
        if (!t)
            return -ENOMEM;
        s->taken_over = t;
        s->ownedcap = cap;
    }
    struct audit_rule_data *copy = malloc(size);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, rule, size);
    /* The kernel lists a prepended rule without the prepend flag; so do we. */
    copy->flags &= ~(uint32_t)AUDIT_FILTER_PREPEND;
    s->owned[s->nowned] = copy;
    s->taken_over[s->nowned] = false;
    s->owned_size[s->nowned++] = size;
    return 0;
}

/* Drops owned rule i from the session's list (not from the kernel). */
static void forget_owned(struct ar_rules_session *s, size_t i)
{
    free((void *)s->owned[i]);
    memmove(&s->owned[i], &s->owned[i + 1], (s->nowned - i - 1) * sizeof(*s->owned));
    memmove(&s->owned_size[i], &s->owned_size[i + 1],
            (s->nowned - i - 1) * sizeof(*s->owned_size));
    memmove(&s->taken_over[i], &s->taken_over[i + 1],
            (s->nowned - i - 1) * sizeof(*s->taken_over));
    s->nowned--;
}

static bool owns(const struct ar_rules_session *s, const struct audit_rule_data *rule, size_t size)
{
    for (size_t i = 0; s && i < s->nowned; i++)
        if (ar_rules_same(s->owned[i], s->owned_size[i], rule, size))
            return true;
    return false;
}

/* Forgets an owned rule equal to `rule`; true if there was one. */
static bool disown(struct ar_rules_session *s, const struct audit_rule_data *rule, size_t size)
{
    if (!s)
        return false; /* no session being replaced */
    for (size_t i = s->nowned; i-- > 0;)
        if (ar_rules_same(s->owned[i], s->owned_size[i], rule, size)) {
            forget_owned(s, i);
            return true;
        }
    return false;
}

/* Records that a rule of someone else's was removed, so that stop can put it back. */
static int removed_foreign(struct ar_rules_session *s, const struct audit_rule_data *rule,
                           size_t size)
{
    s->stats.deleted++;
    for (size_t i = 0; i < s->before.n; i++)
        if (!s->removed[i] && ar_rules_same(s->before.v[i].rule, s->before.v[i].size, rule, size)) {
            s->removed[i] = true;
            return 0;
        }
    struct ar_kernel_rules *x = &s->extra;
    struct ar_kernel_rule *v = realloc(x->v, (x->n + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    x->v = v;
    struct audit_rule_data *copy = malloc(size);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, rule, size);
    x->v[x->n++] = (struct ar_kernel_rule){copy, size};
    return 0;
}

static int after_delete(struct ar_rules_session *s, const struct audit_rule_data *rule, size_t size)
{
    if (disown(s, rule, size))
        return 0;
    return removed_foreign(s, rule, size);
}

static int apply_delete_all(struct ar_rules_session *s, const char *key)
{
    struct ar_kernel_rules now;
    int r = ar_rules_nl_list(s->nl, &now, NULL);
    if (r < 0)
        return r;
    for (size_t i = 0; i < now.n && r == 0; i++) {
        const struct ar_kernel_rule *k = &now.v[i];
        if (key && !ar_rules_key_matches(k->rule, k->size, key))
            continue;
        /* A reload's deletions leave the replaced session's rules alone: the new
         * set takes them over or the old session removes them when it stops. */
        if (owns(s->replacing, k->rule, k->size))
            continue;
        r = ar_rules_nl_delete(s->nl, k->rule, k->size);
        if (r == -ENOENT) {
            r = 0; /* gone meanwhile */
            continue;
        }
        if (r == 0)
            r = after_delete(s, k->rule, k->size);
    }
    ar_kernel_rules_free(&now);
    return r;
}

static int apply_set(struct ar_rules_session *s, const struct ar_rules_op *op)
{
    struct audit_status st = {.mask = op->status_mask};
    switch (op->status_mask) {
    case AUDIT_STATUS_ENABLED:
        st.enabled = op->value;
        break;
    case AUDIT_STATUS_FAILURE:
        st.failure = op->value;
        break;
    case AUDIT_STATUS_RATE_LIMIT:
        st.rate_limit = op->value;
        break;
    case AUDIT_STATUS_BACKLOG_LIMIT:
        st.backlog_limit = op->value;
        break;
    case AUDIT_STATUS_BACKLOG_WAIT_TIME:
        st.backlog_wait_time = op->value;
        break;
    default:
        break; /* the --reset-* counters take no value */
    }
    int r = ar_settings_change(s->nl, s->settings, &s->status_before, &st);
    if (r == 0) {
        s->changed |= op->status_mask & AR_SETTINGS_RESTORABLE;
        s->stats.settings++;
    }
    return r;
}

static int apply_op(struct ar_rules_session *s, const struct ar_rules_op *op, unsigned flags)
{
    int r;
    switch (op->type) {
    case AR_RULES_OP_ADD:
        r = ar_rules_nl_add(s->nl, op->rule, op->rule_size);
        if (r == -EEXIST && disown(s->replacing, op->rule, op->rule_size)) {
            /* A reload: the rule stays loaded and changes hands. */
            r = own(s, op->rule, op->rule_size);
            if (r == 0) {
                s->taken_over[s->nowned - 1] = true;
                s->stats.taken_over++;
            }
            return r;
        }
        if (r == -EEXIST && (flags & AR_RULES_SHARED)) {
            s->stats.already_loaded++;
            note(s, "%s:%u: the rule is already loaded: left in place and not removed on exit",
                 op->origin.file, op->origin.line);
            return 0;
        }
        if (r == 0) {
            r = own(s, op->rule, op->rule_size);
            if (r == 0)
                s->stats.added++;
        }
        return r;
    case AR_RULES_OP_DELETE:
        if (owns(s->replacing, op->rule, op->rule_size))
            return 0; /* as for -D above */
        r = ar_rules_nl_delete(s->nl, op->rule, op->rule_size);
        if (r == -ENOENT && (flags & AR_RULES_SHARED)) {
            note(s, "%s:%u: no such rule is loaded: nothing to delete", op->origin.file,
                 op->origin.line);
            return 0;
        }
        return r == 0 ? after_delete(s, op->rule, op->rule_size) : r;
    case AR_RULES_OP_DELETE_ALL:
        return apply_delete_all(s, op->text);
    case AR_RULES_OP_SET:
        return apply_set(s, op);
    case AR_RULES_OP_LOGINUID_IMMUTABLE: {
        struct audit_features f = {
            .vers = AUDIT_FEATURE_VERSION,
            .mask = AUDIT_FEATURE_TO_MASK(AUDIT_FEATURE_LOGINUID_IMMUTABLE),
            .features = AUDIT_FEATURE_TO_MASK(AUDIT_FEATURE_LOGINUID_IMMUTABLE),
            .lock = AUDIT_FEATURE_TO_MASK(AUDIT_FEATURE_LOGINUID_IMMUTABLE),
        };
        r = ar_rules_nl_set_features(s->nl, &f);
        break;
    }
    case AR_RULES_OP_TRIM:
        r = ar_rules_nl_trim(s->nl);
        break;
    case AR_RULES_OP_MAKE_EQUIV:
        r = ar_rules_nl_make_equiv(s->nl, op->text, op->text2);
        break;
    case AR_RULES_OP_USER_MSG: {
        char msg[8192];
        snprintf(msg, sizeof(msg), "text=%s", op->text);
        r = ar_rules_nl_user_message(s->nl, msg);
        break;
    }
    default:
        r = -EINVAL;
    }
    if (r == 0)
        s->stats.other++;
    return r;
}

/* The operations that must not reach the kernel without the caller's consent. */
static int check_dangerous(const struct ar_rules_op *ops, size_t n, unsigned flags,
                           struct ar_rules_failure *f)
{
    for (size_t i = 0; i < n; i++) {
        const struct ar_rules_op *op = &ops[i];
        if (op->type == AR_RULES_OP_SET && op->status_mask == AUDIT_STATUS_ENABLED &&
            op->value == 2 && !(flags & AR_RULES_ALLOW_LOCK)) {
            fail(f, op, -EPERM,
                 "-e 2 locks the audit configuration until reboot (no rule or "
                 "setting can change after it); refused without --allow-lock");
            return -EPERM;
        }
        if (op->type == AR_RULES_OP_LOGINUID_IMMUTABLE && !(flags & AR_RULES_ALLOW_LOCK)) {
            fail(f, op, -EPERM,
                 "--loginuid-immutable holds until reboot; refused without "
                 "--allow-lock");
            return -EPERM;
        }
        if (op->type == AR_RULES_OP_SET && op->status_mask == AUDIT_STATUS_FAILURE &&
            op->value == 2 && !(flags & AR_RULES_ALLOW_PANIC)) {
            fail(f, op, -EPERM,
                 "-f 2 makes the kernel panic on the first lost audit record; "
                 "refused without --allow-panic");
            return -EPERM;
        }
    }
    return 0;
}

/* Gives the rules taken over from the replaced session back to it (a failed
 * reload), so that undoing this session leaves them loaded. */
static void give_back(struct ar_rules_session *s)
{
    for (size_t i = s->nowned; i-- > 0;) {
        if (!s->taken_over[i])
            continue;
        if (own(s->replacing, s->owned[i], s->owned_size[i]) < 0)
            continue; /* out of memory: it is removed with ours, as on a stop */
        forget_owned(s, i);
    }
}

static int start_session(const struct ar_rules *rules, unsigned flags,
                         struct ar_settings_record *settings,
                         struct ar_rules_session *replacing, struct ar_rules_session **ret,
                         struct ar_rules_failure *ret_failure)
{
    if (ar_rules_error_count(rules)) {
        fail(ret_failure, NULL, -EINVAL, "the rules have errors; nothing was loaded");
        return -EINVAL;
    }
    size_t nops;
    const struct ar_rules_op *ops = ar_rules_ops(rules, &nops);
    int r = check_dangerous(ops, nops, flags, ret_failure);
    if (r < 0)
        return r;
    struct ar_rules_session *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->replacing = replacing;
    if (replacing && replacing->settings == &replacing->own_settings) {
        s->own_settings = replacing->own_settings;
        s->settings = &s->own_settings;
    } else {
        s->settings = replacing ? replacing->settings : settings ? settings : &s->own_settings;
    }
    r = ar_rules_nl_open(&s->nl);
    if (r < 0) {
        fail(ret_failure, NULL, r, "cannot open the kernel's audit socket: %s%s", strerror(-r),
             r == -EPROTONOSUPPORT ? " (this kernel has no audit support)"
             : r == -EPERM         ? " (run as root)"
                                   : "");
        free(s);
        return r;
    }
    r = ar_rules_nl_get_status(s->nl, &s->status_before);
    if (r < 0) {
        fail(ret_failure, NULL, r, "cannot read the kernel's audit status: %s%s", strerror(-r),
             r == -EPERM ? " (run as root: CAP_AUDIT_CONTROL)" : "");
        ar_rules_session_free(s);
        return r;
    }
    if (s->status_before.enabled == 2) {
        fail(ret_failure, NULL, -EPERM,
             "the audit configuration is locked (enabled 2) until "
             "reboot: no rule or setting can change");
        ar_rules_session_free(s);
        return -EPERM;
    }
    r = ar_rules_nl_list(s->nl, &s->before, NULL);
    if (r == 0 && !(s->removed = calloc(s->before.n + 1, sizeof(*s->removed))))
        r = -ENOMEM;
    if (r < 0) {
        fail(ret_failure, NULL, r, "cannot list the kernel's audit rules: %s", strerror(-r));
        ar_rules_session_free(s);
        return r;
    }
    for (size_t i = 0; i < nops; i++) {
        const struct ar_rules_op *op = &ops[i];
        r = apply_op(s, op, flags);
        if (r == 0)
            continue;
        if (r != -ENOMEM && (op->ignore_errors || op->continue_errors)) {
            if (op->ignore_errors)
                s->stats.ignored_errors++;
            else
                s->stats.continued_errors++;
            note(s, "%s:%u: %s failed: %s%s (%s in the file: going on)", op->origin.file,
                 op->origin.line, op_what(op), strerror(-r), hint(op, r),
                 op->ignore_errors ? "-i" : "-c");
            continue;
        }
        fail(ret_failure, op, r, "%s failed: %s%s", op_what(op), strerror(-r), hint(op, r));
        /* Undo everything: the set loads completely or not at all. */
        if (replacing)
            give_back(s);
        ar_rules_session_stop(s, 0, NULL);
        ar_rules_session_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

int ar_rules_session_start(const struct ar_rules *rules, unsigned flags,
                           struct ar_settings_record *settings, struct ar_rules_session **ret,
                           struct ar_rules_failure *ret_failure)
{
    return start_session(rules, flags, settings, NULL, ret, ret_failure);
}

int ar_rules_session_replace(struct ar_rules_session *old, const struct ar_rules *rules,
                             unsigned flags, struct ar_rules_session **ret,
                             struct ar_rules_failure *ret_failure,
                             struct ar_rules_stop_stats *ret_old)
{
    struct ar_rules_session *s;
    int r = start_session(rules, flags, NULL, old, &s, ret_failure);
    if (r < 0)
        return r;
    s->replacing = NULL;
    /* Settings both sets change: the new session puts them back (the record keeps
     * their values from before the old one). The others the old session puts back
     * now. */
    uint32_t both = old->changed & s->changed;
    old->changed &= ~both;
    /* Rules of others the old session removed: the new one puts them back at its
     * end (they stay removed now, as both sets say). */
    for (size_t i = 0; i < old->before.n; i++) {
        if (!old->removed[i])
            continue;
        const struct ar_kernel_rule *k = &old->before.v[i];
        if (removed_foreign(s, k->rule, k->size) == 0) {
            old->removed[i] = false;
            s->stats.deleted--; /* counted when the old session removed it */
        }
    }
    for (size_t i = 0; i < old->extra.n; i++) {
        if (removed_foreign(s, old->extra.v[i].rule, old->extra.v[i].size) == 0)
            s->stats.deleted--;
    }
    ar_kernel_rules_free(&old->extra);
    /* What is left of the old session: rules the new set does not have. */
    ar_rules_session_stop(old, 0, ret_old);
    for (size_t i = 0; i < old->nmessages; i++)
        note(s, "%s", old->messages[i]);
    ar_rules_session_free(old);
    *ret = s;
    return 0;
}

const struct ar_rules_session_stats *ar_rules_session_stats(const struct ar_rules_session *s)
{
    return &s->stats;
}

/* Puts back the rules of others that the session removed. The kernel appends
 * re-added rules to their list, so to restore the original order in a list, the
 * rules after the first removed one are taken out and everything from there is
 * added again in the original order. */
static int restore_removed(struct ar_rules_session *s, struct ar_rules_stop_stats *st)
{
    int first_err = 0;
    for (uint32_t list = 0; list < NR_LISTS; list++) {
        size_t from = s->before.n;
        for (size_t i = 0; i < s->before.n; i++)
            if (AR_RULE_LIST(s->before.v[i].rule->flags) == list && s->removed[i]) {
                from = i;
                break;
            }
        if (from == s->before.n)
            continue;
        for (size_t i = from; i < s->before.n; i++) {
            const struct ar_kernel_rule *k = &s->before.v[i];
            if (AR_RULE_LIST(k->rule->flags) != list || s->removed[i])
                continue;
            int r = ar_rules_nl_delete(s->nl, k->rule, k->size);
            if (r < 0 && r != -ENOENT) {
                st->failed++;
                note(s, "cannot reorder the %s list to put rules back: %s",
                     ar_list_by_nr(list) ? ar_list_by_nr(list)->name : "?", strerror(-r));
                if (!first_err)
                    first_err = r;
            }
        }
        for (size_t i = from; i < s->before.n; i++) {
            const struct ar_kernel_rule *k = &s->before.v[i];
            if (AR_RULE_LIST(k->rule->flags) != list)
                continue;
            bool was_removed = s->removed[i];
            int r = ar_rules_nl_add(s->nl, k->rule, k->size);
            if (r == 0 || r == -EEXIST) {
                if (was_removed) {
                    st->restored++;
                    s->removed[i] = false;
                }
                continue;
            }
            st->failed++;
            char *text = NULL;
            if (ar_rules_format(k->rule, k->size, 0, &text) < 0)
                text = NULL;
            note(s, "cannot put back the rule \"%s\": %s", text ? text : "?", strerror(-r));
            free(text);
            if (!first_err)
                first_err = r;
        }
    }
    for (size_t i = 0; i < s->extra.n; i++) {
        int r = ar_rules_nl_add(s->nl, s->extra.v[i].rule, s->extra.v[i].size);
        if (r == 0 || r == -EEXIST) {
            st->restored++;
            continue;
        }
        st->failed++;
        note(s, "cannot put back a rule removed during the session: %s", strerror(-r));
        if (!first_err)
            first_err = r;
    }
    ar_kernel_rules_free(&s->extra);
    return first_err;
}

int ar_rules_session_stop(struct ar_rules_session *s, unsigned flags,
                          struct ar_rules_stop_stats *ret)
{
    struct ar_rules_stop_stats st = {0};
    int first_err = 0;
    if (!s->stopped && !(flags & AR_RULES_STOP_KEEP_RULES)) {
        /* Newest first, so that rules that depend on order come off cleanly. */
        for (size_t i = s->nowned; i-- > 0;) {
            int r = ar_rules_nl_delete(s->nl, s->owned[i], s->owned_size[i]);
            if (r == 0) {
                st.removed++;
            } else if (r == -ENOENT) {
                st.already_gone++;
            } else {
                st.failed++;
                char *text = NULL;
                if (ar_rules_format(s->owned[i], s->owned_size[i], 0, &text) < 0)
                    text = NULL;
                note(s, "cannot remove the rule \"%s\": %s%s", text ? text : "?", strerror(-r),
                     r == -EPERM ? " (the configuration is locked, enabled 2?)" : "");
                free(text);
                if (!first_err)
                    first_err = r;
                continue;
            }
            free((void *)s->owned[i]);
            s->owned[i] = NULL;
        }
        /* Keep what could not be removed, so that a second stop tries again. */
        size_t kept = 0;
        for (size_t i = 0; i < s->nowned; i++)
            if (s->owned[i]) {
                s->owned[kept] = s->owned[i];
                s->owned_size[kept++] = s->owned_size[i];
            }
        s->nowned = kept;
        int r = restore_removed(s, &st);
        if (r < 0 && !first_err)
            first_err = r;
    }
    if (!s->stopped && !(flags & AR_RULES_STOP_KEEP_SETTINGS) && s->changed) {
        int r = ar_settings_restore(s->nl, s->settings, s->changed);
        if (r == 0) {
            st.settings += (size_t)__builtin_popcount(s->changed);
            s->changed = 0;
        } else {
            st.failed++;
            note(s, "cannot restore the audit settings: %s", strerror(-r));
            if (!first_err)
                first_err = r;
        }
    }
    s->stopped = st.failed == 0;
    if (ret)
        *ret = st;
    return first_err;
}

const char *const *ar_rules_session_messages(const struct ar_rules_session *s, size_t *ret_count)
{
    *ret_count = s->nmessages;
    return (const char *const *)s->messages;
}

size_t ar_rules_session_owned(const struct ar_rules_session *s,
                              const struct audit_rule_data *const **ret_rules,
                              const size_t **ret_sizes)
{
    *ret_rules = s->owned;
    *ret_sizes = s->owned_size;
    return s->nowned;
}

void ar_rules_session_free(struct ar_rules_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nowned; i++)
        free((void *)s->owned[i]);
    free(s->owned);
    free(s->owned_size);
    free(s->taken_over);
    ar_kernel_rules_free(&s->before);
    ar_kernel_rules_free(&s->extra);
    free(s->removed);
    for (size_t i = 0; i < s->nmessages; i++)
        free(s->messages[i]);
    free(s->messages);
    ar_rules_nl_close(s->nl);
    free(s);
}
