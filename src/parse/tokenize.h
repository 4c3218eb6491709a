/* Zero-copy tokenizer for an audit record body: splits `key=value` text into spans
 * into the caller's buffer, written to a caller-provided array. No allocation, every
 * read bounded by the end pointer, no NUL assumed (the picohttpparser/jsmn model). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "util/span.h"

enum ar_value_kind {
    AR_VAL_PLAIN,   /* unquoted: number, hex-encoded string, "?", "(none)", words */
    AR_VAL_QUOTED,  /* "..." : quotes stripped from the span */
    AR_VAL_NULL,    /* (null) */
    AR_VAL_NESTED,  /* msg='...' : the span is the inner text; its fields follow */
    AR_VAL_BARE,    /* a word with no '=' ("auditd", "avc:"); key is empty */
};

struct ar_field {
    struct ar_span key;
    struct ar_span value;
    uint8_t kind;   /* enum ar_value_kind */
    uint8_t depth;  /* 0 at top level, 1 inside a NESTED value */
    uint16_t nested_count; /* for AR_VAL_NESTED: how many following fields are inside it */
};

/* Why a body was not tokenized cleanly; counted by the caller. */
enum ar_tokenize_flags {
    AR_TOK_TRUNCATED = 1u << 0, /* more fields than the array holds: the rest dropped */
    AR_TOK_UNTERMINATED = 1u << 1, /* a quote never closed: value runs to the end */
};

struct ar_tokens {
    struct ar_field *fields; /* caller-provided */
    size_t cap;              /* capacity of fields */
    size_t n;                /* filled by ar_tokenize */
    unsigned flags;          /* enum ar_tokenize_flags */
};

/* Tokenizes [p, end) into t->fields. An unquoted op, subj (AppArmor) or ENRICHED SADDR value runs on
 * over following words holding no '=' (old `op=changing comment id=..` records); other words without
 * '=' are BARE fields. A value starting with '{' runs to the next '}' (ENRICHED
 * SADDR={ ... }). Inside a nested msg='...', old PAM punctuation around values
 * ("(hostname=?, res=success)") is left out of keys and values. Returns the number of
 * fields (also in t->n); never fails: problems are reported in t->flags. */
size_t ar_tokenize(const char *p, const char *end, struct ar_tokens *t);

/* The fields before the first one whose key is `stop`, when each is key=value with
 * a plain or (null) value: then exactly what ar_tokenize gives for the text up to
 * the space before that key, and *ret_stop is where the key begins. False for
 * anything else (a word without '=', a quoted, nested or braced value, no such key,
 * more fields than t holds), and t's
 * fields are then of no use. A SYSCALL record's head up to auid= (encode/). */
bool ar_tokenize_plain_until(const char *p, const char *end, struct ar_span stop,
                             struct ar_tokens *t, const char **ret_stop);

/* The fields of a SYSCALL record's head, arch= to pid=. */
#define AR_SYSCALL_HEAD_FIELDS 11

/* ar_tokenize_plain_until(p, end, "auid", ...) for a SYSCALL record's head as the
 * kernel writes it (audit_log_exit): arch= syscall= success= exit= a0= a1= a2= a3=
 * items= ppid= pid=, one space apart, then auid=. The keys known, only the values
 * are scanned. False for any other text (then ar_tokenize_plain_until). */
bool ar_tokenize_syscall_head(const char *p, const char *end, struct ar_tokens *t,
                              const char **ret_auid);
