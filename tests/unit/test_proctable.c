/* The process table on laurel's process traces (fixtures/corpora/laurel): parents and
 * ancestors, scripts, labels from key, exe and argv inherited by descendants, the
 * reordered and confusing traces attributed like the plain one; pid reuse; the bound
 * under 100k forks. */
#include <errno.h>
#include <linux/audit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "enrich/proctable.h"
#include "parse/header.h"
#include "reasm/reasm.h"

static const char *dir;

/* What each event was attributed, rendered as one line per serial. */
#define MAX_EVENTS 256
static struct {
    uint32_t serial;
    char text[1024];
} got[MAX_EVENTS];
static size_t ngot;
static struct ar_proctab *tab;
static bool render_context; /* session, tty, container, unit and from_proc too */

static void render(const struct ar_proc_info *in, char *out, size_t cap)
{
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__)
    out[0] = '\0';
    if (!in->present) {
        PUT("-");
        return;
    }
    PUT("pid=%u", in->pid);
    if (in->script.len)
        PUT(" script=%.*s", (int)in->script.len, in->script.p);
    if (render_context) {
        if (in->from_proc)
            PUT(" from_proc");
        if (in->session != AR_PROC_SES_UNSET)
            PUT(" ses=%u", in->session);
        if (in->tty_len)
            PUT(" tty=%.*s", in->tty_len, in->tty);
        if (in->cgroup.runtime)
            PUT(" %s:%.12s", ar_cgroup_runtime_name(in->cgroup.runtime), in->cgroup.id);
        if (in->cgroup.unit_len)
            PUT(" unit=%.*s", in->cgroup.unit_len, in->cgroup.unit);
    }
    if (in->has_start)
        PUT(" start=%llu", (unsigned long long)in->start_ms);
    for (size_t i = 0; i < AR_PROC_MAX_LABELS; i++)
        if (in->labels & (1ull << i))
            PUT(" label=%s", ar_proctab_label_name(tab, i));
    for (uint32_t i = 0; i < in->nancestors; i++)
        PUT(" %s%u:%.*s%s", i ? "" : "parent=", in->ancestors[i].pid,
            (int)in->ancestors[i].exe.len, in->ancestors[i].exe.p,
            in->ancestors[i].from_proc ? "(proc)" : "");
#undef PUT
}

static void on_event(const struct ar_event *ev, void *ud)
{
    (void)ud;
    struct ar_proc_info info;
    ar_proctab_event(tab, ev, &info);
    if (ngot < MAX_EVENTS) {
        got[ngot].serial = ev->serial;
        render(&info, got[ngot].text, sizeof(got[ngot].text));
        ngot++;
    }
}

static void feed_text(struct ar_reasm *r, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct ar_record rec;
        if (le > p && *p != '#' && ar_header_parse_line(p, le, NULL, &rec) == 0) {
            ar_proctab_record(tab, &rec);
            CHECK(ar_reasm_push(r, &rec, 0) == 0);
        }
        p = le + 1;
    }
}

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static ar_proc_lookup_fn next_lookup;
static int lookups;

/* A fresh table (and a reassembler feeding on_event); got[] emptied. The next one
 * uses next_lookup, then it is reset. */
static struct ar_reasm *fresh(uint32_t size, uint32_t depth, const char *const *labels,
                              size_t nlabels)
{
    struct ar_proctab_config cfg;
    ar_proctab_config_default(&cfg);
    cfg.lookup = next_lookup;
    next_lookup = NULL;
    cfg.size = size;
    cfg.depth = depth;
    cfg.labels = labels;
    cfg.nlabels = nlabels;
    char err[256];
    ar_proctab_free(tab);
    tab = NULL;
    if (ar_proctab_new(&cfg, &tab, err, sizeof(err)) < 0) {
        fprintf(stderr, "proctab: %s\n", err);
        exit(1);
    }
    struct ar_reasm_config rcfg;
    ar_reasm_config_default(&rcfg);
    struct ar_reasm_callbacks cbs = {.event = on_event};
    struct ar_reasm *r = NULL;
    if (ar_reasm_new(&rcfg, &cbs, &r) < 0)
        exit(1);
    ngot = 0;
    return r;
}

/* Replays files into a fresh table; the events' renderings land in got[]. */
static void replay(const char *const *files, size_t nfiles, const char *const *labels,
                   size_t nlabels, uint32_t depth)
{
    struct ar_reasm *r = fresh(16384, depth, labels, nlabels);
    for (size_t i = 0; i < nfiles; i++) {
        size_t len;
        char *text = slurp(files[i], &len);
        feed_text(r, text, len);
        free(text);
    }
    ar_reasm_flush(r);
    ar_reasm_free(r);
}

static const char *find(uint32_t serial)
{
    for (size_t i = 0; i < ngot; i++)
        if (got[i].serial == serial)
            return got[i].text;
    return "(no event)";
}

#define EXPECT(serial, text)                                                                     \
    do {                                                                                         \
        const char *g_ = find(serial);                                                           \
        if (strcmp(g_, (text)) != 0) {                                                           \
            fprintf(stderr, "%s:%d: event %u:\n  expected %s\n  got      %s\n", __FILE__,        \
                    __LINE__, (unsigned)(serial), (text), g_);                                   \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

/* The plain trace, its reordered copy (EOE records at the end, backwards, so the
 * events complete in reverse) give every event the same context. */
static void test_shell_proc_trace(void)
{
    static const char *const labels[] = {"test-script:key:test-script"};
    static const struct {
        uint32_t serial;
        const char *text;
    } want[] = {
        {29237, "pid=71432"},
        {29238, "pid=71505 script=/home/user/src/laurel/src/testdata/double-fork/test-script.sh "
                "start=1682609045526 label=test-script parent=71432:/usr/bin/bash"},
        {29239, "pid=71505 script=/home/user/src/laurel/src/testdata/double-fork/test-script.sh "
                "start=1682609045526 label=test-script parent=71432:/usr/bin/bash"},
        {29240, "pid=71505 script=/home/user/src/laurel/src/testdata/double-fork/test-script.sh "
                "start=1682609045526 label=test-script parent=71432:/usr/bin/bash"},
        {29241, "pid=71506 start=1682609045530 label=test-script parent=71505:/usr/bin/dash "
                "71432:/usr/bin/bash"},
        {29242, "pid=71507 start=1682609045530 label=test-script parent=71505:/usr/bin/dash "
                "71432:/usr/bin/bash"},
        {29243, "pid=71506 start=1682609045530 label=test-script parent=71505:/usr/bin/dash "
                "71432:/usr/bin/bash"},
        {29244, "pid=71508 start=1682609045530 label=test-script parent=71506:/usr/bin/dash "
                "71505:/usr/bin/dash 71432:/usr/bin/bash"},
        {29245, "pid=71509 start=1682609045530 label=test-script parent=71506:/usr/bin/dash "
                "71505:/usr/bin/dash 71432:/usr/bin/bash"},
    };
    const char *files[][1] = {{"shell-proc-trace.txt"}, {"shell-proc-trace-reordered.txt"}};
    for (size_t f = 0; f < 2; f++) {
        replay(files[f], 1, labels, 1, 4);
        CHECK(ngot == AR_ARRAY_SIZE(want));
        for (size_t i = 0; i < AR_ARRAY_SIZE(want); i++)
            EXPECT(want[i].serial, want[i].text);
    }
    /* The reordered trace does complete its events in reverse. */
    CHECK(ngot == 9 && got[0].serial == 29245);
    /* depth 1: the parent only */
    replay(files[0], 1, labels, 1, 1);
    EXPECT(29245, "pid=71509 start=1682609045530 label=test-script parent=71506:/usr/bin/dash");
}

/* pid 2655 was rm long ago; tcsh forks a new 2655 (the fork result says so), whose
 * child execs id: its parent is that tcsh, not rm (laurel's expectation). */
static void test_confusion(void)
{
    static const char *const labels[] = {"test-script:key:test-script"};
    const char *files[] = {"shell-proc-trace-confusion.txt"};
    replay(files, 1, labels, 1, 4);
    EXPECT(2588684, "pid=2655");
    EXPECT(2638035, "pid=2656 start=1697091526357 parent=2655:/bin/tcsh 2542:/bin/tcsh");
    EXPECT(2638036, "pid=2655 start=1697091526357 parent=2542:/bin/tcsh");
}

/* dpkg execs dpkg-query without a fork: its label stays, and the pager started
 * through "sh -c -- pager" has it too (laurel's proc_trace_exec_without_fork). A
 * script run by sh is found. */
static void test_dpkg(void)
{
    static const char *const labels[] = {"pkg_mgmt:exe:^/usr/bin/dpkg$"};
    const char *files[] = {"proc-trace-dpkg-l.txt"};
    replay(files, 1, labels, 1, 4);
    static const uint32_t labelled[] = {2322552, 2322553, 2322555, 2322557};
    for (size_t i = 0; i < AR_ARRAY_SIZE(labelled); i++)
        CHECK(strstr(find(labelled[i]), "label=pkg_mgmt") != NULL);
    CHECK(strstr(find(2322550), "label=") == NULL); /* dircolors, before dpkg */
    CHECK(strstr(find(2322543), "script=/usr/bin/lesspipe ") != NULL);
    CHECK(strstr(find(2322555), "script=") == NULL); /* sh -c: no script */
    EXPECT(2322557, "pid=1140464 start=1778355636754 label=pkg_mgmt parent=1140463:/usr/bin/dash "
                    "1140462:/usr/bin/dpkg-query 1140453:/usr/bin/bash 1140452:/usr/sbin/sshd");
    /* Label patterns are PCRE2, the filters' engine: (?i) and \w are Perl syntax. */
    static const char *const perl[] = {"pkg_mgmt:exe:(?i)^/USR/BIN/\\w+$"};
    replay(files, 1, perl, 1, 4);
    for (size_t i = 0; i < AR_ARRAY_SIZE(labelled); i++)
        CHECK(strstr(find(labelled[i]), "label=pkg_mgmt") != NULL);
}

/* Records of each event in reverse (EXECVE before SYSCALL); the child execs after
 * its parent died (ppid=1): it keeps its label and the process that started it. */
static void test_fork_sleep_exec(void)
{
    static const char *const labels[] = {"uncaring-parent:exe:/uncaring-parent$"};
    const char *files[] = {"fork-sleep-exec.txt"};
    replay(files, 1, labels, 1, 4);
    EXPECT(6104008, "pid=1578540 label=uncaring-parent parent=1578539:/home/user/bin/uncaring-parent");
}

/* apt-get run tagged by its key: everything it starts inherits the label, events fed
 * one file at a time as laurel's key_label test does. */
static void test_tree(void)
{
    static const char *const labels[] = {"software_mgmt:key:software_mgmt",
                                         "pkg_mgmt:argv:^/usr/bin/dpkg --print"};
    const char *files[17];
    char names[17][16];
    for (int i = 0; i < 17; i++) {
        snprintf(names[i], sizeof(names[i]), "tree/%02d.txt", i);
        files[i] = names[i];
    }
    replay(files, 17, labels, 2, 4);
    CHECK(ngot == 17);
    for (size_t i = 0; i < ngot; i++) {
        CHECK(strstr(got[i].text, "label=software_mgmt") != NULL);
        if (i > 0)
            CHECK(strstr(got[i].text, "parent=722676:/usr/bin/apt-get") != NULL);
    }
    EXPECT(299897, "pid=722677 label=software_mgmt label=pkg_mgmt parent=722676:/usr/bin/apt-get");
}

/* A pid reused after exit is another process; a reused pid seen again without its
 * fork (another parent) is one too. */
static const char *line(char *buf, size_t cap, uint32_t serial, const char *body, const char *type)
{
    snprintf(buf, cap, "type=%s msg=audit(1700000000.%03u:%u): %s", type, serial % 1000, serial,
             body);
    return buf;
}

static void feed_line(struct ar_reasm *r, const char *l)
{
    struct ar_record rec;
    CHECK(ar_header_parse_line(l, l + strlen(l), NULL, &rec) == 0);
    ar_proctab_record(tab, &rec);
    CHECK(ar_reasm_push(r, &rec, 0) == 0);
}

static void syscall_event(struct ar_reasm *r, uint32_t serial, int nr, long exitv, uint32_t ppid,
                          uint32_t pid, const char *exe, const char *argv1)
{
    char body[512], buf[768];
    snprintf(body, sizeof(body),
             "arch=c000003e syscall=%d success=yes exit=%ld a0=1200011 a1=0 items=0 ppid=%u "
             "pid=%u auid=1000 uid=1000 comm=\"x\" exe=\"%s\" key=(null)",
             nr, exitv, ppid, pid, exe);
    feed_line(r, line(buf, sizeof(buf), serial, body, "SYSCALL"));
    if (nr == 59) {
        snprintf(body, sizeof(body), "argc=2 a0=\"%s\" a1=\"%s\"", exe, argv1 ? argv1 : "x");
        feed_line(r, line(buf, sizeof(buf), serial, body, "EXECVE"));
        feed_line(r, line(buf, sizeof(buf), serial, "cwd=\"/srv\"", "CWD"));
    }
    feed_line(r, line(buf, sizeof(buf), serial, "", "EOE"));
}

static void test_pid_reuse(void)
{
    static const char *const labels[] = {"py:exe:python3$"};
    struct ar_reasm *r = fresh(64, 4, labels, 1);
    syscall_event(r, 1, 59, 0, 1, 500, "/usr/bin/bash", NULL);         /* bash, first seen */
    syscall_event(r, 2, 57, 600, 1, 500, "/usr/bin/bash", NULL);       /* bash forks 600 */
    syscall_event(r, 3, 59, 0, 500, 600, "/usr/bin/python3", "-u");    /* python3 -u script */
    syscall_event(r, 4, 59, 0, 500, 600, "/usr/bin/python3", "app.py"); /* exec again */
    syscall_event(r, 5, 231, 0, 500, 600, "/usr/bin/python3", NULL);   /* exit_group */
    syscall_event(r, 6, 2, 3, 700, 600, "/usr/bin/cat", NULL);         /* pid 600 reused */
    syscall_event(r, 7, 57, 600, 1, 500, "/usr/bin/bash", NULL);       /* bash forks 600 again */
    syscall_event(r, 8, 2, 3, 500, 600, "/usr/bin/bash", NULL);        /* the new 600 */
    ar_reasm_flush(r);
    ar_reasm_free(r);
    EXPECT(3, "pid=600 start=1700000000002 label=py parent=500:/usr/bin/bash");
    EXPECT(4, "pid=600 script=/srv/app.py start=1700000000002 label=py parent=500:/usr/bin/bash");
    EXPECT(6, "pid=600"); /* another parent: not the python process */
    EXPECT(8, "pid=600 start=1700000000007 parent=500:/usr/bin/bash");
}

/* An exec with its whole argv (quoted words, space-separated in args). */
static void exec_event(struct ar_reasm *r, uint32_t serial, uint32_t ppid, uint32_t pid,
                       const char *exe, const char *args)
{
    char body[1024], buf[1280];
    snprintf(body, sizeof(body),
             "arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=0 items=2 ppid=%u pid=%u "
             "auid=1000 uid=1000 tty=pts1 ses=7 comm=\"x\" exe=\"%s\" key=(null)",
             ppid, pid, exe);
    feed_line(r, line(buf, sizeof(buf), serial, body, "SYSCALL"));
    size_t n = 0, argc = 0;
    char words[1024];
    snprintf(words, sizeof(words), "%s", args);
    body[0] = '\0';
    for (char *w = strtok(words, " "); w; w = strtok(NULL, " "))
        n += (size_t)snprintf(body + n, sizeof(body) - n, " a%zu=\"%s\"", argc++, w);
    char execve[1100];
    snprintf(execve, sizeof(execve), "argc=%zu%s", argc, body);
    feed_line(r, line(buf, sizeof(buf), serial, execve, "EXECVE"));
    feed_line(r, line(buf, sizeof(buf), serial, "cwd=\"/srv\"", "CWD"));
    feed_line(r, line(buf, sizeof(buf), serial, "", "EOE"));
}

/* Interpreter options that take an argument are skipped with it: the script is
 * the word after them (python3 -W ignore x.py named "ignore" the script). */
static void test_script_options(void)
{
    struct ar_reasm *r = fresh(64, 4, NULL, 0);
    exec_event(r, 1, 1, 10, "/usr/bin/python3", "python3 -W ignore x.py");
    exec_event(r, 2, 1, 11, "/usr/bin/python3.11", "python3 -X dev -Wall -u -W error y.py a");
    exec_event(r, 3, 1, 12, "/usr/bin/bash", "bash -o errexit +O extglob -e s.sh");
    exec_event(r, 4, 1, 13, "/usr/bin/node", "node --require ./hook.js app.js");
    exec_event(r, 5, 1, 14, "/usr/bin/python3", "python3 -c print(1) x.py");
    exec_event(r, 6, 1, 15, "/usr/bin/python3", "python3 -W");
    ar_reasm_flush(r);
    ar_reasm_free(r);
    EXPECT(1, "pid=10 script=/srv/x.py");
    EXPECT(2, "pid=11 script=/srv/y.py");
    EXPECT(3, "pid=12 script=/srv/s.sh");
    EXPECT(4, "pid=13 script=/srv/app.js");
    EXPECT(5, "pid=14");
    EXPECT(6, "pid=15");
}

/* Hex-encoded values (a space in them): a script path, an exe, several keys. */
static void test_hex_values(void)
{
    static const char *const labels[] = {"a:key:alpha", "b:key:beta", "sp:exe:my tool$"};
    struct ar_reasm *r = fresh(64, 4, labels, 3);
    char buf[768];
    /* key = "alpha\x01beta" */
    feed_line(r, line(buf, sizeof(buf), 1,
                      "arch=c000003e syscall=59 success=yes exit=0 a0=1 items=2 ppid=1 pid=40 "
                      "comm=\"python3\" exe=\"/usr/bin/python3\" key=616C7068610162657461",
                      "SYSCALL"));
    feed_line(r, line(buf, sizeof(buf), 1, "argc=2 a0=\"python3\" a1=2F7372762F6D79206170702E7079",
                      "EXECVE"));
    feed_line(r, line(buf, sizeof(buf), 1, "", "EOE"));
    feed_line(r, line(buf, sizeof(buf), 2,
                      "arch=c000003e syscall=59 success=yes exit=0 a0=1 items=2 ppid=40 pid=41 "
                      "comm=\"t\" exe=2F6F70742F6D7920746F6F6C key=(null)",
                      "SYSCALL"));
    feed_line(r, line(buf, sizeof(buf), 2, "", "EOE"));
    ar_reasm_flush(r);
    ar_reasm_free(r);
    EXPECT(1, "pid=40 script=/srv/my app.py label=a label=b");
    EXPECT(2, "pid=41 label=a label=b label=sp parent=40:/usr/bin/python3");
}

/* What a live collector's /proc lookup would say: sshd 900 (its parent 1), a shell
 * 1000 in a docker container (its parent containerd-shim 990, parent 1), a process
 * 2000 started after the events (its pid reused since), nothing else. */
#define DOCKER_ID "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970"
static uint64_t reused_start = 1699999999000;
static int fake_proc(uint32_t pid, struct ar_proc_observed *ret, void *ctx)
{
    (void)ctx;
    lookups++;
    const char *cgroup = "0::/system.slice/ssh.service\n";
    if (pid == 900) {
        ret->ppid = 1;
        ret->start_ms = 1600000000000;
        snprintf(ret->exe, sizeof(ret->exe), "/usr/sbin/sshd");
        snprintf(ret->comm, sizeof(ret->comm), "sshd");
    } else if (pid == 990) {
        ret->ppid = 1;
        ret->start_ms = 1690000000000;
        snprintf(ret->exe, sizeof(ret->exe), "/usr/bin/containerd-shim-runc-v2");
        cgroup = "0::/system.slice/containerd.service\n";
    } else if (pid == 3000) {
        ret->ppid = 1;
        ret->start_ms = reused_start;
        snprintf(ret->exe, sizeof(ret->exe), "/usr/bin/python3");
    } else if (pid == 1000 || pid == 2000) {
        ret->ppid = 990;
        ret->start_ms = pid == 1000 ? 1699999999000 : 1700000000500;
        snprintf(ret->exe, sizeof(ret->exe), "/usr/bin/bash");
        cgroup = "0::/system.slice/docker-" DOCKER_ID ".scope\n";
    } else {
        return -ESRCH;
    }
    ar_cgroup_parse_file(cgroup, strlen(cgroup), &ret->cgroup);
    return 0;
}

/* A parent older than the collector comes from the lookup, marked so; its labels
 * from the exe rules reach the child; a known parent is not looked up again. */
static void test_lookup(void)
{
    static const char *const labels[] = {"remote:exe:/sshd$"};
    next_lookup = fake_proc;
    struct ar_reasm *r = fresh(64, 4, labels, 1);
    syscall_event(r, 1, 2, 3, 900, 901, "/usr/bin/bash", NULL);
    syscall_event(r, 2, 2, 3, 900, 901, "/usr/bin/bash", NULL);
    syscall_event(r, 3, 2, 3, 77, 78, "/usr/bin/cat", NULL);
    ar_reasm_flush(r);
    ar_reasm_free(r);
    EXPECT(1, "pid=901 label=remote parent=900:/usr/sbin/sshd(proc)");
    EXPECT(2, "pid=901 label=remote parent=900:/usr/sbin/sshd(proc)");
    EXPECT(3, "pid=78");
    CHECK(lookups == 5); /* 901, 900 and its parent 1 (not found) once; 78 and 77 once */
}

/* A process older than the collector (its fork unseen): its start, container and
 * unit come from the lookup, marked from_proc, and so do its ancestors'; its
 * children inherit the container, session and tty; a pid whose process /proc says
 * started after the event is not taken for it (counted). */
static void test_lookup_context(void)
{
    next_lookup = fake_proc;
    lookups = 0;
    render_context = true;
    struct ar_reasm *r = fresh(64, 4, NULL, 0);
    char buf[768];
    /* serial 1: bash 1000 in the container opens a file, on pts/1 in session 7 */
    feed_line(r, line(buf, sizeof(buf), 1,
                      "arch=c000003e syscall=257 success=yes exit=3 a0=1 a1=0 items=1 ppid=990 "
                      "pid=1000 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 "
                      "fsgid=0 tty=pts1 ses=7 comm=\"bash\" exe=\"/usr/bin/bash\" key=(null)",
                      "SYSCALL"));
    feed_line(r, line(buf, sizeof(buf), 1, "", "EOE"));
    syscall_event(r, 2, 57, 1001, 990, 1000, "/usr/bin/bash", NULL); /* it forks 1001 */
    exec_event(r, 3, 1000, 1001, "/usr/bin/python3", "python3 -W ignore x.py");
    /* serial 4: pid 2000, whose process now started after this event */
    syscall_event(r, 4, 2, 3, 990, 2000, "/usr/bin/bash", NULL);
    ar_reasm_flush(r);
    ar_reasm_free(r);
    EXPECT(1, "pid=1000 from_proc ses=7 tty=pts1 docker:4f797c539e6c unit=docker-" DOCKER_ID
              ".scope start=1699999999000 parent=990:/usr/bin/containerd-shim-runc-v2(proc)");
    /* the child: born at the fork, the container inherited, its own ses/tty (the
     * test's exec record says 7, pts1) */
    EXPECT(3, "pid=1001 script=/srv/x.py ses=7 tty=pts1 docker:4f797c539e6c unit=docker-" DOCKER_ID
              ".scope start=1700000000002 parent=1000:/usr/bin/bash(proc) "
              "990:/usr/bin/containerd-shim-runc-v2(proc)");
    /* not the container of pid 2000's process now, nor its parent's guessed */
    EXPECT(4, "pid=2000 parent=990:/usr/bin/containerd-shim-runc-v2(proc)");
    const struct ar_proctab_stats *st = ar_proctab_stats(tab);
    CHECK(st->proc_reused == 1);
    CHECK(st->proc_lookups == (uint64_t)lookups);
    render_context = false;

    /* pid 3000 runs a labelled script, then (its exit unseen) another process with
     * the same parent takes the pid and execs: /proc's later start tells them apart. */
    static const char *const labels[] = {"first:script:first\\.py$"};
    next_lookup = fake_proc;
    r = fresh(64, 4, labels, 1);
    reused_start = 1699999999000;
    exec_event(r, 1, 1, 3000, "/usr/bin/python3", "python3 first.py");
    ar_reasm_flush(r);
    reused_start = 1700000000001; /* after the first, before its own exec */
    exec_event(r, 2, 1, 3000, "/usr/bin/python3", "python3 second.py");
    ar_reasm_flush(r);
    ar_reasm_free(r);
    EXPECT(1, "pid=3000 script=/srv/first.py start=1699999999000 label=first");
    EXPECT(2, "pid=3000 script=/srv/second.py start=1700000000001");
    CHECK(ar_proctab_stats(tab)->proc_reused == 1);
}

/* An ancestor chain cut short because the parent's entry was reused is counted. */
static void test_chains_cut(void)
{
    struct ar_reasm *r = fresh(16, 4, NULL, 0);
    syscall_event(r, 1, 59, 0, 1, 100, "/usr/bin/bash", NULL);
    syscall_event(r, 2, 57, 101, 1, 100, "/usr/bin/bash", NULL);
    /* 40 unrelated processes while 101 stays busy: the sweep reuses 100's entry */
    for (uint32_t i = 0; i < 40; i++) {
        syscall_event(r, 10 + 2 * i, 2, 3, 1, 500 + i, "/usr/bin/cat", NULL);
        syscall_event(r, 11 + 2 * i, 2, 3, 100, 101, "/usr/bin/bash", NULL);
    }
    syscall_event(r, 90, 2, 3, 100, 101, "/usr/bin/bash", NULL);
    ar_reasm_flush(r);
    ar_reasm_free(r);
    const struct ar_proctab_stats *st = ar_proctab_stats(tab);
    printf("chains cut: %llu (event 90: %s)\n", (unsigned long long)st->chains_cut, find(90));
    CHECK(st->chains_cut >= 1);
    CHECK(strstr(find(90), "start=1700000000002") != NULL); /* 101 itself is kept */
    CHECK(strstr(find(90), "parent=") == NULL);
}

/* 100k forks of one shell, each child execs and exits; pids wrap at 32768. The
 * table stays within its bound and the last child is still attributed right. */
static void test_fork_heavy(void)
{
    struct ar_reasm *r = fresh(1024, 4, NULL, 0);
    uint32_t serial = 1;
    syscall_event(r, serial++, 59, 0, 1, 300, "/usr/bin/bash", NULL);
    uint32_t child = 301;
    for (int i = 0; i < 100000; i++) {
        syscall_event(r, serial++, 57, child, 1, 300, "/usr/bin/bash", NULL);
        syscall_event(r, serial++, 59, 0, 300, child, "/usr/bin/true", NULL);
        syscall_event(r, serial++, 231, 0, 300, child, "/usr/bin/true", NULL);
        if (ngot > MAX_EVENTS - 8)
            ngot = 0;
        child = child == 32767 ? 301 : child + 1;
    }
    uint32_t last = serial - 2; /* the last exec */
    ar_reasm_flush(r);
    ar_reasm_free(r);
    const struct ar_proctab_stats *st = ar_proctab_stats(tab);
    printf("fork-heavy: 100000 forks, table 1024 entries: %llu in use, %llu created, "
           "%llu evicted, %llu lost, memory %llu bytes (fixed)\n",
           (unsigned long long)st->entries, (unsigned long long)st->created,
           (unsigned long long)st->evicted, (unsigned long long)st->lost,
           (unsigned long long)st->memory_bytes);
    CHECK(st->entries <= 1024);
    CHECK(st->created >= 200000);
    CHECK(st->lost == 0);
    const char *g = find(last);
    CHECK(strstr(g, "parent=300:/usr/bin/bash") != NULL);
    if (!strstr(g, "parent=300:/usr/bin/bash"))
        fprintf(stderr, "last exec: %s\n", g);
}

/* One audit event stamped at ms (1700000000.ms) of pid running exe. */
static void event_at(struct ar_reasm *r, uint32_t serial, unsigned ms, int nr, long exitv,
                     uint32_t ppid, uint32_t pid, const char *exe, const char *argv1)
{
    char body[512], buf[768];
    snprintf(body, sizeof(body),
             "arch=c000003e syscall=%d success=yes exit=%ld a0=1200011 a1=0 items=0 ppid=%u "
             "pid=%u auid=1000 uid=1000 comm=\"x\" exe=\"%s\" key=(null)",
             nr, exitv, ppid, pid, exe);
#define AT(type) (snprintf(buf, sizeof(buf), "type=%s msg=audit(1700000000.%03u:%u): %s", type, \
                           ms, serial, body), buf)
    feed_line(r, AT("SYSCALL"));
    if (nr == 59) {
        snprintf(body, sizeof(body), "argc=2 a0=\"%s\" a1=\"%s\"", exe, argv1 ? argv1 : "x");
        feed_line(r, AT("EXECVE"));
        snprintf(body, sizeof(body), "cwd=\"/srv\"");
        feed_line(r, AT("CWD"));
    }
    body[0] = 0;
    feed_line(r, AT("EOE"));
#undef AT
}

#define T0 1700000000000ull
#define SPAN(s) ((struct ar_span){(s), sizeof(s) - 1})

/* The lifecycle feed is ahead of the audit records (it is drained first): each
 * record is attributed to the image its pid ran at the record's time, not the
 * newest; a fork or exec the feed made is not made again; a pid reused since is
 * another process. The chain sshd -> bash -> subshell -> python3 has no audited
 * fork at all. */
static void test_feed(void)
{
    struct ar_reasm *r = fresh(64, 4, NULL, 0);
    ar_proctab_exec(tab, 400, 1, T0 + 1, SPAN("/usr/sbin/sshd"), false, SPAN("sshd"));
    ar_proctab_fork(tab, 500, 400, T0 + 10, SPAN("sshd"));
    ar_proctab_exec(tab, 500, 400, T0 + 20, SPAN("/usr/bin/bash"), false, SPAN("bash"));
    ar_proctab_fork(tab, 600, 500, T0 + 30, SPAN("bash"));   /* the subshell */
    ar_proctab_fork(tab, 700, 600, T0 + 40, SPAN("bash"));
    ar_proctab_exec(tab, 700, 600, T0 + 50, SPAN("/usr/bin/python3"), false, SPAN("python3"));
    ar_proctab_exec(tab, 700, 600, T0 + 70, SPAN("/usr/bin/true"), false, SPAN("true"));
    ar_proctab_exit(tab, 700, T0 + 80);
    ar_proctab_fork(tab, 700, 400, T0 + 90, SPAN("sshd"));   /* pid 700 reused */
    uint64_t created = ar_proctab_stats(tab)->created;
    event_at(r, 1, 29, 56, 600, 400, 500, "/usr/bin/bash", NULL); /* bash's clone of 600 */
    event_at(r, 2, 49, 59, 0, 600, 700, "/usr/bin/python3", "app.py"); /* its execve */
    CHECK(ar_proctab_stats(tab)->created == created); /* both made by the feed already */
    event_at(r, 3, 60, 257, 3, 600, 700, "/usr/bin/python3", NULL);
    event_at(r, 4, 45, 257, 3, 600, 700, "/usr/bin/bash", NULL);  /* before its exec */
    event_at(r, 5, 75, 257, 3, 600, 700, "/usr/bin/true", NULL);
    event_at(r, 6, 95, 257, 3, 400, 700, "/usr/sbin/sshd", NULL); /* the new 700 */
    /* A record of a process the feed never saw, older than the pid's fork: its
     * entry goes behind the fed one, which stays the pid's. */
    ar_proctab_fork(tab, 800, 400, T0 + 100, SPAN("sshd"));
    event_at(r, 7, 5, 257, 3, 1, 800, "/usr/sbin/sshd", NULL);
    event_at(r, 8, 110, 257, 3, 400, 800, "/usr/sbin/sshd", NULL);
    ar_reasm_flush(r);
    ar_reasm_free(r);
    EXPECT(2, "pid=700 script=/srv/app.py start=1700000000040 parent=600:/usr/bin/bash "
              "500:/usr/bin/bash 400:/usr/sbin/sshd");
    EXPECT(3, "pid=700 script=/srv/app.py start=1700000000040 parent=600:/usr/bin/bash "
              "500:/usr/bin/bash 400:/usr/sbin/sshd");
    EXPECT(4, "pid=700 start=1700000000040 parent=600:/usr/bin/bash 500:/usr/bin/bash "
              "400:/usr/sbin/sshd");
    EXPECT(5, "pid=700 start=1700000000040 parent=600:/usr/bin/bash 500:/usr/bin/bash "
              "400:/usr/sbin/sshd");
    EXPECT(6, "pid=700 start=1700000000090 parent=400:/usr/sbin/sshd");
    EXPECT(7, "pid=800");
    EXPECT(8, "pid=800 start=1700000000100 parent=400:/usr/sbin/sshd");
    const struct ar_proctab_stats *st = ar_proctab_stats(tab);
    CHECK(st->fed_forks == 5 && st->fed_execs == 4 && st->fed_exits == 1);
}

/* An execve's record is stamped when the syscall began; the feed sees the exec
 * where it happens, which on a loaded machine may be tens of milliseconds later.
 * The record's argv belongs to that exec's image, even when the process ran the
 * same program before it (python3 starting python3): it named the forked image
 * (its exe matched), the fed exec's image kept no argv, and the script and its
 * label were lost (live/procctx case_pid_reuse under load). */
static void test_feed_slow_exec(void)
{
    static const char *const labels[] = {"first:script:first\\.py$"};
    struct ar_reasm *r = fresh(64, 4, labels, 1);
    ar_proctab_exec(tab, 900, 1, T0 + 1, SPAN("/usr/bin/python3"), false, SPAN("python3"));
    ar_proctab_fork(tab, 901, 900, T0 + 10, SPAN("python3"));
    ar_proctab_exec(tab, 901, 900, T0 + 60, SPAN("/usr/bin/python3"), false, SPAN("python3"));
    uint64_t created = ar_proctab_stats(tab)->created;
    event_at(r, 1, 20, 59, 0, 900, 901, "/usr/bin/python3", "first.py"); /* its execve */
    CHECK(ar_proctab_stats(tab)->created == created);
    event_at(r, 2, 70, 257, 3, 900, 901, "/usr/bin/python3", NULL);
    ar_reasm_flush(r);
    ar_reasm_free(r);
    EXPECT(1, "pid=901 script=/srv/first.py start=1700000000010 label=first "
              "parent=900:/usr/bin/python3");
    EXPECT(2, "pid=901 script=/srv/first.py start=1700000000010 label=first "
              "parent=900:/usr/bin/python3");
}

/* /proc as the live collector would see it during test_late_fork: python3 300
 * (started long before) and its child 301, now bash. */
static int late_fork_proc(uint32_t pid, struct ar_proc_observed *ret, void *ctx)
{
    (void)ctx;
    if (pid != 300 && pid != 301)
        return -ESRCH;
    ret->ppid = pid == 300 ? 1 : 300;
    ret->start_ms = pid == 300 ? T0 - 5000 : T0 + 12; /* ticks: not the fork's ms */
    snprintf(ret->exe, sizeof(ret->exe), pid == 300 ? "/usr/bin/python3" : "/usr/bin/bash");
    return 0;
}

/* Audit logs a vfork when it returns in the parent, after the child's exec had
 * woken it: the child's execve record usually comes first (python's subprocess,
 * posix_spawn). The late vfork record completes the child's entry (start, parent)
 * instead of replacing its exec with a new entry of python's image: the shell's
 * next record named python3's image, found the exe changed and took the shell for
 * a process met without its fork (start from /proc, script and key label lost).
 * A fork of a pid whose entry is older than the fork is still another process. */
static void test_late_fork(void)
{
    static const char *const labels[] = {"run:key:run", "sh:script:s\\.sh$"};
    next_lookup = late_fork_proc;
    render_context = true;
    struct ar_reasm *r = fresh(64, 4, labels, 2);
    char body[512], buf[768];
    event_at(r, 1, 1, 59, 0, 1, 300, "/usr/bin/python3", "test.py");
    /* The child's failed execve (a PATH entry without bash), then its exec. */
    snprintf(body, sizeof(body),
             "arch=c000003e syscall=59 success=no exit=-2 a0=1 a1=0 items=1 ppid=300 pid=301 "
             "auid=1000 uid=1000 comm=\"python3\" exe=\"/usr/bin/python3\" key=(null)");
    feed_line(r, line(buf, sizeof(buf), 11, body, "SYSCALL"));
    feed_line(r, line(buf, sizeof(buf), 11, "", "EOE"));
    snprintf(body, sizeof(body),
             "arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=0 items=2 ppid=300 pid=301 "
             "auid=1000 uid=1000 comm=\"bash\" exe=\"/usr/bin/bash\" key=\"run\"");
    feed_line(r, line(buf, sizeof(buf), 13, body, "SYSCALL"));
    feed_line(r, line(buf, sizeof(buf), 13, "argc=2 a0=\"bash\" a1=\"s.sh\"", "EXECVE"));
    feed_line(r, line(buf, sizeof(buf), 13, "cwd=\"/srv\"", "CWD"));
    feed_line(r, line(buf, sizeof(buf), 13, "", "EOE"));
    event_at(r, 14, 10, 58, 301, 1, 300, "/usr/bin/python3", NULL); /* the vfork, late */
    event_at(r, 20, 20, 56, 302, 300, 301, "/usr/bin/bash", NULL);  /* the shell forks */
    event_at(r, 25, 25, 257, 3, 301, 302, "/usr/bin/bash", NULL);
    /* bash 500 forks 600, which runs cat and exits unaudited; 500 forks 600 again. */
    event_at(r, 30, 30, 56, 600, 1, 500, "/usr/bin/bash", NULL);
    event_at(r, 31, 31, 59, 0, 500, 600, "/usr/bin/cat", NULL);
    event_at(r, 40, 40, 56, 600, 1, 500, "/usr/bin/bash", NULL);
    event_at(r, 41, 41, 257, 3, 500, 600, "/usr/bin/bash", NULL);
    ar_reasm_flush(r);
    ar_reasm_free(r);
    render_context = false;
    /* The exec's own event completed before the vfork came: /proc's start. */
    EXPECT(13, "pid=301 script=/srv/s.sh from_proc start=1700000000012 label=run label=sh "
               "parent=300:/usr/bin/python3(proc)");
    EXPECT(20, "pid=301 script=/srv/s.sh start=1700000000010 label=run label=sh "
               "parent=300:/usr/bin/python3(proc)");
    EXPECT(25, "pid=302 start=1700000000020 label=run label=sh parent=301:/usr/bin/bash "
               "300:/usr/bin/python3(proc)");
    EXPECT(41, "pid=600 start=1700000000040 parent=500:/usr/bin/bash");
}

static void test_bad_rules(void)
{
    char err[256];
    CHECK(ar_proctab_label_check("x:exe:^/usr/bin/", err, sizeof(err)) == 0);
    CHECK(ar_proctab_label_check("x:path:/etc", err, sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "key, exe, argv or script") != NULL);
    CHECK(ar_proctab_label_check("x:exe:(", err, sizeof(err)) == -EINVAL);
    CHECK(strstr(err, "regular expression") != NULL);
    CHECK(ar_proctab_label_check("nocolon", err, sizeof(err)) == -EINVAL);
    CHECK(ar_proctab_label_check("a b:key:k", err, sizeof(err)) == -EINVAL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s LAUREL-TESTDATA-DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    test_shell_proc_trace();
    test_confusion();
    test_dpkg();
    test_fork_sleep_exec();
    test_tree();
    test_pid_reuse();
    test_hex_values();
    test_script_options();
    test_lookup();
    test_lookup_context();
    test_chains_cut();
    test_fork_heavy();
    test_feed();
    test_feed_slow_exec();
    test_late_fork();
    test_bad_rules();
    ar_proctab_free(tab);
    return check_done();
}
