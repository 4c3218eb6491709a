#include "parse/header.h"

#include <errno.h>

#include "audit/tables.h"

/* Returns the first position in [p, end) holding c, or end. */
static const char *find_char(const char *p, const char *end, char c)
{
    const char *hit = memchr(p, c, (size_t)(end - p));
    return hit ? hit : end;
}

static bool skip_literal(const char **pp, const char *end, const char *lit, size_t len)
{
    if ((size_t)(end - *pp) < len || memcmp(*pp, lit, len) != 0)
        return false;
    *pp += len;
    return true;
}

#define SKIP(pp, end, lit) skip_literal((pp), (end), (lit), sizeof(lit) - 1)

/* Reads decimal digits into a u64; returns false when there are none or the value
 * exceeds max. max is at most UINT64_MAX / 1000 here, so v * 10 + d cannot wrap
 * while v <= max: one compare per digit, no division. */
static bool read_decimal(const char **pp, const char *end, uint64_t max, uint64_t *ret, int *ret_digits)
{
    const char *p = *pp;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > max)
            return false;
        p++;
    }
    if (p == *pp)
        return false;
    if (ret_digits)
        *ret_digits = (int)(p - *pp);
    *pp = p;
    *ret = v;
    return true;
}

/* Reads `audit(SEC.MS:SERIAL)`. */
static int parse_stamp(const char **pp, const char *end, uint64_t *ret_sec, uint32_t *ret_msec,
                       uint32_t *ret_serial)
{
    const char *p = *pp;
    uint64_t sec, ms, serial;
    int ms_digits;
    if (!SKIP(&p, end, "audit("))
        return -EINVAL;
    if (!read_decimal(&p, end, UINT64_MAX / 1000, &sec, NULL) || !SKIP(&p, end, "."))
        return -EINVAL;
    if (!read_decimal(&p, end, 999999999, &ms, &ms_digits) || !SKIP(&p, end, ":"))
        return -EINVAL;
    /* The kernel always prints three digits; scale anything else to milliseconds. */
    for (; ms_digits < 3; ms_digits++)
        ms *= 10;
    for (; ms_digits > 3; ms_digits--)
        ms /= 10;
    if (!read_decimal(&p, end, UINT32_MAX, &serial, NULL))
        return -ERANGE;
    /* auditd 2.x wrote some DAEMON_CONFIG records as "audit(...) config changed",
     * without the colon. */
    if (!SKIP(&p, end, ")"))
        return -EINVAL;
    *pp = p;
    *ret_sec = sec;
    *ret_msec = (uint32_t)ms;
    *ret_serial = (uint32_t)serial;
    return 0;
}

/* Parses `audit(SEC.MS:SERIAL):` and the body after it. With log_enriched, the
 * body ends at auditd's ENRICHED separator and the rest is its enriched part. A
 * stamp whose text is memo's (its closing parenthesis included, so a longer serial
 * never matches a shorter one) takes memo's numbers. */
static int parse_stamp_and_body(const char *p, const char *end, bool log_enriched,
                                struct ar_stamp_memo *memo, struct ar_record *rec)
{
    if (memo && memo->len && (size_t)(end - p) >= memo->len &&
        memcmp(p, memo->text, memo->len) == 0) {
        p += memo->len;
        rec->sec = memo->sec;
        rec->msec = memo->msec;
        rec->serial = memo->serial;
    } else {
        const char *stamp = p;
        int r = parse_stamp(&p, end, &rec->sec, &rec->msec, &rec->serial);
        if (r < 0)
            return r;
        if (memo && (size_t)(p - stamp) <= sizeof(memo->text)) {
            memo->len = (uint8_t)(p - stamp);
            memcpy(memo->text, stamp, memo->len);
            memo->sec = rec->sec;
            memo->msec = rec->msec;
            memo->serial = rec->serial;
        }
    }
    rec->has_time = true;
    SKIP(&p, end, ":");
    if (p < end && *p == ' ')
        p++;
    const char *sep = log_enriched ? find_char(p, end, AR_ENRICH_SEP) : end;
    rec->body = ar_span_make(p, sep);
    rec->enriched = sep < end ? ar_span_make(sep + 1, end) : (struct ar_span){end, 0};
    return 0;
}

/* The types that make up nearly every kernel event, tried before the full table's
 * binary search (a measurable share of replay time otherwise); literals, so that
 * each compare is inlined. 0: not one of them. */
static uint32_t common_type(struct ar_span tok)
{
    switch (tok.len) {
    case 3:
        return AR_SPAN_IS(tok, "CWD") ? 1307 : AR_SPAN_IS(tok, "EOE") ? 1320 : 0;
    case 4:
        return AR_SPAN_IS(tok, "PATH") ? 1302 : 0;
    case 6:
        return AR_SPAN_IS(tok, "EXECVE") ? 1309 : 0;
    case 7:
        return AR_SPAN_IS(tok, "SYSCALL") ? 1300 : 0;
    case 8:
        return AR_SPAN_IS(tok, "SOCKADDR") ? 1306 : 0;
    case 9:
        return AR_SPAN_IS(tok, "PROCTITLE") ? 1327 : 0;
    }
    return 0;
}

/* Type token forms: "SYSCALL", "1300", "UNKNOWN[1329]". */
static int parse_type(struct ar_span tok, uint32_t *ret)
{
    uint64_t v;
    uint32_t common = common_type(tok);
    if (common) {
        *ret = common;
        return 0;
    }
    if (ar_span_to_u64(tok, &v))
        goto number;
    if (tok.len > 9 && memcmp(tok.p, "UNKNOWN[", 8) == 0 && tok.p[tok.len - 1] == ']') {
        if (ar_span_to_u64((struct ar_span){tok.p + 8, tok.len - 9}, &v))
            goto number;
        return -EINVAL;
    }
    return ar_rectype_from_name(tok, ret) ? 0 : -ENOENT;
number:
    if (v > UINT32_MAX)
        return -ERANGE;
    *ret = (uint32_t)v;
    return 0;
}

int ar_header_parse_line(const char *p, const char *end, struct ar_stamp_memo *memo,
                         struct ar_record *ret)
{
    struct ar_record rec = {0};
    /* kern.log / dmesg form: "audit: type=1300 audit(...): ..." */
    SKIP(&p, end, "audit: ");
    if (SKIP(&p, end, "node=")) {
        const char *sp = find_char(p, end, ' ');
        if (sp == end)
            return -EINVAL;
        rec.node = ar_span_make(p, sp);
        p = sp + 1;
    } else {
        rec.node = (struct ar_span){p, 0};
    }
    if (!SKIP(&p, end, "type="))
        return -EINVAL;
    const char *sp = find_char(p, end, ' ');
    if (sp == end)
        return -EINVAL;
    int r = parse_type(ar_span_make(p, sp), &rec.type);
    if (r < 0)
        return r;
    p = sp + 1;
    if (SKIP(&p, end, "msg=?")) {
        /* auditd writes records whose stamp it could not read as "msg=?". */
        if (p < end && *p == ' ')
            p++;
        const char *sep = find_char(p, end, AR_ENRICH_SEP);
        rec.body = ar_span_make(p, sep);
        rec.enriched = sep < end ? ar_span_make(sep + 1, end) : (struct ar_span){end, 0};
        *ret = rec;
        return 0;
    }
    SKIP(&p, end, "msg=");
    r = parse_stamp_and_body(p, end, true, memo, &rec);
    if (r < 0)
        return r;
    *ret = rec;
    return 0;
}

int ar_header_parse_netlink(uint32_t type, const char *p, const char *end,
                            struct ar_stamp_memo *memo, struct ar_record *ret)
{
    struct ar_record rec = {0};
    rec.type = type;
    rec.node = (struct ar_span){p, 0};
    /* The kernel pads some records with trailing NULs; they are not part of the text. */
    while (end > p && end[-1] == '\0')
        end--;
    /* The separator is auditd's, written into its log; a kernel record holds the
     * text as sent, and a user message may carry the byte itself (the kernel logs
     * AUDIT_USER_* text verbatim): splitting there let its sender supply the
     * "enriched" names of uid and auid. */
    int r = parse_stamp_and_body(p, end, false, memo, &rec);
    if (r < 0)
        return r;
    *ret = rec;
    return 0;
}
