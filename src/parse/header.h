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

/* The last stamp a log's reader parsed. The records of one event follow one
 * another in a log (4.5 a stamp in the bench log), so most lines compare its text
 * instead of reading its digits again. */
struct ar_stamp_memo {
    uint8_t len;            /* bytes in text; 0: none yet */
    char text[48];          /* "audit(SEC.MS:SERIAL)" as it appeared */
    uint32_t msec, serial;
    uint64_t sec;
};

/* Parses a text log line (without its newline): auditd's RAW and ENRICHED formats
 * and the dispatcher stream, `[node=X ]type=NAME|type=NUM|type=UNKNOWN[NUM]
 * msg=audit(SEC.MS:SERIAL): body`. Spans in *ret point into [p, end).
 * Returns 0, or -EINVAL (not an audit record), -ENOENT (record type name unknown:
 * the record cannot be typed), -ERANGE (a number out of range). *ret is
 * untouched on failure. memo, when not NULL, is the reader's: read and updated. */
int ar_header_parse_line(const char *p, const char *end, struct ar_stamp_memo *memo,
                         struct ar_record *ret);

/* Parses a record as the kernel sends it over netlink: the type comes from
 * nlmsg_type and the text is `audit(SEC.MS:SERIAL): body`, all of it the body
 * (the ENRICHED separator is a log's, not the kernel's). Same returns and memo. */
int ar_header_parse_netlink(uint32_t type, const char *p, const char *end,
                            struct ar_stamp_memo *memo, struct ar_record *ret);
