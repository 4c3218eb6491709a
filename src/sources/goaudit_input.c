#include "sources/goaudit_input.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "audit/fieldclass.h"
#include "parse/tokenize.h"

/* go-audit's timestamp is the kernel's "SEC.MSEC" text, copied from the record's
 * audit(...) stamp; nothing else is taken. */
static bool timestamp_valid(const char *s)
{
    size_t int_digits = strspn(s, "0123456789");
    if (int_digits == 0 || int_digits > 20 || s[int_digits] != '.')
        return false;
    const char *frac = s + int_digits + 1;
    size_t frac_digits = strspn(frac, "0123456789");
    return frac_digits > 0 && frac_digits <= 9 && frac[frac_digits] == '\0';
}

/* An integral JSON number in [min, max]. */
static bool number_in(const cJSON *j, double min, double max, uint64_t *ret)
{
    if (!cJSON_IsNumber(j))
        return false;
    double v = j->valuedouble;
    if (!(v >= min && v <= max) || (double)(uint64_t)v != v)
        return false;
    *ret = (uint64_t)v;
    return true;
}

/* cJSON ends strings at their first NUL, so a "data" with an escaped NUL
 * (\u0000 after an even number of backslashes) would arrive cut short: such a
 * line is refused rather than replayed with a part of a record missing. */
static bool has_escaped_nul(const char *p, size_t len)
{
    static const char esc[] = "\\u0000";
    const char *end = p + len;
    for (const char *q = p; (q = memmem(q, (size_t)(end - q), esc, sizeof(esc) - 1)); q++) {
        size_t before = 0; /* backslashes before this one */
        for (const char *b = q; b > p && b[-1] == '\\'; b--)
            before++;
        if (before % 2 == 0)
            return true;
    }
    return false;
}

/* The record stamp both the line and each message share: "audit(TS:SEQ): ",
 * parsed by the header parser the other sources use. */
static bool parse_stamp(const char *ts, uint64_t seq, struct ar_record *ret)
{
    if (seq == 0 && strcmp(ts, "0.000") == 0) {
        *ret = (struct ar_record){.has_time = false};
        return true;
    }
    char stamp[64];
    int n = snprintf(stamp, sizeof(stamp), "audit(%s:%llu): ", ts, (unsigned long long)seq);
    if (n < 0 || (size_t)n >= sizeof(stamp))
        return false;
    struct ar_record rec;
    if (ar_header_parse_netlink(0, stamp, stamp + n, NULL, &rec) < 0 || rec.body.len != 0)
        return false;
    *ret = rec;
    return true;
}

/* The kinds of loss report a go-audit line may carry (encode/encoder.h). A
 * serial_gap is not among them: reassembly finds the gap again. */
static const char *const loss_kinds[] = {
    "kernel_lost", "enobufs", "ring_lost", "output_dropped", "space_left", "admin_space_left",
};

/* Our own loss report ({"type":"AUDITRELAY_LOST","loss":{"kind":K,"count":N,...}}):
 * 0 when it was one (handed to the sink or skipped), 1 when the line is no loss
 * report, or a sink error. */
static int decode_loss(const cJSON *root, const struct ar_source_sink *sink)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *loss = cJSON_GetObjectItemCaseSensitive(root, "loss");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "AUDITRELAY_LOST") != 0 ||
        !cJSON_IsObject(loss))
        return 1;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(loss, "kind");
    uint64_t count;
    if (!cJSON_IsString(kind) ||
        !number_in(cJSON_GetObjectItemCaseSensitive(loss, "count"), 0, 9007199254740992.0, &count))
        return 1;
    if (strcmp(kind->valuestring, "serial_gap") == 0)
        return 0;
    for (size_t i = 0; i < sizeof(loss_kinds) / sizeof(loss_kinds[0]); i++)
        if (strcmp(kind->valuestring, loss_kinds[i]) == 0) {
            sink->loss(sink->ctx, loss_kinds[i], count);
            return 0;
        }
    return 1;
}

/* The name go-audit's uid_map gives a uid; NULL when the map has none for it, when
 * it says UNKNOWN_USER (no name, or none looked up: --format go-audit -n writes
 * that too), or when the name cannot be written in an ENRICHED part (a quote, a
 * blank or a control character would end it early). */
static const char *recorded_name(const cJSON *uids, struct ar_span uid)
{
    char key[16];
    if (uid.len == 0 || uid.len >= sizeof(key))
        return NULL;
    memcpy(key, uid.p, uid.len);
    key[uid.len] = 0;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(uids, key);
    if (!cJSON_IsString(name) || !name->valuestring[0] ||
        strcmp(name->valuestring, "UNKNOWN_USER") == 0)
        return NULL;
    for (const unsigned char *c = (const unsigned char *)name->valuestring; *c; c++)
        if (*c <= ' ' || *c == '"' || *c == 0x7f)
            return NULL;
    return name->valuestring;
}

/* The ENRICHED part of a record from the line's uid_map: KEY="name" for each user
 * id field (uid, auid, euid...; in a msg='...' too) the map names, each key once,
 * as auditd's ENRICHED format writes it; the encoders take these names over this
 * host's. Written into buf (size bytes); returns its length. */
static size_t enrich_from_uid_map(const cJSON *uids, const char *data, size_t len, char *buf,
                                  size_t size)
{
    struct ar_field fields[256];
    struct ar_tokens t = {.fields = fields, .cap = AR_ARRAY_SIZE(fields)};
    ar_tokenize(data, data + len, &t);
    size_t out = 0;
    for (size_t i = 0; i < t.n; i++) {
        const struct ar_field *f = &fields[i];
        if (f->kind != AR_VAL_PLAIN || ar_field_info_of(f->key).cls != AR_FC_UID)
            continue;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = fields[j].kind == AR_VAL_PLAIN && ar_span_same(fields[j].key, f->key);
        const char *name = dup ? NULL : recorded_name(uids, f->value);
        if (!name)
            continue;
        size_t need = (out ? 1 : 0) + f->key.len + 3 + strlen(name);
        if (out + need > size)
            break;
        if (out)
            buf[out++] = ' ';
        for (size_t k = 0; k < f->key.len; k++)
            buf[out++] = (char)(f->key.p[k] >= 'a' && f->key.p[k] <= 'z' ? f->key.p[k] - 32
                                                                          : f->key.p[k]);
        out += (size_t)sprintf(buf + out, "=\"%s\"", name);
    }
    return out;
}

int ar_goaudit_decode_line(const char *p, size_t len, const struct ar_source_sink *sink)
{
    if (has_escaped_nul(p, len))
        return 1;
    const char *parse_end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(p, len, &parse_end, false);
    if (!root)
        return 1;
    int ret = 1;
    /* Only white space may follow the object. */
    for (const char *q = parse_end, *end = p + len; q && q < end; q++)
        if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
            goto out;
    if (!cJSON_IsObject(root))
        goto out;
    if (!cJSON_GetObjectItemCaseSensitive(root, "messages")) {
        ret = decode_loss(root, sink);
        goto out;
    }
    const cJSON *seq_j = cJSON_GetObjectItemCaseSensitive(root, "sequence");
    const cJSON *ts_j = cJSON_GetObjectItemCaseSensitive(root, "timestamp");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    const cJSON *uids = cJSON_GetObjectItemCaseSensitive(root, "uid_map");
    uint64_t seq;
    struct ar_record stamp;
    /* go-audit always writes a uid_map object; a nil Go map would print null. */
    bool uids_ok = !uids || cJSON_IsObject(uids) || cJSON_IsNull(uids);
    if (!number_in(seq_j, 0, UINT32_MAX, &seq) || !cJSON_IsString(ts_j) ||
        !timestamp_valid(ts_j->valuestring) || !parse_stamp(ts_j->valuestring, seq, &stamp) ||
        !cJSON_IsArray(msgs) || !msgs->child || !uids_ok)
        goto out;
    const cJSON *m;
    for (m = msgs->child; m; m = m->next) {
        uint64_t type;
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(m, "data");
        if (!cJSON_IsObject(m) ||
            !number_in(cJSON_GetObjectItemCaseSensitive(m, "type"), 0, UINT32_MAX, &type) ||
            !cJSON_IsString(data))
            goto out;
    }
    ret = 0;
    struct ar_record rec = stamp;
    for (m = msgs->child; m; m = m->next) {
        uint64_t type = 0; /* checked above */
        number_in(cJSON_GetObjectItemCaseSensitive(m, "type"), 0, UINT32_MAX, &type);
        rec.type = (uint32_t)type;
        const char *data = cJSON_GetObjectItemCaseSensitive(m, "data")->valuestring;
        rec.body = (struct ar_span){data, strlen(data)};
        rec.node = (struct ar_span){data, 0};
        char names[1024];
        size_t nlen = cJSON_IsObject(uids)
                          ? enrich_from_uid_map(uids, data, rec.body.len, names, sizeof(names))
                          : 0;
        rec.enriched = nlen ? (struct ar_span){names, nlen}
                            : (struct ar_span){data + rec.body.len, 0};
        if ((ret = sink->record(sink->ctx, &rec)) < 0)
            goto out;
    }
    ret = sink->end_event(sink->ctx, &rec);
out:
    cJSON_Delete(root);
    return ret;
}
