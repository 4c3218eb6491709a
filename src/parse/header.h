/* Record header parsing: turns one audit record, in any of the forms a user meets,
 * into its type, timestamp, serial, node and body. Pure: no allocation, every read
 * bounded by the end pointer, no NUL assumed. */
#pragma once
#include <stdint.h>
#include "util/span.h"

/* The byte auditd's ENRICHED log format puts between the kernel's fields and the
 * names it appended. */
#define AR_ENRICH_SEP '\x1d'

struct ar_record {
    uint32_t type;          /* numeric record type */
    uint32_t msec;          /* milliseconds, 0..999 */
    uint64_t sec;           /* seconds since the epoch */
    uint32_t serial;        /* the kernel's event serial */
    bool has_time;          /* false for "msg=?" records, which carry no audit() stamp */
    struct ar_span node;    /* "node=X" value, empty when absent */
    struct ar_span body;    /* key=value text after "): ", before any 0x1d */
    struct ar_span enriched;/* text after the 0x1d separator, empty when absent */
};

/* Parses a text log line (without its newline): auditd's RAW and ENRICHED formats
 * and the dispatcher stream, `[node=X ]type=NAME|type=NUM|type=UNKNOWN[NUM]
 * msg=audit(SEC.MS:SERIAL): body`. Spans in *ret point into [p, end).
 * Returns 0, or -EINVAL (not an audit record), -ENOENT (record type name unknown:
 * the record cannot be typed), -ERANGE (a number out of range). *ret is
 * untouched on failure. */
int ar_header_parse_line(const char *p, const char *end, struct ar_record *ret);

/* Parses a record as the kernel sends it over netlink: the type comes from
 * nlmsg_type and the text is `audit(SEC.MS:SERIAL): body`, all of it the body
 * (the ENRICHED separator is a log's, not the kernel's). Same returns. */
int ar_header_parse_netlink(uint32_t type, const char *p, const char *end, struct ar_record *ret);
