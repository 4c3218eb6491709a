#include "rules/collector_rules.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/files.h"
#include "rules/kernel.h"

#define STATE_MAGIC "auditrelay-rules-state 1"

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

static bool pid_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Removes the rules a previous run that died left in the kernel (its state file
 * names them), unless that run is still alive. */
static void recover(const char *path, FILE *log)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    long pid = 0;
    ssize_t len = getline(&line, &cap, f);
    if (len <= 0 || strncmp(line, STATE_MAGIC " pid=", strlen(STATE_MAGIC) + 5) != 0 ||
        (pid = strtol(line + strlen(STATE_MAGIC) + 5, NULL, 10)) <= 0) {
        fprintf(log, "auditrelay: %s: not a rules state file; ignored\n", path);
        free(line);
        fclose(f);
        return;
    }
    if (pid == (long)getpid() || pid_alive(pid)) {
        /* Another collector owns these rules now: not ours to remove. */
        free(line);
        fclose(f);
        return;
    }
    struct ar_rules_nl *nl;
    size_t removed = 0, gone = 0, failed = 0;
    if (ar_rules_nl_open(&nl) < 0) {
        free(line);
        fclose(f);
        return;
    }
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
    fclose(f);
    fprintf(log,
            "auditrelay: a previous run (pid %ld) stopped without removing its audit rules: "
            "removed %zu of them (%zu were gone%s)\n",
            pid, removed, gone, failed ? ", some could not be removed" : "");
    if (!failed)
        unlink(path);
}

/* Writes the owned rules, one hex line each, atomically. */
static void save_state(const struct ar_rules_session *s, const char *path, FILE *log)
{
    const struct audit_rule_data *const *rules;
    const size_t *sizes;
    size_t n = ar_rules_session_owned(s, &rules, &sizes);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp)
        return;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".new", 5);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(log,
                "auditrelay: cannot write %s (%s): after a crash, the next start cannot "
                "remove this run's rules\n",
                tmp, strerror(errno));
        free(tmp);
        return;
    }
    fprintf(f, STATE_MAGIC " pid=%ld\n", (long)getpid());
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = (const unsigned char *)rules[i];
        for (size_t j = 0; j < sizes[i]; j++)
            fprintf(f, "%02x", b[j]);
        fputc('\n', f);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(log, "auditrelay: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}

int ar_rules_collector_compile(const struct ar_rules_collector_config *cfg, FILE *log,
                               struct ar_rules **ret)
{
    *ret = NULL;
    const char *default_path = AR_RULES_DEFAULT_PATH;
    const char *const *paths = cfg->paths;
    size_t npaths = cfg->npaths;
    if (npaths == 0) {
        struct stat st;
        /* A binary run from its build tree (not installed) uses the source tree's
         * set, so that a first run from a fresh checkout shows events. */
        if (stat(default_path, &st) != 0 && stat(AR_RULES_SOURCE_PATH, &st) == 0)
            default_path = AR_RULES_SOURCE_PATH;
        if (stat(default_path, &st) != 0) {
            fprintf(log,
                    "auditrelay: no rules given and no default rules at %s: loading no "
                    "audit rules\n",
                    default_path);
            return 0;
        }
        paths = &default_path;
        npaths = 1;
    }
    struct ar_rules *rules;
    int rc = ar_rules_compile_paths(paths, npaths, &rules);
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
    if (cfg->state_path)
        recover(cfg->state_path, log);
    struct ar_rules *rules;
    int rc = ar_rules_collector_compile(cfg, log, &rules);
    if (rc < 0 || !rules)
        return rc;
    struct ar_rules_session *s;
    struct ar_rules_failure failure = {0};
    rc = ar_rules_session_start(rules, cfg->flags | AR_RULES_SHARED, &s, &failure);
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
    if (cfg->state_path)
        save_state(s, cfg->state_path, log);
    *ret = s;
    return 0;
}

int ar_rules_collector_replace(struct ar_rules_session **sp, const struct ar_rules *rules,
                               const struct ar_rules_collector_config *cfg, FILE *log)
{
    struct ar_rules_session *old = *sp, *s = NULL;
    if (!rules) {
        int rc = ar_rules_collector_stop(old, false, cfg->state_path, log);
        *sp = NULL;
        return rc;
    }
    struct ar_rules_failure failure = {0};
    struct ar_rules_stop_stats gone = {0};
    int rc = old ? ar_rules_session_replace(old, rules, cfg->flags | AR_RULES_SHARED, &s,
                                            &failure, &gone)
                 : ar_rules_session_start(rules, cfg->flags | AR_RULES_SHARED, &s, &failure);
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
    if (cfg->state_path)
        save_state(s, cfg->state_path, log);
    *sp = s;
    return 0;
}

int ar_rules_collector_stop(struct ar_rules_session *s, bool keep, const char *state_path,
                            FILE *log)
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
    if (state_path && (rc == 0 || keep))
        unlink(state_path);
    ar_rules_session_free(s);
    return rc;
}
