/* Fuzz target: whole-line replay through the full pipeline (header, reassembly,
 * enrichment, JSON). Every output line must parse as JSON and be valid UTF-8. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode/jsonw.h"
#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_output(void *ctx, const char *p, size_t len)
{
    (void)ctx;
    const char *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            __builtin_trap(); /* sinks receive whole lines */
        if (!ar_utf8_valid(p, (size_t)(nl - p)))
            __builtin_trap();
        cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
        if (!j || !cJSON_IsObject(j))
            __builtin_trap();
        cJSON_Delete(j);
        p = nl + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ar_pipeline_config cfg;
    ar_pipeline_config_default(&cfg);
    cfg.resolve_ids = false;
    cfg.format = size % 3 == 0 ? AR_FORMAT_GOAUDIT : AR_FORMAT_JSON;
    cfg.sink = (struct ar_sink){.write = check_output};
    cfg.flush_bytes = 1;
    struct ar_pipeline *pl;
    if (ar_pipeline_new(&cfg, &pl) < 0)
        return 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        ar_pipeline_line(pl, p, (size_t)(le - p));
        p = nl ? nl + 1 : end;
    }
    ar_pipeline_flush(pl);
    ar_pipeline_free(pl);
    return 0;
}
