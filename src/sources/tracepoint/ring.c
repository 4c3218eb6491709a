#include "sources/tracepoint/ring.h"

#include <errno.h>
#include <linux/bpf.h> /* BPF_RINGBUF_BUSY_BIT, _DISCARD_BIT, _HDR_SZ */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

int ar_bpf_check_btf(char *why, size_t whylen)
{
    if (access("/sys/kernel/btf/vmlinux", R_OK) == 0)
        return 0;
    snprintf(why, whylen, "the kernel has no BTF (/sys/kernel/btf/vmlinux): CO-RE programs "
                          "cannot load");
    return -ENOSYS;
}

size_t ar_bpf_ring_size(size_t want, size_t dflt)
{
    size_t sz = (size_t)sysconf(_SC_PAGESIZE);
    if (want == 0)
        want = dflt;
    while (sz < want && sz < ((size_t)1 << 30))
        sz <<= 1;
    return sz;
}

uint64_t ar_bpf_percpu_sum(int map_fd, uint32_t key, int ncpus)
{
    uint64_t total = 0;
    uint64_t *vals = ncpus > 0 ? calloc((size_t)ncpus, sizeof(uint64_t)) : NULL;
    if (vals && bpf_map_lookup_elem(map_fd, &key, vals) == 0)
        for (int c = 0; c < ncpus; c++)
            total += vals[c];
    free(vals);
    return total;
}

struct ar_bpf_ring {
    int fd;
    size_t page, size;
    unsigned long *consumer_pos; /* the first page, ours to write */
    unsigned long *producer_pos; /* the second, read only, then the data */
    unsigned char *data;
    unsigned char *copy;         /* a record that wraps, joined */
    size_t copy_cap;
    ar_bpf_ring_fn fn;
    void *ctx;
};

int ar_bpf_ring_new(int map_fd, size_t size, ar_bpf_ring_fn fn, void *ctx,
                    struct ar_bpf_ring **ret)
{
    struct ar_bpf_ring *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->fd = map_fd;
    r->page = (size_t)sysconf(_SC_PAGESIZE);
    r->size = size;
    r->fn = fn;
    r->ctx = ctx;
    if (size == 0 || (size & (size - 1)) != 0 || size % r->page != 0) {
        free(r);
        return -EINVAL;
    }
    void *c = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (c == MAP_FAILED) {
        int err = -errno;
        free(r);
        return err;
    }
    r->consumer_pos = c;
    /* The producer's page and the data once (the kernel offers them twice). */
    void *p = mmap(NULL, r->page + size, PROT_READ, MAP_SHARED, map_fd, (off_t)r->page);
    if (p == MAP_FAILED) {
        int err = -errno;
        munmap(c, r->page);
        free(r);
        return err;
    }
    r->producer_pos = p;
    r->data = (unsigned char *)p + r->page;
    *ret = r;
    return 0;
}

int ar_bpf_ring_fd(const struct ar_bpf_ring *r)
{
    return r->fd;
}

int ar_bpf_ring_consume(struct ar_bpf_ring *r)
{
    const size_t mask = r->size - 1;
    unsigned long cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
    int n = 0;
    for (;;) {
        unsigned long prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
        if (cons >= prod)
            return n;
        while (cons < prod) {
            /* The 8-byte header is 8-byte aligned: it never wraps. */
            uint32_t *hdr = (uint32_t *)(r->data + (cons & mask));
            uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
            if (len & BPF_RINGBUF_BUSY_BIT)
                return n; /* reserved, not yet committed: later */
            uint32_t size = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
            if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
                size_t at = (cons + BPF_RINGBUF_HDR_SZ) & mask;
                void *rec = r->data + at;
                if (at + size > r->size) {
                    if (size > r->copy_cap) {
                        unsigned char *b = realloc(r->copy, size);
                        if (!b)
                            return -ENOMEM;
                        r->copy = b;
                        r->copy_cap = size;
                    }
                    size_t first = r->size - at;
                    memcpy(r->copy, r->data + at, first);
                    memcpy(r->copy + first, r->data, size - first);
                    rec = r->copy;
                }
                int err = r->fn(r->ctx, rec, size);
                if (err < 0)
                    return err;
                n++;
            }
            cons += (BPF_RINGBUF_HDR_SZ + size + 7) & ~(unsigned long)7;
            __atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
        }
    }
}

void ar_bpf_ring_free(struct ar_bpf_ring *r)
{
    if (!r)
        return;
    munmap(r->consumer_pos, r->page);
    munmap(r->producer_pos, r->page + r->size);
    free(r->copy);
    free(r);
}
