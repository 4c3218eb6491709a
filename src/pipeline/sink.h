/* The pipeline's way out: what it hands encoded lines to (the outputs, in the
 * collector), apart from the pipeline so that the encoding pool needs no more. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Where encoded lines go. write() takes whole lines (one or many) and returns 0 or
 * a negative errno; the pipeline stops on error. */
struct ar_sink {
    int (*write)(void *ctx, const char *p, size_t len);
    /* Optional: lines the sink has dropped so far (full queues). The pipeline turns
     * increases into output_dropped loss events, so every output that still works
     * shows the gap. */
    uint64_t (*dropped)(void *ctx);
    /* Optional: times the outputs' file systems reached space_left [0] and
     * admin_space_left [1]; increases become space_left / admin_space_left events. */
    void (*space_warnings)(void *ctx, uint64_t ret[2]);
    void *ctx;
};
