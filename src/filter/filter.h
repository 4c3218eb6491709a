/* Event filters: keep or drop whole events before they are encoded, by the event's
 * type, the record types it holds, any field (syscall, key, uid/auid by name, exe,
 * exit, ...), the files it names (path, dir), its socket address, its process's
 * labels, or a regular expression on any field or on a record's text. The syntax and its rules are in
 * auditrelay.conf(5), FILTERS; in short:
 *
 *     drop key=noisy
 *     drop syscall=connect sockaddr=127.0.0.0/8,::1
 *     keep auid!=unset
 *     drop all
 *
 * Filters are tried in order; the first whose conditions all hold decides (keep or
 * drop). An event no filter matches gets the opposite of the last filter's action
 * (Squid's http_access rule): after a list that ends in drop it is kept, after one
 * that ends in keep it is dropped, so `keep key=x` alone keeps only what it
 * matches. Conditions in one filter must all hold; a value may list alternatives
 * separated by commas (any of them).
 *
 * Pure: no I/O, no clocks. Matching works on spans into the event's buffer; a
 * record is tokenized only when a condition needs its fields, once per event,
 * into arrays allocated when the set is built (they grow only for an event larger
 * than any before). Regular expressions are PCRE2, compiled (and JIT-compiled)
 * once. Not thread-safe: one set per thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "reasm/reasm.h"

/* Host facts the compiler needs: user and group names to ids (uid=alice). Either
 * callback may be NULL: names then do not resolve (an error). Same shape as
 * struct ar_rules_env's, so the host's functions serve both. */
struct ar_filter_env {
    int (*user_id)(const char *name, uint32_t *ret, void *userdata);
    int (*group_id)(const char *name, uint32_t *ret, void *userdata);
    void *userdata;
};

struct ar_filter;

/* An empty set (it keeps every event). env is copied; NULL: no name lookups.
 * Returns 0 or -ENOMEM. */
int ar_filter_new(const struct ar_filter_env *env, struct ar_filter **ret);
/* NULL is fine. */
void ar_filter_free(struct ar_filter *f);

/* Compiles one filter ("drop key=noisy") and appends it (the text is copied). On a
 * bad filter, or one that can never match first (a filter before it matches every
 * event), returns -EINVAL with one sentence in why and leaves the set unchanged;
 * or -ENOMEM. */
int ar_filter_add(struct ar_filter *f, const char *spec, char *why, size_t whylen);

/* A set of the n filters in specs (as ar_filter_add), or *ret NULL when n is 0:
 * no set, no cost. Errors as ar_filter_add's, why starting with the filter's
 * position when there are several ("filter 2: ..."). */
int ar_filter_compile(const struct ar_filter_env *env, const char *const *specs, size_t n,
                      struct ar_filter **ret, char *why, size_t whylen);

/* Number of filters in the set. */
size_t ar_filter_count(const struct ar_filter *f);

/* Whether a filter reads the event's process labels (the pipeline then keeps a
 * process table whatever the format). */
bool ar_filter_uses_labels(const struct ar_filter *f);

/* Checks that every label a filter names (label=NAME) is one of the n names the
 * process table's rules give. Returns 0, or -EINVAL with why naming the filter. */
int ar_filter_check_labels(const struct ar_filter *f, const char *const *names, size_t n,
                           char *why, size_t whylen);

/* True when the event is to be kept. Counts the event, its verdict and the filter
 * that decided. The event's spans are read during the call only. An empty set
 * keeps everything. */
bool ar_filter_keep(struct ar_filter *f, const struct ar_event *ev);

struct ar_filter_stats {
    uint64_t events;  /* events the set looked at */
    uint64_t dropped; /* of those, dropped (by a drop filter, or unmatched after a
                       * list that ends in keep) */
    uint64_t unmatched; /* matched by no filter: the last filter's opposite applied */
    uint64_t unexamined; /* kept without a verdict: out of memory */
};

const struct ar_filter_stats *ar_filter_stats(const struct ar_filter *f);

/* Filter i (0-based, in order): its text as given, whether it drops, and how many
 * events it decided (matched first). False past the last. */
struct ar_filter_info {
    const char *text;
    bool drop;
    uint64_t matched;
};
bool ar_filter_info(const struct ar_filter *f, size_t i, struct ar_filter_info *ret);

/* Carries the totals, and each filter's count, over from `old` to `f` (to the
 * filter with the same text: a reload that kept it), so that counters do not
 * fall back to zero. */
void ar_filter_carry_counts(struct ar_filter *f, const struct ar_filter *old);
