#include "pipeline/sink.h"

#include <errno.h>

/* The entry for what was appended to b->lines since `from`; nothing when nothing was. */
static int note(struct ar_sink_buf *b, size_t from, const struct ar_line_meta *m)
{
    if (b->lines.len == from)
        return 0;
    struct ar_line_meta entry = *m;
    entry.len = b->lines.len - from;
    ar_line_meta_put(&b->meta, &entry);
    if (b->meta.failed) {
        b->lines.len = from; /* no line goes without its metadata */
        b->meta.failed = false;
        return -ENOMEM;
    }
    return 0;
}

static struct ar_span source_of(const struct ar_encoder *enc)
{
    const char *source = ar_encoder_config(enc)->source;
    return (struct ar_span){source, strlen(source)};
}

int ar_sink_buf_event(struct ar_sink_buf *b, struct ar_encoder *enc, const struct ar_event *ev)
{
    size_t from = b->lines.len;
    int r = ar_encoder_event(enc, ev, &b->lines);
    if (r < 0)
        return r;
    struct ar_line_meta m = {.serial = ev->serial, .node = ar_event_node(ev),
                             .source = source_of(enc)};
    if (ev->has_time) {
        m.sec = ev->sec;
        m.ms = (uint16_t)ev->msec;
    }
    /* A format that writes no time as 0.000 gets that time, as its line says. */
    m.has_time = ev->has_time || ar_encoder_config(enc)->format->untimed_as_zero;
    return note(b, from, &m);
}

int ar_sink_buf_loss(struct ar_sink_buf *b, struct ar_encoder *enc, const char *kind,
                     struct ar_span node, uint32_t after_serial, uint64_t count,
                     uint64_t now_sec)
{
    size_t from = b->lines.len;
    int r = ar_encoder_loss(enc, kind, node, after_serial, count, now_sec, &b->lines);
    if (r < 0)
        return r;
    /* Every format writes a loss line's time as now_sec.000. */
    struct ar_line_meta m = {.sec = now_sec, .has_time = true, .serial = after_serial,
                             .node = node, .source = source_of(enc)};
    return note(b, from, &m);
}

int ar_sink_buf_hand(struct ar_sink_buf *b, const struct ar_sink *sink)
{
    if (b->lines.len == 0)
        return 0;
    if (sink->take)
        return sink->take(sink->ctx, &b->lines, &b->meta);
    struct ar_lines lines = {b->lines.p, b->lines.len, b->meta.p, b->meta.len};
    int r = sink->write(sink->ctx, &lines);
    b->lines.len = b->meta.len = 0;
    return r;
}

void ar_sink_buf_free(struct ar_sink_buf *b)
{
    ar_buf_free(&b->lines);
    ar_buf_free(&b->meta);
}
