/* A tracepoint engine (bpf, or perf with --engine perf) against the real kernel
 * (root): runs a command under the engine with a hand-made plan and counts its
 * samples (path, exe and comm
 * right; the kernel's rule choice against ar_tp_plan_match). Not a unit test: a
 * probe for measuring (bench numbers in the commit messages come from it).
 *
 *   tp_engine_probe [--ring BYTES] [--syscalls openat,execve,connect] [--expect PATH]
 *                   [--watch PATH [--dir]] [--never-uid UID] [--exe PATH] [--cwd PATH]
 *                   [--raw] [--print] [--none] [--engine bpf|perf] -- COMMAND ARGS...
 *
 * --watch adds a path rule (-p rw) before the plain rule, keyed "watch"; the plain
 * rule (every listed syscall) is keyed "probe". --raw hooks raw_syscalls instead
 * of the per-syscall tracepoints. --never-uid puts a never rule first. --none runs the command with no
 * engine (the baseline). Samples are counted for the command's process tree. Exit
 * 77 when not root or the engine is not built. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "audit/tables.h"
#include "sources/tracepoint/engine.h"

#ifndef AR_HAVE_BPF
int main(void)
{
    fprintf(stderr, "tp_engine_probe: built without the BPF engine\n");
    return 77;
}
#else

static volatile sig_atomic_t stop_flag;
static pid_t child = -1;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    if (child > 0)
        kill(child, SIGKILL);
}

#define MAX_TREE 65536
static uint32_t tree[MAX_TREE];
static unsigned ntree;

static bool in_tree(uint32_t pid)
{
    for (unsigned i = ntree; i-- > 0;)
        if (tree[i] == pid)
            return true;
    return false;
}

struct stats {
    const char *expect, *exe, *cwd;
    const struct ar_tp_plan *plan;
    bool print;
    uint64_t total, tree_samples, by_rule[AR_TP_MAX_RULES];
    uint64_t path_right, exe_right, cwd_right, comm_right, rule_mismatch, late;
};

static bool span_is(struct ar_span s, const char *str)
{
    return str && s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

static void put_span(const char *name, struct ar_span s)
{
    printf(" %s=\"", name);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c < 0x20 || c >= 0x7f || c == '"')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int on_sample(const struct ar_tp_sample *s, void *ud)
{
    struct stats *st = ud;
    st->total++;
    if (!in_tree(s->pid)) {
        if (!in_tree(s->ppid) || ntree == MAX_TREE)
            return 0;
        tree[ntree++] = s->pid;
    }
    st->tree_samples++;
    if (s->rule >= 0 && s->rule < AR_TP_MAX_RULES)
        st->by_rule[s->rule]++;
    if (st->expect && s->npaths > 0 && span_is(s->paths[0], st->expect))
        st->path_right++;
    if (st->exe && span_is(s->exe, st->exe))
        st->exe_right++;
    if (st->cwd && span_is(s->cwd, st->cwd))
        st->cwd_right++;
    if (s->comm.len > 0)
        st->comm_right++;
    if (s->late)
        st->late++;
    if (ar_tp_plan_match(st->plan, s) != s->rule)
        st->rule_mismatch++;
    if (st->print) {
        const char *name = ar_syscall_name(s->arch, (uint32_t)s->syscall);
        printf("t=%" PRIu64 ".%09" PRIu64 " rule=%d syscall=%s exit=%" PRId64 " a0=%" PRIx64
               " a1=%" PRIx64 " a2=%" PRIx64 " pid=%u ppid=%u uid=%u euid=%u auid=%u ses=%u",
               s->time_ns / 1000000000, s->time_ns % 1000000000, s->rule, name ? name : "?",
               s->exit, s->args[0], s->args[1], s->args[2], s->pid, s->ppid, s->uid, s->euid,
               s->auid, s->ses);
        put_span("comm", s->comm);
        put_span("exe", s->exe);
        put_span("cwd", s->cwd);
        put_span("tty", s->tty);
        for (unsigned i = 0; i < s->npaths; i++)
            put_span(i ? "path1" : "path0", s->paths[i]);
        if (s->sockaddr.len) {
            printf(" saddr=");
            for (size_t i = 0; i < s->sockaddr.len; i++)
                printf("%02x", (unsigned char)s->sockaddr.p[i]);
        }
        for (unsigned i = 0; i < s->nargv; i++) {
            char n[16];
            snprintf(n, sizeof(n), "a[%u]", i);
            put_span(n, s->argv[i]);
        }
        if (s->argv_truncated)
            printf(" argv_truncated");
        if (s->late)
            printf(" late=0x%x", s->late);
        putchar('\n');
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* After close nothing of ours is left: every program, link, map and perf event
 * lives as long as an fd of this process (nothing is pinned), so no such fd may
 * remain. Returns how many remain. */
static int held_fds(void)
{
    int held = 0;
    DIR *fds = opendir("/proc/self/fd");
    for (struct dirent *de; fds && (de = readdir(fds));) {
        char path[300], target[256];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        if (strstr(target, "bpf") || strstr(target, "perf_event") || strstr(target, "btf"))
            held++;
    }
    if (fds)
        closedir(fds);
    return held;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int add_syscalls(uint64_t *bits, const char *list)
{
    char *dup = strdup(list), *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int nr = ar_syscall_number(AUDIT_ARCH_X86_64, (struct ar_span){t, strlen(t)});
        if (nr < 0 || nr >= AR_TP_NR_SYSCALLS) {
            fprintf(stderr, "tp_engine_probe: unknown syscall %s\n", t);
            free(dup);
            return -1;
        }
        bits[nr / 64] |= 1ull << (nr % 64);
    }
    free(dup);
    return 0;
}

int main(int argc, char **argv)
{
    size_t ring = 0;
    const char *syscalls = "open,openat,execve,connect", *watch = NULL;
    bool dir = false, none = false, raw = false;
    const struct ar_tp_engine_ops *ops = &ar_tp_engine_bpf;
    long never_uid = -1;
    struct stats st = {0};
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!strcmp(argv[i], "--ring") && i + 1 < argc)
            ring = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--syscalls") && i + 1 < argc)
            syscalls = argv[++i];
        else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
            st.expect = argv[++i];
        else if (!strcmp(argv[i], "--cwd") && i + 1 < argc)
            st.cwd = argv[++i];
        else if (!strcmp(argv[i], "--exe") && i + 1 < argc)
            st.exe = argv[++i];
        else if (!strcmp(argv[i], "--watch") && i + 1 < argc)
            watch = argv[++i];
        else if (!strcmp(argv[i], "--never-uid") && i + 1 < argc)
            never_uid = strtol(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--raw"))
            raw = true;
        else if (!strcmp(argv[i], "--dir"))
            dir = true;
        else if (!strcmp(argv[i], "--print"))
            st.print = true;
        else if (!strcmp(argv[i], "--none"))
            none = true;
        else if (!strcmp(argv[i], "--engine") && i + 1 < argc)
            ops = !strcmp(argv[++i], "perf") ? &ar_tp_engine_perf : &ar_tp_engine_bpf;
        else {
            fprintf(stderr, "tp_engine_probe: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: tp_engine_probe [options] -- COMMAND ARGS...\n");
        return 2;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "tp_engine_probe: needs root\n");
        return 77;
    }
    char **cmd = argv + i + 1;

    static struct ar_tp_plan plan;
    memset(&plan, 0, sizeof(plan));
    uint64_t bits[AR_TP_NR_SYSCALLS / 64] = {0};
    if (add_syscalls(bits, syscalls) < 0)
        return 2;
    if (never_uid >= 0) {
        struct ar_tp_rule *r = &plan.rules[plan.nrules++];
        r->never = true;
        memcpy(r->syscalls, bits, sizeof(bits));
        r->conds[r->nconds++] = (struct ar_tp_cond){.field = AR_TP_F_UID, .op = AR_TP_EQ,
                                                     .value = never_uid};
    }
    if (watch) {
        struct ar_tp_rule *r = &plan.rules[plan.nrules++];
        memcpy(r->syscalls, bits, sizeof(bits));
        r->perm = AUDIT_PERM_READ | AUDIT_PERM_WRITE;
        r->path_len = strlen(watch);
        memcpy(r->path, watch, r->path_len);
        r->path_is_dir = dir;
        strcpy(r->key, "watch");
        plan.need_cwd = true;
    }
    struct ar_tp_rule *r = &plan.rules[plan.nrules++];
    memcpy(r->syscalls, bits, sizeof(bits));
    strcpy(r->key, "probe");
    memcpy(plan.syscalls, bits, sizeof(bits));
    plan.need_cwd = true;
    plan.raw_syscalls = raw;
    st.plan = &plan;

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    void *eng = NULL;
    double t_open = now_s();
    if (!none) {
        char why[512] = "";
        struct ar_tp_engine_config cfg = {.ring_bytes = ring, .self_pid = (uint32_t)getpid()};
        int err = ops->open(&plan, &cfg, on_sample, &st, why, sizeof(why), &eng);
        if (err < 0) {
            fprintf(stderr, "tp_engine_probe: open: %s (%s); bpf/perf fds left %d\n", why,
                    strerror(-err), held_fds());
            return err == -EPERM || err == -ENOSYS ? 77 : 1;
        }
    }
    double t0 = now_s();
    child = fork();
    if (child == 0) {
        execvp(cmd[0], cmd);
        _exit(127);
    }
    tree[ntree++] = (uint32_t)child;
    int status = 0;
    double t1 = 0;
    struct rusage ru = {0}, self;
    for (;;) {
        if (eng) {
            struct pollfd p = {.fd = ops->fd(eng), .events = POLLIN};
            poll(&p, 1, 10);
            ops->consume(eng);
        } else {
            usleep(1000);
        }
        pid_t w = wait4(child, &status, WNOHANG, &ru);
        if (w == child) {
            t1 = now_s();
            break;
        }
        if (stop_flag) {
            wait4(child, &status, 0, &ru);
            t1 = now_s();
            break;
        }
    }
    uint64_t lost = 0;
    if (eng) {
        ops->consume(eng);
        lost = ops->lost(eng);
        ops->close(eng);
    }
    int held = held_fds();
    fflush(stdout);
    getrusage(RUSAGE_SELF, &self);
    fprintf(stderr, "tp_engine_probe: command cpu %.3f s (user %.3f sys %.3f), reader cpu %.3f s\n",
            tv_s(ru.ru_utime) + tv_s(ru.ru_stime), tv_s(ru.ru_utime), tv_s(ru.ru_stime),
            tv_s(self.ru_utime) + tv_s(self.ru_stime));
    fprintf(stderr,
            "tp_engine_probe: open %.3f s, command %.3f s (exit %d), samples %" PRIu64
            " (tree %" PRIu64 "), lost %" PRIu64 ", path right %" PRIu64 ", exe right %" PRIu64 ", cwd right %" PRIu64
            ", comm %" PRIu64 ", late %" PRIu64 ", rule differs from ar_tp_plan_match %" PRIu64
            ", bpf/perf fds after close %d",
            t0 - t_open, t1 - t0, WIFEXITED(status) ? WEXITSTATUS(status) : -1, st.total,
            st.tree_samples, lost, st.path_right, st.exe_right, st.cwd_right, st.comm_right, st.late,
            st.rule_mismatch, held);
    for (unsigned k = 0; k < plan.nrules; k++)
        fprintf(stderr, ", rule %u (%s%s) %" PRIu64, k, plan.rules[k].never ? "never " : "",
                plan.rules[k].key, st.by_rule[k]);
    fprintf(stderr, "\n");
    return 0;
}
#endif
