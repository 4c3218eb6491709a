/* Fuzz target: whole-line replay through the full pipeline into auditd's log formats
 * (--format raw and enriched, with and without EOE records). Every output line must
 * be whole, parse back as an audit record with our own header parser, and stay
 * within auditd's line bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pipeline.h"
#include "parse/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_record_line(const char *p, size_t len)
{
    /* The raw part at most 8937 bytes plus a node name; the names after it within
     * auditd's 9225-byte buffer. */
    if (len > 8970 + 255 + 4096)
        __builtin_trap();
    if (memchr(p, '\0', len))
        __builtin_trap(); /* auditd's %.*s stops at a NUL: so do we */
    struct ar_record rec;
    /* A record whose type has no name comes out as UNKNOWN[N], which parses. */
    if (ar_header_parse_line(p, p + len, NULL, &rec) < 0)
        __builtin_trap();
}

static int check_output(void *ctx, const struct ar_lines *b)
{
    (void)ctx;
    fuzz_output_lines(b, check_record_line);
    return 0;
}

static void audit_line(struct ar_pipeline *pl, const char *p, size_t len)
{
    ar_pipeline_line(pl, p, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ar_pipeline_config cfg;
    ar_pipeline_config_default(&cfg);
    cfg.resolve_ids = false;
    cfg.format = ar_format_find(size % 2 ? "raw" : "enriched");
    cfg.eoe = size % 4 >= 2;
    cfg.sink = (struct ar_sink){.write = check_output};
    cfg.flush_bytes = 1;
    struct ar_pipeline *pl;
    if (ar_pipeline_new(&cfg, &pl) < 0)
        return 0;
    fuzz_each_line(pl, data, size, audit_line);
    ar_pipeline_flush(pl);
    ar_pipeline_free(pl);
    return 0;
}
