#include "encode/encoder.h"
#include "encode/auditlog.h"

#include <errno.h>
#include <libaudit.h> /* message type ranges; header only, never linked */
#include <stdio.h>
#include <stdlib.h>

#include "enrich/decode.h"
#include "enrich/fieldclass.h"
#include "enrich/tables.h"
#include "parse/tokenize.h"

/* Fields tokenized per event (all records together); beyond it, the rest of a
 * record's fields are dropped and counted. EXECVE records carry the most. */
#define MAX_EVENT_FIELDS 65536
#define MAX_SUMMARY_PATHS 64
#define MAX_ARGS (1u << 20)

struct rec_tokens {
    uint32_t first, n;         /* body fields */
    uint32_t enr_first, enr_n; /* fields of the ENRICHED part */
    uint32_t arch;             /* AUDIT_ARCH_* that applies to this record */
};

struct arg_slot {
    uint32_t off, len;
    bool present;
};

struct summary {
    const struct ar_field *by_name[AR_FN_COUNT]; /* first field of each summary name */
    uint32_t syscall_rec;
    uint32_t arch;
    const struct ar_field *paths[MAX_SUMMARY_PATHS];
    uint32_t npaths;
    bool has_execve;
    uint64_t argc;
};

struct ar_encoder {
    struct ar_encoder_config cfg;
    struct ar_idcache *ids;
    struct ar_encoder_stats stats;
    struct ar_field *fields;
    struct ar_field_info *info; /* parallel to fields */
    struct rec_tokens *recs;
    size_t recs_cap;
    /* Hex values decoded once per event (a PATH name or proctitle is used by both the
     * record's interpretation and the summary): state per field, bytes in an arena
     * reset for each event. */
    uint8_t *dec_state;     /* parallel to fields: enum decode_state */
    uint16_t *dup;          /* parallel to fields: 2 for the second "key" of a level... */
    struct ar_span parent;  /* while writing interpretations of a nested msg='...' */
    uint32_t *dec_off, *dec_len;
    struct ar_buf decoded;
    struct ar_buf args;     /* joined EXECVE arguments */
    struct arg_slot *slots;
    size_t slots_cap;
    size_t nslots;          /* slots filled for the current event */
    char ts[32];
    uint64_t ts_sec;
    uint32_t ts_msec;
    bool ts_valid;
};

int ar_encoder_new(const struct ar_encoder_config *cfg, struct ar_idcache *ids,
                   struct ar_encoder **ret)
{
    if (!cfg)
        return -EINVAL;
    struct ar_encoder *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->cfg = *cfg;
    if (!e->cfg.source)
        e->cfg.source = "replay";
    e->ids = ids;
    e->fields = malloc(MAX_EVENT_FIELDS * sizeof(*e->fields));
    e->info = malloc(MAX_EVENT_FIELDS * sizeof(*e->info));
    e->dec_state = malloc(MAX_EVENT_FIELDS * sizeof(*e->dec_state));
    e->dup = malloc(MAX_EVENT_FIELDS * sizeof(*e->dup));
    e->dec_off = malloc(MAX_EVENT_FIELDS * sizeof(*e->dec_off));
    e->dec_len = malloc(MAX_EVENT_FIELDS * sizeof(*e->dec_len));
    if (!e->fields || !e->info || !e->dec_state || !e->dec_off || !e->dec_len || !e->dup) {
        ar_encoder_free(e);
        return -ENOMEM;
    }
    *ret = e;
    return 0;
}

void ar_encoder_free(struct ar_encoder *e)
{
    if (!e)
        return;
    free(e->fields);
    free(e->info);
    free(e->recs);
    free(e->dec_state);
    free(e->dup);
    free(e->dec_off);
    free(e->dec_len);
    ar_buf_free(&e->decoded);
    free(e->slots);
    ar_buf_free(&e->args);
    free(e);
}

const struct ar_encoder_stats *ar_encoder_stats(const struct ar_encoder *e)
{
    return &e->stats;
}

/* ---- timestamps ---- */

static void put2(char *o, uint32_t v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

void ar_format_iso8601(uint64_t sec, uint32_t msec, char out[32])
{
    /* Past 9999-12-31 the format has no room: clamp rather than print garbage. */
    if (sec > UINT64_C(253402300799))
        sec = UINT64_C(253402300799);
    /* Days to civil date (Howard Hinnant's algorithm): no locale, no tz files. */
    int64_t z = (int64_t)(sec / 86400) + 719468;
    uint32_t sod = (uint32_t)(sec % 86400);
    int64_t era = z / 146097;
    uint32_t doe = (uint32_t)(z - era * 146097);
    uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint32_t y = (uint32_t)((int64_t)yoe + era * 400);
    uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint32_t mp = (5 * doy + 2) / 153;
    uint32_t d = doy - (153 * mp + 2) / 5 + 1;
    uint32_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    msec %= 1000;
    put2(out, y / 100 % 100);
    put2(out + 2, y % 100);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = 'T';
    put2(out + 11, sod / 3600);
    out[13] = ':';
    put2(out + 14, sod / 60 % 60);
    out[16] = ':';
    put2(out + 17, sod % 60);
    out[19] = '.';
    out[20] = (char)('0' + msec / 100);
    put2(out + 21, msec % 100);
    out[23] = 'Z';
    out[24] = '\0';
}

static const char *timestamp(struct ar_encoder *e, uint64_t sec, uint32_t msec)
{
    if (!e->ts_valid || e->ts_sec != sec || e->ts_msec != msec) {
        ar_format_iso8601(sec, msec, e->ts);
        e->ts_sec = sec;
        e->ts_msec = msec;
        e->ts_valid = true;
    }
    return e->ts;
}

/* ---- small writers ---- */

static void put_str(struct ar_buf *b, struct ar_span s)
{
    ar_json_string(b, s.p, s.len, AR_JSON_ESCAPE_MINIMAL);
}

static void put_cstr(struct ar_buf *b, const char *s)
{
    ar_json_string(b, s, strlen(s), AR_JSON_ESCAPE_MINIMAL);
}

/* Writes `,"key":` (or without the comma for the first member). */
static void put_key(struct ar_buf *b, bool *first, const char *key, size_t len)
{
    if (!*first)
        ar_buf_putc(b, ',');
    *first = false;
    ar_json_key(b, key, len);
}

#define KEY(b, first, lit) put_key((b), (first), (lit), sizeof(lit) - 1)

/* Writes a string that may not be UTF-8; when it is not, the raw bytes follow as
 * "<key>.hex" so that nothing is lost. `key` may be NULL inside arrays. */
static void put_bytes(struct ar_encoder *e, struct ar_buf *b, bool *first, struct ar_span key,
                      const unsigned char *p, size_t len)
{
    if (!ar_json_string(b, (const char *)p, len, AR_JSON_ESCAPE_MINIMAL)) {
        e->stats.invalid_utf8++;
        if (key.p) {
            /* The member name is escaped like any key: it may hold odd bytes too. */
            char name[300];
            size_t n = key.len > 256 ? 256 : key.len;
            memcpy(name, key.p, n);
            memcpy(name + n, ".hex", 4);
            put_key(b, first, name, n + 4);
            ar_json_hex(b, p, len);
        }
    }
}

/* ---- field helpers ---- */

static bool is_arg_key(struct ar_span k)
{
    /* a0, a1, a12 (syscall args in hex, or EXECVE argv): always strings. */
    if (k.len < 2 || k.p[0] != 'a')
        return false;
    for (size_t i = 1; i < k.len; i++)
        if (k.p[i] < '0' || k.p[i] > '9')
            return false;
    return true;
}

/* aN or aN[i] in an EXECVE record (not argc, not aN_len). */
static bool is_execve_arg_key(struct ar_span k)
{
    size_t i = 1;
    if (k.len < 2 || k.p[0] != 'a')
        return false;
    while (i < k.len && k.p[i] >= '0' && k.p[i] <= '9')
        i++;
    if (i == 1)
        return false;
    if (i == k.len)
        return true;
    return k.p[i] == '[' && k.p[k.len - 1] == ']';
}

static bool may_be_number(const struct ar_field *f, enum ar_field_class cls)
{
    switch (cls) {
    case AR_FC_ESCAPED:
    case AR_FC_PROCTITLE:
    case AR_FC_SADDR:
    case AR_FC_KEY:
    case AR_FC_ARCH:
    case AR_FC_MODE:
    case AR_FC_TEXT:
        return false;
    default:
        return !is_arg_key(f->key);
    }
}

enum decode_state { DEC_UNKNOWN, DEC_DONE, DEC_NOT_HEX };

/* The decoded bytes of a value the kernel hex-encoded (unquoted, even length, hex
 * digits only). Returns false when the value is not hex. The bytes stay valid until
 * the next decode of another field. */
static bool decode_hex_value(struct ar_encoder *e, const struct ar_field *f,
                             const unsigned char **ret_p, size_t *ret_len)
{
    size_t i = (size_t)(f - e->fields);
    switch (e->dec_state[i]) {
    case DEC_DONE:
        *ret_p = (const unsigned char *)e->decoded.p + e->dec_off[i];
        *ret_len = e->dec_len[i];
        return true;
    case DEC_NOT_HEX:
        return false;
    default:
        break;
    }
    e->dec_state[i] = DEC_NOT_HEX;
    if (f->kind != AR_VAL_PLAIN || f->value.len == 0 || f->value.len % 2 ||
        !ar_buf_reserve(&e->decoded, f->value.len / 2))
        return false;
    unsigned char *out = (unsigned char *)e->decoded.p + e->decoded.len;
    int n = ar_hex_decode(f->value, out);
    if (n < 0)
        return false;
    e->dec_state[i] = DEC_DONE;
    e->dec_off[i] = (uint32_t)e->decoded.len;
    e->dec_len[i] = (uint32_t)n;
    e->decoded.len += (size_t)n;
    *ret_p = out;
    *ret_len = (size_t)n;
    return true;
}

static bool field_u64(const struct ar_field *f, uint64_t *ret)
{
    return f && f->kind == AR_VAL_PLAIN && ar_span_to_u64(f->value, ret);
}

static bool field_i64(const struct ar_field *f, int64_t *ret)
{
    return f && f->kind == AR_VAL_PLAIN && ar_span_to_i64(f->value, ret);
}

/* Name auditd appended in its ENRICHED section for a field ("uid" -> UID="root"). */
static const struct ar_field *enriched_for(const struct ar_encoder *e, const struct rec_tokens *rt,
                                           struct ar_span key)
{
    for (uint32_t i = 0; i < rt->enr_n; i++) {
        const struct ar_field *f = &e->fields[rt->enr_first + i];
        if (f->key.len != key.len)
            continue;
        size_t j = 0;
        while (j < key.len && (f->key.p[j] | 0x20) == (key.p[j] | 0x20))
            j++;
        if (j == key.len)
            return f;
    }
    return NULL;
}

static const char *id_name(struct ar_encoder *e, enum ar_id_kind kind, const struct ar_field *f)
{
    uint64_t id;
    if (!e->ids || !field_u64(f, &id) || id > UINT32_MAX)
        return NULL;
    return ar_idcache_name(e->ids, kind, (uint32_t)id);
}

static void put_mode(struct ar_buf *b, const struct ar_field *f)
{
    uint64_t mode = 0;
    for (size_t i = 0; i < f->value.len; i++) {
        char c = f->value.p[i];
        if (c < '0' || c > '7' || mode > (UINT64_MAX >> 3)) {
            put_str(b, f->value);
            return;
        }
        mode = mode << 3 | (uint64_t)(c - '0');
    }
    static const char *const types[16] = {
        [001] = "fifo", [002] = "character-special", [004] = "dir",
        [006] = "block-special", [010] = "file", [012] = "link", [014] = "socket",
    };
    /* auparse's style: "file,644", "setuid,file,4755". Written by hand: a PATH record
     * per event makes snprintf show up in profiles. */
    char tmp[64], *o = tmp;
    static const struct {
        uint64_t bit;
        const char *name;
    } specials[] = {{04000, "setuid,"}, {02000, "setgid,"}, {01000, "sticky,"}};
    for (size_t i = 0; i < 3; i++)
        if (mode & specials[i].bit) {
            size_t n = strlen(specials[i].name);
            memcpy(o, specials[i].name, n);
            o += n;
        }
    const char *t = types[(mode >> 12) & 15];
    if (t) {
        size_t n = strlen(t);
        memcpy(o, t, n);
        o += n;
        *o++ = ',';
    }
    if (mode & 07000)
        *o++ = (char)('0' + (mode >> 9 & 7));
    *o++ = (char)('0' + (mode >> 6 & 7));
    *o++ = (char)('0' + (mode >> 3 & 7));
    *o++ = (char)('0' + (mode & 7));
    ar_json_string(b, tmp, (size_t)(o - tmp), AR_JSON_ESCAPE_MINIMAL);
}

static void put_sockaddr(struct ar_encoder *e, struct ar_buf *b, const unsigned char *raw,
                         size_t len, uint32_t arch)
{
    struct ar_sockaddr sa;
    /* AUDIT_ARCH_* values carry a little-endian bit; without an arch, assume ours. */
    bool big_endian = arch ? !(arch & __AUDIT_ARCH_LE) : __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
    if (ar_sockaddr_decode(raw, len, big_endian, &sa) < 0) {
        AR_BUF_LIT(b, "{\"family\":\"unknown\"}");
        return;
    }
    bool first = true;
    ar_buf_putc(b, '{');
    KEY(b, &first, "family");
    put_cstr(b, sa.family);
    if (strcmp(sa.family, "unknown") == 0) {
        KEY(b, &first, "family_nr");
        ar_buf_u64(b, sa.family_nr);
    }
    if (sa.addr[0]) {
        KEY(b, &first, "addr");
        put_cstr(b, sa.addr);
    }
    if (sa.has_port) {
        KEY(b, &first, "port");
        ar_buf_u64(b, sa.port);
    }
    if (sa.path) {
        KEY(b, &first, "path");
        put_bytes(e, b, &first, AR_SPAN_LIT("path"), sa.path, sa.path_len);
        if (sa.abstract) {
            KEY(b, &first, "abstract");
            AR_BUF_LIT(b, "true");
        }
    }
    if (sa.family_nr == 16 /* AF_NETLINK */) {
        KEY(b, &first, "nl_pid");
        ar_buf_u64(b, sa.nl_pid);
        KEY(b, &first, "nl_groups");
        ar_buf_u64(b, sa.nl_groups);
    }
    ar_buf_putc(b, '}');
}

/* Writes a NUL-separated byte string as a JSON array of strings (proctitle). */
static void put_nul_list(struct ar_encoder *e, struct ar_buf *b, const unsigned char *p,
                         size_t len, unsigned char sep)
{
    ar_buf_putc(b, '[');
    size_t start = 0;
    bool first = true;
    /* A trailing separator does not start another element. */
    while (len > 0 && p[len - 1] == sep)
        len--;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == sep) {
            if (!first)
                ar_buf_putc(b, ',');
            first = false;
            bool dummy = false;
            put_bytes(e, b, &dummy, (struct ar_span){0}, p + start, i - start);
            start = i + 1;
        }
    }
    ar_buf_putc(b, ']');
}

/* ---- tokenizing the event ---- */

static int tokenize_event(struct ar_encoder *e, const struct ar_event *ev)
{
    if (ev->nrecords > e->recs_cap) {
        size_t cap = e->recs_cap ? e->recs_cap : 16;
        while (cap < ev->nrecords)
            cap *= 2;
        struct rec_tokens *nr = realloc(e->recs, cap * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        e->recs = nr;
        e->recs_cap = cap;
    }
    size_t used = 0;
    e->decoded.len = 0;
    for (uint32_t i = 0; i < ev->nrecords; i++) {
        struct ar_span body = ar_event_body(ev, i), enr = ar_event_enriched(ev, i);
        struct ar_tokens t = {.fields = e->fields + used, .cap = MAX_EVENT_FIELDS - used};
        ar_tokenize(body.p, body.p + body.len, &t);
        if (t.flags & AR_TOK_TRUNCATED)
            e->stats.field_overflow++;
        if (t.flags & AR_TOK_UNTERMINATED)
            e->stats.unterminated++;
        e->recs[i].first = (uint32_t)used;
        e->recs[i].n = (uint32_t)t.n;
        for (size_t k = used; k < used + t.n; k++) {
            e->info[k] = e->fields[k].kind == AR_VAL_BARE ? (struct ar_field_info){0, 0}
                                                           : ar_field_info_of(e->fields[k].key);
            e->dec_state[k] = DEC_UNKNOWN;
        }
        used += t.n;
        t = (struct ar_tokens){.fields = e->fields + used, .cap = MAX_EVENT_FIELDS - used};
        if (enr.len)
            ar_tokenize(enr.p, enr.p + enr.len, &t);
        e->recs[i].enr_first = (uint32_t)used;
        e->recs[i].enr_n = (uint32_t)t.n;
        /* auditd's names (UID="root") are text, never numbers or hex. */
        for (size_t k = used; k < used + t.n; k++) {
            e->info[k] = (struct ar_field_info){AR_FC_TEXT, AR_FN_OTHER};
            e->dec_state[k] = DEC_NOT_HEX;
        }
        used += t.n;
    }
    return 0;
}

static uint32_t record_arch(const struct ar_encoder *e, const struct rec_tokens *rt,
                            uint32_t fallback)
{
    uint64_t v;
    for (uint32_t i = rt->first; i < rt->first + rt->n; i++) {
        const struct ar_field *a = &e->fields[i];
        if (e->info[i].name == AR_FN_ARCH && a->kind == AR_VAL_PLAIN &&
            ar_span_hex_to_u64(a->value, &v) && v <= UINT32_MAX)
            return (uint32_t)v;
    }
    return fallback;
}

/* Collects the EXECVE arguments of the event into e->args / e->slots: aN values,
 * and long arguments split into aN_len / aN[i] chunks, across several records. */
static void gather_argv(struct ar_encoder *e, const struct ar_event *ev, struct summary *s)
{
    e->args.len = 0;
    size_t nslots = 0;
    for (uint32_t r = 0; r < ev->nrecords; r++) {
        if (ev->records[r].type != AUDIT_EXECVE)
            continue;
        const struct rec_tokens *rt = &e->recs[r];
        for (uint32_t i = 0; i < rt->n; i++) {
            const struct ar_field *f = &e->fields[rt->first + i];
            struct ar_span k = f->key;
            if (e->info[rt->first + i].name == AR_FN_ARGC) {
                field_u64(f, &s->argc);
                continue;
            }
            if (k.len < 2 || k.p[0] != 'a')
                continue;
            size_t j = 1;
            uint64_t n = 0;
            while (j < k.len && k.p[j] >= '0' && k.p[j] <= '9' && n < MAX_ARGS)
                n = n * 10 + (uint64_t)(k.p[j++] - '0');
            if (j == 1 || n >= MAX_ARGS)
                continue;
            bool chunk = j < k.len && k.p[j] == '[';
            if (j < k.len && !chunk)
                continue; /* aN_len: the chunks carry the bytes */
            if (n >= nslots) {
                if (n >= e->slots_cap) {
                    size_t cap = e->slots_cap ? e->slots_cap : 64;
                    while (cap <= n)
                        cap *= 2;
                    struct arg_slot *ns = realloc(e->slots, cap * sizeof(*ns));
                    if (!ns)
                        return;
                    e->slots = ns;
                    e->slots_cap = cap;
                }
                for (size_t x = nslots; x <= n; x++)
                    e->slots[x] = (struct arg_slot){0};
                nslots = n + 1;
            }
            struct arg_slot *slot = &e->slots[n];
            const unsigned char *p = (const unsigned char *)f->value.p;
            size_t len = f->value.len;
            const unsigned char *dp;
            size_t dlen;
            if (decode_hex_value(e, f, &dp, &dlen)) {
                p = dp;
                len = dlen;
            }
            if (!slot->present) {
                slot->present = true;
                slot->off = (uint32_t)e->args.len;
                slot->len = 0;
            } else if (slot->off + slot->len != e->args.len) {
                /* Chunks of one argument arrive together; if not, keep what came first. */
                continue;
            }
            ar_buf_put(&e->args, (const char *)p, len);
            slot->len += (uint32_t)len;
        }
    }
    s->has_execve = nslots > 0 || s->argc > 0;
    e->nslots = nslots;
}

static bool is_user_msg(uint32_t type)
{
    return (type >= AUDIT_FIRST_USER_MSG && type <= AUDIT_LAST_USER_MSG) ||
           (type >= AUDIT_FIRST_USER_MSG2 && type <= AUDIT_LAST_USER_MSG2);
}

/* Which summary names each kind of record may fill. */
#define FN(x) (UINT32_C(1) << AR_FN_##x)
static const uint32_t syscall_names = FN(SYSCALL) | FN(SUCCESS) | FN(EXIT) | FN(PID) | FN(PPID) |
                                      FN(COMM) | FN(EXE) | FN(KEY) | FN(UID) | FN(AUID) | FN(SES) |
                                      FN(TTY);
static const uint32_t standalone_names = FN(PID) | FN(UID) | FN(AUID) | FN(SES) | FN(EXE) |
                                         FN(COMM) | FN(KEY) | FN(OP) | FN(ACCT) | FN(HOSTNAME) |
                                         FN(ADDR) | FN(TERMINAL) | FN(RES) | FN(SUCCESS);

static void gather_summary(struct ar_encoder *e, const struct ar_event *ev, struct summary *s)
{
    memset(s, 0, sizeof(*s));
    s->arch = e->cfg.native_arch;
    s->syscall_rec = UINT32_MAX;
    for (uint32_t r = 0; r < ev->nrecords; r++) {
        struct rec_tokens *rt = &e->recs[r];
        uint32_t type = ev->records[r].type;
        rt->arch = record_arch(e, rt, 0);
        uint32_t allowed;
        switch (type) {
        case AUDIT_SYSCALL:
            if (s->syscall_rec == UINT32_MAX) {
                s->syscall_rec = r;
                if (rt->arch)
                    s->arch = rt->arch;
            }
            allowed = syscall_names;
            break;
        case AUDIT_CWD:
            allowed = FN(CWD);
            break;
        case AUDIT_PATH:
            allowed = FN(NAME);
            break;
        case AUDIT_SOCKADDR:
            allowed = FN(SADDR);
            break;
        case AUDIT_PROCTITLE:
            allowed = FN(PROCTITLE);
            break;
        default:
            /* Records without a syscall: user-space messages, config changes. */
            allowed = s->syscall_rec == UINT32_MAX || is_user_msg(type) ? standalone_names : 0;
            break;
        }
        if (!allowed)
            continue;
        for (uint32_t i = rt->first; i < rt->first + rt->n; i++) {
            unsigned name = e->info[i].name;
            if (!name || !(allowed & (UINT32_C(1) << name)))
                continue;
            if (name == AR_FN_NAME) {
                if (s->npaths < MAX_SUMMARY_PATHS)
                    s->paths[s->npaths++] = &e->fields[i];
            } else if (!s->by_name[name]) {
                s->by_name[name] = &e->fields[i];
            }
        }
    }
    gather_argv(e, ev, s);
}
#undef FN

static const char *category_of(uint32_t type, bool has_syscall)
{
    if (has_syscall)
        return "syscall";
    if (type < 1100)
        return "control";
    if (type < 1200)
        return "user";
    if (type < 1300)
        return "daemon";
    if (type < 1400)
        return "kernel";
    if (type < 1500)
        return "mac";
    if (type < 1600)
        return "selinux";
    if (type < 1700)
        return "apparmor";
    if (type < 1800)
        return "anomaly";
    if (type < 1900)
        return "integrity";
    if (type < 2100)
        return "kernel";
    if (type < 3000)
        return "user";
    return "other";
}

static void put_type_name(struct ar_buf *b, uint32_t type)
{
    const char *name = ar_rectype_name(type);
    if (name) {
        ar_buf_putc(b, '"');
        ar_buf_put(b, name, strlen(name));
        ar_buf_putc(b, '"');
    } else {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "\"UNKNOWN[%u]\"", type);
        ar_buf_put(b, tmp, strlen(tmp));
    }
}

/* The value of an ESCAPED field as text: decoded hex, or the text as written. */
static void put_text_value(struct ar_encoder *e, struct ar_buf *b, bool *first, struct ar_span key,
                           const struct ar_field *f)
{
    const unsigned char *p;
    size_t len;
    if (decode_hex_value(e, f, &p, &len))
        put_bytes(e, b, first, key, p, len);
    else
        put_bytes(e, b, first, key, (const unsigned char *)f->value.p, f->value.len);
}

/* A 7-bit hash of key shape: duplicate detection does full comparisons only when
 * two keys of a record might be equal. */
static unsigned key_hash(struct ar_span k)
{
    unsigned h = k.len ? (unsigned char)k.p[0] * 7u + (unsigned char)k.p[k.len - 1] * 3u +
                             (unsigned char)k.p[k.len / 2]
                       : 0;
    return (h + (unsigned)k.len * 13u) & 127;
}

static unsigned dup_index(const struct ar_field *fields, uint32_t i, uint32_t first_i)
{
    unsigned n = 1;
    struct ar_span k = fields[i].key;
    for (uint32_t j = first_i; j < i; j++) {
        const struct ar_field *f = &fields[j];
        if (f->key.len == k.len && k.len && f->key.p[0] == k.p[0] &&
            f->depth == fields[i].depth && f->kind != AR_VAL_BARE &&
            memcmp(f->key.p, k.p, k.len) == 0)
            n++;
    }
    return n;
}

/* Writes a field's member name: its key, "key#2" for a repeated key (the same name
 * in fields and interp), and "msg.key" for the interpretation of a nested field. */
static void put_field_key(struct ar_encoder *e, struct ar_buf *b, bool *first, size_t i)
{
    const struct ar_field *f = &e->fields[i];
    if (e->dup[i] <= 1 && e->parent.len == 0) {
        put_key(b, first, f->key.p, f->key.len);
        return;
    }
    char tmp[600];
    int n = snprintf(tmp, sizeof(tmp), "%.*s%s%.*s", (int)(e->parent.len > 256 ? 256 : e->parent.len),
                     e->parent.p, e->parent.len ? "." : "",
                     (int)(f->key.len > 256 ? 256 : f->key.len), f->key.p);
    if (e->dup[i] > 1)
        n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "#%u", e->dup[i]);
    put_key(b, first, tmp, (size_t)n);
}

/* Writes the raw fields of [from, to) at one nesting level as JSON members. */
static void put_fields(struct ar_encoder *e, struct ar_buf *b, uint32_t from, uint32_t to)
{
    bool first = true;
    uint64_t seen[2] = {0, 0}; /* filter on key shape: full comparisons only on a hit */
    bool words = false;
    for (uint32_t i = from; i < to; i++) {
        const struct ar_field *f = &e->fields[i];
        if (f->kind == AR_VAL_BARE) {
            words = true;
            continue;
        }
        unsigned h = key_hash(f->key);
        uint64_t bit = UINT64_C(1) << (h & 63);
        unsigned dup = (seen[h >> 6] & bit) ? dup_index(e->fields, i, from) : 1;
        seen[h >> 6] |= bit;
        e->dup[i] = (uint16_t)(dup > UINT16_MAX ? UINT16_MAX : dup);
        put_field_key(e, b, &first, i);
        enum ar_field_class cls = e->info[i].cls;
        int64_t num;
        switch (f->kind) {
        case AR_VAL_NULL:
            AR_BUF_LIT(b, "null");
            break;
        case AR_VAL_NESTED:
            ar_buf_putc(b, '{');
            put_fields(e, b, i + 1, i + 1 + f->nested_count);
            ar_buf_putc(b, '}');
            i += f->nested_count;
            break;
        case AR_VAL_PLAIN:
            if (may_be_number(f, cls) && ar_span_to_i64(f->value, &num)) {
                ar_buf_i64(b, num);
                break;
            }
            /* fall through */
        default:
            put_bytes(e, b, &first, f->key, (const unsigned char *)f->value.p, f->value.len);
            break;
        }
    }
    if (words) {
        /* Words without '=' ("auditd start,", "avc:  denied { read }") in order. */
        KEY(b, &first, "words");
        ar_buf_putc(b, '[');
        bool wfirst = true;
        for (uint32_t i = from; i < to; i++) {
            const struct ar_field *f = &e->fields[i];
            if (f->kind == AR_VAL_NESTED)
                i += f->nested_count;
            if (f->kind != AR_VAL_BARE)
                continue;
            if (!wfirst)
                ar_buf_putc(b, ',');
            wfirst = false;
            put_str(b, f->value);
        }
        ar_buf_putc(b, ']');
    }
}

/* Writes the interpretation of one field; returns false when it has none. */
static bool put_interp_value(struct ar_encoder *e, struct ar_buf *b, bool *first,
                             const struct rec_tokens *rt, uint32_t rectype,
                             const struct ar_field *f, enum ar_field_class cls, uint32_t arch)
{
    const char *name = NULL;
    uint64_t u;
    int64_t i64;
    const unsigned char *p;
    size_t len;
    switch (cls) {
    case AR_FC_UID:
    case AR_FC_GID: {
        const struct ar_field *enr = enriched_for(e, rt, f->key);
        if (enr) {
            put_field_key(e, b, first, (size_t)(f - e->fields));
            put_str(b, enr->value);
            return true;
        }
        name = id_name(e, cls == AR_FC_UID ? AR_ID_USER : AR_ID_GROUP, f);
        break;
    }
    case AR_FC_SESSION:
        if (field_u64(f, &u) && u == UINT32_MAX)
            name = "unset";
        break;
    case AR_FC_ARCH:
        if (f->kind == AR_VAL_PLAIN && ar_span_hex_to_u64(f->value, &u) && u <= UINT32_MAX)
            name = ar_arch_name((uint32_t)u);
        break;
    case AR_FC_SYSCALL:
        if (field_u64(f, &u) && u <= UINT32_MAX)
            name = ar_syscall_name(arch, (uint32_t)u);
        break;
    case AR_FC_EXIT:
        if (field_i64(f, &i64) && i64 < 0 && i64 >= -4095)
            name = ar_errno_name((int)-i64);
        break;
    case AR_FC_MODE:
        if (f->kind != AR_VAL_PLAIN)
            return false;
        put_field_key(e, b, first, (size_t)(f - e->fields));
        put_mode(b, f);
        return true;
    case AR_FC_ESCAPED:
        if (!decode_hex_value(e, f, &p, &len))
            return false;
        put_field_key(e, b, first, (size_t)(f - e->fields));
        put_bytes(e, b, first, f->key, p, len);
        return true;
    case AR_FC_KEY:
        if (!decode_hex_value(e, f, &p, &len))
            return false;
        /* Several keys on one rule arrive hex-encoded, separated by 0x01. */
        put_field_key(e, b, first, (size_t)(f - e->fields));
        put_nul_list(e, b, p, len, 0x01);
        return true;
    case AR_FC_PROCTITLE:
        put_key(b, first, "argv", 4);
        if (decode_hex_value(e, f, &p, &len))
            put_nul_list(e, b, p, len, 0);
        else {
            ar_buf_putc(b, '[');
            put_str(b, f->value);
            ar_buf_putc(b, ']');
        }
        return true;
    case AR_FC_SADDR:
        if (!decode_hex_value(e, f, &p, &len))
            return false;
        put_field_key(e, b, first, (size_t)(f - e->fields));
        put_sockaddr(e, b, p, len, arch);
        return true;
    case AR_FC_TEXT:
        return false;
    case AR_FC_NONE:
        if (rectype == AUDIT_EXECVE && is_execve_arg_key(f->key) &&
            decode_hex_value(e, f, &p, &len)) {
            put_field_key(e, b, first, (size_t)(f - e->fields));
            put_bytes(e, b, first, f->key, p, len);
            return true;
        }
        return false;
    }
    if (!name)
        return false;
    put_field_key(e, b, first, (size_t)(f - e->fields));
    put_cstr(b, name);
    return true;
}

static void put_record(struct ar_encoder *e, struct ar_buf *b, const struct ar_event *ev,
                       uint32_t r, uint32_t event_arch)
{
    const struct rec_tokens *rt = &e->recs[r];
    uint32_t type = ev->records[r].type;
    AR_BUF_LIT(b, "{\"type\":");
    put_type_name(b, type);
    AR_BUF_LIT(b, ",\"fields\":{");
    put_fields(e, b, rt->first, rt->first + rt->n);
    ar_buf_putc(b, '}');
    size_t mark = b->len;
    AR_BUF_LIT(b, ",\"interp\":{");
    bool first = true;
    uint32_t arch = rt->arch ? rt->arch : event_arch;
    uint32_t nested_end = 0;
    for (uint32_t i = 0; i < rt->n; i++) {
        const struct ar_field *f = &e->fields[rt->first + i];
        if (i >= nested_end)
            e->parent = (struct ar_span){NULL, 0};
        if (f->kind == AR_VAL_NESTED) {
            e->parent = f->key;
            nested_end = i + 1 + f->nested_count;
            continue;
        }
        if (f->kind == AR_VAL_BARE)
            continue;
        put_interp_value(e, b, &first, rt, type, f, e->info[rt->first + i].cls, arch);
    }
    e->parent = (struct ar_span){NULL, 0};
    if (first)
        b->len = mark; /* no interpretation: leave the member out */
    else
        ar_buf_putc(b, '}');
    if (rt->enr_n) {
        AR_BUF_LIT(b, ",\"enriched\":{");
        put_fields(e, b, rt->enr_first, rt->enr_first + rt->enr_n);
        ar_buf_putc(b, '}');
    }
    ar_buf_putc(b, '}');
}

static void put_summary_id(struct ar_encoder *e, struct ar_buf *b, bool *first, const char *key,
                           const char *name_key, const struct ar_field *f)
{
    uint64_t id;
    if (!field_u64(f, &id))
        return;
    put_key(b, first, key, strlen(key));
    ar_buf_u64(b, id);
    const char *name = id <= UINT32_MAX && e->ids ? ar_idcache_name(e->ids, AR_ID_USER, (uint32_t)id)
                                                  : (id == UINT32_MAX ? "unset" : NULL);
    if (name) {
        put_key(b, first, name_key, strlen(name_key));
        put_cstr(b, name);
    }
}

static void put_summary_num(struct ar_buf *b, bool *first, const char *key, const struct ar_field *f)
{
    int64_t v;
    if (!field_i64(f, &v))
        return;
    put_key(b, first, key, strlen(key));
    ar_buf_i64(b, v);
}

static void put_summary_text(struct ar_encoder *e, struct ar_buf *b, bool *first, const char *key,
                             const struct ar_field *f)
{
    if (!f || f->kind == AR_VAL_NULL || f->kind == AR_VAL_BARE || f->kind == AR_VAL_NESTED)
        return;
    if (f->kind == AR_VAL_PLAIN && (AR_SPAN_IS(f->value, "?") || AR_SPAN_IS(f->value, "(none)")))
        return;
    struct ar_span k = {key, strlen(key)};
    put_key(b, first, k.p, k.len);
    /* Only untrusted strings are ever hex-encoded; a hostname like 8da7ccbba3a1 is not. */
    if (e->info[f - e->fields].cls == AR_FC_ESCAPED)
        put_text_value(e, b, first, k, f);
    else
        put_bytes(e, b, first, k, (const unsigned char *)f->value.p, f->value.len);
}

static void put_event_json(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *b)
{
    struct summary s;
    gather_summary(e, ev, &s);
    bool first = true;
    ar_buf_putc(b, '{');
    KEY(b, &first, "timestamp");
    if (ev->has_time) {
        ar_buf_putc(b, '"');
        ar_buf_put(b, timestamp(e, ev->sec, ev->msec), 24);
        ar_buf_putc(b, '"');
    } else {
        AR_BUF_LIT(b, "null");
    }
    KEY(b, &first, "serial");
    ar_buf_u64(b, ev->serial);
    if (ev->node_len) {
        KEY(b, &first, "node");
        put_str(b, ar_event_node(ev));
    }
    KEY(b, &first, "source");
    put_cstr(b, e->cfg.source);
    uint32_t first_type = ev->nrecords ? ev->records[0].type : 0;
    KEY(b, &first, "type");
    put_type_name(b, s.syscall_rec != UINT32_MAX ? AUDIT_SYSCALL : first_type);
    KEY(b, &first, "category");
    put_cstr(b, category_of(first_type, s.syscall_rec != UINT32_MAX));
    if (s.syscall_rec != UINT32_MAX) {
        const char *arch = ar_arch_name(s.arch);
        if (arch) {
            KEY(b, &first, "arch");
            put_cstr(b, arch);
        }
        uint64_t nr;
        if (field_u64(s.by_name[AR_FN_SYSCALL], &nr)) {
            const char *name = nr <= UINT32_MAX ? ar_syscall_name(s.arch, (uint32_t)nr) : NULL;
            KEY(b, &first, "syscall");
            /* Always a string: the number as text when this arch has no table. */
            if (name) {
                put_cstr(b, name);
            } else {
                ar_buf_putc(b, '"');
                ar_buf_u64(b, nr);
                ar_buf_putc(b, '"');
            }
        }
    }
    bool success_known = false, success = false;
    const struct ar_field *succ = s.by_name[AR_FN_SUCCESS], *res = s.by_name[AR_FN_RES];
    if (succ && (succ->kind == AR_VAL_PLAIN || succ->kind == AR_VAL_QUOTED) &&
        (AR_SPAN_IS(succ->value, "yes") || AR_SPAN_IS(succ->value, "no"))) {
        success_known = true;
        success = AR_SPAN_IS(succ->value, "yes");
    } else if (res) {
        success_known = true;
        success = AR_SPAN_IS(res->value, "success") || AR_SPAN_IS(res->value, "1") ||
                  AR_SPAN_IS(res->value, "yes");
    }
    if (success_known) {
        KEY(b, &first, "success");
        if (success)
            AR_BUF_LIT(b, "true");
        else
            AR_BUF_LIT(b, "false");
    }
    int64_t exit_code;
    if (field_i64(s.by_name[AR_FN_EXIT], &exit_code)) {
        KEY(b, &first, "exit");
        ar_buf_i64(b, exit_code);
        const char *err = exit_code < 0 && exit_code >= -4095 ? ar_errno_name((int)-exit_code) : NULL;
        if (err && !success) {
            KEY(b, &first, "errno");
            put_cstr(b, err);
        }
    }
    if (s.by_name[AR_FN_KEY] && s.by_name[AR_FN_KEY]->kind != AR_VAL_NULL) {
        const unsigned char *p;
        size_t len;
        KEY(b, &first, "key");
        if (decode_hex_value(e, s.by_name[AR_FN_KEY], &p, &len))
            put_nul_list(e, b, p, len, 0x01);
        else
            put_str(b, s.by_name[AR_FN_KEY]->value);
    }
    put_summary_num(b, &first, "pid", s.by_name[AR_FN_PID]);
    put_summary_num(b, &first, "ppid", s.by_name[AR_FN_PPID]);
    put_summary_text(e, b, &first, "exe", s.by_name[AR_FN_EXE]);
    put_summary_text(e, b, &first, "comm", s.by_name[AR_FN_COMM]);
    put_summary_id(e, b, &first, "uid", "user", s.by_name[AR_FN_UID]);
    put_summary_id(e, b, &first, "auid", "login_user", s.by_name[AR_FN_AUID]);
    put_summary_num(b, &first, "ses", s.by_name[AR_FN_SES]);
    put_summary_text(e, b, &first, "tty", s.by_name[AR_FN_TTY]);
    put_summary_text(e, b, &first, "op", s.by_name[AR_FN_OP]);
    put_summary_text(e, b, &first, "acct", s.by_name[AR_FN_ACCT]);
    put_summary_text(e, b, &first, "hostname", s.by_name[AR_FN_HOSTNAME]);
    put_summary_text(e, b, &first, "addr", s.by_name[AR_FN_ADDR]);
    put_summary_text(e, b, &first, "terminal", s.by_name[AR_FN_TERMINAL]);
    put_summary_text(e, b, &first, "cwd", s.by_name[AR_FN_CWD]);
    if (s.npaths) {
        KEY(b, &first, "paths");
        ar_buf_putc(b, '[');
        for (uint32_t i = 0; i < s.npaths; i++) {
            if (i)
                ar_buf_putc(b, ',');
            bool dummy = false;
            if (s.paths[i]->kind == AR_VAL_NULL)
                AR_BUF_LIT(b, "null");
            else
                put_text_value(e, b, &dummy, (struct ar_span){0}, s.paths[i]);
        }
        ar_buf_putc(b, ']');
    }
    if (s.by_name[AR_FN_SADDR]) {
        const unsigned char *p;
        size_t len;
        if (decode_hex_value(e, s.by_name[AR_FN_SADDR], &p, &len)) {
            KEY(b, &first, "sockaddr");
            put_sockaddr(e, b, p, len, s.arch);
        }
    }
    if (s.has_execve) {
        KEY(b, &first, "argv");
        ar_buf_putc(b, '[');
        for (size_t i = 0; i < e->nslots; i++) {
            if (i)
                ar_buf_putc(b, ',');
            const struct arg_slot *slot = &e->slots[i];
            if (!slot->present) {
                AR_BUF_LIT(b, "null");
                continue;
            }
            bool dummy = false;
            /* args.p is NULL while every argument so far was empty. */
            const unsigned char *arg = e->args.p ? (const unsigned char *)e->args.p + slot->off
                                                 : (const unsigned char *)"";
            put_bytes(e, b, &dummy, (struct ar_span){0}, arg, slot->len);
        }
        ar_buf_putc(b, ']');
    }
    if (s.by_name[AR_FN_PROCTITLE]) {
        const unsigned char *p;
        size_t len;
        KEY(b, &first, "proctitle");
        if (decode_hex_value(e, s.by_name[AR_FN_PROCTITLE], &p, &len))
            put_nul_list(e, b, p, len, 0);
        else {
            ar_buf_putc(b, '[');
            put_str(b, s.by_name[AR_FN_PROCTITLE]->value);
            ar_buf_putc(b, ']');
        }
    }
    /* A timeout is how events without EOE normally end in a log, so only the
     * caps make an event incomplete. */
    if (ev->flags & (AR_EVENT_EVICTED | AR_EVENT_TRUNCATED)) {
        KEY(b, &first, "incomplete");
        if ((ev->flags & AR_EVENT_EVICTED) && (ev->flags & AR_EVENT_TRUNCATED))
            AR_BUF_LIT(b, "[\"evicted\",\"truncated\"]");
        else if (ev->flags & AR_EVENT_EVICTED)
            AR_BUF_LIT(b, "[\"evicted\"]");
        else
            AR_BUF_LIT(b, "[\"truncated\"]");
    }
    KEY(b, &first, "records");
    ar_buf_putc(b, '[');
    for (uint32_t r = 0; r < ev->nrecords; r++) {
        if (r)
            ar_buf_putc(b, ',');
        put_record(e, b, ev, r, s.arch);
    }
    AR_BUF_LIT(b, "]}\n");
}

/* ---- go-audit's shape ---- */

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
static void put_goaudit(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *b)
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
}

int ar_encoder_event(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *out)
{
    size_t mark = out->len;
    if (e->cfg.format == AR_FORMAT_RAW || e->cfg.format == AR_FORMAT_ENRICHED) {
        struct ar_auditlog_config acfg = {.enriched = e->cfg.format == AR_FORMAT_ENRICHED,
                                          .eoe = e->cfg.eoe,
                                          .native_arch = e->cfg.native_arch};
        struct ar_tokens t = {.fields = e->fields, .cap = MAX_EVENT_FIELDS};
        ar_auditlog_event(&acfg, e->ids, &t, ev, out);
    } else if (e->cfg.format == AR_FORMAT_GOAUDIT) {
        put_goaudit(e, ev, out);
    } else {
        if (tokenize_event(e, ev) < 0)
            return -ENOMEM;
        put_event_json(e, ev, out);
    }
    if (out->failed || e->args.failed) {
        out->failed = false;
        e->args.failed = false;
        out->len = mark;
        return -ENOMEM;
    }
    return 0;
}

int ar_encoder_loss(struct ar_encoder *e, const char *kind, struct ar_span node,
                    uint32_t after_serial, uint64_t count, uint64_t now_sec, struct ar_buf *out)
{
    size_t mark = out->len;
    bool first = true;
    if (e->cfg.format == AR_FORMAT_RAW || e->cfg.format == AR_FORMAT_ENRICHED) {
        ar_auditlog_loss(kind, node, after_serial, count, now_sec, out);
        goto done;
    }
    ar_buf_putc(out, '{');
    KEY(out, &first, "timestamp");
    ar_buf_putc(out, '"');
    ar_buf_put(out, timestamp(e, now_sec, 0), 24);
    ar_buf_putc(out, '"');
    KEY(out, &first, "serial");
    ar_buf_u64(out, after_serial);
    if (node.len) {
        KEY(out, &first, "node");
        put_str(out, node);
    }
    KEY(out, &first, "source");
    put_cstr(out, e->cfg.source);
    KEY(out, &first, "type");
    AR_BUF_LIT(out, "\"AUDITRELAY_LOST\"");
    KEY(out, &first, "category");
    AR_BUF_LIT(out, "\"loss\"");
    KEY(out, &first, "loss");
    ar_buf_putc(out, '{');
    bool f2 = true;
    KEY(out, &f2, "kind");
    put_cstr(out, kind);
    KEY(out, &f2, "count");
    ar_buf_u64(out, count);
    KEY(out, &f2, "after_serial");
    ar_buf_u64(out, after_serial);
    AR_BUF_LIT(out, "},\"records\":[]}\n");
done:
    if (out->failed) {
        out->failed = false;
        out->len = mark;
        return -ENOMEM;
    }
    return 0;
}
