#include "enrich/normalize.h"

#include <libaudit.h> /* record type numbers; header only */
#include <string.h>

#include "enrich/decode.h"
#include "audit/tables.h"

#define ARCH_LE 0x40000000u /* __AUDIT_ARCH_LE */

/* open(2) flags, the same on every architecture audit tables cover here. */
#define F_ACCMODE 03
#define F_CREAT 0100
#define F_TRUNC 01000

struct norm_ctx {
    const struct ar_norm_record *recs;
    uint32_t nrecs;
    uint32_t primary;     /* the SYSCALL record, or the event's first */
    const char *syscall;
    ar_norm_text_fn text;
    void *text_ctx;
    struct ar_normalized *s;
};

static bool span_is(struct ar_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static bool key_is(const struct ar_field *f, const char *key, size_t len)
{
    return f->key.len == len && f->key.p[0] == key[0] && memcmp(f->key.p, key, len) == 0;
}

bool ar_norm_data_record(uint32_t type)
{
    return type != AUDIT_PATH && type != AUDIT_EXECVE && type != AUDIT_SOCKADDR &&
           type != AUDIT_EOE;
}

/* Records that only accompany a SYSCALL record. */
static bool syscall_aux(uint32_t type)
{
    switch (type) {
    case AUDIT_SYSCALL: case AUDIT_PATH: case AUDIT_IPC: case AUDIT_SOCKETCALL:
    case AUDIT_SOCKADDR: case AUDIT_CWD: case AUDIT_EXECVE: case AUDIT_FD_PAIR:
    case AUDIT_OBJ_PID: case AUDIT_EOE: case AUDIT_BPRM_FCAPS: case AUDIT_CAPSET:
    case AUDIT_MMAP: case AUDIT_PROCTITLE:
        return true;
    default:
        return false;
    }
}

static bool ends_with_id(const char *key, size_t len)
{
    return len >= 3 && (memcmp(key + len - 3, "uid", 3) == 0 || memcmp(key + len - 3, "gid", 3) == 0);
}

/* Notes that field i of record r was read, when r is the primary record. */
static void mark_read(const struct norm_ctx *c, uint32_t r, uint32_t i)
{
    if (c->s && r == c->primary && i < 64)
        c->s->primary_read |= UINT64_C(1) << i;
}

static const struct ar_field *find_in(const struct norm_ctx *c, uint32_t r, const char *key,
                                      size_t len)
{
    const struct ar_norm_record *rec = &c->recs[r];
    for (uint32_t i = 0; i < rec->n; i++) {
        const struct ar_field *f = &rec->fields[i];
        if (f->kind != AR_VAL_NESTED && f->kind != AR_VAL_BARE && key_is(f, key, len)) {
            mark_read(c, r, i);
            return f;
        }
    }
    return NULL;
}

/* The field for a key as go-libaudit's event data holds it: the primary record first
 * (but its ids are looked up last, they sit in a map of their own there), then the
 * other records in order. */
static const struct ar_field *find_field(const struct norm_ctx *c, const char *key, size_t len)
{
    const struct ar_field *f;
    bool id = ends_with_id(key, len);
    if (!id && c->primary < c->nrecs && (f = find_in(c, c->primary, key, len)))
        return f;
    for (uint32_t r = 0; r < c->nrecs; r++) {
        if (r == c->primary || !ar_norm_data_record(c->recs[r].type))
            continue;
        if ((f = find_in(c, r, key, len)))
            return f;
    }
    if (id && c->primary < c->nrecs)
        return find_in(c, c->primary, key, len);
    return NULL;
}

const struct ar_field *ar_normalized_field(const struct ar_normalized *s,
                                        const struct ar_norm_record *recs, uint32_t nrecs,
                                        const char *key, size_t key_len)
{
    struct norm_ctx c = {.recs = recs, .nrecs = nrecs, .primary = s->primary};
    return find_field(&c, key, key_len);
}

static bool field_value(const struct norm_ctx *c, const struct ar_field *f, size_t len,
                        struct ar_text *ret);

/* A value as text; "?" and "(none)" are no value; an unset id reads "unset". */
static bool value_of(const struct norm_ctx *c, const char *key, size_t len, struct ar_text *ret)
{
    if (len == 7 && memcmp(key, "syscall", 7) == 0 && c->syscall) {
        *ret = (struct ar_text){c->syscall, strlen(c->syscall)};
        return true;
    }
    return field_value(c, find_field(c, key, len), len, ret);
}

/* value_of for a field found already; key_len is its key's length. */
static bool field_value(const struct norm_ctx *c, const struct ar_field *f, size_t len,
                        struct ar_text *ret)
{
    if (!f || f->kind == AR_VAL_NULL)
        return false;
    const char *key = f->key.p;
    if (f->kind == AR_VAL_PLAIN && (span_is(f->value, "?") || span_is(f->value, "(none)")))
        return false;
    if ((ends_with_id(key, len) || (len == 3 && memcmp(key, "ses", 3) == 0)) &&
        f->kind == AR_VAL_PLAIN && (span_is(f->value, "4294967295") || span_is(f->value, "-1"))) {
        *ret = (struct ar_text){"unset", 5};
        return true;
    }
    struct ar_text t;
    if (!c->text(c->text_ctx, f, &t) || t.len == 0 || (t.len == 1 && t.p[0] == '?'))
        return false;
    *ret = t;
    return true;
}

/* The first key of a space-separated list that has a value. */
static bool first_value(const struct norm_ctx *c, const char *keys, struct ar_text *ret)
{
    if (!keys)
        return false;
    for (const char *k = keys; *k;) {
        const char *e = strchr(k, ' ');
        size_t len = e ? (size_t)(e - k) : strlen(k);
        if (value_of(c, k, len, ret))
            return true;
        k += len + (e ? 1 : 0);
    }
    return false;
}

static bool has_field(void *ctx, const char *key)
{
    const struct norm_ctx *c = ctx;
    /* SELinux AVC records say "avc:  denied  { read }": go-libaudit calls the verdict
     * seresult. */
    if (strcmp(key, "seresult") == 0) {
        for (uint32_t r = 0; r < c->nrecs; r++)
            for (uint32_t i = 0; i < c->recs[r].n; i++) {
                const struct ar_field *f = &c->recs[r].fields[i];
                if (f->kind == AR_VAL_BARE)
                    mark_read(c, r, i);
                if (f->kind == AR_VAL_BARE &&
                    (span_is(f->value, "denied") || span_is(f->value, "granted")))
                    return true;
            }
        return false;
    }
    return find_field(c, key, strlen(key)) != NULL;
}

static struct ar_text keep(struct ar_normalized *s, const char *p, size_t len)
{
    if (len > sizeof(s->buf) - s->used)
        return (struct ar_text){NULL, 0};
    char *dst = s->buf + s->used;
    memcpy(dst, p, len);
    s->used += len;
    return (struct ar_text){dst, len};
}

size_t ar_path_resolve(const char *cwd, size_t cwd_len, const char *name, size_t name_len,
                       char *out, size_t cap)
{
    if (name_len == 0 || cap == 0)
        return 0;
    size_t n = 0;
    bool absolute = name[0] == '/' || (cwd && cwd_len && cwd[0] == '/');
    if (absolute)
        out[n++] = '/';
    /* Two passes over the same logic: the cwd's components, then the name's. */
    for (int pass = 0; pass < 2; pass++) {
        const char *p = pass == 0 ? cwd : name;
        size_t len = pass == 0 ? cwd_len : name_len;
        if (pass == 0 && (!cwd || name[0] == '/'))
            continue;
        for (size_t i = 0; i < len;) {
            while (i < len && p[i] == '/')
                i++;
            size_t start = i;
            while (i < len && p[i] != '/')
                i++;
            size_t clen = i - start;
            if (clen == 0 || (clen == 1 && p[start] == '.'))
                continue;
            if (clen == 2 && p[start] == '.' && p[start + 1] == '.') {
                size_t floor = absolute ? 1 : 0;
                if (n > floor) {
                    /* Drop the last component and its separator. */
                    while (n > floor && out[n - 1] != '/')
                        n--;
                    if (n > floor)
                        n--;
                    continue;
                }
                if (absolute)
                    continue; /* ".." at the root is the root */
            }
            bool sep = n > 0 && out[n - 1] != '/';
            if (n + sep + clen > cap)
                return 0;
            if (sep)
                out[n++] = '/';
            memcpy(out + n, p + start, clen);
            n += clen;
        }
    }
    if (n == 0) {
        out[n++] = '.';
    }
    return n;
}

void ar_file_mode_text(uint32_t mode, char out[8])
{
    out[0] = (char)('0' + ((mode >> 9) & 7));
    out[1] = (char)('0' + ((mode >> 6) & 7));
    out[2] = (char)('0' + ((mode >> 3) & 7));
    out[3] = (char)('0' + (mode & 7));
    out[4] = '\0';
}

const char *ar_file_type_of_mode(uint64_t mode)
{
    switch (mode & 0170000) {
    case 0100000: return "file";
    case 0040000: return "dir";
    case 0120000: return "symlink";
    case 0020000: return "char-device";
    case 0060000: return "block-device";
    case 0010000: return "fifo";
    case 0140000: return "socket";
    default: return NULL;
    }
}

const char *ar_file_change_name(enum ar_file_change c)
{
    static const char *const names[] = {
        [AR_CHANGE_CREATED] = "created",     [AR_CHANGE_MODIFIED] = "modified",
        [AR_CHANGE_DELETED] = "deleted",     [AR_CHANGE_RENAMED] = "renamed",
        [AR_CHANGE_LINKED] = "linked",       [AR_CHANGE_PERMISSIONS] = "permissions-changed",
        [AR_CHANGE_OWNER] = "owner-changed", [AR_CHANGE_ATTRIBUTES] = "attributes-changed",
    };
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : NULL;
}

static bool nametype_is(const struct ar_norm_path *p, const char *what)
{
    return p->nametype && span_is(p->nametype->value, what);
}

static void gather_paths(struct norm_ctx *c)
{
    struct ar_normalized *s = c->s;
    uint32_t item = 0;
    for (uint32_t r = 0; r < c->nrecs; r++) {
        const struct ar_norm_record *rec = &c->recs[r];
        if (rec->type == AUDIT_CWD && !s->cwd) {
            const struct ar_field *f = find_in(c, r, "cwd", 3);
            struct ar_text t;
            if (f && f->kind != AR_VAL_NULL && c->text(c->text_ctx, f, &t)) {
                s->cwd = t.p;
                s->cwd_len = t.len;
            }
        }
    }
    for (uint32_t r = 0; r < c->nrecs; r++) {
        const struct ar_norm_record *rec = &c->recs[r];
        if (rec->type != AUDIT_PATH)
            continue;
        if (s->npaths == AR_NORM_MAX_PATHS)
            break;
        struct ar_norm_path *p = &s->paths[s->npaths++];
        *p = (struct ar_norm_path){.item = item++};
        for (uint32_t i = 0; i < rec->n; i++) {
            const struct ar_field *f = &rec->fields[i];
            if (key_is(f, "name", 4)) p->name = f;
            else if (key_is(f, "nametype", 8) || key_is(f, "objtype", 7)) p->nametype = f;
            else if (key_is(f, "mode", 4)) p->mode = f;
            else if (key_is(f, "ouid", 4)) p->ouid = f;
            else if (key_is(f, "ogid", 4)) p->ogid = f;
            else if (key_is(f, "inode", 5)) p->inode = f;
            else if (key_is(f, "dev", 3)) p->dev = f;
            else if (key_is(f, "rdev", 4)) p->rdev = f;
        }
        p->parent = nametype_is(p, "PARENT");
        if (p->mode && p->mode->kind == AR_VAL_PLAIN && p->mode->value.len &&
            p->mode->value.len <= 11) {
            uint32_t m = 0;
            bool ok = true;
            for (size_t i = 0; i < p->mode->value.len && ok; i++) {
                char ch = p->mode->value.p[i];
                ok = ch >= '0' && ch <= '7';
                m = m * 8 + (uint32_t)(ch - '0');
            }
            p->has_mode = ok;
            p->mode_value = ok ? m : 0;
        }
        struct ar_text name;
        if (!p->name || p->name->kind == AR_VAL_NULL || !c->text(c->text_ctx, p->name, &name))
            continue;
        size_t n = ar_path_resolve(s->cwd, s->cwd_len, name.p, name.len, s->buf + s->used,
                                   sizeof(s->buf) - s->used);
        if (n) {
            p->path = (struct ar_text){s->buf + s->used, n};
            s->used += n;
        } else {
            p->path = name; /* did not fit: the name as written */
        }
    }
}

/* go-libaudit's choice of the object among the PATH items: from the row's index on,
 * the first that is not a PARENT or UNKNOWN item, else the item at the index. */
static int file_object(const struct ar_normalized *s, unsigned hint)
{
    if (!s->npaths)
        return -1;
    unsigned start = s->npaths > hint ? hint : 0;
    for (unsigned i = start; i < s->npaths; i++)
        if (!s->paths[i].parent && !nametype_is(&s->paths[i], "UNKNOWN"))
            return (int)i;
    return (int)start;
}

static int find_item(const struct ar_normalized *s, const char *nametype, bool last)
{
    int hit = -1;
    for (uint32_t i = 0; i < s->npaths; i++)
        if (nametype_is(&s->paths[i], nametype)) {
            hit = (int)i;
            if (!last)
                break;
        }
    return hit;
}

static uint64_t syscall_arg(const struct norm_ctx *c, const char *key)
{
    uint64_t v = 0;
    const struct ar_field *f = c->primary < c->nrecs ? find_in(c, c->primary, key, 2) : NULL;
    if (f && f->kind == AR_VAL_PLAIN)
        ar_span_hex_to_u64(f->value, &v);
    return v;
}

static void file_change(struct norm_ctx *c, const struct ar_norm *norm)
{
    struct ar_normalized *s = c->s;
    s->change = norm->change;
    int created = find_item(s, "CREATE", true);
    switch (norm->change) {
    case AR_CHANGE_OPEN: {
        uint64_t flags = 0;
        if (strcmp(c->syscall, "open") == 0)
            flags = syscall_arg(c, "a1");
        else if (strcmp(c->syscall, "openat") == 0)
            flags = syscall_arg(c, "a2");
        else if (strcmp(c->syscall, "creat") == 0)
            flags = F_CREAT | F_TRUNC | 1;
        if (created >= 0) {
            s->change = AR_CHANGE_CREATED;
            s->file = created;
        } else if ((flags & F_ACCMODE) || (flags & F_TRUNC)) {
            s->change = AR_CHANGE_MODIFIED;
        } else {
            s->change = AR_CHANGE_NONE;
        }
        break;
    }
    case AR_CHANGE_CREATED:
        if (created >= 0)
            s->file = created;
        break;
    case AR_CHANGE_DELETED: {
        int d = find_item(s, "DELETE", false);
        if (d >= 0)
            s->file = d;
        break;
    }
    case AR_CHANGE_RENAMED:
    case AR_CHANGE_LINKED: {
        int from = -1;
        bool named = false;
        for (uint32_t i = 0; i < s->npaths && !named; i++)
            named = s->paths[i].nametype != NULL;
        if (!named && s->npaths >= 2) {
            /* The tracepoint source's items: the two names in argument order. */
            from = 0;
            created = 1;
        } else if (norm->change == AR_CHANGE_RENAMED) {
            from = find_item(s, "DELETE", false);
        } else {
            for (uint32_t i = 0; i < s->npaths && from < 0; i++)
                if (!s->paths[i].parent && !nametype_is(&s->paths[i], "CREATE"))
                    from = (int)i;
        }
        s->change_from = from;
        if (created >= 0)
            s->file = created;
        if (from >= 0 && s->paths[from].path.len)
            s->object_primary = s->paths[from].path;
        if (created >= 0 && s->paths[created].path.len) {
            if (from >= 0)
                s->object_secondary = s->paths[created].path;
            else
                s->object_primary = s->paths[created].path;
        }
        break;
    }
    default:
        break;
    }
}

static void socket_object(struct norm_ctx *c)
{
    struct ar_normalized *s = c->s;
    for (uint32_t r = 0; r < c->nrecs; r++) {
        if (c->recs[r].type != AUDIT_SOCKADDR)
            continue;
        const struct ar_field *f = find_in(c, r, "saddr", 5);
        struct ar_text raw;
        if (!f || !c->text(c->text_ctx, f, &raw))
            return;
        struct ar_sockaddr sa;
        bool big_endian = !(s->arch & ARCH_LE) && s->arch;
        if (ar_sockaddr_decode((const unsigned char *)raw.p, raw.len, big_endian, &sa) < 0)
            return;
        static const struct {
            const char *ours, *theirs;
        } families[] = {{"inet", "ipv4"}, {"inet6", "ipv6"}, {"local", "unix"}};
        s->sock_family = sa.family;
        for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
            if (strcmp(sa.family, families[i].ours) == 0)
                s->sock_family = families[i].theirs;
        if (sa.addr[0])
            s->sock_addr = keep(s, sa.addr, strlen(sa.addr));
        else if (sa.path_len)
            s->sock_path = keep(s, (const char *)sa.path, sa.path_len);
        if (sa.has_port) {
            char port[8];
            size_t n = sizeof(port);
            unsigned v = sa.port;
            do {
                port[--n] = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            s->sock_port = keep(s, port + n, sizeof(port) - n);
        }
        s->object_primary = s->sock_addr.len ? s->sock_addr : s->sock_path;
        s->object_secondary = s->sock_port;
        if (!c->syscall)
            return;
        static const char *const in[] = {"recvfrom", "recvmsg", "accept", "accept4"};
        static const char *const out[] = {"connect", "sendto", "sendmsg"};
        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
            if (strcmp(c->syscall, in[i]) == 0)
                s->sock_direction = AR_DIRECTION_INGRESS;
        for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
            if (strcmp(c->syscall, out[i]) == 0)
                s->sock_direction = AR_DIRECTION_EGRESS;
        return;
    }
}

static bool interpreter(struct ar_text exe);

/* The actor (auid, uid) and how (exe, or comm for an interpreter) every event gets
 * before its row has a say: one pass over the primary record. */
static void defaults(struct norm_ctx *c)
{
    struct ar_normalized *s = c->s;
    const struct ar_norm_record *r = &c->recs[c->primary];
    const struct ar_field *auid = NULL, *uid = NULL, *exe = NULL, *comm = NULL;
    for (uint32_t i = 0; i < r->n; i++) {
        const struct ar_field *f = &r->fields[i];
        if (f->kind == AR_VAL_NESTED || f->kind == AR_VAL_BARE)
            continue;
        const char *k = f->key.p;
        switch (f->key.len) {
        case 3:
            if (!uid && k[0] == 'u' && k[1] == 'i' && k[2] == 'd')
                uid = f;
            else if (!exe && k[0] == 'e' && k[1] == 'x' && k[2] == 'e')
                exe = f;
            else
                continue;
            break;
        case 4:
            if (!auid && memcmp(k, "auid", 4) == 0)
                auid = f;
            else if (!comm && memcmp(k, "comm", 4) == 0)
                comm = f;
            else
                continue;
            break;
        default:
            continue;
        }
        mark_read(c, c->primary, i);
    }
    /* Keys a user-space record carries in its msg='...' sit in the same record; the
     * other records are looked at only when the primary one lacks them. */
    if (auid)
        field_value(c, auid, 4, &s->actor_primary);
    else
        value_of(c, "auid", 4, &s->actor_primary);
    if (uid)
        field_value(c, uid, 3, &s->actor_secondary);
    else
        value_of(c, "uid", 3, &s->actor_secondary);
    bool have_exe = exe ? field_value(c, exe, 3, &s->how) : value_of(c, "exe", 3, &s->how);
    if (!have_exe || interpreter(s->how)) {
        if (comm)
            field_value(c, comm, 4, &s->how);
        else
            value_of(c, "comm", 4, &s->how);
    }
}

static bool interpreter(struct ar_text exe)
{
    static const char *const prefixes[] = {"/usr/bin/python", "/usr/bin/sh", "/usr/bin/bash",
                                           "/usr/bin/perl"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (exe.len >= n && memcmp(exe.p, prefixes[i], n) == 0)
            return true;
    }
    return false;
}

static const char *result_of(const struct norm_ctx *c)
{
    const struct ar_field *f = find_field(c, "success", 7);
    if (!f)
        f = find_field(c, "res", 3);
    if (!f)
        return "unknown";
    struct ar_span v = f->value;
    if (span_is(v, "yes") || span_is(v, "success") || span_is(v, "1"))
        return "success";
    if (span_is(v, "no") || span_is(v, "failed") || span_is(v, "0"))
        return "fail";
    return "unknown";
}

void ar_normalize(const struct ar_norm_record *recs, uint32_t nrecs, const char *syscall,
                  uint32_t arch, ar_norm_text_fn text, void *ctx, struct ar_normalized *s)
{
    memset(s, 0, offsetof(struct ar_normalized, paths));
    s->npaths = 0;
    s->used = 0;
    s->file = -1;
    s->object_file = -1;
    s->change_from = -1;
    s->cwd = NULL;
    s->cwd_len = 0;
    s->arch = arch;
    s->syscall = syscall;
    struct norm_ctx c = {recs, nrecs, 0, syscall, text, ctx, s};

    /* The record the summary is about: the first (go-libaudit's "special" record:
     * AVC, ANOM_PROMISCUOUS, ...) unless it only accompanies a syscall. */
    uint32_t first = 0;
    while (first < nrecs && recs[first].type == AUDIT_EOE)
        first++;
    uint32_t sc = nrecs;
    for (uint32_t r = 0; r < nrecs && sc == nrecs; r++)
        if (recs[r].type == AUDIT_SYSCALL)
            sc = r;
    c.primary = sc < nrecs ? sc : first;
    s->primary = c.primary;
    if (first == nrecs)
        return;
    s->type = sc < nrecs && syscall_aux(recs[first].type) ? AUDIT_SYSCALL : recs[first].type;
    s->result = result_of(&c);

    defaults(&c);

    gather_paths(&c);

    /* Syscall names are the tables' static strings: the last lookup is remembered by
     * pointer, and most events repeat the previous one's syscall. */
    if (syscall && syscall == s->last_syscall) {
        s->syscall_norm = s->last_syscall_norm;
    } else if (syscall) {
        s->syscall_norm = ar_norm_syscall(syscall);
        s->last_syscall = syscall;
        s->last_syscall_norm = s->syscall_norm;
    }
    const struct ar_norm *norm = s->syscall_norm;
    if (s->type != AUDIT_SYSCALL && s->type == s->last_type && s->type) {
        norm = s->last_type_norm;
    } else if (s->type != AUDIT_SYSCALL) {
        bool by_fields;
        norm = ar_norm_record_type(ar_rectype_name(s->type), has_field, &c, &by_fields);
        s->last_type = by_fields ? 0 : s->type;
        s->last_type_norm = norm;
    }
    s->norm = norm;
    if (!norm)
        return;
    s->object_type = norm->object_type;
    const char *what = norm->object_type ? norm->object_type : "";
    if (what[0] == 'f' && (strcmp(what, "file") == 0 || strcmp(what, "filesystem") == 0)) {
        s->file = s->object_file = file_object(s, norm->path_index);
        if (s->file >= 0 && s->paths[s->file].path.len)
            s->object_primary = s->paths[s->file].path;
    } else if (what[0] == 's' && strcmp(what, "socket") == 0) {
        socket_object(&c);
    }
    if (norm->change && syscall && strcmp(s->result, "fail") != 0)
        file_change(&c, norm);
    else if (norm->change == AR_CHANGE_OPEN)
        s->change = AR_CHANGE_NONE;
    else if (norm->change && strcmp(s->result, "fail") == 0)
        s->change = AR_CHANGE_NONE;

    first_value(&c, norm->subj_primary, &s->actor_primary);
    first_value(&c, norm->subj_secondary, &s->actor_secondary);
    first_value(&c, norm->obj_primary, &s->object_primary);
    first_value(&c, norm->obj_secondary, &s->object_secondary);
    first_value(&c, norm->how, &s->how);
    if (!s->sock_direction && first_value(&c, norm->source_ip, &s->source_ip))
        s->sock_direction = AR_DIRECTION_INGRESS;

    for (unsigned i = 0; i < norm->nmaps; i++) {
        struct ar_text v = {NULL, 0};
        switch (norm->maps[i].from) {
        case AR_NORM_FROM_SUBJ_PRIMARY: v = s->actor_primary; break;
        case AR_NORM_FROM_SUBJ_SECONDARY: v = s->actor_secondary; break;
        case AR_NORM_FROM_OBJ_PRIMARY: v = s->object_primary; break;
        case AR_NORM_FROM_UID:
            if (c.primary < nrecs) {
                const struct ar_field *f = find_in(&c, c.primary, "uid", 3);
                if (f)
                    text(ctx, f, &v);
            }
            break;
        }
        if (norm->maps[i].to < AR_NORM_TO_COUNT)
            s->ecs_values[norm->maps[i].to] = v;
    }
}
