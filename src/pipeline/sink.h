/* The pipeline's way out: what it hands encoded lines to (the outputs, in the
 * collector), apart from the pipeline so that the encoding pool needs no more. Every
 * event's lines go with its metadata (util/line_meta.h), taken from the event, not
 * from the encoded bytes, so no output reads a line back. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "encode/encoder.h"
#include "util/line_meta.h"

/* Where encoded lines go. write() takes whole lines (one or many events') with their
 * metadata and returns 0 or a negative errno; the pipeline stops on error. */
struct ar_sink {
    int (*write)(void *ctx, const struct ar_lines *lines);
    /* Optional, used instead of write: the same, given the buffers themselves, which
     * it empties; it may keep their memory and give back other, empty ones. */
    int (*take)(void *ctx, struct ar_buf *lines, struct ar_buf *meta);
    /* Optional: lines the sink has dropped so far (full queues). The pipeline turns
     * increases into output_dropped loss events, so every output that still works
     * shows the gap. */
    uint64_t (*dropped)(void *ctx);
    /* Optional: times the outputs' file systems reached space_left [0] and
     * admin_space_left [1]; increases become space_left / admin_space_left events. */
    void (*space_warnings)(void *ctx, uint64_t ret[2]);
    void *ctx;
};

/* Encoded lines on their way to a sink, with their metadata entries. */
struct ar_sink_buf {
    struct ar_buf lines, meta;
};

/* Encodes ev (ar_encoder_event) into b and notes its metadata: the event's time,
 * serial and node, and the encoder's source. Returns 0 or -ENOMEM. */
int ar_sink_buf_event(struct ar_sink_buf *b, struct ar_encoder *enc, const struct ar_event *ev);

/* Encodes a loss report (ar_encoder_loss) into b with its metadata: noticed at
 * now_sec, after after_serial on node, as the line says. Returns 0 or -ENOMEM. */
int ar_sink_buf_loss(struct ar_sink_buf *b, struct ar_encoder *enc, const char *kind,
                     struct ar_span node, uint32_t after_serial, uint64_t count,
                     uint64_t now_sec);

/* Hands b's lines to the sink and empties b. Returns 0 (also when b is empty) or the
 * sink's error. */
int ar_sink_buf_hand(struct ar_sink_buf *b, const struct ar_sink *sink);

void ar_sink_buf_free(struct ar_sink_buf *b);
