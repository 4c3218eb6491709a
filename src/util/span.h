/* A span is a read-only view into a buffer someone else owns: no NUL terminator is
 * assumed and every reader must stay inside [p, p + len). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ar_span {
    const char *p;
    size_t len;
};

#define AR_SPAN_LIT(s) ((struct ar_span){(s), sizeof(s) - 1})
#define AR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline struct ar_span ar_span_make(const char *p, const char *end)
{
    return (struct ar_span){p, (size_t)(end - p)};
}

static inline bool ar_span_eq(struct ar_span s, const char *lit, size_t lit_len)
{
    return s.len == lit_len && memcmp(s.p, lit, lit_len) == 0;
}

#define AR_SPAN_IS(s, lit) ar_span_eq((s), (lit), sizeof(lit) - 1)

static inline bool ar_span_same(struct ar_span a, struct ar_span b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Parses an unsigned decimal with no sign, no leading zeros (except "0") and no
 * overflow; false otherwise, *ret untouched. */
bool ar_span_to_u64(struct ar_span s, uint64_t *ret);

/* Like ar_span_to_u64 with an optional leading '-'; "-0" is rejected so that the
 * number prints back to exactly the same text. */
bool ar_span_to_i64(struct ar_span s, int64_t *ret);

/* Parses hexadecimal digits (no prefix) into a u64; false on empty, non-hex or overflow. */
bool ar_span_hex_to_u64(struct ar_span s, uint64_t *ret);
