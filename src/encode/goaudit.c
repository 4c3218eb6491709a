/* go-audit's shape, so that its users can switch with no SIEM change:
 * {"sequence","timestamp","messages":[{"type","data"}],"uid_map"}, escaped as Go's
 * encoding/json escapes (< > & too). Loss reports are our schema's. */
#include <libaudit.h> /* AUDIT_EOE; header only, never linked */
#include <stdio.h>
#include <stdlib.h>

#include "encode/jsonvalue.h"

struct uid_entry {
    struct ar_span uid;
};

static int cmp_uid(const void *a, const void *b)
{
    const struct uid_entry *x = a, *y = b;
    size_t n = x->uid.len < y->uid.len ? x->uid.len : y->uid.len;
    int c = memcmp(x->uid.p, y->uid.p, n);
    return c ? c : (x->uid.len > y->uid.len) - (x->uid.len < y->uid.len);
}

/* go-audit maps every value that follows "uid=" in the text (uid, auid, euid...)
 * to a user name, "UNKNOWN_USER" when there is none, and Go prints maps sorted. */
static int goaudit_event(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *b)
{
    struct uid_entry uids[64];
    size_t nuids = 0;
    AR_BUF_LIT(b, "{\"sequence\":");
    ar_buf_u64(b, ev->serial);
    char ts[96]; /* 20-digit seconds fit: a short buffer cut the line (fuzz) */
    int n = snprintf(ts, sizeof(ts), ",\"timestamp\":\"%llu.%03u\",\"messages\":[",
                     (unsigned long long)ev->sec, ev->msec);
    ar_buf_put(b, ts, (size_t)n);
    bool first = true;
    for (uint32_t r = 0; r < ev->nrecords; r++) {
        if (ev->records[r].type == AUDIT_EOE)
            continue;
        if (!first)
            ar_buf_putc(b, ',');
        first = false;
        AR_BUF_LIT(b, "{\"type\":");
        ar_buf_u64(b, ev->records[r].type);
        AR_BUF_LIT(b, ",\"data\":");
        struct ar_span body = ar_event_body(ev, r);
        ar_json_string(b, body.p, body.len, AR_JSON_ESCAPE_HTML);
        ar_buf_putc(b, '}');
        for (const char *p = body.p, *end = body.p + body.len; p < end;) {
            const char *hit = memmem(p, (size_t)(end - p), "uid=", 4);
            if (!hit)
                break;
            const char *v = hit + 4, *ve = memchr(v, ' ', (size_t)(end - v));
            if (!ve)
                ve = end;
            struct ar_span uid = ar_span_make(v, ve);
            bool dup = false;
            for (size_t i = 0; i < nuids && !dup; i++)
                dup = ar_span_same(uids[i].uid, uid);
            if (!dup && nuids < AR_ARRAY_SIZE(uids))
                uids[nuids++].uid = uid;
            p = ve;
        }
    }
    AR_BUF_LIT(b, "],\"uid_map\":{");
    qsort(uids, nuids, sizeof(uids[0]), cmp_uid);
    for (size_t i = 0; i < nuids; i++) {
        if (i)
            ar_buf_putc(b, ',');
        ar_json_string(b, uids[i].uid.p, uids[i].uid.len, AR_JSON_ESCAPE_HTML);
        ar_buf_putc(b, ':');
        uint64_t id;
        const char *name = NULL;
        if (e->ids && ar_span_to_u64(uids[i].uid, &id) && id < UINT32_MAX)
            name = ar_idcache_name(e->ids, AR_ID_USER, (uint32_t)id);
        if (!name)
            name = "UNKNOWN_USER";
        ar_json_string(b, name, strlen(name), AR_JSON_ESCAPE_HTML);
    }
    AR_BUF_LIT(b, "}}\n");
    return 0;
}

const struct ar_format_ops ar_format_goaudit = {
    .name = "go-audit",
    .event = goaudit_event,
    .loss = ar_json_loss,
    .untimed_as_zero = true,
};
