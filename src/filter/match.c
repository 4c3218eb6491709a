/* Filters against events: records are tokenized when a condition first needs
 * them (at most once per event), values compared as spans; hex-encoded values are
 * decoded into one scratch buffer that is reused. */
#include <errno.h>
#include <linux/audit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/tables.h"
#include "enrich/decode.h"
#include "enrich/normalize.h"
#include "enrich/proctable.h"
#include "filter/filter_impl.h"

/* Makes room for the event's records and forgets the last event's tokens. */
static int begin_event(struct ar_filter *f, const struct ar_event *ev)
{
    if (ev->nrecords > f->recs_cap) {
        size_t cap = f->recs_cap ? f->recs_cap : 16;
        while (cap < ev->nrecords)
            cap *= 2;
        uint32_t *a = realloc(f->rec_first, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        f->rec_first = a;
        if (!(a = realloc(f->rec_n, cap * sizeof(*a))))
            return -ENOMEM;
        f->rec_n = a;
        if (!(a = realloc(f->rec_epoch, cap * sizeof(*a))))
            return -ENOMEM;
        memset(a + f->recs_cap, 0, (cap - f->recs_cap) * sizeof(*a));
        f->rec_epoch = a;
        f->recs_cap = cap;
    }
    if (++f->epoch == 0) {
        memset(f->rec_epoch, 0, f->recs_cap * sizeof(*f->rec_epoch));
        f->epoch = 1;
    }
    f->fields_used = 0;
    f->arch_known = false;
    return 0;
}

/* The fields of record i, tokenized on first use. */
static const struct ar_field *record_fields(struct ar_filter *f, const struct ar_event *ev,
                                            uint32_t i, uint32_t *ret_n)
{
    if (f->rec_epoch[i] != f->epoch) {
        struct ar_span body = ar_event_body(ev, i);
        struct ar_tokens t = {.fields = f->fields + f->fields_used,
                              .cap = AR_FILTER_MAX_FIELDS - f->fields_used};
        ar_tokenize(body.p, body.p + body.len, &t);
        f->rec_first[i] = (uint32_t)f->fields_used;
        f->rec_n[i] = (uint32_t)t.n;
        f->fields_used += t.n;
        f->rec_epoch[i] = f->epoch;
    }
    *ret_n = f->rec_n[i];
    return f->fields + f->rec_first[i];
}

static const struct ar_field *field_in(const struct ar_field *fl, uint32_t n, const char *name,
                                       size_t len)
{
    for (uint32_t k = 0; k < n; k++)
        if (ar_span_eq(fl[k].key, name, len))
            return &fl[k];
    return NULL;
}

#define FIELD_IN(fl, n, lit) field_in((fl), (n), (lit), sizeof(lit) - 1)

static uint32_t record_arch(const struct ar_field *fl, uint32_t n)
{
    const struct ar_field *a = FIELD_IN(fl, n, "arch");
    uint64_t v;
    if (a && a->kind == AR_VAL_PLAIN && ar_span_hex_to_u64(a->value, &v) && v <= UINT32_MAX)
        return (uint32_t)v;
    return 0;
}

/* The arch of the event's SYSCALL record (the byte order of its sockaddr), else
 * the build machine's. */
static uint32_t event_arch(struct ar_filter *f, const struct ar_event *ev)
{
    if (!f->arch_known) {
        f->arch = 0;
        for (uint32_t i = 0; i < ev->nrecords && !f->arch; i++)
            if (ev->records[i].type == AUDIT_SYSCALL) {
                uint32_t n;
                const struct ar_field *fl = record_fields(f, ev, i, &n);
                f->arch = record_arch(fl, n);
            }
        if (!f->arch)
            f->arch = ar_arch_native();
        f->arch_known = true;
    }
    return f->arch;
}

/* Appends the value's bytes to the scratch buffer (hex decoded when `hexable` and
 * the kernel encoded it; "(null)" for a null value); returns their offset. The
 * bytes are at f->scratch.p + offset until the scratch is reset. */
static size_t append_value(struct ar_filter *f, const struct ar_field *fl, bool hexable,
                           size_t *ret_len)
{
    size_t off = f->scratch.len;
    struct ar_span v = fl->value;
    if (fl->kind == AR_VAL_NULL)
        v = AR_SPAN_LIT("(null)");
    if (hexable && fl->kind == AR_VAL_PLAIN && ar_is_hex_string(v) &&
        ar_buf_reserve(&f->scratch, v.len / 2)) {
        int n = ar_hex_decode(v, (unsigned char *)f->scratch.p + off);
        f->scratch.len += n > 0 ? (size_t)n : 0;
    } else {
        ar_buf_put(&f->scratch, v.p, v.len);
    }
    *ret_len = f->scratch.len - off;
    return off;
}

static bool regex_hits(struct ar_filter *f, const struct cond *c, const char *p, size_t len)
{
    return ar_regex_search(c->re, f->md, p, len);
}

/* A text value against the condition: equal to an alternative, or the regex. */
static bool text_hits(struct ar_filter *f, const struct cond *c, const char *p, size_t len)
{
    if (c->re)
        return regex_hits(f, c, p, len);
    for (size_t i = 0; i < c->nalts; i++)
        if (c->alts[i].len == len && memcmp(c->alts[i].s, p, len) == 0)
            return true;
    return false;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, bytes) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

static bool ip_hits(const struct alt *a, const struct ar_sockaddr *sa)
{
    if (!sa->ip)
        return false;
    const uint8_t *ip = sa->ip;
    size_t len = sa->ip_len;
    /* An IPv4 address seen through an IPv6 socket (::ffff:a.b.c.d) is that address. */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a->ip_len == 4 && len == 16 && memcmp(ip, mapped, 12) == 0) {
        ip += 12;
        len = 4;
    }
    return a->ip_len == len && prefix_equal(a->ip, ip, a->bits);
}

/* A SOCKADDR record's saddr value against the condition. */
static bool saddr_hits(struct ar_filter *f, const struct ar_event *ev, const struct cond *c,
                       const struct ar_field *fl)
{
    bool big_endian = !(event_arch(f, ev) & __AUDIT_ARCH_LE);
    f->scratch.len = 0;
    size_t len, off = append_value(f, fl, true, &len);
    struct ar_sockaddr sa;
    if (f->scratch.failed ||
        ar_sockaddr_decode((const unsigned char *)f->scratch.p + off, len, big_endian, &sa) < 0)
        return false;
    if (c->kind == C_SOCKADDR_PORT || c->kind == C_SOCKADDR_FAMILY) {
        uint64_t v = c->kind == C_SOCKADDR_PORT ? sa.port : sa.family_nr;
        if (c->kind == C_SOCKADDR_PORT && !sa.has_port)
            return false;
        for (size_t i = 0; i < c->nalts; i++)
            if (c->alts[i].num == v)
                return true;
        return false;
    }
    if (c->re) {
        if (sa.addr[0])
            return regex_hits(f, c, sa.addr, strlen(sa.addr));
        if (!sa.path)
            return false;
        /* An abstract name reads '@name', as in `ss`. */
        if (sa.abstract) {
            size_t n = sa.path_len, from = (size_t)((const char *)sa.path - f->scratch.p);
            if (!ar_buf_reserve(&f->scratch, n + 1))
                return false;
            char *at = f->scratch.p + f->scratch.len;
            at[0] = '@';
            memcpy(at + 1, f->scratch.p + from, n);
            return regex_hits(f, c, at, n + 1);
        }
        return regex_hits(f, c, (const char *)sa.path, sa.path_len);
    }
    for (size_t i = 0; i < c->nalts; i++) {
        const struct alt *a = &c->alts[i];
        if (a->ip_len) {
            if (ip_hits(a, &sa))
                return true;
        } else if (sa.path) {
            bool abstract = a->s[0] == '@';
            const char *want = a->s + abstract;
            size_t wlen = a->len - abstract;
            if (abstract == sa.abstract && wlen == sa.path_len &&
                memcmp(want, sa.path, wlen) == 0)
                return true;
        }
    }
    return false;
}

/* A field's value (field fl of a record whose fields are rec/n) against a C_FIELD
 * condition, read by the field's class. */
static bool field_hits(struct ar_filter *f, const struct ar_event *ev, const struct cond *c,
                       const struct ar_field *rec, uint32_t n, const struct ar_field *fl)
{
    uint64_t u;
    int64_t s;
    switch (c->vkind) {
    case V_NUMBER:
    case V_ARCH:
        if (fl->kind != AR_VAL_PLAIN ||
            !(c->vkind == V_ARCH ? ar_span_hex_to_u64(fl->value, &u)
                                 : ar_span_to_u64(fl->value, &u)))
            return false;
        for (size_t i = 0; i < c->nalts; i++)
            if (c->alts[i].num == u)
                return true;
        return false;
    case V_SIGNED:
        if (fl->kind != AR_VAL_PLAIN || !ar_span_to_i64(fl->value, &s))
            return false;
        for (size_t i = 0; i < c->nalts; i++)
            if (c->alts[i].snum == s)
                return true;
        return false;
    case V_SYSCALL: {
        if (fl->kind != AR_VAL_PLAIN || !ar_span_to_u64(fl->value, &u) || u > UINT32_MAX)
            return false;
        uint32_t arch = record_arch(rec, n);
        const char *name = ar_syscall_name(arch ? arch : ar_arch_native(), (uint32_t)u);
        if (c->re)
            return name ? regex_hits(f, c, name, strlen(name))
                        : regex_hits(f, c, fl->value.p, fl->value.len);
        for (size_t i = 0; i < c->nalts; i++) {
            const struct alt *a = &c->alts[i];
            if (a->by_number ? a->num == u : name && strcmp(a->s, name) == 0)
                return true;
        }
        return false;
    }
    case V_SADDR:
        return saddr_hits(f, ev, c, fl);
    case V_TEXT:
        break;
    }
    f->scratch.len = 0;
    size_t len, off = append_value(f, fl, c->hexable, &len);
    if (f->scratch.failed)
        return false;
    char *p = f->scratch.p + off;
    if (c->nul_list) /* proctitle: the arguments as a command line */
        for (size_t i = 0; i < len; i++)
            if (!p[i])
                p[i] = ' ';
    if (!c->keys)
        return text_hits(f, c, p, len);
    /* Several keys on one rule: joined with 0x01. */
    for (size_t start = 0, i = 0; i <= len; i++)
        if (i == len || p[i] == '\x01') {
            if (text_hits(f, c, p + start, i - start))
                return true;
            start = i + 1;
        }
    return false;
}

static uint32_t event_type(const struct ar_event *ev)
{
    for (uint32_t i = 0; i < ev->nrecords; i++)
        if (ev->records[i].type == AUDIT_SYSCALL)
            return AUDIT_SYSCALL;
    return ev->nrecords ? ev->records[0].type : 0;
}

static bool type_hits(struct ar_filter *f, const struct cond *c, uint32_t type)
{
    if (c->re) {
        const char *name = ar_rectype_name(type);
        char num[16];
        if (!name) {
            snprintf(num, sizeof(num), "%u", type);
            name = num;
        }
        return regex_hits(f, c, name, strlen(name));
    }
    for (size_t i = 0; i < c->nalts; i++)
        if (c->alts[i].num == type)
            return true;
    return false;
}

/* PATH names as full paths (joined to the CWD, resolved) against path= or dir=. */
static bool path_hits(struct ar_filter *f, const struct ar_event *ev, const struct cond *c)
{
    const struct ar_field *cwd = NULL;
    uint32_t n;
    for (uint32_t i = 0; i < ev->nrecords && !cwd; i++)
        if (ev->records[i].type == AUDIT_CWD) {
            const struct ar_field *fl = record_fields(f, ev, i, &n);
            cwd = FIELD_IN(fl, n, "cwd");
        }
    for (uint32_t i = 0; i < ev->nrecords; i++) {
        if (ev->records[i].type != AUDIT_PATH)
            continue;
        const struct ar_field *fl = record_fields(f, ev, i, &n);
        const struct ar_field *name = FIELD_IN(fl, n, "name");
        if (!name || name->kind == AR_VAL_NULL)
            continue;
        f->scratch.len = 0;
        size_t len, off = append_value(f, name, true, &len), clen = 0, coff = 0;
        if (cwd)
            coff = append_value(f, cwd, true, &clen);
        /* The full path as the summary has it: joined to the CWD, '.' and '..'
         * resolved (enrich/normalize.h), written after both. */
        size_t cap = clen + len + 2;
        if (!ar_buf_reserve(&f->scratch, cap))
            return false;
        char *b = f->scratch.p;
        size_t full = ar_path_resolve(cwd ? b + coff : NULL, clen, b + off, len,
                                      b + f->scratch.len, cap);
        if (full) {
            off = f->scratch.len;
            len = full;
        } /* else an empty name: as written */
        const char *p = f->scratch.p + off;
        if (c->kind == C_PATH) {
            if (text_hits(f, c, p, len))
                return true;
            continue;
        }
        for (size_t k = 0; k < c->nalts; k++) {
            const struct alt *a = &c->alts[k];
            /* "/" holds every absolute path; /var/cache holds itself and what is under it. */
            if (a->len == 1 ? len && p[0] == '/'
                            : len >= a->len && memcmp(p, a->s, a->len) == 0 &&
                                  (len == a->len || p[a->len] == '/'))
                return true;
        }
    }
    return false;
}

/* Whether the condition's positive form (=, ~) holds somewhere in the event. */
static bool cond_hits(struct ar_filter *f, const struct ar_event *ev, const struct cond *c)
{
    switch (c->kind) {
    case C_ALL:
        return true;
    case C_TYPE:
        return type_hits(f, c, event_type(ev));
    case C_RECORD:
        for (uint32_t i = 0; i < ev->nrecords; i++)
            if (type_hits(f, c, ev->records[i].type))
                return true;
        return false;
    case C_TEXT:
        for (uint32_t i = 0; i < ev->nrecords; i++) {
            if (c->scope && ev->records[i].type != c->scope)
                continue;
            struct ar_span body = ar_event_body(ev, i);
            if (regex_hits(f, c, body.len ? body.p : "", body.len))
                return true;
        }
        return false;
    case C_PATH:
    case C_DIR:
        return path_hits(f, ev, c);
    case C_LABEL:
        if (!ev->proc || !ev->proc->present)
            return false;
        for (unsigned i = 0; i < AR_PROC_MAX_LABELS; i++)
            if (ev->proc->labels >> i & 1 && text_hits(f, c, ev->proc->label_names[i],
                                                       strlen(ev->proc->label_names[i])))
                return true;
        return false;
    case C_SOCKADDR:
    case C_SOCKADDR_PORT:
    case C_SOCKADDR_FAMILY:
        for (uint32_t i = 0; i < ev->nrecords; i++) {
            if (ev->records[i].type != AUDIT_SOCKADDR)
                continue;
            uint32_t n;
            const struct ar_field *fl = record_fields(f, ev, i, &n);
            const struct ar_field *sa = FIELD_IN(fl, n, "saddr");
            if (sa && saddr_hits(f, ev, c, sa))
                return true;
        }
        return false;
    case C_FIELD:
        for (uint32_t i = 0; i < ev->nrecords; i++) {
            if (c->scope && ev->records[i].type != c->scope)
                continue;
            /* Most records cannot hold the field: their text says so without
             * tokenizing it (a PATH record has no key=). */
            struct ar_span body = ar_event_body(ev, i);
            if (body.len <= c->name_len || !memmem(body.p, body.len, c->name, c->name_len + 1))
                continue;
            uint32_t n;
            const struct ar_field *fl = record_fields(f, ev, i, &n);
            for (uint32_t k = 0; k < n; k++)
                if (ar_span_eq(fl[k].key, c->name, c->name_len) &&
                    field_hits(f, ev, c, fl, n, &fl[k]))
                    return true;
        }
        return false;
    }
    return false;
}

bool ar_filter_keep(struct ar_filter *f, const struct ar_event *ev)
{
    f->stats.events++;
    if (begin_event(f, ev) < 0) {
        f->stats.unexamined++;
        return true;
    }
    for (size_t i = 0; i < f->nrules; i++) {
        struct rule *r = &f->rules[i];
        bool all = true;
        for (size_t k = 0; k < r->nconds && all; k++) {
            const struct cond *c = &r->conds[k];
            bool hit = cond_hits(f, ev, c);
            all = (c->op == OP_NE || c->op == OP_NRE) ? !hit : hit;
        }
        if (f->scratch.failed) {
            /* Out of memory while decoding: the verdict may be wrong; keep. */
            f->scratch.failed = false;
            f->stats.unexamined++;
            return true;
        }
        if (!all)
            continue;
        r->matched++;
        if (r->drop)
            f->stats.dropped++;
        return !r->drop;
    }
    /* Unmatched: the opposite of the last filter's action. */
    f->stats.unmatched++;
    if (f->nrules && !f->rules[f->nrules - 1].drop) {
        f->stats.dropped++;
        return false;
    }
    return true;
}
