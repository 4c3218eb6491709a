#include "util/span.h"

bool ar_span_to_u64(struct ar_span s, uint64_t *ret)
{
    if (s.len == 0 || s.len > 20 || (s.len > 1 && s.p[0] == '0'))
        return false;
    uint64_t v = 0;
    /* Up to 19 digits cannot overflow: the check is for the 20th only. */
    size_t safe = s.len < 19 ? s.len : 19;
    for (size_t i = 0; i < safe; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9)
            return false;
        v = v * 10 + d;
    }
    if (s.len == 20) {
        unsigned d = (unsigned char)s.p[19] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *ret = v;
    return true;
}

bool ar_span_to_i64(struct ar_span s, int64_t *ret)
{
    bool neg = s.len > 0 && s.p[0] == '-';
    uint64_t v;
    if (!ar_span_to_u64(neg ? (struct ar_span){s.p + 1, s.len - 1} : s, &v))
        return false;
    if (neg) {
        if (v == 0 || v > (uint64_t)INT64_MAX + 1)
            return false;
        *ret = (int64_t)(0 - v);
    } else {
        if (v > INT64_MAX)
            return false;
        *ret = (int64_t)v;
    }
    return true;
}

bool ar_span_hex_to_u64(struct ar_span s, uint64_t *ret)
{
    if (s.len == 0 || s.len > 16)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return false;
        v = v << 4 | d;
    }
    *ret = v;
    return true;
}
