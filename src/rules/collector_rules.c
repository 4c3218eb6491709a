#include "rules/collector_rules.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/files.h"
#include "rules/kernel.h"


static void log_diags(const struct ar_rules *r, FILE *log)
{
    size_t n;
    const struct ar_rules_diag *d = ar_rules_diags(r, &n);
    for (size_t i = 0; i < n; i++) {
        const char *sev = d[i].severity == AR_RULES_ERROR ? "error" : "warning";
        if (d[i].origin.line)
            fprintf(log, "auditrelay: %s:%u: %s: %s\n", d[i].origin.file, d[i].origin.line, sev,
                    d[i].message);
        else
            fprintf(log, "auditrelay: %s: %s: %s\n", d[i].origin.file, sev, d[i].message);
    }
}

static void log_messages(const struct ar_rules_session *s, size_t from, FILE *log)
{
    size_t n;
    const char *const *m = ar_rules_session_messages(s, &n);
    for (size_t i = from; i < n; i++)
        fprintf(log, "auditrelay: %s\n", m[i]);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

void ar_rules_state_recover(FILE *f, long pid, FILE *log)
{
    struct ar_rules_nl *nl;
    if (ar_rules_nl_open(&nl) < 0)
        return;
    char *line = NULL;
    size_t cap = 0, removed = 0, gone = 0, failed = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        size_t size = (size_t)len / 2;
        if (len % 2 || size < sizeof(struct audit_rule_data))
            continue;
        struct audit_rule_data *r = malloc(size);
        if (!r)
            break;
        bool ok = true;
        for (size_t i = 0; i < size && ok; i++) {
            int hi = hexval(line[2 * i]), lo = hexval(line[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            ((unsigned char *)r)[i] = (unsigned char)(hi << 4 | lo);
        }
        if (ok && ar_rules_check_data(r, size) == 0) {
            int e = ar_rules_nl_delete(nl, r, size);
            if (e == 0)
                removed++;
            else if (e == -ENOENT)
                gone++;
            else
                failed++;
        }
        free(r);
    }
    ar_rules_nl_close(nl);
    free(line);
    if (removed || gone || failed)
        fprintf(log,
                "auditrelay: a previous run (pid %ld) stopped without removing its audit "
                "rules: removed %zu of them (%zu were gone%s)\n",
                pid, removed, gone, failed ? ", some could not be removed" : "");
}

void ar_rules_state_write(const struct ar_rules_session *s, FILE *f)
{
    const struct audit_rule_data *const *rules;
    const size_t *sizes;
    size_t n = s ? ar_rules_session_owned(s, &rules, &sizes) : 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = (const unsigned char *)rules[i];
        for (size_t j = 0; j < sizes[i]; j++)
            fprintf(f, "%02x", b[j]);
        fputc('\n', f);
    }
}

int ar_rules_collector_compile(const struct ar_rules_collector_config *cfg, FILE *log,
                               struct ar_rules **ret)
{
    *ret = NULL;
    const char *default_path = AR_RULES_DEFAULT_PATH;
    const char *const *paths = cfg->paths;
    size_t npaths = cfg->npaths;
    if (cfg->only_own) {
        paths = NULL;
        npaths = 0;
    } else if (npaths == 0) {
        struct stat st;
        /* A binary run from its build tree (not installed) uses the source tree's
         * set, so that a first run from a fresh checkout shows events. */
        if (stat(default_path, &st) != 0 && stat(AR_RULES_SOURCE_PATH, &st) == 0)
            default_path = AR_RULES_SOURCE_PATH;
        if (stat(default_path, &st) != 0) {
            fprintf(log,
                    "auditrelay: no rules given and no default rules at %s: loading no "
                    "audit rules%s\n",
                    default_path, cfg->own_text ? " but the collector's own" : "");
            if (!cfg->own_text)
                return 0;
        } else {
            paths = &default_path;
            npaths = 1;
        }
    }
    struct ar_rules *rules;
    int rc = ar_rules_compile_paths(paths, npaths, &rules);
    if (rc >= 0 && cfg->own_text) {
        rc = ar_rules_add_text(rules, cfg->own_name ? cfg->own_name : "(own rules)",
                               cfg->own_text, strlen(cfg->own_text));
        rc = rc > 0 ? 0 : rc;
    }
    if (rc < 0) {
        fprintf(log, "auditrelay: compiling the audit rules: %s\n", strerror(-rc));
        return rc;
    }
    log_diags(rules, log);
    size_t errors = ar_rules_error_count(rules);
    if (errors) {
        fprintf(log, "auditrelay: %zu error%s in the audit rules: nothing was loaded\n", errors,
                errors == 1 ? "" : "s");
        ar_rules_free(rules);
        return -EINVAL;
    }
    *ret = rules;
    return 0;
}

int ar_rules_collector_start(const struct ar_rules_collector_config *cfg, FILE *log,
                             struct ar_rules_session **ret)
{
    *ret = NULL;
    struct ar_rules *rules;
    int rc = ar_rules_collector_compile(cfg, log, &rules);
    if (rc < 0 || !rules)
        return rc;
    struct ar_rules_session *s;
    struct ar_rules_failure failure = {0};
    rc = ar_rules_session_start(rules, cfg->flags | AR_RULES_SHARED, cfg->settings, &s,
                                          &failure);
    ar_rules_free(rules);
    if (rc < 0) {
        fprintf(log, "auditrelay: %s\nauditrelay: no audit rules were loaded\n", failure.message);
        return rc;
    }
    log_messages(s, 0, log);
    const struct ar_rules_session_stats *st = ar_rules_session_stats(s);
    fprintf(log, "auditrelay: installed %zu audit rule%s", st->added, st->added == 1 ? "" : "s");
    if (st->already_loaded)
        fprintf(log, " (%zu already loaded, left alone)", st->already_loaded);
    if (st->deleted)
        fprintf(log, "; removed %zu rule%s of others as the rules say (put back on exit)",
                st->deleted, st->deleted == 1 ? "" : "s");
    if (st->settings)
        fprintf(log, "; %zu setting%s changed", st->settings, st->settings == 1 ? "" : "s");
    fprintf(log, "\n");
    *ret = s;
    return 0;
}

int ar_rules_collector_replace(struct ar_rules_session **sp, const struct ar_rules *rules,
                               const struct ar_rules_collector_config *cfg, FILE *log)
{
    struct ar_rules_session *old = *sp, *s = NULL;
    if (!rules) {
        int rc = ar_rules_collector_stop(old, false, log);
        *sp = NULL;
        return rc;
    }
    struct ar_rules_failure failure = {0};
    struct ar_rules_stop_stats gone = {0};
    int rc = old ? ar_rules_session_replace(old, rules, cfg->flags | AR_RULES_SHARED, &s,
                                            &failure, &gone)
                 : ar_rules_session_start(rules, cfg->flags | AR_RULES_SHARED, cfg->settings, &s,
                                          &failure);
    if (rc < 0) {
        fprintf(log, "auditrelay: %s\nauditrelay: the audit rules were not changed\n",
                failure.message);
        return rc;
    }
    log_messages(s, 0, log);
    const struct ar_rules_session_stats *st = ar_rules_session_stats(s);
    fprintf(log, "auditrelay: audit rules reloaded: %zu kept, %zu added, %zu removed", st->taken_over,
            st->added, gone.removed + gone.already_gone);
    if (st->already_loaded)
        fprintf(log, " (%zu already loaded by others, left alone)", st->already_loaded);
    if (st->settings)
        fprintf(log, "; %zu setting%s changed", st->settings, st->settings == 1 ? "" : "s");
    if (gone.settings)
        fprintf(log, "; %zu setting%s put back", gone.settings, gone.settings == 1 ? "" : "s");
    fprintf(log, "\n");
    *sp = s;
    return 0;
}

int ar_rules_collector_stop(struct ar_rules_session *s, bool keep, FILE *log)
{
    if (!s)
        return 0;
    size_t before;
    ar_rules_session_messages(s, &before);
    struct ar_rules_stop_stats st;
    int rc = ar_rules_session_stop(
        s, keep ? AR_RULES_STOP_KEEP_RULES | AR_RULES_STOP_KEEP_SETTINGS : 0, &st);
    log_messages(s, before, log);
    if (keep) {
        const struct ar_rules_session_stats *ss = ar_rules_session_stats(s);
        fprintf(log, "auditrelay: leaving %zu audit rule%s in the kernel\n", ss->added,
                ss->added == 1 ? "" : "s");
    } else {
        fprintf(log, "auditrelay: removed %zu audit rule%s", st.removed,
                st.removed == 1 ? "" : "s");
        if (st.already_gone)
            fprintf(log, " (%zu had been removed by someone else)", st.already_gone);
        if (st.restored)
            fprintf(log, "; put back %zu rule%s of others", st.restored,
                    st.restored == 1 ? "" : "s");
        if (st.settings)
            fprintf(log, "; restored %zu setting%s", st.settings, st.settings == 1 ? "" : "s");
        if (st.failed)
            fprintf(log, "; %zu thing%s could not be undone", st.failed, st.failed == 1 ? "" : "s");
        fprintf(log, "\n");
    }
    ar_rules_session_free(s);
    return rc;
}
