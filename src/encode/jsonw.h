/* A growable output buffer and a JSON writer on top of it. Writes never fail one by
 * one: an allocation failure sets `failed` and later writes are dropped, so encoders
 * check once per event. Strings are escaped and made valid UTF-8. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/span.h"

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

enum ar_json_escape {
    AR_JSON_ESCAPE_MINIMAL,  /* RFC 8259: quote, backslash, control characters */
    AR_JSON_ESCAPE_HTML,     /* also < > & as Go's encoding/json does (go-audit) */
};

/* Writes bytes as a quoted JSON string. Bytes that are not valid UTF-8 become
 * U+FFFD; returns false when that happened, so the caller can keep the raw bytes
 * beside it (as hex) and stay lossless. */
bool ar_json_string(struct ar_buf *b, const char *p, size_t len, enum ar_json_escape mode);

/* Writes `"key":`; keys are escaped like any string. */
void ar_json_key(struct ar_buf *b, const char *p, size_t len);

/* Writes bytes as lowercase hex inside quotes. */
void ar_json_hex(struct ar_buf *b, const unsigned char *p, size_t len);

/* True when [p, p+len) is valid UTF-8 (no overlongs, no surrogates). */
bool ar_utf8_valid(const char *p, size_t len);
