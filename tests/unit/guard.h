/* Places bytes so that they end exactly at a page that cannot be read: any read past
 * the end faults at once (the picohttpparser test technique). */
#pragma once
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct guard_buf {
    char *map;
    size_t map_len;
    size_t data_pages;
};

static inline int guard_init(struct guard_buf *g, size_t max_len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    g->data_pages = (max_len + page - 1) / page + 1;
    g->map_len = (g->data_pages + 1) * page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED)
        return -1;
    return mprotect(g->map + g->data_pages * page, page, PROT_NONE);
}

/* Copies [p, p+len) so that it ends at the guard page; returns the copy. */
static inline const char *guard_place(struct guard_buf *g, const char *p, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *dst = g->map + g->data_pages * page - len;
    memcpy(dst, p, len);
    return dst;
}

static inline void guard_free(struct guard_buf *g)
{
    munmap(g->map, g->map_len);
}
