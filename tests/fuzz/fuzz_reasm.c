/* Fuzz target: reassembly. The input is a log; records go through small caps so that
 * eviction, truncation, timeouts and gap accounting all run. Every record pushed
 * must come out in exactly one event or be counted as dropped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/header.h"
#include "reasm/reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t records_out;

static void on_event(const struct ar_event *ev, void *ud)
{
    (void)ud;
    records_out += ev->nrecords;
    for (uint32_t i = 0; i < ev->nrecords; i++) {
        if ((size_t)ev->records[i].body_off + ev->records[i].body_len > ev->buf_len)
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ar_reasm_config cfg;
    ar_reasm_config_default(&cfg);
    cfg.max_in_flight = 4;
    cfg.max_records = 6;
    cfg.max_event_bytes = 4096;
    struct ar_reasm_callbacks cbs = {.event = on_event};
    struct ar_reasm *r;
    if (ar_reasm_new(&cfg, &cbs, &r) < 0)
        return 0;
    records_out = 0;
    const char *p = (const char *)data, *end = p + size;
    uint64_t now = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct ar_record rec;
        if (ar_header_parse_line(p, le, NULL, &rec) == 0)
            ar_reasm_push(r, &rec, now);
        now += 300;
        if ((now / 300) % 5 == 0)
            ar_reasm_expire(r, now);
        p = nl ? nl + 1 : end;
    }
    ar_reasm_flush(r);
    const struct ar_reasm_stats *st = ar_reasm_stats(r);
    if (records_out + st->dropped_records + st->stray_eoe != st->records)
        __builtin_trap();
    if (ar_reasm_in_flight(r) != 0)
        __builtin_trap();
    ar_reasm_free(r);
    return 0;
}
