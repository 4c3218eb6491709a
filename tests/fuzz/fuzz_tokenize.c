/* Fuzz target: the tokenizer. Checks that every span stays inside the input and
 * nested counts stay inside the field array. */
#include <stdint.h>
#include <string.h>

#include "parse/tokenize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ar_field fields[512];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct ar_tokens t = {.fields = fields, .cap = size % 7 == 0 ? 3 : AR_ARRAY_SIZE(fields)};
    size_t n = ar_tokenize(p, end, &t);
    if (n > t.cap)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        const struct ar_field *f = &fields[i];
        if (f->key.p < p || f->key.p + f->key.len > end || f->value.p < p ||
            f->value.p + f->value.len > end)
            __builtin_trap();
        if (f->kind == AR_VAL_NESTED && i + f->nested_count >= n + 1)
            __builtin_trap();
    }
    return 0;
}
