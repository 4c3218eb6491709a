#include "parse/tokenize.h"

#include <stdbool.h>
#include <string.h>

static const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* Eight bytes at a time: the lowest byte of a word equal to c has its high bit set
 * in byte_eq (bytes above a match may be flagged falsely, never below one). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static inline uint64_t byte_eq(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (ONES * c);
    return (x - ONES) & ~x & HIGHS;
}

/* The first a or b in [p, end), or end (a == b: one byte looked for). Keys and
 * values are mostly shorter than 16 bytes: a word-wise scan beats a call to memchr
 * there. */
static inline __attribute__((always_inline)) const char *find_either(const char *p,
                                                                     const char *end,
                                                                     char a, char b)
{
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t m = byte_eq(w, (unsigned char)a) | byte_eq(w, (unsigned char)b);
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
    while (p < end && *p != a && *p != b)
        p++;
    return p;
}

static const char *find_space_or_equals(const char *p, const char *end)
{
    return find_either(p, end, ' ', '=');
}

/* The first '=' in the word at p, or NULL when the word has none; then *ret_end is
 * the word's end (callers need it only for words without '='). */
static const char *word_equals(const char *p, const char *end, const char **ret_end)
{
    const char *q = find_space_or_equals(p, end);
    *ret_end = q;
    return q < end && *q == '=' ? q : NULL;
}

/* A nested msg='...' closes at a quote followed by a space or the end, so that a
 * stray quote inside the text does not end it early. */
static const char *find_nested_close(const char *p, const char *end)
{
    for (;;) {
        const char *q = memchr(p, '\'', (size_t)(end - p));
        if (!q)
            return NULL;
        if (q + 1 == end || q[1] == ' ')
            return q;
        p = q + 1;
    }
}

static struct ar_field *push(struct ar_tokens *t)
{
    if (t->n == t->cap) {
        t->flags |= AR_TOK_TRUNCATED;
        return NULL;
    }
    return &t->fields[t->n++];
}

/* End of an unquoted value: the next space. Values can be long (hex proctitle),
 * so memchr. */
static const char *value_end(const char *p, const char *end)
{
    for (int i = 0; i < 2 && end - p >= 8; i++, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t m = byte_eq(w, ' ');
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
    }
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    return sp ? sp : end;
}

static void tokenize_level(const char *p, const char *end, struct ar_tokens *t, uint8_t depth)
{
    /* The run-on check below scans the next word; its result is kept here so the
     * word is not scanned twice. */
    const char *known_p = NULL, *known_eq = NULL, *known_we = NULL;
    p = skip_spaces(p, end);
    while (p < end) {
        const char *we, *eq;
        if (p == known_p) {
            eq = known_eq;
            we = known_we;
        } else {
            eq = word_equals(p, end, &we);
        }
        if (!eq) {
            struct ar_field *f = push(t);
            if (f)
                *f = (struct ar_field){.key = {p, 0}, .value = ar_span_make(p, we),
                                       .kind = AR_VAL_BARE, .depth = depth};
            p = skip_spaces(we, end);
            continue;
        }
        struct ar_span key = ar_span_make(p, eq);
        const char *v = eq + 1;
        struct ar_field field = {.key = key, .kind = AR_VAL_PLAIN, .depth = depth};
        if (v < end && *v == '"') {
            const char *q = memchr(v + 1, '"', (size_t)(end - v - 1));
            if (!q) {
                t->flags |= AR_TOK_UNTERMINATED;
                q = end;
            }
            field.kind = AR_VAL_QUOTED;
            field.value = ar_span_make(v + 1, q);
            p = q < end ? q + 1 : end;
        } else if (v < end && *v == '\'' && depth == 0) {
            const char *q = find_nested_close(v + 1, end);
            if (!q) {
                t->flags |= AR_TOK_UNTERMINATED;
                q = end;
            }
            field.kind = AR_VAL_NESTED;
            field.value = ar_span_make(v + 1, q);
            struct ar_field *f = push(t);
            if (!f)
                return;
            size_t before = t->n;
            tokenize_level(v + 1, q, t, 1);
            field.nested_count = (uint16_t)(t->n - before > UINT16_MAX ? UINT16_MAX : t->n - before);
            *f = field;
            p = q < end ? q + 1 : end;
            p = skip_spaces(p, end);
            continue;
        } else if (v < end && *v == '{') {
            /* auditd's ENRICHED SADDR={ fam=local path=/tmp/{x} } is one value, up
             * to " }" at the end of a word (paths may hold braces). */
            const char *ve = NULL;
            for (const char *q = v; (q = memchr(q, '}', (size_t)(end - q))); q++)
                if (q[-1] == ' ' && (q + 1 == end || q[1] == ' ')) {
                    ve = q + 1;
                    break;
                }
            if (!ve)
                ve = value_end(v, end);
            field.value = ar_span_make(v, ve);
            p = ve;
        } else {
            const char *ve = value_end(v, end);
            /* Some values are printed unquoted with spaces inside: op in old
             * user-space records ("op=changing comment id=1003"), AppArmor labels
             * ("subj=/usr/sbin/cupsd (enforce)"), SADDR in auditd's ENRICHED part
             * ("SADDR=unknown family(0)"): following words with no '=' belong to
             * them. Elsewhere such words stand alone ("uid=0 old auid=..."). */
            for (bool run_on = AR_SPAN_IS(key, "op") || AR_SPAN_IS(key, "subj") ||
                               AR_SPAN_IS(key, "SADDR");
                 ;) {
                const char *next = skip_spaces(ve, end), *next_end;
                if (next == end || *next == '"' || *next == '\'')
                    break;
                const char *next_eq = word_equals(next, end, &next_end);
                if (next_eq) {
                    known_p = next;
                    known_eq = next_eq;
                    known_we = next_end;
                    break;
                }
                if (!run_on)
                    break;
                ve = next_end;
            }
            p = ve; /* the value ends at a space or the end; trimming below keeps p */
            if (depth > 0) {
                /* Old PAM messages: "(hostname=?, addr=?, terminal=cron res=success)".
                 * Like libauparse, the punctuation is not part of the values. */
                while (ve > v && (ve[-1] == ',' || ve[-1] == ')'))
                    ve--;
                if (field.key.len > 1 && field.key.p[0] == '(') {
                    field.key.p++;
                    field.key.len--;
                }
            }
            field.value = ar_span_make(v, ve);
            if (AR_SPAN_IS(field.value, "(null)"))
                field.kind = AR_VAL_NULL;
        }
        struct ar_field *f = push(t);
        if (f)
            *f = field;
        p = skip_spaces(p, end);
    }
}

size_t ar_tokenize(const char *p, const char *end, struct ar_tokens *t)
{
    t->n = 0;
    t->flags = 0;
    tokenize_level(p, end, t, 0);
    return t->n;
}

bool ar_tokenize_plain_until(const char *p, const char *end, struct ar_span stop,
                             struct ar_tokens *t, const char **ret_stop)
{
    t->n = 0;
    t->flags = 0;
    p = skip_spaces(p, end);
    while (p < end) {
        const char *eq = find_space_or_equals(p, end);
        if (eq == end || *eq != '=')
            return false; /* a word: ar_tokenize makes it a field of its own or runs on */
        struct ar_span key = ar_span_make(p, eq);
        if (ar_span_eq(key, stop.p, stop.len)) {
            *ret_stop = p;
            return t->n > 0 && p[-1] == ' ';
        }
        /* A value ar_tokenize may run on (op=, subj=) runs on only over a word
         * without '=', which ends this run anyway. */
        const char *v = eq + 1;
        if ((v < end && (*v == '"' || *v == '\'' || *v == '{')) || t->n == t->cap)
            return false;
        const char *ve = value_end(v, end);
        struct ar_field *f = &t->fields[t->n++];
        *f = (struct ar_field){.key = key, .value = ar_span_make(v, ve), .kind = AR_VAL_PLAIN};
        if (AR_SPAN_IS(f->value, "(null)"))
            f->kind = AR_VAL_NULL;
        p = skip_spaces(ve, end);
    }
    return false;
}

/* One plain `key=value ` of the SYSCALL head; key a literal, so that the compare is
 * inlined (a memcmp call per key was 1% of a replay). */
static inline __attribute__((always_inline)) bool head_field(const char **pp, const char *end,
                                                             struct ar_tokens *t,
                                                             const char *key, size_t len)
{
    const char *p = *pp;
    if ((size_t)(end - p) < len + 1 || memcmp(p, key, len) != 0 || p[len] != '=')
        return false;
    const char *v = p + len + 1;
    if (v < end && (*v == '"' || *v == '\'' || *v == '{'))
        return false;
    const char *ve = find_either(v, end, ' ', ' ');
    if (ve == end)
        return false;
    struct ar_field *f = &t->fields[t->n++];
    *f = (struct ar_field){.key = {p, len}, .value = ar_span_make(v, ve), .kind = AR_VAL_PLAIN};
    if (AR_SPAN_IS(f->value, "(null)"))
        f->kind = AR_VAL_NULL;
    *pp = ve + 1;
    return true;
}

bool ar_tokenize_syscall_head(const char *p, const char *end, struct ar_tokens *t,
                              const char **ret_auid)
{
    t->n = 0;
    t->flags = 0;
    if (t->cap < AR_SYSCALL_HEAD_FIELDS)
        return false;
    if (!head_field(&p, end, t, "arch", 4) || !head_field(&p, end, t, "syscall", 7) ||
        !head_field(&p, end, t, "success", 7) || !head_field(&p, end, t, "exit", 4) ||
        !head_field(&p, end, t, "a0", 2) || !head_field(&p, end, t, "a1", 2) ||
        !head_field(&p, end, t, "a2", 2) || !head_field(&p, end, t, "a3", 2) ||
        !head_field(&p, end, t, "items", 5) || !head_field(&p, end, t, "ppid", 4) ||
        !head_field(&p, end, t, "pid", 3))
        return false;
    if ((size_t)(end - p) < 5 || memcmp(p, "auid=", 5) != 0)
        return false;
    *ret_auid = p;
    return true;
}
