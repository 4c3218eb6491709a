#include "encode/keys.h"

static bool plain_name(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
            return false;
    }
    return true;
}

uint16_t ar_keys_add(struct ar_keys *t, uint32_t i, struct ar_span name, uint64_t lo, uint64_t hi,
                     struct ar_field_info *ret_info)
{
    *ret_info = ar_field_info_of(name);
    if (t->n >= AR_KEYS_MAX || !plain_name(name.p, name.len))
        return 0;
    t->n++;
    struct ar_key *k = &t->slot[i];
    *k = (struct ar_key){.lo = lo, .hi = hi, .len = (uint8_t)name.len,
                         .text_len = (uint8_t)(name.len + 4), .info = *ret_info};
    k->text[0] = ',';
    k->text[1] = '"';
    memcpy(k->text + 2, name.p, name.len);
    k->text[name.len + 2] = '"';
    k->text[name.len + 3] = ':';
    return (uint16_t)(i + 1);
}
