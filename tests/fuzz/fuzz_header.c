/* Fuzz target: record header parsing, text and netlink forms. */
#include <stdint.h>
#include <string.h>

#include "parse/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    struct ar_record r;
    if (ar_header_parse_line(p, end, NULL, &r) == 0) {
        /* Spans stay inside the input. */
        if (r.body.p < p || r.body.p + r.body.len > end || r.enriched.p + r.enriched.len > end ||
            r.node.p + r.node.len > end)
            __builtin_trap();
    }
    /* A reader's memo, kept across inputs, never changes what a line parses to. */
    static struct ar_stamp_memo memo;
    struct ar_record m;
    int plain = ar_header_parse_line(p, end, NULL, &r), memoized = ar_header_parse_line(p, end, &memo, &m);
    if (plain != memoized ||
        (plain == 0 && (r.sec != m.sec || r.msec != m.msec || r.serial != m.serial ||
                        r.type != m.type || r.body.p != m.body.p || r.body.len != m.body.len)))
        __builtin_trap();
    uint32_t type = size >= 2 ? (uint32_t)(data[0] | data[1] << 8) : 1300;
    ar_header_parse_netlink(type, p, end, NULL, &r);
    return 0;
}
