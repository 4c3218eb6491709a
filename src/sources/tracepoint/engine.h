/* A tracepoint engine: gets samples of the plan's syscalls out of the kernel. Two
 * exist, one file each: bpf.c (eBPF programs on the syscall tracepoints, strings
 * copied in the kernel, a BPF ring buffer; the default) and perf.c
 * (perf_event_open tracepoints without BPF, strings read late: the fallback for
 * kernels older than 4.7 or where BPF is locked down). The tracepoint source
 * (tracepoint.c) picks one and drives it from the libuv loop; engines know nothing
 * of libuv or the pipeline. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "sources/tracepoint/plan.h"
#include "sources/tracepoint/sample.h"

/* Called per sample from consume(); spans valid during the call. s->rule is the
 * matching rule. A negative return stops consume() and is returned by it. */
typedef int (*ar_tp_sample_fn)(const struct ar_tp_sample *s, void *userdata);

/* The rings when tracepoint_ring is not set, in MiB: the bpf engine's one ring, the
 * perf engine's ring per CPU. settings.c writes its documented default from these. */
#define AR_TP_BPF_RING_MIB 16
#define AR_TP_PERF_RING_MIB 4

struct ar_tp_engine_config {
    size_t ring_bytes;      /* bpf: the ring buffer; perf: per CPU. 0: the defaults above */
    uint32_t self_pid;      /* the collector's tgid: never traced */
};

struct ar_tp_engine_ops {
    const char *name;       /* "bpf", "perf" */
    /* Loads, configures and attaches everything the plan needs. On failure
     * everything is released again and `why` says in words what the kernel or
     * host refused ("BPF is not available: CAP_BPF and CAP_PERFMON (or
     * CAP_SYS_ADMIN) needed", "tracefs: no event syscalls/sys_enter_openat")
     * and -errno is returned (-EPERM, -ENOSYS, -ENOENT...). */
    int (*open)(const struct ar_tp_plan *plan, const struct ar_tp_engine_config *cfg,
                ar_tp_sample_fn emit, void *userdata, char *why, size_t whylen, void **ret);
    /* One fd that becomes readable when samples are waiting (epoll fd). */
    int (*fd)(void *e);
    /* Takes every sample ready now (also those sent without a wake-up), calling
     * emit for each matching one. Returns the number emitted or -errno. */
    int (*consume)(void *e);
    /* Samples lost so far in the kernel (ring full, PERF_RECORD_LOST): cumulative. */
    uint64_t (*lost)(void *e);
    /* Detaches and frees everything: no program, link, map, perf fd or tracefs
     * change is left behind. NULL is fine. */
    void (*close)(void *e);
    /* The capabilities (bits 1 << CAP_*) the engine needs once open: the rest are
     * dropped. */
    uint64_t capabilities;
};

extern const struct ar_tp_engine_ops ar_tp_engine_bpf, ar_tp_engine_perf;

/* CLOCK_REALTIME minus CLOCK_MONOTONIC now, in ns: both engines take the kernel's
 * monotonic time of a syscall and add this (read between two monotonic reads). */
static inline int64_t ar_tp_mono_to_real(void)
{
    struct timespec m0, r, m1;
    clock_gettime(CLOCK_MONOTONIC, &m0);
    clock_gettime(CLOCK_REALTIME, &r);
    clock_gettime(CLOCK_MONOTONIC, &m1);
    int64_t a = (int64_t)m0.tv_sec * 1000000000 + m0.tv_nsec;
    int64_t b = (int64_t)m1.tv_sec * 1000000000 + m1.tv_nsec;
    return (int64_t)r.tv_sec * 1000000000 + r.tv_nsec - (a + (b - a) / 2);
}

/* What each CPU may send to a BPF ring of ring_bytes before it forces a wake-up
 * (ar_wake_flag in pathwalk.bpf.h): a quarter of the ring, shared among the CPUs,
 * so that the records sent without a wake-up never fill it. */
static inline uint64_t ar_tp_ring_wake_bytes(size_t ring_bytes, int ncpus)
{
    uint64_t share = ring_bytes / 4 / (uint64_t)(ncpus > 0 ? ncpus : 1);
    return share > 4096 ? share : 4096;
}
