/* struct audit_rule_data back to auditctl syntax, exactly as `auditctl -l` (3.0.9,
 * src/auditctl-listing.c) prints it, so that `auditrelay rules list` can replace it
 * in scripts and tests that compare listings. The quirks are auditctl's: watches are
 * recognized by shape (only path/dir, perm and key fields and all syscalls), uids
 * print signed (auid!=-1), a0..a3 in upper-case hex, file types as numbers. */
#include "rules/rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/tables.h"
#include "rules/ruletab.h"

/* Fields whose value is the length of a string in buf (the kernel's list in
 * audit_krule_to_data). */

int ar_rules_check_data(const struct audit_rule_data *rule, size_t size)
{
    if (size < sizeof(*rule) || rule->field_count > AUDIT_MAX_FIELDS ||
        rule->buflen > size - sizeof(*rule))
        return -EBADMSG;
    uint64_t used = 0;
    for (uint32_t i = 0; i < rule->field_count; i++)
        if (ar_rules_field_is_string(rule->fields[i] & ~AUDIT_OPERATORS))
            used += rule->values[i];
    return used <= rule->buflen ? 0 : -EBADMSG;
}

bool ar_rules_same(const struct audit_rule_data *a, size_t a_size, const struct audit_rule_data *b,
                   size_t b_size)
{
    if (a_size < sizeof(*a) || b_size < sizeof(*b))
        return false;
    if ((a->flags & ~(uint32_t)AUDIT_FILTER_PREPEND) !=
            (b->flags & ~(uint32_t)AUDIT_FILTER_PREPEND) ||
        a->action != b->action || a->field_count != b->field_count || a->buflen != b->buflen ||
        a->field_count > AUDIT_MAX_FIELDS || a->buflen > a_size - sizeof(*a) ||
        b->buflen > b_size - sizeof(*b))
        return false;
    for (uint32_t i = 0; i < a->field_count; i++)
        if (a->fields[i] != b->fields[i] || a->fieldflags[i] != b->fieldflags[i] ||
            a->values[i] != b->values[i])
            return false;
    return memcmp(a->mask, b->mask, sizeof(a->mask)) == 0 && memcmp(a->buf, b->buf, a->buflen) == 0;
}

bool ar_rules_key_matches(const struct audit_rule_data *rule, size_t size, const char *key)
{
    if (ar_rules_check_data(rule, size) < 0)
        return false;
    if (!key || !*key)
        return true;
    size_t off = 0, klen = strlen(key);
    for (uint32_t i = 0; i < rule->field_count; i++) {
        uint32_t field = rule->fields[i] & ~AUDIT_OPERATORS;
        if (!ar_rules_field_is_string(field))
            continue;
        uint32_t len = rule->values[i];
        if (field == AUDIT_FILTERKEY && len >= klen) {
            /* A substring anywhere in the stored keys, as auditctl's strstr. */
            for (size_t j = 0; j + klen <= len; j++)
                if (memcmp(rule->buf + off + j, key, klen) == 0)
                    return true;
        }
        off += len;
    }
    return false;
}

/* A growing output line. */
struct out {
    char *p;
    size_t len, cap;
    bool oom;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
put(struct out *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n + 1;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->oom = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

static const char *op_symbol(uint32_t flags)
{
    const struct ar_opdef *op = ar_op_by_flag(flags & AUDIT_OPERATORS);
    return op ? op->symbol : "?";
}

static bool all_syscalls(const struct audit_rule_data *r)
{
    for (int i = 0; i < AUDIT_BITMASK_SIZE - 1; i++)
        if (r->mask[i] != ~0u)
            return false;
    return true;
}

static bool takes_no_syscalls(uint32_t list)
{
    return list == AUDIT_FILTER_USER || list == AUDIT_FILTER_TASK || list == AUDIT_FILTER_EXCLUDE ||
           list == AUDIT_FILTER_FS;
}

/* auditctl's is_watch: only path/dir, perm and key fields, a perm field, and all
 * syscalls (for lists that have syscalls). */
static bool is_watch(const struct audit_rule_data *r)
{
    bool perm = false;
    for (uint32_t i = 0; i < r->field_count; i++) {
        uint32_t field = r->fields[i] & ~AUDIT_OPERATORS;
        if (field == AUDIT_PERM)
            perm = true;
        if (field != AUDIT_PERM && field != AUDIT_FILTERKEY && field != AUDIT_DIR &&
            field != AUDIT_WATCH)
            return false;
    }
    uint32_t list = AR_RULE_LIST(r->flags);
    if (!takes_no_syscalls(list) && !all_syscalls(r))
        return false;
    return perm;
}

static void put_syscalls(struct out *o, const struct audit_rule_data *r, uint32_t names_arch)
{
    uint32_t list = AR_RULE_LIST(r->flags);
    if (takes_no_syscalls(list))
        return;
    if (all_syscalls(r)) {
        put(o, " -S all");
        return;
    }
    int count = 0;
    for (uint32_t nr = 0; nr < AUDIT_BITMASK_SIZE * 32; nr++) {
        if (!(r->mask[AUDIT_WORD(nr)] & AUDIT_BIT(nr)))
            continue;
        const char *name = list == AUDIT_FILTER_URING_EXIT ? ar_uringop_name(nr)
                           : names_arch                    ? ar_syscall_print_name(names_arch, nr)
                                                           : NULL;
        if (!count)
            put(o, " -S ");
        if (name)
            put(o, "%s%s", count ? "," : "", name);
        else
            put(o, "%s%u", count ? "," : "", nr);
        count++;
    }
}

static void put_perm(struct out *o, uint32_t val, bool watch)
{
    char perms[5];
    size_t n = 0;
    if (val & AUDIT_PERM_READ)
        perms[n++] = 'r';
    if (val & AUDIT_PERM_WRITE)
        perms[n++] = 'w';
    if (val & AUDIT_PERM_EXEC)
        perms[n++] = 'x';
    if (val & AUDIT_PERM_ATTR)
        perms[n++] = 'a';
    perms[n] = 0;
    put(o, watch ? " -p %s" : " -F perm=%s", perms);
}

static void put_keys(struct out *o, const char *s, uint32_t len, bool watch)
{
    /* Keys are joined with 0x01; empty pieces are skipped, as strtok does. */
    uint32_t start = 0;
    for (uint32_t i = 0; i <= len; i++) {
        if (i < len && s[i] != 0x01)
            continue;
        if (i > start)
            put(o, watch ? " -k %.*s" : " -F key=%.*s", (int)(i - start), s + start);
        start = i + 1;
    }
}

int ar_rules_format(const struct audit_rule_data *r, size_t size, uint32_t machine, char **ret)
{
    if (ar_rules_check_data(r, size) < 0)
        return -EBADMSG;
    if (!machine)
        machine = ar_rules_build_machine();
    struct out o = {.p = malloc(256), .cap = 256};
    if (!o.p)
        return -ENOMEM;
    o.p[0] = 0;
    bool watch = is_watch(r);
    uint32_t names_arch = machine;
    if (!watch) {
        uint32_t list = AR_RULE_LIST(r->flags);
        const struct ar_listdef *ld = ar_list_by_nr(list);
        const char *action = r->action == AUDIT_NEVER      ? "never"
                             : r->action == AUDIT_POSSIBLE ? "possible"
                             : r->action == AUDIT_ALWAYS   ? "always"
                                                           : "(null)";
        put(&o, "-a %s,%s", action, ld ? ld->name : "(null)");
        for (uint32_t i = 0; i < r->field_count; i++) {
            if ((r->fields[i] & ~AUDIT_OPERATORS) != AUDIT_ARCH)
                continue;
            uint32_t v = r->values[i];
            if (ar_arch_known_to_auditctl(v)) {
                put(&o, " -F arch%s%s", op_symbol(r->fieldflags[i]),
                    (v & __AUDIT_ARCH_64BIT) ? "b64" : "b32");
                names_arch = v;
            } else {
                put(&o, " -F arch%s0x%X", op_symbol(r->fieldflags[i]), v);
                names_arch = 0;
            }
        }
        put_syscalls(&o, r, names_arch);
    }
    size_t off = 0;
    for (uint32_t i = 0; i < r->field_count; i++) {
        uint32_t field = r->fields[i] & ~AUDIT_OPERATORS;
        uint32_t v = r->values[i];
        const char *sym = op_symbol(r->fieldflags[i]);
        if (field == AUDIT_ARCH)
            continue;
        const struct ar_fielddef *fd = ar_field_by_id(field);
        const char *str = ar_rules_field_is_string(field) ? r->buf + off : NULL;
        if (str)
            off += v;
        if (!fd) {
            put(&o, " f%d%s%d", (int)r->fields[i], sym, (int)v);
            continue;
        }
        switch (field) {
        case AUDIT_MSGTYPE: {
            const char *name = ar_rectype_name(v);
            if (name)
                put(&o, " -F %s%s%s", fd->name, sym, name);
            else
                put(&o, " -F %s%s%d", fd->name, sym, (int)v);
            break;
        }
        case AUDIT_WATCH:
            put(&o, watch ? "-w %.*s" : " -F path=%.*s", (int)v, str);
            break;
        case AUDIT_DIR:
            put(&o, watch ? "-w %.*s" : " -F dir=%.*s", (int)v, str);
            break;
        case AUDIT_EXE:
            put(&o, " -F exe=%.*s", (int)v, str);
            break;
        case AUDIT_FILTERKEY:
            put_keys(&o, str, v, watch);
            break;
        case AUDIT_PERM:
            put_perm(&o, v, watch);
            break;
        case AUDIT_INODE:
            put(&o, " -F %s%s%u", fd->name, sym, v);
            break;
        case AUDIT_FIELD_COMPARE: {
            const struct ar_comparedef *c = ar_compare_by_value(v);
            if (c)
                put(&o, " -C %s%s%s", c->left_name, sym, c->right_name);
            break;
        }
        case AUDIT_ARG0:
        case AUDIT_ARG1:
        case AUDIT_ARG2:
        case AUDIT_ARG3:
            put(&o, " -F %s%s0x%X", fd->name, sym, v);
            break;
        case AUDIT_EXIT: {
            int e = (int)v;
            const char *name = e < 0 && e != INT32_MIN ? ar_errno_name(-e) : NULL;
            if (name)
                put(&o, " -F %s%s-%s", fd->name, sym, name);
            else
                put(&o, " -F %s%s%d", fd->name, sym, e);
            break;
        }
        case AUDIT_FSTYPE: {
            const char *name = ar_fstype_name(v);
            if (name)
                put(&o, " -F %s%s%s", fd->name, sym, name);
            else
                put(&o, " -F %s%s%d", fd->name, sym, (int)v);
            break;
        }
        default:
            if (str)
                put(&o, " -F %s%s%.*s", fd->name, sym, (int)v, str);
            else
                put(&o, " -F %s%s%d", fd->name, sym, (int)v);
            break;
        }
    }
    if (o.oom) {
        free(o.p);
        return -ENOMEM;
    }
    if (o.len > INT32_MAX) {
        free(o.p);
        return -EOVERFLOW;
    }
    *ret = o.p;
    return (int)o.len;
}
