/* The reader of a BPF ring buffer map (BPF_MAP_TYPE_RINGBUF), for the BPF engine
 * (bpf.c) and the process feed (procfeed_bpf.c). libbpf's ring_buffer maps the data
 * area twice over, so that a record that wraps reads in one piece, and the kernel
 * populates the whole mapping: a ring cost twice its size in RSS. This one maps it
 * once and copies the rare record that wraps. */
#pragma once
#include <stddef.h>

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
