/* What an output may need to know about an encoded event without reading its lines:
 * its time, serial, node and source. The pipeline hands every run of lines (one
 * event's: one line, or one per record for auditd's formats) with one of these, and
 * the outputs keep it beside the lines through their queue, spool and resend ring,
 * so a transport (the syslog header's time, Kafka's key and timestamp) never parses
 * its lines back. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/span.h"

struct ar_line_meta {
    size_t len;            /* bytes of lines it describes, whole lines ending in '\n'
                            * (below 4 GiB: an event is at most 8 MiB of text) */
    uint64_t sec;          /* the event's time, when has_time */
    uint16_t ms;
    bool has_time;
    uint32_t serial;
    struct ar_span node;   /* empty: the event has none */
    struct ar_span source; /* "netlink", "replay"...: the event's "source" */
};

/* Lines with their metadata: [p, p + len) whole lines, and `meta` the packed
 * entries (ar_line_meta_put) describing them in order, their lens summing to len.
 * Both are borrowed from whoever hands them over, for the length of the call. */
struct ar_lines {
    const char *p;
    size_t len;
    const char *meta;
    size_t meta_len;
};

/* Longest node name an entry keeps; a longer one is cut (node names are host names). */
#define AR_LINE_META_MAX_NODE 1024u
#define AR_LINE_META_MAX_SOURCE 255u

/* Appends the packed form of m (a fixed header, then the node and source bytes: 22
 * bytes and the names) to b; b->failed on no memory. Host byte order: the packed
 * form stays on this host (the outputs' memory and spool). */
void ar_line_meta_put(struct ar_buf *b, const struct ar_line_meta *m);

/* Reads the entry at *off of the packed entries [p, p + len) into *ret (its spans
 * point into p) and moves *off past it. False at the end or at an entry cut short
 * (*off unchanged). */
bool ar_line_meta_get(const char *p, size_t len, size_t *off, struct ar_line_meta *ret);

/* True when the packed entries are whole and describe exactly `lines_len` bytes. */
bool ar_line_meta_check(const char *meta, size_t meta_len, size_t lines_len);

/* Walks a batch's metadata along its lines, for transports that send line by line. */
struct ar_lines_cursor {
    size_t meta_off;       /* the next entry */
    size_t start, end;     /* the bytes of lines the current entry describes */
    bool valid;
    struct ar_line_meta m;
};

/* The metadata of the event whose lines hold byte `at` of b; NULL past the entries
 * (b broken). The cursor starts zeroed; calls with growing `at` cost a step per
 * event, a smaller `at` starts over. */
const struct ar_line_meta *ar_lines_meta(const struct ar_lines *b, struct ar_lines_cursor *c,
                                         size_t at);
