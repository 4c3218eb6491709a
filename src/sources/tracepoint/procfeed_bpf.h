/* The process feed's BPF half: the scheduler's process lifecycle tracepoints
 * (sched_process_fork, exec, exit) of whole processes, through a ring buffer of
 * their own (procfeed.bpf.c). Built with the BPF engine (AR_HAVE_BPF); knows
 * nothing of libuv or the process table: the collector's procfeed.c drives it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ar_pf_change { AR_PF_CHANGE_FORK = 1, AR_PF_CHANGE_EXEC, AR_PF_CHANGE_EXIT };

/* One change, valid during the callback. */
struct ar_pf_event {
    enum ar_pf_change change;
    uint32_t pid, ppid;        /* the process (fork: the child) and its parent */
    uint64_t time_ms;          /* wall clock */
    const char *exe;           /* exec: the executable's path (exe_len bytes) */
    size_t exe_len;
    bool exe_truncated;
    const char *comm;          /* NUL-terminated */
};

typedef void (*ar_pf_fn)(const struct ar_pf_event *ev, void *userdata);

struct ar_pf_bpf;

/* Loads and attaches the programs; self_tgid's own changes are left out.
 * ring_bytes 0: 256 KiB. On failure nothing stays loaded, `why` says what the host
 * refused, and -errno is returned (-ENOSYS: no BTF; -EPERM: no CAP_BPF and
 * CAP_PERFMON). */
int ar_pf_bpf_open(uint32_t self_tgid, size_t ring_bytes, ar_pf_fn fn, void *userdata,
                   char *why, size_t whylen, struct ar_pf_bpf **ret);
/* Becomes readable once a CPU has sent its share of a quarter of the ring (records
 * are sent without wake-ups below that). */
int ar_pf_bpf_fd(struct ar_pf_bpf *f);
/* Calls fn for every record in the ring now. Returns how many, or -errno. */
int ar_pf_bpf_consume(struct ar_pf_bpf *f);
/* Records the kernel could not send (ring full), cumulative. */
uint64_t ar_pf_bpf_lost(struct ar_pf_bpf *f);
/* Detaches and frees everything. NULL is fine. */
void ar_pf_bpf_close(struct ar_pf_bpf *f);
