#include "encode/jsonw.h"

#include <stdlib.h>

/* 0: copy as is; 1: needs escaping (ASCII); 2: start of a multi-byte sequence */
static const uint8_t byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Length of the valid UTF-8 sequence at p (2..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    unsigned cp = c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool ar_utf8_valid(const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p, *end = s + len;
    while (s < end) {
        if (*s < 0x80) {
            s++;
            continue;
        }
        size_t n = utf8_seq(s, end);
        if (!n)
            return false;
        s += n;
    }
    return true;
}

/* The common case of ar_json_string, nothing to escape: checks and copies eight
 * bytes at a time, the last 1-7 with one overlapping load (or, in a string shorter
 * than 8, ar_json_copy_plain_short), with no call and no byte loop. Advances *o and
 * *s past what it copied; true when that was all of [*s, end). */
static bool copy_plain(char **o, const unsigned char **s, const unsigned char *end, size_t len)
{
    while (end - *s >= 8) {
        uint64_t w;
        memcpy(&w, *s, 8);
        if (ar_json_word_needs_care(w))
            return false;
        memcpy(*o, &w, 8);
        *o += 8;
        *s += 8;
    }
    size_t rest = (size_t)(end - *s);
    if (rest == 0)
        return true;
    if (len >= 8) {
        /* The string's last 8 bytes: those before *s were checked and copied already. */
        uint64_t w;
        memcpy(&w, end - 8, 8);
        if (ar_json_word_needs_care(w))
            return false;
        memcpy(*o + rest - 8, &w, 8);
    } else if (!ar_json_copy_plain_short(*o, (const char *)*s, rest)) {
        return false;
    }
    *o += rest;
    *s = end;
    return true;
}

/* ar_json_string from s on, once something needs escaping (or in HTML mode): out of
 * line, so that the common case is a leaf with a short prologue. o is the output
 * position matching s; writes the closing quote and sets b->len. */
static __attribute__((noinline)) bool json_string_escaping(struct ar_buf *b, char *o,
                                                           const unsigned char *s,
                                                           const unsigned char *end,
                                                           enum ar_json_escape mode)
{
    static const char hexd[] = "0123456789abcdef";
    bool valid = true;
    while (s < end) {
        const unsigned char *run = s;
        if (mode == AR_JSON_ESCAPE_MINIMAL) {
            /* Eight bytes at a time while none needs escaping. */
            while (end - s >= 8) {
                uint64_t w;
                memcpy(&w, s, 8);
                if (ar_json_word_needs_care(w))
                    break;
                s += 8;
            }
            while (s < end && byte_class[*s] == 0)
                s++;
        } else {
            while (s < end && byte_class[*s] == 0 && *s != '<' && *s != '>' && *s != '&')
                s++;
        }
        memcpy(o, run, (size_t)(s - run));
        o += s - run;
        if (s == end)
            break;
        unsigned c = *s;
        if (c >= 0x80) {
            size_t n = utf8_seq(s, end);
            if (n) {
                memcpy(o, s, n);
                o += n;
                s += n;
            } else {
                memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
                o += 3;
                s++;
                valid = false;
            }
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\t': *o++ = 't'; break;
        case '\r': *o++ = 'r'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
        s++;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return valid;
}

bool ar_json_string(struct ar_buf *b, const char *p, size_t len, enum ar_json_escape mode)
{
    /* Worst case: every byte becomes \u00XX (6 bytes). */
    if (!ar_buf_reserve(b, len * 6 + 2))
        return true;
    char *o = b->p + b->len;
    const unsigned char *s = (const unsigned char *)p, *end = s + len;
    *o++ = '"';
    if (mode != AR_JSON_ESCAPE_MINIMAL || !copy_plain(&o, &s, end, len))
        return json_string_escaping(b, o, s, end, mode);
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return true;
}

void ar_json_key_any(struct ar_buf *b, const char *p, size_t len)
{
    if (!ar_buf_reserve(b, len + 3))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (byte_class[c] != 0) {
            ar_json_string(b, p, len, AR_JSON_ESCAPE_MINIMAL);
            ar_buf_putc(b, ':');
            return;
        }
        *o++ = (char)c;
    }
    *o++ = '"';
    *o++ = ':';
    b->len = (size_t)(o - b->p);
}

bool ar_json_decimal(struct ar_buf *b, const char *p, size_t len)
{
    /* The limits' digits: a 19-digit value is in range when it sorts at or below. */
    static const char max_pos[] = "9223372036854775807", max_neg[] = "9223372036854775808";
    const char *d = p, *limit = max_pos;
    size_t n = len;
    if (n > 0 && *d == '-') {
        d++;
        n--;
        limit = max_neg;
        if (n == 1 && *d == '0')
            return false; /* "-0" is not how a number is printed */
    }
    if (n == 0 || n > 19 || (n > 1 && *d == '0') || (n == 19 && memcmp(d, limit, 19) > 0))
        return false;
    if (!ar_buf_reserve(b, len))
        return true; /* b->failed: the event is dropped whole */
    /* Checked and copied in one pass; b->len moves only when all were digits. */
    char *o = b->p + b->len;
    if (d != p)
        *o++ = '-';
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)(d[i] - '0') > 9)
            return false;
        o[i] = d[i];
    }
    b->len += len;
    return true;
}

void ar_json_hex(struct ar_buf *b, const unsigned char *p, size_t len)
{
    static const char hexd[] = "0123456789abcdef";
    if (!ar_buf_reserve(b, len * 2 + 2))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        *o++ = hexd[p[i] >> 4];
        *o++ = hexd[p[i] & 15];
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
}
