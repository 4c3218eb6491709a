/* Normalizer: full paths from CWD and PATH items, the file-integrity change of each
 * file syscall (created, modified, deleted, renamed, linked, permissions, owner,
 * attributes), actor / action / object / how, and the table lookups. */
#include <libaudit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "enrich/decode.h"
#include "enrich/normalize.h"
#include "parse/tokenize.h"

static void check_resolve(const char *cwd, const char *name, const char *want)
{
    char out[256];
    size_t n = ar_path_resolve(cwd, cwd ? strlen(cwd) : 0, name, strlen(name), out, sizeof(out));
    out[n] = '\0';
    if (strcmp(out, want) != 0) {
        fprintf(stderr, "resolve(%s, %s): expected \"%s\", got \"%s\"\n", cwd ? cwd : "NULL",
                name, want, out);
        check_failures++;
    }
}

static void test_resolve(void)
{
    check_resolve("/home/alice", "notes.txt", "/home/alice/notes.txt");
    check_resolve("/home/alice", "/etc/passwd", "/etc/passwd");
    check_resolve("/home/alice", "../bob/./x", "/home/bob/x");
    check_resolve("/home/alice/", "sub//dir/../f", "/home/alice/sub/f");
    check_resolve("/", "../../etc/x", "/etc/x");
    check_resolve("/etc", ".", "/etc");
    check_resolve("/etc/audit/rules.d/", "/etc/audit/rules.d/", "/etc/audit/rules.d");
    check_resolve(NULL, "rel/../x", "x");
    check_resolve(NULL, "..", "..");
    check_resolve("/a", "/", "/");
    /* Too long for the buffer: 0, the caller keeps the name as written. */
    char out[8];
    CHECK(ar_path_resolve("/home/alice", 11, "notes.txt", 9, out, sizeof(out)) == 0);
}

/* ---- events ---- */

static struct ar_field fields[4096];
static unsigned char hexbuf[65536];
static size_t hexused;

/* Untrusted strings are hex when they hold odd bytes; decode like the encoder. */
static bool text(void *ctx, const struct ar_field *f, struct ar_text *ret)
{
    (void)ctx;
    if (f->kind == AR_VAL_NULL || f->kind == AR_VAL_NESTED || f->kind == AR_VAL_BARE)
        return false;
    bool hexy = f->kind == AR_VAL_PLAIN && ar_is_hex_string(f->value) &&
                (f->key.len == 4 && (!memcmp(f->key.p, "name", 4) || !memcmp(f->key.p, "comm", 4)));
    hexy = hexy || (f->key.len == 5 && !memcmp(f->key.p, "saddr", 5));
    if (hexy && hexused + f->value.len / 2 <= sizeof(hexbuf)) {
        int n = ar_hex_decode(f->value, hexbuf + hexused);
        if (n >= 0) {
            *ret = (struct ar_text){(const char *)hexbuf + hexused, (size_t)n};
            hexused += (size_t)n;
            return true;
        }
    }
    *ret = (struct ar_text){f->value.p, f->value.len};
    return true;
}

static struct ar_normalized sum;

/* Normalizes records given as {type, body}; the syscall name is given by the test
 * (the encoder takes it from the tables). */
static const struct ar_normalized *norm(const char *syscall, const uint32_t *types,
                                     const char *const *bodies, uint32_t n)
{
    struct ar_norm_record recs[16];
    size_t used = 0;
    hexused = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct ar_tokens t = {.fields = fields + used, .cap = 4096 - used};
        ar_tokenize(bodies[i], bodies[i] + strlen(bodies[i]), &t);
        recs[i] = (struct ar_norm_record){types[i], fields + used, (uint32_t)t.n};
        used += t.n;
    }
    ar_normalize(recs, n, syscall, 0xc000003e, text, NULL, &sum);
    return &sum;
}

static void check_text(struct ar_text t, const char *want, int line)
{
    if (!want) {
        if (t.len) {
            fprintf(stderr, "line %d: expected nothing, got \"%.*s\"\n", line, (int)t.len, t.p);
            check_failures++;
        }
        return;
    }
    if (t.len != strlen(want) || memcmp(t.p, want, t.len) != 0) {
        fprintf(stderr, "line %d: expected \"%s\", got \"%.*s\"\n", line, want, (int)t.len,
                t.p ? t.p : "");
        check_failures++;
    }
}
#define CHECK_TEXT(t, want) check_text((t), (want), __LINE__)

static const char *change(const struct ar_normalized *s)
{
    const char *c = ar_file_change_name((enum ar_file_change)s->change);
    return c ? c : "none";
}

#define SYSCALL_HEAD "arch=c000003e success=yes exit=0 items=2 ppid=900 pid=1000 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"mv\" exe=\"/usr/bin/mv\""

static void test_rename_relative(void)
{
    /* mv x y in /etc: two PARENT items (the cwd), the old name deleted, the new created. */
    static const uint32_t types[] = {AUDIT_SYSCALL, AUDIT_CWD, AUDIT_PATH, AUDIT_PATH, AUDIT_PATH,
                                     AUDIT_PATH};
    static const char *const bodies[] = {
        ("syscall=82 a0=1 a1=2 a2=0 a3=0 " SYSCALL_HEAD),
        "cwd=\"/etc\"",
        "item=0 name=\"/etc\" inode=1 dev=08:01 mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT",
        "item=1 name=\"/etc\" inode=1 dev=08:01 mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT",
        "item=2 name=\"x\" inode=7 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=DELETE",
        "item=3 name=\"y\" inode=7 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE",
    };
    const struct ar_normalized *s = norm("rename", types, bodies, 6);
    CHECK_STR(s->norm ? s->norm->action : NULL, "renamed");
    CHECK_STR(s->object_type, "file");
    CHECK_TEXT(s->object_primary, "/etc/x");
    CHECK_TEXT(s->object_secondary, "/etc/y");
    CHECK_TEXT(s->actor_primary, "1000");
    CHECK_TEXT(s->actor_secondary, "0");
    CHECK_TEXT(s->how, "/usr/bin/mv");
    CHECK_STR(change(s), "renamed");
    CHECK(s->file == 3 && s->change_from == 2);
    CHECK_TEXT(s->paths[s->file].path, "/etc/y");
    CHECK_TEXT(s->paths[s->change_from].path, "/etc/x");
    CHECK(s->paths[0].parent && !s->paths[2].parent);
    /* go-libaudit's file object (Auditbeat's file.path) is the old name. */
    CHECK(s->object_file == 2);
}

/* The tracepoint source renders PATH items with the name only (no nametype): the
 * two names of a rename come in argument order. */
static void test_rename_without_nametypes(void)
{
    static const uint32_t types[] = {AUDIT_SYSCALL, AUDIT_CWD, AUDIT_PATH, AUDIT_PATH};
    static const char *const bodies[] = {
        ("syscall=316 a0=ffffff9c a1=1 a2=ffffff9c a3=2 " SYSCALL_HEAD),
        "cwd=\"/srv\"",
        "item=0 name=\"a.txt\"",
        "item=1 name=\"../b.txt\"",
    };
    const struct ar_normalized *s = norm("renameat2", types, bodies, 4);
    CHECK_STR(change(s), "renamed");
    CHECK_TEXT(s->object_primary, "/srv/a.txt");
    CHECK_TEXT(s->object_secondary, "/b.txt");
    CHECK(s->file == 1 && s->change_from == 0);
}

static void test_open_flags(void)
{
    static const uint32_t types[] = {AUDIT_SYSCALL, AUDIT_CWD, AUDIT_PATH, AUDIT_PATH};
    /* openat(AT_FDCWD, "new", O_WRONLY|O_CREAT): a CREATE item. */
    static const char *const created[] = {
        ("syscall=257 a0=ffffff9c a1=1 a2=41 a3=1a4 " SYSCALL_HEAD),
        "cwd=\"/home/alice\"",
        "item=0 name=\"/home/alice\" inode=2 dev=08:01 mode=040755 ouid=1000 ogid=1000 rdev=00:00 nametype=PARENT",
        "item=1 name=\"new\" inode=9 dev=08:01 mode=0100644 ouid=1000 ogid=1000 rdev=00:00 nametype=CREATE",
    };
    const struct ar_normalized *s = norm("openat", types, created, 4);
    CHECK_STR(s->norm->action, "opened-file");
    CHECK_STR(change(s), "created");
    CHECK_TEXT(s->paths[s->file].path, "/home/alice/new");
    /* An existing file opened O_WRONLY|O_TRUNC: modified. */
    static const char *const truncated[] = {
        ("syscall=257 a0=ffffff9c a1=1 a2=201 a3=0 " SYSCALL_HEAD),
        "cwd=\"/home/alice\"",
        "item=0 name=\"notes\" inode=9 dev=08:01 mode=0100600 ouid=1000 ogid=1000 rdev=00:00 nametype=NORMAL",
    };
    s = norm("openat", types, truncated, 3);
    CHECK_STR(change(s), "modified");
    CHECK_TEXT(s->object_primary, "/home/alice/notes");
    /* Read only: no change, still the opened file as the object. */
    static const char *const read_only[] = {
        ("syscall=2 a0=1 a1=0 a2=0 a3=0 " SYSCALL_HEAD),
        "cwd=\"/\"",
        "item=0 name=\"/etc/shadow\" inode=9 dev=08:01 mode=0100640 ouid=0 ogid=42 rdev=00:00 nametype=NORMAL",
    };
    s = norm("open", types, read_only, 3);
    CHECK_STR(change(s), "none");
    CHECK_TEXT(s->object_primary, "/etc/shadow");
}

static void test_other_changes(void)
{
    static const uint32_t types[] = {AUDIT_SYSCALL, AUDIT_CWD, AUDIT_PATH, AUDIT_PATH,
                                     AUDIT_PATH};
    static const char *const unlink_ok[] = {
        ("syscall=263 a0=ffffff9c a1=1 a2=0 a3=0 " SYSCALL_HEAD),
        "cwd=\"/tmp\"",
        "item=0 name=\"/var/www/\" inode=2 dev=08:01 mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT",
        "item=1 name=\"/var/www/../www/index.html\" inode=5 dev=08:01 mode=0100644 ouid=33 ogid=33 rdev=00:00 nametype=DELETE",
    };
    const struct ar_normalized *s = norm("unlinkat", types, unlink_ok, 4);
    CHECK_STR(s->norm->action, "deleted");
    CHECK_STR(change(s), "deleted");
    CHECK_TEXT(s->object_primary, "/var/www/index.html");

    /* A failed unlink changed nothing. */
    static const char *const unlink_failed[] = {
        "syscall=263 a0=ffffff9c a1=1 a2=0 a3=0 arch=c000003e success=no exit=-13 items=1 ppid=1 pid=2 auid=1000 uid=1000 comm=\"rm\" exe=\"/usr/bin/rm\"",
        "cwd=\"/tmp\"",
        "item=0 name=\"/etc/passwd\" inode=5 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
    };
    s = norm("unlinkat", types, unlink_failed, 3);
    CHECK_STR(change(s), "none");
    CHECK_STR(s->result, "fail");

    /* link old new: the old name (NORMAL), the new one created. */
    static const char *const linked[] = {
        ("syscall=86 a0=1 a1=2 a2=0 a3=0 " SYSCALL_HEAD),
        "cwd=\"/srv\"",
        "item=0 name=\"data/a\" inode=5 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
        "item=1 name=\"/srv/data/\" inode=4 dev=08:01 mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT",
        "item=2 name=\"data/b\" inode=5 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE",
    };
    s = norm("link", types, linked, 5);
    CHECK_STR(change(s), "linked");
    CHECK_TEXT(s->object_primary, "/srv/data/a");
    CHECK_TEXT(s->object_secondary, "/srv/data/b");

    static const char *const chmod_body[] = {
        ("syscall=268 a0=ffffff9c a1=1 a2=1ed a3=0 " SYSCALL_HEAD),
        "cwd=\"/\"",
        "item=0 name=\"/usr/local/bin/tool\" inode=5 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
    };
    s = norm("fchmodat", types, chmod_body, 3);
    CHECK_STR(s->norm->action, "changed-file-permissions-of");
    CHECK_STR(change(s), "permissions-changed");
    s = norm("fchownat", types, chmod_body, 3);
    CHECK_STR(change(s), "owner-changed");
    s = norm("setxattr", types, chmod_body, 3);
    CHECK_STR(change(s), "attributes-changed");
    s = norm("utimensat", types, chmod_body, 3);
    CHECK_STR(change(s), "attributes-changed");
    s = norm("mkdir", types, chmod_body, 3);
    CHECK_STR(change(s), "created");
}

static void test_user_space_and_socket(void)
{
    /* A failed ssh login: actor is the login uid (unset) and the account tried. */
    static const uint32_t t1[] = {AUDIT_USER_LOGIN};
    static const char *const login[] = {
        "pid=1 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=\"(invalid user)\" exe=\"/usr/sbin/sshd\" hostname=? addr=203.0.113.9 terminal=sshd res=failed'",
    };
    const struct ar_normalized *s = norm(NULL, t1, login, 1);
    CHECK_STR(s->norm->action, "logged-in");
    CHECK_TEXT(s->actor_primary, "unset");
    CHECK_TEXT(s->actor_secondary, "(invalid user)");
    CHECK_TEXT(s->object_primary, "sshd");
    CHECK_TEXT(s->object_secondary, "203.0.113.9");
    CHECK_TEXT(s->source_ip, "203.0.113.9");
    CHECK_STR(s->result, "fail");

    /* connect() to 192.0.2.1:443. */
    static const uint32_t t2[] = {AUDIT_SYSCALL, AUDIT_SOCKADDR};
    static const char *const conn[] = {
        ("syscall=42 a0=3 a1=1 a2=10 a3=0 " SYSCALL_HEAD),
        "saddr=020001BBC00002010000000000000000",
    };
    s = norm("connect", t2, conn, 2);
    CHECK_STR(s->norm->action, "connected-to");
    CHECK_TEXT(s->object_primary, "192.0.2.1");
    CHECK_TEXT(s->object_secondary, "443");
    CHECK(s->sock_direction == AR_DIRECTION_EGRESS);
}

/* AVC has a row for AppArmor and one for SELinux, chosen by the record's fields:
 * the row remembered from one event must not decide the next. */
static void test_avc_rows(void)
{
    static const uint32_t t[] = {AUDIT_AVC};
    static const char *const apparmor[] = {
        "apparmor=\"DENIED\" operation=\"ptrace\" profile=\"docker-default\" pid=1 comm=\"x\" requested_mask=\"trace\" denied_mask=\"trace\"",
    };
    static const char *const selinux[] = {
        "avc:  denied  { read } for  pid=2 comm=\"cat\" name=\"f\" scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0",
    };
    for (int round = 0; round < 2; round++) {
        const struct ar_normalized *s = norm(NULL, t, apparmor, 1);
        CHECK_STR(s->norm ? s->norm->action : NULL, "violated-apparmor-policy");
        CHECK_TEXT(s->object_primary, "ptrace");
        s = norm(NULL, t, selinux, 1);
        CHECK_STR(s->norm ? s->norm->action : NULL, "violated-selinux-policy");
        CHECK_TEXT(s->actor_primary, "system_u:system_r:httpd_t:s0");
        CHECK_TEXT(s->object_secondary, "file");
    }
}

static void test_tables(void)
{
    CHECK_STR(ar_norm_syscall("renameat2")->action, "renamed");
    /* An unknown syscall gets the catch-all row: no action, ECS process/info. */
    const struct ar_norm *n = ar_norm_syscall("no_such_syscall");
    CHECK(n && !n->action);
    CHECK_STR(n->ecs_category, "process");
    CHECK(ar_norm_record_type("NO_SUCH_TYPE", NULL, NULL, NULL) == NULL);
    CHECK_STR(ar_norm_record_type("USER_LOGIN", NULL, NULL, NULL)->action, "logged-in");
    CHECK_STR(ar_file_type_of_mode(040755), "dir");
    CHECK_STR(ar_file_type_of_mode(0100644), "file");
}

int main(void)
{
    test_resolve();
    test_rename_relative();
    test_rename_without_nametypes();
    test_open_flags();
    test_other_changes();
    test_user_space_and_socket();
    test_avc_rows();
    test_tables();
    return check_done();
}
