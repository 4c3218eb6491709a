/* The event's summary in our schema: the few normalized members a reader wants at
 * a glance (what happened, to what, by whom, with which result), picked from the
 * records once they are tokenized. */
#include "encode/summary.h"

#include <libaudit.h> /* message type ranges; header only, never linked */
#include <stdlib.h>

#include "encode/jsonvalue.h"
#include "audit/tables.h"

#define MAX_ARGS (1u << 20)

/* Collects the EXECVE arguments of the event into e->argv: aN values, and long
 * arguments split into aN_len / aN[i] chunks, across several records. */
static void gather_argv(struct ar_encoder *e, const struct ar_event *ev, struct ar_summary *s)
{
    e->argv.bytes.len = 0;
    size_t nslots = 0;
    for (uint32_t r = 0; r < ev->nrecords; r++) {
        if (ev->records[r].type != AUDIT_EXECVE)
            continue;
        const struct ar_rec_tokens *rt = &e->recs[r];
        for (uint32_t i = 0; i < rt->n; i++) {
            const struct ar_field *f = &e->fields[rt->first + i];
            struct ar_span k = f->key;
            if (e->info[rt->first + i].name == AR_FN_ARGC) {
                ar_field_u64(f, &s->argc);
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
                if (n >= e->argv.cap) {
                    size_t cap = e->argv.cap ? e->argv.cap : 64;
                    while (cap <= n)
                        cap *= 2;
                    struct ar_argv_slot *ns = realloc(e->argv.slots, cap * sizeof(*ns));
                    if (!ns)
                        return;
                    e->argv.slots = ns;
                    e->argv.cap = cap;
                }
                for (size_t x = nslots; x <= n; x++)
                    e->argv.slots[x] = (struct ar_argv_slot){0};
                nslots = n + 1;
            }
            struct ar_argv_slot *slot = &e->argv.slots[n];
            const unsigned char *p = (const unsigned char *)f->value.p;
            size_t len = f->value.len;
            const unsigned char *dp;
            size_t dlen;
            if (ar_encoder_decode_hex(e, f, &dp, &dlen)) {
                p = dp;
                len = dlen;
            }
            if (!slot->present) {
                slot->present = true;
                slot->off = (uint32_t)e->argv.bytes.len;
                slot->len = 0;
            } else if (slot->off + slot->len != e->argv.bytes.len) {
                /* Chunks of one argument arrive together; if not, keep what came first. */
                continue;
            }
            ar_buf_put(&e->argv.bytes, (const char *)p, len);
            slot->len += (uint32_t)len;
        }
    }
    s->has_execve = nslots > 0 || s->argc > 0;
    e->argv.n = nslots;
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

/* ---- the normalized summary (enrich/normalize.h) ---- */

bool ar_summary_text(void *ctx, const struct ar_field *f, struct ar_text *ret)
{
    struct ar_encoder *e = ctx;
    if (f->kind == AR_VAL_NULL || f->kind == AR_VAL_NESTED || f->kind == AR_VAL_BARE)
        return false;
    enum ar_field_class cls = e->info[f - e->fields].cls;
    const unsigned char *p;
    size_t len;
    if ((cls == AR_FC_ESCAPED || cls == AR_FC_SADDR || cls == AR_FC_PROCTITLE) &&
        ar_encoder_decode_hex(e, f, &p, &len)) {
        *ret = (struct ar_text){(const char *)p, len};
        return true;
    }
    *ret = (struct ar_text){f->value.p, f->value.len};
    return true;
}

/* The event's syscall name: the SYSCALL record's, or a lone record's own syscall
 * field (SECCOMP, ANOM_ABEND), each on its record's arch. */
static const char *event_syscall(struct ar_encoder *e, const struct ar_event *ev,
                                 const struct ar_summary *s, uint32_t *ret_arch)
{
    const struct ar_field *f = s->by_name[AR_FN_SYSCALL];
    uint32_t arch = s->arch;
    if (!f && ev->nrecords) {
        const struct ar_rec_tokens *rt = &e->recs[0];
        for (uint32_t i = rt->first; i < rt->first + rt->n && !f; i++)
            if (e->info[i].name == AR_FN_SYSCALL)
                f = &e->fields[i];
        if (rt->arch)
            arch = rt->arch;
    }
    uint64_t nr;
    *ret_arch = arch;
    if (!ar_field_u64(f, &nr) || nr > UINT32_MAX)
        return NULL;
    return ar_syscall_name(arch, (uint32_t)nr);
}

static void normalize_event(struct ar_encoder *e, const struct ar_event *ev, const struct ar_summary *s)
{
    uint32_t arch;
    const char *syscall = event_syscall(e, ev, s, &arch);
    ar_normalize(e->norm_recs, ev->nrecords, syscall, arch, ar_summary_text, e, e->norm);
}

static void put_text(struct ar_encoder *e, struct ar_buf *b, bool *first, struct ar_jv_name key,
                     struct ar_text t)
{
    if (!t.len)
        return;
    ar_jv_name(b, first, key);
    ar_jv_bytes(e, b, first, ar_jv_name_span(key), (const unsigned char *)t.p, t.len);
}

/* "KEY_name": the user name of an id written as text, when it has one. */
static void put_id_name(struct ar_encoder *e, struct ar_buf *b, bool *first,
                        struct ar_jv_name key, enum ar_id_kind kind, struct ar_span id_text)
{
    uint64_t id;
    if (!e->ids || !ar_span_to_u64(id_text, &id) || id >= UINT32_MAX)
        return;
    const char *name = ar_idcache_name(e->ids, kind, (uint32_t)id);
    if (!name)
        return;
    ar_jv_name(b, first, key);
    ar_jv_cstr(b, name);
}

/* The file the event is about, with what happened to it and its mode and owner from
 * its PATH record. */
static void put_file(struct ar_encoder *e, struct ar_buf *b, bool *first)
{
    const struct ar_normalized *n = e->norm;
    const char *change = ar_file_change_name(n->change);
    if (n->file < 0 && !change)
        return;
    AR_JV_KEY(b, first, "file");
    ar_buf_putc(b, '{');
    bool f = true;
    if (change) {
        AR_JV_KEY(b, &f, "change");
        ar_jv_cstr(b, change);
    }
    if (n->file >= 0) {
        const struct ar_norm_path *p = &n->paths[n->file];
        put_text(e, b, &f, AR_JV_NAME("path"), p->path);
        if (n->change_from >= 0)
            put_text(e, b, &f, AR_JV_NAME("from"), n->paths[n->change_from].path);
        uint64_t v;
        if (p->has_mode) {
            const char *type = ar_file_type_of_mode(p->mode_value);
            if (type) {
                AR_JV_KEY(b, &f, "type");
                ar_jv_cstr(b, type);
            }
            char tmp[8];
            ar_file_mode_text(p->mode_value, tmp);
            AR_JV_KEY(b, &f, "mode");
            ar_buf_putc(b, '"');
            ar_buf_put(b, tmp, 4);
            ar_buf_putc(b, '"');
        }
        if (ar_field_u64(p->ouid, &v)) {
            AR_JV_KEY(b, &f, "uid");
            ar_buf_u64(b, v);
            put_id_name(e, b, &f, AR_JV_NAME("owner"), AR_ID_USER, p->ouid->value);
        }
        if (ar_field_u64(p->ogid, &v)) {
            AR_JV_KEY(b, &f, "gid");
            ar_buf_u64(b, v);
            put_id_name(e, b, &f, AR_JV_NAME("group"), AR_ID_GROUP, p->ogid->value);
        }
        if (ar_field_u64(p->inode, &v)) {
            AR_JV_KEY(b, &f, "inode");
            ar_buf_u64(b, v);
        }
        if (p->dev && p->dev->kind == AR_VAL_PLAIN) {
            AR_JV_KEY(b, &f, "dev");
            ar_jv_str(b, p->dev->value);
        }
    }
    ar_buf_putc(b, '}');
}

/* "summary": aucoalesce's actor / action / object / how, and the file. */
static void put_normalized(struct ar_encoder *e, struct ar_buf *b, bool *first)
{
    const struct ar_normalized *n = e->norm;
    AR_JV_KEY(b, first, "summary");
    ar_buf_putc(b, '{');
    bool f = true;
    if (n->actor_primary.len || n->actor_secondary.len) {
        AR_JV_KEY(b, &f, "actor");
        ar_buf_putc(b, '{');
        bool fa = true;
        put_text(e, b, &fa, AR_JV_NAME("primary"), n->actor_primary);
        put_id_name(e, b, &fa, AR_JV_NAME("primary_name"), AR_ID_USER,
                    (struct ar_span){n->actor_primary.p, n->actor_primary.len});
        put_text(e, b, &fa, AR_JV_NAME("secondary"), n->actor_secondary);
        put_id_name(e, b, &fa, AR_JV_NAME("secondary_name"), AR_ID_USER,
                    (struct ar_span){n->actor_secondary.p, n->actor_secondary.len});
        ar_buf_putc(b, '}');
    }
    if (n->norm && n->norm->action) {
        AR_JV_KEY(b, &f, "action");
        ar_jv_cstr(b, n->norm->action);
    }
    if (n->object_type || n->object_primary.len || n->object_secondary.len) {
        AR_JV_KEY(b, &f, "object");
        ar_buf_putc(b, '{');
        bool fo = true;
        if (n->object_type) {
            AR_JV_KEY(b, &fo, "type");
            ar_jv_cstr(b, n->object_type);
        }
        put_text(e, b, &fo, AR_JV_NAME("primary"), n->object_primary);
        put_text(e, b, &fo, AR_JV_NAME("secondary"), n->object_secondary);
        ar_buf_putc(b, '}');
    }
    put_text(e, b, &f, AR_JV_NAME("how"), n->how);
    put_file(e, b, &f);
    ar_buf_putc(b, '}');
}

/* Full paths of the PATH items in order; PARENT items only when there is nothing
 * else (the directory is in the child's full path). */
static void put_paths(struct ar_encoder *e, struct ar_buf *b, bool *first)
{
    const struct ar_normalized *n = e->norm;
    if (!n->npaths)
        return;
    bool children = false;
    for (uint32_t i = 0; i < n->npaths && !children; i++)
        children = !n->paths[i].parent;
    AR_JV_KEY(b, first, "paths");
    ar_buf_putc(b, '[');
    bool comma = false;
    for (uint32_t i = 0; i < n->npaths; i++) {
        const struct ar_norm_path *p = &n->paths[i];
        if (children && p->parent)
            continue;
        if (comma)
            ar_buf_putc(b, ',');
        comma = true;
        bool dummy = false;
        if (!p->path.len)
            AR_BUF_LIT(b, "null");
        else
            ar_jv_bytes(e, b, &dummy, (struct ar_span){0}, (const unsigned char *)p->path.p,
                      p->path.len);
    }
    ar_buf_putc(b, ']');
}

void ar_summary_gather(struct ar_encoder *e, const struct ar_event *ev, struct ar_summary *s)
{
    memset(s, 0, sizeof(*s));
    s->arch = e->cfg.native_arch;
    s->syscall_rec = UINT32_MAX;
    for (uint32_t r = 0; r < ev->nrecords; r++) {
        const struct ar_rec_tokens *rt = &e->recs[r];
        uint32_t type = ev->records[r].type;
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
            if (!s->by_name[name]) {
                s->by_name[name] = &e->fields[i];
            }
        }
    }
    gather_argv(e, ev, s);
    normalize_event(e, ev, s);
    s->norm = e->norm;
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

/* The name the record holding f gives it in its ENRICHED part, if any. */
static const struct ar_field *recorded_name(const struct ar_encoder *e, const struct ar_event *ev,
                                            const struct ar_field *f)
{
    uint32_t k = (uint32_t)(f - e->fields);
    for (uint32_t r = 0; r < ev->nrecords; r++) {
        const struct ar_rec_tokens *rt = &e->recs[r];
        if (k >= rt->first && k < rt->first + rt->n)
            return rt->enr_n ? ar_enc_enriched_for(e, rt, f->key) : NULL;
    }
    return NULL;
}

static void put_summary_id(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *b,
                           bool *first, struct ar_jv_name key, struct ar_jv_name name_key,
                           const struct ar_field *f)
{
    uint64_t id;
    if (!ar_field_u64(f, &id))
        return;
    ar_jv_name(b, first, key);
    /* The digits as written are the number as printed (ar_field_u64 read them). */
    if (!ar_json_decimal(b, f->value.p, f->value.len))
        ar_buf_u64(b, id); /* above INT64_MAX */
    /* The recording host's name first: this host's may be another user's. */
    const struct ar_field *enr = recorded_name(e, ev, f);
    if (enr) {
        ar_jv_name(b, first, name_key);
        ar_jv_str(b, enr->value);
        return;
    }
    const char *name = id <= UINT32_MAX && e->ids
                           ? ar_idcache_name(e->ids, AR_ID_USER, (uint32_t)id)
                           : (id == UINT32_MAX ? "unset" : NULL);
    if (name) {
        ar_jv_name(b, first, name_key);
        ar_jv_cstr(b, name);
    }
}

/* The member when f is an integer as ar_field_i64 reads it: ar_json_decimal takes
 * exactly those and copies their digits (a parse and a print cost 3x as much). */
static void put_summary_num(struct ar_buf *b, bool *first, struct ar_jv_name key,
                            const struct ar_field *f)
{
    if (!f || f->kind != AR_VAL_PLAIN)
        return;
    size_t mark = b->len;
    bool was_first = *first;
    ar_jv_name(b, first, key);
    if (!ar_json_decimal(b, f->value.p, f->value.len)) {
        b->len = mark;
        *first = was_first;
    }
}

static void put_summary_text(struct ar_encoder *e, struct ar_buf *b, bool *first,
                             struct ar_jv_name key, const struct ar_field *f)
{
    if (!f || f->kind == AR_VAL_NULL || f->kind == AR_VAL_BARE || f->kind == AR_VAL_NESTED)
        return;
    if (f->kind == AR_VAL_PLAIN && (AR_SPAN_IS(f->value, "?") || AR_SPAN_IS(f->value, "(none)")))
        return;
    struct ar_span k = ar_jv_name_span(key);
    ar_jv_name(b, first, key);
    /* Only untrusted strings are ever hex-encoded; a hostname like 8da7ccbba3a1 is not. */
    if (e->info[f - e->fields].cls == AR_FC_ESCAPED)
        ar_jv_text(e, b, first, k, f);
    else
        ar_jv_bytes(e, b, first, k, (const unsigned char *)f->value.p, f->value.len);
}

void ar_summary_argv(struct ar_encoder *e, struct ar_buf *b)
{
    ar_buf_putc(b, '[');
    for (size_t i = 0; i < e->argv.n; i++) {
        if (i)
            ar_buf_putc(b, ',');
        const struct ar_argv_slot *slot = &e->argv.slots[i];
        if (!slot->present) {
            AR_BUF_LIT(b, "null");
            continue;
        }
        bool dummy = false;
        /* argv.bytes.p is NULL while every argument so far was empty. */
        const unsigned char *arg = e->argv.bytes.p
                                       ? (const unsigned char *)e->argv.bytes.p + slot->off
                                       : (const unsigned char *)"";
        ar_jv_bytes(e, b, &dummy, (struct ar_span){0}, arg, slot->len);
    }
    ar_buf_putc(b, ']');
}

/* "success", from the event's success= or res=; false when neither says. */
static bool summary_success(const struct ar_summary *s, bool *ret_known)
{
    const struct ar_field *succ = s->by_name[AR_FN_SUCCESS], *res = s->by_name[AR_FN_RES];
    if (succ && (succ->kind == AR_VAL_PLAIN || succ->kind == AR_VAL_QUOTED) &&
        (AR_SPAN_IS(succ->value, "yes") || AR_SPAN_IS(succ->value, "no"))) {
        *ret_known = true;
        return AR_SPAN_IS(succ->value, "yes");
    }
    *ret_known = res != NULL;
    return res && (AR_SPAN_IS(res->value, "success") || AR_SPAN_IS(res->value, "1") ||
                   AR_SPAN_IS(res->value, "yes"));
}

void ar_summary_put_exit(struct ar_buf *b, bool *first, const struct ar_field *exit, bool success)
{
    int64_t exit_code;
    if (!ar_field_i64(exit, &exit_code))
        return;
    AR_JV_KEY(b, first, "exit");
    ar_json_decimal(b, exit->value.p, exit->value.len);
    const char *err = exit_code < 0 && exit_code >= -4095 ? ar_errno_name((int)-exit_code) : NULL;
    if (err && !success) {
        AR_JV_KEY(b, first, "errno");
        ar_jv_cstr(b, err);
    }
}

void ar_summary_put_pids(struct ar_buf *b, bool *first, const struct ar_field *pid,
                         const struct ar_field *ppid)
{
    put_summary_num(b, first, AR_JV_NAME("pid"), pid);
    put_summary_num(b, first, AR_JV_NAME("ppid"), ppid);
}

void ar_summary_json(struct ar_encoder *e, const struct ar_event *ev, const struct ar_summary *s,
                     struct ar_buf *b, bool *first, struct ar_summary_layout *layout)
{
    uint32_t first_type = ev->nrecords ? ev->records[0].type : 0;
    AR_JV_KEY(b, first, "type");
    ar_jv_type(b, s->syscall_rec != UINT32_MAX ? AUDIT_SYSCALL : first_type);
    AR_JV_KEY(b, first, "category");
    ar_jv_cstr(b, category_of(first_type, s->syscall_rec != UINT32_MAX));
    if (s->syscall_rec != UINT32_MAX) {
        const char *arch = ar_arch_name(s->arch);
        if (arch) {
            AR_JV_KEY(b, first, "arch");
            ar_jv_cstr(b, arch);
        }
        uint64_t nr;
        if (ar_field_u64(s->by_name[AR_FN_SYSCALL], &nr)) {
            const char *name = nr <= UINT32_MAX ? ar_syscall_name(s->arch, (uint32_t)nr) : NULL;
            AR_JV_KEY(b, first, "syscall");
            /* Always a string: the number as text when this arch has no table. */
            if (name) {
                ar_jv_cstr(b, name);
            } else {
                ar_buf_putc(b, '"');
                ar_buf_u64(b, nr);
                ar_buf_putc(b, '"');
            }
        }
    }
    bool success_known, success = summary_success(s, &success_known);
    if (success_known) {
        AR_JV_KEY(b, first, "success");
        if (success)
            AR_BUF_LIT(b, "true");
        else
            AR_BUF_LIT(b, "false");
    }
    if (layout) {
        layout->success = success;
        layout->exit_at = b->len;
    }
    ar_summary_put_exit(b, first, s->by_name[AR_FN_EXIT], success);
    if (layout)
        layout->exit_end = b->len;
    if (s->by_name[AR_FN_KEY] && s->by_name[AR_FN_KEY]->kind != AR_VAL_NULL) {
        const unsigned char *p;
        size_t len;
        AR_JV_KEY(b, first, "key");
        if (ar_encoder_decode_hex(e, s->by_name[AR_FN_KEY], &p, &len))
            ar_jv_list(e, b, p, len, 0x01);
        else
            ar_jv_str(b, s->by_name[AR_FN_KEY]->value);
    }
    put_normalized(e, b, first);
    if (layout)
        layout->pids_at = b->len;
    ar_summary_put_pids(b, first, s->by_name[AR_FN_PID], s->by_name[AR_FN_PPID]);
    if (layout)
        layout->pids_end = b->len;
    put_summary_text(e, b, first, AR_JV_NAME("exe"), s->by_name[AR_FN_EXE]);
    put_summary_text(e, b, first, AR_JV_NAME("comm"), s->by_name[AR_FN_COMM]);
    put_summary_id(e, ev, b, first, AR_JV_NAME("uid"), AR_JV_NAME("user"), s->by_name[AR_FN_UID]);
    put_summary_id(e, ev, b, first, AR_JV_NAME("auid"), AR_JV_NAME("login_user"), s->by_name[AR_FN_AUID]);
    put_summary_num(b, first, AR_JV_NAME("ses"), s->by_name[AR_FN_SES]);
    put_summary_text(e, b, first, AR_JV_NAME("tty"), s->by_name[AR_FN_TTY]);
    put_summary_text(e, b, first, AR_JV_NAME("op"), s->by_name[AR_FN_OP]);
    put_summary_text(e, b, first, AR_JV_NAME("acct"), s->by_name[AR_FN_ACCT]);
    put_summary_text(e, b, first, AR_JV_NAME("hostname"), s->by_name[AR_FN_HOSTNAME]);
    put_summary_text(e, b, first, AR_JV_NAME("addr"), s->by_name[AR_FN_ADDR]);
    put_summary_text(e, b, first, AR_JV_NAME("terminal"), s->by_name[AR_FN_TERMINAL]);
    put_summary_text(e, b, first, AR_JV_NAME("cwd"), s->by_name[AR_FN_CWD]);
    put_paths(e, b, first);
    if (s->by_name[AR_FN_SADDR]) {
        const unsigned char *p;
        size_t len;
        if (ar_encoder_decode_hex(e, s->by_name[AR_FN_SADDR], &p, &len)) {
            AR_JV_KEY(b, first, "sockaddr");
            ar_jv_sockaddr(e, b, s->by_name[AR_FN_SADDR], s->arch);
        }
    }
    if (s->has_execve) {
        AR_JV_KEY(b, first, "argv");
        ar_summary_argv(e, b);
    }
    if (s->by_name[AR_FN_PROCTITLE]) {
        AR_JV_KEY(b, first, "proctitle");
        ar_jv_proctitle(e, b, s->by_name[AR_FN_PROCTITLE]);
    }
}
