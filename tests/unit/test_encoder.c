/* Encoder: the JSON contract (parsed back with cJSON), interpretation of ids,
 * syscalls, errno, hex, proctitle, EXECVE joining, sockaddr, UTF-8 safety, and
 * go-audit's shape. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "corpus.h"
#include "encode/encoder.h"
#include "enrich/decode.h"
#include "parse/header.h"

static int fake_lookup(enum ar_id_kind kind, uint32_t id, char *buf, size_t size)
{
    const char *name = id == 0 ? "root" : id == 1000 ? (kind == AR_ID_USER ? "alice" : "staff") : NULL;
    if (!name)
        return -ENOENT;
    snprintf(buf, size, "%s", name);
    return (int)strlen(name);
}

static char last_line[1 << 20];
static struct ar_encoder_stats last_stats; /* of the last encode_to_text */

static void on_event(const struct ar_event *ev, void *ud)
{
    struct ar_encoder *enc = ud;
    struct ar_buf out = {0};
    CHECK(ar_encoder_event(enc, ev, &out) == 0);
    CHECK(out.len > 0 && out.p[out.len - 1] == '\n');
    size_t n = out.len < sizeof(last_line) - 1 ? out.len : sizeof(last_line) - 1;
    memcpy(last_line, out.p, n);
    last_line[n] = 0;
    ar_buf_free(&out);
}

/* Runs raw log lines through reassembly and the encoder in `format`: the last
 * event's output in last_line. */
static void encode_to_text(const char *format, const char *const *lines, size_t n)
{
    struct ar_idcache *ids;
    CHECK(ar_idcache_new(fake_lookup, &ids) == 0);
    struct ar_encoder_config ecfg = {.source = "replay", .native_arch = 0xc000003e};
    CHECK((ecfg.format = ar_format_find(format)) != NULL);
    struct ar_encoder *enc;
    CHECK(ar_encoder_new(&ecfg, ids, &enc) == 0);
    struct ar_reasm_config rcfg;
    ar_reasm_config_default(&rcfg);
    struct ar_reasm_callbacks cbs = {.event = on_event, .userdata = enc};
    struct ar_reasm *r;
    CHECK(ar_reasm_new(&rcfg, &cbs, &r) == 0);
    last_line[0] = 0;
    for (size_t i = 0; i < n; i++) {
        struct ar_record rec;
        CHECK(ar_header_parse_line(lines[i], lines[i] + strlen(lines[i]), NULL, &rec) == 0);
        CHECK(ar_reasm_push(r, &rec, 0) == 0);
    }
    ar_reasm_flush(r);
    ar_reasm_free(r);
    last_stats = *ar_encoder_stats(enc);
    ar_encoder_free(enc);
    ar_idcache_free(ids);
}

/* The same in a JSON format: the last event parsed. */
static cJSON *encode_lines(const char *format, const char *const *lines, size_t n)
{
    encode_to_text(format, lines, n);
    cJSON *j = cJSON_Parse(last_line);
    if (!j)
        fprintf(stderr, "not JSON: %s\n", last_line);
    CHECK(j != NULL);
    return j;
}

static const char *str_at(cJSON *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    cJSON *cur = j;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        if (tok[0] >= '0' && tok[0] <= '9')
            cur = cJSON_GetArrayItem(cur, atoi(tok));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    }
    return cur && cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static double num_at(cJSON *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    cJSON *cur = j;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        if (tok[0] >= '0' && tok[0] <= '9')
            cur = cJSON_GetArrayItem(cur, atoi(tok));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    }
    return cur && cJSON_IsNumber(cur) ? cur->valuedouble : -12345;
}

static void test_syscall_event(void)
{
    const char *lines[] = {
        "type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=257 success=no "
        "exit=-2 a0=ffffff9c a1=7ffd a2=0 a3=0 items=1 ppid=10883 pid=10884 auid=1000 uid=0 "
        "gid=1000 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 ses=1 comm=\"cat\" "
        "exe=\"/usr/bin/cat\" key=\"watch-passwd\"",
        "type=CWD msg=audit(1615114232.375:15558): cwd=\"/home/user\"",
        ("type=PATH msg=audit(1615114232.375:15558): item=0 name=2F746D702F6120622063 inode=5 "
         "dev=ca:03 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0"),
        "type=PROCTITLE msg=audit(1615114232.375:15558): proctitle=636174002F746D702F612062",
    };
    cJSON *j = encode_lines("json", lines, 4);
    CHECK_STR(str_at(j, "timestamp"), "2021-03-07T10:50:32.375Z");
    CHECK(num_at(j, "serial") == 15558);
    CHECK_STR(str_at(j, "syscall"), "openat");
    CHECK_STR(str_at(j, "arch"), "x86_64");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "success")));
    CHECK(num_at(j, "exit") == -2);
    CHECK_STR(str_at(j, "errno"), "ENOENT");
    CHECK_STR(str_at(j, "user"), "root");
    CHECK_STR(str_at(j, "login_user"), "alice");
    CHECK_STR(str_at(j, "exe"), "/usr/bin/cat");
    CHECK_STR(str_at(j, "key"), "watch-passwd");
    CHECK_STR(str_at(j, "cwd"), "/home/user");
    CHECK_STR(str_at(j, "paths.0"), "/tmp/a b c");
    CHECK_STR(str_at(j, "proctitle.0"), "cat");
    CHECK_STR(str_at(j, "proctitle.1"), "/tmp/a b");
    CHECK_STR(str_at(j, "records.0.type"), "SYSCALL");
    CHECK_STR(str_at(j, "records.0.fields.a0"), "ffffff9c");
    CHECK_STR(str_at(j, "records.0.fields.a2"), "0"); /* hex args stay strings */
    CHECK(num_at(j, "records.0.fields.pid") == 10884);
    CHECK_STR(str_at(j, "records.0.interp.syscall"), "openat");
    CHECK_STR(str_at(j, "records.0.interp.exit"), "ENOENT");
    CHECK_STR(str_at(j, "records.0.interp.gid"), "staff");
    CHECK_STR(str_at(j, "records.2.fields.name"), "2F746D702F6120622063");
    CHECK_STR(str_at(j, "records.2.interp.name"), "/tmp/a b c");
    CHECK_STR(str_at(j, "records.2.fields.mode"), "0100644");
    CHECK_STR(str_at(j, "records.2.interp.mode"), "file,644");
    CHECK_STR(str_at(j, "records.3.interp.argv.1"), "/tmp/a b");
    cJSON_Delete(j);
}

static void test_execve_long_and_split(void)
{
    /* a1 split into chunks (hex), a2 in the next EXECVE record. */
    const char *lines[] = {
        ("type=SYSCALL msg=audit(1.000:7): arch=c000003e syscall=59 success=yes exit=0 pid=1 "
         "uid=0 auid=0"),
        "type=EXECVE msg=audit(1.000:7): argc=3 a0=\"echo\" a1_len=6 a1[0]=616263 a1[1]=\"def\"",
        "type=EXECVE msg=audit(1.000:7): a2=\"last\"",
        "type=PROCTITLE msg=audit(1.000:7): proctitle=\"echo\"",
    };
    cJSON *j = encode_lines("json", lines, 4);
    CHECK_STR(str_at(j, "argv.0"), "echo");
    CHECK_STR(str_at(j, "argv.1"), "abcdef");
    CHECK_STR(str_at(j, "argv.2"), "last");
    CHECK_STR(str_at(j, "syscall"), "execve");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "success")));
    cJSON_Delete(j);
}

static void test_sockaddr(void)
{
    const char *lines[] = {
        "type=SOCKADDR msg=audit(1.000:8): saddr=020000357F0000010000000000000000",
        "type=SYSCALL msg=audit(1.000:8): arch=c000003e syscall=42 success=yes exit=0",
        "type=PROCTITLE msg=audit(1.000:8): proctitle=\"x\"",
    };
    cJSON *j = encode_lines("json", lines, 3);
    CHECK_STR(str_at(j, "sockaddr.family"), "inet");
    CHECK_STR(str_at(j, "sockaddr.addr"), "127.0.0.1");
    CHECK(num_at(j, "sockaddr.port") == 53);
    CHECK_STR(str_at(j, "syscall"), "connect");
    cJSON_Delete(j);
    const char *unix_lines[] = {
        "type=SOCKADDR msg=audit(1.000:9): saddr=01002F72756E2F6E7363642F736F636B657400",
    };
    j = encode_lines("json", unix_lines, 1);
    CHECK_STR(str_at(j, "records.0.interp.saddr.family"), "local");
    CHECK_STR(str_at(j, "records.0.interp.saddr.path"), "/run/nscd/socket");
    cJSON_Delete(j);
}

/* The summary's proctitle and sockaddr are the records' interpretations written
 * again (copied from the first, jsonvalue.c's memo): same text, and an invalid byte
 * is counted in both places as when each was encoded. */
static void test_summary_repeats_records(void)
{
    const char *lines[] = {
        "type=SYSCALL msg=audit(1.000:12): arch=c000003e syscall=42 success=yes exit=0",
        "type=SOCKADDR msg=audit(1.000:12): saddr=01002F746D702F73FF00",
        "type=PROCTITLE msg=audit(1.000:12): proctitle=6E6300FF2D55",
    };
    cJSON *j = encode_lines("json", lines, 3);
    CHECK_STR(str_at(j, "proctitle.0"), "nc");
    CHECK_STR(str_at(j, "proctitle.1"), "\xef\xbf\xbd-U");
    CHECK_STR(str_at(j, "records.2.interp.argv.1"), "\xef\xbf\xbd-U");
    CHECK_STR(str_at(j, "sockaddr.path"), "/tmp/s\xef\xbf\xbd");
    CHECK_STR(str_at(j, "records.1.interp.saddr.path"), "/tmp/s\xef\xbf\xbd");
    char *summary = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "sockaddr"));
    char *record = cJSON_PrintUnformatted(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "records"), 1), "interp"),
        "saddr"));
    CHECK(summary && record && strcmp(summary, record) == 0);
    cJSON_free(summary);
    cJSON_free(record);
    CHECK(last_stats.invalid_utf8 == 5); /* also the summary object's primary */
    cJSON_Delete(j);
}

/* ar_hex_decode and ar_is_hex_string against a digit-by-digit reading: every even
 * length up to 40, both cases, and each non-digit neighbour of the digit ranges at
 * every position is refused. */
static void test_hex_decode(void)
{
    static const char digits[] = "0123456789abcdefABCDEF";
    static const char bad[] = {'/', ':', '@', 'G', '`', 'g', ' ', '\0', (char)0xb1, (char)0xe1};
    unsigned seed = 7;
    for (size_t len = 0; len <= 40; len += 2) {
        char in[40];
        unsigned char want[20], got[20];
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245 + 12345;
            in[i] = digits[(seed >> 16) % 22];
        }
        for (size_t i = 0; i < len; i += 2) {
            unsigned hi = (unsigned)(strchr(digits, in[i]) - digits),
                     lo = (unsigned)(strchr(digits, in[i + 1]) - digits);
            want[i / 2] = (unsigned char)((hi < 16 ? hi : hi - 6) << 4 | (lo < 16 ? lo : lo - 6));
        }
        CHECK(ar_hex_decode((struct ar_span){in, len}, got) == (int)(len / 2));
        CHECK(memcmp(got, want, len / 2) == 0);
        CHECK(ar_is_hex_string((struct ar_span){in, len}) == (len > 0));
        for (size_t at = 0; at < len; at++)
            for (size_t k = 0; k < sizeof(bad); k++) {
                char c = in[at];
                in[at] = bad[k];
                CHECK(ar_hex_decode((struct ar_span){in, len}, got) == -EINVAL);
                CHECK(!ar_is_hex_string((struct ar_span){in, len}));
                in[at] = c;
            }
    }
    CHECK(ar_hex_decode((struct ar_span){"abc", 3}, (unsigned char[2]){0}) == -EINVAL);
}

/* ar_ipv4_text writes what inet_ntop writes, for every value of each octet. */
static void test_ipv4_text(void)
{
    for (int pos = 0; pos < 4; pos++)
        for (int v = 0; v < 256; v++) {
            unsigned char ip[4] = {10, 0, 200, 7};
            ip[pos] = (unsigned char)v;
            char ours[16], theirs[INET_ADDRSTRLEN];
            size_t n = ar_ipv4_text(ip, ours);
            inet_ntop(AF_INET, ip, theirs, sizeof(theirs));
            CHECK_STR(ours, theirs);
            CHECK(n == strlen(theirs));
        }
}

/* ar_json_decimal copies exactly the numbers ar_span_to_i64 + ar_buf_i64 would
 * rewrite, and they come out the same. */
static void test_json_decimal(void)
{
    static const char *texts[] = {"0", "7", "-1", "-0", "00", "012", "-012", "4294967295",
                                  "9223372036854775807", "9223372036854775808",
                                  "-9223372036854775808", "-9223372036854775809",
                                  "18446744073709551615", "12345678901234567890", "1e3",
                                  "+5", "-", "", "3 ", "0x10"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct ar_buf a = {0}, b = {0};
        int64_t v;
        bool conv = ar_span_to_i64((struct ar_span){texts[i], strlen(texts[i])}, &v);
        if (conv)
            ar_buf_i64(&a, v);
        bool copied = ar_json_decimal(&b, texts[i], strlen(texts[i]));
        CHECK(copied == conv);
        CHECK(a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
        ar_buf_free(&a);
        ar_buf_free(&b);
    }
}

/* ar_json_string and ar_json_key against the expected text for every length up to
 * 40 with one byte that needs care at every position: the word-wise fast path with
 * its overlapping tail loads must agree with the byte-wise escaping. */
static void test_json_string_lengths(void)
{
    static const struct {
        const char *in, *out;
        bool valid;
    } specials[] = {
        {"\"", "\\\"", true}, {"\\", "\\\\", true}, {"\x01", "\\u0001", true},
        {"\n", "\\n", true}, {"\xc3\xa9", "\xc3\xa9", true}, {"\xff", "\xef\xbf\xbd", false},
        {"", "", true},
    };
    for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++)
        for (size_t len = 0; len <= 40; len++)
            for (size_t at = 0; at <= len; at++) {
                char in[64], want[96];
                size_t n = 0, w = 0;
                want[w++] = '"';
                for (size_t i = 0; i <= len; i++) {
                    if (i == at) {
                        memcpy(in + n, specials[k].in, strlen(specials[k].in));
                        n += strlen(specials[k].in);
                        memcpy(want + w, specials[k].out, strlen(specials[k].out));
                        w += strlen(specials[k].out);
                    }
                    if (i < len) {
                        in[n++] = (char)('a' + i % 26);
                        want[w++] = (char)('a' + i % 26);
                    }
                }
                want[w++] = '"';
                struct ar_buf b = {0};
                bool valid = ar_json_string(&b, in, n, AR_JSON_ESCAPE_MINIMAL);
                CHECK(valid == specials[k].valid);
                CHECK(b.len == w && memcmp(b.p, want, w) == 0);
                b.len = 0;
                if (n > 0) {
                    ar_json_key(&b, in, n);
                    want[w++] = ':';
                    CHECK(b.len == w && memcmp(b.p, want, w) == 0);
                }
                ar_buf_free(&b);
            }
}

/* ar_buf_u64 (two digits at a time) writes what printf writes, around every power
 * of ten and at the ends. */
static void test_buf_u64(void)
{
    uint64_t p = 1;
    for (int k = 0; k <= 20; k++) {
        uint64_t vals[] = {p - 1, p, p + 1, p * 5 + 3, UINT64_MAX - (uint64_t)k};
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            char want[32];
            int n = snprintf(want, sizeof(want), "%llu", (unsigned long long)vals[i]);
            struct ar_buf b = {0};
            ar_buf_u64(&b, vals[i]);
            CHECK(b.len == (size_t)n && memcmp(b.p, want, b.len) == 0);
            ar_buf_free(&b);
        }
        if (k < 19)
            p *= 10;
    }
}

static void test_user_msg_and_enriched(void)
{
    const char *lines[] = {
        "type=USER_AUTH msg=audit(1552714590.571:21114): pid=11312 uid=0 auid=4294967295 ses=62 "
        "msg='op=PAM:authentication acct=\"bob\" exe=\"/bin/su\" hostname=localhost "
        "addr=127.0.0.1 terminal=/dev/pts/0 res=success'\x1dUID=\"remote-root\" AUID=\"unset\"",
    };
    cJSON *j = encode_lines("json", lines, 1);
    CHECK_STR(str_at(j, "type"), "USER_AUTH");
    CHECK_STR(str_at(j, "category"), "user");
    CHECK_STR(str_at(j, "acct"), "bob");
    CHECK_STR(str_at(j, "op"), "PAM:authentication");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "success")));
    CHECK_STR(str_at(j, "records.0.fields.msg.exe"), "/bin/su");
    CHECK_STR(str_at(j, "records.0.interp.uid"), "remote-root"); /* from ENRICHED */
    CHECK_STR(str_at(j, "records.0.enriched.AUID"), "unset");
    CHECK_STR(str_at(j, "login_user"), "unset");
    cJSON_Delete(j);
}

static void test_hostile_bytes(void)
{
    /* Control characters and invalid UTF-8 from the input still give valid JSON, and
     * the raw bytes survive as hex. */
    const char *lines[] = {
        "type=USER_CMD msg=audit(1.000:10): pid=1 cmd=\"a\x01\tb\" bad=\"\xff\xfe\" "
        "odd=\"\\\"q\"",
    };
    cJSON *j = encode_lines("json", lines, 1);
    CHECK_STR(str_at(j, "records.0.fields.cmd"), "a\x01\tb");
    CHECK_STR(str_at(j, "records.0.fields.bad"), "\xef\xbf\xbd\xef\xbf\xbd");
    { cJSON *f = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "records"), 0), "fields"), "bad.hex"); CHECK(f && cJSON_IsString(f) && strcmp(f->valuestring, "fffe") == 0); }
    cJSON_Delete(j);
}

static void test_duplicates_and_words(void)
{
    const char *lines[] = {
        "type=DAEMON_START msg=audit(1.000:11): auditd start, ver=2.4.1 res=success res=failed",
    };
    cJSON *j = encode_lines("json", lines, 1);
    CHECK_STR(str_at(j, "records.0.fields.words.0"), "auditd");
    CHECK_STR(str_at(j, "records.0.fields.words.1"), "start,");
    CHECK_STR(str_at(j, "records.0.fields.res"), "success");
    CHECK_STR(str_at(j, "records.0.fields.res#2"), "failed");
    cJSON_Delete(j);
}

/* Repeats among keys without an id (json.c's per-level table, and its linear
 * count once a level has filled half of it): named key#2, key#3 in the order they
 * come, at each level and in each nested msg='...' on its own. The first line fills
 * the encoder's key table (AR_KEYS_SLOTS names), so the second one's keys have no id. */
static void test_many_repeated_keys(void)
{
    static char fill[32 * 1024], line[96 * 1024];
    size_t n = (size_t)snprintf(fill, sizeof(fill), "type=USER_CMD msg=audit(1.000:14):");
    for (int i = 0; i < 1024 + 10; i++) /* encode/keys.h: AR_KEYS_SLOTS names */
        n += (size_t)snprintf(fill + n, sizeof(fill) - n, " f%d=%d", i, i);
    n = (size_t)snprintf(line, sizeof(line),
                         "type=USER_CMD msg=audit(1.000:15): msg='g7=a g7=b' msg2='g7=c'");
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " g%d=%d", i, i);
    n += (size_t)snprintf(line + n, sizeof(line) - n, " g7=x g2990=y g7=z");
    const char *lines[] = {fill, line};
    cJSON *j = encode_lines("json", lines, 2);
    CHECK_STR(str_at(j, "records.0.fields.msg.g7"), "a");
    CHECK_STR(str_at(j, "records.0.fields.msg.g7#2"), "b");
    CHECK_STR(str_at(j, "records.0.fields.msg2.g7"), "c");
    CHECK(num_at(j, "records.0.fields.g7") == 7);
    CHECK_STR(str_at(j, "records.0.fields.g7#2"), "x");
    CHECK_STR(str_at(j, "records.0.fields.g7#3"), "z");
    CHECK(num_at(j, "records.0.fields.g2990") == 2990);
    CHECK_STR(str_at(j, "records.0.fields.g2990#2"), "y");
    CHECK(num_at(j, "records.0.fields.g2999") == 2999);
    CHECK(str_at(j, "records.0.fields.g2999#2") == NULL);
    cJSON_Delete(j);
}

/* Member names come from the encoder's key table (encode/keys.c): repeats across
 * a nested msg='...' level, names longer than 16 bytes or needing escapes, and
 * more distinct names than the table keeps (all one encoder, one event) are named
 * as before. */
static void test_key_table(void)
{
    static char line[64 * 1024];
    size_t n = (size_t)snprintf(line, sizeof(line),
                                "type=USER_CMD msg=audit(1.000:13): pid=1 uid=0 msg='pid=2 uid=5 "
                                "pid=3' pid=4 a_name_longer_than_16=x a_name_longer_than_16=y "
                                "k\\ey=1 k\\ey=2");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " f%d=%d", i % 900, i);
    const char *lines[] = {line};
    cJSON *j = encode_lines("json", lines, 1);
    CHECK(num_at(j, "records.0.fields.pid") == 1);
    CHECK(num_at(j, "records.0.fields.msg.pid") == 2);
    CHECK(num_at(j, "records.0.fields.msg.pid#2") == 3);
    CHECK(num_at(j, "records.0.fields.pid#2") == 4);
    CHECK_STR(str_at(j, "records.0.interp.uid"), "root");
    CHECK_STR(str_at(j, "records.0.fields.a_name_longer_than_16"), "x");
    CHECK_STR(str_at(j, "records.0.fields.a_name_longer_than_16#2"), "y");
    CHECK(num_at(j, "records.0.fields.k\\ey") == 1);
    CHECK(num_at(j, "records.0.fields.k\\ey#2") == 2);
    CHECK(num_at(j, "records.0.fields.f5") == 5);
    CHECK(num_at(j, "records.0.fields.f5#2") == 905);
    CHECK(num_at(j, "records.0.fields.f899") == 899);
    CHECK(num_at(j, "records.0.fields.f99#2") == 999);
    cJSON_Delete(j);
}

/* Id names within an event come from a memo of the last user and of the last group
 * id (json.c): alternating kinds and values, an id without a name between named
 * ones, and unset, each get their own name. */
static void test_id_names_repeat(void)
{
    const char *lines[] = {
        "type=SYSCALL msg=audit(1.000:14): arch=c000003e syscall=2 success=yes exit=3 "
        "auid=4294967295 uid=0 gid=1000 euid=1000 suid=7 fsuid=1000 egid=0 sgid=1000 "
        "fsgid=1000 ses=4294967295",
        "type=PATH msg=audit(1.000:14): item=0 name=\"/x\" ouid=7 ogid=1000",
    };
    cJSON *j = encode_lines("json", lines, 2);
    CHECK_STR(str_at(j, "records.0.interp.auid"), "unset");
    CHECK_STR(str_at(j, "records.0.interp.uid"), "root");
    CHECK_STR(str_at(j, "records.0.interp.gid"), "staff");
    CHECK_STR(str_at(j, "records.0.interp.euid"), "alice");
    CHECK(str_at(j, "records.0.interp.suid") == NULL);
    CHECK_STR(str_at(j, "records.0.interp.fsuid"), "alice");
    CHECK_STR(str_at(j, "records.0.interp.egid"), "root");
    CHECK_STR(str_at(j, "records.0.interp.sgid"), "staff");
    CHECK_STR(str_at(j, "records.0.interp.fsgid"), "staff");
    CHECK(str_at(j, "records.1.interp.ouid") == NULL);
    CHECK_STR(str_at(j, "records.1.interp.ogid"), "staff");
    cJSON_Delete(j);
}

static void test_goaudit_shape(void)
{
    const char *lines[] = {
        "type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59 success=yes "
        "exit=0 auid=1000 uid=0 euid=0 comm=\"a<b\"",
        "type=PROCTITLE msg=audit(1615114232.375:15558): proctitle=6C73",
    };
    cJSON_Delete(encode_lines("go-audit", lines, 2));
    const char *want =
        "{\"sequence\":15558,\"timestamp\":\"1615114232.375\",\"messages\":[{\"type\":1300,"
        "\"data\":\"arch=c000003e syscall=59 success=yes exit=0 auid=1000 uid=0 euid=0 "
        "comm=\\\"a\\u003cb\\\"\"},{\"type\":1327,\"data\":\"proctitle=6C73\"}],"
        "\"uid_map\":{\"0\":\"root\",\"1000\":\"alice\"}}\n";
    if (strcmp(last_line, want) != 0)
        fprintf(stderr, "got  %swant %s", last_line, want);
    CHECK(strcmp(last_line, want) == 0);
}

/* The format table (encode/formats.c): names unique and found by name, and every
 * format writes whole lines for an event and for a loss, so a new entry cannot
 * come without them. */
static void test_format_table(void)
{
    const char *lines[] = {
        "type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59 success=yes "
        "exit=0 auid=1000 uid=0 euid=0 comm=\"ls\"",
        "type=PROCTITLE msg=audit(1615114232.375:15558): proctitle=6C73",
    };
    size_t n = 0;
    for (; ar_formats[n]; n++) {
        const struct ar_format_ops *f = ar_formats[n];
        CHECK(f->name && f->event && f->loss);
        CHECK(ar_format_find(f->name) == f);
        for (size_t j = 0; j < n; j++)
            CHECK(strcmp(ar_formats[j]->name, f->name) != 0);
        encode_to_text(f->name, lines, 2);
        CHECK(strstr(last_line, "15558") != NULL);
        struct ar_encoder_config ecfg = {.format = f, .source = "replay"};
        struct ar_encoder *enc;
        CHECK(ar_encoder_new(&ecfg, NULL, &enc) == 0);
        struct ar_buf out = {0};
        CHECK(ar_encoder_loss(enc, "serial_gap", AR_SPAN_LIT("n1"), 7, 3, 1615114232, &out) == 0);
        CHECK(out.len > 0 && out.p[out.len - 1] == '\n' && memchr(out.p, '\n', out.len) ==
                                                                 out.p + out.len - 1);
        ar_buf_free(&out);
        ar_encoder_free(enc);
    }
    CHECK(n >= 4 && strcmp(ar_formats[0]->name, "json") == 0);
    CHECK(ar_format_find("bogus") == NULL);
}

/* The worked example of auditrelay-json(7): "renamed /etc/x to /etc/y by alice
 * (auid), as root, with /usr/bin/mv", in the summary and in --format ecs. */
static void test_summary_worked_example(void)
{
    const char *lines[] = {
        "type=SYSCALL msg=audit(1700000000.000:42): arch=c000003e syscall=82 success=yes exit=0 "
        "a0=5631 a1=5632 a2=0 a3=0 items=4 ppid=900 pid=901 auid=1000 uid=0 gid=0 euid=0 "
        "suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"mv\" exe=\"/usr/bin/mv\" "
        "key=\"etc\"",
        "type=CWD msg=audit(1700000000.000:42): cwd=\"/etc\"",
        "type=PATH msg=audit(1700000000.000:42): item=0 name=\"/etc\" inode=2 dev=08:01 "
        "mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT",
        "type=PATH msg=audit(1700000000.000:42): item=1 name=\"/etc\" inode=2 dev=08:01 "
        "mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT",
        "type=PATH msg=audit(1700000000.000:42): item=2 name=\"x\" inode=1234 dev=08:01 "
        "mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=DELETE",
        "type=PATH msg=audit(1700000000.000:42): item=3 name=\"y\" inode=1234 dev=08:01 "
        "mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE",
        "type=PROCTITLE msg=audit(1700000000.000:42): proctitle=6D7600780079",
    };
    cJSON *j = encode_lines("json", lines, AR_ARRAY_SIZE(lines));
    CHECK_STR(str_at(j, "summary.actor.primary"), "1000");
    CHECK_STR(str_at(j, "summary.actor.primary_name"), "alice");
    CHECK_STR(str_at(j, "summary.actor.secondary"), "0");
    CHECK_STR(str_at(j, "summary.actor.secondary_name"), "root");
    CHECK_STR(str_at(j, "summary.action"), "renamed");
    CHECK_STR(str_at(j, "summary.object.type"), "file");
    CHECK_STR(str_at(j, "summary.object.primary"), "/etc/x");
    CHECK_STR(str_at(j, "summary.object.secondary"), "/etc/y");
    CHECK_STR(str_at(j, "summary.how"), "/usr/bin/mv");
    CHECK_STR(str_at(j, "summary.file.change"), "renamed");
    CHECK_STR(str_at(j, "summary.file.path"), "/etc/y");
    CHECK_STR(str_at(j, "summary.file.from"), "/etc/x");
    CHECK_STR(str_at(j, "summary.file.type"), "file");
    CHECK_STR(str_at(j, "summary.file.mode"), "0644");
    CHECK_STR(str_at(j, "summary.file.owner"), "root");
    CHECK(num_at(j, "summary.file.inode") == 1234);
    CHECK_STR(str_at(j, "paths.0"), "/etc/x");
    CHECK_STR(str_at(j, "paths.1"), "/etc/y");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "paths")) == 2);
    cJSON_Delete(j);

    j = encode_lines("ecs", lines, AR_ARRAY_SIZE(lines));
    CHECK_STR(str_at(j, "event.category.0"), "file");
    CHECK_STR(str_at(j, "event.type.0"), "change");
    CHECK_STR(str_at(j, "event.action"), "renamed");
    CHECK_STR(str_at(j, "event.outcome"), "success");
    CHECK_STR(str_at(j, "user.id"), "0");
    CHECK_STR(str_at(j, "user.name"), "root");
    CHECK_STR(str_at(j, "user.audit.name"), "alice");
    CHECK_STR(str_at(j, "process.executable"), "/usr/bin/mv");
    CHECK_STR(str_at(j, "process.title"), "mv x y");
    CHECK(num_at(j, "process.parent.pid") == 900);
    CHECK_STR(str_at(j, "file.path"), "/etc/x");
    CHECK_STR(str_at(j, "tags.0"), "etc");
    CHECK_STR(str_at(j, "auditd.summary.object.secondary"), "/etc/y");
    CHECK_STR(str_at(j, "auditd.data.syscall"), "rename");
    CHECK_STR(str_at(j, "auditd.paths.3.nametype"), "CREATE");
    cJSON_Delete(j);
}

/* ---- the record memo (encode/record_memo.h) ---- */

/* Names that change while the collector runs (a user renamed): the lookup reads this. */
static const char *mutable_name_1000 = "alice";

static int mutable_lookup(enum ar_id_kind kind, uint32_t id, char *buf, size_t size)
{
    if (kind != AR_ID_USER || id != 1000)
        return -ENOENT;
    snprintf(buf, size, "%s", mutable_name_1000);
    return (int)strlen(mutable_name_1000);
}

/* A PATH record (serial `serial`) owned by an id whose cache slot is 1000's (ids.c's
 * hash): looking its name up evicts 1000's. */
static void rival_path_line(char *buf, size_t size, unsigned serial)
{
    uint32_t rival = 1001;
    while ((rival * 2654435761u) % 1024 != (1000 * 2654435761u) % 1024)
        rival++;
    snprintf(buf, size, "type=PATH msg=audit(1.000:%u): item=0 name=\"/r\" inode=1 ouid=%u ogid=0",
             serial, rival);
}

/* Every event of a log through one long-lived encoder (the memo warm) and through a
 * fresh encoder each (no memo at all): appended to `warm` and `cold`. */
struct memo_pair {
    struct ar_encoder *warm;
    struct ar_idcache *ids;
    const struct ar_encoder_config *cfg;
    struct ar_buf warm_out, cold_out;
    size_t events;
};

static bool same_output(const struct memo_pair *mp)
{
    return mp->warm_out.len == mp->cold_out.len &&
           (mp->warm_out.len == 0 || memcmp(mp->warm_out.p, mp->cold_out.p, mp->warm_out.len) == 0);
}

static void on_event_pair(const struct ar_event *ev, void *ud)
{
    struct memo_pair *mp = ud;
    CHECK(ar_encoder_event(mp->warm, ev, &mp->warm_out) == 0);
    struct ar_encoder *cold;
    CHECK(ar_encoder_new(mp->cfg, mp->ids, &cold) == 0);
    CHECK(ar_encoder_event(cold, ev, &mp->cold_out) == 0);
    ar_encoder_free(cold);
    mp->events++;
}

static void encode_pair(struct memo_pair *mp, const char *const *lines, size_t n)
{
    struct ar_reasm_config rcfg;
    ar_reasm_config_default(&rcfg);
    struct ar_reasm_callbacks cbs = {.event = on_event_pair, .userdata = mp};
    struct ar_reasm *r;
    CHECK(ar_reasm_new(&rcfg, &cbs, &r) == 0);
    for (size_t i = 0; i < n; i++) {
        struct ar_record rec;
        if (ar_header_parse_line(lines[i], lines[i] + strlen(lines[i]), NULL, &rec) == 0)
            CHECK(ar_reasm_push(r, &rec, 0) == 0);
    }
    ar_reasm_flush(r);
    ar_reasm_free(r);
}

/* A pair with its own id cache (lookup) and warm encoder (cfg must outlive it). */
static void memo_pair_open(struct memo_pair *mp, ar_id_lookup_fn lookup,
                           const struct ar_encoder_config *cfg)
{
    *mp = (struct memo_pair){.cfg = cfg};
    CHECK(ar_idcache_new(lookup, &mp->ids) == 0);
    CHECK(ar_encoder_new(cfg, mp->ids, &mp->warm) == 0);
}

static void memo_pair_close(struct memo_pair *mp)
{
    ar_buf_free(&mp->warm_out);
    ar_buf_free(&mp->cold_out);
    ar_encoder_free(mp->warm);
    ar_idcache_free(mp->ids);
}

/* A record met again gives the bytes it gave the first time only while nothing it
 * depends on changed: the arch it is read with (a SOCKADDR without one of its own
 * takes its event's) and the names of its ids. */
static void test_record_memo_invalidation(void)
{
    struct ar_encoder_config cfg = {.source = "replay", .native_arch = 0xc000003e};
    struct memo_pair mp;
    memo_pair_open(&mp, mutable_lookup, &cfg);

    char rival_line[256];
    rival_path_line(rival_line, sizeof(rival_line), 3);
    const char *path = "type=PATH msg=audit(1.000:%u): item=0 name=\"/etc/x\" inode=5 dev=08:01 "
                       "mode=0100644 ouid=1000 ogid=0 nametype=NORMAL";
    char p1[256], p4[256];
    snprintf(p1, sizeof(p1), path, 1u);
    snprintf(p4, sizeof(p4), path, 4u);
    const char *sock = "type=SOCKADDR msg=audit(1.000:%u): saddr=0200005032C8C8C80000000000000000";
    char s5[128], s7[128];
    snprintf(s5, sizeof(s5), sock, 5u);
    snprintf(s7, sizeof(s7), sock, 7u);
    const char *lines[] = {
        p1, "type=PROCTITLE msg=audit(1.000:1): proctitle=6C73", "type=EOE msg=audit(1.000:1): ",
        p1, "type=EOE msg=audit(1.000:2): ", /* the same record again: from the memo */
    };
    /* Event 2 repeats event 1's PATH record under serial 2 (a body the same). */
    lines[3] = "type=PATH msg=audit(1.000:2): item=0 name=\"/etc/x\" inode=5 dev=08:01 "
               "mode=0100644 ouid=1000 ogid=0 nametype=NORMAL";
    encode_pair(&mp, lines, AR_ARRAY_SIZE(lines));
    CHECK(mp.events == 2);
    CHECK(same_output(&mp));
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"ouid\":\"alice\"", 14) != NULL);

    /* 1000 becomes bob; the rival evicts the cached name; the PATH record again. */
    mutable_name_1000 = "bob";
    mp.warm_out.len = mp.cold_out.len = 0;
    const char *later[] = {rival_line, "type=EOE msg=audit(1.000:3): ", p4,
                           "type=EOE msg=audit(1.000:4): "};
    encode_pair(&mp, later, AR_ARRAY_SIZE(later));
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"ouid\":\"bob\"", 12) != NULL);
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "alice", 5) == NULL);

    /* The same SOCKADDR under an x86_64 and an s390x SYSCALL: its family is read in
     * the arch's byte order. */
    mp.warm_out.len = mp.cold_out.len = 0;
    const char *arches[] = {
        "type=SYSCALL msg=audit(1.000:5): arch=c000003e syscall=42 success=yes exit=0 a0=3 "
        "a1=0 a2=10 a3=0 items=0 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 "
        "egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"c\" exe=\"/c\" key=(null)",
        s5, "type=EOE msg=audit(1.000:5): ",
        "type=SYSCALL msg=audit(1.000:7): arch=80000016 syscall=102 success=yes exit=0 a0=3 "
        "a1=0 a2=10 a3=0 items=0 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 "
        "egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"c\" exe=\"/c\" key=(null)",
        s7, "type=EOE msg=audit(1.000:7): ",
    };
    encode_pair(&mp, arches, AR_ARRAY_SIZE(arches));
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"family\":\"inet\"", 15) != NULL);
    CHECK(same_output(&mp));

    memo_pair_close(&mp);
}

/* SYSCALL records share their process part (auid= on) between a process's
 * syscalls: the memo keeps it apart from the head. The same bytes as encoding
 * again, also when the head repeats a key of the tail (then it is not cut), the
 * head has no interpretation, or an id's name changes. */
static void test_syscall_tail_memo(void)
{
    mutable_name_1000 = "alice";
    struct ar_encoder_config cfg = {.source = "replay", .native_arch = 0xc000003e};
    struct memo_pair mp;
    memo_pair_open(&mp, mutable_lookup, &cfg);
    const char *tail = "ppid=1 pid=2 auid=1000 uid=1000 gid=0 euid=1000 suid=0 fsuid=0 "
                       "egid=0 sgid=0 fsgid=0 tty=(none) ses=3 comm=\"c\" exe=\"/c\" key=(null)";
    const char *heads[] = {
        "arch=c000003e syscall=2 success=yes exit=3 a0=1 a1=2 a2=3 a3=4 items=0",
        "arch=c000003e syscall=257 success=no exit=-2 a0=9 a1=8 a2=7 a3=6 items=0",
        "arch=c000003e syscall=2 success=yes exit=3 uid=7 items=0", /* uid on both sides */
        "x=1", /* a head without interpretations */
        "arch=c000003e syscall=2 success=yes exit=4 a0=1 a1=2 a2=3 a3=4 items=0",
    };
    char lines[2 * AR_ARRAY_SIZE(heads)][512];
    const char *ptrs[2 * AR_ARRAY_SIZE(heads)];
    for (size_t i = 0; i < AR_ARRAY_SIZE(heads); i++) {
        snprintf(lines[2 * i], sizeof(lines[0]), "type=SYSCALL msg=audit(1.000:%zu): %s %s",
                 10 + i, heads[i], tail);
        snprintf(lines[2 * i + 1], sizeof(lines[0]), "type=EOE msg=audit(1.000:%zu): ", 10 + i);
        ptrs[2 * i] = lines[2 * i];
        ptrs[2 * i + 1] = lines[2 * i + 1];
    }
    encode_pair(&mp, ptrs, 8);
    CHECK(mp.events == 4);
    CHECK(same_output(&mp));
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"uid#2\":1000", 12) != NULL);

    /* 1000 renamed, its cached name evicted: the next repeat of the tail says bob. */
    mutable_name_1000 = "bob";
    char rival_line[256];
    rival_path_line(rival_line, sizeof(rival_line), 30);
    const char *later[] = {rival_line, "type=EOE msg=audit(1.000:30): ", ptrs[8], ptrs[9]};
    mp.warm_out.len = mp.cold_out.len = 0;
    encode_pair(&mp, later, AR_ARRAY_SIZE(later));
    CHECK(same_output(&mp));
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"auid\":\"bob\"", 12) != NULL);
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "alice", 5) == NULL);
    mutable_name_1000 = "alice";

    memo_pair_close(&mp);
}

/* A SYSCALL head with an id field (ouid=) takes its name from the record's
 * ENRICHED part, which the tail memo holds: a repeat must read it too. */
static void test_tail_memo_enriched_head(void)
{
    struct ar_encoder_config cfg = {.source = "replay", .native_arch = 0xc000003e};
    struct memo_pair mp;
    memo_pair_open(&mp, fake_lookup, &cfg);
    char lines[6][512];
    const char *ptrs[6];
    /* Three: the first keeps the tail, the second the summary (the id cache looked
     * names up after the first one's summary), the third finds both. */
    for (unsigned i = 0; i < 3; i++) {
        snprintf(lines[2 * i], sizeof(lines[0]),
                 "type=SYSCALL msg=audit(1.000:%u): arch=c000003e syscall=2 success=yes "
                 "exit=3 ouid=7 items=0 ppid=1 pid=2 auid=1000 uid=1000 gid=0 ses=3 "
                 "comm=\"c\" exe=\"/c\" key=(null)\x1dOUID=\"seven\" AUID=\"alice\" "
                 "UID=\"alice\"", 40 + i);
        snprintf(lines[2 * i + 1], sizeof(lines[0]), "type=EOE msg=audit(1.000:%u): ", 40 + i);
        ptrs[2 * i] = lines[2 * i];
        ptrs[2 * i + 1] = lines[2 * i + 1];
    }
    encode_pair(&mp, ptrs, 6);
    CHECK(mp.events == 3);
    CHECK(same_output(&mp));
    const char *third = memmem(mp.warm_out.p, mp.warm_out.len, "\"serial\":42", 11);
    CHECK(third && memmem(third, mp.warm_out.len - (size_t)(third - mp.warm_out.p),
                          "\"ouid\":\"seven\"", 14) != NULL);
    memo_pair_close(&mp);
}

/* Events that differ only in their SYSCALL head share their summary members
 * (summary_memo.h): the same bytes as encoding again when the head's pids, exit
 * and arguments change, also where the summary reads an argument (open's flags make
 * the file "modified") and when the exit is an error. */
static void test_summary_memo(void)
{
    mutable_name_1000 = "alice";
    struct ar_encoder_config cfg = {.source = "replay", .native_arch = 0xc000003e};
    struct memo_pair mp;
    memo_pair_open(&mp, mutable_lookup, &cfg);
    const char *heads[] = {
        "success=yes exit=3 a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2",
        "success=yes exit=3 a0=1 a1=241 a2=1b6 a3=0 items=1 ppid=1 pid=2", /* O_WRONLY|O_CREAT|O_TRUNC */
        "success=no exit=-13 a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=2",
        "success=yes exit=7 a0=8 a1=0 a2=0 a3=0 items=1 ppid=5 pid=9", /* the first again */
        "success=no exit=-2 a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=3", /* the third again */
    };
    char lines[4 * AR_ARRAY_SIZE(heads)][512];
    const char *ptrs[4 * AR_ARRAY_SIZE(heads)];
    for (size_t i = 0; i < AR_ARRAY_SIZE(heads); i++) {
        unsigned serial = 10 + (unsigned)i;
        snprintf(lines[4 * i], sizeof(lines[0]),
                 "type=SYSCALL msg=audit(1.000:%u): arch=c000003e syscall=2 %s auid=1000 "
                 "uid=1000 gid=0 euid=1000 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) "
                 "ses=3 comm=\"c\" exe=\"/c\" key=(null)",
                 serial, heads[i]);
        snprintf(lines[4 * i + 1], sizeof(lines[0]),
                 "type=PATH msg=audit(1.000:%u): item=0 name=\"/etc/x\" inode=5 dev=08:01 "
                 "mode=0100644 ouid=1000 ogid=0 rdev=00:00 nametype=NORMAL", serial);
        snprintf(lines[4 * i + 2], sizeof(lines[0]),
                 "type=PROCTITLE msg=audit(1.000:%u): proctitle=6C73", serial);
        snprintf(lines[4 * i + 3], sizeof(lines[0]), "type=EOE msg=audit(1.000:%u): ", serial);
        for (size_t k = 0; k < 4; k++)
            ptrs[4 * i + k] = lines[4 * i + k];
    }
    encode_pair(&mp, ptrs, AR_ARRAY_SIZE(ptrs));
    CHECK(mp.events == AR_ARRAY_SIZE(heads));
    CHECK(same_output(&mp));
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"change\":\"modified\"", 19) != NULL);
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"exit\":-2,\"errno\":\"ENOENT\"", 26) != NULL);
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"pid\":9,\"ppid\":5", 16) != NULL);

    /* 1000 renamed, its cached name evicted: the shape's next event says bob. */
    mutable_name_1000 = "bob";
    char rival_line[256];
    rival_path_line(rival_line, sizeof(rival_line), 30);
    const char *later[] = {rival_line, "type=EOE msg=audit(1.000:30): ", ptrs[0], ptrs[1],
                           ptrs[2], ptrs[3]};
    mp.warm_out.len = mp.cold_out.len = 0;
    encode_pair(&mp, later, AR_ARRAY_SIZE(later));
    CHECK(same_output(&mp));
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "\"login_user\":\"bob\"", 18) != NULL);
    CHECK(memmem(mp.warm_out.p, mp.warm_out.len, "alice", 5) == NULL);
    mutable_name_1000 = "alice";

    memo_pair_close(&mp);
}

/* Every corpus log through a warm encoder and through a fresh one per event: the
 * same bytes, event for event, in every format. */
static size_t memo_events;

static void memo_corpus_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *line = NULL, **lines = NULL;
    size_t cap = 0, n = 0, lines_cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = 0;
        if (n == lines_cap) {
            lines_cap = lines_cap ? lines_cap * 2 : 256;
            lines = realloc(lines, lines_cap * sizeof(*lines));
            CHECK(lines != NULL);
        }
        lines[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    const char *formats[] = {"json", "go-audit", "ecs"};
    for (size_t k = 0; k < AR_ARRAY_SIZE(formats); k++) {
        struct ar_encoder_config cfg = {.source = "replay", .native_arch = 0xc000003e,
                                        .format = ar_format_find(formats[k])};
        CHECK(cfg.format != NULL);
        struct memo_pair mp;
        memo_pair_open(&mp, fake_lookup, &cfg);
        encode_pair(&mp, (const char *const *)lines, n);
        if (!same_output(&mp))
            fprintf(stderr, "record memo changed the %s output of %s\n", formats[k], path);
        CHECK(same_output(&mp));
        memo_events += mp.events;
        memo_pair_close(&mp);
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

int main(int argc, char **argv)
{
    test_format_table();
    test_syscall_event();
    test_execve_long_and_split();
    test_sockaddr();
    test_summary_repeats_records();
    test_ipv4_text();
    test_hex_decode();
    test_json_decimal();
    test_buf_u64();
    test_json_string_lengths();
    test_user_msg_and_enriched();
    test_hostile_bytes();
    test_duplicates_and_words();
    test_key_table();
    test_many_repeated_keys();
    test_id_names_repeat();
    test_goaudit_shape();
    test_summary_worked_example();
    test_record_memo_invalidation();
    test_syscall_tail_memo();
    test_summary_memo();
    test_tail_memo_enriched_head();
    if (argc > 1) {
        corpus_each_file(argv[1], memo_corpus_file);
        fprintf(stderr, "record memo: %zu corpus events encoded warm and cold, the same\n",
                memo_events);
        CHECK(memo_events > 1000);
    }
    return check_done();
}
