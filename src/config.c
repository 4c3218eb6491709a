#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <ini.h>

#include "settings.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct load_ctx {
    const char *path;
    struct ar_collector_config *cfg;
    char first_error[400]; /* libinih reports the line of the first error */
};

/* Strings the file gave (outputs, rules, spool_dir) live until ar_config_release:
 * every configuration a reload read stays valid while the run lasts. */
static char **owned;
static size_t nowned, ownedcap;

static char *keep(const char *value)
{
    if (nowned == ownedcap) {
        size_t cap = ownedcap ? 2 * ownedcap : 64;
        char **v = realloc(owned, cap * sizeof(*v));
        if (!v)
            return NULL;
        owned = v;
        ownedcap = cap;
    }
    char *s = strdup(value);
    if (s)
        owned[nowned++] = s;
    return s;
}

void ar_config_release(void)
{
    while (nowned)
        free(owned[--nowned]);
    free(owned);
    owned = NULL;
    ownedcap = 0;
}

/* libinih calls this per setting; returning 0 makes ini_parse_file return the
 * setting's line number, which is how errors get their file:line. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;
    const struct ar_setting *s = ar_setting_by_key(section, name);
    if (!s) {
        if (!ctx->first_error[0])
            snprintf(ctx->first_error, sizeof(ctx->first_error), "unknown setting '%s' in [%s]",
                     name, section);
        return 0;
    }
    /* Strings the configuration points to live until ar_config_release. */
    if (s->type == AR_SETTING_STRING || s->type == AR_SETTING_LIST) {
        value = keep(value);
        if (!value) {
            snprintf(ctx->first_error, sizeof(ctx->first_error), "out of memory");
            return 0;
        }
    }
    char why[300];
    if (ar_setting_apply(s, value, ctx->cfg, why, sizeof(why)) < 0) {
        if (!ctx->first_error[0])
            snprintf(ctx->first_error, sizeof(ctx->first_error), "%s %s", name, why);
        return 0;
    }
    return 1;
}

int ar_config_load(const char *path, struct ar_collector_config *cfg)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    struct load_ctx ctx = {.path = path, .cfg = cfg};
    int r = ini_parse_file(f, on_value, &ctx);
    fclose(f);
    if (r != 0) {
        fprintf(stderr, "%s:%d: %s\n", path, r,
                ctx.first_error[0] ? ctx.first_error : "syntax error (expected [section] or key = value)");
        return -EINVAL;
    }
    return 0;
}
