/* The process feed's kernel half (CO-RE): whole processes' forks, execs and exits
 * from the scheduler's tracepoints into a ring buffer, for the collector's process
 * table whatever source produces the events. Threads are left out (a fork that
 * made a thread; an exit that is not its group's last), and so is the collector
 * itself. Layout: procfeed_wire.h. Userspace: procfeed_bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "procfeed_wire.h"
#include "pathwalk.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Written by the loader before load. */
const volatile __u32 self_tgid = 0;
const volatile __u64 wake_bytes = 1u << 18;

#define HEAD_SIZE (__builtin_offsetof(struct ar_pf_rec, exe))

struct scratch {
    struct ar_walk w;
    struct ar_pf_rec rec;
};

/* Tracepoint programs run with preemption off: a CPU's entry has one user. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, AR_PF_C_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 20);
} ring SEC(".maps");

static __always_inline void ring_full(void)
{
    __u32 k = AR_PF_C_RING_FULL;
    __u64 *c = bpf_map_lookup_elem(&counters, &k);
    if (c)
        *c += 1;
}

/* A fork or exit: the record's head only. */
static __always_inline void send_head(__u32 kind, __u32 pid, __u32 ppid, struct task_struct *t)
{
    struct ar_pf_rec *r = bpf_ringbuf_reserve(&ring, HEAD_SIZE, 0);
    if (!r) {
        ring_full();
        return;
    }
    r->ts = bpf_ktime_get_ns();
    r->kind = kind;
    r->pid = pid;
    r->ppid = ppid;
    r->exe_len = 0;
    r->exe_trunc = 0;
    BPF_CORE_READ_STR_INTO(&r->comm, t, comm);
    bpf_ringbuf_submit(r, ar_wake_flag(HEAD_SIZE, wake_bytes));
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ar_pf_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 pid = BPF_CORE_READ(child, pid), tgid = BPF_CORE_READ(child, tgid);
    if (pid != tgid || BPF_CORE_READ(parent, tgid) == self_tgid)
        return 0; /* a thread, or ours */
    /* The child's parent (CLONE_PARENT makes it the caller's parent). */
    send_head(AR_PF_FORK, tgid, BPF_CORE_READ(child, real_parent, tgid), child);
    return 0;
}

/* After the new image is in place: mm->exe_file is the file audit's exe= names
 * (symlinks resolved), and comm is the new program's. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(ar_pf_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    __u32 tgid = BPF_CORE_READ(p, tgid), zero = 0;
    if (tgid == self_tgid)
        return 0;
    struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
    if (!s)
        return 0;
    struct ar_pf_rec *r = &s->rec;
    r->ts = bpf_ktime_get_ns();
    r->kind = AR_PF_EXEC;
    r->pid = tgid;
    r->ppid = BPF_CORE_READ(p, real_parent, tgid);
    BPF_CORE_READ_STR_INTO(&r->comm, p, comm);
    __u32 n = 0, trunc = 0;
    struct file *f = BPF_CORE_READ(p, mm, exe_file);
    if (f) {
        struct path fp = BPF_CORE_READ(f, f_path), root = BPF_CORE_READ(p, fs, root);
        __u32 pos = ar_walk_path(&s->w, (__u64)fp.dentry, (__u64)fp.mnt, (__u64)root.dentry,
                                 (__u64)root.mnt);
        if (pos >= WALK_END)
            pos = WALK_END - 1;
        trunc = s->w.ws.trunc;
        n = WALK_END - pos;
        if (n > AR_PF_EXE_CAP - 1) {
            n = AR_PF_EXE_CAP - 1;
            trunc = 1;
        }
        bpf_probe_read_kernel(r->exe, bound(n, AR_PF_EXE_CAP - 1),
                              s->w.buf + bound(pos, WALK_END - 1));
    } else {
        long got = bpf_probe_read_kernel_str(r->exe, AR_PF_EXE_CAP, BPF_CORE_READ(bprm, filename));
        n = got > 0 ? (__u32)got - 1 : 0;
    }
    r->exe_len = n;
    r->exe_trunc = trunc;
    if (bpf_ringbuf_output(&ring, r, HEAD_SIZE + bound(n, AR_PF_EXE_CAP - 1),
                           ar_wake_flag(HEAD_SIZE + n, wake_bytes)))
        ring_full();
    return 0;
}

/* Every thread's exit passes here; the process ends with the last one (its
 * signal->live dropped to 0 before the tracepoint). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(ar_pf_exit, struct task_struct *p)
{
    __u32 tgid = BPF_CORE_READ(p, tgid);
    if (tgid == self_tgid || BPF_CORE_READ(p, signal, live.counter) != 0)
        return 0;
    send_head(AR_PF_EXIT, tgid, BPF_CORE_READ(p, real_parent, tgid), p);
    return 0;
}
