#include "util/line_meta.h"

/* The packed header: len u32, sec u64, serial u32, ms u16, flags u8, source length
 * u8, node length u16; then node, then source. */
#define HEAD 22
#define FLAG_TIME 1u

void ar_line_meta_put(struct ar_buf *b, const struct ar_line_meta *m)
{
    size_t node_len = m->node.len > AR_LINE_META_MAX_NODE ? AR_LINE_META_MAX_NODE : m->node.len;
    size_t source_len = m->source.len > AR_LINE_META_MAX_SOURCE ? AR_LINE_META_MAX_SOURCE
                                                                : m->source.len;
    if (!ar_buf_reserve(b, HEAD + node_len + source_len))
        return;
    char *p = b->p + b->len;
    uint32_t len = (uint32_t)m->len;
    uint16_t nl = (uint16_t)node_len;
    memcpy(p, &len, 4);
    memcpy(p + 4, &m->sec, 8);
    memcpy(p + 12, &m->serial, 4);
    memcpy(p + 16, &m->ms, 2);
    p[18] = (char)(m->has_time ? FLAG_TIME : 0);
    p[19] = (char)(uint8_t)source_len;
    memcpy(p + 20, &nl, 2);
    if (node_len)
        memcpy(p + HEAD, m->node.p, node_len);
    if (source_len)
        memcpy(p + HEAD + node_len, m->source.p, source_len);
    b->len += HEAD + node_len + source_len;
}

bool ar_line_meta_get(const char *p, size_t len, size_t *off, struct ar_line_meta *ret)
{
    if (*off > len || len - *off < HEAD)
        return false;
    const char *h = p + *off;
    uint32_t n;
    uint16_t nl;
    memcpy(&n, h, 4);
    memcpy(&nl, h + 20, 2);
    size_t sl = (uint8_t)h[19];
    if (len - *off - HEAD < (size_t)nl + sl)
        return false;
    ret->len = n;
    memcpy(&ret->sec, h + 4, 8);
    memcpy(&ret->serial, h + 12, 4);
    memcpy(&ret->ms, h + 16, 2);
    ret->has_time = (uint8_t)h[18] & FLAG_TIME;
    ret->node = (struct ar_span){h + HEAD, nl};
    ret->source = (struct ar_span){h + HEAD + nl, sl};
    *off += HEAD + nl + sl;
    return true;
}

bool ar_line_meta_check(const char *meta, size_t meta_len, size_t lines_len)
{
    size_t off = 0, sum = 0;
    struct ar_line_meta m;
    while (ar_line_meta_get(meta, meta_len, &off, &m))
        sum += m.len;
    return off == meta_len && sum == lines_len;
}

const struct ar_line_meta *ar_lines_meta(const struct ar_lines *b, struct ar_lines_cursor *c,
                                         size_t at)
{
    if (!c->valid || at < c->start)
        *c = (struct ar_lines_cursor){.valid = true};
    while (at >= c->end) {
        if (!ar_line_meta_get(b->meta, b->meta_len, &c->meta_off, &c->m))
            return NULL;
        c->start = c->end;
        c->end += c->m.len;
    }
    return &c->m;
}
