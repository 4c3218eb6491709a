#include "fuzz_pipeline.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "encode/jsonw.h"

void fuzz_output_lines(const struct ar_lines *b, void (*check_line)(const char *p, size_t len))
{
    if (!ar_line_meta_check(b->meta, b->meta_len, b->len))
        __builtin_trap(); /* every line goes with its event's metadata */
    const char *p = b->p, *end = p + b->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            __builtin_trap(); /* sinks receive whole lines */
        check_line(p, (size_t)(nl - p));
        p = nl + 1;
    }
}

static void check_json_line(const char *p, size_t len)
{
    if (!ar_utf8_valid(p, len))
        __builtin_trap();
    cJSON *j = cJSON_ParseWithLength(p, len);
    if (!j || !cJSON_IsObject(j))
        __builtin_trap();
    cJSON_Delete(j);
}

static int check_output(void *ctx, const struct ar_lines *b)
{
    (void)ctx;
    fuzz_output_lines(b, check_json_line);
    return 0;
}

struct ar_pipeline *fuzz_pipeline_new(size_t size, bool eoe_stream)
{
    struct ar_pipeline_config cfg;
    ar_pipeline_config_default(&cfg);
    cfg.resolve_ids = false;
    /* Every JSON shape: go-audit's, ECS and ours. */
    if (size % 3 == 0)
        cfg.format = ar_format_find("go-audit");
    else if (size % 3 == 1)
        cfg.format = ar_format_find("ecs");
    cfg.sink = (struct ar_sink){.write = check_output};
    cfg.flush_bytes = 1;
    cfg.reasm.eoe_stream = eoe_stream;
    struct ar_pipeline *pl;
    return ar_pipeline_new(&cfg, &pl) < 0 ? NULL : pl;
}

void fuzz_each_line(struct ar_pipeline *pl, const uint8_t *data, size_t size,
                    void (*line)(struct ar_pipeline *pl, const char *p, size_t len))
{
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line(pl, p, (size_t)(le - p));
        p = nl ? nl + 1 : end;
    }
}
