/* Fuzz target: whole-line replay through the full pipeline (header, reassembly,
 * enrichment, JSON). Every output line must parse as JSON and be valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void audit_line(struct ar_pipeline *pl, const char *p, size_t len)
{
    ar_pipeline_line(pl, p, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ar_pipeline *pl = fuzz_pipeline_new(size, false);
    if (!pl)
        return 0;
    fuzz_each_line(pl, data, size, audit_line);
    ar_pipeline_flush(pl);
    ar_pipeline_free(pl);
    return 0;
}
