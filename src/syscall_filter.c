#include "syscall_filter.h"

#include <errno.h>
#include <string.h>

#if AR_HAVE_SECCOMP
#include <seccomp.h>

/* Every call the collector, libuv, glibc (its NSS lookups of user, group and host
 * names included), GnuTLS, librelp, librdkafka's threads and libmicrohttpd make
 * after start-up, for every source and output, a SIGHUP reload (the config and rules
 * read again, outputs opened, DNS), SIGUSR1 and the shutdown. Found with strace -f
 * over the tests of each path (tests/live/test_privileges.py runs them filtered);
 * what only start-up needs (mount, setuid, capset, execve, bpf program loads...)
 * is not here. */
static const char *const common[] = {
    /* memory, threads, time, signals */
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mlock", "munlock",
    "clone", "clone3", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "futex", "exit", "exit_group", "sched_yield", "sched_getaffinity", "getcpu",
    "membarrier", "prctl", "arch_prctl", "sigaltstack",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigqueueinfo",
    "kill", "tgkill", "tkill", "getpid", "gettid", "getppid", "wait4", "waitid",
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
    "time", "timerfd_create", "timerfd_settime", "timerfd_gettime",
    "getrandom", "uname", "sysinfo", "getrlimit", "prlimit64", "getrusage", "times",
    "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid",
    "capget",
    /* descriptors and files: output files and their rotation, spools, the state and
     * metrics files, the config and rules on reload, certificates, /proc */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
    "open", "openat", "close", "close_range", "lseek", "dup", "dup2", "dup3", "fcntl",
    "ioctl", "pipe", "pipe2", "eventfd2", "stat", "fstat", "lstat", "newfstatat", "statx",
    "statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
    "getdents64", "getcwd", "rename", "renameat", "renameat2", "unlink", "unlinkat",
    "mkdir", "mkdirat", "fsync", "fdatasync", "ftruncate", "fallocate", "fchmod",
    "fchown", "umask", "fadvise64", "sendfile", "flock",
    /* waiting */
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "epoll_pwait2",
    /* sockets: the audit netlink socket, syslog/RELP/Kafka peers, unix sockets, DNS,
     * the metrics listener */
    "socket", "socketpair", "connect", "accept", "accept4", "bind", "listen",
    "getsockname", "getpeername", "setsockopt", "getsockopt", "shutdown", "sendto",
    "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
};

/* The tracepoint source's engines while they run. */
static const char *const tracepoint_calls[] = {"bpf", "perf_event_open", "process_vm_readv"};
/* The BPF process feed's (its ring is mmapped; its loss counter is a map lookup). */
static const char *const bpf_calls[] = {"bpf"};

/* Sanitizer runtimes (the CI's ASan/UBSan build) at exit: LeakSanitizer stops the
 * world with a ptrace()d helper; without these the leak check at exit is killed. */
#if defined(__SANITIZE_ADDRESS__)
#define AR_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AR_SANITIZED 1
#endif
#endif
#ifdef AR_SANITIZED
static const char *const sanitizer_calls[] = {"ptrace", "personality", "sched_setaffinity",
                                             "getdents"};
#endif

static int add_all(scmp_filter_ctx ctx, const char *const *names, size_t n, char *why,
                   size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture (open, stat... on arm64) */
        int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (r < 0) {
            if (why)
                snprintf(why, whylen, "seccomp: cannot allow %s: %s", names[i], strerror(-r));
            return r;
        }
    }
    return 0;
}

#define ADD(ctx, list) add_all(ctx, list, sizeof(list) / sizeof(list[0]), why, whylen)

static scmp_filter_ctx build(const struct ar_seccomp_needs *needs, char *why, size_t whylen,
                             int *ret_err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx) {
        *ret_err = -ENOMEM;
        if (why)
            snprintf(why, whylen, "seccomp: cannot make a filter");
        return NULL;
    }
    int r = ADD(ctx, common);
    if (r == 0 && needs->tracepoint)
        r = ADD(ctx, tracepoint_calls);
    else if (r == 0 && needs->bpf)
        r = ADD(ctx, bpf_calls);
#ifdef AR_SANITIZED
    if (r == 0)
        r = ADD(ctx, sanitizer_calls);
#endif
    /* Every thread, now and later (threads created after inherit it). */
    if (r == 0 && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 && why)
        snprintf(why, whylen, "seccomp: no thread synchronisation: %s", strerror(-r));
    if (r < 0) {
        seccomp_release(ctx);
        *ret_err = r;
        return NULL;
    }
    return ctx;
}

int ar_seccomp_install(const struct ar_seccomp_needs *needs, char *why, size_t whylen)
{
    int r;
    scmp_filter_ctx ctx = build(needs, why, whylen, &r);
    if (!ctx)
        return r;
    r = seccomp_load(ctx);
    if (r < 0)
        snprintf(why, whylen, "seccomp: the kernel refused the filter: %s", strerror(-r));
    seccomp_release(ctx);
    return r;
}

int ar_seccomp_export(const struct ar_seccomp_needs *needs, FILE *f)
{
    int r;
    scmp_filter_ctx ctx = build(needs, NULL, 0, &r);
    if (!ctx)
        return r;
    fflush(f);
    r = seccomp_export_pfc(ctx, fileno(f));
    seccomp_release(ctx);
    return r;
}

#else

int ar_seccomp_install(const struct ar_seccomp_needs *needs, char *why, size_t whylen)
{
    (void)needs;
    snprintf(why, whylen, "--seccomp: this build has no libseccomp (meson -Dseccomp=enabled)");
    return -ENOTSUP;
}

int ar_seccomp_export(const struct ar_seccomp_needs *needs, FILE *f)
{
    (void)needs;
    (void)f;
    return -ENOTSUP;
}

#endif
