/* The compiler's -F and -C parsing against libaudit's own (audit_rule_fieldpair_data,
 * audit_rule_interfield_comp_data, 3.0.9 here), over a grid of every field name,
 * every operator, many values and every filter list. This test links libaudit; the
 * product never does.
 *
 *  - what libaudit refuses, auditrelay must refuse (a file auditctl refuses must not
 *    load with auditrelay);
 *  - what both accept must compile to the same field, operator, value and string;
 *  - what only auditrelay refuses is listed and counted: the kernel would refuse it
 *    (operators, uid -1, path forms...) or it is garbage auditctl misreads ("1abc").
 *
 * libaudit asks the kernel which features it has (exe, exclude and filesystem
 * lists); without root it cannot, and then this test skips (77). */
#include <errno.h>
#include <libaudit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

extern int _audit_syscalladded, _audit_permadded, _audit_exeadded, _audit_archadded;
extern int _audit_filterfsadded;
extern unsigned int _audit_elf;

static int user_id(const char *name, uint32_t *ret, void *ud)
{
    (void)ud;
    if (strcmp(name, "root") == 0) {
        *ret = 0;
        return 0;
    }
    return -ENOENT;
}

struct result {
    bool ok;
    uint32_t field, op, value;
    char str[256];
};

static void libaudit_result(int list, const char *pair, bool compare, struct result *ret)
{
    struct audit_rule_data *r = audit_rule_create_data();
    char *copy = strdup(pair);
    _audit_syscalladded = _audit_permadded = _audit_exeadded = _audit_archadded = 0;
    _audit_filterfsadded = 0;
    _audit_elf = 0;
    int rc = compare ? audit_rule_interfield_comp_data(&r, copy, list)
                     : audit_rule_fieldpair_data(&r, copy, list);
    *ret = (struct result){.ok = rc == 0};
    if (rc == 0 && r->field_count == 1) {
        ret->field = r->fields[0];
        ret->op = r->fieldflags[0];
        ret->value = r->values[0];
        if (r->buflen < sizeof(ret->str))
            memcpy(ret->str, r->buf, r->buflen);
    }
    free(copy);
    audit_rule_free_data(r);
}

static void our_result(int list, const char *pair, bool compare, struct result *ret, char *why,
                       size_t whysize)
{
    static const char *const lists[] = {"user", "task", "", "", "exit", "exclude", "filesystem"};
    struct ar_rules_env env = {
        .machine = AUDIT_ARCH_X86_64, .user_id = user_id, .group_id = user_id};
    struct ar_rules *set;
    if (ar_rules_new(&env, &set) < 0)
        abort();
    char list_action[32];
    snprintf(list_action, sizeof(list_action), "always,%s", lists[list]);
    const char *argv[] = {"-a", list_action, compare ? "-C" : "-F", pair};
    ar_rules_add_argv(set, "grid", 1, 4, argv);
    *ret = (struct result){.ok = ar_rules_error_count(set) == 0};
    size_t n;
    const struct ar_rules_op *ops = ar_rules_ops(set, &n);
    if (ret->ok && n == 1 && ops[0].rule->field_count >= 1) {
        const struct audit_rule_data *r = ops[0].rule;
        ret->field = r->fields[0];
        ret->op = r->fieldflags[0];
        ret->value = r->values[0];
        if (r->buflen < sizeof(ret->str))
            memcpy(ret->str, r->buf, r->buflen);
    }
    size_t nd;
    const struct ar_rules_diag *d = ar_rules_diags(set, &nd);
    snprintf(why, whysize, "%s", nd ? d[0].message : "");
    ar_rules_free(set);
}

static const char *const values[] = {
    "0",          "1",        "2",          "-1",       "-5",         "1000",       "4294967295",
    "4294967296", "0x10",     "010",        "1abc",     "abc",        "root",       "unset",
    "EPERM",      "-EPERM",   "-eacces",    "SYSCALL",  "user_login", "1300",       "rwxa",
    "wa",         "q",        "file",       "dir",      "debugfs",    "0x64626720", "/etc/passwd",
    "/etc/",      "relative", "s0",         "system_u", "b64",        "b32",        "x86_64",
    "i386",       "aarch64",  "0xc000003e", "45",       "46",
};

static const char *const ops[] = {"=", "!=", "<", ">", "<=", ">=", "&", "&="};

int main(void)
{
    if (audit_get_features() == 0) {
        printf("skip: libaudit cannot read the kernel's audit features (needs root)\n");
        return 77;
    }
    unsigned both_ok = 0, both_refuse = 0, stricter = 0, failures = 0;
    const int lists[] = {AUDIT_FILTER_USER, AUDIT_FILTER_TASK, AUDIT_FILTER_EXIT,
                         AUDIT_FILTER_EXCLUDE, AUDIT_FILTER_FS};
    /* Field names: libaudit's table, the alias, then each -C pair. */
    const char *names[128];
    size_t nnames = 0;
    for (int f = 0; f < 400 && nnames < 120; f++) {
        const char *n = audit_field_to_name(f);
        /* Keys go through auditctl's own key handling (checked by the oracle test). */
        if (n && strcmp(n, "key") != 0)
            names[nnames++] = n;
    }
    names[nnames++] = "loginuid";
    char pair[256], why[512];
    for (size_t li = 0; li < sizeof(lists) / sizeof(lists[0]); li++) {
        for (size_t ni = 0; ni < nnames; ni++)
            for (size_t oi = 0; oi < sizeof(ops) / sizeof(ops[0]); oi++)
                for (size_t vi = 0; vi < sizeof(values) / sizeof(values[0]); vi++) {
                    snprintf(pair, sizeof(pair), "%s%s%s", names[ni], ops[oi], values[vi]);
                    struct result a, b;
                    libaudit_result(lists[li], pair, false, &a);
                    our_result(lists[li], pair, false, &b, why, sizeof(why));
                    if (!a.ok && !b.ok) {
                        both_refuse++;
                    } else if (!a.ok && b.ok) {
                        failures++;
                        fprintf(stderr, "list %d -F %s: libaudit refuses it, auditrelay not\n",
                                lists[li], pair);
                    } else if (a.ok && !b.ok) {
                        stricter++;
                        if (getenv("VERBOSE"))
                            printf("list %d -F %s: only auditrelay refuses: %s\n", lists[li], pair,
                                   why);
                    } else if (a.field != b.field || a.op != b.op || a.value != b.value ||
                               strcmp(a.str, b.str) != 0) {
                        failures++;
                        fprintf(stderr,
                                "list %d -F %s: libaudit %u/%x/%u/\"%s\", "
                                "auditrelay %u/%x/%u/\"%s\"\n",
                                lists[li], pair, a.field, a.op, a.value, a.str, b.field, b.op,
                                b.value, b.str);
                    } else {
                        both_ok++;
                    }
                }
        /* -C: every pair of field names, both operators. */
        for (size_t x = 0; x < nnames; x++)
            for (size_t y = 0; y < nnames; y++)
                for (int o = 0; o < 2; o++) {
                    snprintf(pair, sizeof(pair), "%s%s%s", names[x], o ? "!=" : "=", names[y]);
                    struct result a, b;
                    libaudit_result(lists[li], pair, true, &a);
                    our_result(lists[li], pair, true, &b, why, sizeof(why));
                    if (a.ok != b.ok || (a.ok && (a.op != b.op || a.value != b.value))) {
                        failures++;
                        fprintf(stderr, "list %d -C %s: libaudit %s %x/%u, auditrelay %s %x/%u\n",
                                lists[li], pair, a.ok ? "accepts" : "refuses", a.op, a.value,
                                b.ok ? "accepts" : "refuses", b.op, b.value);
                    } else if (a.ok) {
                        both_ok++;
                    } else {
                        both_refuse++;
                    }
                }
    }
    printf("%u field pairs: %u compiled identically, %u refused by both, %u refused only by "
           "auditrelay (kernel checks, strict numbers), %u differences\n",
           both_ok + both_refuse + stricter + failures, both_ok, both_refuse, stricter, failures);
    return failures ? 1 : 0;
}
