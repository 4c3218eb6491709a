/* go-audit's shape, so that its users can switch with no SIEM change:
 * {"sequence","timestamp","messages":[{"type","data"}],"uid_map"}, escaped as Go's
 * encoding/json escapes (< > & too). Loss reports are our schema's. */
#include <libaudit.h> /* AUDIT_EOE; header only, never linked */
#include <stdio.h>
#include <stdlib.h>

#include "encode/jsonvalue.h"

struct uid_entry {
    struct ar_span uid;
    struct ar_span name; /* from the record's ENRICHED part; empty: none */
};

/* The name a record's ENRICHED part gives the field whose value starts at `value`
 * (KEY="name" for the key before it, as a replayed go-audit line's uid_map or
 * auditd's ENRICHED log wrote it). */
static struct ar_span enriched_name(struct ar_span body, const char *value, struct ar_span enr)
{
    const char *k = value - 1; /* at '=' */
    while (k > body.p && (k[-1] == '_' || k[-1] == '-' || (k[-1] >= 'a' && k[-1] <= 'z')))
        k--;
    char want[40];
    size_t klen = (size_t)(value - 1 - k);
    if (!enr.len || klen == 0 || klen + 2 > sizeof(want))
        return (struct ar_span){NULL, 0};
    for (size_t i = 0; i < klen; i++)
        want[i] = (char)(k[i] >= 'a' && k[i] <= 'z' ? k[i] - 32 : k[i]);
    want[klen] = '=';
    want[klen + 1] = '"';
    for (const char *p = enr.p, *end = enr.p + enr.len;
         (p = memmem(p, (size_t)(end - p), want, klen + 2)); p++) {
        if (p != enr.p && p[-1] != ' ')
            continue;
        const char *v = p + klen + 2, *ve = memchr(v, '"', (size_t)(end - v));
        if (ve)
            return ar_span_make(v, ve);
    }
    return (struct ar_span){NULL, 0};
}

static int cmp_uid(const void *a, const void *b)
{
    const struct uid_entry *x = a, *y = b;
    size_t n = x->uid.len < y->uid.len ? x->uid.len : y->uid.len;
    int c = memcmp(x->uid.p, y->uid.p, n);
    return c ? c : (x->uid.len > y->uid.len) - (x->uid.len < y->uid.len);
}

/* go-audit maps every value that follows "uid=" in the text (uid, auid, euid...)
 * to a user name, "UNKNOWN_USER" when there is none, and Go prints maps sorted.
 * A name the record carries (a replayed go-audit line's uid_map, an ENRICHED log)
 * is the recording host's and wins over this host's. */
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
        struct ar_span body = ar_event_body(ev, r), enr = ar_event_enriched(ev, r);
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
            if (!dup && nuids < AR_ARRAY_SIZE(uids)) {
                uids[nuids].uid = uid;
                uids[nuids++].name = enriched_name(body, v, enr);
            }
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
        struct ar_span name = uids[i].name;
        bool none = AR_SPAN_IS(name, "unset") || (name.len > 8 && !memcmp(name.p, "unknown(", 8));
        if (none)
            name = (struct ar_span){NULL, 0}; /* the recording host had none */
        else if (!name.len && e->ids && ar_span_to_u64(uids[i].uid, &id) && id < UINT32_MAX) {
            const char *looked_up = ar_idcache_name(e->ids, AR_ID_USER, (uint32_t)id);
            if (looked_up)
                name = (struct ar_span){looked_up, strlen(looked_up)};
        }
        if (!name.len)
            name = (struct ar_span){"UNKNOWN_USER", 12};
        ar_json_string(b, name.p, name.len, AR_JSON_ESCAPE_HTML);
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
