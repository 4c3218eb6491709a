/* The collector's rules: compile the rule files it was given (or the default set),
 * install them when it starts, remove exactly those when it stops. A thin layer over
 * rules/files.h and rules/session.h that explains itself on a log stream, as the
 * collector's other setup steps do. To survive a crash, the netlink source writes
 * the rules it owns into its one state file (ar_rules_state_write) and the next
 * start removes the ones a killed predecessor left (ar_rules_state_recover). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "rules/session.h"

struct ar_rules_collector_config {
    /* Rule files or directories, in order; none: the default set at
     * AR_RULES_DEFAULT_PATH (rules/files.h), or nothing if it is not installed. */
    const char *const *paths;
    size_t npaths;
    /* AR_RULES_ALLOW_LOCK / AR_RULES_ALLOW_PANIC (never from tests or defaults);
     * AR_RULES_SHARED is always added: rules others loaded are left alone. */
    unsigned flags;
    /* The run's settings record (rules/kernel.h), where the sessions record what
     * the files' -b, -e, -f, -r, --backlog_wait_time change; NULL: their own. */
    struct ar_settings_record *settings;
    /* Rules of the collector's own (the process feed's: procfeed.h), compiled
     * after the files as a file called own_name; NULL: none. only_own: without the
     * files or the default set. */
    const char *own_text;
    const char *own_name;
    bool only_own;
};

/* Compiles the configured rule files (or the default set) for this host, with
 * diagnostics on `log`. Returns 0 with *ret set (NULL when there is nothing to
 * compile: no files given and no default set), or -errno after saying why: rule
 * errors (-EINVAL). The tracepoint source compiles its rules here too. */
int ar_rules_collector_compile(const struct ar_rules_collector_config *cfg, FILE *log,
                               struct ar_rules **ret);

/* Compiles and installs. Diagnostics, notes and the summary go to `log` (lines
 * starting "auditrelay: "). Returns 0 with *ret set (NULL when there was nothing
 * to load), or -errno after saying why on `log`: rule errors (-EINVAL) or a
 * refusal by the kernel, in which case nothing was changed. */
int ar_rules_collector_start(const struct ar_rules_collector_config *cfg, FILE *log,
                             struct ar_rules_session **ret);

/* A reload: replaces the rules *sp installed with `rules` (compiled by
 * ar_rules_collector_compile; NULL: none now), keeping the rules both have loaded
 * throughout (ar_rules_session_replace), and says what changed on `log`. *sp may
 * be NULL (no rules before). On failure nothing changed (said on `log`). Returns 0
 * or -errno. */
int ar_rules_collector_replace(struct ar_rules_session **sp, const struct ar_rules *rules,
                               const struct ar_rules_collector_config *cfg, FILE *log);

/* Removes the rules the session installed and restores what it changed (unless
 * `keep`), reports on `log` and frees the session. NULL is fine. Returns 0 or the first -errno of what could not be undone. */
int ar_rules_collector_stop(struct ar_rules_session *s, bool keep, FILE *log);

/* The rules the session owns, one hex line each (the kernel's form), to f. */
void ar_rules_state_write(const struct ar_rules_session *s, FILE *f);

/* Removes from the kernel the rules read from f (lines as ar_rules_state_write
 * writes them, up to the end), which run `pid` left behind; says so on log. */
void ar_rules_state_recover(FILE *f, long pid, FILE *log);
