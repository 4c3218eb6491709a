#include "parse/tokenize.h"

#include <stdbool.h>

static const char *skip_spaces(const char *p, const char *end)
{
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* Bytes that end or split a word: one table lookup per byte instead of two compares. */
enum { WORD_BYTE = 0, WORD_SPACE = 1, WORD_EQUALS = 2 };
static const uint8_t word_class[256] = {[' '] = WORD_SPACE, ['='] = WORD_EQUALS};

/* The first '=' in the word at p, or NULL when the word has none; *ret_end is the
 * word's end. */
static const char *word_equals(const char *p, const char *end, const char **ret_end)
{
    const char *eq = NULL;
    for (; p < end; p++) {
        uint8_t c = word_class[(unsigned char)*p];
        if (c == WORD_BYTE)
            continue;
        if (c == WORD_SPACE)
            break;
        if (!eq)
            eq = p;
    }
    *ret_end = p;
    return eq;
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
        } else {
            const char *ve = value_end(v, end);
            /* Old records print some values unquoted with spaces inside
             * ("op=changing comment id=1003"): following words with no '='
             * belong to the value. */
            for (;;) {
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
                ve = next_end;
            }
            field.value = ar_span_make(v, ve);
            if (AR_SPAN_IS(field.value, "(null)"))
                field.kind = AR_VAL_NULL;
            p = ve;
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
