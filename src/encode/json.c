/* Our JSON schema (man/auditrelay-json.7): one object per event, the summary
 * (encode/summary.c) first, then every record with its fields as written, their
 * interpretations and auditd's ENRICHED names. */
#include <errno.h>
#include <libaudit.h> /* message type ranges; header only, never linked */
#include <stdio.h>
#include <stdlib.h>

#include "encode/jsonvalue.h"
#include "encode/summary.h"
#include "encode/summary_memo.h"
#include "audit/tables.h"
#include "enrich/proctable.h"
#include "util/iso8601.h"

#define KEY_TABLE_SLOTS 4096 /* keys without an id, per nesting depth (idless_dup) */

/* The record writer's own: names given to repeated keys, and the nested msg='...'
 * whose fields are being interpreted. */
struct json_state {
    struct ar_summary_memo *summary_memo; /* the summary members of events met before */
    uint16_t *dup;         /* parallel to fields: 2 for the second "key" of a level... */
    struct ar_span parent; /* while writing interpretations of a nested msg='...' */
    /* Repeated keys: the last put_fields call (level) that wrote each key id; for keys
     * without one, a table per nesting depth of the keys the current level wrote
     * (an entry of another level is free), with how often each came. */
    uint32_t level;
    uint32_t seen[AR_KEYS_SLOTS + 1];
    struct key_slot {
        uint32_t level, hash, field, count;
    } *keys[2];
    /* The last user and group id interpreted in this event (its text) and where its
     * name's JSON went in the output: the ids of a record repeat (uid, euid, suid,
     * fsuid...), and a repeat is a compare and a copy. Emptied for each event. */
    struct id_memo {
        struct ar_span text; /* len 0: none yet */
        bool named;
        size_t off, len;
    } ids[2];
};

static struct json_state *js(struct ar_encoder *e)
{
    return e->format_state;
}

static int json_open(struct ar_encoder *e)
{
    struct json_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    e->format_state = s;
    s->dup = malloc(AR_ENC_MAX_FIELDS * sizeof(*s->dup));
    s->keys[0] = calloc(KEY_TABLE_SLOTS, sizeof(*s->keys[0]));
    s->keys[1] = calloc(KEY_TABLE_SLOTS, sizeof(*s->keys[1]));
    if (!s->dup || !s->keys[0] || !s->keys[1] || ar_summary_memo_new(&s->summary_memo) < 0)
        return -ENOMEM;
    return 0;
}

static void json_close(struct ar_encoder *e)
{
    struct json_state *s = e->format_state;
    if (s) {
        free(s->dup);
        free(s->keys[0]);
        free(s->keys[1]);
        ar_summary_memo_free(s->summary_memo);
    }
    free(s);
    e->format_state = NULL;
}

static bool is_arg_key(struct ar_span k)
{
    /* a0, a1, a12 (syscall args in hex, or EXECVE argv): always strings. */
    if (k.len < 2 || k.p[0] != 'a')
        return false;
    for (size_t i = 1; i < k.len; i++)
        if (k.p[i] < '0' || k.p[i] > '9')
            return false;
    return true;
}

/* aN or aN[i] in an EXECVE record (not argc, not aN_len). */
static bool is_execve_arg_key(struct ar_span k)
{
    size_t i = 1;
    if (k.len < 2 || k.p[0] != 'a')
        return false;
    while (i < k.len && k.p[i] >= '0' && k.p[i] <= '9')
        i++;
    if (i == 1)
        return false;
    if (i == k.len)
        return true;
    return k.p[i] == '[' && k.p[k.len - 1] == ']';
}

static bool may_be_number(const struct ar_field *f, enum ar_field_class cls)
{
    switch (cls) {
    case AR_FC_ESCAPED:
    case AR_FC_PROCTITLE:
    case AR_FC_SADDR:
    case AR_FC_KEY:
    case AR_FC_ARCH:
    case AR_FC_MODE:
    case AR_FC_TEXT:
        return false;
    default:
        return !is_arg_key(f->key);
    }
}

static const char *id_name(struct ar_encoder *e, enum ar_id_kind kind, const struct ar_field *f)
{
    uint64_t id;
    if (!e->ids || !ar_field_u64(f, &id) || id > UINT32_MAX)
        return NULL;
    return ar_idcache_name(e->ids, kind, (uint32_t)id);
}

/* FNV-1a over a key's bytes. */
static uint32_t key_hash(struct ar_span k)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < k.len; i++)
        h = (h ^ (unsigned char)k.p[i]) * 16777619u;
    return h;
}

/* For field i, a key without an id at put_fields level `level`: 1 the first time
 * the level writes it, 2 the second... from the table of its nesting depth, which
 * compares whole keys only when their hashes are equal (a filter with a linear
 * count behind it made a record of thousands of arguments quadratic). 0 when the
 * level has filled half the table: dup_index counts then. */
static unsigned idless_dup(struct json_state *s, const struct ar_field *fields, uint32_t i,
                           uint32_t level, uint32_t *used)
{
    const struct ar_field *f = &fields[i];
    if (*used >= KEY_TABLE_SLOTS / 2)
        return 0;
    struct key_slot *t = s->keys[f->depth ? 1 : 0];
    uint32_t h = key_hash(f->key);
    for (uint32_t k = h & (KEY_TABLE_SLOTS - 1);; k = (k + 1) & (KEY_TABLE_SLOTS - 1)) {
        struct key_slot *e = &t[k];
        if (e->level != level) {
            *e = (struct key_slot){.level = level, .hash = h, .field = i, .count = 1};
            (*used)++;
            return 1;
        }
        const struct ar_span other = fields[e->field].key;
        if (e->hash == h && other.len == f->key.len &&
            memcmp(other.p, f->key.p, f->key.len) == 0)
            return ++e->count;
    }
}

static unsigned dup_index(const struct ar_field *fields, uint32_t i, uint32_t first_i)
{
    unsigned n = 1;
    struct ar_span k = fields[i].key;
    for (uint32_t j = first_i; j < i; j++) {
        const struct ar_field *f = &fields[j];
        if (f->key.len == k.len && k.len && f->key.p[0] == k.p[0] &&
            f->depth == fields[i].depth && f->kind != AR_VAL_BARE &&
            memcmp(f->key.p, k.p, k.len) == 0)
            n++;
    }
    return n;
}

/* put_field_key for a repeated or nested key. */
static __attribute__((noinline)) void put_field_key_composed(struct ar_encoder *e,
                                                             struct ar_buf *b, bool *first,
                                                             size_t i)
{
    const struct ar_field *f = &e->fields[i];
    const struct json_state *s = js(e);
    char tmp[600];
    int n = snprintf(tmp, sizeof(tmp), "%.*s%s%.*s",
                     (int)(s->parent.len > 256 ? 256 : s->parent.len), s->parent.p,
                     s->parent.len ? "." : "", (int)(f->key.len > 256 ? 256 : f->key.len),
                     f->key.p);
    if (s->dup[i] > 1)
        n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "#%u", s->dup[i]);
    ar_jv_key(b, first, tmp, (size_t)n);
}

/* Writes a field's member name: its key, "key#2" for a repeated key (the same name
 * in fields and interp), and "msg.key" for the interpretation of a nested field. */
static inline void put_field_key(struct ar_encoder *e, struct ar_buf *b, bool *first, size_t i)
{
    const struct json_state *s = js(e);
    if (s->dup[i] > 1 || s->parent.len)
        put_field_key_composed(e, b, first, i);
    else if (e->key_id[i])
        ar_keys_put(e->keys, e->key_id[i], b, first);
    else
        ar_jv_key(b, first, e->fields[i].key.p, e->fields[i].key.len);
}

/* The interpretation of a user or group id field: its name, copied from where the
 * same id's name was written earlier in the event when it was. False when the id
 * has none. */
static bool put_id_interp(struct ar_encoder *e, struct ar_buf *b, bool *first,
                          const struct ar_field *f, enum ar_id_kind kind)
{
    struct id_memo *m = &js(e)->ids[kind];
    size_t i = (size_t)(f - e->fields);
    if (f->kind == AR_VAL_PLAIN && f->value.len && ar_span_eq(m->text, f->value.p, f->value.len)) {
        if (!m->named)
            return false;
        put_field_key(e, b, first, i);
        if (ar_buf_reserve(b, m->len)) {
            memcpy(b->p + b->len, b->p + m->off, m->len);
            b->len += m->len;
        }
        return true;
    }
    const char *name = id_name(e, kind, f);
    if (f->kind == AR_VAL_PLAIN)
        *m = (struct id_memo){.text = f->value, .named = name != NULL};
    if (!name)
        return false;
    put_field_key(e, b, first, i);
    m->off = b->len;
    ar_jv_cstr(b, name);
    m->len = b->len - m->off;
    return true;
}

/* Writes the raw fields of [from, to) at one nesting level as JSON members. */
static void put_fields(struct ar_encoder *e, struct ar_buf *b, uint32_t from, uint32_t to)
{
    bool first = true;
    bool words = false;
    /* A key id seen at this level or a nested one since it began (levels only grow)
     * may be a repeat: dup_index decides. Keys without an id: idless_dup. */
    struct json_state *s = js(e);
    if (++s->level == 0) {
        /* Wrapped (a few weeks of a busy host): no entry may claim the new levels. */
        memset(s->keys[0], 0, KEY_TABLE_SLOTS * sizeof(*s->keys[0]));
        memset(s->keys[1], 0, KEY_TABLE_SLOTS * sizeof(*s->keys[1]));
        s->level = 1;
    }
    uint32_t level = s->level, used = 0;
    for (uint32_t i = from; i < to; i++) {
        const struct ar_field *f = &e->fields[i];
        if (f->kind == AR_VAL_BARE) {
            words = true;
            continue;
        }
        unsigned dup;
        if (e->key_id[i]) {
            unsigned slot = e->key_id[i];
            dup = s->seen[slot] - level < UINT32_MAX / 2 ? dup_index(e->fields, i, from) : 1;
            s->seen[slot] = level;
        } else if (!f->key.len || !(dup = idless_dup(s, e->fields, i, level, &used))) {
            dup = dup_index(e->fields, i, from);
        }
        s->dup[i] = (uint16_t)(dup > UINT16_MAX ? UINT16_MAX : dup);
        put_field_key(e, b, &first, i);
        enum ar_field_class cls = e->info[i].cls;
        switch (f->kind) {
        case AR_VAL_NULL:
            AR_BUF_LIT(b, "null");
            break;
        case AR_VAL_NESTED:
            ar_buf_putc(b, '{');
            put_fields(e, b, i + 1, i + 1 + f->nested_count);
            ar_buf_putc(b, '}');
            i += f->nested_count;
            break;
        case AR_VAL_PLAIN:
            /* A number as the kernel printed it is already JSON: copied, not converted. */
            if (may_be_number(f, cls) && ar_json_decimal(b, f->value.p, f->value.len))
                break;
            /* fall through */
        default:
            ar_jv_bytes(e, b, &first, f->key, (const unsigned char *)f->value.p, f->value.len);
            break;
        }
    }
    if (words) {
        /* Words without '=' ("auditd start,", "avc:  denied { read }") in order. */
        AR_JV_KEY(b, &first, "words");
        ar_buf_putc(b, '[');
        bool wfirst = true;
        for (uint32_t i = from; i < to; i++) {
            const struct ar_field *f = &e->fields[i];
            if (f->kind == AR_VAL_NESTED)
                i += f->nested_count;
            if (f->kind != AR_VAL_BARE)
                continue;
            if (!wfirst)
                ar_buf_putc(b, ',');
            wfirst = false;
            ar_jv_str(b, f->value);
        }
        ar_buf_putc(b, ']');
    }
}

/* Writes the interpretation of one field; returns false when it has none. */
static bool put_interp_value(struct ar_encoder *e, struct ar_buf *b, bool *first,
                             const struct ar_rec_tokens *rt, uint32_t rectype,
                             const struct ar_field *f, enum ar_field_class cls, uint32_t arch)
{
    const char *name = NULL;
    uint64_t u;
    int64_t i64;
    const unsigned char *p;
    size_t len;
    switch (cls) {
    case AR_FC_UID:
    case AR_FC_GID: {
        const struct ar_field *enr = ar_enc_enriched_for(e, rt, f->key);
        if (enr) {
            put_field_key(e, b, first, (size_t)(f - e->fields));
            ar_jv_str(b, enr->value);
            return true;
        }
        return put_id_interp(e, b, first, f, cls == AR_FC_UID ? AR_ID_USER : AR_ID_GROUP);
    }
    case AR_FC_SESSION:
        if (ar_field_u64(f, &u) && u == UINT32_MAX)
            name = "unset";
        break;
    case AR_FC_ARCH:
        if (f->kind == AR_VAL_PLAIN && ar_span_hex_to_u64(f->value, &u) && u <= UINT32_MAX)
            name = ar_arch_name((uint32_t)u);
        break;
    case AR_FC_SYSCALL:
        if (ar_field_u64(f, &u) && u <= UINT32_MAX)
            name = ar_syscall_name(arch, (uint32_t)u);
        break;
    case AR_FC_EXIT:
        if (ar_field_i64(f, &i64) && i64 < 0 && i64 >= -4095)
            name = ar_errno_name((int)-i64);
        break;
    case AR_FC_MODE:
        if (f->kind != AR_VAL_PLAIN)
            return false;
        put_field_key(e, b, first, (size_t)(f - e->fields));
        ar_jv_mode(b, f);
        return true;
    case AR_FC_ESCAPED:
        if (!ar_encoder_decode_hex(e, f, &p, &len))
            return false;
        put_field_key(e, b, first, (size_t)(f - e->fields));
        ar_jv_bytes(e, b, first, f->key, p, len);
        return true;
    case AR_FC_KEY:
        if (!ar_encoder_decode_hex(e, f, &p, &len))
            return false;
        /* Several keys on one rule arrive hex-encoded, separated by 0x01. */
        put_field_key(e, b, first, (size_t)(f - e->fields));
        ar_jv_list(e, b, p, len, 0x01);
        return true;
    case AR_FC_PROCTITLE:
        AR_JV_KEY(b, first, "argv");
        ar_jv_proctitle(e, b, f);
        return true;
    case AR_FC_SADDR:
        if (!ar_encoder_decode_hex(e, f, &p, &len))
            return false;
        put_field_key(e, b, first, (size_t)(f - e->fields));
        ar_jv_sockaddr(e, b, f, arch);
        return true;
    case AR_FC_TEXT:
        return false;
    case AR_FC_NONE:
        if (rectype == AUDIT_EXECVE && is_execve_arg_key(f->key) &&
            ar_encoder_decode_hex(e, f, &p, &len)) {
            put_field_key(e, b, first, (size_t)(f - e->fields));
            ar_jv_bytes(e, b, first, f->key, p, len);
            return true;
        }
        return false;
    }
    if (!name)
        return false;
    put_field_key(e, b, first, (size_t)(f - e->fields));
    ar_jv_cstr(b, name);
    return true;
}

static void put_record(struct ar_encoder *e, struct ar_buf *b, const struct ar_event *ev,
                       uint32_t r, uint32_t event_arch);

/* `{"type":...,"fields":{` and the members of the record's first n body fields. */
static void put_record_head(struct ar_encoder *e, struct ar_buf *b,
                            const struct ar_rec_tokens *rt, uint32_t type, uint32_t n)
{
    AR_BUF_LIT(b, "{\"type\":");
    ar_jv_type(b, type);
    AR_BUF_LIT(b, ",\"fields\":{");
    put_fields(e, b, rt->first, rt->first + n);
}

/* The interpretations of a record's body fields [from, to) as members. */
static void put_interps(struct ar_encoder *e, struct ar_buf *b, bool *first,
                        const struct ar_rec_tokens *rt, uint32_t type, uint32_t from,
                        uint32_t to, uint32_t arch)
{
    uint32_t nested_end = 0;
    for (uint32_t i = from; i < to; i++) {
        const struct ar_field *f = &e->fields[rt->first + i];
        if (i >= nested_end)
            js(e)->parent = (struct ar_span){NULL, 0};
        if (f->kind == AR_VAL_NESTED) {
            js(e)->parent = f->key;
            nested_end = i + 1 + f->nested_count;
            continue;
        }
        if (f->kind == AR_VAL_BARE)
            continue;
        put_interp_value(e, b, first, rt, type, f, e->info[rt->first + i].cls, arch);
    }
    js(e)->parent = (struct ar_span){NULL, 0};
}

/* A SYSCALL record whose process part the memo holds (encoder.c's take_tail and
 * keep_tail: every field simple, no key on both sides, so the parts encode as the
 * whole does): its head written, the tail's three pieces (fields, interpretations,
 * ENRICHED member) copied, or written and kept. */
static void put_record_tail(struct ar_encoder *e, struct ar_buf *b, const struct ar_event *ev,
                            uint32_t r, uint32_t event_arch)
{
    const struct ar_rec_tokens *rt = &e->recs[r];
    struct ar_memo_entry *te = rt->tail_entry;
    uint32_t type = ev->records[r].type;
    uint32_t arch = rt->arch ? rt->arch : event_arch;
    bool have = te->out_valid && te->out_arch == arch &&
                te->out_gen == ar_idcache_generation(e->ids);
    uint64_t invalid_tail = 0, invalid_before;
    /* The tail's tokens: to write it, and for a head's id field, whose name may be in
     * the ENRICHED part the tail entry holds. */
    bool head_ids = false;
    for (uint32_t i = 0; i < rt->head_n && !head_ids; i++)
        head_ids = e->info[rt->first + i].cls == AR_FC_UID || e->info[rt->first + i].cls == AR_FC_GID;
    if (!have || (head_ids && rt->enr_n))
        ar_encoder_fields(e, &e->recs[r]);
    put_record_head(e, b, rt, type, rt->head_n);
    ar_buf_putc(b, ',');
    size_t fields_at = b->len;
    invalid_before = e->stats.invalid_utf8;
    if (have)
        ar_buf_put(b, te->out.p, te->out_fields_len);
    else
        put_fields(e, b, rt->first + rt->head_n, rt->first + rt->n);
    invalid_tail += e->stats.invalid_utf8 - invalid_before;
    size_t fields_len = b->len - fields_at;
    ar_buf_putc(b, '}');

    size_t mark = b->len;
    AR_BUF_LIT(b, ",\"interp\":{");
    bool first = true;
    put_interps(e, b, &first, rt, type, 0, rt->head_n, arch);
    size_t interp_at = b->len, interp_len;
    if (have) {
        interp_len = te->out_interp_len;
        if (interp_len && !first)
            ar_buf_putc(b, ',');
        interp_at = b->len;
        ar_buf_put(b, te->out.p + fields_len, interp_len);
    } else {
        /* Kept without a leading comma: the comma first, taken back when the tail
         * has no interpretation (not moved in after: the id memo points into b). */
        if (!first)
            ar_buf_putc(b, ',');
        interp_at = b->len;
        bool tail_first = true;
        invalid_before = e->stats.invalid_utf8;
        put_interps(e, b, &tail_first, rt, type, rt->head_n, rt->n, arch);
        invalid_tail += e->stats.invalid_utf8 - invalid_before;
        interp_len = b->len - interp_at;
        if (!interp_len && !first)
            b->len--;
    }
    if (interp_len)
        first = false;
    if (first)
        b->len = mark; /* no interpretation: leave the member out */
    else
        ar_buf_putc(b, '}');

    size_t enr_at = b->len;
    if (have) {
        ar_buf_put(b, te->out.p + te->out_fields_len + te->out_interp_len,
                   te->out.len - te->out_fields_len - te->out_interp_len);
    } else if (rt->enr_n) {
        invalid_before = e->stats.invalid_utf8;
        AR_BUF_LIT(b, ",\"enriched\":{");
        put_fields(e, b, rt->enr_first, rt->enr_first + rt->enr_n);
        ar_buf_putc(b, '}');
        invalid_tail += e->stats.invalid_utf8 - invalid_before;
    }
    size_t enr_len = b->len - enr_at;
    ar_buf_putc(b, '}');
    if (have) {
        e->stats.invalid_utf8 += te->out_invalid_utf8;
        return;
    }
    const struct ar_span pieces[] = {{b->p + fields_at, fields_len},
                                     {b->p + interp_at, interp_len},
                                     {b->p + enr_at, enr_len}};
    te->out_valid = !b->failed && ar_memo_bytes_set(&te->out, pieces, 3);
    te->out_fields_len = (uint32_t)fields_len;
    te->out_interp_len = (uint32_t)interp_len;
    te->out_arch = arch;
    te->out_gen = ar_idcache_generation(e->ids);
    te->out_invalid_utf8 = invalid_tail;
}

/* A record's member; for a record the memo holds (record_memo.h), written once per
 * arch and id cache generation and copied after that. */
static void put_record_memo(struct ar_encoder *e, struct ar_buf *b, const struct ar_event *ev,
                            uint32_t r, uint32_t event_arch)
{
    struct ar_memo_entry *m = e->recs[r].memo_entry;
    if (e->recs[r].tail_entry) {
        put_record_tail(e, b, ev, r, event_arch);
        return;
    }
    uint32_t arch = e->recs[r].arch ? e->recs[r].arch : event_arch;
    uint64_t gen = ar_idcache_generation(e->ids);
    if (m && m->out_valid && m->out_arch == arch && m->out_gen == gen) {
        ar_buf_put(b, m->out.p, m->out.len);
        e->stats.invalid_utf8 += m->out_invalid_utf8;
        return;
    }
    size_t start = b->len;
    uint64_t invalid_before = e->stats.invalid_utf8;
    ar_encoder_fields(e, &e->recs[r]);
    put_record(e, b, ev, r, event_arch);
    /* The generation again: names looked up while writing it belong to the output. */
    if (!m)
        return;
    struct ar_span piece = {b->p + start, b->len - start};
    m->out_valid = !b->failed && ar_memo_bytes_set(&m->out, &piece, 1);
    m->out_arch = arch;
    m->out_gen = ar_idcache_generation(e->ids);
    m->out_invalid_utf8 = e->stats.invalid_utf8 - invalid_before;
}

static void put_record(struct ar_encoder *e, struct ar_buf *b, const struct ar_event *ev,
                       uint32_t r, uint32_t event_arch)
{
    const struct ar_rec_tokens *rt = &e->recs[r];
    uint32_t type = ev->records[r].type;
    put_record_head(e, b, rt, type, rt->n);
    ar_buf_putc(b, '}');
    size_t mark = b->len;
    AR_BUF_LIT(b, ",\"interp\":{");
    bool first = true;
    put_interps(e, b, &first, rt, type, 0, rt->n, rt->arch ? rt->arch : event_arch);
    if (first)
        b->len = mark; /* no interpretation: leave the member out */
    else
        ar_buf_putc(b, '}');
    if (rt->enr_n) {
        AR_BUF_LIT(b, ",\"enriched\":{");
        put_fields(e, b, rt->enr_first, rt->enr_first + rt->enr_n);
        ar_buf_putc(b, '}');
    }
    ar_buf_putc(b, '}');
}

/* The members every line of ours starts with, in this order: outputs and readers
 * that look for the time, serial and node find them first. */
static void put_head(struct ar_encoder *e, struct ar_buf *b, bool *first, bool has_time,
                     uint64_t sec, uint32_t msec, uint32_t serial, struct ar_span node)
{
    ar_buf_putc(b, '{');
    AR_JV_KEY(b, first, "timestamp");
    if (has_time) {
        ar_buf_putc(b, '"');
        ar_buf_put(b, ar_encoder_timestamp(e, sec, msec), 24);
        ar_buf_putc(b, '"');
    } else {
        AR_BUF_LIT(b, "null");
    }
    AR_JV_KEY(b, first, "serial");
    ar_buf_u64(b, serial);
    if (node.len) {
        AR_JV_KEY(b, first, "node");
        ar_jv_str(b, node);
    }
    AR_JV_KEY(b, first, "source");
    ar_jv_cstr(b, e->cfg.source);
}

/* A timeout is how events without EOE normally end in a log, so only the caps make
 * an event incomplete. */
static void put_incomplete(struct ar_buf *b, bool *first, unsigned flags)
{
    if (!(flags & (AR_EVENT_EVICTED | AR_EVENT_TRUNCATED)))
        return;
    AR_JV_KEY(b, first, "incomplete");
    if ((flags & AR_EVENT_EVICTED) && (flags & AR_EVENT_TRUNCATED))
        AR_BUF_LIT(b, "[\"evicted\",\"truncated\"]");
    else if (flags & AR_EVENT_EVICTED)
        AR_BUF_LIT(b, "[\"evicted\"]");
    else
        AR_BUF_LIT(b, "[\"truncated\"]");
}

/* ---- the process object (enrich/proctable.h) ---- */

static void put_start(struct ar_buf *b, bool *first, uint64_t start_ms)
{
    char ts[32];
    ar_format_iso8601(start_ms / 1000, (uint32_t)(start_ms % 1000), ts);
    AR_JV_KEY(b, first, "start");
    ar_jv_cstr(b, ts);
}

static void put_proc_ref(struct ar_encoder *e, struct ar_buf *b, const struct ar_proc_ref *r,
                         bool full)
{
    bool first = true;
    ar_buf_putc(b, '{');
    AR_JV_KEY(b, &first, "pid");
    ar_buf_u64(b, r->pid);
    if (r->exe.len) {
        AR_JV_KEY(b, &first, "exe");
        ar_jv_bytes(e, b, &first, AR_SPAN_LIT("exe"), (const unsigned char *)r->exe.p,
                    r->exe.len);
        if (r->truncated) {
            AR_JV_KEY(b, &first, "exe_truncated");
            AR_BUF_LIT(b, "true");
        }
    }
    if ((full || !r->exe.len) && r->comm.len) { /* an ancestor's comm when its exe is unknown */
        AR_JV_KEY(b, &first, "comm");
        ar_jv_bytes(e, b, &first, AR_SPAN_LIT("comm"), (const unsigned char *)r->comm.p,
                    r->comm.len);
    }
    if (full && r->has_start)
        put_start(b, &first, r->start_ms);
    if (r->from_proc) {
        AR_JV_KEY(b, &first, "from_proc");
        AR_BUF_LIT(b, "true");
    }
    ar_buf_putc(b, '}');
}

/* Session, tty, container and unit; from_proc. After the older fields, so that
 * those keep their bytes. */
static void put_process_context(struct ar_buf *b, bool *first, const struct ar_proc_info *pi)
{
    if (pi->session != AR_PROC_SES_UNSET) {
        AR_JV_KEY(b, first, "session");
        ar_buf_u64(b, pi->session);
    }
    if (pi->tty_len) {
        AR_JV_KEY(b, first, "tty");
        ar_jv_str(b, (struct ar_span){pi->tty, pi->tty_len});
    }
    const struct ar_cgroup_ctx *cg = &pi->cgroup;
    if (cg->runtime || cg->pod_len) {
        AR_JV_KEY(b, first, "container");
        bool cfirst = true;
        ar_buf_putc(b, '{');
        if (cg->runtime) {
            AR_JV_KEY(b, &cfirst, "runtime");
            ar_jv_cstr(b, ar_cgroup_runtime_name(cg->runtime));
            AR_JV_KEY(b, &cfirst, "id");
            ar_jv_str(b, (struct ar_span){cg->id, cg->id_len});
        }
        if (cg->pod_len) {
            AR_JV_KEY(b, &cfirst, "pod_uid");
            ar_jv_str(b, (struct ar_span){cg->pod, cg->pod_len});
        }
        ar_buf_putc(b, '}');
    }
    if (cg->unit_len) {
        AR_JV_KEY(b, first, "unit");
        ar_jv_str(b, (struct ar_span){cg->unit, cg->unit_len});
    }
    if (pi->from_proc) {
        AR_JV_KEY(b, first, "from_proc");
        AR_BUF_LIT(b, "true");
    }
}

/* "process": what the table knows beyond the event's own pid and ppid. */
static void put_process(struct ar_encoder *e, struct ar_buf *b, bool *outer_first,
                        const struct ar_proc_info *pi)
{
    if (!pi || !pi->present ||
        !(pi->nancestors || pi->has_start || pi->script.len || pi->labels ||
          pi->session != AR_PROC_SES_UNSET || pi->tty_len || pi->cgroup.runtime ||
          pi->cgroup.pod_len || pi->cgroup.unit_len))
        return;
    AR_JV_KEY(b, outer_first, "process");
    bool first = true;
    ar_buf_putc(b, '{');
    if (pi->has_start)
        put_start(b, &first, pi->start_ms);
    if (pi->script.len) {
        AR_JV_KEY(b, &first, "script");
        ar_jv_bytes(e, b, &first, AR_SPAN_LIT("script"), (const unsigned char *)pi->script.p,
                    pi->script.len);
        if (pi->script_truncated) {
            AR_JV_KEY(b, &first, "script_truncated");
            AR_BUF_LIT(b, "true");
        }
    }
    if (pi->labels) {
        AR_JV_KEY(b, &first, "labels");
        ar_buf_putc(b, '[');
        bool any = false;
        for (size_t i = 0; i < AR_PROC_MAX_LABELS; i++) {
            if (!(pi->labels & (1ull << i)) || !pi->label_names[i])
                continue;
            if (any)
                ar_buf_putc(b, ',');
            any = true;
            ar_jv_cstr(b, pi->label_names[i]);
        }
        ar_buf_putc(b, ']');
    }
    if (pi->nancestors) {
        AR_JV_KEY(b, &first, "parent");
        put_proc_ref(e, b, &pi->ancestors[0], true);
    }
    if (pi->nancestors > 1) {
        AR_JV_KEY(b, &first, "ancestors");
        ar_buf_putc(b, '[');
        for (uint32_t i = 1; i < pi->nancestors; i++) {
            if (i > 1)
                ar_buf_putc(b, ',');
            put_proc_ref(e, b, &pi->ancestors[i], false);
        }
        ar_buf_putc(b, ']');
    }
    put_process_context(b, &first, pi);
    ar_buf_putc(b, '}');
}

static int json_event(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *b)
{
    if (ar_encoder_tokenize_lazy(e, ev, true) < 0)
        return -ENOMEM;
    memset(js(e)->ids, 0, sizeof(js(e)->ids));
    bool first = true;
    put_head(e, b, &first, ev->has_time, ev->sec, ev->msec, ev->serial, ar_event_node(ev));
    uint32_t arch = ar_summary_memo_json(e, js(e)->summary_memo, ev, b, &first);
    put_process(e, b, &first, ev->proc);
    put_incomplete(b, &first, ev->flags);
    AR_JV_KEY(b, &first, "records");
    ar_buf_putc(b, '[');
    for (uint32_t r = 0; r < ev->nrecords; r++) {
        if (r)
            ar_buf_putc(b, ',');
        put_record_memo(e, b, ev, r, arch);
    }
    AR_BUF_LIT(b, "]}\n");
    return 0;
}

void ar_json_loss(struct ar_encoder *e, const struct ar_loss *loss, struct ar_buf *out)
{
    bool first = true;
    put_head(e, out, &first, true, loss->now_sec, 0, loss->after_serial, loss->node);
    AR_JV_KEY(out, &first, "type");
    AR_BUF_LIT(out, "\"AUDITRELAY_LOST\"");
    AR_JV_KEY(out, &first, "category");
    AR_BUF_LIT(out, "\"loss\"");
    AR_JV_KEY(out, &first, "loss");
    ar_buf_putc(out, '{');
    bool f2 = true;
    AR_JV_KEY(out, &f2, "kind");
    ar_jv_cstr(out, loss->kind);
    AR_JV_KEY(out, &f2, "count");
    ar_buf_u64(out, loss->count);
    AR_JV_KEY(out, &f2, "after_serial");
    ar_buf_u64(out, loss->after_serial);
    AR_BUF_LIT(out, "},\"records\":[]}\n");
}

const struct ar_format_ops ar_format_json = {
    .name = "json",
    .open = json_open,
    .close = json_close,
    .event = json_event,
    .loss = ar_json_loss,
    .process = true,
};
