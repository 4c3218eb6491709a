/* JSON pieces the JSON formats share: members, strings that may not be UTF-8
 * (kept reversibly as "<key>.hex"), decoded values (file modes, sockaddrs,
 * NUL-separated lists), record type names, and the loss line. Only encode/
 * includes this. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "encode/encoder_impl.h"

static inline void ar_jv_str(struct ar_buf *b, struct ar_span s)
{
    ar_json_string(b, s.p, s.len, AR_JSON_ESCAPE_MINIMAL);
}

static inline void ar_jv_cstr(struct ar_buf *b, const char *s)
{
    ar_json_string(b, s, strlen(s), AR_JSON_ESCAPE_MINIMAL);
}

/* Writes `,"key":` (or without the comma for the first member). */
static inline void ar_jv_key(struct ar_buf *b, bool *first, const char *key, size_t len)
{
    if (!*first)
        ar_buf_putc(b, ',');
    *first = false;
    ar_json_key(b, key, len);
}

/* A member name written in the code: a plain identifier, so `,"lit":` is copied as
 * one constant without the per-byte check (the comma left out for the first). */
static inline void ar_jv_plain_key(struct ar_buf *b, bool *first, const char *comma_quoted, size_t n)
{
    size_t skip = *first;
    *first = false;
    if (!ar_buf_reserve(b, n))
        return;
    /* n bytes from comma_quoted + skip, so that the copy's size is the literal's (a
     * few moves, no call); with the comma skipped the last one is the literal's NUL,
     * past the member and not counted. */
    memcpy(b->p + b->len, comma_quoted + skip, n);
    b->len += n - skip;
}

/* A member name written in the code, also as an argument to a helper that writes
 * the member: `,"lit":` built at compile time, written with ar_jv_name (only
 * AR_JV_NAME makes one: ar_jv_plain_key reads the literal's NUL). */
struct ar_jv_name {
    const char *comma_quoted;
    size_t len;
};
#define AR_JV_NAME(lit) ((struct ar_jv_name){",\"" lit "\":", sizeof(lit) + 3})

static inline void ar_jv_name(struct ar_buf *b, bool *first, struct ar_jv_name n)
{
    ar_jv_plain_key(b, first, n.comma_quoted, n.len);
}

#define AR_JV_KEY(b, first, lit) ar_jv_name((b), (first), AR_JV_NAME(lit))

/* The bare name ("lit"), for ar_jv_bytes's "<key>.hex". */
static inline struct ar_span ar_jv_name_span(struct ar_jv_name n)
{
    return (struct ar_span){n.comma_quoted + 2, n.len - 4};
}

/* ar_jv_bytes's slow path, for bytes that are not UTF-8: counts them and adds the
 * "<key>.hex" member. */
void ar_jv_bytes_invalid(struct ar_encoder *e, struct ar_buf *b, bool *first, struct ar_span key,
                         const unsigned char *p, size_t len);

/* Writes a string that may not be UTF-8; when it is not, the raw bytes follow as
 * "<key>.hex" so that nothing is lost (counted in stats.invalid_utf8). `key.p`
 * may be NULL inside arrays. Inline: nearly every field's value comes here. */
static inline void ar_jv_bytes(struct ar_encoder *e, struct ar_buf *b, bool *first,
                               struct ar_span key, const unsigned char *p, size_t len)
{
    if (!ar_json_string(b, (const char *)p, len, AR_JSON_ESCAPE_MINIMAL))
        ar_jv_bytes_invalid(e, b, first, key, p, len);
}

/* The value of an ESCAPED field as text: decoded hex, or the text as written. */
void ar_jv_text(struct ar_encoder *e, struct ar_buf *b, bool *first, struct ar_span key,
                const struct ar_field *f);

/* An octal st_mode as auparse prints it ("file,644", "setuid,file,4755"); the
 * value as written when it is not octal. */
void ar_jv_mode(struct ar_buf *b, const struct ar_field *f);

/* A hex sockaddr field (the caller checked that it decodes) as an object (family,
 * addr, port, path...); arch gives the byte order (0: this machine's). Written
 * once per event: a second call for the field copies the first's JSON. */
void ar_jv_sockaddr(struct ar_encoder *e, struct ar_buf *b, const struct ar_field *f,
                    uint32_t arch);

/* A proctitle field as an array of its NUL-separated arguments, or [value] when it
 * is not hex. Written once per event: the summary's "proctitle" and the PROCTITLE
 * record's "argv" are the same, so the second is a copy of the first. */
void ar_jv_proctitle(struct ar_encoder *e, struct ar_buf *b, const struct ar_field *f);

/* Bytes separated by `sep` (NUL in proctitle, 0x01 between keys) as an array of
 * strings; a trailing separator does not start another element. */
void ar_jv_list(struct ar_encoder *e, struct ar_buf *b, const unsigned char *p, size_t len,
                unsigned char sep);

/* A record type's name as a string ("SYSCALL"), "UNKNOWN[1234]" without one. */
void ar_jv_type(struct ar_buf *b, uint32_t type);

/* Our schema's loss event, {"timestamp",...,"type":"AUDITRELAY_LOST",...}: what
 * every JSON format writes for a loss (encode/json.c). */
void ar_json_loss(struct ar_encoder *e, const struct ar_loss *loss, struct ar_buf *out);
