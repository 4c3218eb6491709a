/* The field names an encoder has met: each with its class (audit/fieldclass.h), its
 * JSON member name ready to copy (`,"key":`) and a small id that tells repeated
 * keys apart. A field's name is looked up once per event with two word compares,
 * instead of a search of the class table, an escape check each time it is written
 * and a hash filter for repeated keys. One table per encoder (no locking); keys
 * longer than 16 bytes, keys that need escaping and keys beyond AR_KEYS_MAX take
 * the general path (id 0). Only encode/ includes this. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "audit/fieldclass.h"
#include "util/buf.h"
#include "util/span.h"

#define AR_KEYS_SLOTS 1024 /* a power of two */
#define AR_KEYS_MAX 768    /* names kept, so that probing stays short */
#define AR_KEYS_TEXT 24    /* `,"key":` of up to 16 bytes, room for a fixed-size copy */

struct ar_key {
    uint64_t lo, hi; /* the name's bytes as ar_keys_find loads them */
    uint8_t len;     /* 0: the slot is empty */
    uint8_t text_len;
    struct ar_field_info info;
    char text[AR_KEYS_TEXT]; /* `,"key":` */
};

struct ar_keys {
    struct ar_key slot[AR_KEYS_SLOTS];
    uint32_t n;
};

/* The bytes of a 1-16 byte name in two words, loaded without reading past it (the
 * overlapping loads of ar_json_copy_plain_short and ar_json_key): with the length
 * they tell every such name apart. */
static inline void ar_keys_name_words(const char *p, size_t len, uint64_t *lo, uint64_t *hi)
{
    if (len >= 8) {
        memcpy(lo, p, 8);
        memcpy(hi, p + len - 8, 8);
    } else if (len >= 4) {
        uint32_t a, z;
        memcpy(&a, p, 4);
        memcpy(&z, p + len - 4, 4);
        *lo = (uint64_t)a | (uint64_t)z << 32;
        *hi = 0;
    } else {
        *lo = (uint64_t)(unsigned char)p[0] | (uint64_t)(unsigned char)p[len / 2] << 8 |
              (uint64_t)(unsigned char)p[len - 1] << 16;
        *hi = 0;
    }
}

/* ar_keys_find's slow path: a name not met yet, whose empty slot is i. */
uint16_t ar_keys_add(struct ar_keys *t, uint32_t i, struct ar_span name, uint64_t lo, uint64_t hi,
                     struct ar_field_info *ret_info);

/* The id of a field name (its slot + 1), added when new, with its class in
 * *ret_info; 0 when the name is not kept (then *ret_info is ar_field_info_of's).
 * Inline: it runs once per field. */
static inline uint16_t ar_keys_find(struct ar_keys *t, struct ar_span name,
                                    struct ar_field_info *ret_info)
{
    if (name.len == 0 || name.len > 16) {
        *ret_info = ar_field_info_of(name);
        return 0;
    }
    uint64_t lo, hi;
    ar_keys_name_words(name.p, name.len, &lo, &hi);
    uint64_t h = (lo ^ (hi * UINT64_C(0x9e3779b97f4a7c15)) ^ name.len) * UINT64_C(0xff51afd7ed558ccd);
    for (uint32_t i = (uint32_t)(h >> 54) & (AR_KEYS_SLOTS - 1);; i = (i + 1) & (AR_KEYS_SLOTS - 1)) {
        const struct ar_key *k = &t->slot[i];
        if (k->len == name.len && k->lo == lo && k->hi == hi) {
            *ret_info = k->info;
            return (uint16_t)(i + 1);
        }
        if (!k->len)
            return ar_keys_add(t, i, name, lo, hi, ret_info);
    }
}

/* Writes the member name of a kept key, `,"key":` (without the comma for the first
 * member, as ar_jv_key). */
static inline void ar_keys_put(const struct ar_keys *t, uint16_t id, struct ar_buf *b, bool *first)
{
    const struct ar_key *k = &t->slot[id - 1];
    if (!ar_buf_reserve(b, AR_KEYS_TEXT))
        return;
    size_t skip = *first;
    *first = false;
    /* A fixed-size copy (a few moves, no call); only text_len - skip bytes count. */
    memcpy(b->p + b->len, k->text + skip, AR_KEYS_TEXT - 1);
    b->len += k->text_len - skip;
}
