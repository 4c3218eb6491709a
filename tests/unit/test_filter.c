/* Filters (src/filter/): for each kind of condition, which of a set of events a
 * filter drops and which it keeps, and that the counters say the same; the errors
 * bad filters get; first match wins; a keep before a drop. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "enrich/proctable.h"
#include "filter/filter.h"
#include "parse/header.h"

/* Each event: a label and its records (serial = index + 1). The values come from
 * the corpora's shapes (laurel's record-connect and record-nscd, auditd's USER_*
 * records); hex values are as the kernel writes untrusted strings. */
struct test_event {
    const char *label;
    const char *records[6];
};

#define HDR(serial) "msg=audit(1723819442.459:" #serial "): "
static const struct test_event events[] = {
    {"php-v4", {
        "type=SYSCALL " HDR(1) "arch=c000003e syscall=42 success=yes exit=0 a0=8 a1=5556eca10aa0 "
        "a2=10 a3=4 items=0 ppid=1074250 pid=1074252 auid=4294967295 uid=48 gid=48 euid=48 "
        "suid=48 fsuid=48 egid=48 sgid=48 fsgid=48 tty=(none) ses=4294967295 comm=\"php\" "
        "exe=\"/usr/bin/php\" key=(null)",
        "type=SOCKADDR " HDR(1) "saddr=02002BCB7F0000010000000000000000"}},
    {"php-v6", {
        "type=SYSCALL " HDR(2) "arch=c000003e syscall=42 success=no exit=-115 a0=8 "
        "a1=5556ec9f92f0 a2=1c a3=ffffffff items=0 ppid=1074250 pid=1074252 auid=4294967295 "
        "uid=48 gid=48 euid=48 suid=48 fsuid=48 egid=48 sgid=48 fsgid=48 tty=(none) "
        "ses=4294967295 comm=\"php\" exe=\"/usr/bin/php\" key=(null)",
        "type=SOCKADDR " HDR(2) "saddr=0A002BCB000000000000000000000000000000000000000100000000"}},
    {"ls-nscd", {
        "type=SYSCALL " HDR(3) "arch=c000003e syscall=42 success=no exit=-2 a0=4 a1=7ffeabb1aa00 "
        "a2=6e a3=0 items=1 ppid=1064378 pid=3736674 auid=1000 uid=1000 gid=1000 euid=1000 "
        "suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts9 ses=2 comm=\"ls\" "
        "exe=\"/usr/bin/ls\" key=(null)",
        "type=SOCKADDR " HDR(3) "saddr=01002F7661722F72756E2F6E7363642F736F636B657400",
        "type=CWD " HDR(3) "cwd=\"/home/user\"",
        "type=PATH " HDR(3) "item=0 name=\"/var/run/nscd/socket\" nametype=UNKNOWN "
        "cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"}},
    {"cat-passwd", {
        "type=SYSCALL " HDR(4) "arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c "
        "a1=7ffc1000 a2=0 a3=0 items=1 ppid=1 pid=200 auid=1000 uid=0 gid=0 euid=0 suid=0 "
        "fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"cat\" exe=\"/usr/bin/cat\" "
        "key=\"etc-passwd\"",
        "type=CWD " HDR(4) "cwd=\"/etc\"",
        "type=PATH " HDR(4) "item=0 name=\"passwd\" inode=1 dev=08:01 mode=0100644 ouid=0 ogid=0 "
        "rdev=00:00 nametype=NORMAL",
        "type=PROCTITLE " HDR(4) "proctitle=63617400706173737764"}},
    {"exec-myprog", {
        "type=SYSCALL " HDR(5) "arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 "
        "items=2 ppid=1 pid=300 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 "
        "egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm=\"my prog\" "
        "exe=2F746D702F6D792070726F67 key=657865630170726976",
        "type=EXECVE " HDR(5) "argc=1 a0=2F746D702F6D792070726F67",
        "type=CWD " HDR(5) "cwd=\"/tmp\"",
        "type=PATH " HDR(5) "item=0 name=2F746D702F6D792070726F67 inode=2 dev=08:01 "
        "mode=0100755 ouid=1000 ogid=1000 rdev=00:00 nametype=NORMAL",
        "type=PATH " HDR(5) "item=1 name=\"/lib64/ld-linux-x86-64.so.2\" inode=3 dev=08:01 "
        "mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL"}},
    {"login-failed", {
        "type=USER_LOGIN " HDR(6) "pid=900 uid=0 auid=1000 ses=4 msg='op=login acct=\"alice\" "
        "exe=\"/usr/sbin/sshd\" hostname=? addr=10.1.2.3 terminal=ssh res=failed'"}},
    {"cred-refr", {
        "type=CRED_REFR " HDR(7) "pid=901 uid=0 auid=1000 ses=4 msg='op=PAM:setcred "
        "grantors=pam_unix acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=10.1.2.3 "
        "addr=10.1.2.3 terminal=ssh res=success'"}},
    {"i386-open", {
        "type=SYSCALL " HDR(8) "arch=40000003 syscall=5 success=no exit=-13 a0=1 a1=2 a2=3 a3=4 "
        "items=1 ppid=1 pid=400 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 "
        "egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm=\"old\" exe=\"/opt/old/bin/old\" "
        "key=(null)",
        "type=CWD " HDR(8) "cwd=\"/opt/old\"",
        "type=PATH " HDR(8) "item=0 name=\"data/x.db\" inode=4 dev=08:01 mode=0100600 "
        "ouid=1000 ogid=1000 rdev=00:00 nametype=NORMAL"}},
    {"dns-mapped", {
        "type=SYSCALL " HDR(9) "arch=c000003e syscall=44 success=yes exit=40 a0=5 a1=1 a2=2 a3=3 "
        "items=0 ppid=1 pid=500 auid=4294967295 uid=101 gid=101 euid=101 suid=101 fsuid=101 "
        "egid=101 sgid=101 fsgid=101 tty=(none) ses=4294967295 comm=\"resolved\" "
        "exe=\"/usr/lib/systemd/systemd-resolved\" key=\"net\"",
        "type=SOCKADDR " HDR(9) "saddr=0A0000350000000000000000000000000000FFFF0A00000500000000"}},
    {"x11-abstract", {
        "type=SYSCALL " HDR(10) "arch=c000003e syscall=42 success=yes exit=0 a0=5 a1=1 a2=2 "
        "a3=3 items=0 ppid=1 pid=600 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 "
        "fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 comm=\"xterm\" "
        "exe=\"/usr/bin/xterm\" key=(null)",
        "type=SOCKADDR " HDR(10) "saddr=0100002F746D702F2E5831312D756E69782F5830"}},
    {"cache-file", {
        "type=SYSCALL " HDR(11) "arch=c000003e syscall=87 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 "
        "items=2 ppid=1 pid=700 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 "
        "sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"apt\" exe=\"/usr/bin/apt\" key=\"del\"",
        "type=CWD " HDR(11) "cwd=\"/\"",
        "type=PATH " HDR(11) "item=0 name=\"/var/cache/apt/\" inode=5 dev=08:01 mode=040755 "
        "ouid=0 ogid=0 rdev=00:00 nametype=PARENT",
        "type=PATH " HDR(11) "item=1 name=\"/var/cache/apt/pkgcache.bin\" inode=6 dev=08:01 "
        "mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=DELETE"}},
    {"cachex-file", {
        "type=SYSCALL " HDR(12) "arch=c000003e syscall=87 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 "
        "items=1 ppid=1 pid=701 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
        "tty=(none) ses=1 comm=\"rm\" exe=\"/usr/bin/rm\" key=\"del\"",
        "type=CWD " HDR(12) "cwd=\"/var\"",
        "type=PATH " HDR(12) "item=0 name=\"cachex/old\" inode=7 dev=08:01 mode=0100644 ouid=0 "
        "ogid=0 rdev=00:00 nametype=DELETE"}},
};
#define NEVENTS (sizeof(events) / sizeof(events[0]))

static int fake_user(const char *name, uint32_t *ret, void *ud)
{
    (void)ud;
    if (strcmp(name, "alice") == 0)
        *ret = 1000;
    else if (strcmp(name, "root") == 0)
        *ret = 0;
    else
        return -ENOENT;
    return 0;
}

static int fake_group(const char *name, uint32_t *ret, void *ud)
{
    (void)ud;
    if (strcmp(name, "staff") != 0)
        return -ENOENT;
    *ret = 1000;
    return 0;
}

static const struct ar_filter_env env = {.user_id = fake_user, .group_id = fake_group};

struct run {
    struct ar_filter *f;
    bool dropped_serial[NEVENTS + 1];
    char dropped[1024]; /* labels, in serial order (events complete in another) */
    size_t events;
};

static void on_event(const struct ar_event *ev, void *ud)
{
    struct run *run = ud;
    run->events++;
    if (!ar_filter_keep(run->f, ev))
        run->dropped_serial[ev->serial] = true;
}

static void list_dropped(struct run *run)
{
    for (size_t i = 1; i <= NEVENTS; i++)
        if (run->dropped_serial[i]) {
            if (run->dropped[0])
                strcat(run->dropped, " ");
            strcat(run->dropped, events[i - 1].label);
        }
}

/* Runs every event through the filters `specs` (one per line) and compares the
 * labels of the dropped ones, in order, with `want`; then the counters. */
static void expect(const char *specs, const char *want)
{
    struct run run = {0};
    CHECK(ar_filter_new(&env, &run.f) == 0);
    char buf[4096], why[512];
    snprintf(buf, sizeof(buf), "%s", specs);
    for (char *save, *s = strtok_r(buf, "\n", &save); s; s = strtok_r(NULL, "\n", &save))
        if (ar_filter_add(run.f, s, why, sizeof(why)) < 0) {
            fprintf(stderr, "'%s' refused: %s\n", s, why);
            check_failures++;
        }
    struct ar_reasm_config rcfg;
    ar_reasm_config_default(&rcfg);
    struct ar_reasm_callbacks cbs = {.event = on_event, .userdata = &run};
    struct ar_reasm *r;
    CHECK(ar_reasm_new(&rcfg, &cbs, &r) == 0);
    for (size_t i = 0; i < NEVENTS; i++)
        for (size_t k = 0; k < 6 && events[i].records[k]; k++) {
            const char *l = events[i].records[k];
            struct ar_record rec;
            CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &rec) == 0);
            CHECK(ar_reasm_push(r, &rec, 0) == 0);
        }
    ar_reasm_flush(r);
    ar_reasm_free(r);
    list_dropped(&run);
    if (strcmp(run.dropped, want) != 0) {
        fprintf(stderr, "filters:\n%s\n  dropped: '%s'\n  wanted:  '%s'\n", specs, run.dropped,
                want);
        check_failures++;
    }
    /* The counters: every event looked at, decided by one filter or by none; the
     * dropped ones counted by the set, and by the filters that dropped them (or as
     * unmatched after a list that ends in keep). */
    const struct ar_filter_stats *st = ar_filter_stats(run.f);
    size_t ndropped = 0;
    for (const char *p = run.dropped; *p; p++)
        ndropped += p == run.dropped || p[-1] == ' ';
    CHECK(run.events == NEVENTS && st->events == NEVENTS);
    CHECK(st->dropped == ndropped);
    CHECK(st->unexamined == 0);
    uint64_t by_drop_filters = 0, decided = 0;
    struct ar_filter_info info = {0};
    for (size_t i = 0; ar_filter_info(run.f, i, &info); i++) {
        decided += info.matched;
        if (info.drop)
            by_drop_filters += info.matched;
    }
    CHECK(decided + st->unmatched == NEVENTS);
    CHECK(by_drop_filters + (info.drop ? 0 : st->unmatched) == ndropped);
    ar_filter_free(run.f);
}

static bool one_kept;

static void on_one_event(const struct ar_event *ev, void *ud)
{
    one_kept = ar_filter_keep(ud, ev);
}

/* Whether `spec` keeps the one event of `lines` (NULL-terminated). */
static bool keeps(const char *spec, const char *const *lines)
{
    struct ar_filter *f;
    char why[256];
    CHECK(ar_filter_new(&env, &f) == 0);
    CHECK(ar_filter_add(f, spec, why, sizeof(why)) == 0);
    struct ar_reasm_config rcfg;
    ar_reasm_config_default(&rcfg);
    struct ar_reasm_callbacks cbs = {.event = on_one_event, .userdata = f};
    struct ar_reasm *r;
    CHECK(ar_reasm_new(&rcfg, &cbs, &r) == 0);
    one_kept = false;
    for (size_t i = 0; lines[i]; i++) {
        struct ar_record rec;
        CHECK(ar_header_parse_line(lines[i], lines[i] + strlen(lines[i]), NULL, &rec) == 0);
        CHECK(ar_reasm_push(r, &rec, 0) == 0);
    }
    ar_reasm_flush(r);
    ar_reasm_free(r);
    CHECK(ar_filter_stats(f)->events == 1);
    ar_filter_free(f);
    return one_kept;
}

static const struct ar_proc_info *labelled_proc;

/* As the pipeline does: a copy of the event with its process context. */
static void on_labelled_event(const struct ar_event *ev, void *ud)
{
    struct ar_event copy = *ev;
    copy.proc = labelled_proc;
    one_kept = ar_filter_keep(ud, &copy);
}

static void expect_error(const char *spec, const char *want)
{
    struct ar_filter *f;
    char why[512] = "";
    CHECK(ar_filter_new(&env, &f) == 0);
    if (ar_filter_add(f, spec, why, sizeof(why)) == 0) {
        fprintf(stderr, "'%s' accepted, wanted an error with '%s'\n", spec, want);
        check_failures++;
    } else if (!strstr(why, want)) {
        fprintf(stderr, "'%s': error '%s' does not say '%s'\n", spec, why, want);
        check_failures++;
    }
    CHECK(ar_filter_count(f) == 0);
    ar_filter_free(f);
}

int main(void)
{
    /* type: the event's type (SYSCALL when it has one), names or numbers. */
    expect("drop type=CRED_REFR,USER_LOGIN", "login-failed cred-refr");
    expect("drop type=1110", "cred-refr");
    expect("drop type!=SYSCALL", "login-failed cred-refr");
    expect("drop type~^CRED_", "cred-refr");
    /* record: any of the event's records. */
    expect("drop record=EXECVE", "exec-myprog");
    expect("drop record=SOCKADDR record!=CWD", "php-v4 php-v6 dns-mapped x11-abstract");
    /* syscall: names on the record's own arch (i386's 5 is open, x86_64's is fstat). */
    expect("drop syscall=open,openat", "cat-passwd i386-open");
    expect("drop syscall=fstat", "");
    expect("drop syscall=59", "exec-myprog");
    expect("drop syscall~^(connect|sendto)$", "php-v4 php-v6 ls-nscd dns-mapped x11-abstract");
    /* key: quoted, hex, several keys on one rule, none. */
    expect("drop key=etc-passwd", "cat-passwd");
    expect("drop key=priv", "exec-myprog");
    expect("drop key=(null)", "php-v4 php-v6 ls-nscd i386-open x11-abstract");
    expect("drop key~^e", "cat-passwd exec-myprog");
    /* uid/auid and other id fields: names, numbers, unset. */
    expect("drop auid=unset", "php-v4 php-v6 dns-mapped cache-file");
    expect("drop uid=alice syscall=connect", "ls-nscd x11-abstract");
    expect("drop uid=root,48", "php-v4 php-v6 cat-passwd login-failed cred-refr cache-file "
                               "cachex-file");
    expect("drop gid=staff type=SYSCALL", "ls-nscd exec-myprog i386-open x11-abstract");
    /* != holds where the field is missing too: USER_* records have no euid. */
    expect("drop euid!=0 auid!=unset",
           "ls-nscd exec-myprog login-failed cred-refr i386-open x11-abstract");
    /* exe: quoted or hex, exact; a regex; in user-space messages too. */
    expect("drop exe=\"/tmp/my prog\"", "exec-myprog");
    expect("drop exe=/usr/sbin/sshd", "login-failed cred-refr");
    expect("drop exe~^/usr/bin/(php|ls)$", "php-v4 php-v6 ls-nscd");
    /* path: PATH names, relative ones joined to the CWD; dir: under a directory. */
    expect("drop path=/etc/passwd", "cat-passwd");
    expect("drop path=/opt/old/data/x.db", "i386-open");
    expect("drop path~\\.so\\.2$", "exec-myprog");
    expect("drop dir=/var/cache", "cache-file");
    expect("drop dir=/var/cache/", "cache-file");
    expect("drop dir=/var", "ls-nscd cache-file cachex-file");
    expect("drop dir=/tmp,/etc", "cat-passwd exec-myprog");
    /* sockaddr: addresses, subnets (an IPv4-mapped IPv6 address is IPv4), local and
     * abstract socket names; port and family. */
    expect("drop sockaddr=127.0.0.0/8,::1", "php-v4 php-v6");
    expect("drop sockaddr=10.0.0.0/8", "dns-mapped");
    expect("drop sockaddr=/var/run/nscd/socket", "ls-nscd");
    expect("drop sockaddr=@/tmp/.X11-unix/X0", "x11-abstract");
    expect("drop sockaddr=/tmp/.X11-unix/X0", "");
    expect("drop sockaddr~^@/tmp/\\.X11", "x11-abstract");
    expect("drop sockaddr_port=53", "dns-mapped");
    expect("drop sockaddr_family=local", "ls-nscd x11-abstract");
    expect("drop syscall=connect sockaddr_family!=inet6", "php-v4 ls-nscd x11-abstract");
    /* Any other field, by name, in any record or in records of one type; inside a
     * user-space message's msg='...' too. */
    expect("drop res=failed", "login-failed");
    expect("drop acct=alice op=login", "login-failed");
    expect("drop PATH.nametype=DELETE", "cache-file cachex-file");
    expect("drop CWD.cwd=/etc", "cat-passwd");
    expect("drop exit=EACCES", "i386-open");
    expect("drop exit=-2,-115", "php-v6 ls-nscd");
    expect("drop arch=i386", "i386-open");
    expect("drop proctitle=\"cat passwd\"", "cat-passwd");
    expect("drop comm~\" \"", "exec-myprog");
    /* text: a regex on a record's text, as the kernel wrote it. */
    expect("drop text~hostname=\\?", "login-failed");
    expect("drop PATH.text~nametype=PARENT", "cache-file");
    /* First match wins; a keep before a drop exempts what it matches. */
    expect("keep key=etc-passwd\ndrop uid=root", "login-failed cred-refr cache-file cachex-file");
    expect("keep auid!=unset\ndrop all", "php-v4 php-v6 dns-mapped cache-file");
    expect("drop all", "php-v4 php-v6 ls-nscd cat-passwd exec-myprog login-failed cred-refr "
                       "i386-open dns-mapped x11-abstract cache-file cachex-file");
    /* Unmatched events get the opposite of the last filter's action: a list that ends
     * in keep keeps only what its keep filters match. */
    expect("keep key=etc-passwd,net", "php-v4 php-v6 ls-nscd exec-myprog login-failed cred-refr "
                                      "i386-open x11-abstract cache-file cachex-file");
    expect("drop auid=unset\nkeep uid=alice", "php-v4 php-v6 cat-passwd login-failed cred-refr "
                                              "dns-mapped cache-file cachex-file");
    expect("keep uid=alice\ndrop syscall=connect", "php-v4 php-v6");

    /* An empty name is in no directory, not even "/" (fuzz/filter-corpus:
     * dir-root-empty-name read the byte before it). Empty values and records. */
    {
        static const char *const empty_name[] = {
            "type=SYSCALL " HDR(1) "arch=c000003e syscall=2 success=yes exit=3 items=1 uid=0",
            "type=PATH " HDR(1) "item=0 name=\"\" nametype=UNKNOWN", NULL};
        CHECK(keeps("drop dir=/", empty_name));
        CHECK(!keeps("drop path~^$", empty_name));
        CHECK(!keeps("drop PATH.name=\"\"", empty_name));
        /* Full paths as the summary resolves them: '..' and '.' and doubled '/'. */
        static const char *const dotdot[] = {
            "type=SYSCALL " HDR(3) "arch=c000003e syscall=2 success=yes exit=3 items=1 uid=0",
            "type=CWD " HDR(3) "cwd=\"/home/u/./src\"",
            "type=PATH " HDR(3) "item=0 name=\"../..//../etc/./shadow\" nametype=NORMAL", NULL};
        CHECK(!keeps("drop path=/etc/shadow", dotdot));
        CHECK(!keeps("drop dir=/etc/", dotdot));
        CHECK(!keeps("drop dir=/home/../etc", dotdot));
        CHECK(keeps("drop dir=/home", dotdot));
        CHECK(!keeps("drop path~^/etc/shadow$", dotdot));
        static const char *const empty_record[] = {"type=USER_END " HDR(2), NULL};
        CHECK(!keeps("drop text~^$", empty_record));
        CHECK(keeps("drop key~.", empty_record));
    }

    /* label: the labels of the event's process (the process table's, given to the
     * event by the pipeline). */
    {
        static const char *const names[] = {"pkg", "cfgmgmt", "cron", NULL};
        struct ar_proc_info proc = {.present = true, .labels = 1u << 0 | 1u << 2,
                                    .label_names = names};
        static const char *const lines[] = {
            "type=SYSCALL " HDR(1) "arch=c000003e syscall=59 success=yes exit=0 items=1 pid=7",
            NULL};
        struct ar_filter *f;
        char why[256];
        const char *specs[] = {"keep label=cfgmgmt,cron", "keep label~^c.+g", "drop label!=pkg",
                               "drop label=pkg"};
        for (size_t i = 0; i < 4; i++) {
            CHECK(ar_filter_new(&env, &f) == 0);
            CHECK(ar_filter_add(f, specs[i], why, sizeof(why)) == 0);
            CHECK(ar_filter_uses_labels(f));
            struct ar_reasm_config rcfg;
            ar_reasm_config_default(&rcfg);
            struct ar_reasm *r;
            struct ar_reasm_callbacks cbs = {.event = on_labelled_event, .userdata = f};
            labelled_proc = &proc;
            CHECK(ar_reasm_new(&rcfg, &cbs, &r) == 0);
            struct ar_record rec;
            CHECK(ar_header_parse_line(lines[0], lines[0] + strlen(lines[0]), NULL, &rec) == 0);
            CHECK(ar_reasm_push(r, &rec, 0) == 0);
            ar_reasm_flush(r);
            ar_reasm_free(r);
            /* cron is there: kept; no label ~ ^c.+g (cron has no g): dropped (the last
             * is a keep); pkg is there: != is false, kept; = drops. */
            static const bool want[] = {true, false, true, false};
            CHECK(one_kept == want[i]);
            ar_filter_free(f);
        }
        /* Names checked against the table's rules. */
        const char *given[] = {"pkg", "cron"};
        CHECK(ar_filter_new(&env, &f) == 0);
        CHECK(ar_filter_add(f, "drop label=pkg,cron", why, sizeof(why)) == 0);
        CHECK(ar_filter_add(f, "drop label~x", why, sizeof(why)) == 0);
        CHECK(ar_filter_check_labels(f, given, 2, why, sizeof(why)) == 0);
        CHECK(ar_filter_add(f, "drop uid=0 label=cfgmgmt", why, sizeof(why)) == 0);
        CHECK(ar_filter_check_labels(f, given, 2, why, sizeof(why)) == -EINVAL);
        CHECK_STR(why, "filter 3 'drop uid=0 label=cfgmgmt': label: no process label rule "
                       "gives 'cfgmgmt'");
        ar_filter_free(f);
        CHECK(ar_filter_new(&env, &f) == 0);
        CHECK(ar_filter_add(f, "drop uid=0", why, sizeof(why)) == 0);
        CHECK(!ar_filter_uses_labels(f));
        ar_filter_free(f);
    }

    /* Per-filter counters: the first match counts, later filters do not see it. */
    {
        struct ar_filter *f;
        char why[256];
        CHECK(ar_filter_new(&env, &f) == 0);
        CHECK(ar_filter_add(f, "keep syscall=connect uid=alice", why, sizeof(why)) == 0);
        CHECK(ar_filter_add(f, "drop syscall=connect", why, sizeof(why)) == 0);
        CHECK(ar_filter_add(f, "drop auid=unset", why, sizeof(why)) == 0);
        struct run run = {.f = f};
        struct ar_reasm_config rcfg;
        ar_reasm_config_default(&rcfg);
        struct ar_reasm_callbacks cbs = {.event = on_event, .userdata = &run};
        struct ar_reasm *r;
        CHECK(ar_reasm_new(&rcfg, &cbs, &r) == 0);
        for (size_t i = 0; i < NEVENTS; i++)
            for (size_t k = 0; k < 6 && events[i].records[k]; k++) {
                struct ar_record rec;
                const char *l = events[i].records[k];
                CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &rec) == 0);
                CHECK(ar_reasm_push(r, &rec, 0) == 0);
            }
        ar_reasm_flush(r);
        ar_reasm_free(r);
        list_dropped(&run);
        CHECK_STR(run.dropped, "php-v4 php-v6 dns-mapped cache-file");
        struct ar_filter_info in;
        CHECK(ar_filter_info(f, 0, &in) && in.matched == 2 && !in.drop); /* ls, xterm */
        CHECK(ar_filter_info(f, 1, &in) && in.matched == 2 && in.drop);  /* php twice */
        CHECK(ar_filter_info(f, 2, &in) && in.matched == 2 && in.drop);  /* dns, apt */
        CHECK_STR(in.text, "drop auid=unset");
        CHECK(ar_filter_stats(f)->unmatched == 6 && ar_filter_stats(f)->dropped == 4);
        CHECK(!ar_filter_info(f, 3, &in));
        /* A reload keeps the counts of the filters it kept. */
        struct ar_filter *g;
        CHECK(ar_filter_new(&env, &g) == 0);
        CHECK(ar_filter_add(g, "drop auid=unset", why, sizeof(why)) == 0);
        CHECK(ar_filter_add(g, "drop key=x", why, sizeof(why)) == 0);
        ar_filter_carry_counts(g, f);
        CHECK(ar_filter_info(g, 0, &in) && in.matched == 2);
        CHECK(ar_filter_info(g, 1, &in) && in.matched == 0);
        CHECK(ar_filter_stats(g)->events == NEVENTS && ar_filter_stats(g)->dropped == 4);
        ar_filter_free(g);
        ar_filter_free(f);
    }

    /* Bad filters: one sentence that names what is wrong. */
    expect_error("ignore key=x", "starts with drop or keep, not 'ignore'");
    expect_error("drop", "has no condition");
    expect_error("drop key", "wants =, !=, ~ or !~");
    expect_error("drop key=", "an empty value");
    expect_error("drop key=a,,b", "an empty value");
    expect_error("drop type=NOPE", "unknown record type 'NOPE'");
    expect_error("drop syscall=opne", "unknown syscall 'opne'");
    expect_error("drop uid=nobody-here", "no user 'nobody-here'");
    expect_error("drop gid=nogroup-here", "no group 'nogroup-here'");
    expect_error("drop uid~^1", "takes = or !=");
    expect_error("drop exit=EWHAT", "neither a number nor an errno name");
    expect_error("drop path=etc/passwd", "is not absolute");
    expect_error("drop dir~/var", "dir takes = or !=");
    expect_error("drop sockaddr=10.0.0.0/33", "prefix length must be 0 to 32");
    expect_error("drop sockaddr=localhost", "not an IPv4 or IPv6 address");
    expect_error("drop sockaddr_port=70000", "not a port");
    expect_error("drop sockaddr_family=ipx", "unknown family 'ipx'");
    expect_error("drop text=abc", "text takes ~ or !~");
    expect_error("drop exe~(", "bad regular expression '('");
    expect_error("drop exe=\"/bin/x", "a quote that does not end");
    expect_error("drop NOPE.name=x", "unknown record type 'NOPE'");
    expect_error("drop =x", "is not a condition");
    expect_error("drop key=\"a\"b\"", "a quote that does not end");
    /* A mistyped field name matched nothing, silently: refused, with the name. */
    expect_error("drop exee=/bin/sh", "exee: unknown field 'exee' (did you mean 'exe'?)");
    expect_error("drop aiud=unset", "unknown field 'aiud' (did you mean 'auid'?)");
    expect_error("drop PATH.nametyp=DELETE",
                 "PATH.nametyp: unknown field 'nametyp' (did you mean 'nametype'?)");
    expect_error("drop sockadr=10.0.0.0/8", "unknown field 'sockadr' (did you mean 'sockaddr'?)");
    expect_error("drop UID=0", "unknown field 'UID' (did you mean 'uid'?)");
    expect_error("drop zzqx=1", "unknown field 'zzqx' (a field not known here is matched on "
                                "the record's text: text~\\bzzqx=VALUE)");
    /* Real names stay accepted: classed ones, the others records carry, user-space
     * messages' own, EXECVE's arguments. */
    {
        static const char *const real[] = {
            "drop inode=5", "drop nametype=DELETE", "drop a0=3", "drop a12=x", "drop a1_len=9",
            "drop items=2", "drop tclass=file", "drop grantors=pam_unix", "drop new-level=s0",
            "drop audit_backlog_wait_time=60000", "drop PATH.name=x", "drop prog-id=7",
        };
        for (size_t i = 0; i < AR_ARRAY_SIZE(real); i++) {
            struct ar_filter *f;
            char why[512] = "";
            CHECK(ar_filter_new(&env, &f) == 0);
            if (ar_filter_add(f, real[i], why, sizeof(why)) != 0) {
                fprintf(stderr, "'%s' refused: %s\n", real[i], why);
                check_failures++;
            }
            ar_filter_free(f);
        }
    }
    /* A filter after one that matches every event is never reached. */
    {
        struct ar_filter *f;
        char why[512];
        CHECK(ar_filter_new(&env, &f) == 0);
        CHECK(ar_filter_add(f, "drop all", why, sizeof(why)) == 0);
        CHECK(ar_filter_add(f, "keep key=y", why, sizeof(why)) == -EINVAL);
        CHECK_STR(why, "never reached: 'drop all' before it matches every event");
        CHECK(ar_filter_count(f) == 1);
        ar_filter_free(f);
        /* A list: the position first; none: no set at all. */
        const char *specs[] = {"drop key=x", "drop syscall=nope"};
        CHECK(ar_filter_compile(&env, specs, 2, &f, why, sizeof(why)) == -EINVAL);
        CHECK_STR(why, "filter 2: syscall: unknown syscall 'nope'");
        CHECK(ar_filter_compile(&env, specs, 0, &f, why, sizeof(why)) == 0 && f == NULL);
        CHECK(ar_filter_compile(&env, specs, 1, &f, why, sizeof(why)) == 0 &&
              ar_filter_count(f) == 1);
        ar_filter_free(f);
    }
    return check_done();
}
