/* Records met before. Most records other than SYSCALL repeat byte for byte: a
 * process's PROCTITLE and CWD come with every syscall it makes, the PATH of a file
 * opened again is the same text (the bench log: 72,487 PATH records, 77 different
 * bodies; 68,247 PROCTITLE, 99). For such a record the encoder keeps its tokens (as
 * offsets, moved onto the new text) and the JSON format keeps the record's finished
 * member, so a repeat costs a hash, a compare and two copies instead of tokenizing,
 * classifying and writing it again.
 *
 * One memo per encoder (no locking), two ways per set and bounded: at most MEMO_SLOTS
 * records of at most AR_MEMO_MAX_TEXT bytes, each output at most AR_MEMO_MAX_OUT. An
 * entry that hits is kept against a few records that would take it (`life`), so a
 * stream of one-off records does not push out the ones that repeat. Output is byte
 * for byte what encoding again gives: an entry's output is valid only for the arch
 * it was interpreted with and while the id cache has not looked anything up since
 * (ar_idcache_generation). Only encode/ includes this. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "audit/fieldclass.h"
#include "parse/tokenize.h"
#include "util/span.h"

#define AR_MEMO_MAX_TEXT 1024 /* body and ENRICHED part together */
/* Marks a type as "the tail of a record of this type": a SYSCALL record's process
 * part (auid= to the end), which repeats for every syscall of a process, and of
 * every process of a program run again, while its head (arch, syscall, exit,
 * arguments, ppid, pid) does not. */
#define AR_MEMO_TAIL (1u << 31)
#define AR_MEMO_MAX_FIELDS 64
#define AR_MEMO_MAX_OUT 4096

/* A field as offsets into its record's text (body, then the ENRICHED part). */
struct ar_memo_field {
    uint32_t key_off, value_off;
    uint16_t key_len, value_len;
    uint8_t kind, depth, in_enriched;
    uint16_t nested_count;
};

/* Bytes an entry keeps, in an allocation of their size (reused while big enough):
 * a memo of a few hundred records costs about what they hold. */
struct ar_memo_bytes {
    char *p;
    uint32_t len, cap;
};

/* Sets dst to the n pieces one after the other. False, and dst empty, when memory
 * ran out or they are longer than AR_MEMO_MAX_OUT. */
bool ar_memo_bytes_set(struct ar_memo_bytes *dst, const struct ar_span *pieces, size_t n);

struct ar_memo_entry {
    uint64_t hash;   /* 0: empty */
    uint64_t stamp;  /* new whenever the slot takes another record: names the text */
    uint64_t event;  /* the encoder's event that last used it: not replaced within it */
    uint32_t type;
    uint32_t body_len, enr_len;
    uint32_t n, enr_n; /* body fields, then ENRICHED fields */
    uint32_t arch;     /* the record's own arch= */
    uint8_t life;
    /* One allocation (block) holds the fields, their classes and key ids, and the
     * text: body then ENRICHED part, compared on every hit. */
    void *block;
    size_t block_cap;
    struct ar_memo_field *fields;
    struct ar_field_info *info;
    uint16_t *key_id;
    char *text;
    uint64_t key_set[16]; /* a tail's key ids (all nonzero, below 1024) */
    /* The JSON format's record member, for one arch and id cache generation. For a
     * tail: its fields' members, then its interpretations' members (neither with a
     * leading comma), then the ENRICHED member. */
    struct ar_memo_bytes out;
    uint32_t out_fields_len, out_interp_len;
    bool out_valid;
    uint32_t out_arch;
    uint64_t out_gen;
    uint64_t out_invalid_utf8; /* what writing it added to stats.invalid_utf8 */
    /* One field's value as jsonvalue.c writes it for the summary (a proctitle's argv,
     * a sockaddr read with `value_variant`'s arch); names play no part in these. */
    struct ar_memo_bytes value;
    bool value_valid;
    uint32_t value_field, value_variant;
    uint64_t value_invalid_utf8;
};

struct ar_record_memo;

/* The memos' hash: h mixed with len bytes at p. */
uint64_t ar_memo_hash_bytes(uint64_t h, const char *p, size_t len);

int ar_record_memo_new(struct ar_record_memo **ret);
void ar_record_memo_free(struct ar_record_memo *m);

/* The hash of a record a memo may hold, or 0 when it may not (whole SYSCALL records,
 * which hardly ever repeat, empty and long ones). type may carry AR_MEMO_TAIL. */
uint64_t ar_record_memo_hash(uint32_t type, struct ar_span body, struct ar_span enr);

/* The entry holding exactly this record, or NULL; marks it used by `event`. */
struct ar_memo_entry *ar_record_memo_find(struct ar_record_memo *m, uint64_t hash, uint32_t type,
                                          struct ar_span body, struct ar_span enr,
                                          uint64_t event);

/* Keeps a record just tokenized: fields[0, n) are its body's, [n, n + enr_n) its
 * ENRICHED part's, with their classes and key ids. Returns the entry, or NULL when
 * the slot stays with the record it holds (or memory ran out). */
struct ar_memo_entry *ar_record_memo_keep(struct ar_record_memo *m, uint64_t hash, uint32_t type,
                                          struct ar_span body, struct ar_span enr,
                                          const struct ar_field *fields, uint32_t n,
                                          uint32_t enr_n, const struct ar_field_info *info,
                                          const uint16_t *key_id, uint32_t arch,
                                          uint64_t event);

/* Writes the entry's fields back as tokens of the record at body/enr (the same
 * text at another address). */
/* A SYSCALL body's process part: from its " auid=" on (past the space); empty when
 * it has none. The pids stay in the head: with them in the tail, the bench log's
 * 68,247 SYSCALL records had 28,559 different tails; without, 91. */
struct ar_span ar_record_memo_tail(struct ar_span body);

/* Whether a key id is one of a tail entry's. */
static inline bool ar_record_memo_has_key(const struct ar_memo_entry *en, uint16_t id)
{
    return id < 1024 && (en->key_set[id >> 6] >> (id & 63) & 1);
}

void ar_record_memo_fields(const struct ar_memo_entry *en, struct ar_span body,
                           struct ar_span enr, struct ar_field *fields);
