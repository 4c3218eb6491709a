/* A JSON writer on a growable buffer (util/buf.h). Strings are escaped and made
 * valid UTF-8. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/buf.h"
#include "util/span.h"

/* Writes p[0, len) when it is an integer as ar_buf_i64 would print it (optional '-',
 * no leading zero, within int64), without converting it; false otherwise. */
bool ar_json_decimal(struct ar_buf *b, const char *p, size_t len);

enum ar_json_escape {
    AR_JSON_ESCAPE_MINIMAL,  /* RFC 8259: quote, backslash, control characters */
    AR_JSON_ESCAPE_HTML,     /* also < > & as Go's encoding/json does (go-audit) */
};

/* Writes bytes as a quoted JSON string. Bytes that are not valid UTF-8 become
 * U+FFFD; returns false when that happened, so the caller can keep the raw bytes
 * beside it (as hex) and stay lossless. */
bool ar_json_string(struct ar_buf *b, const char *p, size_t len, enum ar_json_escape mode);

/* True when any of the 8 bytes needs escaping or UTF-8 checking in a JSON string:
 * < 0x20, '"', '\\' or >= 0x80. */
static inline bool ar_json_word_needs_care(uint64_t w)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
    uint64_t lt_space = (w - ones * 0x20) & ~w;
    uint64_t zq = (quote - ones) & ~quote, zb = (bslash - ones) & ~bslash;
    return ((lt_space | zq | zb) & highs) != 0 || (w & highs) != 0;
}

/* Copies p[0, len), 1 <= len <= 8, to o when none of its bytes needs care, with
 * overlapping loads and stores instead of a loop: the first, middle and last byte
 * cover every byte of 1-3, two 4-byte words every byte of 4-8. Returns false (and
 * o's bytes are then undefined) when a byte needs care. */
static inline bool ar_json_copy_plain_short(char *o, const char *p, size_t len)
{
    if (len < 4) {
        unsigned char c0 = (unsigned char)p[0], c1 = (unsigned char)p[len / 2],
                      c2 = (unsigned char)p[len - 1];
        if (ar_json_word_needs_care(c0 | (uint64_t)c1 << 8 | (uint64_t)c2 << 16 |
                                    UINT64_C(0x6161616161) << 24))
            return false;
        o[0] = (char)c0;
        o[len / 2] = (char)c1;
        o[len - 1] = (char)c2;
        return true;
    }
    uint32_t lo, hi;
    memcpy(&lo, p, 4);
    memcpy(&hi, p + len - 4, 4);
    if (ar_json_word_needs_care((uint64_t)lo | (uint64_t)hi << 32))
        return false;
    memcpy(o, &lo, 4);
    memcpy(o + len - 4, &hi, 4);
    return true;
}

/* ar_json_key for any key (escaping). */
void ar_json_key_any(struct ar_buf *b, const char *p, size_t len);

/* Writes `"key":`; keys are escaped like any string. Inline because it runs once per
 * field: a plain key of up to 16 bytes is checked and copied with overlapping loads
 * and stores. */
static inline void ar_json_key(struct ar_buf *b, const char *p, size_t len)
{
    if (len >= 1 && len <= 16 && ar_buf_reserve(b, 19)) {
        char *o = b->p + b->len;
        bool plain;
        if (len <= 8) {
            plain = ar_json_copy_plain_short(o + 1, p, len);
        } else {
            uint64_t lo, hi;
            memcpy(&lo, p, 8);
            memcpy(&hi, p + len - 8, 8);
            plain = !ar_json_word_needs_care(lo) && !ar_json_word_needs_care(hi);
            if (plain) {
                memcpy(o + 1, &lo, 8);
                memcpy(o + 1 + len - 8, &hi, 8);
            }
        }
        if (plain) {
            o[0] = '"';
            o[len + 1] = '"';
            o[len + 2] = ':';
            b->len += len + 3;
            return;
        }
    }
    ar_json_key_any(b, p, len);
}

/* Writes bytes as lowercase hex inside quotes. */
void ar_json_hex(struct ar_buf *b, const unsigned char *p, size_t len);

/* True when [p, p+len) is valid UTF-8 (no overlongs, no surrogates). */
bool ar_utf8_valid(const char *p, size_t len);
