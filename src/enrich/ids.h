/* User and group names for ids, with a cache. The lookup itself is injected so that
 * this module stays pure (tests use a fixed table; the pipeline passes the host's
 * user database, pipeline/userdb.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ar_id_kind { AR_ID_USER, AR_ID_GROUP };

/* Writes the name for an id into buf (NUL-terminated) and returns its length, or a
 * negative errno (-ENOENT when the id has no name). */
typedef int (*ar_id_lookup_fn)(enum ar_id_kind kind, uint32_t id, char *buf, size_t size);

struct ar_idcache;

/* lookup may be NULL: no names (--no-resolve). Returns 0 or -ENOMEM. */
int ar_idcache_new(ar_id_lookup_fn lookup, struct ar_idcache **ret);
void ar_idcache_free(struct ar_idcache *c);

/* The name for an id, or NULL when it has none. 4294967295 (unset) is "unset".
 * The string stays valid until ar_idcache_free. */
const char *ar_idcache_name(struct ar_idcache *c, enum ar_id_kind kind, uint32_t id);

/* Changes whenever the cache looks a name up (a first sight or an evicted entry's
 * return, whose name may have changed since): output holding names from an earlier
 * generation may be stale. 0 with no lookup at all. */
uint64_t ar_idcache_generation(const struct ar_idcache *c);
