#include "encode/summary_memo.h"

#include <errno.h>
#include <libaudit.h> /* AUDIT_SYSCALL; header only, never linked */
#include <stdlib.h>
#include <string.h>

#include "encode/summary.h"

/* Two ways per set like the record memo; the bench log's 68,249 events have about
 * 740 shapes, a few dozen of them recurring at any time. */
#define SLOTS 256
#define LIFE_MAX 4 /* a hot entry outlives this many events that would take its slot */
#define MAX_SHAPE 1024
#define MAX_HEAD 32 /* head fields: bits of a mask */
#define MAX_READ 64 /* a value the normalizer read (an argument) */

struct summary_entry {
    uint64_t hash; /* 0: empty */
    /* The shape (shape_len bytes), then for each head field in read_mask its value's
     * length (2 bytes) and bytes. */
    struct ar_memo_bytes key;
    uint32_t shape_len;
    uint32_t read_mask;
    /* The members less the two live parts, which go at exit_at and pids_at. */
    struct ar_memo_bytes out;
    uint32_t exit_at, pids_at;
    uint32_t arch;
    bool success;
    uint8_t life;
    uint64_t gen;
    uint64_t invalid_utf8; /* what writing the members added to stats.invalid_utf8 */
};

struct ar_summary_memo {
    struct summary_entry slot[SLOTS];
};

int ar_summary_memo_new(struct ar_summary_memo **ret)
{
    *ret = calloc(1, sizeof(**ret));
    return *ret ? 0 : -ENOMEM;
}

void ar_summary_memo_free(struct ar_summary_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < SLOTS; i++) {
        free(m->slot[i].key.p);
        free(m->slot[i].out.p);
    }
    free(m);
}

struct shape {
    char bytes[MAX_SHAPE];
    size_t len;
    const struct ar_field *head; /* the SYSCALL record's own fields */
    const struct ar_field_info *head_info;
    uint32_t head_n;
    uint32_t holes; /* head fields whose values are not in bytes */
};

/* The fields whose values the members take only at the live places, or that the
 * normalizer reads only for some syscalls (open's flags). */
static bool is_hole(struct ar_span k)
{
    return AR_SPAN_IS(k, "exit") || AR_SPAN_IS(k, "pid") || AR_SPAN_IS(k, "ppid") ||
           (k.len == 2 && k.p[0] == 'a' && k.p[1] >= '0' && k.p[1] <= '3');
}

static bool put(struct shape *sh, const void *p, size_t n)
{
    if (n > MAX_SHAPE - sh->len)
        return false;
    memcpy(sh->bytes + sh->len, p, n);
    sh->len += n;
    return true;
}

/* The event's shape; false when the memo does not keep events like it. The head is
 * taken as its text with the holes' values cut out, and where they were: two heads
 * with the same cut text, the same cuts and as many fields differ only in those
 * values (each ends where the next field's separator starts), so their other fields
 * are the same tokens. */
static bool shape_of(const struct ar_encoder *e, const struct ar_event *ev, struct shape *sh)
{
    if (ev->nrecords == 0 || ev->records[0].type != AUDIT_SYSCALL)
        return false;
    const struct ar_rec_tokens *rt = &e->recs[0];
    if (!rt->tail_entry || rt->head_n > MAX_HEAD || rt->head_n == 0)
        return false;
    sh->len = 0;
    sh->holes = 0;
    sh->head = e->fields + rt->first;
    sh->head_info = e->info + rt->first;
    sh->head_n = rt->head_n;
    uint32_t n = ev->nrecords;
    uint64_t ids[2 + 64];
    if (n > 64)
        return false;
    ids[0] = (uint64_t)n << 32 | sh->head_n;
    ids[1] = rt->tail_entry->stamp;
    for (uint32_t r = 1; r < n; r++) {
        const struct ar_memo_entry *en = e->recs[r].memo_entry;
        uint32_t type = ev->records[r].type;
        /* A record memo entry by its stamp (from 1 on); an empty record (EOE), which
         * the record memo does not keep, by its type. */
        if (type == AUDIT_SYSCALL ||
            (!en && (ar_event_body(ev, r).len || ar_event_enriched(ev, r).len)))
            return false;
        ids[r + 1] = en ? en->stamp : UINT64_C(1) << 63 | type;
    }
    put(sh, ids, (n + 1) * sizeof(ids[0]));
    /* The cuts: for each hole, its index and where its value was. The head ends where
     * the tail's text begins (its tokens may not be in place: lazy). */
    const char *from = rt->body.p,
               *head_end = rt->body.p + rt->body.len - rt->tail_entry->body_len;
    uint32_t cuts[MAX_HEAD];
    size_t ncuts = 0;
    char cut_text[MAX_SHAPE];
    size_t text_len = 0;
    for (uint32_t i = 0; i < sh->head_n; i++) {
        const struct ar_field *f = &sh->head[i];
        if (!is_hole(f->key))
            continue;
        size_t seg = (size_t)(f->value.p - from);
        if (seg > sizeof(cut_text) - text_len)
            return false;
        memcpy(cut_text + text_len, from, seg);
        text_len += seg;
        cuts[ncuts++] = i << 16 | (uint32_t)text_len;
        from = f->value.p + f->value.len;
        sh->holes |= UINT32_C(1) << i;
    }
    size_t rest = (size_t)(head_end - from);
    if (rest > sizeof(cut_text) - text_len)
        return false;
    memcpy(cut_text + text_len, from, rest);
    text_len += rest;
    return put(sh, cuts, ncuts * sizeof(cuts[0])) && put(sh, cut_text, text_len);
}

/* Whether the head's fields in the entry's read_mask have the values it kept. */
static bool reads_match(const struct summary_entry *en, const struct shape *sh)
{
    const char *p = en->key.p + en->shape_len;
    for (uint32_t m = en->read_mask; m; m &= m - 1) {
        const struct ar_field *f = &sh->head[__builtin_ctz(m)];
        uint16_t len;
        memcpy(&len, p, 2);
        if (len != f->value.len || memcmp(p + 2, f->value.p, len) != 0)
            return false;
        p += 2 + len;
    }
    return true;
}

/* The two entries a hash may sit in (as in the record memo). */
static struct summary_entry *set_of(struct ar_summary_memo *m, uint64_t hash)
{
    return &m->slot[hash % (SLOTS / 2) * 2];
}

static struct summary_entry *find(struct ar_summary_memo *m, uint64_t hash,
                                  const struct shape *sh, uint64_t gen)
{
    struct summary_entry *set = set_of(m, hash);
    for (int way = 0; way < 2; way++) {
        struct summary_entry *en = &set[way];
        if (en->hash != hash || en->gen != gen || en->shape_len != sh->len ||
            memcmp(en->key.p, sh->bytes, sh->len) != 0 || !reads_match(en, sh))
            continue;
        if (en->life < LIFE_MAX)
            en->life++;
        return en;
    }
    return NULL;
}

/* The head's first field of a summary name (the one ar_summary_gather picks: the
 * head comes first in the event), or NULL. */
static const struct ar_field *head_field(const struct shape *sh, unsigned name)
{
    for (uint32_t i = 0; i < sh->head_n; i++)
        if (sh->head_info[i].name == name)
            return &sh->head[i];
    return NULL;
}

static bool in_head(const struct shape *sh, const struct ar_field *f)
{
    return !f || (f >= sh->head && f < sh->head + sh->head_n);
}

/* Keeps the members just written at [start, b->len) for the shape. */
static void keep(struct ar_summary_memo *m, uint64_t hash, const struct shape *sh,
                 const struct ar_encoder *e, const struct ar_summary *s, const struct ar_buf *b,
                 size_t start, const struct ar_summary_layout *lay, uint64_t invalid_utf8)
{
    /* The live members must come from the head, and the normalizer must have
     * looked at nothing the shape leaves out but what read_mask keeps. */
    if (b->failed || e->norm->primary != 0 || !in_head(sh, s->by_name[AR_FN_EXIT]) ||
        !in_head(sh, s->by_name[AR_FN_PID]) || !in_head(sh, s->by_name[AR_FN_PPID]))
        return;
    /* The way holding this shape (of another generation or other reads), an empty
     * one, else the one with fewer lives; a hot one loses a life instead. */
    struct summary_entry *set = set_of(m, hash), *en = &set[0];
    if (set[1].hash == hash || (set[0].hash != hash && set[0].hash &&
                                (!set[1].hash || set[1].life < set[0].life)))
        en = &set[1];
    if (en->hash && en->hash != hash && en->life) {
        en->life--;
        return;
    }
    en->hash = 0; /* empty until complete */
    uint32_t read_mask = (uint32_t)(e->norm->primary_read & sh->holes);
    char reads[MAX_HEAD * (2 + MAX_READ)];
    size_t reads_len = 0;
    for (uint32_t mask = read_mask; mask; mask &= mask - 1) {
        const struct ar_field *f = &sh->head[__builtin_ctz(mask)];
        if (f->value.len > MAX_READ)
            return;
        uint16_t len = (uint16_t)f->value.len;
        memcpy(reads + reads_len, &len, 2);
        memcpy(reads + reads_len + 2, f->value.p, len);
        reads_len += 2 + len;
    }
    const struct ar_span key[] = {{sh->bytes, sh->len}, {reads, reads_len}};
    const struct ar_span out[] = {{b->p + start, lay->exit_at - start},
                                  {b->p + lay->exit_end, lay->pids_at - lay->exit_end},
                                  {b->p + lay->pids_end, b->len - lay->pids_end}};
    if (!ar_memo_bytes_set(&en->key, key, 2) || !ar_memo_bytes_set(&en->out, out, 3))
        return;
    en->shape_len = (uint32_t)sh->len;
    en->read_mask = read_mask;
    en->exit_at = (uint32_t)out[0].len;
    en->pids_at = (uint32_t)(out[0].len + out[1].len);
    en->arch = s->arch;
    en->success = lay->success;
    en->life = 0;
    en->gen = ar_idcache_generation(e->ids);
    en->invalid_utf8 = invalid_utf8;
    en->hash = hash;
}

uint32_t ar_summary_memo_json(struct ar_encoder *e, struct ar_summary_memo *m,
                              const struct ar_event *ev, struct ar_buf *b, bool *first)
{
    struct shape sh;
    /* The kept members start with a comma: they follow the event's head. */
    bool shaped = m && !*first && shape_of(e, ev, &sh);
    uint64_t hash = 0;
    if (shaped) {
        hash = ar_memo_hash_bytes(0, sh.bytes, sh.len);
        hash = hash ? hash : 1;
        const struct summary_entry *en = find(m, hash, &sh, ar_idcache_generation(e->ids));
        if (en) {
            ar_buf_put(b, en->out.p, en->exit_at);
            ar_summary_put_exit(b, first, head_field(&sh, AR_FN_EXIT), en->success);
            ar_buf_put(b, en->out.p + en->exit_at, en->pids_at - en->exit_at);
            ar_summary_put_pids(b, first, head_field(&sh, AR_FN_PID), head_field(&sh, AR_FN_PPID));
            ar_buf_put(b, en->out.p + en->pids_at, en->out.len - en->pids_at);
            e->stats.invalid_utf8 += en->invalid_utf8;
            return en->arch;
        }
    }
    struct ar_summary s;
    ar_encoder_fields_all(e);
    ar_summary_gather(e, ev, &s);
    size_t start = b->len;
    uint64_t invalid_before = e->stats.invalid_utf8;
    struct ar_summary_layout lay;
    ar_summary_json(e, ev, &s, b, first, &lay);
    if (shaped)
        keep(m, hash, &sh, e, &s, b, start, &lay, e->stats.invalid_utf8 - invalid_before);
    return s.arch;
}
