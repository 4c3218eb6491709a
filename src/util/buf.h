/* A growable output buffer. Writes never fail one by one: an allocation failure
 * sets `failed` and later writes are dropped, so writers check once per unit of
 * work (an event, a batch). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ar_buf {
    char *p;
    size_t len;
    size_t cap;
    bool failed;
};

void ar_buf_free(struct ar_buf *b);
/* Slow path of ar_buf_reserve: grows the buffer. */
bool ar_buf_grow(struct ar_buf *b, size_t n);

/* Makes room for n more bytes; false (and b->failed) when memory runs out. */
static inline bool ar_buf_reserve(struct ar_buf *b, size_t n)
{
    if (__builtin_expect(b->cap - b->len >= n && !b->failed, 1))
        return true;
    return ar_buf_grow(b, n);
}

static inline void ar_buf_put(struct ar_buf *b, const char *s, size_t n)
{
    /* n == 0 may come with a NULL buffer: memcpy must not see it. */
    if (n == 0 || !ar_buf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void ar_buf_putc(struct ar_buf *b, char c)
{
    if (!ar_buf_reserve(b, 1))
        return;
    b->p[b->len++] = c;
}

#define AR_BUF_LIT(b, lit) ar_buf_put((b), (lit), sizeof(lit) - 1)

void ar_buf_u64(struct ar_buf *b, uint64_t v);
void ar_buf_i64(struct ar_buf *b, int64_t v);
