/* Output formats: each is one `const struct ar_format_ops` defined beside its code
 * in encode/ and listed in encode/formats.c; adding one is a file and a line there.
 * A format turns a completed event (and a loss report) into output lines, using
 * what the encoder holds for every format (encode/encoder_impl.h: configuration,
 * names, counters, the event tokenized once). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "util/buf.h"
#include "reasm/reasm.h"

struct ar_encoder;

/* A loss report: `count` serials (or lines) lost after `after_serial` on `node`,
 * noticed at `now_sec`. kind is "serial_gap", "kernel_lost", "enobufs",
 * "ring_lost", "output_dropped", "space_left" or "admin_space_left". */
struct ar_loss {
    const char *kind;
    struct ar_span node;
    uint32_t after_serial;
    uint64_t count;
    uint64_t now_sec;
};

struct ar_format_ops {
    const char *name; /* --format and `format =` */
    /* Optional: sets up the format's own state in the encoder (format_state);
     * returns 0 or a negative errno. close is called even after a failed open. */
    int (*open)(struct ar_encoder *e);
    void (*close)(struct ar_encoder *e);
    /* Appends the event's line(s). Returns 0 or -ENOMEM; the encoder removes what
     * was appended when this fails or out->failed is set. */
    int (*event)(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *out);
    /* Appends a line that reports a loss in this format. */
    void (*loss)(struct ar_encoder *e, const struct ar_loss *loss, struct ar_buf *out);
    /* Writes ev->proc (enrich/proctable.h): the pipeline keeps a process table only
     * for such formats. */
    bool process;
    /* Writes an event without a time as time 0 (go-audit's "0.000"), so its lines'
     * metadata (pipeline/sink.h) gives that time too, not none. */
    bool untimed_as_zero;
};

/* The formats, NULL-terminated; the first (json) is the default. */
extern const struct ar_format_ops *const ar_formats[];

/* The format called `name`, NULL when there is none. */
const struct ar_format_ops *ar_format_find(const char *name);
