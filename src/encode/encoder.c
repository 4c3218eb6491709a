/* The encoder: one format of encode/formats.c behind ar_encoder_event, and what
 * every format uses (encoder_impl.h): the event tokenized once, hex decoded once
 * per field, timestamps. */
#include "encode/encoder.h"
#include "encode/encoder_impl.h"

#include <errno.h>
#include <stdlib.h>

#include <libaudit.h> /* AUDIT_SYSCALL; header only, never linked */

#include "enrich/decode.h"
#include "util/iso8601.h"

/* Under AddressSanitizer, the tokens a lazy record has not put in the event's
 * arrays yet are poisoned: a reader that forgot ar_encoder_fields stops there
 * instead of reading the tokens of an earlier event. */
#if defined(__SANITIZE_ADDRESS__)
#define AR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AR_ASAN 1
#endif
#endif
#ifdef AR_ASAN
#include <sanitizer/asan_interface.h>
static void poison_pending(struct ar_encoder *e, const struct ar_rec_tokens *rt, bool poison)
{
    uint32_t from = rt->tail_entry ? rt->first + rt->head_n : rt->first;
    uint32_t n = rt->first + rt->n + rt->enr_n - from;
    void *spans[] = {e->fields + from, e->info + from, e->key_id + from};
    size_t sizes[] = {n * sizeof(*e->fields), n * sizeof(*e->info), n * sizeof(*e->key_id)};
    for (size_t i = 0; i < 3; i++) {
        if (poison)
            ASAN_POISON_MEMORY_REGION(spans[i], sizes[i]);
        else
            ASAN_UNPOISON_MEMORY_REGION(spans[i], sizes[i]);
    }
}
#else
static void poison_pending(struct ar_encoder *e, const struct ar_rec_tokens *rt, bool poison)
{
    (void)e, (void)rt, (void)poison;
}
#endif

int ar_encoder_new(const struct ar_encoder_config *cfg, struct ar_idcache *ids,
                   struct ar_encoder **ret)
{
    if (!cfg)
        return -EINVAL;
    struct ar_encoder *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->cfg = *cfg;
    if (!e->cfg.format)
        e->cfg.format = ar_formats[0];
    if (!e->cfg.source)
        e->cfg.source = "replay";
    e->ids = ids;
    e->fields = malloc(AR_ENC_MAX_FIELDS * sizeof(*e->fields));
    e->info = malloc(AR_ENC_MAX_FIELDS * sizeof(*e->info));
    e->key_id = malloc(AR_ENC_MAX_FIELDS * sizeof(*e->key_id));
    e->keys = calloc(1, sizeof(*e->keys));
    e->dec_state = malloc(AR_ENC_MAX_FIELDS * sizeof(*e->dec_state));
    e->dec_off = malloc(AR_ENC_MAX_FIELDS * sizeof(*e->dec_off));
    e->dec_len = malloc(AR_ENC_MAX_FIELDS * sizeof(*e->dec_len));
    e->norm = calloc(1, sizeof(*e->norm)); /* calloc: no lookup remembered yet */
    if (!e->fields || !e->info || !e->key_id || !e->keys || !e->dec_state || !e->dec_off ||
        !e->dec_len || !e->norm || ar_record_memo_new(&e->records_memo) < 0) {
        ar_encoder_free(e);
        return -ENOMEM;
    }
    if (e->cfg.format->open) {
        int r = e->cfg.format->open(e);
        if (r < 0) {
            ar_encoder_free(e);
            return r;
        }
    }
    *ret = e;
    return 0;
}

void ar_encoder_free(struct ar_encoder *e)
{
    if (!e)
        return;
    if (e->cfg.format->close)
        e->cfg.format->close(e);
    free(e->fields);
    free(e->info);
    free(e->key_id);
    free(e->keys);
    ar_record_memo_free(e->records_memo);
    free(e->recs);
    free(e->norm_recs);
    free(e->norm);
    free(e->dec_state);
    free(e->dec_off);
    free(e->dec_len);
    ar_buf_free(&e->decoded);
    free(e->argv.slots);
    ar_buf_free(&e->argv.bytes);
    free(e);
}

const struct ar_encoder_stats *ar_encoder_stats(const struct ar_encoder *e)
{
    return &e->stats;
}

const struct ar_encoder_config *ar_encoder_config(const struct ar_encoder *e)
{
    return &e->cfg;
}

int ar_encoder_event(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *out)
{
    size_t mark = out->len;
    int r = e->cfg.format->event(e, ev, out);
    if (r < 0 || out->failed || e->argv.bytes.failed) {
        out->failed = false;
        e->argv.bytes.failed = false;
        out->len = mark;
        return -ENOMEM;
    }
    return 0;
}

int ar_encoder_loss(struct ar_encoder *e, const char *kind, struct ar_span node,
                    uint32_t after_serial, uint64_t count, uint64_t now_sec, struct ar_buf *out)
{
    size_t mark = out->len;
    struct ar_loss loss = {.kind = kind, .node = node, .after_serial = after_serial,
                           .count = count, .now_sec = now_sec};
    e->cfg.format->loss(e, &loss, out);
    if (out->failed) {
        out->failed = false;
        out->len = mark;
        return -ENOMEM;
    }
    return 0;
}

/* ---- timestamps ---- */

const char *ar_encoder_timestamp(struct ar_encoder *e, uint64_t sec, uint32_t msec)
{
    if (!e->ts_valid || e->ts_sec != sec || e->ts_msec != msec) {
        ar_format_iso8601(sec, msec, e->ts);
        e->ts_sec = sec;
        e->ts_msec = msec;
        e->ts_valid = true;
    }
    return e->ts;
}

/* ---- the tokenized event ---- */

bool ar_encoder_decode_hex_first(struct ar_encoder *e, const struct ar_field *f,
                                 const unsigned char **ret_p, size_t *ret_len)
{
    size_t i = (size_t)(f - e->fields);
    e->dec_state[i] = AR_DEC_NOT_HEX;
    if (f->kind != AR_VAL_PLAIN || f->value.len == 0 || f->value.len % 2 ||
        !ar_buf_reserve(&e->decoded, f->value.len / 2))
        return false;
    unsigned char *out = (unsigned char *)e->decoded.p + e->decoded.len;
    int n = ar_hex_decode(f->value, out);
    if (n < 0)
        return false;
    e->dec_state[i] = AR_DEC_DONE;
    e->dec_off[i] = (uint32_t)e->decoded.len;
    e->dec_len[i] = (uint32_t)n;
    e->decoded.len += (size_t)n;
    *ret_p = out;
    *ret_len = (size_t)n;
    return true;
}

/* The record's own arch= (AUDIT_ARCH_* in hex), 0 without one. */
static uint32_t record_arch(const struct ar_encoder *e, const struct ar_rec_tokens *rt)
{
    uint64_t v;
    for (uint32_t i = rt->first; i < rt->first + rt->n; i++) {
        const struct ar_field *a = &e->fields[i];
        if (e->info[i].name == AR_FN_ARCH && a->kind == AR_VAL_PLAIN &&
            ar_span_hex_to_u64(a->value, &v) && v <= UINT32_MAX)
            return (uint32_t)v;
    }
    return 0;
}

/* Tokenizes one record's body and ENRICHED part into e->fields from `used` on, with
 * each field's class and key id. Returns the tokenizer's flags of both parts. */
static unsigned tokenize_record(struct ar_encoder *e, struct ar_rec_tokens *rt,
                                struct ar_span body, struct ar_span enr, size_t used)
{
    struct ar_tokens t = {.fields = e->fields + used, .cap = AR_ENC_MAX_FIELDS - used};
    ar_tokenize(body.p, body.p + body.len, &t);
    unsigned flags = t.flags;
    rt->first = (uint32_t)used;
    rt->n = (uint32_t)t.n;
    for (size_t k = used; k < used + t.n; k++) {
        if (e->fields[k].kind == AR_VAL_BARE) {
            e->info[k] = (struct ar_field_info){0, 0};
            e->key_id[k] = 0;
        } else {
            e->key_id[k] = ar_keys_find(e->keys, e->fields[k].key, &e->info[k]);
        }
        e->dec_state[k] = AR_DEC_UNKNOWN;
    }
    used += t.n;
    t = (struct ar_tokens){.fields = e->fields + used, .cap = AR_ENC_MAX_FIELDS - used};
    if (enr.len)
        ar_tokenize(enr.p, enr.p + enr.len, &t);
    flags |= t.flags;
    rt->enr_first = (uint32_t)used;
    rt->enr_n = (uint32_t)t.n;
    /* auditd's names (UID="root") are text, never numbers or hex. */
    for (size_t k = used; k < used + t.n; k++) {
        struct ar_field_info unused;
        e->key_id[k] = ar_keys_find(e->keys, e->fields[k].key, &unused);
        e->info[k] = (struct ar_field_info){AR_FC_TEXT, AR_FN_OTHER};
        e->dec_state[k] = AR_DEC_NOT_HEX;
    }
    if (flags & AR_TOK_TRUNCATED)
        e->stats.field_overflow++;
    if (flags & AR_TOK_UNTERMINATED)
        e->stats.unterminated++;
    rt->arch = record_arch(e, rt);
    return flags;
}

/* A memo entry's tokens into the event's arrays from `at` on: its fields moved onto
 * this text (body or tail) and ENRICHED part, their classes, key ids, hex state. */
static void put_entry_tokens(struct ar_encoder *e, const struct ar_memo_entry *en,
                             struct ar_span text, struct ar_span enr, size_t at)
{
    uint32_t total = en->n + en->enr_n;
    ar_record_memo_fields(en, text, enr, e->fields + at);
    memcpy(e->info + at, en->info, total * sizeof(*e->info));
    memcpy(e->key_id + at, en->key_id, total * sizeof(*e->key_id));
    memset(e->dec_state + at, AR_DEC_UNKNOWN, en->n);
    memset(e->dec_state + at + en->n, AR_DEC_NOT_HEX, en->enr_n);
}

/* A record met before: its tokens from the memo, moved onto this text, or (lazy)
 * only their places taken until ar_encoder_fields asks for them. */
static void take_memo(struct ar_encoder *e, struct ar_rec_tokens *rt,
                      struct ar_memo_entry *memo, struct ar_span body, struct ar_span enr,
                      size_t used, bool lazy)
{
    if (!lazy)
        put_entry_tokens(e, memo, body, enr, used);
    *rt = (struct ar_rec_tokens){.first = (uint32_t)used, .n = memo->n,
                                 .enr_first = (uint32_t)(used + memo->n), .enr_n = memo->enr_n,
                                 .arch = memo->arch, .memo_entry = memo, .body = body,
                                 .enr = enr, .pending = lazy};
    if (lazy)
        poison_pending(e, rt, true);
}

/* Whether fields [from, from + n) are key=value pairs at the top level, each with a
 * key id and none running over its end (no words, no nesting, no braces): a SYSCALL
 * record cut between two such runs tokenizes and encodes as its two parts do. */
static bool simple_run(const struct ar_encoder *e, size_t from, size_t n)
{
    for (size_t k = from; k < from + n; k++) {
        const struct ar_field *f = &e->fields[k];
        if (f->depth || !e->key_id[k] ||
            (f->kind != AR_VAL_PLAIN && f->kind != AR_VAL_QUOTED && f->kind != AR_VAL_NULL) ||
            (f->value.len && f->value.p[0] == '{'))
            return false;
    }
    return true;
}

/* A SYSCALL record whose process part (`tail`) the memo holds in te: tokenizes its
 * head alone and takes the tail's tokens. False (and nothing taken) when the head
 * would not have been cut there or shares a key with the tail. */
static bool take_tail(struct ar_encoder *e, struct ar_rec_tokens *rt, struct ar_memo_entry *te,
                      struct ar_span body, struct ar_span tail, struct ar_span enr, size_t used,
                      size_t head_ready, bool lazy)
{
    uint32_t tail_total = te->n + te->enr_n;
    if (tail_total >= AR_ENC_MAX_FIELDS - used)
        return false;
    struct ar_tokens t = {.fields = e->fields + used, .cap = AR_ENC_MAX_FIELDS - used - tail_total};
    if (head_ready && head_ready <= t.cap)
        t.n = head_ready; /* in place already (ar_tokenize_plain_until) */
    else
        ar_tokenize(body.p, tail.p - 1, &t);
    if (t.flags || t.n == 0)
        return false;
    for (size_t k = used; k < used + t.n; k++) {
        e->key_id[k] = e->fields[k].kind == AR_VAL_BARE
                           ? 0
                           : ar_keys_find(e->keys, e->fields[k].key, &e->info[k]);
        if (ar_record_memo_has_key(te, e->key_id[k]))
            return false;
    }
    if (!simple_run(e, used, t.n))
        return false;
    size_t at = used + t.n;
    memset(e->dec_state + used, AR_DEC_UNKNOWN, t.n);
    *rt = (struct ar_rec_tokens){.first = (uint32_t)used, .n = (uint32_t)t.n + te->n,
                                 .enr_first = (uint32_t)(at + te->n), .enr_n = te->enr_n,
                                 .tail_entry = te, .head_n = (uint32_t)t.n, .body = body,
                                 .enr = enr, .pending = true};
    /* The arch is the head's (the kernel writes it first); only a record whose tail
     * holds it needs the tail's tokens for it. */
    struct ar_rec_tokens head = {.first = rt->first, .n = rt->head_n};
    rt->arch = record_arch(e, &head);
    if (!lazy || !rt->arch) {
        ar_encoder_fields(e, rt);
        rt->arch = record_arch(e, rt);
    } else {
        poison_pending(e, rt, true);
    }
    return true;
}

void ar_encoder_fields(struct ar_encoder *e, struct ar_rec_tokens *rt)
{
    if (!rt->pending)
        return;
    rt->pending = false;
    poison_pending(e, rt, false);
    if (rt->tail_entry) {
        const struct ar_memo_entry *te = rt->tail_entry;
        struct ar_span tail = {rt->body.p + rt->body.len - te->body_len, te->body_len};
        put_entry_tokens(e, te, tail, rt->enr, rt->first + rt->head_n);
    } else {
        put_entry_tokens(e, rt->memo_entry, rt->body, rt->enr, rt->first);
    }
}

void ar_encoder_fields_all(struct ar_encoder *e)
{
    for (uint32_t r = 0; r < e->nrecs; r++)
        ar_encoder_fields(e, &e->recs[r]);
}

/* After a SYSCALL record was tokenized whole: keeps its process part when the record
 * can be cut there (a field starts at `tail`, every field is simple, no key on both
 * sides). */
static void keep_tail(struct ar_encoder *e, struct ar_rec_tokens *rt, uint64_t hash,
                      struct ar_span tail, struct ar_span enr)
{
    uint32_t k = 1;
    while (k < rt->n && e->fields[rt->first + k].key.p != tail.p)
        k++;
    if (k >= rt->n || !simple_run(e, rt->first, rt->n))
        return;
    uint64_t head_keys[16] = {0};
    for (uint32_t i = rt->first; i < rt->first + k; i++)
        if (e->key_id[i] < 1024)
            head_keys[e->key_id[i] >> 6] |= UINT64_C(1) << (e->key_id[i] & 63);
    for (uint32_t i = rt->first + k; i < rt->first + rt->n; i++)
        if (e->key_id[i] >= 1024 || (head_keys[e->key_id[i] >> 6] >> (e->key_id[i] & 63) & 1))
            return;
    rt->tail_entry = ar_record_memo_keep(e->records_memo, hash, AR_MEMO_TAIL | AUDIT_SYSCALL, tail,
                                         enr, e->fields + rt->first + k, rt->n - k, rt->enr_n,
                                         e->info + rt->first + k, e->key_id + rt->first + k, 0,
                                         e->events);
    rt->head_n = rt->tail_entry ? k : 0;
}

int ar_encoder_tokenize_lazy(struct ar_encoder *e, const struct ar_event *ev, bool lazy)
{
    if (ev->nrecords > e->recs_cap) {
        size_t cap = e->recs_cap ? e->recs_cap : 16;
        while (cap < ev->nrecords)
            cap *= 2;
        struct ar_rec_tokens *nr = realloc(e->recs, cap * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        e->recs = nr;
        struct ar_norm_record *nn = realloc(e->norm_recs, cap * sizeof(*nn));
        if (!nn)
            return -ENOMEM;
        e->norm_recs = nn;
        e->recs_cap = cap;
    }
    /* The last event's records that stayed lazy: their places are reused now. */
    for (uint32_t r = 0; r < e->nrecs; r++)
        if (e->recs[r].pending) {
            poison_pending(e, &e->recs[r], false);
            e->recs[r].pending = false;
        }
    size_t used = 0;
    e->decoded.len = 0;
    e->memo_n = 0;
    /* Decoded values never outgrow half the event's text: reserving that up front
     * keeps every decoded span valid for the whole event (the summary holds some). */
    size_t text_len = 0;
    for (uint32_t i = 0; i < ev->nrecords; i++)
        text_len += ar_event_body(ev, i).len;
    if (!ar_buf_reserve(&e->decoded, text_len / 2 + 1))
        return -ENOMEM;
    e->events++;
    e->nrecs = ev->nrecords;
    for (uint32_t i = 0; i < ev->nrecords; i++) {
        struct ar_span body = ar_event_body(ev, i), enr = ar_event_enriched(ev, i);
        uint32_t type = ev->records[i].type;
        uint64_t hash = ar_record_memo_hash(type, body, enr);
        struct ar_memo_entry *memo =
            hash ? ar_record_memo_find(e->records_memo, hash, type, body, enr, e->events) : NULL;
        if (memo && memo->n + memo->enr_n <= AR_ENC_MAX_FIELDS - used) {
            take_memo(e, &e->recs[i], memo, body, enr, used, lazy);
            e->norm_recs[i] = (struct ar_norm_record){type, e->fields + used, memo->n};
            used += memo->n + memo->enr_n;
            continue;
        }
        struct ar_rec_tokens *rt = &e->recs[i];
        struct ar_span tail = {NULL, 0};
        uint64_t tail_hash = 0;
        size_t head_ready = 0;
        if (type == AUDIT_SYSCALL) {
            /* The head's tokens first, up to auid=: where they stop, the tail
             * starts (no search for it), and a hit keeps them. */
            struct ar_tokens head = {.fields = e->fields + used, .cap = AR_ENC_MAX_FIELDS - used};
            const char *stop;
            if (ar_tokenize_syscall_head(body.p, body.p + body.len, &head, &stop) ||
                ar_tokenize_plain_until(body.p, body.p + body.len, AR_SPAN_LIT("auid"), &head,
                                        &stop)) {
                tail = ar_span_make(stop, body.p + body.len);
                head_ready = head.n;
            } else {
                tail = ar_record_memo_tail(body);
            }
            if (tail.len)
                tail_hash = ar_record_memo_hash(AR_MEMO_TAIL | type, tail, enr);
        }
        if (tail_hash) {
            struct ar_memo_entry *te = ar_record_memo_find(
                e->records_memo, tail_hash, AR_MEMO_TAIL | type, tail, enr, e->events);
            if (te && take_tail(e, rt, te, body, tail, enr, used, head_ready, lazy)) {
                e->norm_recs[i] = (struct ar_norm_record){type, e->fields + used, rt->n};
                used += rt->n + rt->enr_n;
                continue;
            }
        }
        unsigned flags = tokenize_record(e, rt, body, enr, used);
        e->norm_recs[i] = (struct ar_norm_record){type, e->fields + used, rt->n};
        rt->memo_entry = rt->tail_entry = NULL;
        rt->head_n = 0;
        rt->body = body;
        rt->enr = enr;
        rt->pending = false;
        if (hash && !flags)
            rt->memo_entry = ar_record_memo_keep(e->records_memo, hash, type, body, enr,
                                                 e->fields + used, rt->n, rt->enr_n,
                                                 e->info + used, e->key_id + used, rt->arch,
                                                 e->events);
        else if (tail_hash && !flags)
            keep_tail(e, rt, tail_hash, tail, enr);
        used += rt->n + rt->enr_n;
    }
    return 0;
}

int ar_encoder_tokenize(struct ar_encoder *e, const struct ar_event *ev)
{
    return ar_encoder_tokenize_lazy(e, ev, false);
}

const struct ar_field *ar_enc_enriched_for(const struct ar_encoder *e,
                                           const struct ar_rec_tokens *rt, struct ar_span key)
{
    for (uint32_t i = 0; i < rt->enr_n; i++) {
        const struct ar_field *f = &e->fields[rt->enr_first + i];
        if (f->key.len != key.len)
            continue;
        size_t j = 0;
        while (j < key.len && (f->key.p[j] | 0x20) == (key.p[j] | 0x20))
            j++;
        if (j == key.len)
            return f;
    }
    return NULL;
}
