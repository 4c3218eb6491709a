#include "util/buf.h"

#include <stdlib.h>

void ar_buf_free(struct ar_buf *b)
{
    free(b->p);
    *b = (struct ar_buf){0};
}

bool ar_buf_grow(struct ar_buf *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
        b->failed = true;
        return false;
    }
    b->p = np;
    b->cap = cap;
    return true;
}

void ar_buf_u64(struct ar_buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    ar_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void ar_buf_i64(struct ar_buf *b, int64_t v)
{
    if (v < 0) {
        ar_buf_putc(b, '-');
        ar_buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        ar_buf_u64(b, (uint64_t)v);
    }
}
