/* The BPF engine's userspace half: loads tracepoint.bpf.c (embedded as a bpftool
 * skeleton) with the plan in its read-only data, attaches one program pair to each
 * planned syscall's per-syscall tracepoints (or to raw_syscalls when the plan needs
 * every or 32-bit syscalls), and decodes the ring buffer's records into
 * struct ar_tp_sample.
 *
 * Per-syscall tracepoints are perf tracepoint events: attaching needs their ids,
 * which only tracefs shows. tracefs is often not mounted, and mounting it on the
 * host would leave a change behind if we died: a short-lived child mounts it in a
 * mount namespace of its own, reads the ids, and exits (the mount dies with the
 * namespace). */
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/audit.h>
#include "audit/tables.h"
#include "sources/tracepoint/bpf_wire.h"
#include "sources/tracepoint/engine.h"
#include "sources/tracepoint/ring.h"
/* The skeleton embeds the object as one long string literal. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "tracepoint.skel.h"
#pragma GCC diagnostic pop

/* About 233,000 records of an open() in a loop (72 bytes each, bpf_wire.h): what absorbs
 * the reader's stalls and bursts. Counted once in RSS (ring.h): the collector's
 * peak was 27.3-29.4 MB in a burst of 200,000 opens (/tmp/tpt.sh, 6 runs). */
#define DEFAULT_RING ((size_t)AR_TP_BPF_RING_MIB << 20)
#define TRACEFS "/sys/kernel/tracing"
#define TRACEFS_MAGIC_ 0x74726163

_Static_assert(AR_BPF_MAX_RULES == AR_TP_MAX_RULES, "rules");
_Static_assert(AR_BPF_MAX_RULES <= 127 && AR_BPF_TTY_CAP <= 256 && AR_BPF_SA_CAP <= 255,
               "a record's rule, tty_len and sa_len are bytes");
_Static_assert(AR_BPF_MAX_CONDS == AR_TP_MAX_CONDS, "conds");
_Static_assert(AR_BPF_PREFIX == AR_TP_MAX_PREFIX, "prefix");
_Static_assert(AR_BPF_NR == AR_TP_NR_SYSCALLS, "nr");
_Static_assert(AR_BPF_MAX_ARGS == AR_TP_MAX_ARGS, "args");
_Static_assert((int)AR_BPF_F_COUNT == (int)AR_TP_F_COUNT && (int)AR_BPF_F_A3 == (int)AR_TP_F_A3, "fields");
_Static_assert((int)AR_BPF_BIT_TEST == (int)AR_TP_BIT_TEST, "ops");
_Static_assert(AR_BPF_CUT_EXE == AR_TP_CUT_EXE && AR_BPF_CUT_CWD == AR_TP_CUT_CWD &&
                   AR_BPF_CUT_PATH0 == AR_TP_CUT_PATH0 && AR_BPF_CUT_PATH1 == AR_TP_CUT_PATH1,
               "cut");

/* The arguments, process context and cwd a CPU's records last carried (bpf_wire.h,
 * struct ar_bpf_rec): what its records without them have. */
struct cpu_context {
    bool known, cwd_known;
    bool exe_cut;                 /* the context's exe came cut short */
    unsigned args_known;          /* bit i: args[i] came */
    uint64_t args[4];
    struct ar_bpf_ctx ctx;
    size_t exe_len, cwd_len;
    char exe[AR_BPF_EXE_CAP];
    char cwd[AR_BPF_CWD_CAP];
};

struct bpf_engine {
    struct ar_tp_bpf_skel *skel;
    struct ar_bpf_ring *ring;
    struct bpf_link **links;
    size_t nlinks;
    int ncpus;
    struct cpu_context *contexts; /* [ncpus] */
    uint64_t no_context;          /* records dropped: their CPU's last values never came */
    int64_t mono_to_real;
    ar_tp_sample_fn emit;
    void *userdata;
    struct ar_tp_sample sample;
};

/* ---- per-syscall facts (x86_64) ---- */

enum { PW = AUDIT_PERM_WRITE, PR = AUDIT_PERM_READ, PA = AUDIT_PERM_ATTR, PX = AUDIT_PERM_EXEC };
#define N AR_BPF_SI_NONE

struct sysfact {
    int nr;
    uint8_t p0, d0, p1, d1, perm, open, sa, exec;
};

/* Path arguments (and their dirfd argument), audit's permission classes
 * (include/asm-generic/audit_{dir_write,write,read,change_attr}.h and the x86_64
 * classifier: open flags for open/openat/openat2, exec for execve/execveat). */
static const struct sysfact sysfacts[] = {
    {__NR_open, 0, N, N, N, 0, 1, 0, 0},
    {__NR_openat, 1, 0, N, N, 0, 2, 0, 0},
#ifdef __NR_openat2
    {__NR_openat2, 1, 0, N, N, 0, 3, 0, 0},
#endif
    {__NR_creat, 0, N, N, N, PW, 0, 0, 0},
    {__NR_unlink, 0, N, N, N, PW, 0, 0, 0},
    {__NR_unlinkat, 1, 0, N, N, PW, 0, 0, 0},
    {__NR_rename, 0, N, 1, N, PW, 0, 0, 0},
    {__NR_renameat, 1, 0, 3, 2, PW, 0, 0, 0},
    {__NR_renameat2, 1, 0, 3, 2, PW, 0, 0, 0},
    {__NR_link, 0, N, 1, N, PW, 0, 0, 0},
    {__NR_linkat, 1, 0, 3, 2, PW, 0, 0, 0},
    {__NR_symlink, 0, N, 1, N, PW, 0, 0, 0},
    {__NR_symlinkat, 0, N, 2, 1, PW, 0, 0, 0},
    {__NR_mkdir, 0, N, N, N, PW, 0, 0, 0},
    {__NR_mkdirat, 1, 0, N, N, PW, 0, 0, 0},
    {__NR_rmdir, 0, N, N, N, PW, 0, 0, 0},
    {__NR_mknod, 0, N, N, N, PW, 0, 0, 0},
    {__NR_mknodat, 1, 0, N, N, PW, 0, 0, 0},
    {__NR_acct, 0, N, N, N, PW, 0, 0, 0},
    {__NR_swapon, 0, N, N, N, PW, 0, 0, 0},
    {__NR_swapoff, 0, N, N, N, 0, 0, 0, 0},
    {__NR_quotactl, 1, N, N, N, PW | PR, 0, 0, 0},
    {__NR_truncate, 0, N, N, N, PW, 0, 0, 0},
    {__NR_bind, N, N, N, N, PW, 0, 1, 0},
    {__NR_connect, N, N, N, N, 0, 0, 1, 0},
    {__NR_accept, N, N, N, N, 0, 0, 2, 0},
    {__NR_accept4, N, N, N, N, 0, 0, 2, 0},
    {__NR_readlink, 0, N, N, N, PR, 0, 0, 0},
    {__NR_readlinkat, 1, 0, N, N, PR, 0, 0, 0},
    {__NR_listxattr, 0, N, N, N, PR, 0, 0, 0},
    {__NR_llistxattr, 0, N, N, N, PR, 0, 0, 0},
    {__NR_flistxattr, N, N, N, N, PR, 0, 0, 0},
    {__NR_getxattr, 0, N, N, N, PR, 0, 0, 0},
    {__NR_lgetxattr, 0, N, N, N, PR, 0, 0, 0},
    {__NR_fgetxattr, N, N, N, N, PR, 0, 0, 0},
    {__NR_chmod, 0, N, N, N, PA, 0, 0, 0},
    {__NR_fchmod, N, N, N, N, PA, 0, 0, 0},
    {__NR_chown, 0, N, N, N, PA, 0, 0, 0},
    {__NR_fchown, N, N, N, N, PA, 0, 0, 0},
    {__NR_lchown, 0, N, N, N, PA, 0, 0, 0},
    {__NR_setxattr, 0, N, N, N, PA, 0, 0, 0},
    {__NR_lsetxattr, 0, N, N, N, PA, 0, 0, 0},
    {__NR_fsetxattr, N, N, N, N, PA, 0, 0, 0},
    {__NR_removexattr, 0, N, N, N, PA, 0, 0, 0},
    {__NR_lremovexattr, 0, N, N, N, PA, 0, 0, 0},
    {__NR_fremovexattr, N, N, N, N, PA, 0, 0, 0},
    {__NR_fchownat, 1, 0, N, N, PA, 0, 0, 0},
    {__NR_fchmodat, 1, 0, N, N, PA, 0, 0, 0},
#ifdef __NR_fchmodat2
    {__NR_fchmodat2, 1, 0, N, N, PA, 0, 0, 0},
#else
    {452, 1, 0, N, N, PA, 0, 0, 0},
#endif
    {__NR_execve, 0, N, N, N, PX, 0, 0, 1},
    {__NR_execveat, 1, 0, N, N, PX, 0, 0, 2},
    {__NR_stat, 0, N, N, N, 0, 0, 0, 0},
    {__NR_lstat, 0, N, N, N, 0, 0, 0, 0},
    {__NR_newfstatat, 1, 0, N, N, 0, 0, 0, 0},
    {__NR_statx, 1, 0, N, N, 0, 0, 0, 0},
    {__NR_access, 0, N, N, N, 0, 0, 0, 0},
    {__NR_faccessat, 1, 0, N, N, 0, 0, 0, 0},
#ifdef __NR_faccessat2
    {__NR_faccessat2, 1, 0, N, N, 0, 0, 0, 0},
#endif
    {__NR_chdir, 0, N, N, N, 0, 0, 0, 0},
    {__NR_chroot, 0, N, N, N, 0, 0, 0, 0},
    {__NR_utime, 0, N, N, N, 0, 0, 0, 0},
    {__NR_utimes, 0, N, N, N, 0, 0, 0, 0},
    {__NR_utimensat, 1, 0, N, N, 0, 0, 0, 0},
    {__NR_futimesat, 1, 0, N, N, 0, 0, 0, 0},
    {__NR_mount, 1, N, N, N, 0, 0, 0, 0},
    {__NR_umount2, 0, N, N, N, 0, 0, 0, 0},
    {__NR_pivot_root, 0, N, 1, N, 0, 0, 0, 0},
    {__NR_name_to_handle_at, 1, 0, N, N, 0, 0, 0, 0},
    {__NR_inotify_add_watch, 1, N, N, N, 0, 0, 0, 0},
};
#undef N

/* What to copy comes from the table above; what rules match (permission classes,
 * which paths a path rule sees) from the plan's own table, so that the programs
 * decide as ar_tp_plan_match does. */
static void fill_sysinfo(volatile uint32_t *si)
{
    for (int i = 0; i < AR_BPF_NR; i++)
        si[i] = AR_BPF_SI_MAKE(7, 7, 7, 7, 0, 0, 0, 0);
    for (size_t i = 0; i < sizeof(sysfacts) / sizeof(sysfacts[0]); i++) {
        const struct sysfact *f = &sysfacts[i];
        if (f->nr >= 0 && f->nr < AR_BPF_NR)
            si[f->nr] = AR_BPF_SI_MAKE(f->p0, f->d0, f->p1, f->d1, 0, 0, f->sa, f->exec);
    }
    size_t n;
    const struct ar_tp_syscall *t = ar_tp_syscall_table(&n);
    for (size_t i = 0; i < n; i++) {
        const struct ar_tp_syscall *sc = &t[i];
        if (sc->nr < 0 || sc->nr >= AR_BPF_NR)
            continue;
        uint32_t old = si[sc->nr];
        unsigned p[2] = {7, 7}, d[2] = {7, 7}, open = 0;
        uint32_t match = 0;
        for (unsigned k = 0; k < sc->npaths && k < 2; k++) {
            p[k] = sc->path_arg[k] >= 0 ? (unsigned)sc->path_arg[k] : 7;
            d[k] = sc->dirfd_arg[k] >= 0 ? (unsigned)sc->dirfd_arg[k] : 7;
            if (!sc->target_text[k] && p[k] != 7)
                match |= k == 0 ? AR_BPF_SI_M0 : AR_BPF_SI_M1;
        }
        uint32_t perm = sc->perm;
        switch ((enum ar_tp_sc_kind)sc->kind) {
        case AR_TP_SC_OPEN: open = 1; perm = 0; break;
        case AR_TP_SC_OPENAT: open = 2; perm = 0; break;
        case AR_TP_SC_OPENAT2: open = 3; perm = 0; break;
        case AR_TP_SC_EXEC:
        case AR_TP_SC_CLASS: break;
        }
        si[sc->nr] = AR_BPF_SI_MAKE(p[0], d[0], p[1], d[1], perm, open, AR_BPF_SI_SA(old),
                                    AR_BPF_SI_EXEC(old)) | match;
    }
}

/* ---- libbpf's messages: kept for `why`, never printed ---- */

static _Thread_local char *log_buf;
static _Thread_local size_t log_len, log_cap;

static int log_to_buf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    /* AR_TP_BPF_LOG=1 in the environment: libbpf's messages to stderr (debugging
     * the programs, e.g. the verifier's log). */
    static int to_stderr = -1;
    if (to_stderr < 0)
        to_stderr = getenv("AR_TP_BPF_LOG") != NULL;
    if (to_stderr) {
        va_list aq;
        va_copy(aq, ap);
        vfprintf(stderr, fmt, aq);
        va_end(aq);
    }
    if (!log_buf || level == LIBBPF_DEBUG)
        return 0;
    if (log_len + 1 >= log_cap)
        log_len = 0; /* keep the latest messages */
    int n = vsnprintf(log_buf + log_len, log_cap - log_len, fmt, ap);
    if (n > 0)
        log_len += (size_t)n < log_cap - log_len ? (size_t)n : log_cap - log_len - 1;
    return 0;
}

/* What the verifier or libbpf said, on one line: the verifier's last words before
 * its "processed N insns" line when there is a log, else libbpf's last lines. */
static void summarize_log(char *out, size_t outlen)
{
    out[0] = 0;
    if (!log_buf || !log_len)
        return;
    log_buf[log_len] = 0;
    size_t start, stop = log_len;
    char *proc = strstr(log_buf, "\nprocessed ");
    if (proc) {
        stop = (size_t)(proc - log_buf);
        start = stop;
        for (int lines = 0; start > 0 && lines < 2; start--)
            if (log_buf[start - 1] == '\n' && ++lines == 2)
                break;
    } else {
        start = log_len > 300 ? log_len - 300 : 0;
    }
    size_t j = 0;
    for (size_t i = start; i < stop && j + 1 < outlen; i++)
        out[j++] = log_buf[i] == '\n' ? ' ' : log_buf[i];
    while (j > 0 && out[j - 1] == ' ')
        j--;
    out[j] = 0;
}

/* The BPF helpers tracepoint.bpf.c calls that are newer than the rest (4.x), with
 * the first Linux release that has them. A kernel that refuses the programs is
 * asked about each (a probe program per helper, only on that failure path), so the
 * refusal names every helper it lacks, not only the verifier's first "unknown func". */
static const struct {
    enum bpf_func_id id;
    const char *name, *since;
} newer_helpers[] = {
    {BPF_FUNC_probe_read_user, "bpf_probe_read_user", "5.5"},
    {BPF_FUNC_probe_read_user_str, "bpf_probe_read_user_str", "5.5"},
    {BPF_FUNC_probe_read_kernel, "bpf_probe_read_kernel", "5.5"},
    {BPF_FUNC_probe_read_kernel_str, "bpf_probe_read_kernel_str", "5.5"},
    {BPF_FUNC_ringbuf_output, "bpf_ringbuf_output", "5.8"},
    {BPF_FUNC_ringbuf_query, "bpf_ringbuf_query", "5.8"},
    {BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf", "5.11"},
    {BPF_FUNC_task_pt_regs, "bpf_task_pt_regs", "5.15"},
};

/* "bpf_x (Linux 5.11), bpf_y (Linux 5.15)" of the helpers the kernel lacks into
 * out; returns how many. */
static int missing_helpers(char *out, size_t outlen)
{
    int n = 0;
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < sizeof(newer_helpers) / sizeof(newer_helpers[0]); i++) {
        if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, newer_helpers[i].id, NULL) != 0)
            continue; /* there (1), or the probe itself failed (< 0): say nothing */
        int w = snprintf(out + len, outlen - len, "%s%s (Linux %s)", n ? ", " : "",
                         newer_helpers[i].name, newer_helpers[i].since);
        if (w > 0)
            len += (size_t)w < outlen - len ? (size_t)w : outlen - len - 1;
        n++;
    }
    return n;
}

/* ---- tracefs event ids ---- */

static const char *event_name(int nr)
{
    static const struct { const char *sys, *ev; } alias[] = {
        {"stat", "newstat"}, {"lstat", "newlstat"}, {"fstat", "newfstat"},
        {"uname", "newuname"}, {"umount2", "umount"}, {"sendfile", "sendfile64"},
    };
    const char *n = ar_tp_syscall_name(AUDIT_ARCH_X86_64, nr);
    if (!n)
        return NULL;
    for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
        if (strcmp(n, alias[i].sys) == 0)
            return alias[i].ev;
    return n;
}

/* Reads each path's decimal id into ids[i] (-errno when unreadable). Only system
 * calls: it runs in the child after fork. */
static void read_ids(char *const *paths, size_t n, int32_t *ids)
{
    for (size_t i = 0; i < n; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            ids[i] = -errno;
            continue;
        }
        char b[24];
        ssize_t r = read(fd, b, sizeof(b) - 1);
        close(fd);
        int32_t v = 0;
        if (r <= 0 || b[0] < '0' || b[0] > '9') {
            ids[i] = -EINVAL;
            continue;
        }
        for (ssize_t k = 0; k < r && b[k] >= '0' && b[k] <= '9'; k++)
            v = v * 10 + (b[k] - '0');
        ids[i] = v;
    }
}

static bool tracefs_mounted(void)
{
    struct statfs st;
    return statfs(TRACEFS "/events", &st) == 0 && st.f_type == TRACEFS_MAGIC_;
}

static int event_ids(char *const *paths, size_t n, int32_t *ids, char *why, size_t whylen)
{
    if (tracefs_mounted()) {
        read_ids(paths, n, ids);
        return 0;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(p[0]);
        close(p[1]);
        return err;
    }
    if (pid == 0) {
        /* Child: a private mount namespace, tracefs in it, ids to the pipe. */
        close(p[0]);
        int32_t st = 0;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tracefs", TRACEFS, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            st = -errno;
        if (write(p[1], &st, sizeof(st)) != sizeof(st))
            _exit(1);
        if (st == 0) {
            for (size_t i = 0; i < n; i += 64) {
                int32_t chunk[64];
                size_t k = n - i < 64 ? n - i : 64;
                read_ids(paths + i, k, chunk);
                if (write(p[1], chunk, k * sizeof(int32_t)) != (ssize_t)(k * sizeof(int32_t)))
                    _exit(1);
            }
        }
        _exit(0);
    }
    close(p[1]);
    int32_t st = -EIO;
    size_t got = 0;
    ssize_t r = read(p[0], &st, sizeof(st));
    if (r == sizeof(st) && st == 0) {
        while (got < n * sizeof(int32_t)) {
            r = read(p[0], (char *)ids + got, n * sizeof(int32_t) - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
    }
    close(p[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (r != sizeof(st) && got == 0 && st == -EIO) {
        snprintf(why, whylen, "tracefs: the helper that reads event ids failed");
        return -EIO;
    }
    if (st < 0) {
        snprintf(why, whylen, "tracefs: cannot mount it in a private mount namespace to read event ids: %s",
                 strerror(-st));
        return st;
    }
    if (got != n * sizeof(int32_t)) {
        snprintf(why, whylen, "tracefs: the helper that reads event ids stopped early");
        return -EIO;
    }
    return 0;
}

/* ---- attach ---- */

static int add_link(struct bpf_engine *e, struct bpf_link *l)
{
    struct bpf_link **n = realloc(e->links, (e->nlinks + 1) * sizeof(*n));
    if (!n) {
        bpf_link__destroy(l);
        return -ENOMEM;
    }
    e->links = n;
    e->links[e->nlinks++] = l;
    return 0;
}

static int attach_event(struct bpf_engine *e, struct bpf_program *prog, int id, const char *ev,
                        char *why, size_t whylen)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.type = PERF_TYPE_TRACEPOINT;
    attr.size = sizeof(attr);
    attr.config = (uint64_t)id;
    attr.sample_period = 1;
    /* The program is installed on the tracepoint itself: one event (CPU 0) serves
     * every CPU. */
    int pfd = (int)syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
    if (pfd < 0) {
        int err = -errno;
        snprintf(why, whylen, "perf_event_open(syscalls/%s): %s", ev, strerror(-err));
        return err;
    }
    struct bpf_link *l = bpf_program__attach_perf_event(prog, pfd);
    if (!l) {
        int err = -errno;
        close(pfd);
        snprintf(why, whylen, "attaching to syscalls/%s: %s", ev, strerror(-err));
        return err;
    }
    return add_link(e, l);
}

static int attach_syscalls(struct bpf_engine *e, const struct ar_tp_plan *plan, char *why, size_t whylen)
{
    int nrs[AR_BPF_NR];
    size_t n = 0;
    for (int nr = 0; nr < AR_BPF_NR; nr++)
        if ((plan->syscalls[nr / 64] >> (nr % 64)) & 1)
            nrs[n++] = nr;
    if (n == 0)
        return 0;
    char **paths = calloc(2 * n, sizeof(*paths));
    int32_t *ids = calloc(2 * n, sizeof(*ids));
    int err = 0;
    if (!paths || !ids) {
        err = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = event_name(nrs[i]);
        if (!name) {
            snprintf(why, whylen, "no name for x86_64 syscall %d", nrs[i]);
            err = -ENOENT;
            goto out;
        }
        if (asprintf(&paths[2 * i], TRACEFS "/events/syscalls/sys_enter_%s/id", name) < 0 ||
            asprintf(&paths[2 * i + 1], TRACEFS "/events/syscalls/sys_exit_%s/id", name) < 0) {
            paths[2 * i] = paths[2 * i + 1] = NULL;
            err = -ENOMEM;
            goto out;
        }
    }
    err = event_ids(paths, 2 * n, ids, why, whylen);
    if (err < 0)
        goto out;
    for (size_t i = 0; i < 2 * n; i++) {
        const char *ev = strrchr(paths[i], '/');
        /* The event's directory name, for messages. */
        char evname[96];
        const char *s = paths[i] + strlen(TRACEFS "/events/syscalls/");
        snprintf(evname, sizeof(evname), "%.*s", (int)(ev - s), s);
        if (ids[i] == -ENOENT && ids[i ^ 1] == -ENOENT) {
            /* Neither event: the syscall is newer than this kernel (fchmodat2 before
             * 6.6), so no process can make it and nothing is missed. */
            if (i % 2 == 0)
                fprintf(stderr, "auditrelay: note: this kernel has no syscall %s: not hooked\n",
                        evname + strlen("sys_enter_"));
            continue;
        }
        if (ids[i] < 0) {
            snprintf(why, whylen, "tracefs: no event syscalls/%s", evname);
            err = ids[i] == -ENOENT ? -ENOENT : ids[i];
            goto out;
        }
        err = attach_event(e, i % 2 ? e->skel->progs.ar_sys_exit : e->skel->progs.ar_sys_enter,
                           ids[i], evname, why, whylen);
        if (err < 0)
            goto out;
    }
out:
    if (paths)
        for (size_t i = 0; i < 2 * n; i++)
            free(paths[i]);
    free(paths);
    free(ids);
    return err;
}

/* ---- records ---- */

static int on_record(void *ctx, void *data, size_t size)
{
    struct bpf_engine *e = ctx;
    const struct ar_bpf_rec *h = data;
    if (size < sizeof(*h) || h->cpu >= (uint32_t)e->ncpus)
        return 0;
    const char *d = (const char *)(h + 1), *end = (const char *)data + size;
    struct cpu_context *c = &e->contexts[h->cpu];
    for (int i = 0; i < 4; i++) {
        if (!(h->flags & (AR_BPF_R_ARG0 << i)))
            continue;
        if ((size_t)(end - d) < sizeof(c->args[i]))
            return 0;
        memcpy(&c->args[i], d, sizeof(c->args[i]));
        d += sizeof(c->args[i]);
        c->args_known |= 1u << i;
    }
    if ((c->args_known & 15) != 15) {
        /* Cannot happen, as below: a CPU's first record has all four. */
        e->no_context++;
        return 0;
    }
    if (h->flags & AR_BPF_R_CTX) {
        if ((size_t)(end - d) < sizeof(c->ctx))
            return 0;
        memcpy(&c->ctx, d, sizeof(c->ctx));
        d += sizeof(c->ctx);
        size_t l = c->ctx.exe_len < sizeof(c->exe) ? c->ctx.exe_len : sizeof(c->exe);
        if (l > (size_t)(end - d))
            l = (size_t)(end - d);
        memcpy(c->exe, d, l);
        c->exe_len = l;
        c->exe_cut = h->cut & AR_BPF_CUT_EXE;
        d += l;
        c->known = true;
    } else if (!c->known) {
        /* Cannot happen (the programs send a CPU's first context with its first
         * record); never rendered with another process's identity. */
        e->no_context++;
        return 0;
    }
    struct ar_tp_sample *s = &e->sample;
    s->kind = AR_TP_SYSCALL;
    s->time_ns = h->ts + (uint64_t)e->mono_to_real;
    s->arch = h->flags & AR_BPF_R_I386 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64;
    s->syscall = h->nr;
    s->exit = h->exit;
    memcpy(s->args, c->args, sizeof(s->args));
    s->pid = h->pid;
    s->ppid = c->ctx.ppid;
    s->uid = c->ctx.ids[0];
    s->euid = c->ctx.ids[1];
    s->suid = c->ctx.ids[2];
    s->fsuid = c->ctx.ids[3];
    s->gid = c->ctx.ids[4];
    s->egid = c->ctx.ids[5];
    s->sgid = c->ctx.ids[6];
    s->fsgid = c->ctx.ids[7];
    s->auid = c->ctx.auid;
    s->ses = c->ctx.ses;
    s->has_auid = c->ctx.has_auid;
    s->comm.p = c->ctx.comm;
    s->comm.len = strnlen(c->ctx.comm, sizeof(c->ctx.comm));
    s->exe = (struct ar_span){c->exe, c->exe_len};
    s->rule = h->rule;
    s->late = 0;
    s->cut = (h->cut & (AR_BPF_CUT_CWD | AR_BPF_CUT_PATH0 | AR_BPF_CUT_PATH1)) |
             (c->exe_cut ? AR_TP_CUT_EXE : 0);
    if (h->flags & AR_BPF_R_PATH0_LATE)
        s->late |= AR_TP_LATE_PATH0;
    if (h->flags & AR_BPF_R_PATH1_LATE)
        s->late |= AR_TP_LATE_PATH1;
    if (h->flags & AR_BPF_R_SA_LATE)
        s->late |= AR_TP_LATE_SOCKADDR;
    struct ar_span *spans[] = {&s->cwd, &s->tty, &s->paths[0], &s->paths[1], &s->sockaddr};
    uint16_t lens[] = {h->cwd_len, h->tty_len, h->path_len[0], h->path_len[1], h->sa_len};
    for (size_t i = 0; i < AR_ARRAY_SIZE(spans); i++) {
        size_t l = lens[i];
        if (l > (size_t)(end - d))
            l = (size_t)(end - d);
        spans[i]->p = d;
        spans[i]->len = l;
        d += l;
    }
    if (h->flags & AR_BPF_R_CWD_SAME) {
        if (!c->cwd_known) {
            e->no_context++;
            return 0;
        }
        s->cwd = (struct ar_span){c->cwd, c->cwd_len};
    } else {
        c->cwd_len = s->cwd.len < sizeof(c->cwd) ? s->cwd.len : sizeof(c->cwd);
        memcpy(c->cwd, s->cwd.p, c->cwd_len);
        c->cwd_known = true;
    }
    s->npaths = h->flags & AR_BPF_R_PATH1 ? 2 : h->flags & AR_BPF_R_PATH0 ? 1 : 0;
    s->nargv = 0;
    s->argv_truncated = h->flags & AR_BPF_R_ARGV_TRUNC;
    size_t al = h->argv_len;
    if (al > (size_t)(end - d))
        al = (size_t)(end - d);
    const char *a = d, *aend = d + al;
    while (a < aend) {
        const char *z = memchr(a, 0, (size_t)(aend - a));
        const char *stop = z ? z : aend;
        if (s->nargv == AR_TP_MAX_ARGS) {
            s->argv_truncated = true;
            break;
        }
        s->argv[s->nargv++] = (struct ar_span){a, (size_t)(stop - a)};
        a = z ? z + 1 : aend;
    }
    int r = e->emit(s, e->userdata);
    return r < 0 ? r : 0;
}

/* ---- ops ---- */

static void bpf_close(void *p)
{
    struct bpf_engine *e = p;
    if (!e)
        return;
    ar_bpf_ring_free(e->ring);
    for (size_t i = 0; i < e->nlinks; i++)
        bpf_link__destroy(e->links[i]);
    free(e->links);
    free(e->contexts);
    ar_tp_bpf_skel__destroy(e->skel);
    free(e);
}

static void set_rules(struct ar_tp_bpf_skel *skel, const struct ar_tp_plan *plan)
{
    struct ar_tp_bpf_skel__rodata *ro = skel->rodata;
    bool paths = false, all = false;
    unsigned nr = plan->nrules < AR_BPF_MAX_RULES ? plan->nrules : AR_BPF_MAX_RULES;
    for (unsigned i = 0; i < nr; i++) {
        const struct ar_tp_rule *r = &plan->rules[i];
        struct ar_bpf_rule *b = &ro->rules[i];
        memset(b, 0, sizeof(*b));
        memcpy(b->syscalls, r->syscalls, sizeof(b->syscalls));
        b->nconds = r->nconds < AR_BPF_MAX_CONDS ? r->nconds : AR_BPF_MAX_CONDS;
        for (unsigned c = 0; c < b->nconds; c++) {
            b->conds[c].field = r->conds[c].field;
            b->conds[c].op = r->conds[c].op;
            b->conds[c].vs_field = r->conds[c].field_vs_field;
            b->conds[c].field2 = r->conds[c].field2;
            b->conds[c].value = r->conds[c].value;
        }
        b->perm = r->perm;
        b->arch = r->arch;
        b->never = r->never;
        b->all_syscalls = r->all_syscalls;
        b->path_is_dir = r->path_is_dir;
        size_t pl = r->path_len < AR_BPF_PREFIX ? r->path_len : AR_BPF_PREFIX;
        memcpy(b->path, r->path, pl);
        b->path_len = (uint32_t)pl;
        paths |= pl > 0;
        all |= r->all_syscalls;
    }
    ro->nrules = nr;
    ro->has_path_rules = paths;
    ro->need_cwd = plan->need_cwd;
    ro->raw_all = all;
    memcpy((void *)ro->hooked, plan->syscalls, sizeof(ro->hooked));
    fill_sysinfo(ro->sysinfo);
}

static int bpf_open(const struct ar_tp_plan *plan, const struct ar_tp_engine_config *cfg,
                    ar_tp_sample_fn emit, void *userdata, char *why, size_t whylen, void **ret)
{
    char dummy[8];
    if (!why || whylen == 0) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    why[0] = 0;
    char btf[160];
    if (ar_bpf_check_btf(btf, sizeof(btf)) < 0) {
        snprintf(why, whylen, "BPF: %s", btf);
        return -ENOSYS;
    }
    struct bpf_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->emit = emit;
    e->userdata = userdata;
    char logbuf[8192];
    log_buf = logbuf;
    log_len = 0;
    log_cap = sizeof(logbuf);
    logbuf[0] = 0;
    libbpf_print_fn_t prev = libbpf_set_print(log_to_buf);
    int err;

    e->skel = ar_tp_bpf_skel__open();
    if (!e->skel) {
        err = -errno;
        snprintf(why, whylen, "BPF: cannot open the embedded object: %s", strerror(-err));
        goto fail;
    }
    struct ar_tp_bpf_skel__rodata *ro = e->skel->rodata;
    ro->self_tgid = cfg ? cfg->self_pid : 0;
    size_t rsz = ar_bpf_ring_size(cfg ? cfg->ring_bytes : 0, DEFAULT_RING);
    set_rules(e->skel, plan);
    e->ncpus = libbpf_num_possible_cpus();
    if (e->ncpus <= 0) {
        err = -EINVAL;
        snprintf(why, whylen, "BPF: cannot count the possible CPUs");
        goto fail;
    }
    e->contexts = calloc((size_t)e->ncpus, sizeof(*e->contexts));
    if (!e->contexts) {
        err = -ENOMEM;
        snprintf(why, whylen, "BPF: out of memory");
        goto fail;
    }
    ro->wake_bytes = ar_tp_ring_wake_bytes(rsz, e->ncpus);
    bpf_map__set_max_entries(e->skel->maps.ring, (uint32_t)rsz);
    bpf_map__set_max_entries(e->skel->maps.scratch, (uint32_t)e->ncpus);
    bool raw = plan->raw_syscalls;
    bpf_program__set_autoload(e->skel->progs.ar_sys_enter, !raw);
    bpf_program__set_autoload(e->skel->progs.ar_sys_exit, !raw);
    bpf_program__set_autoload(e->skel->progs.ar_raw_enter, raw);
    bpf_program__set_autoload(e->skel->progs.ar_raw_exit, raw);

    err = ar_tp_bpf_skel__load(e->skel);
    if (err) {
        err = err < 0 ? err : -errno;
        char sum[512];
        summarize_log(sum, sizeof(sum));
        if (err == -EPERM) {
            /* libbpf's log adds only its guesses (RLIMIT_MEMLOCK...) here. */
            snprintf(why, whylen, AR_BPF_EPERM_WHY);
            err = -EPERM;
        } else {
            char lacks[512];
            struct utsname u;
            if (missing_helpers(lacks, sizeof(lacks)) > 0 && uname(&u) == 0)
                snprintf(why, whylen, "BPF: this kernel (%s) lacks BPF helpers the engine's "
                         "programs call: %s; --tracepoint-engine perf needs no BPF", u.release,
                         lacks);
            else
                snprintf(why, whylen, "BPF: the kernel refused the programs (%s)%s%s",
                         strerror(-err), sum[0] ? ": " : "", sum);
            err = -EINVAL;
        }
        goto fail;
    }

    if (raw) {
        struct bpf_link *l = bpf_program__attach(e->skel->progs.ar_raw_enter);
        if (!l || add_link(e, l) < 0 ||
            !(l = bpf_program__attach(e->skel->progs.ar_raw_exit)) || add_link(e, l) < 0) {
            err = errno ? -errno : -EINVAL;
            snprintf(why, whylen, "BPF: cannot attach to raw_syscalls: %s", strerror(-err));
            goto fail;
        }
    } else {
        err = attach_syscalls(e, plan, why, whylen);
        if (err < 0)
            goto fail;
    }
    struct bpf_link *l = bpf_program__attach(e->skel->progs.ar_exec);
    if (!l || add_link(e, l) < 0 ||
        !(l = bpf_program__attach(e->skel->progs.ar_task_exit)) || add_link(e, l) < 0) {
        err = errno ? -errno : -EINVAL;
        snprintf(why, whylen, "BPF: cannot attach to sched_process_exec/exit: %s", strerror(-err));
        goto fail;
    }

    err = ar_bpf_ring_new(bpf_map__fd(e->skel->maps.ring), rsz, on_record, e, &e->ring);
    if (err < 0) {
        snprintf(why, whylen, "BPF: cannot map the ring buffer: %s", strerror(-err));
        goto fail;
    }
    /* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
    e->mono_to_real = ar_tp_mono_to_real();
    libbpf_set_print(prev);
    log_buf = NULL;
    *ret = e;
    return 0;
fail:
    libbpf_set_print(prev);
    log_buf = NULL;
    bpf_close(e);
    return err < 0 ? err : -EINVAL;
}

static int bpf_fd(void *p)
{
    struct bpf_engine *e = p;
    return ar_bpf_ring_fd(e->ring);
}

static int bpf_consume(void *p)
{
    struct bpf_engine *e = p;
    /* The wall clock's offset now, not at start: it moves (this host's gained 5 ms
     * a second on the monotonic clock), and a consume covers tens of milliseconds. */
    e->mono_to_real = ar_tp_mono_to_real();
    return ar_bpf_ring_consume(e->ring);
}

static uint64_t bpf_lost(void *p)
{
    struct bpf_engine *e = p;
    uint64_t total = e->no_context;
    for (uint32_t k = 0; k < AR_BPF_C_COUNT; k++)
        total += ar_bpf_percpu_sum(bpf_map__fd(e->skel->maps.counters), k, e->ncpus);
    return total;
}

const struct ar_tp_engine_ops ar_tp_engine_bpf = {
    .name = "bpf",
    .open = bpf_open,
    .fd = bpf_fd,
    .consume = bpf_consume,
    .lost = bpf_lost,
    .close = bpf_close,
    /* Reading the ring and maps needs none (they are our fds); attaching programs
     * again (a rules reload) needs both. */
    .capabilities = (1ull << CAP_BPF) | (1ull << CAP_PERFMON),
};
