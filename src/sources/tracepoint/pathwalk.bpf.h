/* What the BPF programs share (tracepoint.bpf.c, procfeed.bpf.c): a mask the
 * compiler keeps, the ring's wake-up flag, and the path of a dentry written from the kernel's structures. */
#pragma once

/* x & mask that clang cannot drop (it removes a mask it proves redundant, and the
 * verifier, tracking another register, then sees an unbounded index). */
static __always_inline __u32 bound(__u32 x, __u32 mask)
{
    asm volatile("%0 &= %1" : "+r"(x) : "i"(mask));
    return x;
}

/* Bytes this CPU sent since it last forced a wake-up. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} since_wake SEC(".maps");

/* The wake-up flag for a record of size bytes: sent without one (the reader drains
 * the ring on a short timer) except once per wake_bytes sent on this CPU, which the
 * loader sets to a quarter of the ring shared among the CPUs. Not by the ring's
 * fill level: a forced wake-up is an irq_work raised by an APIC write, and with the
 * reader behind, one per record above the level was 29% of an audited open()'s
 * time in this VM (perf: irq_work_queue -> native_apic_msr_write under
 * bpf_ringbuf_output); and bpf_ringbuf_query reads the consumer's position, a
 * cache line the reader writes on the other CPU (3% of the time). */
static __always_inline __u64 ar_wake_flag(__u64 size, __u64 wake_bytes)
{
    __u32 k = 0;
    __u64 *sent = bpf_map_lookup_elem(&since_wake, &k);
    if (!sent)
        return BPF_RB_NO_WAKEUP;
    *sent += size;
    if (*sent < wake_bytes)
        return BPF_RB_NO_WAKEUP;
    *sent = 0;
    return BPF_RB_FORCE_WAKEUP;
}

#define WALK_END 4096

/* bpf_rdonly_cast (kernel 6.2): a kernel address as a typed pointer, read with plain
 * loads (a probe read is a helper call, ~40 ns each, five per path component).
 * Weak: on older kernels libbpf resolves it to 0 and the walk probe-reads. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define walk_load(type, ptr, field)                                                    \
    (bpf_rdonly_cast ? ((type *)bpf_rdonly_cast((const void *)(ptr),                   \
                                                bpf_core_type_id_kernel(type)))->field \
                     : BPF_CORE_READ((type *)(ptr), field))

struct walkst {
    __u64 d, vm, m;
    __u32 pos, trunc;
};

/* The walk's state and buffer (in a map: see ar_walk_path). */
struct ar_walk {
    struct walkst ws;
    char buf[WALK_END + 256 + 16];
};

/* Writes the path of (dentry, vfsmount) backwards into walk->buf, ending at
 * WALK_END, and returns where it starts; stops at the root given. Sets ws.trunc when
 * cut. The loop's state lives in the scratch map, not in registers: values loaded
 * from a map are unknown to the verifier, so the states of one iteration's paths
 * are equal and pruned (with register state the 48 iterations' branches multiply
 * past the verifier's limit). */
/* A global function: the verifier checks the walk once, not at each of its three
 * call sites (inlined twice on the exit path, it went past the verifier's
 * million instructions). Pointers come as numbers, read through walk_load. */
__attribute__((noinline)) __u32 ar_walk_path(struct ar_walk *walk, __u64 d_, __u64 vm_, __u64 root_d,
                                             __u64 root_m)
{
    if (!walk)
        return WALK_END - 1;
    struct walkst *w = &walk->ws;
    w->pos = WALK_END;
    w->trunc = 0;
    w->d = d_;
    w->vm = vm_;
    w->m = vm_ - bpf_core_field_offset(struct mount, mnt);
    for (int i = 0; i < 48; i++) {
        struct dentry *d = (void *)w->d;
        struct vfsmount *vm = (void *)w->vm;
        struct mount *m = (void *)w->m;
        if ((__u64)d == root_d && (__u64)vm == root_m)
            break;
        struct dentry *mroot = walk_load(struct vfsmount, vm, mnt_root);
        struct dentry *parent = walk_load(struct dentry, d, d_parent);
        if (d == mroot || d == parent) {
            struct mount *mp = walk_load(struct mount, m, mnt_parent);
            if (mp == m || !mp)
                break;
            w->d = (__u64)walk_load(struct mount, m, mnt_mountpoint);
            w->m = (__u64)mp;
            w->vm = (__u64)mp + bpf_core_field_offset(struct mount, mnt);
            continue;
        }
        __u32 len = walk_load(struct dentry, d, d_name.len);
        const unsigned char *name = walk_load(struct dentry, d, d_name.name);
        __u32 pos = w->pos;
        if (len > 255)
            len = 255;
        if (len + 1 > pos || pos > WALK_END) {
            w->trunc = 1;
            break;
        }
        pos -= len;
        bpf_probe_read_kernel(walk->buf + bound(pos, WALK_END - 1), bound(len, 255), name);
        pos -= 1;
        walk->buf[bound(pos, WALK_END - 1)] = '/';
        w->pos = pos;
        w->d = (__u64)parent;
        if (i == 47)
            w->trunc = 1;
    }
    __u32 pos = w->pos;
    if (pos >= WALK_END) {
        pos = WALK_END - 1;
        walk->buf[WALK_END - 1] = '/';
    }
    return pos;
}

