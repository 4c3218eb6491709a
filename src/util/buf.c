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
    /* Two digits per division: ids, pids and serials have 4 to 10 digits. */
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    char tmp[20];
    size_t i = sizeof(tmp);
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        memcpy(tmp + i, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        i -= 2;
        memcpy(tmp + i, pairs + 2 * v, 2);
    } else {
        tmp[--i] = (char)('0' + v);
    }
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
