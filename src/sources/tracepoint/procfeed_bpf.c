/* The process feed's userspace half: loads procfeed.bpf.c (embedded as a bpftool
 * light skeleton: its loader program runs in the kernel, which relocates the CO-RE
 * reads and finds the tp_btf targets in its own BTF, so the collector never holds
 * a parsed copy of /sys/kernel/btf/vmlinux), attaches its three tp_btf programs (no
 * tracefs needed) and decodes the ring's records. libbpf only reads the ring. */
#include "sources/tracepoint/procfeed_bpf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sources/tracepoint/engine.h"
#include "sources/tracepoint/procfeed_wire.h"
#include "sources/tracepoint/ring.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#pragma GCC diagnostic ignored "-Wpointer-arith"
#pragma GCC diagnostic ignored "-Wpedantic"
#include "procfeed.skel.h"
#pragma GCC diagnostic pop

/* A storm of 20,000 processes from 8 spawners (about 8,200 a second on 2 cores)
 * lost none. */
#define DEFAULT_RING (1u << 18)
#define LOG_BYTES (1u << 20)

struct ar_pf_bpf {
    struct ar_pf_bpf_skel *skel;
    struct ar_bpf_ring *ring;
    int ncpus;
    int64_t mono_to_real;
    bool clock_stale; /* mono_to_real is read again before the next record */
    ar_pf_fn fn;
    void *userdata;
};

static int on_record(void *ctx, void *data, size_t size)
{
    struct ar_pf_bpf *f = ctx;
    const struct ar_pf_rec *r = data;
    size_t head = offsetof(struct ar_pf_rec, exe);
    if (size < head || r->kind < AR_PF_FORK || r->kind > AR_PF_EXIT)
        return 0;
    if (f->clock_stale) {
        f->mono_to_real = ar_tp_mono_to_real();
        f->clock_stale = false;
    }
    char comm[sizeof(r->comm) + 1];
    memcpy(comm, r->comm, sizeof(r->comm));
    comm[sizeof(r->comm)] = 0;
    size_t exe_len = r->exe_len;
    if (exe_len > size - head)
        exe_len = size - head;
    struct ar_pf_event ev = {
        .change = (enum ar_pf_change)r->kind,
        .pid = r->pid,
        .ppid = r->ppid,
        .time_ms = (uint64_t)((int64_t)r->ts + f->mono_to_real) / 1000000,
        .exe = r->exe,
        .exe_len = exe_len,
        .exe_truncated = r->exe_trunc != 0,
        .comm = comm,
    };
    f->fn(&ev, f->userdata);
    return 0;
}

void ar_pf_bpf_close(struct ar_pf_bpf *f)
{
    if (!f)
        return;
    ar_bpf_ring_free(f->ring);
    ar_pf_bpf_skel__destroy(f->skel); /* detaches the programs too */
    free(f);
}

int ar_pf_bpf_open(uint32_t self_tgid, size_t ring_bytes, ar_pf_fn fn, void *userdata,
                   char *why, size_t whylen, struct ar_pf_bpf **ret)
{
    int err = ar_bpf_check_btf(why, whylen);
    if (err < 0)
        return err;
    struct ar_pf_bpf *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->fn = fn;
    f->userdata = userdata;
    f->skel = ar_pf_bpf_skel__open();
    if (!f->skel) {
        err = -errno;
        snprintf(why, whylen, "cannot open the embedded BPF object: %s", strerror(-err));
        goto fail;
    }
    size_t sz = ar_bpf_ring_size(ring_bytes, DEFAULT_RING);
    f->skel->rodata->self_tgid = self_tgid;
    f->skel->maps.ring.max_entries = (uint32_t)sz;
    f->ncpus = libbpf_num_possible_cpus();
    f->skel->rodata->wake_bytes = ar_tp_ring_wake_bytes(sz, f->ncpus);
    /* AR_TP_BPF_LOG=1: the verifier's log of the programs, on stderr if refused. */
    char *log = getenv("AR_TP_BPF_LOG") ? calloc(1, LOG_BYTES) : NULL;
    if (log) {
        f->skel->ctx.log_level = 1;
        f->skel->ctx.log_buf = (uint64_t)(uintptr_t)log;
        f->skel->ctx.log_size = LOG_BYTES;
    }
    err = ar_pf_bpf_skel__load(f->skel);
    if (err) {
        err = err < 0 ? err : -errno;
        if (log)
            fprintf(stderr, "%s\n", log);
        if (err == -EPERM)
            snprintf(why, whylen, AR_BPF_EPERM_WHY);
        else
            snprintf(why, whylen, "the kernel refused the BPF programs: %s%s", strerror(-err),
                     log ? "" : " (AR_TP_BPF_LOG=1 shows the verifier's log)");
    }
    free(log);
    if (err)
        goto fail;
    err = ar_pf_bpf_skel__attach(f->skel);
    if (err) {
        err = err < 0 ? err : -errno;
        snprintf(why, whylen, "cannot attach to sched_process_fork/exec/exit: %s",
                 strerror(-err));
        goto fail;
    }
    err = ar_bpf_ring_new(f->skel->maps.ring.map_fd, sz, on_record, f, &f->ring);
    if (err < 0) {
        snprintf(why, whylen, "cannot map the BPF ring buffer: %s", strerror(-err));
        goto fail;
    }
    f->clock_stale = true;
    *ret = f;
    return 0;
fail:
    ar_pf_bpf_close(f);
    return err < 0 ? err : -EINVAL;
}

int ar_pf_bpf_fd(struct ar_pf_bpf *f)
{
    return ar_bpf_ring_fd(f->ring);
}

int ar_pf_bpf_consume(struct ar_pf_bpf *f)
{
    /* The wall clock's offset is read again (it drifts from the monotonic clock),
     * once a consume finds records: this runs before every record a source hands
     * over, and three clock reads there were 6% of the loop's time (perf). */
    f->clock_stale = true;
    return ar_bpf_ring_consume(f->ring);
}

uint64_t ar_pf_bpf_lost(struct ar_pf_bpf *f)
{
    return ar_bpf_percpu_sum(f->skel->maps.counters.map_fd, AR_PF_C_RING_FULL, f->ncpus);
}
