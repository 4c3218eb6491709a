#include "outputs/recent.h"

#include <stdlib.h>
#include <string.h>

void ar_recent_init(struct ar_recent *r, size_t max)
{
    *r = (struct ar_recent){.max = max};
}

void ar_recent_free(struct ar_recent *r)
{
    free(r->ring);
    ar_buf_free(&r->entries);
    *r = (struct ar_recent){.max = r->max};
}

/* The entry at *off of r->entries, its position in *ret_pos; false at the end. */
static bool next_entry(const struct ar_recent *r, size_t *off, uint64_t *ret_pos,
                       struct ar_line_meta *ret)
{
    if (r->entries.len - *off < sizeof(uint64_t))
        return false;
    size_t at = *off + sizeof(uint64_t);
    if (!ar_line_meta_get(r->entries.p, r->entries.len, &at, ret))
        return false;
    memcpy(ret_pos, r->entries.p + *off, sizeof(uint64_t));
    *off = at;
    return true;
}

/* Forgets the entries whose first byte the ring no longer has. */
static void drop_cut_entries(struct ar_recent *r)
{
    uint64_t oldest = r->total - r->len, pos;
    struct ar_line_meta m;
    size_t off = r->entries_start, keep = off;
    while (next_entry(r, &off, &pos, &m) && pos < oldest)
        keep = off;
    r->entries_start = keep;
    if (r->entries_start > r->entries.len / 2) {
        memmove(r->entries.p, r->entries.p + r->entries_start,
                r->entries.len - r->entries_start);
        r->entries.len -= r->entries_start;
        r->entries_start = 0;
    }
}

void ar_recent_add(struct ar_recent *r, const struct ar_lines *b, size_t from, size_t to)
{
    if (!r->ring && !(r->ring = malloc(r->max)))
        return;
    if (from == 0)
        r->cursor = (struct ar_lines_cursor){0};
    /* The entries of the events that start in [from, to). */
    for (size_t at = from; at < to;) {
        const struct ar_line_meta *m = ar_lines_meta(b, &r->cursor, at);
        if (!m)
            break;
        if (r->cursor.start >= from) {
            uint64_t pos = r->total + (r->cursor.start - from);
            ar_buf_put(&r->entries, (const char *)&pos, sizeof(pos));
            ar_line_meta_put(&r->entries, m);
        }
        at = r->cursor.end;
    }
    const char *p = b->p + from;
    size_t n = to - from;
    r->total += n;
    if (n > r->max) {
        p += n - r->max; /* only the tail fits */
        n = r->max;
    }
    while (n) {
        size_t k = r->max - r->head < n ? r->max - r->head : n;
        memcpy(r->ring + r->head, p, k);
        r->head = (r->head + k) % r->max;
        r->len = r->len + k > r->max ? r->max : r->len + k;
        p += k;
        n -= k;
    }
    if (r->entries.failed) {
        /* An event without its entry: keep nothing rather than misdescribe it. */
        r->entries = (struct ar_buf){.p = r->entries.p, .cap = r->entries.cap};
        r->entries_start = 0;
        r->len = 0;
        return;
    }
    drop_cut_entries(r);
}

size_t ar_recent_copy(const struct ar_recent *r, struct ar_buf *lines, struct ar_buf *meta)
{
    uint64_t first = 0, pos;
    struct ar_line_meta m;
    size_t off = r->entries_start;
    if (!next_entry(r, &off, &first, &m) || first >= r->total)
        return 0;
    size_t n = (size_t)(r->total - first);
    size_t lines_mark = lines->len, meta_mark = meta->len;
    /* [first, total) in the ring: it ends at head. */
    size_t from = (r->head + r->max - n) % r->max;
    size_t k = r->max - from < n ? r->max - from : n;
    ar_buf_put(lines, r->ring + from, k);
    ar_buf_put(lines, r->ring, n - k);
    off = r->entries_start;
    while (next_entry(r, &off, &pos, &m)) {
        if (pos + m.len > r->total)
            m.len = (size_t)(r->total - pos); /* the last event, added up to its middle */
        ar_line_meta_put(meta, &m);
    }
    if (lines->failed || meta->failed) {
        lines->len = lines_mark;
        meta->len = meta_mark;
        return 0;
    }
    return n;
}
