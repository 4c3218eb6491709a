/* Minimal test helpers: each unit test is its own executable run by `meson test`
 * (its own process, with meson's timeout). A failed check prints where and why and
 * the test exits 1 at the end. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

#define CHECK_SPAN(span, lit)                                                                    \
    do {                                                                                         \
        struct ar_span s_ = (span);                                                              \
        if (s_.len != strlen(lit) || memcmp(s_.p, (lit), s_.len) != 0) {                         \
            fprintf(stderr, "%s:%d: expected \"%s\", got \"%.*s\"\n", __FILE__, __LINE__, (lit),  \
                    (int)s_.len, s_.p);                                                          \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

#define CHECK_STR(got, lit)                                                                      \
    do {                                                                                         \
        const char *g_ = (got);                                                                  \
        if (!g_ || strcmp(g_, (lit)) != 0) {                                                     \
            fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, (lit),    \
                    g_ ? g_ : "(null)");                                                         \
            check_failures++;                                                                    \
        }                                                                                        \
    } while (0)

static inline int check_done(void)
{
    if (check_failures)
        fprintf(stderr, "%d checks failed\n", check_failures);
    return check_failures ? 1 : 0;
}
