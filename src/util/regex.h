/* The project's one regular expression engine: PCRE2 (Perl syntax, JIT where the
 * platform has it), matched on spans (no NUL needed, no allocation per match). Event
 * filters and process label rules both use it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct ar_regex;        /* a compiled pattern */
struct ar_regex_state;  /* per-thread match scratch */

/* Compiles pattern[0, len); NULL with why ("MESSAGE at offset N") when it is bad or
 * memory ran out. */
struct ar_regex *ar_regex_compile(const char *pattern, size_t len, char *why, size_t whylen);
void ar_regex_free(struct ar_regex *re);

struct ar_regex_state *ar_regex_state_new(void);
void ar_regex_state_free(struct ar_regex_state *st);

/* True when re matches anywhere in p[0, len). */
bool ar_regex_search(const struct ar_regex *re, struct ar_regex_state *st, const char *p,
                     size_t len);
