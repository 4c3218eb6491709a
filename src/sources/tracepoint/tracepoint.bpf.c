/* The BPF engine's kernel half (CO-RE). Entry programs store the syscall's time,
 * arguments and user strings (paths copied at entry, before the caller can change
 * them, and before execve replaces the memory they live in) per thread; exit
 * programs evaluate the plan's rules with audit's exit-filter semantics (first
 * matching rule decides, never suppresses) and send one joined record per matching
 * syscall into a ring buffer. Unwanted syscalls cost a map lookup; only matches
 * cost a record. Layout and config: bpf_wire.h. Userspace: bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "bpf_wire.h"
#include "pathwalk.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ARCH_X86_64 0xc000003eu
#define ARCH_I386 0x40000003u
#define AT_FDCWD_ -100
#define TS_COMPAT_ 0x0002u

/* Written by the loader before load (read-only afterwards: the verifier sees the
 * values and drops the code of conditions the plan does not have). */
const volatile __u32 self_tgid = 0;
const volatile __u32 nrules = 0;
const volatile __u32 need_cwd = 0;
const volatile __u32 has_path_rules = 0;
const volatile __u32 raw_all = 0;        /* raw mode: every x86_64 syscall */
const volatile __u64 wake_bytes = 1u << 20;
const volatile __u64 hooked[AR_BPF_NR / 64] = {};
const volatile __u32 sysinfo[AR_BPF_NR] = {};
const volatile struct ar_bpf_rule rules[AR_BPF_MAX_RULES] = {};


#define F_P0_OK (1u << 0)
#define F_P1_OK (1u << 1)
#define F_SA_OK (1u << 2)
#define F_P0_LATE (1u << 3)
#define F_P1_LATE (1u << 4)
#define F_P0_TRUNC (1u << 5)
#define F_P1_TRUNC (1u << 6)

/* One thread's syscall in flight (kept for the thread's life: no allocation per
 * syscall; deleted at sched_process_exit). */
struct inflight {
    __u64 ts;
    __u64 args[8];
    __s32 nr;
    __u32 arch;
    __u32 active;
    __u32 flags;
    __u32 open_flags;
    __u32 plen[2];
    __u32 salen;
    char path[2][AR_BPF_PATH_CAP];
    __u8 sa[256];
};

struct exe_ent {
    __u64 gen;                   /* when it was filled: tells two fills of one tgid apart */
    __u32 len;
    __u32 trunc;
    char s[AR_BPF_EXE_CAP];
};

/* What a record's process context is made of (struct ar_bpf_ctx): when all of it
 * equals the last context this CPU sent, the record goes without one. */
struct ctx_key {
    __u64 exe_gen;
    __u32 tgid, ppid, ids[8], auid, ses, has_auid, pad;
    char comm[16];
};

#define DATA_MASK 32767
#define DATA_SIZE (32768 + 16384 + 64)
#define JOIN_MAX 264

struct join {
    __u32 len;
    __u32 valid;
    char s[JOIN_MAX + 280];
};

struct scratch {
    __u64 vals[AR_BPF_F_COUNT + 6];
    struct join j[2];
    struct exe_ent exe;
    struct ar_walk w;
    struct ctx_key cur, last;    /* last: what the reader has for this CPU */
    __u32 last_ok;
    __u64 last_args[4];
    __u32 last_args_ok;
    __u32 opaque;                /* see opaque() */
    __u32 last_cwd_ok, last_cwd_len;
    /* The cwd the reader has for this CPU, where the walk leaves one (ending at
     * WALK_END). Twice the room: the verifier cannot see that a copy to its start
     * ends at WALK_END. */
    char last_cwd[2 * WALK_END];
    struct ar_bpf_rec hdr;
    char data[DATA_SIZE];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, struct inflight);
} inflight SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct inflight);
} zero_tmpl SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct exe_ent);
} exe_cache SEC(".maps");

/* One entry per possible CPU (max_entries set by the loader): per-CPU scratch too
 * large for a per-CPU map (32 KiB). Syscall tracepoint programs run with preemption
 * disabled, so a CPU's entry has one user at a time. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, AR_BPF_C_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20);
} ring SEC(".maps");

static __always_inline void count(__u32 which)
{
    __u64 *c = bpf_map_lookup_elem(&counters, &which);
    if (c)
        *c += 1;
}

/* v, unknown to the verifier: it follows each path with its constants, so the
 * sixteen ways a record's arguments can be sent made sixteen copies of everything
 * after (start-up took 1.36 CPU-s, 0.28 before the record sent only what changed).
 * A value read back from a map is unknown, and the paths' states merge again. */
static __always_inline __u32 opaque(struct scratch *s, __u32 v)
{
    *(volatile __u32 *)&s->opaque = v;
    return *(volatile __u32 *)&s->opaque;
}

/* ---- entry ---- */

static __always_inline void copy_path(struct inflight *e, int i, const void *p)
{
    long n;
    if (!p)
        return;
    if (i == 0) {
        n = bpf_probe_read_user_str(e->path[0], AR_BPF_PATH_CAP, p);
        if (n > 0) {
            e->plen[0] = n - 1;
            e->flags |= F_P0_OK | (n == AR_BPF_PATH_CAP ? F_P0_TRUNC : 0);
        }
    } else {
        n = bpf_probe_read_user_str(e->path[1], AR_BPF_PATH_CAP, p);
        if (n > 0) {
            e->plen[1] = n - 1;
            e->flags |= F_P1_OK | (n == AR_BPF_PATH_CAP ? F_P1_TRUNC : 0);
        }
    }
}

static __always_inline void copy_sa(struct inflight *e, const void *p, __u64 len)
{
    if (!p || len == 0)
        return;
    if (len > AR_BPF_SA_CAP)
        len = AR_BPF_SA_CAP;
    if (bpf_probe_read_user(e->sa, bound(len, 255), p) == 0) {
        e->salen = len;
        e->flags |= F_SA_OK;
    }
}

static __always_inline int do_enter(__s32 nr, __u32 arch, const __u64 *a)
{
    __u64 pt = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)pt, zero = 0;
    if ((__u32)(pt >> 32) == self_tgid)
        return 0;
    struct inflight *e = bpf_map_lookup_elem(&inflight, &tid);
    if (!e) {
        struct inflight *t = bpf_map_lookup_elem(&zero_tmpl, &zero);
        if (!t)
            return 0;
        if (bpf_map_update_elem(&inflight, &tid, t, BPF_NOEXIST)) {
            count(AR_BPF_C_NO_SLOT);
            return 0;
        }
        e = bpf_map_lookup_elem(&inflight, &tid);
        if (!e)
            return 0;
    }
    e->ts = bpf_ktime_get_ns();
#pragma unroll
    for (int i = 0; i < 6; i++)
        e->args[i] = a[i];
    e->nr = nr;
    e->arch = arch;
    e->flags = 0;
    e->plen[0] = e->plen[1] = 0;
    e->salen = 0;
    e->open_flags = 0;
    e->active = 1;
    if (arch != ARCH_X86_64 || nr < 0 || nr >= AR_BPF_NR)
        return 0;
    __u32 si = sysinfo[bound(nr, AR_BPF_NR - 1)];
    __u32 p0 = AR_BPF_SI_P0(si), p1 = AR_BPF_SI_P1(si), o = AR_BPF_SI_OPEN(si);
    if (p0 != AR_BPF_SI_NONE)
        copy_path(e, 0, (const void *)e->args[p0 & 7]);
    if (p1 != AR_BPF_SI_NONE)
        copy_path(e, 1, (const void *)e->args[p1 & 7]);
    if (o == 1)
        e->open_flags = e->args[1];
    else if (o == 2)
        e->open_flags = e->args[2];
    if (AR_BPF_SI_SA(si) == 1)
        copy_sa(e, (const void *)e->args[1], e->args[2]);
    return 0;
}

/* ---- paths from dentries ---- */

static __always_inline __u32 walk_path(struct scratch *s, struct dentry *d, struct vfsmount *vm,
                                       struct dentry *root_d, struct vfsmount *root_m,
                                       __u32 *trunc)
{
    __u32 pos = ar_walk_path(&s->w, (__u64)d, (__u64)vm, (__u64)root_d, (__u64)root_m);
    *trunc = s->w.ws.trunc;
    return pos < WALK_END ? pos : WALK_END - 1;
}

/* The task's cwd (probe reads: the walk takes its pointers as numbers). */
static __always_inline __u32 walk_cwd(struct scratch *s, struct task_struct *t, __u32 *trunc)
{
    struct path pwd = BPF_CORE_READ(t, fs, pwd), root = BPF_CORE_READ(t, fs, root);
    return walk_path(s, pwd.dentry, pwd.mnt, root.dentry, root.mnt, trunc);
}

/* Whether the cwd just walked, s->w.buf [pos, WALK_END), is the one the reader has
 * for this CPU (s->last_cwd, at the same place). Global: verified once on its own,
 * not once per path of its caller. */
__attribute__((noinline)) int ar_same_cwd(struct scratch *s, __u32 pos)
{
    if (!s || pos >= WALK_END || !s->last_cwd_ok)
        return 0;
    __u32 len = WALK_END - pos;
    if (len != s->last_cwd_len)
        return 0;
    for (__u32 i = 1; i <= WALK_END / 8; i++) {
        if (i * 8 > len)
            break;
        __u32 at = WALK_END - i * 8;
        if (*(const __u64 *)&s->w.buf[at] != *(const __u64 *)&s->last_cwd[at])
            return 0;
    }
    for (__u32 i = 0; i < 7; i++) {
        if (i >= len % 8)
            break;
        __u32 at = (pos + i) & (WALK_END - 1);
        if (s->w.buf[at] != s->last_cwd[at])
            return 0;
    }
    return 1;
}

/* Fills the exe cache entry of the task's thread group from mm->exe_file. */
static __always_inline struct exe_ent *fill_exe(struct scratch *s, struct task_struct *t, __u32 tgid)
{
    struct file *f = BPF_CORE_READ(t, mm, exe_file);
    if (!f)
        return 0;
    struct path p = BPF_CORE_READ(f, f_path);
    struct path root = BPF_CORE_READ(t, fs, root);
    __u32 trunc = 0;
    __u32 pos = walk_path(s, p.dentry, p.mnt, root.dentry, root.mnt, &trunc);
    __u32 n = WALK_END - pos;
    if (n > AR_BPF_EXE_CAP - 1) {
        n = AR_BPF_EXE_CAP - 1;
        trunc = 1;
    }
    s->exe.gen = bpf_ktime_get_ns();
    s->exe.len = n;
    s->exe.trunc = trunc;
    bpf_probe_read_kernel(s->exe.s, bound(n, AR_BPF_EXE_CAP - 1), s->w.buf + bound(pos, WALK_END - 1));
    bpf_map_update_elem(&exe_cache, &tgid, &s->exe, BPF_ANY);
    return bpf_map_lookup_elem(&exe_cache, &tgid);
}

/* ---- rules ---- */

static __always_inline bool cmp_u(__u64 a, __u32 op, __u64 b)
{
    switch (op) {
    case AR_BPF_EQ: return a == b;
    case AR_BPF_NE: return a != b;
    case AR_BPF_LT: return a < b;
    case AR_BPF_LE: return a <= b;
    case AR_BPF_GT: return a > b;
    case AR_BPF_GE: return a >= b;
    case AR_BPF_BIT_MASK: return (a & b) != 0;
    case AR_BPF_BIT_TEST: return (a & b) == b;
    }
    return false;
}

/* audit_comparator: unsigned 32-bit on both sides (as ar_tp_plan_match). */
static __always_inline bool cond_ok(const volatile struct ar_bpf_cond *c, const __u64 *vals)
{
    __u32 f = c->field, op = c->op;
    if (f >= AR_BPF_F_COUNT)
        return false;
    __u32 v = vals[f];
    if (c->vs_field) {
        __u32 f2 = c->field2;
        if (f2 >= AR_BPF_F_COUNT)
            return false;
        return cmp_u(v, op, (__u32)vals[f2]);
    }
    return cmp_u(v, op, (__u32)c->value);
}

static __always_inline bool path_ok(const volatile struct ar_bpf_rule *r, const struct join *j)
{
    __u32 plen = r->path_len;
    if (!j->valid || j->len < plen || plen > AR_BPF_PREFIX)
        return false;
    for (int w = 0; w < (AR_BPF_PREFIX + 8) / 8; w++) {
        if (w * 8 >= plen)
            break;
        __u64 a = *(const __u64 *)&j->s[w * 8];
        __u64 b = *(const volatile __u64 *)&r->path[w * 8];
        __u32 left = plen - w * 8;
        if (left < 8) {
            __u64 mask = (1ull << (left * 8)) - 1;
            a &= mask;
            b &= mask;
        }
        if (a != b)
            return false;
    }
    if (j->len == plen)
        return true;
    if (!r->path_is_dir)
        return false;
    /* Below the dir: the next byte is a '/' (or the dir is "/" itself). */
    return plen == 1 || j->s[plen & 511] == '/';
}

/* Joins a path argument with the cwd (relative to AT_FDCWD only) for matching:
 * the first JOIN_MAX bytes and the full length. */
static __always_inline void build_join(struct join *j, const char *p, __u32 plen, bool at_cwd,
                                       const char *cwd, __u32 cwdlen)
{
    /* No clearing: path_ok reads only bytes below j->len, all written here. */
    j->valid = 0;
    j->len = 0;
    if (plen == 0)
        return;
    if (p[0] == '/') {
        __u32 n = plen < JOIN_MAX ? plen : JOIN_MAX;
        bpf_probe_read_kernel(j->s, bound(n, 511), p);
        j->len = plen;
        j->valid = 1;
        return;
    }
    if (!at_cwd || cwdlen == 0)
        return;
    __u32 n = cwdlen < JOIN_MAX ? cwdlen : JOIN_MAX;
    bpf_probe_read_kernel(j->s, bound(n, 511), cwd);
    __u32 len = cwdlen;
    if (cwdlen != 1) {
        if (len < JOIN_MAX)
            j->s[bound(len, 511)] = '/';
        len++;
    }
    if (len < JOIN_MAX) {
        __u32 m = plen < JOIN_MAX - len ? plen : JOIN_MAX - len;
        bpf_probe_read_kernel(j->s + bound(len, 511), bound(m, 511), p);
    }
    j->len = len + plen;
    j->valid = 1;
}

/* ---- exit ---- */

static __always_inline __u32 clampu(__u64 v, __u32 max)
{
    return v > max ? max : (__u32)v;
}

/* One rule of audit's exit filter against the event in the scratch: 0 no match, 1
 * an "always" rule matched, 2 a "never" rule. A global function: the verifier checks
 * it once, on its own, instead of once per rule and per path through the caller (a
 * 43-rule plan, the shipped set, went past its million instructions otherwise). */
__attribute__((noinline)) int ar_match_rule(struct scratch *s, __u32 i, __u32 evperm, __s32 nr,
                                            __u32 arch)
{
    if (!s || i >= AR_BPF_MAX_RULES)
        return 0;
    const volatile struct ar_bpf_rule *r = &rules[i];
    if (r->arch && r->arch != arch)
        return 0;
    if (!r->all_syscalls) {
        if (nr < 0 || nr >= AR_BPF_NR)
            return 0;
        if (!((r->syscalls[(nr >> 6) & 7] >> (nr & 63)) & 1))
            return 0;
    }
    for (int c = 0; c < AR_BPF_MAX_CONDS; c++) {
        if (c >= r->nconds)
            break;
        if (!cond_ok(&r->conds[c], s->vals))
            return 0;
    }
    if (r->perm && !(r->perm & evperm))
        return 0;
    if (r->path_len && !path_ok(r, &s->j[0]) && !path_ok(r, &s->j[1]))
        return 0;
    return r->never ? 2 : 1;
}

static __always_inline int do_exit(__s64 ret)
{
    __u64 pt = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)pt, tgid = pt >> 32;
    struct inflight *e = bpf_map_lookup_elem(&inflight, &tid);
    if (!e || !e->active)
        return 0;
    e->active = 0;
    __s32 nr = e->nr;
    __u32 arch = e->arch;
    __u32 si = 0;
    if (arch == ARCH_X86_64 && nr >= 0 && nr < AR_BPF_NR)
        si = sysinfo[bound(nr, AR_BPF_NR - 1)];
    else
        si = AR_BPF_SI_MAKE(7, 7, 7, 7, 0, 0, 0, 0);

    /* A copy that failed at entry (page not present) is tried again now. */
    __u32 p0 = AR_BPF_SI_P0(si), p1 = AR_BPF_SI_P1(si);
    if (p0 != AR_BPF_SI_NONE && !(e->flags & F_P0_OK)) {
        copy_path(e, 0, (const void *)e->args[p0 & 7]);
        if (e->flags & F_P0_OK)
            e->flags |= F_P0_LATE;
    }
    if (p1 != AR_BPF_SI_NONE && !(e->flags & F_P1_OK)) {
        copy_path(e, 1, (const void *)e->args[p1 & 7]);
        if (e->flags & F_P1_OK)
            e->flags |= F_P1_LATE;
    }

    __u32 idx = bpf_get_smp_processor_id();
    struct scratch *s = bpf_map_lookup_elem(&scratch, &idx);
    if (!s)
        return 0;

    /* Direct loads through the BTF-typed task (no helper call per field). */
    struct task_struct *t = bpf_get_current_task_btf();
    const struct cred *cr = t->cred;
    __u64 *v = s->vals;
    v[AR_BPF_F_PID] = tgid;
    v[AR_BPF_F_PPID] = t->real_parent->tgid;
    v[AR_BPF_F_UID] = cr->uid.val;
    v[AR_BPF_F_EUID] = cr->euid.val;
    v[AR_BPF_F_SUID] = cr->suid.val;
    v[AR_BPF_F_FSUID] = cr->fsuid.val;
    v[AR_BPF_F_GID] = cr->gid.val;
    v[AR_BPF_F_EGID] = cr->egid.val;
    v[AR_BPF_F_SGID] = cr->sgid.val;
    v[AR_BPF_F_FSGID] = cr->fsgid.val;
    __u32 has_auid = 0;
    v[AR_BPF_F_AUID] = 4294967295u;
    v[AR_BPF_F_SES] = 4294967295u;
    if (bpf_core_field_exists(t->loginuid)) {
        v[AR_BPF_F_AUID] = t->loginuid.val;
        v[AR_BPF_F_SES] = t->sessionid;
        has_auid = 1;
    }
    v[AR_BPF_F_EXIT] = ret;
    v[AR_BPF_F_SUCCESS] = (ret < 0 && ret >= -4095) ? 2 : 1;
    v[AR_BPF_F_A0] = e->args[0];
    v[AR_BPF_F_A1] = e->args[1];
    v[AR_BPF_F_A2] = e->args[2];
    v[AR_BPF_F_A3] = e->args[3];

    /* The exe (filled on a thread group's first event: before the cwd, as both use
     * the walk buffer). */
    struct exe_ent *x = bpf_map_lookup_elem(&exe_cache, &tgid);
    if (!x)
        x = fill_exe(s, t, tgid);

    /* The cwd: to join relative paths before matching, and for the record after a
     * match. Walking the dentries is most of an exit's cost, so it is done only
     * when one of those needs it: not for an absolute path no rule wants. */
    __u32 cwdpos = WALK_END, cwdlen = 0, trunc = 0;
    bool walked = false;
    if (has_path_rules) {
        __u32 d0 = AR_BPF_SI_D0(si), d1 = AR_BPF_SI_D1(si);
        bool c0 = d0 == AR_BPF_SI_NONE || (int)e->args[d0 & 7] == AT_FDCWD_;
        bool c1 = d1 == AR_BPF_SI_NONE || (int)e->args[d1 & 7] == AT_FDCWD_;
        bool m0 = (si & AR_BPF_SI_M0) && (e->flags & F_P0_OK);
        bool m1 = (si & AR_BPF_SI_M1) && (e->flags & F_P1_OK);
        bool rel = (m0 && c0 && e->plen[0] && e->path[0][0] != '/') ||
                   (m1 && c1 && e->plen[1] && e->path[1][0] != '/');
        if (rel) {
            cwdpos = walk_cwd(s, t, &trunc);
            cwdlen = WALK_END - cwdpos;
            walked = true;
        }
        const char *cwd = s->w.buf + bound(cwdpos, WALK_END - 1);
        build_join(&s->j[0], e->path[0], m0 ? e->plen[0] : 0, c0, cwd, cwdlen);
        build_join(&s->j[1], e->path[1], m1 ? e->plen[1] : 0, c1, cwd, cwdlen);
    }

    /* Audit's permission classes of this syscall (and its open flags). */
    __u32 evperm = AR_BPF_SI_PERM(si);
    __u32 om = AR_BPF_SI_OPEN(si);
    if (om == 3)
        evperm |= 6;
    else if (om)
        evperm |= (e->open_flags & 3) == 0 ? 4 : (e->open_flags & 3) == 1 ? 2 : 6;

    int rule = -1;
    for (__u32 i = 0; i < AR_BPF_MAX_RULES; i++) {
        if (i >= nrules)
            break;
        int m = ar_match_rule(s, i, evperm, nr, arch);
        if (m) {
            rule = m == 2 ? -2 : (int)i;
            break;
        }
    }
    if (rule < 0)
        return 0;
    if (need_cwd && !walked) {
        cwdpos = walk_cwd(s, t, &trunc);
        cwdlen = WALK_END - cwdpos;
    }

    /* The record. */
    struct ar_bpf_rec *h = &s->hdr;
    char *d = s->data;
    __u32 off = 0, flags = arch == ARCH_I386 ? AR_BPF_R_I386 : 0;
    h->ts = e->ts;
    h->exit = ret;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        if (s->last_args_ok && e->args[i] == s->last_args[i])
            continue;
        flags |= AR_BPF_R_ARG0 << i;
        *(__u64 *)(d + off) = e->args[i];
        off += 8;
    }
    flags = opaque(s, flags);
    off = opaque(s, off) & 63;
    h->nr = nr;
    h->pid = tgid;
    h->rule = rule;
    h->cpu = idx;

    /* The process context, unless this CPU's last record had the same. */
    struct ctx_key *k = &s->cur;
    k->exe_gen = x ? x->gen : 0;
    k->tgid = tgid;
    k->ppid = v[AR_BPF_F_PPID];
#pragma unroll
    for (int i = 0; i < 8; i++)
        k->ids[i] = v[AR_BPF_F_UID + i];
    k->auid = v[AR_BPF_F_AUID];
    k->ses = v[AR_BPF_F_SES];
    k->has_auid = has_auid;
    k->pad = 0;
    bpf_get_current_comm(k->comm, sizeof(k->comm));
    __u64 differ = !s->last_ok;
#pragma unroll
    for (int i = 0; i < sizeof(*k) / 8; i++)
        differ |= ((const __u64 *)k)[i] ^ ((const __u64 *)&s->last)[i];
    __u32 n = 0;
    if (differ) {
        flags |= AR_BPF_R_CTX;
        struct ar_bpf_ctx *c = (struct ar_bpf_ctx *)(d + off);
        c->ppid = k->ppid;
#pragma unroll
        for (int i = 0; i < 8; i++)
            c->ids[i] = k->ids[i];
        c->auid = k->auid;
        c->ses = k->ses;
        c->has_auid = has_auid;
        __builtin_memcpy(c->comm, k->comm, sizeof(c->comm));
        off += sizeof(*c);
        if (x) {
            n = bound(x->len, AR_BPF_EXE_CAP - 1);
            bpf_probe_read_kernel(d + off, n, x->s);
            if (x->trunc)
                flags |= AR_BPF_CUT_EXE << AR_BPF_CUT_SHIFT;
        }
        c->exe_len = n;
        off += n;
    }
    flags = opaque(s, flags);
    off = opaque(s, off);

    n = 0;
    if (need_cwd) {
        if (ar_same_cwd(s, cwdpos)) {
            flags |= AR_BPF_R_CWD_SAME;
        } else {
            n = clampu(cwdlen, AR_BPF_CWD_CAP - 1);
            n = bound(n, AR_BPF_CWD_CAP - 1);
            bpf_probe_read_kernel(d + bound(off, DATA_MASK), n,
                                  s->w.buf + bound(cwdpos, WALK_END - 1));
        }
        if (trunc)
            flags |= AR_BPF_CUT_CWD << AR_BPF_CUT_SHIFT;
        flags = opaque(s, flags);
    }
    h->cwd_len = n;
    off += n;

    n = 0;
    struct tty_struct *tty = t->signal->tty;
    if (tty) {
        long r = bpf_probe_read_kernel_str(d + bound(off, DATA_MASK), AR_BPF_TTY_CAP, tty->name);
        if (r > 1)
            n = r - 1;
    }
    n = bound(n, AR_BPF_TTY_CAP - 1);
    h->tty_len = n;
    off += n;

    n = 0;
    if (p0 != AR_BPF_SI_NONE && (e->flags & F_P0_OK)) {
        n = bound(e->plen[0], AR_BPF_PATH_CAP - 1);
        bpf_probe_read_kernel(d + bound(off, DATA_MASK), n, e->path[0]);
        flags |= AR_BPF_R_PATH0;
        if (e->flags & F_P0_LATE)
            flags |= AR_BPF_R_PATH0_LATE;
    }
    h->path_len[0] = n;
    off += n;
    n = 0;
    if (p1 != AR_BPF_SI_NONE && (e->flags & F_P1_OK)) {
        n = bound(e->plen[1], AR_BPF_PATH_CAP - 1);
        bpf_probe_read_kernel(d + bound(off, DATA_MASK), n, e->path[1]);
        flags |= AR_BPF_R_PATH1;
        if (e->flags & F_P1_LATE)
            flags |= AR_BPF_R_PATH1_LATE;
    }
    h->path_len[1] = n;
    off += n;
    if (e->flags & F_P0_TRUNC)
        flags |= AR_BPF_CUT_PATH0 << AR_BPF_CUT_SHIFT;
    if (e->flags & F_P1_TRUNC)
        flags |= AR_BPF_CUT_PATH1 << AR_BPF_CUT_SHIFT;

    n = 0;
    __u32 sam = AR_BPF_SI_SA(si);
    if (sam == 1 && (e->flags & F_SA_OK)) {
        n = e->salen;
        if (n > AR_BPF_SA_CAP)
            n = AR_BPF_SA_CAP;
        n = bound(n, 255);
        bpf_probe_read_kernel(d + bound(off, DATA_MASK), n, e->sa);
    } else if (sam == 2 && ret >= 0 && e->args[1] && e->args[2]) {
        /* accept: the peer's address is in the caller's buffer now. */
        int l = 0;
        bpf_probe_read_user(&l, sizeof(l), (const void *)e->args[2]);
        if (l > 0) {
            __u32 nn = l > AR_BPF_SA_CAP ? AR_BPF_SA_CAP : (__u32)l;
            n = bound(nn, 255);
            if (bpf_probe_read_user(d + bound(off, DATA_MASK), n, (const void *)e->args[1]))
                n = 0;
            else
                flags |= AR_BPF_R_SA_LATE;
        }
    }
    h->sa_len = n;
    off += n;

    n = 0;
    __u32 ex = AR_BPF_SI_EXEC(si);
    if (ex && ret == 0) {
        /* After a successful exec the old memory is gone; the new stack holds the
         * arguments, just written by the kernel. */
        unsigned long as = t->mm->arg_start;
        unsigned long ae = t->mm->arg_end;
        if (ae > as) {
            __u64 len = ae - as;
            if (len > AR_BPF_ARGV_CAP) {
                len = AR_BPF_ARGV_CAP;
                flags |= AR_BPF_R_ARGV_TRUNC;
            }
            __u32 l32 = bound(len, 16383);
            if (bpf_probe_read_user(d + bound(off, DATA_MASK), l32, (const void *)as) == 0)
                n = l32;
        }
    } else if (ex) {
        const char *const *argv = (const void *)e->args[ex == 1 ? 1 : 2];
        for (int i = 0; i < AR_BPF_MAX_ARGS; i++) {
            const char *ap = 0;
            if (!argv || bpf_probe_read_user(&ap, sizeof(ap), &argv[i]) || !ap)
                break;
            if (n + 1024 > AR_BPF_ARGV_CAP) {
                flags |= AR_BPF_R_ARGV_TRUNC;
                break;
            }
            long r = bpf_probe_read_user_str(d + bound(off + n, DATA_MASK), 1024, ap);
            if (r <= 0)
                break;
            n += r;
            if (i == AR_BPF_MAX_ARGS - 1)
                flags |= AR_BPF_R_ARGV_TRUNC;
        }
    }
    h->argv_len = n;
    off += n;
    h->flags = (__u16)flags;
    h->cut = (__u8)(flags >> AR_BPF_CUT_SHIFT);

    /* Header and data are adjacent in the scratch: one output. */
    __u64 total = sizeof(*h) + bound(off, DATA_MASK);
    if (total > sizeof(*h) + DATA_SIZE)
        total = sizeof(*h) + DATA_SIZE;
    if (bpf_ringbuf_output(&ring, h, total, ar_wake_flag(total, wake_bytes))) {
        count(AR_BPF_C_RING_FULL);
        return 0;
    }
    if (flags & AR_BPF_R_CTX) {
        s->last = *k;
        s->last_ok = 1;
    }
#pragma unroll
    for (int i = 0; i < 4; i++)
        s->last_args[i] = e->args[i];
    s->last_args_ok = 1;
    if (need_cwd && !(flags & AR_BPF_R_CWD_SAME)) {
        __u32 at = bound(cwdpos, WALK_END - 1);
        bpf_probe_read_kernel(s->last_cwd + at, bound(h->cwd_len, AR_BPF_CWD_CAP - 1),
                              s->w.buf + at);
        s->last_cwd_len = h->cwd_len;
        s->last_cwd_ok = 1;
    }
    return 0;
}

/* ---- programs ---- */

/* Per-syscall tracepoints (syscalls:sys_enter_X): one program attached to each. The
 * record is __syscall_nr (int) at 8, the arguments from 16. */
SEC("tracepoint")
int ar_sys_enter(struct trace_event_raw_sys_enter *ctx)
{
    __u64 a[6];
    /* The arguments from the task's user registers, as audit prints them: the
     * tracepoint's record holds only the syscall's own arguments (three for execve),
     * and reading six from it would show whatever follows, kernel addresses too. */
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    /* Direct loads (a trusted BTF pointer): six probe reads cost ~250 ns a call. */
    a[0] = regs->di;
    a[1] = regs->si;
    a[2] = regs->dx;
    a[3] = regs->r10;
    a[4] = regs->r8;
    a[5] = regs->r9;
    do_enter((int)ctx->id, ARCH_X86_64, a);
    /* 1: let the event go on to perf listeners on the same tracepoint (perf trace,
     * another collector's perf engine); 0 would blind them without a trace. */
    return 1;
}

SEC("tracepoint")
int ar_sys_exit(struct trace_event_raw_sys_exit *ctx)
{
    do_exit(ctx->ret);
    return 1;
}

/* raw_syscalls (every syscall, ia32 too): only for plans that need them. */
SEC("tp_btf/sys_enter")
int BPF_PROG(ar_raw_enter, struct pt_regs *regs, long id)
{
    __u64 a[6];
    struct task_struct *t = (struct task_struct *)bpf_get_current_task();
    __u32 st = BPF_CORE_READ(t, thread_info.status);
    if (st & TS_COMPAT_) {
        a[0] = (__u32)BPF_CORE_READ(regs, bx);
        a[1] = (__u32)BPF_CORE_READ(regs, cx);
        a[2] = (__u32)BPF_CORE_READ(regs, dx);
        a[3] = (__u32)BPF_CORE_READ(regs, si);
        a[4] = (__u32)BPF_CORE_READ(regs, di);
        a[5] = (__u32)BPF_CORE_READ(regs, bp);
        return do_enter(id, ARCH_I386, a);
    }
    if (id < 0 || id >= AR_BPF_NR)
        return 0;
    if (!raw_all && !((hooked[(id >> 6) & 7] >> (id & 63)) & 1))
        return 0;
    a[0] = BPF_CORE_READ(regs, di);
    a[1] = BPF_CORE_READ(regs, si);
    a[2] = BPF_CORE_READ(regs, dx);
    a[3] = BPF_CORE_READ(regs, r10);
    a[4] = BPF_CORE_READ(regs, r8);
    a[5] = BPF_CORE_READ(regs, r9);
    return do_enter(id, ARCH_X86_64, a);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ar_raw_exit, struct pt_regs *regs, long ret)
{
    return do_exit(ret);
}

/* exec: the thread may have taken the group leader's id (exec from a thread), the
 * filename is at hand if the entry copy failed, and the exe changed. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(ar_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    __u32 tgid = BPF_CORE_READ(p, tgid), pid = BPF_CORE_READ(p, pid);
    __u32 old = old_pid;
    if (tgid == self_tgid)
        return 0;
    struct inflight *e;
    if (old != pid) {
        e = bpf_map_lookup_elem(&inflight, &old);
        if (e) {
            bpf_map_update_elem(&inflight, &pid, e, BPF_ANY);
            bpf_map_delete_elem(&inflight, &old);
        }
    }
    e = bpf_map_lookup_elem(&inflight, &pid);
    if (e && e->active && !(e->flags & F_P0_OK)) {
        const char *fn = BPF_CORE_READ(bprm, filename);
        long n = bpf_probe_read_kernel_str(e->path[0], AR_BPF_PATH_CAP, fn);
        if (n > 0) {
            e->plen[0] = n - 1;
            e->flags |= F_P0_OK | F_P0_LATE;
        }
    }
    __u32 idx = bpf_get_smp_processor_id();
    struct scratch *s = bpf_map_lookup_elem(&scratch, &idx);
    if (s)
        fill_exe(s, p, tgid);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ar_task_exit, struct task_struct *p)
{
    __u32 tgid = BPF_CORE_READ(p, tgid), pid = BPF_CORE_READ(p, pid);
    bpf_map_delete_elem(&inflight, &pid);
    if (pid == tgid)
        bpf_map_delete_elem(&exe_cache, &tgid);
    return 0;
}
