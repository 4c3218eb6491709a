/* Tokenizer and header parser: cases from the corpora, then every truncated prefix of
 * every corpus line placed against a guard page (reads past the end fault). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "corpus.h"
#include "guard.h"
#include "audit/tables.h"
#include "parse/header.h"
#include "parse/tokenize.h"

static struct ar_field fields[8192];

static size_t tok(const char *s, struct ar_tokens *t)
{
    *t = (struct ar_tokens){.fields = fields, .cap = AR_ARRAY_SIZE(fields)};
    return ar_tokenize(s, s + strlen(s), t);
}

static void test_basic(void)
{
    struct ar_tokens t;
    CHECK(tok("arch=c000003e syscall=59 success=yes comm=\"cat\" key=(null)", &t) == 5);
    CHECK_SPAN(fields[0].key, "arch");
    CHECK_SPAN(fields[0].value, "c000003e");
    CHECK(fields[0].kind == AR_VAL_PLAIN);
    CHECK_SPAN(fields[3].value, "cat");
    CHECK(fields[3].kind == AR_VAL_QUOTED);
    CHECK(fields[4].kind == AR_VAL_NULL);
    CHECK(t.flags == 0);

    CHECK(tok("", &t) == 0);
    CHECK(tok("   ", &t) == 0);
    CHECK(tok("a=", &t) == 1);
    CHECK(fields[0].value.len == 0);
    CHECK(tok("name=\"a b\" x=1", &t) == 2);
    CHECK_SPAN(fields[0].value, "a b");
    CHECK(tok("name=\"unterminated x=1", &t) == 1);
    CHECK(t.flags & AR_TOK_UNTERMINATED);
    CHECK_SPAN(fields[0].value, "unterminated x=1");
}

static void test_nested(void)
{
    struct ar_tokens t;
    size_t n = tok("pid=1 uid=0 msg='op=PAM:authentication acct=\"bob\" exe=\"/bin/su\" "
                   "hostname=? res=success' extra=1", &t);
    CHECK(n == 9);
    CHECK(fields[2].kind == AR_VAL_NESTED);
    CHECK(fields[2].nested_count == 5);
    CHECK_SPAN(fields[3].key, "op");
    CHECK_SPAN(fields[3].value, "PAM:authentication");
    CHECK(fields[3].depth == 1);
    CHECK_SPAN(fields[6].value, "?");
    CHECK_SPAN(fields[7].value, "success");
    CHECK_SPAN(fields[8].key, "extra");
    CHECK(fields[8].depth == 0);
    /* Old PAM punctuation is not part of the values, and the next field still
     * starts after it. */
    n = tok("msg='(hostname=?, addr=?, terminal=cron res=success)' x=1", &t);
    CHECK(n == 6);
    CHECK_SPAN(fields[1].key, "hostname");
    CHECK_SPAN(fields[1].value, "?");
    CHECK_SPAN(fields[2].key, "addr");
    CHECK_SPAN(fields[2].value, "?");
    CHECK_SPAN(fields[3].value, "cron");
    CHECK_SPAN(fields[4].value, "success");
    CHECK_SPAN(fields[5].key, "x");
    CHECK_SPAN(fields[5].value, "1");
}

static void test_run_on_values(void)
{
    struct ar_tokens t;
    /* auditbeat passwd.log: unquoted values with spaces. */
    tok("msg='op=changing /etc/group; group bob/1003, new name: bobby acct=\"bob\" res=success'",
        &t);
    CHECK_SPAN(fields[1].key, "op");
    CHECK_SPAN(fields[1].value, "changing /etc/group; group bob/1003, new name: bobby");
    CHECK_SPAN(fields[2].value, "bob");
    /* Old DAEMON_START bodies and `user pid=` (auditbeat userlogin.log): bare words. */
    size_t n = tok("auditd start, ver=2.4.1 format=raw", &t);
    CHECK(n == 4);
    CHECK(fields[0].kind == AR_VAL_BARE);
    CHECK_SPAN(fields[0].value, "auditd");
    CHECK_SPAN(fields[1].value, "start,");
    CHECK_SPAN(fields[2].value, "2.4.1");
    tok("user pid=374 uid=0", &t);
    CHECK(fields[0].kind == AR_VAL_BARE);
    CHECK_SPAN(fields[1].key, "pid");
    /* AVC: words then keys. */
    n = tok("avc:  denied  { read } for  pid=1 comm=\"x\"", &t);
    CHECK(n == 8);
    CHECK_SPAN(fields[5].value, "for");
    CHECK_SPAN(fields[6].key, "pid");
}

static void test_truncation_cap(void)
{
    struct ar_field small[2];
    struct ar_tokens t = {.fields = small, .cap = 2};
    const char *s = "a=1 b=2 c=3 d=4";
    CHECK(ar_tokenize(s, s + strlen(s), &t) == 2);
    CHECK(t.flags & AR_TOK_TRUNCATED);
}

/* Numbers as the tokenizer's callers read them: every u64, nothing past it. */
static void test_span_numbers(void)
{
    static const struct {
        const char *text;
        bool ok;
        uint64_t value;
    } cases[] = {
        {"0", true, 0},
        {"42", true, 42},
        {"1844674407370955161", true, UINT64_C(1844674407370955161)},
        {"9999999999999999999", true, UINT64_C(9999999999999999999)},
        {"18446744073709551615", true, UINT64_MAX},
        {"18446744073709551616", false, 0},
        {"99999999999999999999", false, 0},
        {"184467440737095516150", false, 0},
        {"1844674407370955161x", false, 0},
        {"012", false, 0},
        {"", false, 0},
        {"12a", false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 0;
        bool ok = ar_span_to_u64((struct ar_span){cases[i].text, strlen(cases[i].text)}, &v);
        CHECK(ok == cases[i].ok);
        if (ok)
            CHECK(v == cases[i].value);
    }
    int64_t iv = 0;
    CHECK(ar_span_to_i64((struct ar_span){"-9223372036854775808", 20}, &iv) && iv == INT64_MIN);
    CHECK(!ar_span_to_i64((struct ar_span){"9223372036854775808", 19}, &iv));
    CHECK(!ar_span_to_i64((struct ar_span){"-0", 2}, &iv));
}

static void test_headers(void)
{
    struct ar_record r;
    const char *l = "type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) == 0);
    CHECK(r.type == 1300);
    CHECK(r.sec == 1615114232 && r.msec == 375 && r.serial == 15558);
    CHECK_SPAN(r.body, "arch=c000003e syscall=59");
    CHECK(r.node.len == 0 && r.enriched.len == 0);

    l = "node=work type=PATH msg=audit(1.002:3): item=0 name=\"x\"\x1dOUID=\"root\"";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) == 0);
    CHECK_SPAN(r.node, "work");
    CHECK(r.type == 1302 && r.msec == 2);
    CHECK_SPAN(r.body, "item=0 name=\"x\"");
    CHECK_SPAN(r.enriched, "OUID=\"root\"");

    l = "type=UNKNOWN[1334] msg=audit(1626883065.201:216697): prog-id=45 op=UNLOAD";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) == 0);
    CHECK(r.type == 1334 && r.serial == 216697);

    l = "type=UNKNOWN[1329] msg=?";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) == 0);
    CHECK(r.type == 1329 && !r.has_time);

    l = "type=1300 msg=audit(5.000:4294967295): x=1";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) == 0);
    CHECK(r.serial == 4294967295u);
    l = "type=1300 msg=audit(5.000:4294967296): x=1";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) < 0);

    l = "audit: type=1400 audit(1700000000.123:77): apparmor=\"DENIED\"";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) == 0);
    CHECK(r.type == 1400 && r.serial == 77);

    l = "type=NOT_A_TYPE msg=audit(1.000:1): x";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) < 0);
    l = "hello world";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) < 0);
    l = "type=SYSCALL msg=audit(1.000:1 x=1";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) < 0);
    /* audit-rhel7.log: auditd 2.x DAEMON_CONFIG without the colon. */
    l = "type=DAEMON_CONFIG msg=audit(1490239800.477:34) config changed, auid=0";
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &r) == 0);
    CHECK_SPAN(r.body, "config changed, auid=0");

    /* A reader's stamp memo: the same text takes the memo's numbers; any other
     * stamp (a longer serial, another millisecond form) is read again. */
    struct ar_stamp_memo memo = {0};
    const char *seq[] = {
        "type=SYSCALL msg=audit(1700000000.123:12): a=1",
        "type=PATH msg=audit(1700000000.123:12): b=2",
        "type=PATH msg=audit(1700000000.123:123): c=3",
        "type=PATH msg=audit(1700000000.123:12) config changed",
        "type=PATH msg=audit(1700000000.1:12): d=4",
        "type=PATH msg=audit(1700000000.123:12",
        "type=PATH msg=audit(1700000000.123:12): e=5",
    };
    for (size_t i = 0; i < AR_ARRAY_SIZE(seq); i++) {
        struct ar_record plain, memoized;
        int want = ar_header_parse_line(seq[i], seq[i] + strlen(seq[i]), NULL, &plain);
        CHECK(ar_header_parse_line(seq[i], seq[i] + strlen(seq[i]), &memo, &memoized) == want);
        CHECK(want < 0 || (plain.sec == memoized.sec && plain.msec == memoized.msec &&
                           plain.serial == memoized.serial &&
                           plain.body.p == memoized.body.p && plain.body.len == memoized.body.len));
    }
    CHECK(memo.serial == 12 && memo.msec == 123 && memo.len == strlen("audit(1700000000.123:12)"));

    /* The parser's shortcut for common types agrees with the generated table. */
    const char *common[] = {"SYSCALL", "PATH", "CWD", "PROCTITLE", "EXECVE", "SOCKADDR", "EOE",
                            "USER_AUTH", "AVC"};
    for (size_t i = 0; i < AR_ARRAY_SIZE(common); i++) {
        char line[128];
        snprintf(line, sizeof(line), "type=%s msg=audit(1.000:1): x=1", common[i]);
        uint32_t want;
        CHECK(ar_rectype_from_name((struct ar_span){common[i], strlen(common[i])}, &want));
        CHECK(ar_header_parse_line(line, line + strlen(line), NULL, &r) == 0 && r.type == want);
    }

    /* Netlink form: numeric type outside, trailing NULs trimmed. */
    const char nl[] = "audit(1700000000.001:9): op=set\0\0";
    CHECK(ar_header_parse_netlink(1305, nl, nl + sizeof(nl) - 1, NULL, &r) == 0);
    CHECK(r.type == 1305 && r.serial == 9);
    CHECK_SPAN(r.body, "op=set");

    /* A kernel record has no ENRICHED part: the separator byte a user message
     * carries (the kernel logs their text verbatim) stays in the body. */
    const char inj[] = "audit(1700000000.001:10): pid=1 uid=0 msg='hi\x1dUID=\"faked\"'";
    CHECK(ar_header_parse_netlink(1107, inj, inj + sizeof(inj) - 1, NULL, &r) == 0);
    CHECK(r.body.len == strlen(inj) - strlen("audit(1700000000.001:10): "));
    CHECK(r.enriched.len == 0);
    /* A log line's is auditd's own. */
    const char logline[] = "type=USER_AVC msg=audit(1700000000.001:10): pid=1 uid=0\x1dUID=\"root\"";
    CHECK(ar_header_parse_line(logline, logline + sizeof(logline) - 1, NULL, &r) == 0);
    CHECK_SPAN(r.body, "pid=1 uid=0");
    CHECK_SPAN(r.enriched, "UID=\"root\"");
}

/* ar_tokenize_plain_until gives ar_tokenize's fields for the text before the stop
 * key (up to the space before it), or says no. */
static size_t plain_runs_checked;

static bool same_tokens(const struct ar_field *a, size_t na, const struct ar_field *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (a[i].key.p != b[i].key.p || a[i].key.len != b[i].key.len ||
            a[i].value.p != b[i].value.p || a[i].value.len != b[i].value.len ||
            a[i].kind != b[i].kind || a[i].depth != b[i].depth ||
            a[i].nested_count != b[i].nested_count)
            return false;
    return true;
}

static size_t kernel_heads_checked;

static void check_plain_until(const char *p, const char *end)
{
    static struct ar_field plain[64], full[64], head[64];
    struct ar_tokens tp = {.fields = plain, .cap = AR_ARRAY_SIZE(plain)};
    struct ar_tokens th = {.fields = head, .cap = AR_ARRAY_SIZE(head)};
    const char *stop, *head_stop;
    bool kernel_head = ar_tokenize_syscall_head(p, end, &th, &head_stop);
    if (!ar_tokenize_plain_until(p, end, AR_SPAN_LIT("auid"), &tp, &stop)) {
        CHECK(!kernel_head); /* the kernel's head is a plain run */
        return;
    }
    if (kernel_head) {
        CHECK(head_stop == stop);
        CHECK(same_tokens(head, th.n, plain, tp.n));
        kernel_heads_checked++;
    }
    CHECK(stop > p && stop < end && stop[-1] == ' ');
    struct ar_tokens tf = {.fields = full, .cap = AR_ARRAY_SIZE(full)};
    ar_tokenize(p, stop - 1, &tf);
    CHECK(tf.flags == 0);
    CHECK(same_tokens(plain, tp.n, full, tf.n));
    plain_runs_checked++;
}

static void test_plain_until(void)
{
    static const struct {
        const char *text;
        bool plain;
        size_t n;
    } cases[] = {
        {"arch=c000003e syscall=2 success=yes exit=3 a0=1 ppid=1 pid=2 auid=1000 uid=0", true, 7},
        {"a=1  b=(null) auid=2", true, 2},
        {"a=1 word auid=2", false, 0},      /* a word: its own field */
        {"op=x y auid=2", false, 0},        /* op runs on over words */
        {"a=\"x y\" auid=2", false, 0},     /* quoted */
        {"a=\"xy\" auid=2", false, 0},      /* quoted, no space */
        {"op=x auid=2", true, 1},           /* op runs on over words only */
        {"a='m=1' auid=2", false, 0},       /* nested */
        {"a={ x } auid=2", false, 0},       /* braced */
        {"auid=1 a=2", false, 0},           /* nothing before the stop */
        {"a=1 b=2", false, 0},              /* no stop */
        {"a=1 xauid=2 auid=3", true, 2},    /* only the whole key stops */
    };
    static const char *heads[] = {
        "arch=c000003e syscall=2 success=yes exit=3 a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2 auid=0",
        "arch=c000003e syscall=2 success=yes exit= a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2 auid=0",
        "arch=c000003e syscall=2 success=yes exit=(null) a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2 auid=0",
        "arch=c000003e syscall=2 success=yes exit=3 a0=1=2 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2 auid=0",
    };
    for (size_t i = 0; i < AR_ARRAY_SIZE(heads); i++) {
        const char *p = heads[i], *end = p + strlen(p), *stop;
        struct ar_tokens t = {.fields = fields, .cap = AR_ARRAY_SIZE(fields)};
        CHECK(ar_tokenize_syscall_head(p, end, &t, &stop) && t.n == 11);
        check_plain_until(p, end);
    }
    static const char *not_heads[] = {
        "arch=c000003e  syscall=2 success=yes exit=3 a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2 auid=0",
        "arch=c000003e syscall=2 success=\"yes\" exit=3 a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2 auid=0",
        "arch=c000003e syscall=2 success=yes exit=3 a0=1 a1=0 a2=0 items=1 ppid=1 pid=2 auid=0",
        "arch=c000003e syscall=2 success=yes exit=3 a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2",
    };
    for (size_t i = 0; i < AR_ARRAY_SIZE(not_heads); i++) {
        const char *p = not_heads[i], *stop;
        struct ar_tokens t = {.fields = fields, .cap = AR_ARRAY_SIZE(fields)};
        CHECK(!ar_tokenize_syscall_head(p, p + strlen(p), &t, &stop));
    }
    for (size_t i = 0; i < AR_ARRAY_SIZE(cases); i++) {
        const char *p = cases[i].text, *end = p + strlen(p);
        struct ar_tokens t = {.fields = fields, .cap = AR_ARRAY_SIZE(fields)};
        const char *stop;
        bool plain = ar_tokenize_plain_until(p, end, AR_SPAN_LIT("auid"), &t, &stop);
        CHECK(plain == cases[i].plain);
        if (plain) {
            CHECK(t.n == cases[i].n);
            CHECK(strncmp(stop, "auid=", 5) == 0);
            if (i == 1)
                CHECK(fields[1].kind == AR_VAL_NULL);
        }
        check_plain_until(p, end);
    }
}

/* ---- every prefix of every corpus line, against a guard page ---- */

static struct guard_buf guard;
static size_t lines_checked;

static void check_all_prefixes(const char *line, size_t len)
{
    for (size_t n = 0; n <= len; n++) {
        const char *p = guard_place(&guard, line, n);
        struct ar_record r;
        if (ar_header_parse_line(p, p + n, NULL, &r) == 0) {
            struct ar_tokens t = {.fields = fields, .cap = AR_ARRAY_SIZE(fields)};
            ar_tokenize(r.body.p, r.body.p + r.body.len, &t);
            ar_tokenize(r.enriched.p, r.enriched.p + r.enriched.len, &t);
        }
        /* The body alone, as a tokenizer-only input. */
        struct ar_tokens t = {.fields = fields, .cap = AR_ARRAY_SIZE(fields)};
        ar_tokenize(p, p + n, &t);
        if (ar_header_parse_line(p, p + n, NULL, &r) == 0)
            check_plain_until(r.body.p, r.body.p + r.body.len);
    }
    lines_checked++;
}

static void scan_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        check_all_prefixes(line, (size_t)n);
    }
    free(line);
    fclose(f);
}

int main(int argc, char **argv)
{
    test_basic();
    test_nested();
    test_run_on_values();
    test_truncation_cap();
    test_headers();
    test_span_numbers();
    test_plain_until();
    if (argc > 1) {
        CHECK(guard_init(&guard, 1 << 20) == 0);
        corpus_each_file(argv[1], scan_file);
        CHECK(lines_checked > 900);
        fprintf(stderr, "every prefix of %zu corpus lines checked against a guard page\n",
                lines_checked);
        /* SYSCALL records' heads, whole and cut at every length. */
        CHECK(plain_runs_checked > 1000 && kernel_heads_checked > 1000);
        fprintf(stderr, "%zu plain runs up to auid= tokenized as ar_tokenize does, %zu of them "
                        "as the kernel writes a SYSCALL head\n",
                plain_runs_checked, kernel_heads_checked);
        guard_free(&guard);
    }
    return check_done();
}
