/* Fuzz target: replay of go-audit's JSON lines (sources/goaudit_input.c) through
 * the full pipeline, as `replay --input-format go-audit` runs it. Every output
 * line must parse as JSON and be valid UTF-8; a line the decoder refuses must
 * hand nothing over. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_pipeline.h"
#include "sources/goaudit_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t handed_over;

static int sink_record(void *ctx, const struct ar_record *rec)
{
    handed_over++;
    return ar_pipeline_record(ctx, rec, 0);
}

static int sink_end_event(void *ctx, const struct ar_record *rec)
{
    handed_over++;
    return ar_pipeline_end_event(ctx, rec);
}

static void sink_loss(void *ctx, const char *kind, uint64_t count)
{
    handed_over++;
    ar_pipeline_loss(ctx, kind, count, 0);
}

static void goaudit_line(struct ar_pipeline *pl, const char *p, size_t len)
{
    const struct ar_source_sink sink = {
        .record = sink_record, .end_event = sink_end_event, .loss = sink_loss, .ctx = pl};
    uint64_t before = handed_over;
    int r = ar_goaudit_decode_line(p, len, &sink);
    if (r == 1 && handed_over != before)
        __builtin_trap(); /* a refused line gave something */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ar_pipeline *pl = fuzz_pipeline_new(size, true);
    if (!pl)
        return 0;
    fuzz_each_line(pl, data, size, goaudit_line);
    ar_pipeline_flush(pl);
    ar_pipeline_free(pl);
    return 0;
}
