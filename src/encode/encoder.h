/* Turns a completed event into output lines in one of the formats of
 * encode/formats.c: our JSON schema (man/auditrelay-json.7, encode/json.c),
 * go-audit's shape (encode/goaudit.c), or auditd's own log lines (one per record,
 * encode/auditlog.c). Pure: no I/O, no clocks; user names come through an
 * ar_idcache the caller owns. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "encode/format.h"
#include "encode/jsonw.h"
#include "enrich/ids.h"
#include "reasm/reasm.h"

struct ar_encoder_config {
    const struct ar_format_ops *format; /* NULL: ar_formats[0] (json) */
    const char *source;       /* "replay", "netlink"...: the event's "source" field */
    uint32_t native_arch;     /* AUDIT_ARCH_* assumed when a record carries no arch */
    bool eoe;                 /* raw, enriched: write EOE records (auditd's plugin
                               * stream has them, its log not) */
};

struct ar_encoder_stats {
    uint64_t field_overflow;  /* records with more fields than the encoder holds */
    uint64_t unterminated;    /* records with a quote that never closed */
    uint64_t invalid_utf8;    /* values carried as U+FFFD plus raw hex */
};

struct ar_encoder;

/* ids may be NULL (no names at all). Returns 0, -EINVAL or -ENOMEM. */
int ar_encoder_new(const struct ar_encoder_config *cfg, struct ar_idcache *ids,
                   struct ar_encoder **ret);
void ar_encoder_free(struct ar_encoder *e);

/* Appends one line (ending in '\n') for the event to out. Returns 0 or -ENOMEM
 * (out->failed); on failure out->len is restored so no partial line remains. */
int ar_encoder_event(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *out);

/* Appends a synthetic event reporting lost serials, so that a SIEM sees the loss in
 * the stream: {"type":"AUDITRELAY_LOST",...}. kind is "serial_gap",
 * "kernel_lost", "enobufs", "ring_lost", "output_dropped", or "space_left" and
 * "admin_space_left" (a file output's free space reached the threshold). */
int ar_encoder_loss(struct ar_encoder *e, const char *kind, struct ar_span node,
                    uint32_t after_serial, uint64_t count, uint64_t now_sec, struct ar_buf *out);

const struct ar_encoder_stats *ar_encoder_stats(const struct ar_encoder *e);

/* The configuration in use, its format and source filled in with the defaults. */
const struct ar_encoder_config *ar_encoder_config(const struct ar_encoder *e);
