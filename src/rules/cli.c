#include "rules/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/tables.h"
#include "rules/files.h"
#include "rules/kernel.h"
#include "rules/rules.h"
#include "rules/session.h"

enum { EXIT_OK = 0, EXIT_ERRORS = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
    fprintf(f, "Usage: auditrelay rules check [--print] [--machine ARCH] FILE|DIR...\n"
               "       auditrelay rules load [--allow-lock] [--allow-panic] FILE|DIR...\n"
               "       auditrelay rules list [-k KEY]\n"
               "       auditrelay rules delete FILE|DIR...\n"
               "\n"
               "Audit rules in auditctl syntax (auditctl -R files; a directory is read like\n"
               "augenrules: its *.rules files in version order). See auditrelay-rules(7).\n"
               "\n"
               "  check    compile and report every error with file:line; no kernel access\n"
               "           --print          print what would be loaded, in auditctl -l syntax\n"
               "           --machine ARCH   compile for another machine (b64/b32, -S names)\n"
               "  load     compile, then load into the kernel; on any error nothing is loaded\n"
               "           --allow-lock     let -e 2 and --loginuid-immutable through (they\n"
               "                            hold until reboot)\n"
               "           --allow-panic    let -f 2 through (panic on a lost record)\n"
               "  list     print the kernel's rules exactly as auditctl -l prints them\n"
               "           -k KEY           only rules whose key contains KEY\n"
               "  delete   remove the rules the files would load (and do what their -D says)\n"
               "\n"
               "Exit status: 0 success, 1 errors, 2 usage.\n");
}

static void print_diags(const struct ar_rules *r)
{
    size_t n;
    const struct ar_rules_diag *d = ar_rules_diags(r, &n);
    for (size_t i = 0; i < n; i++) {
        const char *sev = d[i].severity == AR_RULES_ERROR ? "error" : "warning";
        if (d[i].origin.line)
            fprintf(stderr, "auditrelay: %s:%u: %s: %s\n", d[i].origin.file, d[i].origin.line, sev,
                    d[i].message);
        else
            fprintf(stderr, "auditrelay: %s: %s: %s\n", d[i].origin.file, sev, d[i].message);
    }
}

/* Splits "[--opt...] PATH..." where options may come anywhere before "--". */
struct args {
    const char **paths;
    size_t npaths;
};

static int compile(struct args *a, uint32_t machine, struct ar_rules **ret)
{
    struct ar_rules_env env;
    ar_rules_env_host(&env);
    if (machine)
        env.machine = machine;
    struct ar_rules *r;
    if (ar_rules_new(&env, &r) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < a->npaths; i++)
        if (ar_rules_add_path(r, a->paths[i]) < 0) {
            ar_rules_free(r);
            return -ENOMEM;
        }
    print_diags(r);
    *ret = r;
    return 0;
}

static const char *set_option(uint32_t mask)
{
    switch (mask) {
    case AUDIT_STATUS_ENABLED:
        return "-e";
    case AUDIT_STATUS_FAILURE:
        return "-f";
    case AUDIT_STATUS_RATE_LIMIT:
        return "-r";
    case AUDIT_STATUS_BACKLOG_LIMIT:
        return "-b";
    case AUDIT_STATUS_BACKLOG_WAIT_TIME:
        return "--backlog_wait_time";
    case AUDIT_STATUS_LOST:
        return "--reset-lost";
    case AUDIT_STATUS_BACKLOG_WAIT_TIME_ACTUAL:
        return "--reset_backlog_wait_time_actual";
    default:
        return "?";
    }
}

/* One operation in auditctl syntax, as `check --print` shows it. */
static void print_op(const struct ar_rules_op *op, uint32_t machine)
{
    char *line = NULL;
    switch (op->type) {
    case AR_RULES_OP_ADD:
    case AR_RULES_OP_DELETE:
        if (ar_rules_format(op->rule, op->rule_size, machine, &line) < 0) {
            printf("?\n");
            return;
        }
        if (line[0] == '-' && line[1] == 'a') {
            if (op->type == AR_RULES_OP_DELETE)
                line[1] = 'd';
            else if (op->rule->flags & AUDIT_FILTER_PREPEND)
                line[1] = 'A';
        } else if (line[0] == '-' && line[1] == 'w' && op->type == AR_RULES_OP_DELETE) {
            line[1] = 'W';
        }
        printf("%s\n", line);
        free(line);
        return;
    case AR_RULES_OP_DELETE_ALL:
        printf(op->text ? "-D -k %s\n" : "-D\n", op->text);
        return;
    case AR_RULES_OP_SET:
        if (op->status_mask == AUDIT_STATUS_LOST ||
            op->status_mask == AUDIT_STATUS_BACKLOG_WAIT_TIME_ACTUAL)
            printf("%s\n", set_option(op->status_mask));
        else
            printf("%s %u\n", set_option(op->status_mask), op->value);
        return;
    case AR_RULES_OP_LOGINUID_IMMUTABLE:
        printf("--loginuid-immutable\n");
        return;
    case AR_RULES_OP_TRIM:
        printf("-t\n");
        return;
    case AR_RULES_OP_MAKE_EQUIV:
        printf("-q %s,%s\n", op->text, op->text2);
        return;
    case AR_RULES_OP_USER_MSG:
        printf("-m %s\n", op->text);
        return;
    }
}

static int count_paths(int argc, char **argv, int first, struct args *a)
{
    a->paths = calloc((size_t)argc, sizeof(*a->paths));
    if (!a->paths)
        return -ENOMEM;
    a->npaths = 0;
    for (int i = first; i < argc; i++)
        a->paths[a->npaths++] = argv[i];
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    bool print = false;
    uint32_t machine = 0;
    int i = 2;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--print") == 0) {
            print = true;
        } else if (strcmp(argv[i], "--machine") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            if (!ar_arch_from_name((struct ar_span){m, strlen(m)}, &machine)) {
                fprintf(stderr, "auditrelay: rules check: unknown machine '%s'\n", m);
                return EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "auditrelay: rules check: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    struct args a;
    if (i >= argc) {
        fprintf(stderr, "auditrelay: rules check: no FILE or DIR given\n");
        return EXIT_USAGE;
    }
    if (count_paths(argc, argv, i, &a) < 0)
        return EXIT_ERRORS;
    struct ar_rules *r;
    if (compile(&a, machine, &r) < 0) {
        free(a.paths);
        fprintf(stderr, "auditrelay: out of memory\n");
        return EXIT_ERRORS;
    }
    size_t nops, ndiags, rules = 0, other = 0, warnings = 0;
    const struct ar_rules_op *ops = ar_rules_ops(r, &nops);
    const struct ar_rules_diag *d = ar_rules_diags(r, &ndiags);
    for (size_t k = 0; k < ndiags; k++)
        warnings += d[k].severity == AR_RULES_WARNING;
    size_t errors = ar_rules_error_count(r);
    if (!errors) {
        for (size_t k = 0; k < nops; k++) {
            if (ops[k].type == AR_RULES_OP_ADD)
                rules++;
            else
                other++;
            if (print)
                print_op(&ops[k], ar_rules_machine(r));
        }
    }
    if (errors)
        fprintf(stderr, "auditrelay: %zu error%s, %zu warning%s: nothing would be loaded\n", errors,
                errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
    else
        fprintf(stderr, "auditrelay: ok: %zu rule%s and %zu other operation%s, %zu warning%s\n",
                rules, rules == 1 ? "" : "s", other, other == 1 ? "" : "s", warnings,
                warnings == 1 ? "" : "s");
    ar_rules_free(r);
    free(a.paths);
    return errors ? EXIT_ERRORS : EXIT_OK;
}


/* load and delete: compile the paths from argv[i] on; a file with an error means
 * nothing is done ("nothing was <done>"). Returns 0 with *ret, or -1 (explained). */
static int compile_clean(int argc, char **argv, int i, const char *done, struct ar_rules **ret)
{
    struct args a;
    if (count_paths(argc, argv, i, &a) < 0)
        return -1;
    struct ar_rules *r;
    int rc = compile(&a, 0, &r);
    free(a.paths);
    if (rc < 0) {
        fprintf(stderr, "auditrelay: out of memory\n");
        return -1;
    }
    size_t errors = ar_rules_error_count(r);
    if (errors) {
        fprintf(stderr, "auditrelay: %zu error%s: nothing was %s\n", errors,
                errors == 1 ? "" : "s", done);
        ar_rules_free(r);
        return -1;
    }
    *ret = r;
    return 0;
}

static int cmd_load(int argc, char **argv)
{
    unsigned flags = 0;
    int i = 2;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--allow-lock") == 0) {
            flags |= AR_RULES_ALLOW_LOCK;
        } else if (strcmp(argv[i], "--allow-panic") == 0) {
            flags |= AR_RULES_ALLOW_PANIC;
        } else {
            fprintf(stderr, "auditrelay: rules load: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "auditrelay: rules load: no FILE or DIR given\n");
        return EXIT_USAGE;
    }
    struct ar_rules *r;
    if (compile_clean(argc, argv, i, "loaded", &r) < 0)
        return EXIT_ERRORS;
    struct ar_rules_session *s;
    struct ar_rules_failure failure = {0};
    int rc = ar_rules_session_start(r, flags, NULL, &s, &failure);
    ar_rules_free(r);
    if (rc < 0) {
        fprintf(stderr, "auditrelay: %s\nauditrelay: nothing was loaded\n", failure.message);
        return EXIT_ERRORS;
    }
    size_t nmsg;
    const char *const *msgs = ar_rules_session_messages(s, &nmsg);
    for (size_t k = 0; k < nmsg; k++)
        fprintf(stderr, "auditrelay: %s\n", msgs[k]);
    const struct ar_rules_session_stats *st = ar_rules_session_stats(s);
    fprintf(stderr, "auditrelay: loaded %zu rule%s, %zu setting%s; %zu rule%s deleted\n", st->added,
            st->added == 1 ? "" : "s", st->settings, st->settings == 1 ? "" : "s", st->deleted,
            st->deleted == 1 ? "" : "s");
    bool failed = st->continued_errors > 0;
    /* The rules stay loaded: free the session without stopping it. */
    ar_rules_session_free(s);
    return failed ? EXIT_ERRORS : EXIT_OK;
}

static int open_kernel(struct ar_rules_nl **nl)
{
    int r = ar_rules_nl_open(nl);
    if (r < 0)
        fprintf(stderr, "auditrelay: cannot open the kernel's audit socket: %s%s\n", strerror(-r),
                r == -EPROTONOSUPPORT ? " (this kernel has no audit support)"
                : r == -EPERM         ? " (run as root)"
                                      : "");
    return r;
}

static int cmd_list(int argc, char **argv)
{
    const char *key = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else {
            fprintf(stderr, "auditrelay: rules list: unexpected '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    struct ar_rules_nl *nl;
    if (open_kernel(&nl) < 0)
        return EXIT_ERRORS;
    struct ar_kernel_rules rules;
    size_t bad = 0;
    int r = ar_rules_nl_list(nl, &rules, &bad);
    ar_rules_nl_close(nl);
    if (r < 0) {
        fprintf(stderr, "auditrelay: cannot list the kernel's audit rules: %s%s\n", strerror(-r),
                r == -EPERM ? " (run as root: CAP_AUDIT_CONTROL)" : "");
        return EXIT_ERRORS;
    }
    struct ar_rules_env env;
    ar_rules_env_host(&env);
    size_t printed = 0;
    int status = EXIT_OK;
    for (size_t i = 0; i < rules.n; i++) {
        if (key && !ar_rules_key_matches(rules.v[i].rule, rules.v[i].size, key))
            continue;
        char *line;
        if (ar_rules_format(rules.v[i].rule, rules.v[i].size, env.machine, &line) < 0) {
            status = EXIT_ERRORS;
            continue;
        }
        printf("%s\n", line);
        free(line);
        printed++;
    }
    if (!printed)
        printf("No rules\n");
    if (bad) {
        fprintf(stderr, "auditrelay: %zu malformed rule%s from the kernel skipped\n", bad,
                bad == 1 ? "" : "s");
        status = EXIT_ERRORS;
    }
    ar_kernel_rules_free(&rules);
    return fflush(stdout) == 0 ? status : EXIT_ERRORS;
}

static int cmd_delete(int argc, char **argv)
{
    int i = 2;
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc) {
        fprintf(stderr, "auditrelay: rules delete: no FILE or DIR given\n");
        return EXIT_USAGE;
    }
    struct ar_rules *r;
    if (compile_clean(argc, argv, i, "deleted", &r) < 0)
        return EXIT_ERRORS;
    struct ar_rules_nl *nl;
    if (open_kernel(&nl) < 0) {
        ar_rules_free(r);
        return EXIT_ERRORS;
    }
    struct audit_status st;
    int rc = ar_rules_nl_get_status(nl, &st);
    if (rc == 0 && st.enabled == 2) {
        fprintf(stderr, "auditrelay: the audit configuration is locked (enabled 2) until reboot: "
                        "no rule can be deleted\n");
        rc = -EPERM;
    } else if (rc < 0) {
        fprintf(stderr, "auditrelay: cannot read the kernel's audit status: %s\n", strerror(-rc));
    }
    size_t nops, deleted = 0, absent = 0, failed = 0;
    const struct ar_rules_op *ops = ar_rules_ops(r, &nops);
    for (size_t k = 0; k < nops && rc == 0; k++) {
        const struct ar_rules_op *op = &ops[k];
        if (op->type == AR_RULES_OP_ADD) {
            int e = ar_rules_nl_delete(nl, op->rule, op->rule_size);
            if (e == 0) {
                deleted++;
            } else if (e == -ENOENT) {
                absent++;
            } else {
                failed++;
                fprintf(stderr, "auditrelay: %s:%u: deleting the rule failed: %s\n",
                        op->origin.file, op->origin.line, strerror(-e));
            }
        } else if (op->type == AR_RULES_OP_DELETE_ALL) {
            /* The file itself says -D: then every (matching) rule goes. */
            struct ar_kernel_rules now;
            int e = ar_rules_nl_list(nl, &now, NULL);
            for (size_t j = 0; e == 0 && j < now.n; j++) {
                if (op->text && !ar_rules_key_matches(now.v[j].rule, now.v[j].size, op->text))
                    continue;
                int d = ar_rules_nl_delete(nl, now.v[j].rule, now.v[j].size);
                if (d == 0)
                    deleted++;
                else if (d != -ENOENT)
                    e = d;
            }
            ar_kernel_rules_free(&now);
            if (e < 0) {
                failed++;
                fprintf(stderr, "auditrelay: %s:%u: -D failed: %s\n", op->origin.file,
                        op->origin.line, strerror(-e));
            }
        }
    }
    ar_rules_nl_close(nl);
    ar_rules_free(r);
    if (rc < 0)
        return EXIT_ERRORS;
    fprintf(stderr, "auditrelay: deleted %zu rule%s", deleted, deleted == 1 ? "" : "s");
    if (absent)
        fprintf(stderr, " (%zu %s not loaded)", absent, absent == 1 ? "was" : "were");
    fprintf(stderr, "\n");
    return failed ? EXIT_ERRORS : EXIT_OK;
}

int ar_rules_cli(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc, argv);
    if (strcmp(cmd, "load") == 0)
        return cmd_load(argc, argv);
    if (strcmp(cmd, "list") == 0)
        return cmd_list(argc, argv);
    if (strcmp(cmd, "delete") == 0)
        return cmd_delete(argc, argv);
    fprintf(stderr, "auditrelay: rules: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
