#include "util/regex.h"

#include <stdio.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

struct ar_regex *ar_regex_compile(const char *pattern, size_t len, char *why, size_t whylen)
{
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, 0, &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof(msg));
        snprintf(why, whylen, "%s at offset %zu", (const char *)msg, (size_t)off);
        return NULL;
    }
    /* JIT where the platform has it; the interpreter otherwise (same results). */
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return (struct ar_regex *)re;
}

void ar_regex_free(struct ar_regex *re)
{
    pcre2_code_free((pcre2_code *)re);
}

struct ar_regex_state *ar_regex_state_new(void)
{
    return (struct ar_regex_state *)pcre2_match_data_create(1, NULL);
}

void ar_regex_state_free(struct ar_regex_state *st)
{
    pcre2_match_data_free((pcre2_match_data *)st);
}

bool ar_regex_search(const struct ar_regex *re, struct ar_regex_state *st, const char *p,
                     size_t len)
{
    return pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)p, len, 0, 0,
                       (pcre2_match_data *)st, NULL) >= 0;
}
