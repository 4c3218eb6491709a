/* The last bytes a transport handed to its peer, with their events' metadata, kept
 * to send again when the peer may have lost them (a stream peer that stopped with
 * lines unread in its socket, a plugin that died with lines in its pipe). A ring:
 * adding copies the bytes once, nothing moves. Used by one thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/line_meta.h"

struct ar_recent {
    size_t max;                /* bytes kept */
    char *ring;                /* allocated on the first add */
    size_t head, len;
    uint64_t total;            /* bytes ever added: the positions of the entries */
    struct ar_buf entries;     /* per event: u64 position of its first byte, packed meta */
    size_t entries_start;      /* the oldest entry whose first byte is still kept */
    struct ar_lines_cursor cursor; /* in the batch being added */
};

/* An empty ring that keeps the last max bytes. */
void ar_recent_init(struct ar_recent *r, size_t max);
void ar_recent_free(struct ar_recent *r);

/* Keeps bytes [from, to) of the batch b (what went to the peer; from 0 starts a new
 * batch, a later call may go on where the last stopped). An event is kept from the
 * call that adds its first byte. Without memory nothing is kept. */
void ar_recent_add(struct ar_recent *r, const struct ar_lines *b, size_t from, size_t to);

/* Appends what is kept to lines and meta, from the first event whose first byte is
 * still kept (the events before it were cut by the ring) to the last byte added
 * (the last event may be cut there, its entry then says what is kept of it).
 * Returns the bytes appended to lines (0: nothing kept, or no memory). */
size_t ar_recent_copy(const struct ar_recent *r, struct ar_buf *lines, struct ar_buf *meta);
