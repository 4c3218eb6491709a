#include "encode/jsonvalue.h"

#include <libaudit.h> /* __AUDIT_ARCH_LE; header only, never linked */
#include <stdio.h>

#include "enrich/decode.h"
#include "audit/tables.h"

void ar_jv_bytes_invalid(struct ar_encoder *e, struct ar_buf *b, bool *first, struct ar_span key,
                         const unsigned char *p, size_t len)
{
    e->stats.invalid_utf8++;
    if (key.p) {
        /* The member name is escaped like any key: it may hold odd bytes too. */
        char name[300];
        size_t n = key.len > 256 ? 256 : key.len;
        memcpy(name, key.p, n);
        memcpy(name + n, ".hex", 4);
        ar_jv_key(b, first, name, n + 4);
        ar_json_hex(b, p, len);
    }
}

void ar_jv_text(struct ar_encoder *e, struct ar_buf *b, bool *first, struct ar_span key,
                const struct ar_field *f)
{
    const unsigned char *p;
    size_t len;
    if (ar_encoder_decode_hex(e, f, &p, &len))
        ar_jv_bytes(e, b, first, key, p, len);
    else
        ar_jv_bytes(e, b, first, key, (const unsigned char *)f->value.p, f->value.len);
}

void ar_jv_mode(struct ar_buf *b, const struct ar_field *f)
{
    uint64_t mode = 0;
    for (size_t i = 0; i < f->value.len; i++) {
        char c = f->value.p[i];
        if (c < '0' || c > '7' || mode > (UINT64_MAX >> 3)) {
            ar_jv_str(b, f->value);
            return;
        }
        mode = mode << 3 | (uint64_t)(c - '0');
    }
    static const char *const types[16] = {
        [001] = "fifo", [002] = "character-special", [004] = "dir",
        [006] = "block-special", [010] = "file", [012] = "link", [014] = "socket",
    };
    /* auparse's style: "file,644", "setuid,file,4755". Written by hand: a PATH record
     * per event makes snprintf show up in profiles. */
    char tmp[64], *o = tmp;
    static const struct {
        uint64_t bit;
        const char *name;
    } specials[] = {{04000, "setuid,"}, {02000, "setgid,"}, {01000, "sticky,"}};
    for (size_t i = 0; i < 3; i++)
        if (mode & specials[i].bit) {
            size_t n = strlen(specials[i].name);
            memcpy(o, specials[i].name, n);
            o += n;
        }
    const char *t = types[(mode >> 12) & 15];
    if (t) {
        size_t n = strlen(t);
        memcpy(o, t, n);
        o += n;
        *o++ = ',';
    }
    if (mode & 07000)
        *o++ = (char)('0' + (mode >> 9 & 7));
    *o++ = (char)('0' + (mode >> 6 & 7));
    *o++ = (char)('0' + (mode >> 3 & 7));
    *o++ = (char)('0' + (mode & 7));
    ar_json_string(b, tmp, (size_t)(o - tmp), AR_JSON_ESCAPE_MINIMAL);
}

/* The record memo's entry of the record f belongs to, with f's index in it. */
static struct ar_memo_entry *memo_entry_of(const struct ar_encoder *e, const struct ar_field *f,
                                           uint32_t *ret_index)
{
    uint32_t at = (uint32_t)(f - e->fields);
    for (uint32_t r = 0; r < e->nrecs; r++) {
        const struct ar_rec_tokens *rt = &e->recs[r];
        if (at >= rt->first && at < rt->first + rt->n) {
            *ret_index = at - rt->first;
            return rt->memo_entry;
        }
    }
    return NULL;
}

/* Notes b[mark, b->len) as the JSON of (f, variant) for the rest of this event (a
 * record's interpretation writes some values twice); full, it just stops noting. */
static void note_in_event(struct ar_encoder *e, const struct ar_buf *b, const struct ar_field *f,
                          uint32_t variant, size_t mark, uint64_t invalid_utf8)
{
    if (e->memo_n < AR_ARRAY_SIZE(e->memo))
        e->memo[e->memo_n++] =
            (struct ar_jv_memo){f, variant, b, mark, b->len - mark, invalid_utf8};
}

/* Copies the JSON written for (f, variant) earlier in this event, or for the same
 * record in an earlier one (the record memo), into b; false when there is none. */
static bool memo_copy(struct ar_encoder *e, struct ar_buf *b, const struct ar_field *f,
                      uint32_t variant)
{
    for (uint32_t i = 0; i < e->memo_n; i++) {
        const struct ar_jv_memo *m = &e->memo[i];
        if (m->f != f || m->variant != variant || m->b != b)
            continue;
        if (ar_buf_reserve(b, m->len)) {
            memcpy(b->p + b->len, b->p + m->off, m->len);
            b->len += m->len;
        }
        e->stats.invalid_utf8 += m->invalid_utf8;
        return true;
    }
    uint32_t index;
    const struct ar_memo_entry *en = memo_entry_of(e, f, &index);
    if (!en || !en->value_valid || en->value_field != index || en->value_variant != variant)
        return false;
    size_t mark = b->len;
    ar_buf_put(b, en->value.p, en->value.len);
    e->stats.invalid_utf8 += en->value_invalid_utf8;
    note_in_event(e, b, f, variant, mark, en->value_invalid_utf8);
    return true;
}

/* Remembers b[mark, b->len) as the JSON of (f, variant), for this event and, when
 * the record memo holds f's record, for the next time it comes. */
static void memo_keep(struct ar_encoder *e, const struct ar_buf *b, const struct ar_field *f,
                      uint32_t variant, size_t mark, uint64_t invalid_before)
{
    uint64_t invalid = e->stats.invalid_utf8 - invalid_before;
    note_in_event(e, b, f, variant, mark, invalid);
    uint32_t index;
    struct ar_memo_entry *en = memo_entry_of(e, f, &index);
    if (!en)
        return;
    struct ar_span piece = {b->p + mark, b->len - mark};
    en->value_valid = !b->failed && ar_memo_bytes_set(&en->value, &piece, 1);
    en->value_field = index;
    en->value_variant = variant;
    en->value_invalid_utf8 = invalid;
}

void ar_jv_proctitle(struct ar_encoder *e, struct ar_buf *b, const struct ar_field *f)
{
    if (memo_copy(e, b, f, 0))
        return;
    size_t mark = b->len;
    uint64_t invalid_before = e->stats.invalid_utf8;
    const unsigned char *p;
    size_t len;
    if (ar_encoder_decode_hex(e, f, &p, &len)) {
        ar_jv_list(e, b, p, len, 0);
    } else {
        ar_buf_putc(b, '[');
        ar_jv_str(b, f->value);
        ar_buf_putc(b, ']');
    }
    memo_keep(e, b, f, 0, mark, invalid_before);
}

void ar_jv_sockaddr(struct ar_encoder *e, struct ar_buf *b, const struct ar_field *f,
                    uint32_t arch)
{
    if (memo_copy(e, b, f, arch))
        return;
    size_t mark = b->len;
    uint64_t invalid_before = e->stats.invalid_utf8;
    const unsigned char *raw = NULL;
    size_t len = 0;
    ar_encoder_decode_hex(e, f, &raw, &len);
    struct ar_sockaddr sa;
    /* AUDIT_ARCH_* values carry a little-endian bit; without an arch, assume ours. */
    bool big_endian = arch ? !(arch & __AUDIT_ARCH_LE) : __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
    if (ar_sockaddr_decode(raw, len, big_endian, &sa) < 0) {
        AR_BUF_LIT(b, "{\"family\":\"unknown\"}");
        memo_keep(e, b, f, arch, mark, invalid_before);
        return;
    }
    bool first = true;
    ar_buf_putc(b, '{');
    AR_JV_KEY(b, &first, "family");
    ar_jv_cstr(b, sa.family);
    if (strcmp(sa.family, "unknown") == 0) {
        AR_JV_KEY(b, &first, "family_nr");
        ar_buf_u64(b, sa.family_nr);
    }
    if (sa.addr[0]) {
        AR_JV_KEY(b, &first, "addr");
        ar_jv_cstr(b, sa.addr);
    }
    if (sa.has_port) {
        AR_JV_KEY(b, &first, "port");
        ar_buf_u64(b, sa.port);
    }
    if (sa.path) {
        AR_JV_KEY(b, &first, "path");
        ar_jv_bytes(e, b, &first, AR_SPAN_LIT("path"), sa.path, sa.path_len);
        if (sa.abstract) {
            AR_JV_KEY(b, &first, "abstract");
            AR_BUF_LIT(b, "true");
        }
    }
    if (sa.family_nr == 16 /* AF_NETLINK */) {
        AR_JV_KEY(b, &first, "nl_pid");
        ar_buf_u64(b, sa.nl_pid);
        AR_JV_KEY(b, &first, "nl_groups");
        ar_buf_u64(b, sa.nl_groups);
    }
    ar_buf_putc(b, '}');
    memo_keep(e, b, f, arch, mark, invalid_before);
}

void ar_jv_list(struct ar_encoder *e, struct ar_buf *b, const unsigned char *p, size_t len,
                unsigned char sep)
{
    ar_buf_putc(b, '[');
    /* A trailing separator does not start another element. */
    while (len > 0 && p[len - 1] == sep)
        len--;
    const unsigned char *end = p + len;
    for (bool first = true;; first = false) {
        const unsigned char *q = len ? memchr(p, sep, (size_t)(end - p)) : NULL;
        if (!q)
            q = end;
        if (!first)
            ar_buf_putc(b, ',');
        bool dummy = false;
        ar_jv_bytes(e, b, &dummy, (struct ar_span){0}, p, (size_t)(q - p));
        if (q == end)
            break;
        p = q + 1;
    }
    ar_buf_putc(b, ']');
}

void ar_jv_type(struct ar_buf *b, uint32_t type)
{
    const char *name = ar_rectype_name(type);
    if (name) {
        ar_buf_putc(b, '"');
        ar_buf_put(b, name, strlen(name));
        ar_buf_putc(b, '"');
    } else {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "\"UNKNOWN[%u]\"", type);
        ar_buf_put(b, tmp, strlen(tmp));
    }
}
