#include "encode/record_memo.h"

#include <errno.h>
#include <libaudit.h> /* AUDIT_SYSCALL; header only, never linked */
#include <stdlib.h>

/* A record sits in one of the two ways of set hash % (MEMO_SLOTS / 2): with one
 * place per record, two hot records of one slot took turns missing. 256 holds the
 * repeating records of a busy host's recent processes; at the bounds above a full
 * memo holds at most about 1.5 MB, in practice a few hundred KB. */
#define MEMO_SLOTS 256
#define LIFE_MAX 4 /* a hot entry outlives this many records that would take its slot */

struct ar_record_memo {
    struct ar_memo_entry slot[MEMO_SLOTS];
    uint64_t stamps; /* the last stamp given */
};

int ar_record_memo_new(struct ar_record_memo **ret)
{
    *ret = calloc(1, sizeof(**ret));
    return *ret ? 0 : -ENOMEM;
}

void ar_record_memo_free(struct ar_record_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        struct ar_memo_entry *en = &m->slot[i];
        free(en->block);
        free(en->out.p);
        free(en->value.p);
    }
    free(m);
}

/* One word in: an add and a multiply, so a word costs the chain 4 cycles, not the 8
 * of a multiply, rotate and multiply (the record memo hashes every record but
 * SYSCALL: 4.9% of a one-thread replay's instructions). Each step is a bijection
 * of h, so texts that differ in one word never collide. */
static inline uint64_t step(uint64_t h, uint64_t w)
{
    return (h + w) * UINT64_C(0x9e3779b97f4a7c15);
}

/* Eight bytes at a time; the last 1-7 in one word loaded without reading past. The
 * high bits mixed down at the end: the memos take their set from the low bits. */
uint64_t ar_memo_hash_bytes(uint64_t h, const char *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = step(h, w);
    }
    if (i < len) {
        uint64_t w = 0;
        if (len >= 8)
            memcpy(&w, p + len - 8, 8);
        else
            memcpy(&w, p, len - i);
        h = step(h, w);
    }
    h = step(h, len);
    h ^= h >> 32;
    h *= UINT64_C(0xff51afd7ed558ccd);
    return h ^ (h >> 29);
}

uint64_t ar_record_memo_hash(uint32_t type, struct ar_span body, struct ar_span enr)
{
    if (type == AUDIT_SYSCALL || body.len == 0 || body.len + enr.len > AR_MEMO_MAX_TEXT)
        return 0;
    uint64_t h = ar_memo_hash_bytes(type, body.p, body.len);
    if (enr.len)
        h = ar_memo_hash_bytes(h, enr.p, enr.len);
    return h ? h : 1;
}

/* The two entries a hash may sit in. */
static struct ar_memo_entry *set_of(struct ar_record_memo *m, uint64_t hash)
{
    return &m->slot[hash % (MEMO_SLOTS / 2) * 2];
}

struct ar_memo_entry *ar_record_memo_find(struct ar_record_memo *m, uint64_t hash, uint32_t type,
                                          struct ar_span body, struct ar_span enr,
                                          uint64_t event)
{
    struct ar_memo_entry *set = set_of(m, hash);
    for (int way = 0; way < 2; way++) {
        struct ar_memo_entry *en = &set[way];
        if (en->hash != hash || en->type != type || en->body_len != body.len ||
            en->enr_len != enr.len || memcmp(en->text, body.p, body.len) != 0 ||
            (enr.len && memcmp(en->text + body.len, enr.p, enr.len) != 0))
            continue;
        if (en->life < LIFE_MAX)
            en->life++;
        en->event = event;
        return en;
    }
    return NULL;
}

/* Makes *p hold at least size bytes, growing it to exactly that. */
static bool fit(void **p, size_t *cap, size_t size)
{
    if (size <= *cap)
        return true;
    void *np = realloc(*p, size);
    if (!np)
        return false;
    *p = np;
    *cap = size;
    return true;
}

bool ar_memo_bytes_set(struct ar_memo_bytes *dst, const struct ar_span *pieces, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += pieces[i].len;
    size_t cap = dst->cap;
    dst->len = 0;
    if (total > AR_MEMO_MAX_OUT || !fit((void **)&dst->p, &cap, total ? total : 1))
        return false;
    dst->cap = (uint32_t)cap;
    for (size_t i = 0; i < n; i++)
        if (pieces[i].len) {
            memcpy(dst->p + dst->len, pieces[i].p, pieces[i].len);
            dst->len += (uint32_t)pieces[i].len;
        }
    return true;
}

struct ar_memo_entry *ar_record_memo_keep(struct ar_record_memo *m, uint64_t hash, uint32_t type,
                                          struct ar_span body, struct ar_span enr,
                                          const struct ar_field *fields, uint32_t n,
                                          uint32_t enr_n, const struct ar_field_info *info,
                                          const uint16_t *key_id, uint32_t arch,
                                          uint64_t event)
{
    uint32_t total = n + enr_n;
    if (total > AR_MEMO_MAX_FIELDS)
        return NULL;
    /* An empty way, else the one with fewer lives (the older on a tie); one the
     * current event uses stays, and a hot one loses a life instead. */
    struct ar_memo_entry *set = set_of(m, hash), *en = &set[0];
    if (set[0].hash && (!set[1].hash || set[1].life < set[0].life ||
                        (set[1].life == set[0].life && set[1].event < set[0].event)))
        en = &set[1];
    if (en->hash) {
        if (en->event == event)
            return NULL;
        if (en->life) {
            en->life--;
            return NULL;
        }
    }
    en->hash = 0; /* empty until complete: a failed allocation leaves no half entry */
    /* fields (4-byte aligned), info and key ids (2-byte), then the text. */
    size_t fields_size = total * sizeof(*en->fields), info_size = total * sizeof(*en->info),
           ids_size = total * sizeof(*en->key_id);
    if (!fit(&en->block, &en->block_cap,
             fields_size + info_size + ids_size + body.len + enr.len + 1))
        return NULL;
    en->fields = en->block;
    en->info = (struct ar_field_info *)((char *)en->block + fields_size);
    en->key_id = (uint16_t *)((char *)en->block + fields_size + info_size);
    en->text = (char *)en->block + fields_size + info_size + ids_size;
    memcpy(en->text, body.p, body.len);
    if (enr.len)
        memcpy(en->text + body.len, enr.p, enr.len);
    for (uint32_t i = 0; i < total; i++) {
        const struct ar_field *f = &fields[i];
        const char *base = i < n ? body.p : enr.p;
        en->fields[i] = (struct ar_memo_field){
            .key_off = (uint32_t)(f->key.p - base), .key_len = (uint16_t)f->key.len,
            .value_off = (uint32_t)(f->value.p - base), .value_len = (uint16_t)f->value.len,
            .kind = f->kind, .depth = f->depth, .in_enriched = i >= n,
            .nested_count = f->nested_count};
    }
    memcpy(en->info, info, total * sizeof(*info));
    memcpy(en->key_id, key_id, total * sizeof(*key_id));
    memset(en->key_set, 0, sizeof(en->key_set));
    for (uint32_t i = 0; i < n; i++)
        if (key_id[i] < 1024)
            en->key_set[key_id[i] >> 6] |= UINT64_C(1) << (key_id[i] & 63);
    en->type = type;
    en->body_len = (uint32_t)body.len;
    en->enr_len = (uint32_t)enr.len;
    en->n = n;
    en->enr_n = enr_n;
    en->arch = arch;
    en->life = 0;
    en->event = event;
    en->out_valid = false;
    en->value_valid = false;
    en->stamp = ++m->stamps;
    en->hash = hash;
    return en;
}

struct ar_span ar_record_memo_tail(struct ar_span body)
{
    const char *p = memmem(body.p, body.len, " auid=", 6);
    return p ? ar_span_make(p + 1, body.p + body.len) : (struct ar_span){NULL, 0};
}

void ar_record_memo_fields(const struct ar_memo_entry *en, struct ar_span body,
                           struct ar_span enr, struct ar_field *fields)
{
    for (uint32_t i = 0; i < en->n + en->enr_n; i++) {
        const struct ar_memo_field *mf = &en->fields[i];
        const char *base = mf->in_enriched ? enr.p : body.p;
        fields[i] = (struct ar_field){.key = {base + mf->key_off, mf->key_len},
                                      .value = {base + mf->value_off, mf->value_len},
                                      .kind = mf->kind, .depth = mf->depth,
                                      .nested_count = mf->nested_count};
    }
}
