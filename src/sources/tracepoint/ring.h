/* What the BPF engine (bpf.c) and the process feed (procfeed_bpf.c) share as
 * loaders: the checks before loading, the ring's size, the programs' per-CPU
 * counters, and the reader of a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF).
 * The reader: libbpf's ring_buffer maps the data
 * area twice over, so that a record that wraps reads in one piece, and the kernel
 * populates the whole mapping: a ring cost twice its size in RSS. This one maps it
 * once and copies the rare record that wraps. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define AR_BPF_EPERM_WHY "BPF needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"

/* 0 when the kernel has the BTF that CO-RE programs are relocated against; else
 * -ENOSYS and why. */
int ar_bpf_check_btf(char *why, size_t whylen);
/* The ring map's size for want bytes (0: dflt): the power of two of at least a
 * page that holds it (the kernel's rule for ring maps), at most 1 GiB. */
size_t ar_bpf_ring_size(size_t want, size_t dflt);
/* The sum over ncpus CPUs of a per-CPU array's u64 at key (a program counter); 0
 * when it cannot be read. */
uint64_t ar_bpf_percpu_sum(int map_fd, uint32_t key, int ncpus);

/* Called for each record, in order; data is valid during the call. */
typedef int (*ar_bpf_ring_fn)(void *ctx, void *data, size_t size);

struct ar_bpf_ring;

/* map_fd: the ring map; size: its max_entries (a power of two, page multiple).
 * Returns -errno. */
int ar_bpf_ring_new(int map_fd, size_t size, ar_bpf_ring_fn fn, void *ctx,
                    struct ar_bpf_ring **ret);
/* Becomes readable when the programs force a wake-up (poll it, or on the loop). */
int ar_bpf_ring_fd(const struct ar_bpf_ring *r);
/* Calls fn for every record committed now. Returns how many, or -errno. */
int ar_bpf_ring_consume(struct ar_bpf_ring *r);
/* NULL is fine. */
void ar_bpf_ring_free(struct ar_bpf_ring *r);
