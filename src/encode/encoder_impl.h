/* What the encoder holds for every format (encode/format.h): the configuration,
 * names, counters, and the event tokenized once with each field's class and its
 * hex decoded on demand. Only encode/ includes this. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "encode/encoder.h"
#include "encode/keys.h"
#include "encode/record_memo.h"
#include "audit/fieldclass.h"
#include "enrich/normalize.h"
#include "parse/tokenize.h"

/* Fields tokenized per event (all records together); beyond it, the rest of a
 * record's fields are dropped and counted. EXECVE records carry the most. */
#define AR_ENC_MAX_FIELDS 65536

/* One record's fields in the encoder's field array. */
struct ar_rec_tokens {
    uint32_t first, n;         /* body fields */
    uint32_t enr_first, enr_n; /* fields of the ENRICHED part */
    uint32_t arch;             /* the record's own arch= (0: none) */
    struct ar_memo_entry *memo_entry; /* the record memo's entry for it, or NULL */
    /* A SYSCALL record whose process part the memo holds (AR_MEMO_TAIL): its first
     * head_n body fields are its own, the rest the entry's. */
    struct ar_memo_entry *tail_entry;
    uint32_t head_n;
    struct ar_span body, enr; /* the record's text */
    /* The memo's tokens (the whole record's, or a tail's) are not in the event's
     * arrays yet: ar_encoder_fields puts them there. */
    bool pending;
};

/* An EXECVE argument in ar_argv.bytes. */
struct ar_argv_slot {
    uint32_t off, len;
    bool present;
};

/* The event's EXECVE arguments joined (aN, and aN_len / aN[i] chunks across
 * records), rebuilt for each event by the summary. */
struct ar_argv {
    struct ar_buf bytes;
    struct ar_argv_slot *slots;
    size_t cap;
    size_t n; /* slots filled for the current event */
};

enum ar_decode_state { AR_DEC_UNKNOWN, AR_DEC_DONE, AR_DEC_NOT_HEX };

struct ar_encoder {
    struct ar_encoder_config cfg; /* cfg.format is never NULL here */
    struct ar_idcache *ids;       /* may be NULL */
    struct ar_encoder_stats stats;
    void *format_state;           /* the format's own (ops->open) */

    /* The event after ar_encoder_tokenize: fields of all records, a class per
     * field, and the records' ranges in them. */
    struct ar_field *fields;
    struct ar_field_info *info; /* parallel to fields */
    uint16_t *key_id;           /* parallel to fields: the name's id in keys, 0 for none */
    struct ar_keys *keys;
    struct ar_record_memo *records_memo; /* records met before (record_memo.h) */
    uint64_t events;             /* events tokenized: the memo's clock */
    struct ar_rec_tokens *recs;
    uint32_t nrecs;                   /* records of the event tokenized */
    struct ar_norm_record *norm_recs; /* parallel to recs: what the normalizer reads */
    size_t recs_cap;
    struct ar_normalized *norm;       /* the event's normalized summary (summary.c) */
    /* Hex values decoded once per event (a PATH name or proctitle is used by both the
     * record's interpretation and the summary): state per field, bytes in an arena
     * reset for each event. */
    uint8_t *dec_state; /* parallel to fields: enum ar_decode_state */
    uint32_t *dec_off, *dec_len;
    struct ar_buf decoded;
    struct ar_argv argv;
    /* JSON values written twice per event (jsonvalue.h's ar_jv_proctitle and
     * ar_jv_sockaddr: the summary's and the record's): where the first went, so the
     * second is a copy. Emptied when the event is tokenized. */
    struct ar_jv_memo {
        const struct ar_field *f;
        uint32_t variant;     /* the arch a sockaddr was read with */
        const struct ar_buf *b;
        size_t off, len;
        uint64_t invalid_utf8; /* what writing it added to stats.invalid_utf8 */
    } memo[4];
    uint32_t memo_n;

    char ts[32]; /* the last timestamp written, kept: consecutive events share it */
    uint64_t ts_sec;
    uint32_t ts_msec;
    bool ts_valid;
};

/* Tokenizes every record of the event into e->fields / e->recs (body, ENRICHED
 * part, each record's arch) and resets the hex cache. Returns 0 or -ENOMEM. */
int ar_encoder_tokenize(struct ar_encoder *e, const struct ar_event *ev);

/* ar_encoder_tokenize that leaves the tokens of records the memo holds where they
 * are (lazy): a format that copies such a record's kept output, and the summary's,
 * never reads them. Before reading a record's fields, ar_encoder_fields; before
 * reading the event's (ar_summary_gather), ar_encoder_fields_all. A SYSCALL head's
 * own fields are always there. */
int ar_encoder_tokenize_lazy(struct ar_encoder *e, const struct ar_event *ev, bool lazy);
void ar_encoder_fields(struct ar_encoder *e, struct ar_rec_tokens *rt);
void ar_encoder_fields_all(struct ar_encoder *e);

/* The first look at a field (the slow path of ar_encoder_decode_hex): decodes and
 * remembers the result. */
bool ar_encoder_decode_hex_first(struct ar_encoder *e, const struct ar_field *f,
                                 const unsigned char **ret_p, size_t *ret_len);

/* The decoded bytes of a tokenized field the kernel hex-encoded (unquoted, even
 * length, hex digits only). Returns false when the value is not hex. The bytes stay
 * valid until the next event is tokenized (the arena is reserved for the whole
 * event up front, so it never moves meanwhile). */
static inline bool ar_encoder_decode_hex(struct ar_encoder *e, const struct ar_field *f,
                                         const unsigned char **ret_p, size_t *ret_len)
{
    size_t i = (size_t)(f - e->fields);
    switch (e->dec_state[i]) {
    case AR_DEC_DONE:
        *ret_p = (const unsigned char *)e->decoded.p + e->dec_off[i];
        *ret_len = e->dec_len[i];
        return true;
    case AR_DEC_NOT_HEX:
        return false;
    default:
        return ar_encoder_decode_hex_first(e, f, ret_p, ret_len);
    }
}

/* The ISO-8601 text of (sec, msec): 24 characters, valid until the next call. */
const char *ar_encoder_timestamp(struct ar_encoder *e, uint64_t sec, uint32_t msec);

static inline bool ar_field_u64(const struct ar_field *f, uint64_t *ret)
{
    return f && f->kind == AR_VAL_PLAIN && ar_span_to_u64(f->value, ret);
}

static inline bool ar_field_i64(const struct ar_field *f, int64_t *ret)
{
    return f && f->kind == AR_VAL_PLAIN && ar_span_to_i64(f->value, ret);
}

/* The name a record's ENRICHED part gives one of its fields ("uid" -> UID="root"):
 * the recording host's (auditd's ENRICHED log, a go-audit line's uid_map). NULL
 * when it has none. */
const struct ar_field *ar_enc_enriched_for(const struct ar_encoder *e,
                                           const struct ar_rec_tokens *rt, struct ar_span key);
