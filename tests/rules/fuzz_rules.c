/* Fuzz target: the rule compiler and the listing formatter.
 *
 * The input is compiled three ways: as rule-file text, as a command split into
 * words at NUL bytes (ar_rules_add_argv), and after a directory-style augenrules
 * reordering. Every rule the compiler emits must be well formed and print; the
 * printed line must compile again without crashing. The same bytes are also taken
 * as a rule the kernel listed, which the formatter must either reject as malformed
 * or print, never read outside. The first byte picks the machine and whether
 * watched paths are directories, so both arches and both watch kinds are reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_id(const char *name, uint32_t *ret, void *ud)
{
    (void)ud;
    if (strcmp(name, "root") == 0 || strcmp(name, "wheel") == 0) {
        *ret = 0;
        return 0;
    }
    return -1;
}

static bool fake_is_dir(const char *path, void *ud)
{
    return *(const uint8_t *)ud & 1 ? true : strlen(path) % 2 == 0;
}

static void check_ops(const struct ar_rules *r, uint32_t machine)
{
    size_t n;
    const struct ar_rules_op *ops = ar_rules_ops(r, &n);
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].rule)
            continue;
        if (ar_rules_check_data(ops[i].rule, ops[i].rule_size) != 0)
            __builtin_trap();
        char *line = NULL;
        int len = ar_rules_format(ops[i].rule, ops[i].rule_size, machine, &line);
        if (len < 0 || !line || strlen(line) != (size_t)len)
            __builtin_trap();
        /* The listing reads back (paths with spaces need escapes; anything goes). */
        struct ar_rules *again;
        struct ar_rules_env env = {.machine = machine, .user_id = fake_id, .group_id = fake_id};
        if (ar_rules_new(&env, &again) == 0) {
            ar_rules_add_text(again, "relisted", line, (size_t)len);
            ar_rules_free(again);
        }
        ar_rules_key_matches(ops[i].rule, ops[i].rule_size, "k");
        free(line);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t knob = size ? data[0] : 0;
    uint32_t machine = knob & 2 ? AUDIT_ARCH_AARCH64 : AUDIT_ARCH_X86_64;
    struct ar_rules_env env = {.machine = machine,
                               .user_id = fake_id,
                               .group_id = fake_id,
                               .is_dir = fake_is_dir,
                               .userdata = &knob};
    struct ar_rules *r;

    /* Rule-file text. */
    if (ar_rules_new(&env, &r) == 0) {
        int errors = ar_rules_add_text(r, "fuzz.rules", (const char *)data, size);
        if (errors >= 0 && (size_t)errors != ar_rules_error_count(r))
            __builtin_trap();
        check_ops(r, machine);
        ar_rules_add_text(r, "fuzz2.rules", (const char *)data, size);
        ar_rules_reorder_like_augenrules(r, 0);
        check_ops(r, machine);
        ar_rules_free(r);
    }

    /* Words split at NUL, as a shell would pass them. */
    char *copy = malloc(size + 1);
    const char **argv = malloc((size + 1) * sizeof(*argv));
    if (copy && argv && ar_rules_new(&env, &r) == 0) {
        memcpy(copy, data, size);
        copy[size] = 0;
        int argc = 0;
        for (size_t i = 0; i <= size; i++)
            if (i == 0 || copy[i - 1] == 0)
                argv[argc++] = copy + i;
        ar_rules_add_argv(r, "fuzz-argv", 1, argc, argv);
        check_ops(r, machine);
        ar_rules_free(r);
    }
    free(copy);
    free(argv);

    /* The bytes as a rule from the kernel, at an aligned address. */
    struct audit_rule_data *k = malloc(size ? size : 1);
    if (k) {
        memcpy(k, data, size);
        char *line = NULL;
        if (ar_rules_format(k, size, machine, &line) >= 0) {
            if (ar_rules_check_data(k, size) != 0)
                __builtin_trap();
            free(line);
        }
        ar_rules_key_matches(k, size, "a");
        ar_rules_same(k, size, k, size);
        free(k);
    }
    return 0;
}
