#include "enrich/ids.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Direct-mapped cache: ids seen in audit logs are few, so collisions are rare and a
 * miss only costs a lookup. Names without an entry are cached as absent too. */
#define CACHE_SLOTS 1024
#define NAME_MAX_LEN 64

struct slot {
    bool used;
    bool has_name;
    uint8_t kind;
    uint32_t id;
    char name[NAME_MAX_LEN];
};

struct ar_idcache {
    ar_id_lookup_fn lookup;
    uint64_t generation; /* lookups made */
    struct slot slots[CACHE_SLOTS];
};

int ar_idcache_new(ar_id_lookup_fn lookup, struct ar_idcache **ret)
{
    struct ar_idcache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->lookup = lookup;
    *ret = c;
    return 0;
}

void ar_idcache_free(struct ar_idcache *c)
{
    free(c);
}

const char *ar_idcache_name(struct ar_idcache *c, enum ar_id_kind kind, uint32_t id)
{
    if (id == UINT32_MAX)
        return "unset";
    if (!c->lookup)
        return NULL;
    struct slot *s = &c->slots[(id * 2654435761u + kind) % CACHE_SLOTS];
    if (!s->used || s->id != id || s->kind != kind) {
        s->used = true;
        s->kind = (uint8_t)kind;
        s->id = id;
        s->has_name = c->lookup(kind, id, s->name, sizeof(s->name)) >= 0;
        c->generation++;
    }
    return s->has_name ? s->name : NULL;
}

uint64_t ar_idcache_generation(const struct ar_idcache *c)
{
    return c ? c->generation : 0;
}
