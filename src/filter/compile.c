/* Filter specs to conditions: "drop syscall=connect sockaddr=127.0.0.0/8,::1".
 * Every value is checked and converted here (names to numbers, addresses to bytes,
 * regexes compiled), so matching only compares. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/fieldclass.h"
#include "audit/tables.h"
#include "enrich/normalize.h"
#include "filter/filter_impl.h"

/* The architectures a syscall name is looked up on (the generated tables' set). */
static const uint32_t known_arches[] = {
    0xc000003eu, /* x86_64 */
    0x40000003u, /* i386 */
    0xc00000b7u, /* aarch64 */
    0x40000028u, /* arm */
    0xc0000015u, /* ppc64le */
    0x80000015u, /* ppc64 */
    0x80000016u, /* s390x */
    0xc00000f3u, /* riscv64 */
};

static const struct {
    const char *name;
    uint16_t nr;
} families[] = {
    {"unspec", 0}, {"local", 1}, {"unix", 1}, {"inet", 2}, {"inet6", 10}, {"netlink", 16},
    {"packet", 17},
};

/* Names that read more than one field, or none. */
static const struct {
    const char *name;
    enum cond_kind kind;
} pseudo[] = {
    {"type", C_TYPE},
    {"record", C_RECORD},
    {"path", C_PATH},
    {"dir", C_DIR},
    {"sockaddr", C_SOCKADDR},
    {"sockaddr_port", C_SOCKADDR_PORT},
    {"sockaddr_family", C_SOCKADDR_FAMILY},
    {"text", C_TEXT},
    {"label", C_LABEL},
};

static int fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static void cond_free(struct cond *c)
{
    for (size_t i = 0; i < c->nalts; i++)
        free(c->alts[i].s);
    free(c->alts);
    free((char *)c->name);
    ar_regex_free(c->re);
}

static void rule_free(struct rule *r)
{
    for (size_t i = 0; i < r->nconds; i++)
        cond_free(&r->conds[i]);
    free(r->conds);
    free(r->text);
}

int ar_filter_new(const struct ar_filter_env *env, struct ar_filter **ret)
{
    struct ar_filter *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    if (env)
        f->env = *env;
    f->fields = malloc(AR_FILTER_MAX_FIELDS * sizeof(*f->fields));
    f->md = ar_regex_state_new();
    /* Allocated from the start: a value's bytes are never at a NULL pointer, even
     * an empty one. */
    if (!f->fields || !f->md || !ar_buf_reserve(&f->scratch, 4096)) {
        ar_filter_free(f);
        return -ENOMEM;
    }
    *ret = f;
    return 0;
}

void ar_filter_free(struct ar_filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nrules; i++)
        rule_free(&f->rules[i]);
    free(f->rules);
    free(f->fields);
    free(f->rec_first);
    free(f->rec_n);
    free(f->rec_epoch);
    ar_buf_free(&f->scratch);
    ar_regex_state_free(f->md);
    free(f);
}

size_t ar_filter_count(const struct ar_filter *f)
{
    return f ? f->nrules : 0;
}

bool ar_filter_uses_labels(const struct ar_filter *f)
{
    for (size_t i = 0; f && i < f->nrules; i++)
        for (size_t k = 0; k < f->rules[i].nconds; k++)
            if (f->rules[i].conds[k].kind == C_LABEL)
                return true;
    return false;
}

int ar_filter_check_labels(const struct ar_filter *f, const char *const *names, size_t n,
                           char *why, size_t whylen)
{
    for (size_t i = 0; f && i < f->nrules; i++)
        for (size_t k = 0; k < f->rules[i].nconds; k++) {
            const struct cond *c = &f->rules[i].conds[k];
            if (c->kind != C_LABEL || c->re)
                continue;
            for (size_t a = 0; a < c->nalts; a++) {
                size_t j = 0;
                while (j < n && strcmp(names[j], c->alts[a].s) != 0)
                    j++;
                if (j == n)
                    return fail(why, whylen,
                                "filter %zu '%s': label: no process label rule gives '%s'",
                                i + 1, f->rules[i].text, c->alts[a].s);
            }
        }
    return 0;
}

const struct ar_filter_stats *ar_filter_stats(const struct ar_filter *f)
{
    return &f->stats;
}

bool ar_filter_info(const struct ar_filter *f, size_t i, struct ar_filter_info *ret)
{
    if (!f || i >= f->nrules)
        return false;
    const struct rule *r = &f->rules[i];
    *ret = (struct ar_filter_info){r->text, r->drop, r->matched};
    return true;
}

void ar_filter_carry_counts(struct ar_filter *f, const struct ar_filter *old)
{
    if (!f || !old)
        return;
    f->stats = old->stats;
    for (size_t i = 0; i < f->nrules; i++)
        for (size_t j = 0; j < old->nrules; j++)
            if (strcmp(f->rules[i].text, old->rules[j].text) == 0) {
                f->rules[i].matched = old->rules[j].matched;
                break;
            }
}

/* ---- values ---- */

static bool parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
    return ar_span_to_u64((struct ar_span){s, strlen(s)}, ret) && *ret <= max;
}

static int compile_regex(struct cond *c, const char *pattern, size_t len, char *why,
                         size_t whylen)
{
    char msg[200];
    c->re = ar_regex_compile(pattern, len, msg, sizeof(msg));
    if (!c->re)
        return fail(why, whylen, "bad regular expression '%s': %s", pattern, msg);
    return 0;
}

static int parse_sockaddr(struct alt *a, char *why, size_t whylen)
{
    const char *s = a->s;
    if (s[0] == '/' || s[0] == '@')
        return 0; /* a local socket's path, or an abstract name */
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof(addr))
        return fail(why, whylen, "sockaddr: '%s' is not an address", s);
    memcpy(addr, s, n);
    addr[n] = 0;
    if (inet_pton(AF_INET, addr, a->ip) == 1)
        a->ip_len = 4;
    else if (inet_pton(AF_INET6, addr, a->ip) == 1)
        a->ip_len = 16;
    else
        return fail(why, whylen,
                    "sockaddr: '%s' is not an IPv4 or IPv6 address, a subnet (ADDR/BITS), a "
                    "local socket path (/...) or an abstract name (@...)", s);
    uint64_t bits = a->ip_len * 8u;
    if (slash && !parse_u64(slash + 1, a->ip_len * 8u, &bits))
        return fail(why, whylen, "sockaddr: '%s': the prefix length must be 0 to %u", s,
                    a->ip_len * 8u);
    a->bits = (uint8_t)bits;
    return 0;
}

static int lookup_id(const struct ar_filter *f, bool group, const char *field, const char *s,
                     uint64_t *ret, char *why, size_t whylen)
{
    if (strcmp(s, "unset") == 0) {
        *ret = UINT32_MAX;
        return 0;
    }
    if (parse_u64(s, UINT32_MAX, ret))
        return 0;
    int (*lookup)(const char *, uint32_t *, void *) = group ? f->env.group_id : f->env.user_id;
    uint32_t id;
    if (lookup && lookup(s, &id, f->env.userdata) == 0) {
        *ret = id;
        return 0;
    }
    return fail(why, whylen, "%s: no %s '%s' on this host (give the number, or 'unset')", field,
                group ? "group" : "user", s);
}

/* Converts one alternative for the condition's kind. */
static int compile_alt(const struct ar_filter *f, struct cond *c, struct alt *a,
                       const char *field, char *why, size_t whylen)
{
    const char *s = a->s;
    switch (c->kind) {
    case C_TYPE:
    case C_RECORD: {
        uint32_t t;
        if (parse_u64(s, UINT32_MAX, &a->num))
            return 0;
        if (!ar_rectype_from_name((struct ar_span){s, a->len}, &t))
            return fail(why, whylen, "%s: unknown record type '%s'", field, s);
        a->num = t;
        return 0;
    }
    case C_PATH:
    case C_DIR:
        if (s[0] != '/')
            return fail(why, whylen,
                        "%s: '%s' is not absolute (relative names are joined to the event's "
                        "CWD before they are compared)", field, s);
        /* Compared with resolved names: written the same way ("/var/cache/" and
         * "/var/./cache" are /var/cache). Never longer than the input. */
        char *resolved = malloc(a->len + 1);
        if (!resolved)
            return -ENOMEM;
        a->len = ar_path_resolve(NULL, 0, a->s, a->len, resolved, a->len);
        memcpy(a->s, resolved, a->len);
        a->s[a->len] = 0;
        free(resolved);
        return 0;
    case C_SOCKADDR:
        return parse_sockaddr(a, why, whylen);
    case C_SOCKADDR_PORT:
        if (!parse_u64(s, 65535, &a->num))
            return fail(why, whylen, "%s: '%s' is not a port (0 to 65535)", field, s);
        return 0;
    case C_SOCKADDR_FAMILY:
        for (size_t i = 0; i < AR_ARRAY_SIZE(families); i++)
            if (strcmp(s, families[i].name) == 0) {
                a->num = families[i].nr;
                return 0;
            }
        if (parse_u64(s, 65535, &a->num))
            return 0;
        return fail(why, whylen,
                    "%s: unknown family '%s' (inet, inet6, local, netlink, packet, unspec, or "
                    "a number)", field, s);
    case C_FIELD:
        break;
    default:
        return 0;
    }
    switch (c->vkind) {
    case V_NUMBER:
        return lookup_id(f, ar_field_info_of((struct ar_span){c->name, c->name_len}).cls ==
                                AR_FC_GID,
                         field, s, &a->num, why, whylen);
    case V_SIGNED: {
        int e;
        const char *name = s[0] == '-' ? s + 1 : s;
        if (ar_span_to_i64((struct ar_span){s, a->len}, &a->snum))
            return 0;
        if (ar_errno_from_name((struct ar_span){name, strlen(name)}, &e)) {
            a->snum = -(int64_t)e;
            return 0;
        }
        return fail(why, whylen, "%s: '%s' is neither a number nor an errno name (EACCES)",
                    field, s);
    }
    case V_SYSCALL:
        if (parse_u64(s, UINT32_MAX, &a->num)) {
            a->by_number = true;
            return 0;
        }
        for (size_t i = 0; i < AR_ARRAY_SIZE(known_arches); i++)
            if (ar_syscall_number(known_arches[i], (struct ar_span){s, a->len}) >= 0)
                return 0;
        return fail(why, whylen, "%s: unknown syscall '%s'", field, s);
    case V_ARCH: {
        uint32_t arch;
        if (ar_arch_from_name((struct ar_span){s, a->len}, &arch)) {
            a->num = arch;
            return 0;
        }
        if (ar_span_hex_to_u64((struct ar_span){s, a->len}, &a->num) && a->num <= UINT32_MAX)
            return 0;
        return fail(why, whylen, "%s: unknown architecture '%s'", field, s);
    }
    case V_SADDR:
        return parse_sockaddr(a, why, whylen);
    case V_TEXT:
        return 0;
    }
    return 0;
}

/* ---- the spec's words ---- */

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Reads a value from *pp up to an unquoted blank: alternatives split at unquoted
 * commas (when `split`), quotes removed, \" and \\ inside quotes. */
static int read_value(const char **pp, bool split, struct cond *c, const char *field, char *why,
                      size_t whylen)
{
    const char *p = *pp;
    size_t cap = strlen(p) + 1;
    char *cur = NULL;
    size_t len = 0;
    bool quoted_any = false;
    int r = 0;
    for (;;) {
        if (!cur && !(cur = malloc(cap)))
            return -ENOMEM;
        char ch = *p;
        bool end = ch == 0 || is_space(ch);
        if (end || (split && ch == ',')) {
            if (len == 0 && !quoted_any) {
                r = fail(why, whylen, "%s: an empty value%s", field,
                         split ? " (write \"\" for an empty string)" : "");
                break;
            }
            struct alt *na = realloc(c->alts, (c->nalts + 1) * sizeof(*na));
            if (!na) {
                r = -ENOMEM;
                break;
            }
            c->alts = na;
            cur[len] = 0;
            c->alts[c->nalts++] = (struct alt){.s = cur, .len = len};
            cur = NULL;
            len = 0;
            quoted_any = false;
            if (end)
                break;
            p++;
            continue;
        }
        if (ch == '"') {
            quoted_any = true;
            for (p++; *p != '"'; p++) {
                if (!*p) {
                    r = fail(why, whylen, "%s: a quote that does not end", field);
                    goto out;
                }
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                cur[len++] = *p;
            }
            p++;
            continue;
        }
        cur[len++] = ch;
        p++;
    }
out:
    free(cur);
    *pp = p;
    return r;
}

/* Edit distance (insertions, deletions, substitutions, adjacent swaps), ignoring
 * case, capped: names are short. */
static size_t name_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return SIZE_MAX;
    size_t d[32][32];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t v = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* The known name (a field or a condition word) nearest to `name`, when one is near
 * enough to be what was meant; NULL otherwise. */
static const char *nearest_name(const char *name, bool scoped)
{
    size_t len = strlen(name), best_d = len <= 3 ? 1 : 2;
    const char *best = NULL;
    for (size_t i = 0; !scoped && i < AR_ARRAY_SIZE(pseudo); i++) {
        size_t dist = name_distance(name, pseudo[i].name);
        if (dist <= best_d && (!best || dist < best_d))
            best = pseudo[i].name, best_d = dist;
    }
    const char *known;
    for (size_t i = 0; (known = ar_field_name_at(i)); i++) {
        size_t dist = name_distance(name, known);
        if (dist <= best_d && (!best || dist < best_d))
            best = known, best_d = dist;
    }
    return best;
}

static int parse_cond(const struct ar_filter *f, const char **pp, struct cond *c, char *why,
                      size_t whylen)
{
    const char *p = *pp, *start = p;
    while (name_char(*p) || *p == '.')
        p++;
    size_t nlen = (size_t)(p - start);
    char field[128];
    if (nlen == 0 || nlen >= sizeof(field)) {
        const char *end = start;
        while (*end && !is_space(*end))
            end++;
        return fail(why, whylen,
                    "'%.*s' is not a condition (NAME=VALUE, NAME!=VALUE, NAME~REGEX, "
                    "NAME!~REGEX, or all)", (int)(end - start), start);
    }
    memcpy(field, start, nlen);
    field[nlen] = 0;
    if (strcmp(field, "all") == 0 && (!*p || is_space(*p))) {
        c->kind = C_ALL;
        *pp = p;
        return 0;
    }
    if (p[0] == '=')
        c->op = OP_EQ, p += 1;
    else if (p[0] == '!' && p[1] == '=')
        c->op = OP_NE, p += 2;
    else if (p[0] == '~')
        c->op = OP_RE, p += 1;
    else if (p[0] == '!' && p[1] == '~')
        c->op = OP_NRE, p += 2;
    else
        return fail(why, whylen, "'%s' wants =, !=, ~ or !~ and a value", field);
    bool regex = c->op == OP_RE || c->op == OP_NRE;

    /* TYPE.name: the field of that name in records of one type (always the raw
     * field: PATH.path is a PATH record's path=, not the path condition). */
    const char *dot = strchr(field, '.');
    const char *name = field;
    if (dot) {
        uint32_t t;
        if (!ar_rectype_from_name((struct ar_span){field, (size_t)(dot - field)}, &t))
            return fail(why, whylen, "'%s': unknown record type '%.*s' before the dot", field,
                        (int)(dot - field), field);
        if (!dot[1])
            return fail(why, whylen, "'%s': a field name must follow the dot", field);
        c->scope = t;
        name = dot + 1;
    }
    c->kind = C_FIELD;
    for (size_t i = 0; i < AR_ARRAY_SIZE(pseudo); i++)
        if (strcmp(name, pseudo[i].name) == 0 && (!dot || pseudo[i].kind == C_TEXT)) {
            c->kind = pseudo[i].kind;
            break;
        }
    if (c->kind == C_TEXT && !regex)
        return fail(why, whylen, "%s takes ~ or !~ (a regular expression)", field);
    if (c->kind == C_DIR && regex)
        return fail(why, whylen, "dir takes = or != (for a pattern, use path~REGEX)");
    if ((c->kind == C_SOCKADDR_PORT || c->kind == C_SOCKADDR_FAMILY) && regex)
        return fail(why, whylen, "%s takes = or !=", field);
    if (c->kind == C_FIELD && !ar_field_name_known((struct ar_span){name, strlen(name)})) {
        /* A mistyped name would match nothing, silently. */
        const char *near = nearest_name(name, dot != NULL);
        if (near)
            return fail(why, whylen, "%s: unknown field '%s' (did you mean '%s'?)", field, name,
                        near);
        return fail(why, whylen,
                    "%s: unknown field '%s' (a field not known here is matched on the "
                    "record's text: text~\\b%s=VALUE)", field, name, name);
    }
    if (c->kind == C_FIELD) {
        c->name_len = strlen(name);
        char *key = malloc(c->name_len + 2);
        if (!key)
            return -ENOMEM;
        memcpy(key, name, c->name_len);
        memcpy(key + c->name_len, "=", 2);
        c->name = key;
        switch (ar_field_info_of((struct ar_span){name, c->name_len}).cls) {
        case AR_FC_UID:
        case AR_FC_GID:
            c->vkind = V_NUMBER;
            break;
        case AR_FC_EXIT:
            c->vkind = V_SIGNED;
            break;
        case AR_FC_SYSCALL:
            c->vkind = V_SYSCALL;
            break;
        case AR_FC_ARCH:
            c->vkind = V_ARCH;
            break;
        case AR_FC_SADDR:
            c->vkind = V_SADDR;
            break;
        case AR_FC_KEY:
            c->keys = true;
            c->hexable = true;
            break;
        case AR_FC_PROCTITLE:
            c->nul_list = true;
            c->hexable = true;
            break;
        case AR_FC_ESCAPED:
            c->hexable = true;
            break;
        default:
            break;
        }
        if (regex && (c->vkind == V_NUMBER || c->vkind == V_SIGNED || c->vkind == V_ARCH))
            return fail(why, whylen, "%s takes = or != (numbers and names)", field);
    }
    int r = read_value(&p, !regex, c, field, why, whylen);
    if (r < 0)
        return r;
    *pp = p;
    if (regex)
        return compile_regex(c, c->alts[0].s, c->alts[0].len, why, whylen);
    for (size_t i = 0; i < c->nalts; i++) {
        r = compile_alt(f, c, &c->alts[i], field, why, whylen);
        if (r < 0)
            return r;
    }
    return 0;
}

int ar_filter_add(struct ar_filter *f, const char *spec, char *why, size_t whylen)
{
    struct rule r = {0};
    const char *p = spec;
    int rc;
    while (is_space(*p))
        p++;
    if (strncmp(p, "drop", 4) == 0 && (!p[4] || is_space(p[4])))
        r.drop = true;
    else if (!(strncmp(p, "keep", 4) == 0 && (!p[4] || is_space(p[4])))) {
        size_t n = strcspn(p, " \t");
        return fail(why, whylen, "a filter starts with drop or keep, not '%.*s'", (int)n, p);
    }
    p += 4;
    for (;;) {
        while (is_space(*p))
            p++;
        if (!*p)
            break;
        struct cond *nc = realloc(r.conds, (r.nconds + 1) * sizeof(*nc));
        if (!nc) {
            rc = -ENOMEM;
            goto fail;
        }
        r.conds = nc;
        r.conds[r.nconds] = (struct cond){0};
        rc = parse_cond(f, &p, &r.conds[r.nconds], why, whylen);
        r.nconds++;
        if (rc < 0)
            goto fail;
        if (*p && !is_space(*p)) {
            rc = fail(why, whylen, "a blank must follow each condition, before '%s'", p);
            goto fail;
        }
    }
    if (r.nconds == 0) {
        rc = fail(why, whylen, "'%s' has no condition (write '%s all' for every event)", spec,
                  r.drop ? "drop" : "keep");
        goto fail;
    }
    if (f->nrules && f->rules[f->nrules - 1].matches_all) {
        rc = fail(why, whylen, "never reached: '%s' before it matches every event",
                  f->rules[f->nrules - 1].text);
        goto fail;
    }
    r.matches_all = true;
    for (size_t i = 0; i < r.nconds; i++)
        if (r.conds[i].kind != C_ALL)
            r.matches_all = false;
    /* The text as given, without the blanks around it: the metrics label. */
    const char *t = spec, *e = spec + strlen(spec);
    while (is_space(*t))
        t++;
    while (e > t && is_space(e[-1]))
        e--;
    r.text = strndup(t, (size_t)(e - t));
    struct rule *nr = realloc(f->rules, (f->nrules + 1) * sizeof(*nr));
    if (!r.text || !nr) {
        if (nr)
            f->rules = nr;
        rc = -ENOMEM;
        goto fail;
    }
    f->rules = nr;
    f->rules[f->nrules++] = r;
    return 0;
fail:
    rule_free(&r);
    return rc;
}

int ar_filter_compile(const struct ar_filter_env *env, const char *const *specs, size_t n,
                      struct ar_filter **ret, char *why, size_t whylen)
{
    *ret = NULL;
    if (n == 0)
        return 0;
    struct ar_filter *f;
    int r = ar_filter_new(env, &f);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        char one[400];
        r = ar_filter_add(f, specs[i], one, sizeof(one));
        if (r == -EINVAL && n > 1)
            snprintf(why, whylen, "filter %zu: %s", i + 1, one);
        else if (r == -EINVAL)
            snprintf(why, whylen, "%s", one);
        if (r < 0) {
            ar_filter_free(f);
            return r;
        }
    }
    *ret = f;
    return 0;
}
