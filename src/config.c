#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <ini.h>

#include "metrics/listen.h"
#include "outputs/util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct load_ctx {
    const char *path;
    struct ar_collector_config *cfg;
    char first_error[256]; /* libinih reports the line of the first error */
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

static bool parse_bool(const char *v, bool *ret)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
        *ret = true;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
        *ret = false;
    else
        return false;
    return true;
}

static bool parse_u32(const char *v, uint32_t *ret)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end || n > UINT32_MAX || v[0] == '-')
        return false;
    *ret = (uint32_t)n;
    return true;
}

/* One table of keys: section, name, and how to apply a value. */
enum kind { K_SOURCE, K_ENGINE, K_BOOL, K_U32, K_FAILURE, K_FORMAT, K_OUTPUT, K_STRING, K_SIZE, K_RULES, K_METRICS };

struct key {
    const char *section, *name;
    enum kind kind;
    size_t offset;     /* into struct ar_collector_config */
    size_t set_offset; /* bool "was set" flag, or SIZE_MAX */
};

#define OFF(f) offsetof(struct ar_collector_config, f)
static const struct key keys[] = {
    {"collector", "source", K_SOURCE, OFF(source), SIZE_MAX},
    {"collector", "tracepoint_engine", K_ENGINE, OFF(tracepoint_engine), SIZE_MAX},
    {"collector", "tracepoint_ring", K_SIZE, OFF(tracepoint_ring), SIZE_MAX},
    {"collector", "takeover", K_BOOL, OFF(takeover), SIZE_MAX},
    {"collector", "enable", K_BOOL, OFF(enable), SIZE_MAX},
    {"collector", "backlog_limit", K_U32, OFF(backlog_limit), SIZE_MAX},
    {"collector", "backlog_wait_time", K_U32, OFF(backlog_wait_time), OFF(set_backlog_wait_time)},
    {"collector", "rate_limit", K_U32, OFF(rate_limit), OFF(set_rate_limit)},
    {"collector", "failure", K_FAILURE, OFF(failure), OFF(set_failure)},
    {"collector", "rules", K_RULES, 0, SIZE_MAX},
    {"collector", "keep_rules", K_BOOL, OFF(keep_rules), SIZE_MAX},
    {"collector", "metrics", K_METRICS, OFF(metrics), SIZE_MAX},
    {"output", "format", K_FORMAT, OFF(pipeline.format), SIZE_MAX},
    {"output", "resolve", K_BOOL, OFF(pipeline.resolve_ids), SIZE_MAX},
    {"output", "output", K_OUTPUT, 0, SIZE_MAX},
    {"output", "spool_dir", K_STRING, OFF(output.spool_dir), SIZE_MAX},
    {"output", "max_memory", K_SIZE, OFF(output.max_memory), SIZE_MAX},
    {"output", "max_spool", K_SIZE, OFF(output.max_spool), SIZE_MAX},
};

/* libinih calls this per setting; returning 0 makes ini_parse_file return the
 * setting's line number, which is how errors get their file:line. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
    struct load_ctx *ctx = user;
    char *base = (char *)ctx->cfg;
    for (size_t i = 0; i < AR_ARRAY_SIZE(keys); i++) {
        const struct key *k = &keys[i];
        if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
            continue;
        bool ok = false;
        switch (k->kind) {
        case K_SOURCE:
            ok = ar_collector_parse_source(value, (enum ar_source_mode *)(base + k->offset)) == 0;
            break;
        case K_ENGINE:
            ok = ar_collector_parse_engine(value,
                                           (enum ar_tp_engine_choice *)(base + k->offset)) == 0;
            break;
        case K_BOOL:
            ok = parse_bool(value, (bool *)(base + k->offset));
            break;
        case K_U32:
            ok = parse_u32(value, (uint32_t *)(base + k->offset));
            break;
        case K_FAILURE:
            ok = parse_u32(value, (uint32_t *)(base + k->offset)) &&
                 *(uint32_t *)(base + k->offset) <= 2;
            break;
        case K_OUTPUT:
            /* Repeatable: one output per line. The strings live as long as the
             * process (the collector runs until exit). */
            ok = ctx->cfg->noutputs < AR_MAX_OUTPUTS &&
                 (ctx->cfg->outputs[ctx->cfg->noutputs] = keep(value)) != NULL;
            if (ok)
                ctx->cfg->noutputs++;
            break;
        case K_RULES:
            /* Repeatable, like output. */
            ok = ctx->cfg->nrules < AR_MAX_RULE_PATHS &&
                 (ctx->cfg->rules[ctx->cfg->nrules] = keep(value)) != NULL;
            if (ok)
                ctx->cfg->nrules++;
            break;
        case K_STRING:
            ok = (*(char **)(base + k->offset) = keep(value)) != NULL;
            break;
        case K_METRICS: {
            char why[200];
            ok = ar_metrics_parse_listen(value, (struct ar_metrics_listen *)(base + k->offset),
                                         why, sizeof(why)) == 0;
            if (!ok && !ctx->first_error[0])
                snprintf(ctx->first_error, sizeof(ctx->first_error), "metrics: %s", why);
            break;
        }
        case K_SIZE: {
            uint64_t v;
            ok = ar_parse_size(value, &v) == 0 && v > 0;
            if (ok && k->offset == OFF(output.max_memory))
                *(size_t *)(base + k->offset) = (size_t)v;
            else if (ok)
                *(uint64_t *)(base + k->offset) = v;
            break;
        }
        case K_FORMAT:
            ok = ar_format_parse(value, (enum ar_format *)(base + k->offset)) == 0;
            break;
        }
        if (!ok) {
            if (!ctx->first_error[0])
                snprintf(ctx->first_error, sizeof(ctx->first_error),
                         "invalid value '%s' for %s in [%s]", value, name, section);
            return 0;
        }
        if (k->set_offset != SIZE_MAX)
            *(bool *)(base + k->set_offset) = true;
        return 1;
    }
    if (!ctx->first_error[0])
        snprintf(ctx->first_error, sizeof(ctx->first_error), "unknown setting '%s' in [%s]", name,
                 section);
    return 0;
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

const char *ar_config_key(size_t i, const char **ret_section)
{
    if (i >= AR_ARRAY_SIZE(keys))
        return NULL;
    *ret_section = keys[i].section;
    return keys[i].name;
}
