/* The perf tracepoint engine against the real kernel (root): runs a command under
 * the engine and says how many of its samples came back with the path, exe and
 * comm right. Not a unit test: a probe for measuring (bench numbers in the commit
 * messages come from it).
 *
 *   tp_perf_probe [--ring BYTES] [--syscalls 257,59] [--raw] [--expect PATH] [--exe PATH]
 *                 [--comm NAME] [--none] [--quiet] [--dump] -- COMMAND ARGS...
 *
 * --raw hooks raw_syscalls (plan.raw_syscalls) instead of the per-syscall
 * tracepoints; --none runs the command without the engine (the baseline).
 *
 * Samples are counted only for the command's process tree (pid, and pids whose
 * ppid is in the tree as the samples arrive). Exit 77 when not root. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sources/tracepoint/engine.h"

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
    const char *expect, *exe, *comm;
    uint64_t total, tree_samples, by_nr[512];
    uint64_t path_right, path_empty, path_other;
    uint64_t exe_right, exe_empty, exe_other;
    uint64_t comm_right, comm_empty, comm_other;
    uint64_t ids_known, late_path, late_ids;
    uint64_t exec_path_right;
    double first_age_ms;
    bool dump;              /* every sample of the tree: nr, exit, path0 */    /* CLOCK_REALTIME at consumption minus the sample's time */
    bool quiet;
};

static bool span_is(struct ar_span s, const char *str)
{
    return str && s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

static int on_sample(const struct ar_tp_sample *s, void *ud)
{
    struct stats *st = ud;
    st->total++;
    if (!in_tree(s->pid)) {
        if (!(s->ppid && in_tree(s->ppid) && ntree < MAX_TREE))
            return 0;
        tree[ntree++] = s->pid;
    }
    st->tree_samples++;
    if (s->syscall >= 0 && s->syscall < 512)
        st->by_nr[s->syscall]++;
    if (s->late & AR_TP_LATE_PATH0)
        st->late_path++;
    if (s->late & AR_TP_LATE_IDS)
        st->late_ids++;
    if (s->uid != UINT32_MAX)
        st->ids_known++;
    if (st->expect && s->npaths > 0 && s->syscall != 59) {
        if (span_is(s->paths[0], st->expect))
            st->path_right++;
        else if (s->paths[0].len == 0)
            st->path_empty++;
        else
            st->path_other++;
    }
    if (s->syscall == 59 && st->exe && s->npaths > 0 && span_is(s->paths[0], st->exe))
        st->exec_path_right++;
    if (st->exe) {
        if (span_is(s->exe, st->exe))
            st->exe_right++;
        else if (!s->exe.len)
            st->exe_empty++;
        else
            st->exe_other++;
    }
    if (st->comm) {
        if (span_is(s->comm, st->comm))
            st->comm_right++;
        else if (!s->comm.len)
            st->comm_empty++;
        else
            st->comm_other++;
    }
    if (st->dump)
        printf("dump %d %" PRId64 " %.*s\n", s->syscall, s->exit,
               s->npaths ? (int)s->paths[0].len : 0, s->npaths ? s->paths[0].p : "");
    if (st->tree_samples == 1) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double age = ((double)ts.tv_sec * 1e9 + ts.tv_nsec - (double)s->time_ns) / 1e6;
        st->first_age_ms = age;
    }
    if (!st->quiet && st->tree_samples <= 5)
        fprintf(stderr, "sample: pid %u ppid %u nr %d exit %" PRId64 " comm %.*s exe %.*s "
                "path0 %.*s late %#x uid %u auid %u\n", s->pid, s->ppid, s->syscall, s->exit,
                (int)s->comm.len, s->comm.p, (int)s->exe.len, s->exe.p,
                s->npaths ? (int)s->paths[0].len : 0, s->npaths ? s->paths[0].p : "",
                s->late, s->uid, s->auid);
    return 0;
}

static int count_fds(void)
{
    int n = 0;
    char path[64];
    for (int fd = 0; fd < 65536; fd++) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n += access(path, F_OK) == 0;
    }
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    static struct ar_tp_plan plan;
    static struct stats st;
    struct ar_tp_engine_config cfg = {0};
    bool none = false;
    const char *syscalls = "257";
    int i;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ring") && i + 1 < argc)
            cfg.ring_bytes = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--syscalls") && i + 1 < argc)
            syscalls = argv[++i];
        else if (!strcmp(argv[i], "--expect") && i + 1 < argc)
            st.expect = argv[++i];
        else if (!strcmp(argv[i], "--exe") && i + 1 < argc)
            st.exe = argv[++i];
        else if (!strcmp(argv[i], "--comm") && i + 1 < argc)
            st.comm = argv[++i];
        else if (!strcmp(argv[i], "--raw"))
            plan.raw_syscalls = true;
        else if (!strcmp(argv[i], "--none"))
            none = true;
        else if (!strcmp(argv[i], "--dump"))
            st.dump = true;
        else if (!strcmp(argv[i], "--quiet"))
            st.quiet = true;
        else if (!strcmp(argv[i], "--"))
            break;
        else {
            fprintf(stderr, "tp_perf_probe: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: tp_perf_probe [options] -- COMMAND ARGS...\n");
        return 2;
    }
    if (geteuid() != 0 && !getenv("TP_PERF_PROBE_ANY_USER")) {
        fprintf(stderr, "tp_perf_probe: skipped: needs root (perf tracepoints, tracefs)\n");
        return 77;
    }
    /* One rule (rule 0, action always) on the listed syscalls. */
    plan.nrules = 1;
    plan.need_cwd = true;
    for (char *s = (char *)syscalls; *s;) {
        long nr = strtol(s, &s, 10);
        if (nr >= 0 && nr < AR_TP_NR_SYSCALLS) {
            plan.syscalls[nr / 64] |= 1ull << (nr % 64);
            plan.rules[0].syscalls[nr / 64] |= 1ull << (nr % 64);
        }
        if (*s == ',')
            s++;
        else if (*s)
            break;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    void *e = NULL;
    char why[256] = "";
    int fds_before = count_fds();
    if (!none) {
        cfg.self_pid = (uint32_t)getpid();
        int err = ar_tp_engine_perf.open(&plan, &cfg, on_sample, &st, why, sizeof why, &e);
        if (err < 0) {
            fprintf(stderr, "tp_perf_probe: perf engine: %s (%s)\n", why, strerror(-err));
            return err == -EPERM || err == -ENOSYS ? 77 : 1;
        }
    }
    double t0 = now_s(), c0 = cpu_s();
    child = fork();
    if (child == 0) {
        execvp(argv[i + 1], argv + i + 1);
        _exit(127);
    }
    tree[ntree++] = (uint32_t)child;
    int status = 0;
    double t1 = 0;
    struct rusage child_ru;
    memset(&child_ru, 0, sizeof child_ru);
    for (;;) {
        if (e) {
            struct pollfd pfd = {.fd = ar_tp_engine_perf.fd(e), .events = POLLIN};
            poll(&pfd, 1, 10);
            int n = ar_tp_engine_perf.consume(e);
            if (n < 0) {
                fprintf(stderr, "consume: %s\n", strerror(-n));
                break;
            }
        }
        pid_t w = wait4(child, &status, e ? WNOHANG : 0, &child_ru);
        if (w == child) {
            t1 = now_s();
            break;
        }
        if (stop_flag)
            break;
    }
    child = -1;
    if (e) {
        usleep(20000);
        ar_tp_engine_perf.consume(e);
    }
    double c1 = cpu_s();
    uint64_t lost = e ? ar_tp_engine_perf.lost(e) : 0;
    ar_tp_engine_perf.close(e);
    int fds_after = count_fds();
    if (fds_after != fds_before) {
        fprintf(stderr, "tp_perf_probe: %d fds open before the engine, %d after close\n",
                fds_before, fds_after);
        return 1;
    }
    double wcpu = (double)child_ru.ru_utime.tv_sec + child_ru.ru_utime.tv_usec / 1e6 +
                  (double)child_ru.ru_stime.tv_sec + child_ru.ru_stime.tv_usec / 1e6;
    printf("workload %.3f s exit %d consumer_cpu %.3f s samples %" PRIu64 " tree %" PRIu64
           " lost %" PRIu64 " workload_cpu %.3f s\n", t1 - t0,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, c1 - c0, st.total, st.tree_samples, lost,
           wcpu);
    if (st.expect)
        printf("path: right %" PRIu64 " empty %" PRIu64 " other %" PRIu64 "\n", st.path_right,
               st.path_empty, st.path_other);
    if (st.exe)
        printf("exe: right %" PRIu64 " empty %" PRIu64 " other %" PRIu64
               " (execve path right %" PRIu64 ")\n", st.exe_right, st.exe_empty, st.exe_other,
               st.exec_path_right);
    if (st.comm)
        printf("comm: right %" PRIu64 " empty %" PRIu64 " other %" PRIu64 "\n", st.comm_right,
               st.comm_empty, st.comm_other);
    printf("ids known %" PRIu64 " of %" PRIu64 "; first sample's time %.1f ms before it was "
           "consumed (CLOCK_REALTIME)\n", st.ids_known, st.tree_samples, st.first_age_ms);
    return stop_flag ? 1 : 0;
}
