/* The compiler against go-libaudit's golden files: for every rule in every
 * fixtures/corpora/go-libaudit/rule/testdata/NAME.golden.yml, the compiled binary form
 * must equal the bytes the kernel listed back after `auditctl` loaded that rule on
 * the machine named in the file's first line (syscall numbers follow its arch).
 *
 * Three checks per golden rule:
 *  1. `flags` (a command line, split as a shell would) compiles to exactly the
 *     golden bytes;
 *  2. the golden bytes, printed in auditctl -l syntax by ar_rules_format and
 *     compiled again, give the same bytes (the lister and compiler agree);
 *  3. the matching .rules file, read as `auditctl -R` reads it (with its paths
 *     moved under /tmp/audit-test as the golden generator did), compiles to the same
 *     rules in the same order. 01-file-watch-spaces.rules quotes its paths, which
 *     auditctl -R (3.0.9) refuses; it must be refused here too.
 *
 * Usage: test_golden TESTDATA_DIR */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"

static int failures;
static unsigned files_checked, rules_matched, roundtrips, lossy, text_rules_matched, text_files;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        failures++;                                                                                \
    } while (0)

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *b = realloc(buf, cap * 2 + 1);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static size_t b64decode(const char *s, unsigned char *out)
{
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0)
            continue;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

struct golden_rule {
    char *flags;
    unsigned char *bytes;
    size_t len;
};

struct golden {
    uint32_t machine;
    struct golden_rule *rules;
    size_t n;
};

/* Reads the small YAML subset the golden files use: `- flags: PLAIN` (a plain
 * scalar, possibly folded onto more-indented lines) and `  bytes: !!binary |`
 * followed by base64 lines. */
static int read_golden(const char *path, struct golden *g)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text)
        return -errno;
    *g = (struct golden){.machine = AUDIT_ARCH_X86_64};
    char *save = NULL;
    enum { NONE, FLAGS, BYTES } mode = NONE;
    char *b64 = NULL;
    size_t b64len = 0;
    bool first = true;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (first && strncmp(line, "# Linux ", 8) == 0) {
            /* uname -a: the machine is the word before the last one ("GNU/Linux"). */
            char *gnu = strstr(line, " GNU/Linux");
            if (gnu) {
                *gnu = 0;
                char *m = strrchr(line, ' ');
                if (m && strcmp(m + 1, "aarch64") == 0)
                    g->machine = AUDIT_ARCH_AARCH64;
                else if (m && strcmp(m + 1, "x86_64") == 0)
                    g->machine = AUDIT_ARCH_X86_64;
                else
                    return -EINVAL;
            }
        }
        first = false;
        if (strncmp(line, "- flags: ", 9) == 0) {
            g->rules = realloc(g->rules, (g->n + 1) * sizeof(*g->rules));
            g->rules[g->n++] = (struct golden_rule){.flags = strdup(line + 9)};
            mode = FLAGS;
        } else if (strncmp(line, "  bytes: !!binary", 17) == 0) {
            mode = BYTES;
            b64len = 0;
        } else if (strncmp(line, "    ", 4) == 0 && g->n) {
            struct golden_rule *r = &g->rules[g->n - 1];
            const char *more = line + 4;
            if (mode == FLAGS) {
                size_t a = strlen(r->flags), b = strlen(more);
                r->flags = realloc(r->flags, a + b + 2);
                r->flags[a] = ' ';
                memcpy(r->flags + a + 1, more, b + 1);
            } else if (mode == BYTES) {
                size_t b = strlen(more);
                b64 = realloc(b64, b64len + b + 1);
                memcpy(b64 + b64len, more, b + 1);
                b64len += b;
                free(r->bytes);
                r->bytes = malloc(b64len);
                r->len = b64decode(b64, r->bytes);
            }
        }
    }
    free(b64);
    free(text);
    return 0;
}

static void free_golden(struct golden *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->rules[i].flags);
        free(g->rules[i].bytes);
    }
    free(g->rules);
}

/* Splits a command line the way a POSIX shell would for these files: spaces
 * separate words, '...' and "..." quote, backslash escapes. */
static int shell_split(const char *s, char *out, const char **words, int max)
{
    int n = 0;
    size_t o = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        if (n == max)
            return -1;
        words[n++] = out + o;
        while (*s && *s != ' ') {
            if (*s == '\'') {
                for (s++; *s && *s != '\''; s++)
                    out[o++] = *s;
                if (*s)
                    s++;
            } else if (*s == '"') {
                for (s++; *s && *s != '"'; s++) {
                    if (*s == '\\' && s[1])
                        s++;
                    out[o++] = *s;
                }
                if (*s)
                    s++;
            } else if (*s == '\\' && s[1]) {
                out[o++] = s[1];
                s += 2;
            } else {
                out[o++] = *s++;
            }
        }
        out[o++] = 0;
    }
    return n;
}

/* The generator created a directory for every watched path written with a
 * trailing slash (go-libaudit rule/gen_testdata_test.go makePaths) and a file for
 * the others; auditctl then sent -w on a directory as AUDIT_DIR. */
struct dirs {
    char *paths[64];
    size_t n;
};

static void note_dirs(struct dirs *d, const char *text)
{
    const char *p = text;
    while ((p = strstr(p, "/tmp/audit-test/"))) {
        size_t len = strcspn(p, " '\"\n");
        if (len > 1 && p[len - 1] == '/' && d->n < 64) {
            size_t t = len;
            while (t > 1 && p[t - 1] == '/')
                t--;
            d->paths[d->n++] = strndup(p, t);
        }
        p += len;
    }
}

static bool test_is_dir(const char *path, void *userdata)
{
    const struct dirs *d = userdata;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->paths[i], path) == 0)
            return true;
    return false;
}

static int test_user(const char *name, uint32_t *ret, void *userdata)
{
    (void)userdata;
    if (strcmp(name, "root") == 0) {
        *ret = 0;
        return 0;
    }
    return -ENOENT;
}

static void describe(const char *label, const unsigned char *b, size_t len)
{
    const struct audit_rule_data *r = (const void *)b;
    if (len < sizeof(*r)) {
        fprintf(stderr, "  %s: %zu bytes\n", label, len);
        return;
    }
    fprintf(stderr, "  %s: flags %u action %u fields %u buflen %u:", label, r->flags, r->action,
            r->field_count, r->buflen);
    for (uint32_t i = 0; i < r->field_count && i < AUDIT_MAX_FIELDS; i++)
        fprintf(stderr, " %u/%x/%u", r->fields[i], r->fieldflags[i], r->values[i]);
    fprintf(stderr, " mask:");
    for (int i = 0; i < AUDIT_BITMASK_SIZE; i++)
        if (r->mask[i])
            fprintf(stderr, " [%d]=%08x", i, r->mask[i]);
    fprintf(stderr, "\n");
}

/* The compiled rule equals the golden bytes: the same struct and strings; the
 * golden may carry netlink's padding to 4 bytes after them (zeros). */
static bool equal_to_golden(const struct ar_rules_op *op, const struct golden_rule *gr)
{
    if (gr->len < op->rule_size || gr->len - op->rule_size > 3 ||
        memcmp(op->rule, gr->bytes, op->rule_size) != 0)
        return false;
    for (size_t i = op->rule_size; i < gr->len; i++)
        if (gr->bytes[i])
            return false;
    return true;
}

static struct ar_rules *new_set(uint32_t machine, struct dirs *d)
{
    struct ar_rules_env env = {
        .machine = machine, .is_dir = test_is_dir, .user_id = test_user, .userdata = d};
    struct ar_rules *r;
    if (ar_rules_new(&env, &r) < 0)
        abort();
    return r;
}

static void print_diags(const struct ar_rules *set)
{
    size_t n;
    const struct ar_rules_diag *d = ar_rules_diags(set, &n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %s:%u: %s: %s\n", d[i].origin.file, d[i].origin.line,
                d[i].severity == AR_RULES_ERROR ? "error" : "warning", d[i].message);
}

/* True when the rule has a -F dir= whose path ends with a slash. */
static bool dir_with_slash(const struct audit_rule_data *r)
{
    size_t off = 0;
    for (uint32_t i = 0; i < r->field_count; i++) {
        uint32_t f = r->fields[i];
        bool str = (f >= AUDIT_SUBJ_USER && f <= AUDIT_OBJ_LEV_HIGH && f != AUDIT_PPID) ||
                   f == AUDIT_WATCH || f == AUDIT_DIR || f == AUDIT_FILTERKEY || f == AUDIT_EXE;
        if (f == AUDIT_DIR && r->values[i] && r->buf[off + r->values[i] - 1] == '/')
            return true;
        if (str)
            off += r->values[i];
    }
    return false;
}

/* Copies a listed line with backslashes and spaces escaped inside the rule's
 * path strings (path, dir), as a rule file has to write them. */
static char *escape_paths(const char *line, const struct audit_rule_data *r)
{
    size_t len = strlen(line);
    char *out = malloc(len * 2 + 1);
    size_t o = 0;
    const char *p = line;
    size_t off = 0;
    for (uint32_t i = 0; i < r->field_count; i++) {
        uint32_t f = r->fields[i];
        bool str = (f >= AUDIT_SUBJ_USER && f <= AUDIT_OBJ_LEV_HIGH && f != AUDIT_PPID) ||
                   f == AUDIT_WATCH || f == AUDIT_DIR || f == AUDIT_FILTERKEY || f == AUDIT_EXE;
        if ((f == AUDIT_WATCH || f == AUDIT_DIR) && r->values[i]) {
            char *path = strndup(r->buf + off, r->values[i]);
            const char *at = strstr(p, path);
            if (at) {
                memcpy(out + o, p, (size_t)(at - p));
                o += (size_t)(at - p);
                for (const char *c = path; *c; c++) {
                    if (*c == ' ' || *c == '\\')
                        out[o++] = '\\';
                    out[o++] = *c;
                }
                p = at + strlen(path);
            }
            free(path);
        }
        if (str)
            off += r->values[i];
    }
    strcpy(out + o, p);
    return out;
}

/* Checks 1 and 2 for one golden rule. */
static void check_rule(const char *file, size_t idx, const struct golden *g,
                       const struct golden_rule *gr, struct dirs *d)
{
    char buf[8192];
    const char *words[256];
    int argc = shell_split(gr->flags, buf, words, 256);
    struct ar_rules *set = new_set(g->machine, d);
    int rc = ar_rules_add_argv(set, file, (unsigned)idx + 1, argc, words);
    size_t nops;
    const struct ar_rules_op *ops = ar_rules_ops(set, &nops);
    if (rc != 0 || nops != 1 || ops[0].type != AR_RULES_OP_ADD) {
        FAIL("%s rule %zu: %s: did not compile to one rule (rc %d, %zu ops)", file, idx + 1,
             gr->flags, rc, nops);
        print_diags(set);
        ar_rules_free(set);
        return;
    }
    if (!equal_to_golden(&ops[0], gr)) {
        FAIL("%s rule %zu: %s: compiled bytes differ from the golden", file, idx + 1, gr->flags);
        describe("golden  ", gr->bytes, gr->len);
        describe("compiled", (const unsigned char *)ops[0].rule, ops[0].rule_size);
        ar_rules_free(set);
        return;
    }
    rules_matched++;
    ar_rules_free(set);

    /* Round trip through the listing syntax. */
    char *line;
    const struct audit_rule_data *gd = (const void *)gr->bytes;
    size_t gsize = sizeof(*gd) + gd->buflen;
    int len = ar_rules_format(gd, gsize, g->machine, &line);
    if (len < 0) {
        FAIL("%s rule %zu: the golden bytes do not format: %s", file, idx + 1, strerror(-len));
        return;
    }
    /* auditctl -l prints paths raw; a rule file escapes their spaces as "\ ". */
    char *escaped = escape_paths(line, gd);
    size_t e = strlen(escaped);
    set = new_set(g->machine, d);
    rc = ar_rules_add_text(set, file, escaped, e);
    free(escaped);
    ops = ar_rules_ops(set, &nops);
    if (rc == 0 && nops == 1 && !equal_to_golden(&ops[0], gr) && dir_with_slash(gd)) {
        /* "-F dir=/x/ -F perm=wa" prints as "-w /x/ -p wa" (auditctl's is_watch),
         * which reads back as a watch on /x: auditctl's listing loses the slash. */
        lossy++;
    } else if (rc != 0 || nops != 1 || !equal_to_golden(&ops[0], gr)) {
        FAIL("%s rule %zu: listed as \"%s\", which compiles to something else", file, idx + 1,
             line);
        print_diags(set);
        if (nops == 1)
            describe("relisted", (const unsigned char *)ops[0].rule, ops[0].rule_size);
    } else {
        roundtrips++;
    }
    free(line);
    ar_rules_free(set);
}

/* Moves watched paths under /tmp/audit-test as the generator did:
 * (-w |dir=|path=)/X -> \1/tmp/audit-test/X. */
static char *relocate(const char *text)
{
    size_t cap = strlen(text) * 2 + 1024, o = 0;
    char *out = malloc(cap);
    static const char *const marks[] = {"-w /", "dir=/", "path=/"};
    for (const char *p = text; *p;) {
        bool done = false;
        for (size_t m = 0; m < 3 && !done; m++) {
            size_t ml = strlen(marks[m]);
            if (strncmp(p, marks[m], ml) == 0 && p[ml] && p[ml] != ' ' && p[ml] != '\n') {
                memcpy(out + o, marks[m], ml - 1);
                o += ml - 1;
                memcpy(out + o, "/tmp/audit-test/", 16);
                o += 16;
                p += ml;
                done = true;
            }
        }
        if (!done)
            out[o++] = *p++;
        if (o + 64 > cap)
            out = realloc(out, cap *= 2);
    }
    out[o] = 0;
    return out;
}

/* Check 3: the .rules file next to the golden. */
static void check_rules_file(const char *dir, const char *base, const struct golden *g,
                             struct dirs *d)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%.*s", dir, (int)(strlen(base) - strlen(".golden.yml")), base);
    size_t len;
    char *text = read_file(path, &len);
    if (!text)
        return; /* not every golden has its source here */
    text_files++;
    struct ar_rules *set = new_set(g->machine, d);
    bool quoted = strstr(text, "-w \"") || strstr(text, "-w '");
    char *moved = relocate(text);
    int rc = ar_rules_add_text(set, path, moved, strlen(moved));
    size_t nops;
    const struct ar_rules_op *ops = ar_rules_ops(set, &nops);
    if (quoted) {
        /* auditctl -R splits on spaces and takes `"/folder` as the path, which does not
         * start with '/': it refuses the file. */
        if (rc <= 0)
            FAIL("%s: quoted paths must be refused as auditctl -R refuses them", path);
        else
            text_rules_matched += 0;
    } else if (rc != 0) {
        FAIL("%s: %d errors", path, rc);
        print_diags(set);
    } else if (nops != g->n) {
        FAIL("%s: %zu rules, the golden has %zu", path, nops, g->n);
    } else {
        for (size_t i = 0; i < nops; i++) {
            if (!equal_to_golden(&ops[i], &g->rules[i])) {
                FAIL("%s:%u: differs from golden rule %zu (%s)", path, ops[i].origin.line, i + 1,
                     g->rules[i].flags);
                describe("golden  ", g->rules[i].bytes, g->rules[i].len);
                describe("compiled", (const unsigned char *)ops[i].rule, ops[i].rule_size);
            } else {
                text_rules_matched++;
            }
        }
    }
    free(moved);
    free(text);
    ar_rules_free(set);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_golden TESTDATA_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    DIR *dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return 1;
    }
    char *names[256];
    size_t nnames = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && nnames < 256) {
        size_t l = strlen(de->d_name);
        bool golden = l > 11 && strcmp(de->d_name + l - 11, ".golden.yml") == 0;
        if (golden || strcmp(de->d_name, "rule_data.yml") == 0)
            names[nnames++] = strdup(de->d_name);
    }
    closedir(dp);
    qsort(names, nnames, sizeof(*names), cmp_names);
    for (size_t f = 0; f < nnames; f++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
        struct golden g;
        int rc = read_golden(path, &g);
        if (rc < 0 || g.n == 0) {
            FAIL("%s: unreadable golden file (%s)", path, rc < 0 ? strerror(-rc) : "no rules");
            continue;
        }
        /* rule_data.yml (go-libaudit's rule_data_test, amd64 only) has no uname line. */
        struct dirs d = {0};
        for (size_t i = 0; i < g.n; i++)
            note_dirs(&d, g.rules[i].flags);
        unsigned before = rules_matched;
        for (size_t i = 0; i < g.n; i++)
            check_rule(names[f], i, &g, &g.rules[i], &d);
        if (strcmp(names[f], "rule_data.yml") != 0)
            check_rules_file(dir, names[f], &g, &d);
        printf("%-40s %s %2u/%zu rules equal\n", names[f],
               g.machine == AUDIT_ARCH_AARCH64 ? "aarch64" : "x86_64 ", rules_matched - before,
               g.n);
        files_checked++;
        for (size_t i = 0; i < d.n; i++)
            free(d.paths[i]);
        free_golden(&g);
        free(names[f]);
    }
    printf("%u golden files, %u rules equal to the golden bytes; %u listed and recompiled "
           "equal (%u more where auditctl's listing drops a dir's trailing slash); %u rules "
           "from %u .rules files equal\n",
           files_checked, rules_matched, roundtrips, lossy, text_rules_matched, text_files);
    if (files_checked < 12)
        FAIL("expected at least 12 golden files in %s", dir);
    return failures ? 1 : 0;
}
