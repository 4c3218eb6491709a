/* --format ecs: an event in Elastic Common Schema as Auditbeat's auditd module writes
 * it (event.category/type/action/outcome, user.* with effective/target/changes,
 * group.*, process.*, file.*, source/destination, network.direction, tags and the
 * auditd.* module fields), so that detection rules written against Auditbeat apply.
 * It writes what the summary and its normalizer (enrich/normalize.h) found. */
#include <errno.h>
#include <libaudit.h> /* record type numbers; header only */
#include <string.h>

#include "encode/format.h"
#include "encode/jsonvalue.h"
#include "encode/summary.h"
#include "audit/tables.h"
#include "enrich/proctable.h"
#include "util/iso8601.h"

/* What the writer reads: the event, its records and normalized summary. */
struct ar_ecs_event {
    const struct ar_event *ev;
    const char *timestamp;               /* ISO-8601, NULL when the event has none */
    const struct ar_norm_record *recs;   /* the event's records, tokenized */
    const struct ar_normalized *sum;     /* ar_normalize's result for them */
    ar_norm_text_fn text;                /* decodes values, as for ar_normalize */
    void *text_ctx;
    struct ar_idcache *ids;              /* NULL: no names */
    const char *arch;                    /* the syscall's arch name, NULL when none */
    struct ar_encoder *e;
    bool has_args;                       /* an EXECVE record: e->argv */
    const struct ar_field *key;          /* the rule key(s), NULL when none */
};

static void key(struct ar_buf *b, bool *first, const char *k)
{
    if (!*first)
        ar_buf_putc(b, ',');
    *first = false;
    ar_json_key(b, k, strlen(k));
}

static void text(struct ar_buf *b, struct ar_text t)
{
    ar_json_string(b, t.p ? t.p : "", t.len, AR_JSON_ESCAPE_MINIMAL);
}

static void cstr(struct ar_buf *b, const char *s)
{
    ar_json_string(b, s, strlen(s), AR_JSON_ESCAPE_MINIMAL);
}

static void member(struct ar_buf *b, bool *first, const char *k, struct ar_text t)
{
    if (!t.len)
        return;
    key(b, first, k);
    text(b, t);
}

static bool text_is(struct ar_text t, const char *s)
{
    size_t n = strlen(s);
    return t.len == n && memcmp(t.p, s, n) == 0;
}

static bool same(struct ar_text a, struct ar_text b)
{
    return a.len && a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

static bool numeric(struct ar_text t)
{
    if (!t.len)
        return false;
    for (size_t i = 0; i < t.len; i++)
        if (t.p[i] < '0' || t.p[i] > '9')
            return false;
    return true;
}

/* Appends the words of a space-separated list as JSON strings. */
static void words(struct ar_buf *b, bool *comma, const char *list)
{
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (*comma)
            ar_buf_putc(b, ',');
        *comma = true;
        ar_json_string(b, p, n, AR_JSON_ESCAPE_MINIMAL);
        p += n + (e ? 1 : 0);
    }
}

/* ---- user.* and group.*: Auditbeat's addUser, then the row's mappings ---- */

enum ent {
    E_USER, E_USER_GROUP, E_EFFECTIVE, E_EFFECTIVE_GROUP, E_SAVED, E_SAVED_GROUP,
    E_FILESYSTEM, E_FILESYSTEM_GROUP, E_AUDIT, E_TARGET, E_CHANGES, E_GROUP, E_COUNT
};

struct entity {
    struct ar_text id, name;
};

static const struct {
    const char *key;
    enum ent ent;
} id_keys[] = {
    {"uid", E_USER},     {"gid", E_USER_GROUP},   {"euid", E_EFFECTIVE},
    {"egid", E_EFFECTIVE_GROUP}, {"suid", E_SAVED}, {"sgid", E_SAVED_GROUP},
    {"fsuid", E_FILESYSTEM}, {"fsgid", E_FILESYSTEM_GROUP}, {"auid", E_AUDIT},
};

static bool unset(struct ar_text v)
{
    return !v.len || text_is(v, "unset") || text_is(v, "4294967295") || text_is(v, "-1");
}

static struct ar_text id_name(const struct ar_ecs_event *x, struct ar_text id, bool group)
{
    uint64_t v;
    if (!x->ids || !numeric(id) || id.len > 10 ||
        !ar_span_to_u64((struct ar_span){id.p, id.len}, &v) || v >= UINT32_MAX)
        return (struct ar_text){NULL, 0};
    const char *name = ar_idcache_name(x->ids, group ? AR_ID_GROUP : AR_ID_USER, (uint32_t)v);
    return name ? (struct ar_text){name, strlen(name)} : (struct ar_text){NULL, 0};
}

static bool is_group(enum ent e)
{
    return e == E_USER_GROUP || e == E_EFFECTIVE_GROUP || e == E_SAVED_GROUP ||
           e == E_FILESYSTEM_GROUP || e == E_GROUP;
}

static void gather_entities(const struct ar_ecs_event *x, struct entity *ents)
{
    const struct ar_normalized *s = x->sum;
    memset(ents, 0, E_COUNT * sizeof(*ents));
    if (s->primary < x->ev->nrecords) {
        const struct ar_norm_record *r = &x->recs[s->primary];
        for (uint32_t i = 0; i < r->n; i++) {
            const struct ar_field *f = &r->fields[i];
            for (size_t k = 0; k < sizeof(id_keys) / sizeof(id_keys[0]); k++) {
                if (f->key.len != strlen(id_keys[k].key) ||
                    memcmp(f->key.p, id_keys[k].key, f->key.len) != 0)
                    continue;
                struct entity *e = &ents[id_keys[k].ent];
                struct ar_text v = {f->value.p, f->value.len};
                if (e->id.len || unset(v) || f->kind != AR_VAL_PLAIN)
                    continue;
                e->id = v;
                e->name = id_name(x, v, is_group(id_keys[k].ent));
            }
        }
    }
    const struct ar_norm *norm = s->norm;
    static const enum ent to_ent[AR_NORM_TO_COUNT] = {
        [AR_NORM_TO_USER] = E_USER, [AR_NORM_TO_USER_EFFECTIVE] = E_EFFECTIVE,
        [AR_NORM_TO_USER_TARGET] = E_TARGET, [AR_NORM_TO_USER_CHANGES] = E_CHANGES,
        [AR_NORM_TO_GROUP] = E_GROUP,
    };
    for (unsigned i = 0; norm && i < norm->nmaps; i++) {
        enum ent which = to_ent[norm->maps[i].to];
        struct ar_text v = s->ecs_values[norm->maps[i].to];
        struct entity *e = &ents[which];
        *e = (struct entity){{NULL, 0}, {NULL, 0}};
        if (unset(v))
            continue;
        if (numeric(v)) {
            e->id = v;
            e->name = id_name(x, v, which == E_GROUP);
        } else {
            e->name = v;
        }
    }
    /* Auditbeat leaves user.effective out when it is user. */
    if (same(ents[E_EFFECTIVE].id, ents[E_USER].id) ||
        (!ents[E_USER].id.len && same(ents[E_EFFECTIVE].name, ents[E_USER].name))) {
        ents[E_EFFECTIVE] = (struct entity){{NULL, 0}, {NULL, 0}};
        ents[E_EFFECTIVE_GROUP] = ents[E_EFFECTIVE];
    }
}

static bool entity_empty(const struct entity *e)
{
    return !e->id.len && !e->name.len;
}

static void put_entity(struct ar_buf *b, bool *first, const char *k, const struct entity *e,
                       const struct entity *group)
{
    if (entity_empty(e) && (!group || entity_empty(group)))
        return;
    key(b, first, k);
    ar_buf_putc(b, '{');
    bool f = true;
    member(b, &f, "id", e->id);
    member(b, &f, "name", e->name);
    if (group)
        put_entity(b, &f, "group", group, NULL);
    ar_buf_putc(b, '}');
}

static void put_user(const struct ar_ecs_event *x, struct ar_buf *b, bool *first)
{
    struct entity ents[E_COUNT];
    gather_entities(x, ents);
    key(b, first, "user");
    ar_buf_putc(b, '{');
    bool f = true;
    member(b, &f, "id", ents[E_USER].id);
    member(b, &f, "name", ents[E_USER].name);
    put_entity(b, &f, "group", &ents[E_USER_GROUP], NULL);
    put_entity(b, &f, "effective", &ents[E_EFFECTIVE], &ents[E_EFFECTIVE_GROUP]);
    put_entity(b, &f, "saved", &ents[E_SAVED], &ents[E_SAVED_GROUP]);
    put_entity(b, &f, "filesystem", &ents[E_FILESYSTEM], &ents[E_FILESYSTEM_GROUP]);
    put_entity(b, &f, "audit", &ents[E_AUDIT], NULL);
    put_entity(b, &f, "target", &ents[E_TARGET], NULL);
    put_entity(b, &f, "changes", &ents[E_CHANGES], NULL);
    ar_buf_putc(b, '}');
    put_entity(b, first, "group", &ents[E_GROUP], NULL);
}

/* ---- the rest ---- */

static struct ar_text field_text(const struct ar_ecs_event *x, const char *k)
{
    const struct ar_field *f = ar_normalized_field(x->sum, x->recs, x->ev->nrecords, k, strlen(k));
    struct ar_text t = {NULL, 0};
    if (!f || !x->text(x->text_ctx, f, &t) || text_is(t, "?") || text_is(t, "(none)"))
        return (struct ar_text){NULL, 0};
    return t;
}

static void put_number_text(struct ar_buf *b, bool *first, const char *k, struct ar_text t)
{
    if (!numeric(t) || t.len > 19)
        return;
    key(b, first, k);
    ar_buf_put(b, t.p, t.len);
}

static void put_time(struct ar_buf *b, bool *first, const char *k, uint64_t ms)
{
    char ts[32];
    ar_format_iso8601(ms / 1000, (uint32_t)(ms % 1000), ts);
    key(b, first, k);
    cstr(b, ts);
}

/* The process table's parent (ancestors[0]) when it is the event's ppid. */
static const struct ar_proc_ref *table_parent(const struct ar_ecs_event *x, struct ar_text ppid)
{
    const struct ar_proc_info *pi = x->ev->proc;
    if (!pi || !pi->present || !pi->nancestors)
        return NULL;
    uint64_t v;
    return ar_span_to_u64((struct ar_span){ppid.p, ppid.len}, &v) && v == pi->ancestors[0].pid
               ? &pi->ancestors[0]
               : NULL;
}

static void put_process(const struct ar_ecs_event *x, struct ar_buf *b, bool *first)
{
    struct ar_text pid = field_text(x, "pid"), ppid = field_text(x, "ppid"),
                   comm = field_text(x, "comm"), exe = field_text(x, "exe"),
                   cwd = field_text(x, "cwd"), title = field_text(x, "proctitle");
    if (!pid.len && !ppid.len && !comm.len && !exe.len && !cwd.len && !title.len && !x->has_args)
        return;
    key(b, first, "process");
    ar_buf_putc(b, '{');
    bool f = true;
    put_number_text(b, &f, "pid", pid);
    /* What the process table knows (add_process_metadata's fields in Beats). */
    const struct ar_proc_info *pi = x->ev->proc;
    if (pi && pi->present && pi->has_start)
        put_time(b, &f, "start", pi->start_ms);
    if (numeric(ppid)) {
        key(b, &f, "parent");
        ar_buf_putc(b, '{');
        bool fp = true;
        put_number_text(b, &fp, "pid", ppid);
        const struct ar_proc_ref *parent = table_parent(x, ppid);
        if (parent && parent->exe.len) {
            key(b, &fp, "executable");
            ar_jv_bytes(x->e, b, &fp, AR_SPAN_LIT("executable"),
                        (const unsigned char *)parent->exe.p, parent->exe.len);
        }
        if (parent && parent->comm.len) {
            key(b, &fp, "name");
            ar_jv_bytes(x->e, b, &fp, AR_SPAN_LIT("name"), (const unsigned char *)parent->comm.p,
                        parent->comm.len);
        }
        if (parent && parent->has_start)
            put_time(b, &fp, "start", parent->start_ms);
        ar_buf_putc(b, '}');
    }
    if (title.len) {
        /* Auditbeat's title: the command line with its NUL separators as spaces. */
        key(b, &f, "title");
        char tmp[512];
        size_t n = title.len < sizeof(tmp) ? title.len : sizeof(tmp);
        memcpy(tmp, title.p, n);
        while (n && tmp[n - 1] == '\0')
            n--;
        for (size_t i = 0; i < n; i++)
            if (tmp[i] == '\0')
                tmp[i] = ' ';
        ar_json_string(b, tmp, n, AR_JSON_ESCAPE_MINIMAL);
    }
    member(b, &f, "name", comm);
    member(b, &f, "executable", exe);
    member(b, &f, "working_directory", cwd);
    if (x->has_args) {
        key(b, &f, "args");
        ar_summary_argv(x->e, b);
    }
    ar_buf_putc(b, '}');
}

/* The process's cgroup as Beats' add_docker_metadata / add_kubernetes_metadata and
 * the journald input name it: container.id and .runtime, kubernetes.pod.uid,
 * systemd.unit. Live collection only (the table reads /proc/PID/cgroup). */
static void put_cgroup(const struct ar_ecs_event *x, struct ar_buf *b, bool *first)
{
    const struct ar_proc_info *pi = x->ev->proc;
    if (!pi || !pi->present)
        return;
    const struct ar_cgroup_ctx *cg = &pi->cgroup;
    if (cg->runtime) {
        key(b, first, "container");
        bool f = true;
        ar_buf_putc(b, '{');
        key(b, &f, "id");
        ar_json_string(b, cg->id, cg->id_len, AR_JSON_ESCAPE_MINIMAL);
        key(b, &f, "runtime");
        cstr(b, ar_cgroup_runtime_name(cg->runtime));
        ar_buf_putc(b, '}');
    }
    if (cg->pod_len) {
        key(b, first, "kubernetes");
        AR_BUF_LIT(b, "{\"pod\":{\"uid\":");
        ar_json_string(b, cg->pod, cg->pod_len, AR_JSON_ESCAPE_MINIMAL);
        AR_BUF_LIT(b, "}}");
    }
    if (cg->unit_len) {
        key(b, first, "systemd");
        AR_BUF_LIT(b, "{\"unit\":");
        ar_json_string(b, cg->unit, cg->unit_len, AR_JSON_ESCAPE_MINIMAL);
        ar_buf_putc(b, '}');
    }
}

static void put_raw_field(struct ar_buf *b, bool *first, const char *k, const struct ar_field *f)
{
    if (!f || f->kind != AR_VAL_PLAIN)
        return;
    key(b, first, k);
    ar_json_string(b, f->value.p, f->value.len, AR_JSON_ESCAPE_MINIMAL);
}

static void put_file(const struct ar_ecs_event *x, struct ar_buf *b, bool *first)
{
    const struct ar_normalized *s = x->sum;
    if (s->object_file < 0)
        return;
    /* go-libaudit's file object: for a rename, the old name. */
    const struct ar_norm_path *p = &s->paths[s->object_file];
    key(b, first, "file");
    ar_buf_putc(b, '{');
    bool f = true;
    member(b, &f, "path", p->path);
    if (p->has_mode) {
        char tmp[8];
        ar_file_mode_text(p->mode_value, tmp);
        key(b, &f, "mode");
        cstr(b, tmp);
        const char *type = ar_file_type_of_mode(p->mode_value);
        if (type) {
            key(b, &f, "type");
            cstr(b, type);
        }
    }
    put_raw_field(b, &f, "inode", p->inode);
    put_raw_field(b, &f, "device", p->rdev);
    put_raw_field(b, &f, "uid", p->ouid);
    put_raw_field(b, &f, "gid", p->ogid);
    if (p->ouid)
        member(b, &f, "owner", id_name(x, (struct ar_text){p->ouid->value.p, p->ouid->value.len}, false));
    if (p->ogid)
        member(b, &f, "group", id_name(x, (struct ar_text){p->ogid->value.p, p->ogid->value.len}, true));
    ar_buf_putc(b, '}');
}

static void put_addresses(const struct ar_ecs_event *x, struct ar_buf *b, bool *first)
{
    const struct ar_normalized *s = x->sum;
    if (!s->sock_direction)
        return;
    bool from_socket = s->sock_addr.len || s->sock_path.len || s->sock_port.len;
    key(b, first, s->sock_direction == AR_DIRECTION_INGRESS ? "source" : "destination");
    ar_buf_putc(b, '{');
    bool f = true;
    if (from_socket) {
        member(b, &f, "ip", s->sock_addr);
        put_number_text(b, &f, "port", s->sock_port);
        member(b, &f, "path", s->sock_path);
    } else {
        member(b, &f, "ip", s->source_ip);
    }
    ar_buf_putc(b, '}');
    key(b, first, "network");
    AR_BUF_LIT(b, "{\"direction\":");
    cstr(b, s->sock_direction == AR_DIRECTION_INGRESS ? "ingress" : "egress");
    ar_buf_putc(b, '}');
}

/* Keys Auditbeat moves out of auditd.data into fields of their own. */
static bool data_excluded(struct ar_span k, bool primary)
{
    static const char *const moved[] = {"ses", "res", "success", "key", "items", "pid", "ppid",
                                        "comm", "exe", "cwd", "proctitle", "subj", "msg"};
    for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++)
        if (k.len == strlen(moved[i]) && memcmp(k.p, moved[i], k.len) == 0)
            return true;
    /* The primary record's ids are in user.*. */
    return primary && k.len >= 3 &&
           (memcmp(k.p + k.len - 3, "uid", 3) == 0 || memcmp(k.p + k.len - 3, "gid", 3) == 0);
}

/* The n-th record in the order Auditbeat's data map fills: the primary record, then
 * the others in order. */
static uint32_t data_record(const struct ar_ecs_event *x, uint32_t n)
{
    uint32_t p = x->sum->primary;
    return n == 0 ? p : n <= p ? n - 1 : n;
}

static bool data_field(const struct ar_field *f, bool primary)
{
    return f->kind != AR_VAL_NESTED && f->kind != AR_VAL_BARE && f->kind != AR_VAL_NULL &&
           !data_excluded(f->key, primary);
}

/* Whether a data field before f (n-th record in data order, field i) has its key:
 * the first one wins, as in a map filled in that order. */
static bool seen_before(const struct ar_ecs_event *x, uint32_t upto_n, uint32_t upto_i,
                        struct ar_span k)
{
    for (uint32_t n = 0; n <= upto_n && n < x->ev->nrecords; n++) {
        uint32_t r = data_record(x, n);
        const struct ar_norm_record *rec = &x->recs[r];
        uint32_t end = n == upto_n ? upto_i : rec->n;
        if (!ar_norm_data_record(rec->type))
            continue;
        for (uint32_t i = 0; i < end; i++)
            if (data_field(&rec->fields[i], r == x->sum->primary) &&
                ar_span_same(rec->fields[i].key, k))
                return true;
    }
    return false;
}

static void put_data(const struct ar_ecs_event *x, struct ar_buf *b, bool *first)
{
    const struct ar_normalized *s = x->sum;
    key(b, first, "data");
    ar_buf_putc(b, '{');
    bool f = true;
    for (uint32_t n = 0; n < x->ev->nrecords; n++) {
        uint32_t r = data_record(x, n);
        bool primary = r == s->primary;
        const struct ar_norm_record *rec = &x->recs[r];
        if (rec->type == AUDIT_EXECVE) {
            for (uint32_t i = 0; i < rec->n; i++)
                if (AR_SPAN_IS(rec->fields[i].key, "argc")) {
                    put_raw_field(b, &f, "argc", &rec->fields[i]);
                    break;
                }
            continue;
        }
        if (!ar_norm_data_record(rec->type))
            continue;
        for (uint32_t i = 0; i < rec->n; i++) {
            const struct ar_field *fl = &rec->fields[i];
            if (!data_field(fl, primary) || seen_before(x, n, i, fl->key))
                continue;
            struct ar_text t;
            if (!x->text(x->text_ctx, fl, &t) || !t.len || text_is(t, "?"))
                continue;
            if (s->source_ip.len && t.p == s->source_ip.p)
                continue; /* became source.ip */
            if (primary && AR_SPAN_IS(fl->key, "syscall") && s->syscall)
                t = (struct ar_text){s->syscall, strlen(s->syscall)};
            else if (primary && AR_SPAN_IS(fl->key, "arch") && x->arch)
                t = (struct ar_text){x->arch, strlen(x->arch)};
            if (!f)
                ar_buf_putc(b, ',');
            f = false;
            ar_json_key(b, fl->key.p, fl->key.len);
            text(b, t);
        }
    }
    if (s->sock_family || s->sock_addr.len || s->sock_path.len || s->sock_port.len) {
        key(b, &f, "socket");
        ar_buf_putc(b, '{');
        bool fs = true;
        if (s->sock_family) {
            key(b, &fs, "family");
            cstr(b, s->sock_family);
        }
        member(b, &fs, "addr", s->sock_addr);
        member(b, &fs, "port", s->sock_port);
        member(b, &fs, "path", s->sock_path);
        ar_buf_putc(b, '}');
    }
    ar_buf_putc(b, '}');
}

static void put_paths(const struct ar_ecs_event *x, struct ar_buf *b, bool *first)
{
    bool any = false;
    for (uint32_t r = 0; r < x->ev->nrecords; r++) {
        const struct ar_norm_record *rec = &x->recs[r];
        if (rec->type != AUDIT_PATH)
            continue;
        if (!any)
            key(b, first, "paths");
        ar_buf_putc(b, any ? ',' : '[');
        any = true;
        ar_buf_putc(b, '{');
        bool f = true;
        for (uint32_t i = 0; i < rec->n; i++) {
            const struct ar_field *fl = &rec->fields[i];
            struct ar_text t;
            if (fl->kind == AR_VAL_BARE || fl->kind == AR_VAL_NESTED ||
                !x->text(x->text_ctx, fl, &t))
                continue;
            if (!f)
                ar_buf_putc(b, ',');
            f = false;
            ar_json_key(b, fl->key.p, fl->key.len);
            text(b, t);
        }
        ar_buf_putc(b, '}');
    }
    if (any)
        ar_buf_putc(b, ']');
}

static void put_auditd(const struct ar_ecs_event *x, struct ar_buf *b, bool *first)
{
    const struct ar_normalized *s = x->sum;
    key(b, first, "auditd");
    ar_buf_putc(b, '{');
    bool f = true;
    const char *type = ar_rectype_name(s->type);
    if (type) {
        char lower[64];
        size_t n = strlen(type) < sizeof(lower) ? strlen(type) : sizeof(lower) - 1;
        for (size_t i = 0; i < n; i++)
            lower[i] = (char)(type[i] >= 'A' && type[i] <= 'Z' ? type[i] - 'A' + 'a' : type[i]);
        key(b, &f, "message_type");
        ar_json_string(b, lower, n, AR_JSON_ESCAPE_MINIMAL);
    }
    key(b, &f, "sequence");
    ar_buf_u64(b, x->ev->serial);
    if (s->result) {
        key(b, &f, "result");
        cstr(b, s->result);
    }
    struct ar_text ses = field_text(x, "ses");
    if (ses.len && !unset(ses)) {
        key(b, &f, "session");
        text(b, ses);
    }
    key(b, &f, "summary");
    ar_buf_putc(b, '{');
    bool fs = true;
    if (s->actor_primary.len || s->actor_secondary.len) {
        key(b, &fs, "actor");
        ar_buf_putc(b, '{');
        bool fa = true;
        member(b, &fa, "primary", s->actor_primary);
        member(b, &fa, "secondary", s->actor_secondary);
        ar_buf_putc(b, '}');
    }
    if (s->object_type || s->object_primary.len || s->object_secondary.len) {
        key(b, &fs, "object");
        ar_buf_putc(b, '{');
        bool fo = true;
        member(b, &fo, "type", (struct ar_text){s->object_type, s->object_type ? strlen(s->object_type) : 0});
        member(b, &fo, "primary", s->object_primary);
        member(b, &fo, "secondary", s->object_secondary);
        ar_buf_putc(b, '}');
    }
    member(b, &fs, "how", s->how);
    ar_buf_putc(b, '}');
    put_data(x, b, &f);
    put_paths(x, b, &f);
    ar_buf_putc(b, '}');
}

static void put_document(const struct ar_ecs_event *x, struct ar_buf *b)
{
    const struct ar_normalized *s = x->sum;
    const struct ar_norm *norm = s->norm, *extra = s->syscall_norm;
    if (extra == norm)
        extra = NULL;
    bool first = true;
    ar_buf_putc(b, '{');
    key(b, &first, "@timestamp");
    if (x->timestamp)
        cstr(b, x->timestamp);
    else
        AR_BUF_LIT(b, "null");
    key(b, &first, "ecs");
    AR_BUF_LIT(b, "{\"version\":\"8.0.0\"}");
    key(b, &first, "event");
    ar_buf_putc(b, '{');
    bool fe = true;
    key(b, &fe, "kind");
    cstr(b, norm && norm->ecs_kind ? norm->ecs_kind : "event");
    key(b, &fe, "module");
    AR_BUF_LIT(b, "\"auditd\"");
    /* A record type's row and its syscall's row both apply: categories and types of
     * both, in that order (go-libaudit's merge). */
    for (int which = 0; which < 2; which++) {
        const char *a = norm ? (which ? norm->ecs_type : norm->ecs_category) : NULL;
        const char *c = extra ? (which ? extra->ecs_type : extra->ecs_category) : NULL;
        if (!a && !c)
            continue;
        key(b, &fe, which ? "type" : "category");
        ar_buf_putc(b, '[');
        bool comma = false;
        words(b, &comma, a);
        words(b, &comma, c);
        ar_buf_putc(b, ']');
    }
    if (norm && norm->action) {
        key(b, &fe, "action");
        cstr(b, norm->action);
    }
    key(b, &fe, "outcome");
    cstr(b, !s->result || strcmp(s->result, "unknown") == 0 ? "unknown"
            : strcmp(s->result, "fail") == 0              ? "failure"
                                                           : "success");
    ar_buf_putc(b, '}');
    if (x->ev->node_len) {
        key(b, &first, "host");
        AR_BUF_LIT(b, "{\"name\":");
        struct ar_span node = ar_event_node(x->ev);
        ar_json_string(b, node.p, node.len, AR_JSON_ESCAPE_MINIMAL);
        ar_buf_putc(b, '}');
    }
    put_user(x, b, &first);
    put_process(x, b, &first);
    put_cgroup(x, b, &first);
    put_file(x, b, &first);
    put_addresses(x, b, &first);
    if (x->key) {
        /* Auditbeat's tags: always an array of the rule's keys. */
        const unsigned char *p;
        size_t len;
        key(b, &first, "tags");
        if (ar_encoder_decode_hex(x->e, x->key, &p, &len)) {
            ar_jv_list(x->e, b, p, len, 0x01);
        } else {
            ar_buf_putc(b, '[');
            ar_jv_str(b, x->key->value);
            ar_buf_putc(b, ']');
        }
    }
    put_auditd(x, b, &first);
    AR_BUF_LIT(b, "}\n");
}

static int ecs_event(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *out)
{
    if (ar_encoder_tokenize(e, ev) < 0)
        return -ENOMEM;
    struct ar_summary s;
    ar_summary_gather(e, ev, &s);
    const struct ar_field *k = s.by_name[AR_FN_KEY];
    struct ar_ecs_event x = {
        .ev = ev,
        .timestamp = ev->has_time ? ar_encoder_timestamp(e, ev->sec, ev->msec) : NULL,
        .recs = e->norm_recs,
        .sum = s.norm,
        .text = ar_summary_text,
        .text_ctx = e,
        .ids = e->ids,
        .arch = s.norm->syscall ? ar_arch_name(s.norm->arch) : NULL,
        .e = e,
        .has_args = s.has_execve,
        .key = k && k->kind != AR_VAL_NULL ? k : NULL,
    };
    put_document(&x, out);
    return 0;
}

/* Loss reports keep our schema's AUDITRELAY_LOST event: ECS has no such event. */
const struct ar_format_ops ar_format_ecs = {
    .name = "ecs",
    .event = ecs_event,
    .loss = ar_json_loss,
    .process = true, /* process.start and .parent, container, kubernetes, systemd */
};
