/* Unit tests of the rules compiler, formatter and the loader's refusals: the cases
 * the auditctl oracle cannot cover (what must never reach the kernel, what auditrelay
 * refuses although auditctl 3.0.9 accepts it, exact messages, option spellings,
 * augenrules order, malformed kernel data) and every prefix of a rule file. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "rules/rules.h"
#include "rules/session.h"

static int test_user(const char *name, uint32_t *ret, void *ud)
{
    (void)ud;
    if (strcmp(name, "root") == 0) {
        *ret = 0;
        return 0;
    }
    if (strcmp(name, "alice") == 0) {
        *ret = 1000;
        return 0;
    }
    return -ENOENT;
}

static bool test_is_dir(const char *path, void *ud)
{
    (void)ud;
    return strcmp(path, "/etc") == 0 || strcmp(path, "/var/log/audit") == 0;
}

static struct ar_rules *compile(const char *text)
{
    struct ar_rules_env env = {.machine = AUDIT_ARCH_X86_64,
                               .user_id = test_user,
                               .group_id = test_user,
                               .is_dir = test_is_dir};
    struct ar_rules *r;
    if (ar_rules_new(&env, &r) < 0)
        abort();
    if (ar_rules_add_text(r, "t.rules", text, strlen(text)) < 0)
        abort();
    return r;
}

/* The one diagnostic of a text, or "" when there is none. */
static const char *first_message(const struct ar_rules *r, enum ar_rules_severity sev)
{
    size_t n;
    const struct ar_rules_diag *d = ar_rules_diags(r, &n);
    for (size_t i = 0; i < n; i++)
        if (d[i].severity == sev)
            return d[i].message;
    return "";
}

/* Compiles one line that must fail, with a message containing `want`. */
static void refuses(const char *line, const char *want)
{
    struct ar_rules *r = compile(line);
    const char *msg = first_message(r, AR_RULES_ERROR);
    if (ar_rules_error_count(r) == 0 || !strstr(msg, want)) {
        fprintf(stderr, "refuses(\"%s\"): %zu errors, message \"%s\", expected \"%s\"\n", line,
                ar_rules_error_count(r), msg, want);
        check_failures++;
    }
    size_t n;
    ar_rules_ops(r, &n);
    CHECK(n == 0 || strchr(line, '\n'));
    ar_rules_free(r);
}

/* Compiles lines that must load; returns the listing of the ops, one per line. */
static char *listing(const char *text)
{
    struct ar_rules *r = compile(text);
    if (ar_rules_error_count(r)) {
        fprintf(stderr, "listing(\"%s\"): unexpected error: %s\n", text,
                first_message(r, AR_RULES_ERROR));
        check_failures++;
    }
    size_t n;
    const struct ar_rules_op *ops = ar_rules_ops(r, &n);
    char *out = calloc(1, 65536);
    for (size_t i = 0; i < n; i++) {
        char *line = NULL;
        if (ops[i].rule) {
            CHECK(ar_rules_format(ops[i].rule, ops[i].rule_size, AUDIT_ARCH_X86_64, &line) >= 0);
        } else {
            line = malloc(64);
            snprintf(line, 64, "op%d mask=%u value=%u", ops[i].type, ops[i].status_mask,
                     ops[i].value);
        }
        strcat(out, line);
        strcat(out, "\n");
        free(line);
    }
    ar_rules_free(r);
    return out;
}

static void lists_as(const char *text, const char *want)
{
    char *got = listing(text);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "lists_as(\"%s\"):\n got: %s want: %s", text, got, want);
        check_failures++;
    }
    free(got);
}

/* -e 2, -f 2 and --loginuid-immutable compile (and are checked here in their
 * binary form) but the loader refuses them before it opens a socket. */
static void test_dangerous_controls(void)
{
    struct ar_rules *r = compile("-e 2\n-f 2\n--loginuid-immutable\n-e 1\n-f 1\n");
    CHECK(ar_rules_error_count(r) == 0);
    size_t n;
    const struct ar_rules_op *ops = ar_rules_ops(r, &n);
    CHECK(n == 5);
    CHECK(ops[0].type == AR_RULES_OP_SET && ops[0].status_mask == AUDIT_STATUS_ENABLED &&
          ops[0].value == 2 && ops[0].origin.line == 1);
    CHECK(ops[1].type == AR_RULES_OP_SET && ops[1].status_mask == AUDIT_STATUS_FAILURE &&
          ops[1].value == 2 && ops[1].origin.line == 2);
    CHECK(ops[2].type == AR_RULES_OP_LOGINUID_IMMUTABLE);
    CHECK(ops[3].value == 1 && ops[4].value == 1);
    ar_rules_free(r);

    /* Refused without the flags, before any kernel access (also as non-root). */
    static const char *const texts[] = {"-a always,exit -F arch=b64 -S open -k x\n-e 2\n", "-f 2\n",
                                        "--loginuid-immutable\n"};
    static const char *const want[] = {"t.rules:2: -e 2 locks", "t.rules:1: -f 2 makes",
                                       "t.rules:1: --loginuid-immutable"};
    static const unsigned allow[] = {AR_RULES_ALLOW_PANIC, AR_RULES_ALLOW_LOCK,
                                     AR_RULES_ALLOW_PANIC};
    for (size_t i = 0; i < 3; i++) {
        r = compile(texts[i]);
        struct ar_rules_session *s = NULL;
        struct ar_rules_failure f = {0};
        /* The flag for the other danger does not let this one through. */
        int rc = ar_rules_session_start(r, allow[i], NULL, &s, &f);
        CHECK(rc == -EPERM);
        CHECK(s == NULL);
        if (!strstr(f.message, want[i])) {
            fprintf(stderr, "refusal message \"%s\", expected \"%s\"\n", f.message, want[i]);
            check_failures++;
        }
        ar_rules_free(r);
    }
    /* A set with errors never starts. */
    r = compile("-a always,exit -S nosuch\n");
    struct ar_rules_session *s = NULL;
    CHECK(ar_rules_session_start(r, 0, NULL, &s, NULL) == -EINVAL);
    ar_rules_free(r);
}

/* Where auditrelay refuses what auditctl 3.0.9 silently accepts (docs/RULES.md,
 * "Differences from auditctl"). */
static void test_stricter_than_auditctl(void)
{
    refuses("-a always,exit -F arch=b64 -S open -F uid=1abc", "not a 32-bit user id");
    refuses("-a always,exit -F arch=b64 -S open -F uid=99999999999", "not a 32-bit user id");
    refuses("-a always,exit -F arch=b64 -S open -F pid=4294967296", "unsigned 32-bit");
    refuses("-a always,exit -F arch=b64 -S open -F a0=0x1ffffffff", "32-bit number");
    refuses("-a always,user -F sessionid=abc", "sessionid takes a number or unset");
    refuses("-a always,exit -F arch=b64 -S connect -F saddr_fam=inet", "address family");
    refuses("-a always,exit -F arch=b64 -S 2abc", "syscall numbers go up to");
    refuses("-b 12abc", "unsigned 32-bit number");
    refuses("-r -1", "unsigned 32-bit number");
    refuses("-a always,exit -F arch=b64 -S open -F field_compare=26", "comparisons 1 to 25");
    refuses("-a always,exit -F arch=b64 -S open -F key=", "empty key");
    refuses("-a always,exit -F arch=b64 -S open -k a\x01"
            "b",
            "control character");
    refuses("--signal TERM", "signal");
    refuses("-S open -a always,user", "takes no syscalls");
    refuses("-a always,exit -W /etc/passwd", "cannot be combined");
    refuses("-w /etc/passwd -p wa # comment", "# starts a comment");
    refuses("-i -a always,exit", "-i must be alone");
    refuses("-t -b 5", "nothing may follow -t");
    refuses("-w /etc/passwd -k a!=b", "reads as an operator");
}

/* Kernel checks made at compile time (auditctl leaves them to an EINVAL). */
static void test_kernel_checks(void)
{
    refuses("-a always,exit -F arch=b64 -S open -F euid=-1", "not a valid user id");
    refuses("-a always,exit -F arch=b64 -S open -F uid=unset", "not a valid user id");
    refuses("-a always,exit -F arch=b64 -S open -F auid<=-1", "except with = or !=");
    refuses("-a always,exit -F arch=b64 -S open -F gid=4294967295", "not a valid group id");
    refuses("-a always,exit -F arch=b64 -S open -F uid&1", "no bit operators");
    refuses("-a always,exit -F arch=b64 -S open -F exe<x", "only = and !=");
    refuses("-a always,exit -F path=/etc/ -F perm=r", "cannot end with /");
    refuses("-a always,exit -F path=etc -F perm=r", "must be absolute");
    refuses("-a always,exit -F dir=/etc -F path=/etc/x", "only one of path, dir and inode");
    refuses("-a always,exit -F arch=b64 -S open -F exe=/a -F exe=/b", "only one exe");
    refuses("-a always,exit -F arch=b64 -S open -F inode=1 -F inode=2", "only one of path");
    refuses("-a always,filesystem -F uid=0", "filesystem list takes only fstype and key");
    refuses("-a always,io_uring -F perm=r", "cannot be used on the io_uring list");
    refuses("-a always,exit -F arch=b64 -S open -k a -k b -F KEY=c", "only one key field");
    refuses(
        "-a always,exit -F arch=b64 -S chown -k dup\n-a always,exit -F arch=b64 -S chown -k dup",
        "the same rule as at t.rules:1");
}

static void test_messages(void)
{
    /* file:line and the word at fault; one error per line, every line reported. */
    struct ar_rules *r =
        compile("# comment\n\n-a always,exit -F arch=b64 -S nosuch -k a\n-w etc/passwd\n"
                "-a always,exit -F arch=b64 -S open -F nosuchfield=1\n");
    CHECK(ar_rules_error_count(r) == 3);
    size_t n;
    const struct ar_rules_diag *d = ar_rules_diags(r, &n);
    CHECK(n == 3);
    if (n == 3) {
        CHECK(d[0].origin.line == 3 &&
              strstr(d[0].message, "-S nosuch: unknown syscall for x86_64"));
        CHECK(d[1].origin.line == 4 && strstr(d[1].message, "must be absolute"));
        CHECK(d[2].origin.line == 5 && strstr(d[2].message, "nosuchfield=1: unknown field"));
        CHECK(strcmp(d[0].origin.file, "t.rules") == 0);
    }
    ar_rules_free(r);
    refuses("-a always,exit\t-F arch=b64", "control character");
    refuses("-w /etc/passwd -p wa\r", "control character");
    refuses("-a always,exit -F arch=b64 -S open -F exit=-ENOSUCH", "unknown errno name");
    refuses("-a always,exit -F arch=b64 -S open -F uid=nobody-here", "unknown user");
    refuses("-a always,exit -F arch=b64 -S open -F arch=b32", "-F arch must come before -S");
    refuses("-a always,entry -S open", "entry list is deprecated");
    refuses("-a possible,exit -S open", "'possible' is deprecated");
    refuses("-a always,exit -F arch=b64 -S open -F msgtype=SYSCALL", "cannot be used on the exit");
    refuses("-a always,exclude -F euid=0", "exclude list takes only");
    refuses("-x", "-x: unknown option");
    refuses("--reset", "ambiguous option");
    refuses("--nosuch", "unknown option");
    refuses("-F", "-F needs a value");
    refuses("-a always,exit -F arch=b64 -S open -C uid=gid", "cannot be compared");
    refuses("-R /etc/audit/audit.rules", "cannot include other rule files");
    refuses("-e 3", "must be 0, 1 or 2");
    refuses("-D -b 5", "-D must be alone");
    refuses("-a always,exit -F arch=b64 -S open -F uid=0 extra", "'extra': a word");
    refuses("-a always,exit -F arch=arm -S open", "no syscall names for arch arm");
    char longline[7000];
    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = 0;
    refuses(longline, "longer than 6143 bytes");

    /* Warnings, with the rule still compiled. */
    r = compile(
        "-a always,exit -S open -k noarch\n-w /tmp/../etc/x -p wa\n-a exit,possible -S open\n-l\n");
    CHECK(ar_rules_error_count(r) == 0);
    d = ar_rules_diags(r, &n);
    CHECK(n == 4);
    if (n == 4) {
        CHECK(strstr(d[0].message, "32-bit processes are not matched") != NULL);
        CHECK(strstr(d[1].message, ".. is not resolved") != NULL);
        CHECK(strstr(d[2].message, "line ignored") != NULL);
        CHECK(strstr(d[3].message, "ignored") != NULL);
    }
    ar_rules_ops(r, &n);
    CHECK(n == 2);
    ar_rules_free(r);
}

static void test_syntax(void)
{
    /* Option spellings: attached values, clusters, long options and their prefixes. */
    lists_as("-aalways,exit -Farch=b64 -Sopen -kk\n",
             "-a always,exit -F arch=b64 -S open -F key=k\n");
    lists_as("--backlog_wait_time=5\n--backlog 6\n--loginuid\n--reset-l\n",
             "op3 mask=32 value=5\nop3 mask=32 value=6\nop4 mask=0 value=0\nop3 mask=64 value=0\n");
    lists_as("-b 0x10 -r 010 -f 0\n", "op3 mask=16 value=16\nop3 mask=8 value=8\n"
                                      "op3 mask=2 value=0\n");
    /* Escaped spaces and backslashes, several keys, perms in any case. */
    lists_as("-w /tmp/a\\ b\\\\c -p WA -k x -k y\n", "-w /tmp/a b\\c -p wa -k x -k y\n");
    /* A directory watch loses its slash, a -F dir keeps it. */
    lists_as("-w /etc/ -p r\n-a always,exit -F dir=/etc/ -F perm=r -F uid=0\n",
             "-w /etc -p r\n-a always,exit -S all -F dir=/etc/ -F perm=r -F uid=0\n");
    /* Names: users, errno, record types, libaudit's syscall spellings, both orders. */
    lists_as("-a exit,always -F arch=b64 -S PREAD64,pwrite -F uid=alice -F exit=-eacces\n",
             "-a always,exit -F arch=b64 -S pread,pwrite -F uid=1000 -F exit=-EACCES\n");
    lists_as("-a always,user -F msgtype=user_login -F msgtype=UNKNOWN[1399]\n",
             "-a always,user -F msgtype=USER_LOGIN -F msgtype=1399\n");
    /* io_uring (not in auditctl 3.0.9; the kernel has the list). */
    lists_as("-a always,io_uring -S openat,connect -F uid=0 -k ring\n",
             "-a always,io_uring -S connect,openat -F uid=0 -F key=ring\n");
    /* auid unset is "auid!=-1" in a listing, as auditctl prints it. */
    lists_as("-a always,exit -F arch=b64 -S open -F auid!=unset -F a1=-1 -F exit=5\n",
             "-a always,exit -F arch=b64 -S open -F auid!=-1 -F a1=0xFFFFFFFF -F exit=5\n");
    /* A deletion of a rule added earlier in the same file is not a duplicate. */
    lists_as("-a always,exit -F arch=b64 -S chown -k d\n-d always,exit -F arch=b64 -S chown -k d\n"
             "-a always,exit -F arch=b64 -S chown -k d\n",
             "-a always,exit -F arch=b64 -S chown -F key=d\n"
             "-a always,exit -F arch=b64 -S chown -F key=d\n"
             "-a always,exit -F arch=b64 -S chown -F key=d\n");
    /* -A keeps the prepend flag in the compiled form; the kernel lists it without. */
    struct ar_rules *r = compile("-A always,exit -F arch=b64 -S open\n");
    size_t n;
    const struct ar_rules_op *ops = ar_rules_ops(r, &n);
    CHECK(n == 1 && (ops[0].rule->flags & AUDIT_FILTER_PREPEND));
    ar_rules_free(r);
}

static void test_augenrules_order(void)
{
    struct ar_rules_env env = {.machine = AUDIT_ARCH_X86_64};
    struct ar_rules *r;
    CHECK(ar_rules_new(&env, &r) == 0);
    const char *a = "-b 100\n-a always,exit -F arch=b64 -S open -k a\n-e 1\n-D\n";
    const char *b = "-D -k x\n-b 200 -r 5\n-f 1\n-a always,exit -F arch=b64 -S close -k b\n-e 0\n";
    ar_rules_add_text(r, "a.rules", a, strlen(a));
    ar_rules_add_text(r, "b.rules", b, strlen(b));
    CHECK(ar_rules_reorder_like_augenrules(r, 0) == 0);
    size_t n;
    const struct ar_rules_op *ops = ar_rules_ops(r, &n);
    /* First -D (a.rules:4), the last -b line whole (b.rules:2, with its -r), the
     * last -f, the rules, the last -e. */
    CHECK(n == 7);
    if (n == 7) {
        CHECK(ops[0].type == AR_RULES_OP_DELETE_ALL && ops[0].origin.line == 4 && !ops[0].text);
        CHECK(ops[1].status_mask == AUDIT_STATUS_BACKLOG_LIMIT && ops[1].value == 200);
        CHECK(ops[2].status_mask == AUDIT_STATUS_RATE_LIMIT && ops[2].value == 5);
        CHECK(ops[3].status_mask == AUDIT_STATUS_FAILURE);
        CHECK(ops[4].type == AR_RULES_OP_ADD && ops[5].type == AR_RULES_OP_ADD);
        CHECK(ops[6].status_mask == AUDIT_STATUS_ENABLED && ops[6].value == 0);
    }
    ar_rules_free(r);
}

/* Formatting what the kernel may hold that no rule file writes. */
static void test_format_odd_data(void)
{
    size_t size = sizeof(struct audit_rule_data) + 8;
    struct audit_rule_data *r = calloc(1, size);
    r->flags = AUDIT_FILTER_EXIT;
    r->action = AUDIT_ALWAYS;
    r->mask[0] = 1u << 2;
    r->field_count = 6;
    r->fields[0] = AUDIT_ARCH;
    r->fieldflags[0] = AUDIT_EQUAL;
    r->values[0] = 0x12345678; /* an arch auditctl does not know */
    r->fields[1] = AUDIT_LOGINUID_SET;
    r->fieldflags[1] = AUDIT_EQUAL;
    r->values[1] = 1;
    r->fields[2] = AUDIT_FIELD_COMPARE;
    r->fieldflags[2] = AUDIT_EQUAL;
    r->values[2] = 99;
    r->fields[3] = AUDIT_MSGTYPE;
    r->fieldflags[3] = AUDIT_NOT_EQUAL;
    r->values[3] = 2999;
    r->fields[4] = AUDIT_INODE;
    r->fieldflags[4] = AUDIT_EQUAL;
    r->values[4] = 4000000000u;
    r->fields[5] = AUDIT_FILTERKEY;
    r->fieldflags[5] = AUDIT_EQUAL;
    r->values[5] = 8;
    r->buflen = 8;
    memcpy(r->buf,
           "\x01"
           "a\x01\x01"
           "bcd\x01",
           8);
    char *line = NULL;
    CHECK(ar_rules_format(r, size, AUDIT_ARCH_X86_64, &line) > 0);
    CHECK_STR(line, "-a always,exit -F arch=0x12345678 -S 2 f24=1 -F msgtype!=2999 "
                    "-F inode=4000000000 -F key=a -F key=bcd");
    free(line);
    CHECK(ar_rules_key_matches(r, size, "cd"));
    CHECK(!ar_rules_key_matches(r, size, "x"));
    /* Malformed: strings longer than the buffer, too many fields, short data. */
    r->values[5] = 9;
    CHECK(ar_rules_format(r, size, 0, &line) == -EBADMSG);
    r->values[5] = 8;
    r->field_count = AUDIT_MAX_FIELDS + 1;
    CHECK(ar_rules_check_data(r, size) == -EBADMSG);
    r->field_count = 6;
    CHECK(ar_rules_check_data(r, size - 1) == -EBADMSG);
    CHECK(ar_rules_check_data(r, 10) == -EBADMSG);
    CHECK(ar_rules_check_data(r, size) == 0);
    /* The same rule ignoring the prepend flag; not with another key. */
    struct audit_rule_data *c = malloc(size);
    memcpy(c, r, size);
    c->flags |= AUDIT_FILTER_PREPEND;
    CHECK(ar_rules_same(r, size, c, size));
    c->buf[1] = 'z';
    CHECK(!ar_rules_same(r, size, c, size));
    free(c);
    free(r);
}

/* Every prefix of a rule file compiles without crashing or leaking, whatever the
 * result (ASan and the fuzzer do the rest). */
static void test_prefixes(void)
{
    const char *text =
        "## prefix test\n-D\n-b 8192\n-a always,exit -F arch=b64 -S open,openat -F auid>=1000 "
        "-F auid!=unset -k k1\n-w /etc/passwd -p wa -k identity\n-a never,exclude -F "
        "msgtype=CRYPTO_KEY_USER\n-A always,exit -F arch=b32 -S 5 -C uid!=euid -F "
        "exit=-EPERM -F key=x\n-w /tmp/a\\ b -p r\n-e 1\n";
    size_t len = strlen(text), compiled = 0;
    for (size_t i = 0; i <= len; i++) {
        struct ar_rules *r = compile("");
        ar_rules_add_text(r, "p.rules", text, i);
        compiled += ar_rules_error_count(r) == 0;
        ar_rules_free(r);
    }
    CHECK(compiled > 0);
}

int main(void)
{
    test_dangerous_controls();
    test_stricter_than_auditctl();
    test_kernel_checks();
    test_messages();
    test_syntax();
    test_augenrules_order();
    test_format_odd_data();
    test_prefixes();
    return check_done();
}
