/* The perf tracepoint engine: perf_event_open(PERF_TYPE_TRACEPOINT) on the plan's
 * per-syscall tracepoints (or raw_syscalls), one mmapped ring per CPU, entry and
 * exit joined per thread in userspace, rules applied with ar_tp_plan_match. No BPF:
 * the fallback for kernels older than 4.7 or where BPF is locked down.
 *
 * What it cannot do: the syscall tracepoints carry only pointers to the caller's
 * strings, so path arguments, sockaddrs and argv are read from the process's memory
 * (process_vm_readv) when the sample is consumed, some 10-20 ms later, and ids,
 * exe and cwd from /proc. A process that exited by then gives an empty value,
 * never a guessed one; a process that reused the buffer gives the buffer's new
 * contents (measured: a Python loop unlinking 2,000 distinct names read back
 * 1-3 right). Every value read late is marked in sample.late. What the kernel
 * does hand over in the record is used instead: the exec filename
 * (sched_process_exec), comm changes and fork/exit (perf's side-band records).
 *
 * A BPF program attached to the same tracepoint that returns 0 suppresses every
 * perf sample of it, with no PERF_RECORD_LOST: exits without entries and entries
 * without exits are counted in lost() (a pair suppressed whole cannot be seen).
 *
 * tracefs is needed only while opening (event ids and formats); when we mounted it
 * ourselves it is unmounted again before open() returns. */
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "util/file.h"
#include "audit/tables.h"
#include "sources/tracepoint/engine.h"

/* 1 MiB per CPU lost events at full speed through the collector; 4 MiB did not. */
#define DEFAULT_RING_BYTES ((size_t)AR_TP_PERF_RING_MIB << 20)
#define MAX_FIELDS 16
#define MAX_EVENTS 1100          /* 2 per syscall, raw_syscalls, exec */
#define TASK_CAP 32768           /* threads known (pending syscall or comm) */
#define PROC_CAP 16384           /* processes known (ppid, exec filename, /proc cache) */
/* /proc values are read once per process per consume() (every 20 ms or a
 * wake-up): a 250 ms cache gave a process that set its loginuid right after
 * starting its old ids for the events after the change (-F auid= missed them). */
#define STR_MAX 4096             /* a path as read from the process */
#define ARGV_BYTES 16384         /* execve argv as read late */
#define SOCKADDR_MAX 128

/* ---------------------------------------------------------------- formats */

struct tp_field {
    char name[40];
    char type[64];
    uint16_t offset, size;
    bool is_signed;
};

struct tp_format {
    uint32_t id;
    struct tp_field f[MAX_FIELDS];
    unsigned n;
};

/* What a syscall's entry record carries, from its format: where a0..a5 are, which
 * are paths, the sockaddr and argv pointers. Indexes are argument positions. */
struct sc_info {
    bool known;
    uint8_t nargs;
    uint16_t arg_off[6];
    uint8_t arg_size[6];
    int8_t path_arg[AR_TP_MAX_PATHS];
    uint8_t npath;
    int8_t sa_arg, salen_arg;  /* -1: none */
    bool salen_is_ptr;         /* accept: int *upeer_addrlen, read at exit */
    int8_t argv_arg;
};

enum ev_kind { EV_SYS_ENTER, EV_SYS_EXIT, EV_RAW_ENTER, EV_RAW_EXIT, EV_EXEC };

struct ev {
    uint8_t kind;
    int32_t nr;                /* per-syscall events */
    uint16_t ret_off, ret_size;/* exits */
    uint16_t id_off, args_off; /* raw_syscalls */
    uint16_t fn_off, pid_off, oldpid_off; /* sched_process_exec */
    int qfd;                   /* its fd on the first CPU (PERF_EVENT_IOC_QUERY_BPF) */
};

/* ---------------------------------------------------------------- tables */

/* Open addressing over u32 keys (0 is the empty key: no thread or process 0
 * does syscalls we trace), backward-shift deletion. Entries move on deletion:
 * pointers into the table are valid until the next put or delete. */
struct htab {
    uint8_t *slots;
    size_t esz;
    uint32_t cap, n;
};

static int ht_init(struct htab *t, uint32_t cap, size_t esz)
{
    t->slots = calloc(cap, esz);
    if (!t->slots)
        return -ENOMEM;
    t->esz = esz;
    t->cap = cap;
    t->n = 0;
    return 0;
}

static inline uint32_t *ht_key(const struct htab *t, uint32_t i)
{
    return (uint32_t *)(void *)(t->slots + (size_t)i * t->esz);
}

static inline uint32_t ht_hash(const struct htab *t, uint32_t key)
{
    return (key * 0x9E3779B1u) & (t->cap - 1);
}

static void *ht_get(const struct htab *t, uint32_t key)
{
    for (uint32_t i = ht_hash(t, key);; i = (i + 1) & (t->cap - 1)) {
        uint32_t k = *ht_key(t, i);
        if (k == key)
            return ht_key(t, i);
        if (k == 0)
            return NULL;
    }
}

/* NULL when the table is at its load limit (the caller evicts and retries). */
static void *ht_put(struct htab *t, uint32_t key, bool *created)
{
    uint32_t i = ht_hash(t, key);
    for (;; i = (i + 1) & (t->cap - 1)) {
        uint32_t k = *ht_key(t, i);
        if (k == key) {
            *created = false;
            return ht_key(t, i);
        }
        if (k == 0)
            break;
    }
    if (t->n >= t->cap / 4 * 3)
        return NULL;
    uint32_t *slot = ht_key(t, i);
    memset(slot, 0, t->esz);
    *slot = key;
    t->n++;
    *created = true;
    return slot;
}

static void ht_del(struct htab *t, void *entry)
{
    uint32_t i = (uint32_t)(((uint8_t *)entry - t->slots) / t->esz);
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & (t->cap - 1);
        uint32_t k = *ht_key(t, j);
        if (k == 0)
            break;
        uint32_t h = ht_hash(t, k);
        /* Move j back into the hole at i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (i < h && h <= j) : (i < h || h <= j);
        if (stays)
            continue;
        memcpy(ht_key(t, i), ht_key(t, j), t->esz);
        i = j;
    }
    memset(ht_key(t, i), 0, t->esz);
    t->n--;
}

/* ---------------------------------------------------------------- state */

struct task {
    uint32_t tid;              /* key */
    uint32_t pid;
    uint64_t touched;          /* perf time of the last record */
    bool pending;              /* an entry waits for its exit */
    bool exec_seen;            /* sched_process_exec between entry and exit */
    uint32_t arch;
    int32_t nr;
    uint64_t t_enter;
    uint64_t args[6];
    bool comm_known;
    uint8_t comm_len;
    char comm[16];
};

struct proc {
    uint32_t pid;              /* key */
    uint32_t ppid;             /* from perf's FORK record; 0: unknown */
    char *execfn;              /* sched_process_exec's filename */
    uint64_t read_gen;         /* the consume() of the /proc read; 0: none */
    bool st_ok, auid_ok, exe_ok, cwd_ok;
    uint32_t ids[8];           /* uid euid suid fsuid gid egid sgid fsgid */
    uint32_t st_ppid;
    uint32_t auid, ses;
    char tty[16];
    uint8_t tty_len;
    char *exe, *cwd;
    size_t exe_len, cwd_len;
};

/* A joined syscall waiting for its late reads. Path reads are batched: one
 * process_vm_readv per process for a whole batch costs a fraction of one per
 * sample (the task lookup and access check are per call). */
#define BATCH 128
#define CHUNK 256            /* first read of each path; the rest one by one */
struct pend {
    struct task t;
    int64_t ret;
    ssize_t plen[AR_TP_MAX_PATHS]; /* >= 0 read, < 0 failed */
    char path[AR_TP_MAX_PATHS][STR_MAX];
};

struct ring {
    int fd;
    void *base;
    struct perf_event_mmap_page *meta;
    uint8_t *data;
    uint64_t size;
    uint64_t head, tail;       /* this pass */
    const struct perf_event_header *cur;
    uint64_t cur_time;
    uint8_t *scratch;          /* a record that wraps the ring end, copied */
};

struct perf_engine {
    const struct ar_tp_plan *plan;
    ar_tp_sample_fn emit;
    void *userdata;
    uint32_t self_pid;
    int ncpu;
    struct ring *rings;        /* one per online CPU */
    int *fds;                  /* every perf fd (ring owners included) */
    unsigned nfds, fdcap;
    int epfd;
    uint64_t lost;
    int64_t clock_offset;      /* added to perf time (CLOCK_MONOTONIC): CLOCK_REALTIME's offset */
    bool kernel_filter;        /* common_pid != self accepted */
    /* raw_syscalls only for 32-bit rules with -S lists: "id == N || ..." of their
     * numbers, so the kernel does not send us every syscall of the machine (the
     * shipped set lost 640k events a minute without it). Empty: no such filter. */
    char raw_ids[2048];
    unsigned foreign_bpf_max;  /* most of our tracepoints seen with a BPF program */

    struct ev *evs;            /* by tracepoint id */
    uint16_t *ev_by_id;        /* 65536 entries: index + 1, 0 none */
    unsigned nevs;
    struct sc_info sc64[AR_TP_NR_SYSCALLS];
    struct sc_info sc32[AR_TP_NR_SYSCALLS];
    bool raw;
    bool need_cwd;

    struct htab tasks, procs;

    /* counters (debug and tests) */
    uint64_t n_records, n_samples, n_emitted, n_orphan_exit, n_stale, n_unfinished,
        n_self, n_late_fail, n_evicted_procs, n_bad, n_throttle;

    /* tracefs */
    char tracefs[PATH_MAX];
    char mounted[PATH_MAX];    /* what we mounted ourselves; "" none */
    char mountdir[64];         /* the directory we made for it; "" none */
    uint64_t consume_gen;      /* consume() calls so far: the /proc cache's age */

    struct pend *batch;        /* BATCH entries */
    unsigned nbatch, batch_read, batch_done; /* read: paths done; done: emitted */

    /* per-sample scratch: spans in the emitted sample point here */
    char argvbuf[ARGV_BYTES];
    uint8_t sockaddr[SOCKADDR_MAX];
    char comm[16];
};

static void whyf(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void whyf(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- tracefs */

/* Where a collector mounts tracefs for itself when none is mounted (+ XXXXXX). */
#define TRACEFS_PRIVATE "/run/auditrelay-tracefs."

/* The mount point of the first mounted filesystem of `type` that has `sub`. */
static bool find_mount(const char *type, const char *sub, char *out, size_t outlen)
{
    FILE *f = fopen("/proc/mounts", "re");
    if (!f)
        return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        char dev[256], dir[512], fstype[64];
        if (sscanf(line, "%255s %511s %63s", dev, dir, fstype) != 3 || strcmp(fstype, type))
            continue;
        /* Another collector's mount of the moment: it goes away under us. */
        if (strncmp(dir, TRACEFS_PRIVATE, sizeof(TRACEFS_PRIVATE) - 1) == 0)
            continue;
        char probe[PATH_MAX];
        snprintf(probe, sizeof probe, "%s%s/events", dir, sub);
        if (access(probe, F_OK) == 0 || errno == EACCES) {
            snprintf(out, outlen, "%s%s", dir, sub);
            found = true;
        }
    }
    fclose(f);
    return found;
}

static int tracefs_acquire(struct perf_engine *e, char *why, size_t whylen)
{
    /* Only a tracefs (or debugfs) that /proc/mounts lists: touching
     * /sys/kernel/debug/tracing would automount one that nobody removes. */
    if (find_mount("tracefs", "", e->tracefs, sizeof e->tracefs) ||
        find_mount("debugfs", "/tracing", e->tracefs, sizeof e->tracefs))
        return 0;
    /* Our own mount on a directory of our own, for the moment the formats are
     * read: collectors starting together do not unmount each other's (on the
     * shared /sys/kernel/tracing two of thirty failed), and the standard path never
     * changes under other tools. */
    char dir[] = TRACEFS_PRIVATE "XXXXXX";
    if (!mkdtemp(dir)) {
        int err = errno;
        whyf(why, whylen, "tracefs is not mounted and no directory to mount it on: %s: %s",
             dir, strerror(err));
        return err == EACCES || err == EPERM ? -EPERM : -err;
    }
    snprintf(e->mountdir, sizeof e->mountdir, "%s", dir);
    if (mount("nodev", dir, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
        snprintf(e->tracefs, sizeof e->tracefs, "%s", dir);
        snprintf(e->mounted, sizeof e->mounted, "%s", dir);
        return 0;
    }
    int err = errno;
    if (err == ENODEV || err == ENOENT) {
        /* Before 4.1 tracing lives in debugfs only. */
        if (mount("nodev", dir, "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0) {
            snprintf(e->mounted, sizeof e->mounted, "%s", dir);
            snprintf(e->tracefs, sizeof e->tracefs, "%s/tracing", dir);
            if (access(e->tracefs, F_OK) == 0)
                return 0;
            whyf(why, whylen, "the kernel has no tracing (CONFIG_FTRACE): no tracefs, "
                 "debugfs has no tracing directory");
            return -ENOSYS;
        }
    }
    if (err == EPERM) {
        whyf(why, whylen, "tracefs is not mounted and mounting it was refused (CAP_SYS_ADMIN "
                          "needed)");
        return -EPERM;
    }
    whyf(why, whylen, "tracefs is not mounted and mounting it failed: %s", strerror(err));
    return -ENOENT;
}

static void tracefs_release(struct perf_engine *e)
{
    if (e->mounted[0] && umount2(e->mounted, 0) < 0 && errno == EBUSY)
        umount2(e->mounted, MNT_DETACH);
    e->mounted[0] = '\0';
    if (e->mountdir[0])
        rmdir(e->mountdir);
    e->mountdir[0] = '\0';
}

/* Parses events/GROUP/NAME/format. */
static int format_read(struct perf_engine *e, const char *group, const char *name,
                       struct tp_format *ret, char *why, size_t whylen)
{
    char path[PATH_MAX + 128], buf[8192];
    snprintf(path, sizeof path, "%s/events/%s/%s/id", e->tracefs, group, name);
    ssize_t n = ar_read_small_file(path, buf, sizeof buf);
    if (n == -EACCES || n == -EPERM) {
        whyf(why, whylen, "tracefs: %s: permission denied (perf tracepoints need root, or "
             "CAP_PERFMON and read access to tracefs)", path);
        return -EPERM;
    }
    if (n < 0) {
        snprintf(path, sizeof path, "%s/events/%s", e->tracefs, group);
        if (!strcmp(group, "syscalls") && access(path, F_OK) != 0) {
            whyf(why, whylen, "the kernel has no syscall tracepoints "
                 "(CONFIG_FTRACE_SYSCALLS): no %s", path);
            return -ENOSYS;
        }
        whyf(why, whylen, "tracefs: no event %s/%s", group, name);
        return -ENOENT;
    }
    memset(ret, 0, sizeof *ret);
    ret->id = (uint32_t)strtoul(buf, NULL, 10);
    snprintf(path, sizeof path, "%s/events/%s/%s/format", e->tracefs, group, name);
    n = ar_read_small_file(path, buf, sizeof buf);
    if (n < 0) {
        whyf(why, whylen, "tracefs: cannot read %s: %s", path, strerror((int)-n));
        return (int)n;
    }
    for (char *line = buf; line && *line; ) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *fp = strstr(line, "field:");
        if (fp && ret->n < MAX_FIELDS) {
            /* field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N; */
            char *decl = fp + 6, *semi = strchr(decl, ';');
            char *op = strstr(line, "offset:"), *sp = strstr(line, "size:");
            char *sg = strstr(line, "signed:");
            if (semi && op && sp) {
                *semi = '\0';
                /* The name is the last word ("char comm[16]": its [16] goes with
                 * the type; "__data_loc char[] filename" has it before the name). */
                char *end = decl + strlen(decl);
                char *nm = end;
                while (nm > decl && nm[-1] != ' ' && nm[-1] != '*')
                    nm--;
                char *br = strchr(nm, '[');
                struct tp_field *f = &ret->f[ret->n++];
                snprintf(f->name, sizeof f->name, "%.*s", (int)((br ? br : end) - nm), nm);
                snprintf(f->type, sizeof f->type, "%.*s%s", (int)(nm - decl), decl,
                         br ? br : "");
                f->offset = (uint16_t)strtoul(op + 7, NULL, 10);
                f->size = (uint16_t)strtoul(sp + 5, NULL, 10);
                f->is_signed = sg && sg[7] == '1';
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

static const struct tp_field *field_find(const struct tp_format *fmt, const char *name)
{
    for (unsigned i = 0; i < fmt->n; i++)
        if (!strcmp(fmt->f[i].name, name))
            return &fmt->f[i];
    return NULL;
}

/* Path arguments by the names the kernel gives them. "name" is a path only for
 * the syscalls listed: elsewhere it is an xattr, key or memfd name. */
static bool is_path_arg(const char *sc, const struct tp_field *f)
{
    static const char *const names[] = {
        "filename", "pathname", "oldname", "newname", "path", "specialfile", "special",
        "put_old", "new_root", "from_pathname", "to_pathname", "dir_name", "library",
    };
    if (!strstr(f->type, "char *") || strstr(f->type, "* *") || strstr(f->type, "*const *"))
        return false;
    for (size_t i = 0; i < AR_ARRAY_SIZE(names); i++)
        if (!strcmp(f->name, names[i]))
            return true;
    return !strcmp(f->name, "name") && (!strcmp(sc, "umount") || !strcmp(sc, "umount2") ||
                                         !strcmp(sc, "acct") || !strcmp(sc, "oldumount"));
}

static void sc_info_from_format(const char *sc, int nr, const struct tp_format *fmt,
                                struct sc_info *ret)
{
    memset(ret, 0, sizeof *ret);
    ret->sa_arg = ret->salen_arg = ret->argv_arg = -1;
    bool after_nr = false;
    for (unsigned i = 0; i < fmt->n && ret->nargs < 6; i++) {
        const struct tp_field *f = &fmt->f[i];
        if (!after_nr) {
            after_nr = !strcmp(f->name, "__syscall_nr");
            continue;
        }
        unsigned a = ret->nargs++;
        ret->arg_off[a] = f->offset;
        ret->arg_size[a] = (uint8_t)(f->size > 8 ? 8 : f->size);
        if (ret->npath < AR_TP_MAX_PATHS && is_path_arg(sc, f))
            ret->path_arg[ret->npath++] = (int8_t)a;
        else if (strstr(f->type, "struct sockaddr *") &&
                 (!strcmp(sc, "connect") || !strcmp(sc, "bind") || !strcmp(sc, "sendto") ||
                  !strcmp(sc, "accept") || !strcmp(sc, "accept4")))
            ret->sa_arg = (int8_t)a;
        else if (ret->sa_arg >= 0 && ret->salen_arg < 0 && (unsigned)ret->sa_arg + 1 == a) {
            ret->salen_arg = (int8_t)a;
            ret->salen_is_ptr = strchr(f->type, '*') != NULL;
        } else if (!strcmp(f->name, "argv") && strstr(f->type, "* *") == NULL &&
                   strstr(f->type, "char *const *"))
            ret->argv_arg = (int8_t)a;
    }
    ret->known = after_nr;
    /* The plan's table decides which arguments are paths, in its order: its
     * matcher reads paths[i] as argument path_arg[i]. The names above only serve
     * syscalls it does not list. */
    const struct ar_tp_syscall *t = ar_tp_syscall_find(AUDIT_ARCH_X86_64, nr);
    if (t) {
        ret->npath = 0;
        for (unsigned i = 0; i < t->npaths && i < AR_TP_MAX_PATHS; i++)
            if (t->path_arg[i] >= 0 && t->path_arg[i] < ret->nargs)
                ret->path_arg[ret->npath++] = t->path_arg[i];
    }
}

/* ---------------------------------------------------------------- perf setup */

static long perf_open(struct perf_event_attr *attr, int cpu)
{
    return syscall(SYS_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int fd_keep(struct perf_engine *e, int fd)
{
    if (e->nfds == e->fdcap) {
        unsigned cap = e->fdcap ? e->fdcap * 2 : 64;
        int *n = realloc(e->fds, cap * sizeof *n);
        if (!n)
            return -ENOMEM;
        e->fds = n;
        e->fdcap = cap;
    }
    e->fds[e->nfds++] = fd;
    return 0;
}

static int perf_errno_why(int err, const char *what, char *why, size_t whylen)
{
    if (err == EACCES || err == EPERM) {
        char p[32] = "?";
        if (ar_read_small_file("/proc/sys/kernel/perf_event_paranoid", p, sizeof p) > 0)
            p[strcspn(p, "\n")] = '\0';
        whyf(why, whylen, "perf tracepoints need CAP_PERFMON (or CAP_SYS_ADMIN) "
             "(kernel.perf_event_paranoid is %s)", p);
        return -EPERM;
    }
    if (err == ENOENT || err == ENODEV || err == EOPNOTSUPP) {
        whyf(why, whylen, "perf_event_open on %s: %s (no tracepoint support in perf?)",
             what, strerror(err));
        return -ENOSYS;
    }
    if (err == EMFILE || err == ENFILE) {
        whyf(why, whylen, "perf_event_open on %s: out of file descriptors (%s): one fd "
             "per hooked event per CPU; raise RLIMIT_NOFILE", what, strerror(err));
        return -err;
    }
    whyf(why, whylen, "perf_event_open on %s: %s", what, strerror(err));
    return -err;
}

static size_t ring_pages(const struct ar_tp_engine_config *cfg)
{
    size_t bytes = cfg && cfg->ring_bytes ? cfg->ring_bytes : DEFAULT_RING_BYTES;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = 1;
    while (pages * page < bytes && pages < (1u << 20))
        pages <<= 1;
    return pages;
}

/* Opens event `id` on every CPU. The first event opened becomes each CPU's ring
 * owner (mmapped, side-band records on); later ones are redirected to it. */
static int event_attach(struct perf_engine *e, uint32_t id, const char *what, bool raw,
                        const struct ar_tp_engine_config *cfg, char *why, size_t whylen)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = ring_pages(cfg);
    for (int cpu = 0; cpu < e->ncpu; cpu++) {
        struct ring *r = &e->rings[cpu];
        bool owner = r->fd < 0;
        struct perf_event_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.size = sizeof attr;
        attr.type = PERF_TYPE_TRACEPOINT;
        attr.config = id;
        attr.sample_period = 1;
        /* No PERF_SAMPLE_CPU: the ring says which CPU, and 8 bytes less per
         * record is 10% more records per ring. */
        attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_RAW;
        attr.disabled = 1;
        attr.sample_id_all = 1;
        attr.watermark = 1;
        attr.wakeup_watermark = (uint32_t)(pages * page / 4);
        /* CLOCK_MONOTONIC, converted with the offset to CLOCK_REALTIME measured once:
         * the kernel refuses CLOCK_REALTIME for tracepoint events (not NMI-safe), and
         * perf's default clock (local_clock) is not CLOCK_MONOTONIC: it was 11 ms behind
         * on this host and drifted by tens of ms within seconds in a TCG guest, so
         * events were stamped before the syscalls that made them. */
        if (e->clock_offset == 0)
            e->clock_offset = ar_tp_mono_to_real();
        attr.use_clockid = 1;
        attr.clockid = CLOCK_MONOTONIC;
        if (raw) {
            /* raw_syscalls fire for 32-bit syscalls too: the ABI of the user
             * registers says which table the number is from. */
            attr.sample_type |= PERF_SAMPLE_REGS_USER;
            attr.sample_regs_user = 1; /* AX: one register, the ABI word is what we need */
        }
        if (owner) {
            attr.comm = 1;
            attr.task = 1;
        }
        long fd = perf_open(&attr, cpu);
        if (fd < 0 && errno == EINVAL) {
            /* Before 4.1: no use_clockid. perf's clock is then local_clock, close
             * to CLOCK_MONOTONIC (within milliseconds). */
            attr.use_clockid = 0;
            attr.clockid = 0;
            fd = perf_open(&attr, cpu);
        }
        if (fd < 0) {
            if (errno == ENODEV || errno == EINVAL) {
                /* An offline CPU or a hole in the numbering: no ring there. */
                if (owner && cpu > 0)
                    continue;
            }
            return perf_errno_why(errno, what, why, whylen);
        }
        if (e->nevs && e->evs[e->nevs - 1].qfd < 0)
            e->evs[e->nevs - 1].qfd = (int)fd;
        int err = fd_keep(e, (int)fd);
        if (err < 0) {
            close((int)fd);
            whyf(why, whylen, "out of memory");
            return err;
        }
        if (e->kernel_filter) {
            char filt[sizeof(e->raw_ids) + 64];
            if (raw && e->raw_ids[0])
                snprintf(filt, sizeof filt, "common_pid != %u && (%s)", e->self_pid, e->raw_ids);
            else
                snprintf(filt, sizeof filt, "common_pid != %u", e->self_pid);
            if (ioctl((int)fd, PERF_EVENT_IOC_SET_FILTER, filt) < 0)
                e->kernel_filter = false; /* userspace filters all the same */
        }
        if (owner) {
            size_t len = (pages + 1) * page;
            void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
            if (base == MAP_FAILED) {
                int er = errno;
                whyf(why, whylen, "mmap of a %zu KiB perf ring: %s%s", pages * page / 1024,
                     strerror(er), er == EPERM ? " (kernel.perf_event_mlock_kb too small?)" : "");
                return -er;
            }
            r->fd = (int)fd;
            r->base = base;
            r->meta = base;
            r->data = (uint8_t *)base + page;
            r->size = pages * page;
            r->scratch = malloc(65536);
            if (!r->scratch) {
                whyf(why, whylen, "out of memory");
                return -ENOMEM;
            }
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)cpu};
            if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, (int)fd, &ev) < 0) {
                int er = errno;
                whyf(why, whylen, "epoll_ctl on a perf ring: %s", strerror(er));
                return -er;
            }
        } else if (ioctl((int)fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd) < 0) {
            int er = errno;
            whyf(why, whylen, "PERF_EVENT_IOC_SET_OUTPUT for %s on CPU %d: %s", what, cpu,
                 strerror(er));
            return -er;
        }
    }
    return 0;
}

static int ev_add(struct perf_engine *e, uint32_t id, const struct ev *ev, char *why,
                  size_t whylen)
{
    if (id == 0 || id > 65535 || e->nevs >= MAX_EVENTS) {
        whyf(why, whylen, "tracefs: event id %u out of range", id);
        return -ERANGE;
    }
    e->evs[e->nevs] = *ev;
    e->evs[e->nevs].qfd = -1;
    e->ev_by_id[id] = (uint16_t)(e->nevs + 1);
    e->nevs++;
    return 0;
}

static int hook_syscall(struct perf_engine *e, int nr, const struct ar_tp_engine_config *cfg,
                        char *why, size_t whylen)
{
    const char *name = ar_tp_syscall_name(AUDIT_ARCH_X86_64, nr);
    if (!name) {
        whyf(why, whylen, "no x86_64 syscall numbered %d", nr);
        return -ENOENT;
    }
    char ev_name[96];
    struct tp_format fmt;
    snprintf(ev_name, sizeof ev_name, "sys_enter_%s", name);
    int err = format_read(e, "syscalls", ev_name, &fmt, why, whylen);
    if (err == -ENOENT) {
        /* Neither event: the syscall is newer than this kernel (fchmodat2 before
         * 6.6), so no process can make it and nothing is missed (as bpf.c does). */
        char exit_name[96], ignore[8];
        struct tp_format none;
        snprintf(exit_name, sizeof exit_name, "sys_exit_%s", name);
        if (format_read(e, "syscalls", exit_name, &none, ignore, sizeof ignore) == -ENOENT) {
            fprintf(stderr, "auditrelay: note: this kernel has no syscall %s: not hooked\n",
                    name);
            return 0;
        }
    }
    if (err < 0)
        return err;
    sc_info_from_format(name, nr, &fmt, &e->sc64[nr]);
    struct ev ev = {.kind = EV_SYS_ENTER, .nr = nr};
    if ((err = ev_add(e, fmt.id, &ev, why, whylen)) < 0 ||
        (err = event_attach(e, fmt.id, ev_name, false, cfg, why, whylen)) < 0)
        return err;
    snprintf(ev_name, sizeof ev_name, "sys_exit_%s", name);
    if ((err = format_read(e, "syscalls", ev_name, &fmt, why, whylen)) < 0)
        return err;
    const struct tp_field *ret = field_find(&fmt, "ret");
    if (!ret) {
        whyf(why, whylen, "tracefs: syscalls/%s has no ret field", ev_name);
        return -ENOENT;
    }
    ev = (struct ev){.kind = EV_SYS_EXIT, .nr = nr, .ret_off = ret->offset,
                     .ret_size = ret->size};
    if ((err = ev_add(e, fmt.id, &ev, why, whylen)) < 0)
        return err;
    return event_attach(e, fmt.id, ev_name, false, cfg, why, whylen);
}

/* raw_syscalls: every syscall of every arch. The per-syscall formats still tell
 * which argument is a path; formats are read for every x86_64 syscall that has
 * one, and i386 numbers borrow the x86_64 syscall of the same name. */
static int hook_raw(struct perf_engine *e, const struct ar_tp_engine_config *cfg, char *why,
                    size_t whylen)
{
    for (int nr = 0; nr < AR_TP_NR_SYSCALLS; nr++) {
        const char *name = ar_tp_syscall_name(AUDIT_ARCH_X86_64, nr);
        struct tp_format fmt;
        char ev_name[96], ignore[8];
        if (!name)
            continue;
        snprintf(ev_name, sizeof ev_name, "sys_enter_%s", name);
        if (format_read(e, "syscalls", ev_name, &fmt, ignore, sizeof ignore) == 0)
            sc_info_from_format(name, nr, &fmt, &e->sc64[nr]);
    }
    for (int nr = 0; nr < AR_TP_NR_SYSCALLS; nr++) {
        const char *name = ar_syscall_name(AUDIT_ARCH_I386, (uint32_t)nr);
        if (!name)
            continue;
        int n64 = ar_syscall_number(AUDIT_ARCH_X86_64, (struct ar_span){name, strlen(name)});
        if (n64 >= 0 && n64 < AR_TP_NR_SYSCALLS)
            e->sc32[nr] = e->sc64[n64];
    }
    struct tp_format fmt;
    int err = format_read(e, "raw_syscalls", "sys_enter", &fmt, why, whylen);
    if (err < 0)
        return err;
    const struct tp_field *id = field_find(&fmt, "id"), *args = field_find(&fmt, "args");
    if (!id || !args || args->size < 48) {
        whyf(why, whylen, "tracefs: raw_syscalls/sys_enter has no id or args[6]");
        return -ENOENT;
    }
    struct ev ev = {.kind = EV_RAW_ENTER, .id_off = id->offset, .args_off = args->offset};
    if ((err = ev_add(e, fmt.id, &ev, why, whylen)) < 0 ||
        (err = event_attach(e, fmt.id, "raw_syscalls/sys_enter", true, cfg, why, whylen)) < 0)
        return err;
    if ((err = format_read(e, "raw_syscalls", "sys_exit", &fmt, why, whylen)) < 0)
        return err;
    id = field_find(&fmt, "id");
    const struct tp_field *ret = field_find(&fmt, "ret");
    if (!id || !ret) {
        whyf(why, whylen, "tracefs: raw_syscalls/sys_exit has no id or ret");
        return -ENOENT;
    }
    ev = (struct ev){.kind = EV_RAW_EXIT, .id_off = id->offset, .ret_off = ret->offset,
                     .ret_size = ret->size};
    if ((err = ev_add(e, fmt.id, &ev, why, whylen)) < 0)
        return err;
    return event_attach(e, fmt.id, "raw_syscalls/sys_exit", true, cfg, why, whylen);
}

/* The ids raw_syscalls must pass when no rule needs every syscall: the hooked
 * x86_64 syscalls and the numbers of the 32-bit rules (in raw mode every syscall
 * comes through raw_syscalls; a call of the other arch with a listed number passes
 * too and is dropped in user space). "" when some rule needs all syscalls or the
 * list does not fit. */
static void raw_filter(const struct ar_tp_plan *plan, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    uint64_t ids[AR_TP_NR_SYSCALLS / 64] = {0};
    for (size_t w = 0; w < AR_ARRAY_SIZE(ids); w++)
        ids[w] = plan->syscalls[w];
    for (unsigned i = 0; i < plan->nrules; i++) {
        const struct ar_tp_rule *r = &plan->rules[i];
        if (r->all_syscalls)
            return;
        if (r->arch == AUDIT_ARCH_I386)
            for (size_t w = 0; w < AR_ARRAY_SIZE(ids); w++)
                ids[w] |= r->syscalls[w];
    }
    for (int nr = 0; nr < AR_TP_NR_SYSCALLS; nr++) {
        if (!((ids[nr / 64] >> (nr % 64)) & 1))
            continue;
        int n = snprintf(buf + len, size - len, "%sid == %d", len ? " || " : "", nr);
        if (n < 0 || (size_t)n >= size - len) {
            buf[0] = 0;
            return;
        }
        len += (size_t)n;
    }
}

static void perf_close(void *p);

static int perf_open_engine(const struct ar_tp_plan *plan, const struct ar_tp_engine_config *cfg,
                            ar_tp_sample_fn emit, void *userdata, char *why, size_t whylen,
                            void **ret)
{
    if (!plan || !emit || !ret) {
        whyf(why, whylen, "perf engine: no plan or callback");
        return -EINVAL;
    }
    struct perf_engine *e = calloc(1, sizeof *e);
    if (!e) {
        whyf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    e->plan = plan;
    e->emit = emit;
    e->userdata = userdata;
    e->self_pid = cfg && cfg->self_pid ? cfg->self_pid : (uint32_t)getpid();
    e->epfd = -1;
    e->kernel_filter = true;
    e->raw = plan->raw_syscalls;
    raw_filter(plan, e->raw_ids, sizeof(e->raw_ids));
    e->need_cwd = plan->need_cwd;
    int err = -ENOMEM;
    long ncpu = sysconf(_SC_NPROCESSORS_CONF);
    e->ncpu = ncpu > 0 ? (int)ncpu : 1;
    e->rings = calloc((size_t)e->ncpu, sizeof *e->rings);
    e->evs = calloc(MAX_EVENTS, sizeof *e->evs);
    e->ev_by_id = calloc(65536, sizeof *e->ev_by_id);
    e->batch = calloc(BATCH, sizeof *e->batch);
    if (!e->rings || !e->evs || !e->ev_by_id || !e->batch ||
        ht_init(&e->tasks, TASK_CAP, sizeof(struct task)) < 0 ||
        ht_init(&e->procs, PROC_CAP, sizeof(struct proc)) < 0) {
        whyf(why, whylen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < e->ncpu; i++)
        e->rings[i].fd = -1;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0) {
        err = -errno;
        whyf(why, whylen, "epoll_create1: %s", strerror(errno));
        goto fail;
    }
    if ((err = tracefs_acquire(e, why, whylen)) < 0)
        goto fail;
    /* One fd per event per CPU: 80 syscalls on 64 CPUs are 10k fds, past the usual
     * soft limit of 1024. Raise the soft limit toward the hard one when needed
     * (the fds are this process's; libuv has no select() limit). */
    unsigned nsc = 0;
    for (int nr = 0; nr < AR_TP_NR_SYSCALLS; nr++)
        nsc += plan->syscalls[nr / 64] >> (nr % 64) & 1;
    rlim_t need = (rlim_t)(1 + (e->raw ? 2 : 2 * nsc)) * (rlim_t)e->ncpu + 256;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    /* sched_process_exec first: it owns each CPU's ring and carries the
     * side-band records (comm, fork, exit). */
    struct tp_format fmt;
    if ((err = format_read(e, "sched", "sched_process_exec", &fmt, why, whylen)) < 0)
        goto fail;
    const struct tp_field *fn = field_find(&fmt, "filename"), *pid = field_find(&fmt, "pid"),
                          *old = field_find(&fmt, "old_pid");
    if (!fn || !pid || !old) {
        whyf(why, whylen, "tracefs: sched/sched_process_exec lacks filename, pid or old_pid");
        err = -ENOENT;
        goto fail;
    }
    struct ev ev = {.kind = EV_EXEC, .fn_off = fn->offset, .pid_off = pid->offset,
                    .oldpid_off = old->offset};
    if ((err = ev_add(e, fmt.id, &ev, why, whylen)) < 0 ||
        (err = event_attach(e, fmt.id, "sched/sched_process_exec", false, cfg, why, whylen)) < 0)
        goto fail;

    if (e->raw) {
        if ((err = hook_raw(e, cfg, why, whylen)) < 0)
            goto fail;
    } else {
        for (int nr = 0; nr < AR_TP_NR_SYSCALLS; nr++)
            if (plan->syscalls[nr / 64] >> (nr % 64) & 1)
                if ((err = hook_syscall(e, nr, cfg, why, whylen)) < 0)
                    goto fail;
    }
    /* Everything is set up: tracefs is no longer needed. */
    tracefs_release(e);
    for (unsigned i = 0; i < e->nfds; i++) {
        if (ioctl(e->fds[i], PERF_EVENT_IOC_ENABLE, 0) < 0) {
            err = -errno;
            whyf(why, whylen, "PERF_EVENT_IOC_ENABLE: %s", strerror(errno));
            goto fail;
        }
    }
    *ret = e;
    return 0;
fail:
    perf_close(e);
    return err;
}

/* ---------------------------------------------------------------- late reads */

/* Reads a NUL-terminated string at `addr` in process `pid`, a page at a time so
 * that an unmapped page after the string does not fail the read. */
static ssize_t read_user_str(uint32_t pid, uint64_t addr, char *buf, size_t cap)
{
    if (!addr || cap < 2)
        return -EFAULT;
    size_t got = 0;
    while (got + 1 < cap) {
        uint64_t a = addr + got;
        size_t chunk = 4096 - (size_t)(a & 4095);
        if (chunk > cap - 1 - got)
            chunk = cap - 1 - got;
        struct iovec l = {buf + got, chunk}, r = {(void *)(uintptr_t)a, chunk};
        ssize_t n = process_vm_readv((pid_t)pid, &l, 1, &r, 1, 0);
        if (n <= 0)
            return got ? (ssize_t)got : -errno;
        char *z = memchr(buf + got, '\0', (size_t)n);
        if (z)
            return z - buf;
        got += (size_t)n;
        if ((size_t)n < chunk)
            return -EFAULT; /* no terminator before an unreadable byte */
    }
    return -ENAMETOOLONG;
}

static ssize_t read_user(uint32_t pid, uint64_t addr, void *buf, size_t len)
{
    struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};
    ssize_t n = process_vm_readv((pid_t)pid, &l, 1, &r, 1, 0);
    return n < 0 ? -errno : n;
}

static char *read_link(const char *path, size_t *len)
{
    char buf[PATH_MAX];
    ssize_t n = readlink(path, buf, sizeof buf);
    if (n <= 0 || (size_t)n >= sizeof buf)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    memcpy(s, buf, (size_t)n);
    s[n] = '\0';
    *len = (size_t)n;
    return s;
}

static void proc_clear_cache(struct proc *p)
{
    free(p->exe);
    free(p->cwd);
    p->exe = p->cwd = NULL;
    p->exe_len = p->cwd_len = 0;
    p->read_gen = 0;
    p->st_ok = p->auid_ok = p->exe_ok = p->cwd_ok = false;
}

static void proc_free(struct proc *p)
{
    proc_clear_cache(p);
    free(p->execfn);
    p->execfn = NULL;
}

/* Fills the /proc part of a process's entry unless it is fresh enough. */
static void proc_refresh(struct perf_engine *e, struct proc *p)
{
    if (p->read_gen == e->consume_gen)
        return;
    proc_clear_cache(p);
    p->read_gen = e->consume_gen;
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%u/status", p->pid);
    if (ar_read_small_file(path, buf, sizeof buf) > 0) {
        char *u = strstr(buf, "\nUid:"), *g = strstr(buf, "\nGid:"), *pp = strstr(buf, "\nPPid:");
        if (u && g && pp &&
            sscanf(u, "\nUid: %u %u %u %u", &p->ids[0], &p->ids[1], &p->ids[2], &p->ids[3]) == 4 &&
            sscanf(g, "\nGid: %u %u %u %u", &p->ids[4], &p->ids[5], &p->ids[6], &p->ids[7]) == 4 &&
            sscanf(pp, "\nPPid: %u", &p->st_ppid) == 1)
            p->st_ok = true;
    }
    char a[32], s[32];
    snprintf(path, sizeof path, "/proc/%u/loginuid", p->pid);
    if (ar_read_small_file(path, a, sizeof a) > 0) {
        snprintf(path, sizeof path, "/proc/%u/sessionid", p->pid);
        if (ar_read_small_file(path, s, sizeof s) > 0) {
            p->auid = (uint32_t)strtoul(a, NULL, 10);
            p->ses = (uint32_t)strtoul(s, NULL, 10);
            p->auid_ok = true;
        }
    }
    snprintf(path, sizeof path, "/proc/%u/stat", p->pid);
    if (ar_read_small_file(path, buf, sizeof buf) > 0) {
        /* Field 7, tty_nr, after the ")" that ends comm. */
        char *rp = strrchr(buf, ')');
        unsigned tty = 0;
        if (rp && sscanf(rp + 1, " %*c %*d %*d %*d %u", &tty) == 1 && tty) {
            unsigned major = (tty >> 8) & 0xfff, minor = (tty & 0xff) | ((tty >> 12) & 0xfff00);
            int n = 0;
            if (major >= 136 && major <= 143)
                n = snprintf(p->tty, sizeof p->tty, "pts%u", (major - 136) * 256 + minor);
            else if (major == 4 && minor < 64)
                n = snprintf(p->tty, sizeof p->tty, "tty%u", minor);
            else if (major == 4)
                n = snprintf(p->tty, sizeof p->tty, "ttyS%u", minor - 64);
            p->tty_len = (uint8_t)(n > 0 && (size_t)n < sizeof p->tty ? n : 0);
        }
    }
    snprintf(path, sizeof path, "/proc/%u/exe", p->pid);
    p->exe = read_link(path, &p->exe_len);
    p->exe_ok = p->exe != NULL;
    if (e->need_cwd) {
        snprintf(path, sizeof path, "/proc/%u/cwd", p->pid);
        p->cwd = read_link(path, &p->cwd_len);
        p->cwd_ok = p->cwd != NULL;
    }
}

static struct proc *proc_get(struct perf_engine *e, uint32_t pid, bool create)
{
    struct proc *p = ht_get(&e->procs, pid);
    if (p || !create)
        return p;
    bool created;
    p = ht_put(&e->procs, pid, &created);
    if (!p) {
        /* Full: exits were lost. Drop every entry (they are a cache) and count. */
        for (uint32_t i = 0; i < e->procs.cap; i++) {
            struct proc *q = (struct proc *)(void *)ht_key(&e->procs, i);
            if (q->pid) {
                proc_free(q);
                memset(q, 0, sizeof *q);
            }
        }
        e->n_evicted_procs += e->procs.n;
        e->procs.n = 0;
        p = ht_put(&e->procs, pid, &created);
    }
    return p;
}

/* Drops threads not seen for the longest while until a quarter is free; a
 * dropped pending entry is a stale syscall (its exit was lost, or it blocks). */
static void tasks_evict(struct perf_engine *e)
{
    uint64_t newest = 0, oldest = UINT64_MAX;
    for (uint32_t i = 0; i < e->tasks.cap; i++) {
        struct task *t = (struct task *)(void *)ht_key(&e->tasks, i);
        if (!t->tid)
            continue;
        if (t->touched > newest)
            newest = t->touched;
        if (t->touched < oldest)
            oldest = t->touched;
    }
    uint64_t cut = oldest + (newest - oldest) / 2;
    struct task *keep = malloc(e->tasks.n * sizeof *keep);
    uint32_t nkeep = 0;
    for (uint32_t i = 0; i < e->tasks.cap; i++) {
        struct task *t = (struct task *)(void *)ht_key(&e->tasks, i);
        if (!t->tid)
            continue;
        if (keep && t->touched > cut)
            keep[nkeep++] = *t;
        else if (t->pending)
            e->n_stale++;
    }
    memset(e->tasks.slots, 0, (size_t)e->tasks.cap * e->tasks.esz);
    e->tasks.n = 0;
    for (uint32_t i = 0; i < nkeep; i++) {
        bool created;
        struct task *t = ht_put(&e->tasks, keep[i].tid, &created);
        if (t)
            *t = keep[i];
    }
    free(keep);
}

static struct task *task_get(struct perf_engine *e, uint32_t tid)
{
    bool created;
    struct task *t = ht_put(&e->tasks, tid, &created);
    if (!t) {
        tasks_evict(e);
        t = ht_put(&e->tasks, tid, &created);
    }
    return t;
}

/* ---------------------------------------------------------------- records */

static uint64_t raw_u(const uint8_t *raw, uint32_t rawlen, uint16_t off, uint16_t size)
{
    if ((uint32_t)off + size > rawlen)
        return 0;
    switch (size) {
    case 1: return raw[off];
    case 2: { uint16_t v; memcpy(&v, raw + off, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, raw + off, 4); return v; }
    default: { uint64_t v; memcpy(&v, raw + off, 8); return v; }
    }
}

static int64_t raw_s(const uint8_t *raw, uint32_t rawlen, uint16_t off, uint16_t size)
{
    uint64_t v = raw_u(raw, rawlen, off, size);
    switch (size) {
    case 1: return (int8_t)v;
    case 2: return (int16_t)v;
    case 4: return (int32_t)v;
    default: return (int64_t)v;
    }
}

static void argv_read(struct perf_engine *e, struct ar_tp_sample *s, const struct task *t,
                      const struct sc_info *sc)
{
    size_t used = 0;
    s->nargv = 0;
    if (s->exit == 0) {
        /* The old image is gone: the new one's command line is what was passed. */
        char path[64];
        snprintf(path, sizeof path, "/proc/%u/cmdline", s->pid);
        ssize_t n = ar_read_small_file(path, e->argvbuf, sizeof e->argvbuf);
        if (n <= 0)
            return;
        s->late |= AR_TP_LATE_ARGV;
        if ((size_t)n >= sizeof e->argvbuf - 1)
            s->argv_truncated = true;
        for (char *p = e->argvbuf, *end = e->argvbuf + n; p < end;) {
            char *z = memchr(p, '\0', (size_t)(end - p));
            size_t len = z ? (size_t)(z - p) : (size_t)(end - p);
            if (s->nargv == AR_TP_MAX_ARGS) {
                s->argv_truncated = true;
                break;
            }
            s->argv[s->nargv++] = (struct ar_span){p, len};
            p += len + 1;
        }
        return;
    }
    uint64_t vec = t->args[sc->argv_arg];
    for (unsigned i = 0; vec && i <= AR_TP_MAX_ARGS; i++) {
        uint64_t ptr;
        if (read_user(s->pid, vec + i * 8, &ptr, 8) != 8 || !ptr)
            break;
        if (i == AR_TP_MAX_ARGS || used + 2 > sizeof e->argvbuf) {
            s->argv_truncated = true;
            break;
        }
        ssize_t n = read_user_str(s->pid, ptr, e->argvbuf + used, sizeof e->argvbuf - used);
        if (n < 0) {
            s->argv_truncated = true;
            break;
        }
        s->argv[s->nargv++] = (struct ar_span){e->argvbuf + used, (size_t)n};
        used += (size_t)n + 1;
    }
    if (s->nargv)
        s->late |= AR_TP_LATE_ARGV;
}

static const struct sc_info *sc_of(const struct perf_engine *e, const struct task *t)
{
    if (t->nr < 0 || t->nr >= AR_TP_NR_SYSCALLS)
        return NULL;
    const struct sc_info *sc = t->arch == AUDIT_ARCH_I386 ? &e->sc32[t->nr] : &e->sc64[t->nr];
    return sc->known ? sc : NULL;
}

static bool is_exec(const struct task *t)
{
    return t->arch == AUDIT_ARCH_X86_64 ? t->nr == 59 || t->nr == 322
                                        : t->nr == 11 || t->nr == 358;
}

/* Builds and emits one batched sample: returns the emit callback's result
 * (0 when the plan did not match). */
static int sample_build_and_emit(struct perf_engine *e, struct pend *pd)
{
    const struct task *t = &pd->t;
    int64_t ret = pd->ret;
    struct ar_tp_sample s;
    memset(&s, 0, sizeof s);
    s.kind = AR_TP_SYSCALL;
    s.time_ns = t->t_enter;
    s.arch = t->arch;
    s.syscall = t->nr;
    s.exit = ret;
    memcpy(s.args, t->args, sizeof s.args);
    s.pid = t->pid;
    const struct sc_info *sc = sc_of(e, t);

    s.late |= AR_TP_LATE_IDS;
    s.uid = s.euid = s.suid = s.fsuid = s.gid = s.egid = s.sgid = s.fsgid = UINT32_MAX;
    s.auid = s.ses = UINT32_MAX;
    struct proc *p = proc_get(e, t->pid, true);
    if (p) {
        proc_refresh(e, p);
        if (p->st_ok) {
            s.uid = p->ids[0]; s.euid = p->ids[1]; s.suid = p->ids[2]; s.fsuid = p->ids[3];
            s.gid = p->ids[4]; s.egid = p->ids[5]; s.sgid = p->ids[6]; s.fsgid = p->ids[7];
        } else {
            /* Unknown ids are not root's: 4294967295 (audit's "unset"), marked late
             * like every id here: none of them comes from the kernel's record. */
            s.uid = s.euid = s.suid = s.fsuid = s.gid = s.egid = s.sgid = s.fsgid = UINT32_MAX;
            e->n_late_fail++;
        }
        s.ppid = p->ppid ? p->ppid : p->st_ok ? p->st_ppid : 0;
        if (p->auid_ok) {
            s.auid = p->auid;
            s.ses = p->ses;
            s.has_auid = true;
        } else {
            /* Not readable now (gone): has_auid false, nothing invented. */
            s.auid = s.ses = UINT32_MAX;
        }
        s.tty = (struct ar_span){p->tty, p->tty_len};
        if (p->exe_ok) {
            s.exe = (struct ar_span){p->exe, p->exe_len};
            s.late |= AR_TP_LATE_EXE;
        } else if (p->execfn && p->execfn[0] == '/') {
            /* The kernel's exec filename: right unless a symlink or a script. */
            s.exe = (struct ar_span){p->execfn, strlen(p->execfn)};
            s.late |= AR_TP_LATE_EXE;
        }
        if (p->cwd_ok) {
            s.cwd = (struct ar_span){p->cwd, p->cwd_len};
            s.late |= AR_TP_LATE_CWD;
        }
    }
    if (t->comm_known) {
        s.comm = (struct ar_span){t->comm, t->comm_len};
    } else {
        char path[64];
        snprintf(path, sizeof path, "/proc/%u/task/%u/comm", t->pid, t->tid);
        ssize_t n = ar_read_small_file(path, e->comm, sizeof e->comm);
        if (n > 0) {
            if (e->comm[n - 1] == '\n')
                n--;
            s.comm = (struct ar_span){e->comm, (size_t)n};
        }
    }

    if (sc) {
        bool cwd_fresh = false;
        for (unsigned i = 0; i < sc->npath; i++) {
            if (i == 0 && is_exec(t) && t->exec_seen && p && p->execfn) {
                /* Copied by the kernel at exec: not late. */
                s.paths[0] = (struct ar_span){p->execfn, strlen(p->execfn)};
                s.npaths = 1;
                continue;
            }
            ssize_t n = pd->plen[i];
            s.late |= i == 0 ? AR_TP_LATE_PATH0 : AR_TP_LATE_PATH1;
            if (n < 0) {
                e->n_late_fail++;
                n = 0;
            }
            s.paths[i] = (struct ar_span){pd->path[i], (size_t)n};
            s.npaths = i + 1;
            if (n > 0 && pd->path[i][0] != '/' && p && e->need_cwd && !cwd_fresh) {
                /* A relative path is matched against the cwd: read it now, not from
                 * the 250 ms /proc cache, which still held the cwd from before a
                 * chdir (python: chdir, then open("d/f") 0/20 matched). */
                char cp[64];
                snprintf(cp, sizeof cp, "/proc/%u/cwd", p->pid);
                size_t len = 0;
                char *cwd = read_link(cp, &len);
                if (cwd) {
                    free(p->cwd);
                    p->cwd = cwd;
                    p->cwd_len = len;
                    p->cwd_ok = true;
                    s.cwd = (struct ar_span){p->cwd, p->cwd_len};
                    s.late |= AR_TP_LATE_CWD;
                }
                cwd_fresh = true;
            }
        }
        if (sc->sa_arg >= 0 && sc->salen_arg >= 0 && ret >= 0) {
            uint64_t len = t->args[sc->salen_arg];
            if (sc->salen_is_ptr) {
                int32_t l = 0;
                len = read_user(t->pid, len, &l, 4) == 4 && l > 0 ? (uint64_t)l : 0;
            }
            if (len > SOCKADDR_MAX)
                len = SOCKADDR_MAX;
            if (len && read_user(t->pid, t->args[sc->sa_arg], e->sockaddr, len) == (ssize_t)len) {
                s.sockaddr = (struct ar_span){(const char *)e->sockaddr, len};
                s.late |= AR_TP_LATE_SOCKADDR;
            } else if (len) {
                e->n_late_fail++;
            }
        }
        if (sc->argv_arg >= 0)
            argv_read(e, &s, t, sc);
    }
    int rule = ar_tp_plan_match(e->plan, &s);
    if (rule < 0)
        return 0;
    s.rule = rule;
    int r = e->emit(&s, e->userdata);
    if (r >= 0)
        e->n_emitted++;
    return r < 0 ? r : 1;
}

/* The path arguments of the batch: per process, one process_vm_readv of the
 * first CHUNK bytes (up to the page end) of every path; an element that fails
 * is read alone and the batch goes on after it; a string longer than its chunk
 * is finished alone. */
struct pref {
    uint32_t pid;
    uint16_t slot;
    uint8_t arg;
    uint16_t len;
};

static int pref_cmp(const void *a, const void *b)
{
    const struct pref *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return x->slot != y->slot ? (x->slot < y->slot ? -1 : 1) : x->arg - y->arg;
}

static void batch_read_paths(struct perf_engine *e, unsigned from)
{
    static struct pref refs[BATCH * AR_TP_MAX_PATHS];
    unsigned nref = 0;
    for (unsigned i = from; i < e->nbatch; i++) {
        struct pend *pd = &e->batch[i];
        const struct sc_info *sc = sc_of(e, &pd->t);
        for (unsigned j = 0; j < AR_TP_MAX_PATHS; j++)
            pd->plen[j] = -EFAULT;
        if (!sc)
            continue;
        for (unsigned j = 0; j < sc->npath; j++) {
            uint64_t a = pd->t.args[sc->path_arg[j]];
            if (!a || (j == 0 && is_exec(&pd->t) && pd->t.exec_seen))
                continue;
            size_t chunk = 4096 - (size_t)(a & 4095);
            refs[nref++] = (struct pref){pd->t.pid, (uint16_t)i, (uint8_t)j,
                                         (uint16_t)(chunk < CHUNK ? chunk : CHUNK)};
        }
    }
    qsort(refs, nref, sizeof *refs, pref_cmp);
    struct iovec liov[BATCH * AR_TP_MAX_PATHS], riov[BATCH * AR_TP_MAX_PATHS];
    for (unsigned g = 0; g < nref;) {
        unsigned end = g;
        while (end < nref && refs[end].pid == refs[g].pid)
            end++;
        unsigned k = g;
        while (k < end) {
            unsigned n = 0;
            for (unsigned q = k; q < end; q++, n++) {
                struct pend *pd = &e->batch[refs[q].slot];
                liov[n] = (struct iovec){pd->path[refs[q].arg], refs[q].len};
                riov[n] = (struct iovec){
                    (void *)(uintptr_t)pd->t.args[sc_of(e, &pd->t)->path_arg[refs[q].arg]],
                    refs[q].len};
            }
            ssize_t r = process_vm_readv((pid_t)refs[g].pid, liov, n, riov, n, 0);
            if (r < 0 && errno == ESRCH)
                break; /* gone: every path of it stays unread */
            if (r < 0)
                r = 0;
            /* Whole elements first; the first short one is read alone. */
            while (k < end && (size_t)r >= refs[k].len) {
                struct pend *pd = &e->batch[refs[k].slot];
                char *buf = pd->path[refs[k].arg];
                r -= refs[k].len;
                char *z = memchr(buf, '\0', refs[k].len);
                if (z) {
                    pd->plen[refs[k].arg] = z - buf;
                } else {
                    uint64_t addr = pd->t.args[sc_of(e, &pd->t)->path_arg[refs[k].arg]];
                    ssize_t m = read_user_str(pd->t.pid, addr + refs[k].len, buf + refs[k].len,
                                              STR_MAX - refs[k].len);
                    pd->plen[refs[k].arg] = m < 0 ? m : (ssize_t)refs[k].len + m;
                }
                k++;
            }
            if (k < end) {
                struct pend *pd = &e->batch[refs[k].slot];
                uint64_t addr = pd->t.args[sc_of(e, &pd->t)->path_arg[refs[k].arg]];
                pd->plen[refs[k].arg] =
                    read_user_str(pd->t.pid, addr, pd->path[refs[k].arg], STR_MAX);
                k++;
            }
        }
        g = end;
    }
}

/* Reads and emits what the batch holds. Returns < 0 when emit asked to stop
 * (the rest stays for the next consume). */
static int batch_flush(struct perf_engine *e, int *emitted)
{
    if (e->batch_read < e->nbatch) {
        batch_read_paths(e, e->batch_read);
        e->batch_read = e->nbatch;
    }
    while (e->batch_done < e->nbatch) {
        int r = sample_build_and_emit(e, &e->batch[e->batch_done]);
        if (r < 0)
            return r;
        e->batch_done++;
        *emitted += r;
    }
    e->nbatch = e->batch_read = e->batch_done = 0;
    return 0;
}

/* The caller made room (nbatch < BATCH). */
static int batch_add(struct perf_engine *e, const struct task *t, int64_t ret)
{
    struct pend *pd = &e->batch[e->nbatch++];
    pd->t = *t;
    pd->ret = ret;
    return 0;
}

static int on_sample(struct perf_engine *e, const uint8_t *rec, uint32_t len, int *emitted)
{
    /* header, pid, tid, time, raw size, raw (then the user regs for raw_syscalls) */
    if (len < 8 + 8 + 8 + 4 + 8) {
        e->n_bad++;
        return 0;
    }
    uint32_t pid, tid, rawlen;
    uint64_t time;
    memcpy(&pid, rec + 8, 4);
    memcpy(&tid, rec + 12, 4);
    memcpy(&time, rec + 16, 8);
    memcpy(&rawlen, rec + 24, 4);
    const uint8_t *raw = rec + 28;
    if (rawlen > len - 28 || rawlen < 8) {
        e->n_bad++;
        return 0;
    }
    e->n_samples++;
    if (pid == e->self_pid) {
        e->n_self++;
        return 0;
    }
    time += (uint64_t)e->clock_offset;
    uint16_t type;
    memcpy(&type, raw, 2);
    unsigned idx = e->ev_by_id[type];
    if (!idx) {
        e->n_bad++;
        return 0;
    }
    const struct ev *ev = &e->evs[idx - 1];
    switch (ev->kind) {
    case EV_SYS_ENTER:
    case EV_RAW_ENTER: {
        struct task *t = task_get(e, tid);
        if (!t)
            return 0;
        if (t->pending) {
            /* The previous syscall's exit never came: exit and exit_group end
             * with the thread (PERF_RECORD_EXIT), so this is a sample the
             * kernel dropped without saying (see orphan exits). */
            e->n_stale++;
            e->lost++;
        }
        t->pid = pid;
        t->touched = time;
        t->pending = true;
        t->exec_seen = false;
        t->t_enter = time;
        const struct sc_info *sc;
        if (ev->kind == EV_SYS_ENTER) {
            t->arch = AUDIT_ARCH_X86_64;
            t->nr = ev->nr;
            sc = &e->sc64[ev->nr];
            for (unsigned i = 0; i < 6; i++)
                t->args[i] = i < sc->nargs ? raw_u(raw, rawlen, sc->arg_off[i], sc->arg_size[i]) : 0;
        } else {
            int64_t nr = raw_s(raw, rawlen, ev->id_off, 8);
            /* The user registers' ABI (after the raw data) tells a 32-bit task. */
            uint32_t after = 28 + rawlen;
            uint64_t abi = 0;
            if (after + 8 <= len)
                memcpy(&abi, rec + after, 8);
            t->arch = abi == PERF_SAMPLE_REGS_ABI_32 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64;
            t->nr = (int32_t)nr;
            for (unsigned i = 0; i < 6; i++)
                t->args[i] = raw_u(raw, rawlen, (uint16_t)(ev->args_off + 8 * i), 8);
        }
        return 0;
    }
    case EV_SYS_EXIT:
    case EV_RAW_EXIT: {
        struct task *t = ht_get(&e->tasks, tid);
        int32_t nr = ev->kind == EV_SYS_EXIT ? ev->nr : (int32_t)raw_s(raw, rawlen, ev->id_off, 8);
        if (t && t->pending && t->nr != nr && ev->kind == EV_RAW_EXIT &&
            (t->arch == AUDIT_ARCH_X86_64 ? t->nr == 15 : t->nr == 119 || t->nr == 173)) {
            /* rt_sigreturn returns into the interrupted context: raw_syscalls
             * reports that context's number (or -1) at its exit. No event. */
            t->pending = false;
            t->touched = time;
            return 0;
        }
        if (nr < 0)
            return 0;
        if (!t || !t->pending || t->nr != nr) {
            /* An exit without its entry. The first of a thread may be a syscall
             * that was in flight when we started; after that the entry was lost
             * in the kernel without a PERF_RECORD_LOST: a BPF program on the same
             * tracepoint that returns 0 suppresses every perf sample of it. */
            e->n_orphan_exit++;
            if (t && t->touched)
                e->lost++;
            else if ((t = task_get(e, tid)) != NULL)
                t->pid = pid;
            if (t) {
                t->touched = time;
                t->pending = false;
            }
            return 0;
        }
        if (e->nbatch == BATCH) {
            int fr = batch_flush(e, emitted);
            if (fr < 0)
                return fr; /* the record stays in the ring for the next consume */
        }
        t->pending = false;
        t->touched = time;
        t->pid = pid;
        return batch_add(e, t, raw_s(raw, rawlen, ev->ret_off, ev->ret_size));
    }
    case EV_EXEC: {
        /* Exec changes what /proc says about the process: the batch first. */
        int fr = batch_flush(e, emitted);
        if (fr < 0)
            return fr;
        uint32_t loc = (uint32_t)raw_u(raw, rawlen, ev->fn_off, 4);
        uint32_t off = loc & 0xffff, flen = loc >> 16;
        uint32_t npid = (uint32_t)raw_u(raw, rawlen, ev->pid_off, 4);
        uint32_t opid = (uint32_t)raw_u(raw, rawlen, ev->oldpid_off, 4);
        if (off + flen > rawlen || flen == 0) {
            e->n_bad++;
            return 0;
        }
        const char *fn = (const char *)raw + off;
        size_t fl = strnlen(fn, flen);
        struct proc *p = proc_get(e, npid, true);
        if (p) {
            proc_clear_cache(p);
            free(p->execfn);
            p->execfn = strndup(fn, fl);
        }
        if (opid != npid) {
            /* A non-leader thread exec'd: it continues as the leader's pid. */
            struct task *o = ht_get(&e->tasks, opid);
            if (o) {
                struct task copy = *o;
                ht_del(&e->tasks, o);
                struct task *n = task_get(e, npid);
                if (n) {
                    copy.tid = npid;
                    *n = copy;
                }
            }
        }
        struct task *t = ht_get(&e->tasks, npid);
        if (t && t->pending)
            t->exec_seen = true;
        return 0;
    }
    }
    return 0;
}

static int on_record(struct perf_engine *e, const struct perf_event_header *h, int *emitted)
{
    const uint8_t *rec = (const uint8_t *)h;
    e->n_records++;
    if (h->type == PERF_RECORD_SAMPLE)
        return on_sample(e, rec, h->size, emitted);
    /* Side-band records change the state the batch's samples are read with. */
    int fr = batch_flush(e, emitted);
    if (fr < 0)
        return fr;
    switch (h->type) {
    case PERF_RECORD_THROTTLE:
        e->n_throttle++;
        break;
    case PERF_RECORD_LOST_SAMPLES:
        /* Samples the kernel dropped without the ring being full. */
        if (h->size >= 16) {
            uint64_t n;
            memcpy(&n, rec + 8, 8);
            e->lost += n;
        }
        break;
    case PERF_RECORD_LOST:
        if (h->size >= 24) {
            uint64_t n;
            memcpy(&n, rec + 16, 8);
            e->lost += n;
        }
        break;
    case PERF_RECORD_COMM:
        if (h->size >= 16) {
            uint32_t pid, tid;
            memcpy(&pid, rec + 8, 4);
            memcpy(&tid, rec + 12, 4);
            if (pid == e->self_pid)
                break;
            struct task *t = task_get(e, tid);
            if (t) {
                size_t max = h->size - 16 < 16 ? h->size - 16 : 16;
                t->pid = pid;
                t->comm_len = (uint8_t)strnlen((const char *)rec + 16, max);
                memcpy(t->comm, rec + 16, t->comm_len);
                t->comm_known = true;
            }
        }
        break;
    case PERF_RECORD_FORK:
    case PERF_RECORD_EXIT:
        if (h->size >= 24) {
            uint32_t pid, ppid, tid, ptid;
            memcpy(&pid, rec + 8, 4);
            memcpy(&ppid, rec + 12, 4);
            memcpy(&tid, rec + 16, 4);
            memcpy(&ptid, rec + 20, 4);
            if (pid == e->self_pid)
                break;
            if (h->type == PERF_RECORD_FORK) {
                if (pid == tid) {
                    struct proc *p = proc_get(e, pid, true);
                    if (p) {
                        proc_free(p);
                        p->ppid = ppid;
                    }
                }
                /* The child starts with its parent's comm. */
                struct task *parent = ht_get(&e->tasks, ptid);
                if (parent && parent->comm_known) {
                    struct task copy = *parent;
                    struct task *c = task_get(e, tid);
                    if (c) {
                        memcpy(c->comm, copy.comm, sizeof c->comm);
                        c->comm_len = copy.comm_len;
                        c->comm_known = true;
                        c->pid = pid;
                    }
                }
            } else {
                struct task *t = ht_get(&e->tasks, tid);
                if (t) {
                    if (t->pending)
                        e->n_unfinished++;
                    ht_del(&e->tasks, t);
                }
                if (pid == tid) {
                    struct proc *p = ht_get(&e->procs, pid);
                    if (p) {
                        proc_free(p);
                        ht_del(&e->procs, p);
                    }
                }
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

/* ---------------------------------------------------------------- rings */

static uint64_t record_time(const struct perf_event_header *h)
{
    const uint8_t *rec = (const uint8_t *)h;
    uint64_t t = 0;
    if (h->type == PERF_RECORD_SAMPLE) {
        if (h->size >= 24)
            memcpy(&t, rec + 16, 8);
    } else if (h->size >= 8 + 16) {
        /* sample_id_all trailer: pid, tid, time */
        memcpy(&t, rec + h->size - 8, 8);
    }
    return t;
}

/* Points r->cur at the next record (copied when it wraps), NULL at the end. */
static void ring_peek(struct perf_engine *e, struct ring *r)
{
    r->cur = NULL;
    if (r->tail >= r->head)
        return;
    uint64_t off = r->tail & (r->size - 1);
    const struct perf_event_header *h = (const void *)(r->data + off);
    if (h->size < sizeof *h || h->size > r->head - r->tail) {
        /* Corrupt ring: skip to the head. */
        e->n_bad++;
        r->tail = r->head;
        return;
    }
    if (off + h->size > r->size) {
        size_t first = (size_t)(r->size - off);
        memcpy(r->scratch, r->data + off, first);
        memcpy(r->scratch + first, r->data, h->size - first);
        h = (const void *)r->scratch;
    }
    r->cur = h;
    r->cur_time = record_time(h);
}

static int perf_consume(void *p)
{
    struct perf_engine *e = p;
    if (!e)
        return -EINVAL;
    struct epoll_event evs[64];
    e->consume_gen++;
    /* The wall clock's offset now, not at start: it moves (this host's gained 5 ms
     * a second on the monotonic clock), and a consume covers tens of milliseconds. */
    e->clock_offset = ar_tp_mono_to_real();
    /* Resets the epoll fd's readiness (perf's poll is one-shot per wake-up). */
    while (epoll_wait(e->epfd, evs, 64, 0) == 64)
        ;
    int active = 0;
    for (int i = 0; i < e->ncpu; i++) {
        struct ring *r = &e->rings[i];
        r->cur = NULL;
        if (r->fd < 0)
            continue;
        r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
        r->tail = r->meta->data_tail;
        ring_peek(e, r);
        active += r->cur != NULL;
    }
    int emitted = 0, stop = batch_flush(e, &emitted);
    /* Merge the rings by time so that entry, exec and exit of a thread that
     * moved between CPUs come in order. */
    while (active && !stop) {
        struct ring *best = NULL;
        for (int i = 0; i < e->ncpu; i++) {
            struct ring *r = &e->rings[i];
            if (r->cur && (!best || r->cur_time < best->cur_time))
                best = r;
        }
        stop = on_record(e, best->cur, &emitted);
        if (stop < 0)
            break; /* this record was not taken: it stays in the ring */
        best->tail += best->cur->size;
        __atomic_store_n(&best->meta->data_tail, best->tail, __ATOMIC_RELEASE);
        ring_peek(e, best);
        if (!best->cur)
            active--;
    }
    if (stop >= 0)
        stop = batch_flush(e, &emitted);
    return stop < 0 ? stop : emitted;
}

static int perf_fd(void *p)
{
    const struct perf_engine *e = p;
    return e ? e->epfd : -EBADF;
}

/* Tracepoints of ours that also carry a BPF program (someone else's): one that
 * returns 0 suppresses our samples there without a trace. Counted for the
 * diagnostics; the engine interface has no warning channel. */
static unsigned foreign_bpf(const struct perf_engine *e)
{
    unsigned n = 0;
    for (unsigned i = 0; i < e->nevs; i++) {
        /* ids_len 0: only the count. */
        struct perf_event_query_bpf q;
        memset(&q, 0, sizeof q);
        if (e->evs[i].qfd >= 0 && e->evs[i].kind != EV_EXEC &&
            ioctl(e->evs[i].qfd, PERF_EVENT_IOC_QUERY_BPF, &q) == 0 && q.prog_cnt)
            n++;
    }
    return n;
}

static uint64_t perf_lost(void *p)
{
    struct perf_engine *e = p;
    if (!e)
        return 0;
    unsigned fb = foreign_bpf(e);
    if (fb > e->foreign_bpf_max)
        e->foreign_bpf_max = fb;
    return e->lost;
}

static void perf_close(void *p)
{
    struct perf_engine *e = p;
    if (!e)
        return;
    /* Diagnostics for the probe and benches (before the fds go). */
    if (getenv("AR_TP_PERF_STATS")) {
        unsigned fb = foreign_bpf(e);
        if (fb > e->foreign_bpf_max)
            e->foreign_bpf_max = fb;
        fprintf(stderr, "perf engine: records %" PRIu64 " samples %" PRIu64 " emitted %" PRIu64
                " lost %" PRIu64 " self %" PRIu64 " orphan_exit %" PRIu64 " stale %" PRIu64
                " unfinished %" PRIu64 " late_fail %" PRIu64 " bad %" PRIu64 " throttle %" PRIu64
                " kfilter %d foreign_bpf %u\n",
                e->n_records, e->n_samples, e->n_emitted, e->lost, e->n_self, e->n_orphan_exit,
                e->n_stale, e->n_unfinished, e->n_late_fail, e->n_bad, e->n_throttle,
                e->kernel_filter, e->foreign_bpf_max);
    }
    for (unsigned i = 0; i < e->nfds; i++)
        ioctl(e->fds[i], PERF_EVENT_IOC_DISABLE, 0);
    if (e->rings) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        for (int i = 0; i < e->ncpu; i++) {
            struct ring *r = &e->rings[i];
            if (r->base)
                munmap(r->base, r->size + page);
            free(r->scratch);
        }
    }
    for (unsigned i = 0; i < e->nfds; i++)
        close(e->fds[i]);
    if (e->epfd >= 0)
        close(e->epfd);
    tracefs_release(e);
    if (e->procs.slots)
        for (uint32_t i = 0; i < e->procs.cap; i++) {
            struct proc *q = (struct proc *)(void *)ht_key(&e->procs, i);
            if (q->pid)
                proc_free(q);
        }
    free(e->tasks.slots);
    free(e->procs.slots);
    free(e->fds);
    free(e->rings);
    free(e->evs);
    free(e->ev_by_id);
    free(e->batch);
    free(e);
}

const struct ar_tp_engine_ops ar_tp_engine_perf = {
    .name = "perf",
    .open = perf_open_engine,
    .fd = perf_fd,
    .consume = perf_consume,
    .lost = perf_lost,
    .close = perf_close,
    /* Strings come late from /proc/PID/{exe,cwd} of other users' processes, which
     * the kernel lets only a ptrace-capable reader see. */
    .capabilities = (1ull << CAP_PERFMON) | (1ull << CAP_SYS_PTRACE),
};
