/* auditctl syntax to struct audit_rule_data.
 *
 * The reference is auditctl 3.0.9 (Debian bookworm's): how `auditctl -R` splits a
 * line, the order-dependent checks of its option loop (src/auditctl.c setopt) and
 * libaudit's field parser (audit_rule_fieldpair_data). On top of those, the checks
 * the kernel makes when it receives a rule (kernel/auditfilter.c) are made here, so
 * that `rules check` finds at file:line what the kernel would refuse later with a
 * bare EINVAL. Where auditctl silently accepts garbage ("uid=1abc" is uid 1, a
 * number too big for 32 bits is truncated), this compiler refuses it; docs/RULES.md
 * lists every such difference. */
#include "rules/rules.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "audit/tables.h"
#include "rules/ruletab.h"
#include "util/span.h"

/* auditctl reads a rule file with fgets into 6144 bytes: a longer line is cut into
 * pieces that it then parses as separate lines. Refusing is the honest reading. */
#define LINE_MAX_BYTES 6143
/* The kernel refuses strings longer than PATH_MAX (audit_unpack_string). */
#define STRING_MAX 4096
/* The kernel's class bits: the top AUDIT_SYSCALL_CLASSES bits of the syscall mask
 * select syscall classes, which the kernel expands and clears. */
#define SYSCALL_CLASS_FIRST (AUDIT_BITMASK_SIZE * 32 - 16)
/* A line splits into at most this many words (each is at least one byte and a
 * space). */
#define MAX_WORDS (LINE_MAX_BYTES / 2 + 2)

struct strvec {
    char **v;
    size_t n, cap;
};

struct ar_rules {
    struct ar_rules_env env;
    uint32_t machine;
    struct ar_rules_op *ops;
    size_t nops, opscap;
    struct ar_rules_diag *diags;
    size_t ndiags, diagscap;
    size_t errors;
    struct strvec strings; /* every string the set owns */
    /* Rules the file set leaves in the kernel so far, to find duplicates (which the
     * kernel refuses with EEXIST): an open-addressing table of op indices. */
    size_t *live;
    size_t livecap, livecount, livetomb;
};

#define LIVE_EMPTY ((size_t)-1)
#define LIVE_TOMB ((size_t)-2)

/* The state of one command line, as auditctl's option loop keeps it. */
struct line {
    struct ar_rules *set;
    const char *file;
    unsigned lineno;
    bool failed;  /* an error was reported: nothing from this line is emitted */
    bool ignored; /* the line is deliberately skipped (deprecated "possible") */
    bool stop;    /* an option that ends the line (-D, -t...) was handled */
    /* Rule under construction. */
    int list;   /* AUDIT_FILTER_*, -1 before -a/-A/-d/-w/-W */
    int action; /* AUDIT_NEVER/AUDIT_ALWAYS, -1 unset */
    bool is_delete, prepend, from_watch;
    int rule_ops; /* -a/-A/-d seen */
    bool syscall_added, perm_added, exe_added, fstype_added, mask_set;
    uint32_t elf; /* arch that -S names resolve against; 0 before -F arch / -S */
    bool arch_given;
    struct audit_rule_data *r; /* fixed part; strings collect in buf */
    char *buf;
    size_t buflen, bufcap;
    bool has_watch_or_tree_or_inode, has_exe, has_key_field;
    char key[AUDIT_MAX_KEY_LEN + 1];
    size_t keylen;
    bool key_given;
    /* -S names given before any -F arch, to warn about 32/64-bit mismatches. */
    struct strvec syscall_names;
    /* Options of this line that become operations before the rule (in order). */
    struct ar_rules_op pending[16];
    size_t npending;
    bool ignore_errors, continue_errors; /* -i / -c seen in this text so far */
};

/* ---- small helpers ---------------------------------------------------------- */

static char *keep_string(struct ar_rules *set, const char *s, size_t len)
{
    if (set->strings.n == set->strings.cap) {
        size_t cap = set->strings.cap ? set->strings.cap * 2 : 64;
        char **v = realloc(set->strings.v, cap * sizeof(*v));
        if (!v)
            return NULL;
        set->strings.v = v;
        set->strings.cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = 0;
    set->strings.v[set->strings.n++] = copy;
    return copy;
}

static int add_diag_v(struct ar_rules *set, enum ar_rules_severity sev, const char *file,
                      unsigned lineno, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (set->ndiags == set->diagscap) {
        size_t cap = set->diagscap ? set->diagscap * 2 : 16;
        struct ar_rules_diag *d = realloc(set->diags, cap * sizeof(*d));
        if (!d)
            return -ENOMEM;
        set->diags = d;
        set->diagscap = cap;
    }
    const char *m = keep_string(set, msg, strlen(msg));
    if (!m)
        return -ENOMEM;
    set->diags[set->ndiags++] = (struct ar_rules_diag){sev, {file, lineno}, m};
    if (sev == AR_RULES_ERROR)
        set->errors++;
    return 0;
}

/* Reports an error for the line and marks it failed; later errors of the same line
 * are not reported (auditctl stops at the first one, and so does the reader). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
line_error(struct line *l, const char *fmt, ...)
{
    if (l->failed)
        return;
    l->failed = true;
    va_list ap;
    va_start(ap, fmt);
    add_diag_v(l->set, AR_RULES_ERROR, l->file, l->lineno, fmt, ap);
    va_end(ap);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
line_warning(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_diag_v(l->set, AR_RULES_WARNING, l->file, l->lineno, fmt, ap);
    va_end(ap);
}

/* Copies at most `max` bytes of s for a message, marking a cut with "...". */
static const char *shown(const char *s, char *buf, size_t size)
{
    size_t len = strlen(s);
    if (len < size) {
        memcpy(buf, s, len + 1);
    } else {
        memcpy(buf, s, size - 4);
        memcpy(buf + size - 4, "...", 4);
    }
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return buf;
}

/* An unsigned number as strtoul(s, NULL, 0) reads it (decimal, 0x hex, 0 octal),
 * but the whole text, starting with a digit, and at most `max`. */
static bool parse_unsigned(const char *s, uint64_t max, uint64_t *ret)
{
    if (!isdigit((unsigned char)s[0]))
        return false;
    uint64_t base = 10, v = 0;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
        if (!*p)
            return false;
    } else if (p[0] == '0' && p[1]) {
        base = 8;
        p++;
    }
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return false;
        if (d >= base || v > (max - d) / base)
            return false;
        v = v * base + d;
    }
    *ret = v;
    return true;
}

/* A 32-bit value written as an unsigned number or as "-number" (two's complement),
 * which is how auditctl takes uids, syscall arguments and exit codes. */
static bool parse_u32_or_negative(const char *s, uint32_t *ret)
{
    uint64_t v;
    if (s[0] == '-' && isdigit((unsigned char)s[1])) {
        if (!parse_unsigned(s + 1, (uint64_t)INT32_MAX + 1, &v))
            return false;
        *ret = (uint32_t)(-(int64_t)v);
        return true;
    }
    if (!parse_unsigned(s, UINT32_MAX, &v))
        return false;
    *ret = (uint32_t)v;
    return true;
}

static bool parse_u32(const char *s, uint32_t *ret)
{
    uint64_t v;
    if (!parse_unsigned(s, UINT32_MAX, &v))
        return false;
    *ret = (uint32_t)v;
    return true;
}

static void upcase(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        buf[i] = (char)toupper((unsigned char)s[i]);
    buf[i] = 0;
}

static void downcase(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = 0;
}

static const char *arch_label(uint32_t arch, char *buf, size_t size)
{
    const char *name = ar_arch_name(arch);
    if (name)
        return name;
    snprintf(buf, size, "0x%08x", arch);
    return buf;
}

/* ---- the rule under construction ------------------------------------------- */

static void set_all_syscalls(struct audit_rule_data *r)
{
    for (int i = 0; i < AUDIT_BITMASK_SIZE; i++)
        r->mask[i] = ~0u;
    /* The kernel clears the class bits it expands (audit_to_entry_common), so a rule
     * for all syscalls comes back from the kernel with 0xffff in the last word. This
     * is the form it lists and compares; sending it is the same as sending ~0. */
    r->mask[AUDIT_BITMASK_SIZE - 1] = 0xffffu;
}

static int buf_append(struct line *l, const char *s, size_t len)
{
    if (l->buflen + len > l->bufcap) {
        size_t cap = l->bufcap ? l->bufcap : 256;
        while (cap < l->buflen + len)
            cap *= 2;
        char *b = realloc(l->buf, cap);
        if (!b)
            return -ENOMEM;
        l->buf = b;
        l->bufcap = cap;
    }
    memcpy(l->buf + l->buflen, s, len);
    l->buflen += len;
    return 0;
}

static bool room_for_field(struct line *l)
{
    if (l->r->field_count >= AUDIT_MAX_FIELDS) {
        line_error(l, "too many fields: a rule holds at most %d", AUDIT_MAX_FIELDS);
        return false;
    }
    return true;
}

static void push_field(struct line *l, uint32_t field, uint32_t op, uint32_t value)
{
    uint32_t i = l->r->field_count++;
    l->r->fields[i] = field;
    l->r->fieldflags[i] = op;
    l->r->values[i] = value;
}

static bool push_string_field(struct line *l, uint32_t field, uint32_t op, const char *s)
{
    size_t len = strlen(s);
    if (buf_append(l, s, len) < 0) {
        line_error(l, "out of memory");
        return false;
    }
    push_field(l, field, op, (uint32_t)len);
    return true;
}

static const char *list_name(int list)
{
    const struct ar_listdef *d = list >= 0 ? ar_list_by_nr((uint32_t)list) : NULL;
    return d ? d->name : "?";
}

/* ---- fields (-F) --------------------------------------------------------------- */

static bool lookup_uid(struct line *l, const char *field, const char *v, uint32_t *ret)
{
    if (isdigit((unsigned char)v[0]) || (v[0] == '-' && isdigit((unsigned char)v[1]))) {
        if (!parse_u32_or_negative(v, ret)) {
            char b[80];
            line_error(l, "%s=%s: not a 32-bit user id", field, shown(v, b, sizeof(b)));
            return false;
        }
        return true;
    }
    if (strcmp(v, "unset") == 0) {
        *ret = AUDIT_UID_UNSET;
        return true;
    }
    if (l->set->env.user_id && l->set->env.user_id(v, ret, l->set->env.userdata) == 0)
        return true;
    char b[80];
    line_error(l, "%s=%s: unknown user", field, shown(v, b, sizeof(b)));
    return false;
}

static bool lookup_gid(struct line *l, const char *field, const char *v, uint32_t *ret)
{
    if (isdigit((unsigned char)v[0])) {
        if (!parse_u32(v, ret)) {
            char b[80];
            line_error(l, "%s=%s: not a 32-bit group id", field, shown(v, b, sizeof(b)));
            return false;
        }
        return true;
    }
    if (l->set->env.group_id && l->set->env.group_id(v, ret, l->set->env.userdata) == 0)
        return true;
    char b[80];
    line_error(l, "%s=%s: unknown group", field, shown(v, b, sizeof(b)));
    return false;
}

/* An errno name, with an optional leading '-' (the negative error a syscall
 * returns), any letter case. */
static bool lookup_errno(const char *v, uint32_t *ret)
{
    bool neg = v[0] == '-';
    char up[64];
    upcase(v + neg, up, sizeof(up));
    int err;
    if (strlen(v + neg) >= sizeof(up) ||
        !ar_errno_from_name((struct ar_span){up, strlen(up)}, &err))
        return false;
    *ret = neg ? (uint32_t)-err : (uint32_t)err;
    return true;
}

static bool lookup_msgtype(const char *v, uint32_t *ret)
{
    char up[64];
    if (strlen(v) >= sizeof(up))
        return false;
    upcase(v, up, sizeof(up));
    if (ar_rectype_from_name((struct ar_span){up, strlen(up)}, ret))
        return true;
    /* auditd prints types it has no name for as UNKNOWN[1329]; take that back. */
    if (strncmp(up, "UNKNOWN[", 8) == 0 && up[strlen(up) - 1] == ']') {
        up[strlen(up) - 1] = 0;
        return parse_u32(up + 8, ret);
    }
    return false;
}

/* An arch as auditctl names it: b64, b32, one of libaudit's machines (i386,
 * x86_64, ppc, ppc64, ppc64le, s390, s390x, arm, aarch64 and their aliases) or its
 * AUDIT_ARCH_* number. Other arches have no syscall names in auditctl either. */
static bool resolve_arch(struct line *l, const char *v, uint32_t *ret)
{
    char b[80], lower[32];
    if (isdigit((unsigned char)v[0])) {
        if (!parse_u32(v, ret) || !ar_arch_known_to_auditctl(*ret)) {
            line_error(l, "arch=%s: not an AUDIT_ARCH value auditctl knows",
                       shown(v, b, sizeof(b)));
            return false;
        }
        return true;
    }
    uint32_t b64, b32;
    ar_arch_pair(l->set->machine, &b64, &b32);
    if (strcasecmp(v, "b64") == 0 || strcasecmp(v, "b32") == 0) {
        bool want64 = strcasecmp(v, "b64") == 0;
        *ret = want64 ? b64 : b32;
        if (!*ret) {
            char a[32];
            line_error(l, "arch=%s: %s has no %d-bit arch", v,
                       arch_label(l->set->machine, a, sizeof(a)), want64 ? 64 : 32);
            return false;
        }
        return true;
    }
    if (strlen(v) >= sizeof(lower) ||
        (downcase(v, lower, sizeof(lower)),
         !ar_arch_from_name((struct ar_span){lower, strlen(lower)}, ret))) {
        line_error(l, "arch=%s: unknown arch", shown(v, b, sizeof(b)));
        return false;
    }
    /* libaudit's "armeb" is little-endian ARM (its machine table's quirk). */
    if (strcmp(lower, "armeb") == 0)
        *ret = AUDIT_ARCH_ARM;
    if (!ar_arch_known_to_auditctl(*ret)) {
        line_error(l,
                   "arch=%s: auditctl knows i386, x86_64, arm, aarch64, ppc, ppc64, "
                   "ppc64le, s390 and s390x",
                   shown(v, b, sizeof(b)));
        return false;
    }
    return true;
}

/* Kernel checks for a value (auditfilter.c audit_data_to_entry, audit_field_valid). */
static bool kernel_accepts_value(struct line *l, const struct ar_fielddef *fd,
                                 const struct ar_opdef *op, uint32_t value)
{
    char b[16];
    if (fd->kind == AR_FK_UID && value == AUDIT_UID_UNSET) {
        /* Only "auid = / != unset" is special: the kernel turns it into a test of
         * whether the login uid is set. Any other uid of -1 is not a valid id. */
        if (fd->id == AUDIT_LOGINUID && (op->bit & AR_OPS_EQNE))
            return true;
        line_error(l, "%s%s%s: 4294967295 (-1, unset) is not a valid user id for the kernel%s",
                   fd->name, op->symbol, "-1",
                   fd->id == AUDIT_LOGINUID ? " except with = or !=" : "");
        return false;
    }
    if (fd->kind == AR_FK_GID && value == AUDIT_UID_UNSET) {
        line_error(l, "%s%s%u: 4294967295 (-1) is not a valid group id for the kernel", fd->name,
                   op->symbol, value);
        return false;
    }
    if (fd->id == AUDIT_FIELD_COMPARE && value > AUDIT_MAX_FIELD_COMPARE) {
        snprintf(b, sizeof(b), "%u", value);
        line_error(l, "field_compare=%s: the kernel knows comparisons 1 to %d", b,
                   AUDIT_MAX_FIELD_COMPARE);
        return false;
    }
    return true;
}

static bool check_path_value(struct line *l, const struct ar_fielddef *fd, const char *v)
{
    char b[80];
    if (v[0] != '/') {
        line_error(l, "%s=%s: the path must be absolute (start with /)", fd->name,
                   shown(v, b, sizeof(b)));
        return false;
    }
    if (fd->kind == AR_FK_WATCH && v[strlen(v) - 1] == '/') {
        line_error(l, "path=%s: a file watch cannot end with / (use -F dir= for a directory)",
                   shown(v, b, sizeof(b)));
        return false;
    }
    if (l->has_watch_or_tree_or_inode) {
        line_error(l, "%s=: a rule can hold only one of path, dir and inode (and one -w)",
                   fd->name);
        return false;
    }
    l->has_watch_or_tree_or_inode = true;
    return true;
}

static bool add_key(struct line *l, const char *key)
{
    char b[80];
    if (!key[0]) {
        line_error(l, "empty key");
        return false;
    }
    if (strchr(key, 0x01)) {
        line_error(l, "key %s: the byte 0x01 separates keys and cannot be part of one",
                   shown(key, b, sizeof(b)));
        return false;
    }
    /* auditctl hands "key=VALUE" to libaudit's field parser, which takes the first
     * two-character operator anywhere in the text: such a key never loads there. */
    static const char *const ops2[] = {"!=", ">=", "<=", "&="};
    for (size_t i = 0; i < AR_ARRAY_SIZE(ops2); i++)
        if (strstr(key, ops2[i])) {
            line_error(l, "key %s: contains %s, which auditctl reads as an operator",
                       shown(key, b, sizeof(b)), ops2[i]);
            return false;
        }
    size_t len = strlen(key);
    size_t need = l->keylen + (l->keylen ? 1 : 0) + len;
    if (need > AUDIT_MAX_KEY_LEN) {
        line_error(l, "key too long: the keys of a rule total at most %d bytes", AUDIT_MAX_KEY_LEN);
        return false;
    }
    if (l->keylen)
        l->key[l->keylen++] = 0x01;
    memcpy(l->key + l->keylen, key, len);
    l->keylen += len;
    l->key[l->keylen] = 0;
    l->key_given = true;
    return true;
}

/* -F field<op>value, as libaudit's audit_rule_fieldpair_data reads it plus the
 * kernel's checks. */

/* -p and -F perm: the letters r, w, x, a as AUDIT_PERM_* bits, in any case. Returns
 * 0, -E2BIG (more than 4 letters) or -EINVAL (another letter). */
static int perm_bits(const char *s, uint32_t *ret)
{
    static const struct {
        char letter;
        uint32_t bit;
    } perms[] = {{'r', AUDIT_PERM_READ}, {'w', AUDIT_PERM_WRITE}, {'x', AUDIT_PERM_EXEC},
                 {'a', AUDIT_PERM_ATTR}};
    size_t len = strlen(s);
    if (len > 4)
        return -E2BIG;
    uint32_t bits = 0;
    for (size_t i = 0; i < len; i++) {
        size_t k = 0;
        while (k < AR_ARRAY_SIZE(perms) && perms[k].letter != tolower((unsigned char)s[i]))
            k++;
        if (k == AR_ARRAY_SIZE(perms))
            return -EINVAL;
        bits |= perms[k].bit;
    }
    *ret |= bits;
    return 0;
}

static void do_field(struct line *l, const char *pair)
{
    char b[96];
    if (l->list < 0) {
        line_error(l, "-F %s: give the list first (-a, -A, -d, -w or -W)",
                   shown(pair, b, sizeof(b)));
        return;
    }
    if (strncmp(pair, "key=", 4) == 0) {
        add_key(l, pair + 4);
        return;
    }
    /* The operator: the first of the two-character ones found anywhere, then the
     * one-character ones, as libaudit searches. */
    const struct ar_opdef *op = NULL;
    const char *at = NULL;
    for (size_t i = 0; i < ar_optab_count && !at; i++) {
        at = strstr(pair, ar_optab[i].symbol);
        if (at)
            op = &ar_optab[i];
    }
    if (!op) {
        line_error(l, "-F %s: no operator (=, !=, <, >, <=, >=, &, &=)", shown(pair, b, sizeof(b)));
        return;
    }
    char name[64];
    size_t nlen = (size_t)(at - pair);
    const char *v = at + strlen(op->symbol);
    if (nlen == 0) {
        line_error(l, "-F %s: no field name before %s", shown(pair, b, sizeof(b)), op->symbol);
        return;
    }
    if (!*v) {
        line_error(l, "-F %s: no value after %s", shown(pair, b, sizeof(b)), op->symbol);
        return;
    }
    const struct ar_fielddef *fd = NULL;
    if (nlen < sizeof(name)) {
        memcpy(name, pair, nlen);
        name[nlen] = 0;
        fd = ar_field_by_name(name);
    }
    if (!fd) {
        line_error(l, "-F %s: unknown field", shown(pair, b, sizeof(b)));
        return;
    }
    if (fd->kind == AR_FK_KEY) {
        /* Only "key=" (lower case, =) joins the rule's keys; auditctl hands any other
         * spelling ("KEY=x", "key!=x") to libaudit's field parser, which adds a key
         * field in place. */
        if (!(op->bit & AR_OPS_EQNE)) {
            line_error(l, "-F %s: key takes only = and !=", shown(pair, b, sizeof(b)));
            return;
        }
        if (!(l->syscall_added || l->perm_added || l->exe_added || l->fstype_added)) {
            line_error(l,
                       "-F %s: a key needs -S, -w, -F path/dir/perm, -F exe or -F fstype "
                       "before it",
                       shown(pair, b, sizeof(b)));
            return;
        }
        if (strlen(v) > AUDIT_MAX_KEY_LEN) {
            line_error(l, "-F %s: a key is at most %d bytes", shown(pair, b, sizeof(b)),
                       AUDIT_MAX_KEY_LEN);
            return;
        }
        if (l->has_key_field) {
            line_error(l, "-F %s: a rule can hold only one key field", shown(pair, b, sizeof(b)));
            return;
        }
        if (!room_for_field(l))
            return;
        l->has_key_field = true;
        push_string_field(l, AUDIT_FILTERKEY, op->flag, v);
        return;
    }
    if (!(fd->lists & AR_LIST_BIT(l->list))) {
        if (l->list == AUDIT_FILTER_EXCLUDE)
            line_error(l,
                       "-F %s: the exclude list takes only msgtype, pid, uid, gid, auid, "
                       "exe and subj_* fields",
                       shown(pair, b, sizeof(b)));
        else if (l->list == AUDIT_FILTER_FS)
            line_error(l, "-F %s: the filesystem list takes only fstype and key",
                       shown(pair, b, sizeof(b)));
        else
            line_error(l, "-F %s: %s cannot be used on the %s list", shown(pair, b, sizeof(b)),
                       fd->name, list_name(l->list));
        return;
    }
    if (!(fd->ops & op->bit)) {
        const char *which = fd->ops == AR_OPB_EQ     ? "only ="
                            : fd->ops == AR_OPS_EQNE ? "only = and !="
                                                     : "no bit operators (& &=)";
        line_error(l, "-F %s: %s takes %s", shown(pair, b, sizeof(b)), fd->name, which);
        return;
    }
    if (!room_for_field(l))
        return;
    uint32_t value = 0;
    switch ((enum ar_field_kind)fd->kind) {
    case AR_FK_UID:
        if (!lookup_uid(l, fd->name, v, &value))
            return;
        break;
    case AR_FK_GID:
        if (!lookup_gid(l, fd->name, v, &value))
            return;
        break;
    case AR_FK_NUMBER:
    case AR_FK_INODE:
        if (!parse_u32(v, &value)) {
            line_error(l, "-F %s: %s takes an unsigned 32-bit number", shown(pair, b, sizeof(b)),
                       fd->name);
            return;
        }
        if (fd->kind == AR_FK_INODE) {
            if (l->has_watch_or_tree_or_inode) {
                line_error(l, "-F %s: a rule can hold only one of path, dir and inode",
                           shown(pair, b, sizeof(b)));
                return;
            }
            l->has_watch_or_tree_or_inode = true;
        }
        break;
    case AR_FK_EXIT:
        if (isdigit((unsigned char)v[0]) || (v[0] == '-' && isdigit((unsigned char)v[1]))) {
            if (!parse_u32_or_negative(v, &value)) {
                line_error(l, "-F %s: not a 32-bit number", shown(pair, b, sizeof(b)));
                return;
            }
        } else if (!lookup_errno(v, &value)) {
            line_error(l, "-F %s: unknown errno name", shown(pair, b, sizeof(b)));
            return;
        }
        break;
    case AR_FK_MSGTYPE:
        if (isdigit((unsigned char)v[0]) ? !parse_u32(v, &value) : !lookup_msgtype(v, &value)) {
            line_error(l, "-F %s: unknown record type", shown(pair, b, sizeof(b)));
            return;
        }
        break;
    case AR_FK_ARG:
        if (!(isdigit((unsigned char)v[0]) || (v[0] == '-' && isdigit((unsigned char)v[1]))) ||
            !parse_u32_or_negative(v, &value)) {
            line_error(l, "-F %s: %s takes a 32-bit number", shown(pair, b, sizeof(b)), fd->name);
            return;
        }
        break;
    case AR_FK_SESSIONID:
        if (strcmp(v, "unset") == 0) {
            value = AUDIT_UID_UNSET;
        } else if (!(isdigit((unsigned char)v[0]) ||
                     (v[0] == '-' && isdigit((unsigned char)v[1]))) ||
                   !parse_u32_or_negative(v, &value)) {
            line_error(l, "-F %s: sessionid takes a number or unset", shown(pair, b, sizeof(b)));
            return;
        }
        break;
    case AR_FK_SADDR_FAM:
        if (!parse_u32(v, &value) || value >= AF_MAX) {
            line_error(l, "-F %s: saddr_fam takes an address family number below %d",
                       shown(pair, b, sizeof(b)), AF_MAX);
            return;
        }
        break;
    case AR_FK_ARCH:
        if (l->syscall_added) {
            line_error(l, "-F %s: -F arch must come before -S", shown(pair, b, sizeof(b)));
            return;
        }
        if (!resolve_arch(l, v, &value))
            return;
        l->elf = value;
        l->arch_given = true;
        break;
    case AR_FK_PERM: {
        int r = perm_bits(v, &value);
        if (r < 0) {
            line_error(l, r == -E2BIG ? "-F %s: perm takes at most 4 letters"
                                      : "-F %s: perm takes only the letters r, w, x and a",
                       shown(pair, b, sizeof(b)));
            return;
        }
        l->perm_added = true;
        break;
    }
    case AR_FK_FILETYPE:
        if (!ar_filetype_from_name(v, &value)) {
            line_error(l,
                       "-F %s: filetype is one of file, dir, socket, link, character, block, "
                       "fifo",
                       shown(pair, b, sizeof(b)));
            return;
        }
        break;
    case AR_FK_FSTYPE:
        /* libaudit takes 0xffffffff for "unknown" and refuses it. */
        if ((isdigit((unsigned char)v[0]) ? !parse_u32(v, &value)
                                          : !ar_fstype_from_name(v, &value)) ||
            value == UINT32_MAX) {
            line_error(l, "-F %s: unknown file system type (debugfs, tracefs or a magic number)",
                       shown(pair, b, sizeof(b)));
            return;
        }
        l->fstype_added = true;
        break;
    case AR_FK_WATCH:
    case AR_FK_DIR:
    case AR_FK_STRING:
        if (strlen(v) > STRING_MAX) {
            line_error(l, "-F %.40s...: longer than %d bytes", pair, STRING_MAX);
            return;
        }
        if (fd->kind != AR_FK_STRING) {
            if (!check_path_value(l, fd, v))
                return;
            l->perm_added = true;
        }
        if (fd->id == AUDIT_EXE) {
            if (l->has_exe) {
                line_error(l, "-F %s: a rule can hold only one exe", shown(pair, b, sizeof(b)));
                return;
            }
            l->has_exe = true;
            l->exe_added = true;
        }
        push_string_field(l, fd->id, op->flag, v);
        return;
    case AR_FK_KEY:
        break;
    }
    if (!kernel_accepts_value(l, fd, op, value))
        return;
    push_field(l, fd->id, op->flag, value);
}

/* -C field<op>field (libaudit audit_rule_interfield_comp_data). */
static void do_compare(struct line *l, const char *pair)
{
    char b[96];
    const char *at = strstr(pair, "!=");
    uint32_t op = AUDIT_NOT_EQUAL;
    size_t oplen = 2;
    if (!at) {
        at = strchr(pair, '=');
        op = AUDIT_EQUAL;
        oplen = 1;
    }
    if (!at) {
        line_error(l, "-C %s: takes field=field or field!=field", shown(pair, b, sizeof(b)));
        return;
    }
    char left[32];
    size_t llen = (size_t)(at - pair);
    const char *right = at + oplen;
    if (llen == 0 || !*right) {
        line_error(l, "-C %s: a field is missing", shown(pair, b, sizeof(b)));
        return;
    }
    const struct ar_fielddef *lf = NULL, *rf = NULL;
    if (llen < sizeof(left)) {
        memcpy(left, pair, llen);
        left[llen] = 0;
        lf = ar_field_by_name(left);
    }
    if (!lf) {
        line_error(l, "-C %s: unknown field on the left", shown(pair, b, sizeof(b)));
        return;
    }
    rf = ar_field_by_name(right);
    if (!rf) {
        line_error(l, "-C %s: unknown field on the right", shown(pair, b, sizeof(b)));
        return;
    }
    if (l->list != AUDIT_FILTER_EXIT && l->list != AUDIT_FILTER_URING_EXIT) {
        line_error(l, "-C %s: comparisons work only on the exit list", shown(pair, b, sizeof(b)));
        return;
    }
    const struct ar_comparedef *c = ar_compare_find(lf->id, rf->id);
    if (!c || lf->id == rf->id) {
        line_error(l, "-C %s: %s and %s cannot be compared (uids with uids, gids with gids)",
                   shown(pair, b, sizeof(b)), lf->name, rf->name);
        return;
    }
    if (!room_for_field(l))
        return;
    push_field(l, AUDIT_FIELD_COMPARE, op, c->value);
}

/* ---- syscalls (-S) -------------------------------------------------------------- */

static void set_syscall_bit(struct line *l, uint32_t nr)
{
    l->r->mask[AUDIT_WORD(nr)] |= AUDIT_BIT(nr);
}

static void do_syscalls(struct line *l, const char *arg)
{
    char b[96], a[32];
    if (l->list >= 0 && l->list != AUDIT_FILTER_EXIT && l->list != AUDIT_FILTER_URING_EXIT) {
        line_error(l, "-S %s: the %s list takes no syscalls", shown(arg, b, sizeof(b)),
                   list_name(l->list));
        return;
    }
    bool uring = l->list == AUDIT_FILTER_URING_EXIT;
    bool unknown_arch = !l->elf;
    if (!uring && unknown_arch)
        l->elf = l->set->machine;
    /* Walk the comma-separated names; empty ones are skipped as auditctl does. */
    const char *p = arg;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char word[64];
        if (len == 0) {
            p += 1;
            continue;
        }
        if (len >= sizeof(word)) {
            line_error(l, "-S %s: unknown syscall", shown(arg, b, sizeof(b)));
            return;
        }
        memcpy(word, p, len);
        word[len] = 0;
        p += len + (end ? 1 : 0);
        if (strcmp(word, "all") == 0) {
            set_all_syscalls(l->r);
            continue;
        }
        uint32_t nr;
        if (isdigit((unsigned char)word[0])) {
            if (!parse_u32(word, &nr) || nr >= AUDIT_BITMASK_SIZE * 32) {
                line_error(l, "-S %s: syscall numbers go up to %d", word,
                           AUDIT_BITMASK_SIZE * 32 - 1);
                return;
            }
        } else if (uring) {
            if (!ar_uringop_from_name(word, &nr)) {
                line_error(l, "-S %s: unknown io_uring operation", shown(word, b, sizeof(b)));
                return;
            }
        } else {
            int r = ar_syscall_lookup(l->elf, word);
            if (r == -EAFNOSUPPORT) {
                line_error(l, "-S %s: no syscall names for arch %s; give numbers",
                           shown(word, b, sizeof(b)), arch_label(l->elf, a, sizeof(a)));
                return;
            }
            if (r < 0) {
                line_error(l, "-S %s: unknown syscall for %s", shown(word, b, sizeof(b)),
                           arch_label(l->elf, a, sizeof(a)));
                return;
            }
            nr = (uint32_t)r;
            if (unknown_arch) {
                char *copy = strdup(word);
                if (copy) {
                    struct strvec *sv = &l->syscall_names;
                    if (sv->n == sv->cap) {
                        size_t cap = sv->cap ? sv->cap * 2 : 8;
                        char **v = realloc(sv->v, cap * sizeof(*v));
                        if (v) {
                            sv->v = v;
                            sv->cap = cap;
                        }
                    }
                    if (sv->n < sv->cap)
                        sv->v[sv->n++] = copy;
                    else
                        free(copy);
                }
            }
        }
        set_syscall_bit(l, nr);
    }
    l->syscall_added = true;
    l->mask_set = true;
}

/* auditctl warns when a rule without -F arch names syscalls whose numbers differ
 * for the 32-bit arch: such a rule misses 32-bit processes. */
static void warn_arch_mismatch(struct line *l)
{
    if (l->arch_given || l->syscall_names.n == 0 || l->list != AUDIT_FILTER_EXIT)
        return;
    uint32_t b64, b32;
    ar_arch_pair(l->set->machine, &b64, &b32);
    if (!b64 || !b32)
        return;
    for (size_t i = 0; i < l->syscall_names.n; i++) {
        int n64 = ar_syscall_lookup(b64, l->syscall_names.v[i]);
        int n32 = ar_syscall_lookup(b32, l->syscall_names.v[i]);
        if (n64 != n32) {
            char a[32];
            line_warning(l,
                         "no -F arch before -S: the syscall numbers are %s's, so 32-bit "
                         "processes are not matched (add -F arch=b64 and a second rule "
                         "with -F arch=b32)",
                         arch_label(b64, a, sizeof(a)));
            return;
        }
    }
}

/* ---- watches (-w, -W, -p) --------------------------------------------------- */

static void do_watch(struct line *l, const char *path, bool is_delete)
{
    char b[96];
    if (l->list >= 0) {
        line_error(l, "-%c %s: a watch cannot be combined with -a, -A, -d or another -w/-W",
                   is_delete ? 'W' : 'w', shown(path, b, sizeof(b)));
        return;
    }
    size_t len = strlen(path);
    if (len >= PATH_MAX) {
        line_error(l, "-w: the path is longer than %d bytes", PATH_MAX - 1);
        return;
    }
    if (path[0] != '/') {
        line_error(l, "-w %s: the path must be absolute (start with /)", shown(path, b, sizeof(b)));
        return;
    }
    /* The last component, ignoring trailing slashes, must fit NAME_MAX. */
    size_t end = len;
    while (end > 1 && path[end - 1] == '/')
        end--;
    const char *base = path;
    for (size_t i = 0; i < end; i++)
        if (path[i] == '/')
            base = path + i + 1;
    if ((size_t)(path + end - base) > NAME_MAX) {
        line_error(l, "-w %s: the last component is longer than %d bytes",
                   shown(path, b, sizeof(b)), NAME_MAX);
        return;
    }
    if (strstr(path, ".."))
        line_warning(l, "-w %s: .. is not resolved, the kernel watches the path as written",
                     shown(path, b, sizeof(b)));
    if (strpbrk(path, "*?"))
        line_warning(l, "-w %s: wildcards are not supported, the name is taken literally",
                     shown(path, b, sizeof(b)));
    /* auditctl trims trailing slashes (but leaves "//" alone) and asks the file
     * system whether the path is a directory. */
    char *trimmed = strdup(path);
    if (!trimmed) {
        line_error(l, "out of memory");
        return;
    }
    if (len > 2 && trimmed[len - 1] == '/') {
        while (len > 1 && trimmed[len - 1] == '/')
            trimmed[--len] = 0;
    }
    bool dir = l->set->env.is_dir && l->set->env.is_dir(trimmed, l->set->env.userdata);
    uint32_t type = dir ? AUDIT_DIR : AUDIT_WATCH;
    if (type == AUDIT_WATCH && trimmed[len - 1] == '/') {
        line_error(l, "-w %s: the kernel refuses a file watch ending in /",
                   shown(path, b, sizeof(b)));
        free(trimmed);
        return;
    }
    l->list = AUDIT_FILTER_EXIT;
    l->action = AUDIT_ALWAYS;
    l->is_delete = is_delete;
    l->from_watch = true;
    l->syscall_added = true;
    l->perm_added = true;
    l->mask_set = true;
    memset(l->r, 0, sizeof(*l->r));
    l->buflen = 0;
    set_all_syscalls(l->r);
    l->has_watch_or_tree_or_inode = true;
    push_string_field(l, type, AUDIT_EQUAL, trimmed);
    push_field(l, AUDIT_PERM, AUDIT_EQUAL,
               AUDIT_PERM_READ | AUDIT_PERM_WRITE | AUDIT_PERM_EXEC | AUDIT_PERM_ATTR);
    free(trimmed);
}

static void do_perm(struct line *l, const char *arg)
{
    char b[64];
    if (l->list < 0) {
        line_error(l, "-p %s: give a watch (-w) or a rule first", shown(arg, b, sizeof(b)));
        return;
    }
    uint32_t value = 0;
    int pr = perm_bits(arg, &value);
    if (pr < 0) {
        line_error(l, pr == -E2BIG ? "-p %s: takes at most 4 letters"
                                   : "-p %s: takes only the letters r, w, x and a",
                   shown(arg, b, sizeof(b)));
        return;
    }
    if (l->r->field_count < 1) {
        line_error(l, "-p %s: give -w, -F path or -F dir before it", shown(arg, b, sizeof(b)));
        return;
    }
    if (!(AR_LIST_BIT(l->list) & AR_LIST_BIT(AUDIT_FILTER_EXIT))) {
        line_error(l, "-p %s: permissions work only on the exit list", shown(arg, b, sizeof(b)));
        return;
    }
    bool done = false;
    for (uint32_t i = 0; i < l->r->field_count; i++)
        if (l->r->fields[i] == AUDIT_PERM) {
            l->r->values[i] = value;
            done = true;
        }
    if (!done) {
        if (!room_for_field(l))
            return;
        push_field(l, AUDIT_PERM, AUDIT_EQUAL, value);
    }
    l->perm_added = true;
}

/* ---- -a / -A / -d --------------------------------------------------------- */

static int lookup_action(const char *s)
{
    if (strcmp(s, "always") == 0)
        return AUDIT_ALWAYS;
    if (strcmp(s, "never") == 0)
        return AUDIT_NEVER;
    if (strcmp(s, "possible") == 0)
        return AUDIT_POSSIBLE;
    return -1;
}

static void do_list_action(struct line *l, char opt, const char *arg)
{
    char b[96];
    if (++l->rule_ops != 1) {
        line_error(l, "-%c %s: only one -a, -A or -d per line", opt, shown(arg, b, sizeof(b)));
        return;
    }
    if (l->list >= 0) {
        line_error(l, "-%c %s: cannot be combined with -w or -W", opt, shown(arg, b, sizeof(b)));
        return;
    }
    const char *comma = strchr(arg, ',');
    if (!comma || strchr(comma + 1, ',')) {
        line_error(l, "-%c %s: expects list,action (e.g. always,exit)", opt,
                   shown(arg, b, sizeof(b)));
        return;
    }
    char first[32], second[32];
    size_t flen = (size_t)(comma - arg);
    if (flen >= sizeof(first) || strlen(comma + 1) >= sizeof(second)) {
        line_error(l, "-%c %s: unknown list or action", opt, shown(arg, b, sizeof(b)));
        return;
    }
    memcpy(first, arg, flen);
    first[flen] = 0;
    strcpy(second, comma + 1);
    /* Either order: "always,exit" and "exit,always". auditctl takes the deprecated
     * "possible" only second ("exit,possible": the line is dropped with a message);
     * "possible,exit" is an error there. */
    int action = lookup_action(first);
    const struct ar_listdef *list;
    if (action == AUDIT_POSSIBLE) {
        line_error(l, "-%c %s: the action 'possible' is deprecated (use always or never)", opt,
                   shown(arg, b, sizeof(b)));
        return;
    }
    if (action >= 0) {
        list = ar_list_by_name(second);
        if (list && lookup_action(second) >= 0)
            list = NULL;
    } else {
        list = ar_list_by_name(first);
        action = lookup_action(second);
    }
    if (!list || action < 0) {
        if (!list && (strcasecmp(first, "entry") == 0 || strcasecmp(second, "entry") == 0))
            line_error(l, "-%c %s: the entry list is deprecated (use exit)", opt,
                       shown(arg, b, sizeof(b)));
        else
            line_error(l,
                       "-%c %s: unknown %s (lists: exit, task, user, exclude, filesystem, "
                       "io_uring; actions: always, never)",
                       opt, shown(arg, b, sizeof(b)), list ? "action" : "list");
        return;
    }
    if (action == AUDIT_POSSIBLE) {
        /* auditctl drops the whole line with a message and carries on. */
        line_warning(l, "-%c %s: the action 'possible' is deprecated; line ignored", opt,
                     shown(arg, b, sizeof(b)));
        l->ignored = true;
        return;
    }
    if (list->nr == AUDIT_FILTER_TASK && l->syscall_added) {
        line_error(l, "-%c %s: the task list takes no syscalls", opt, shown(arg, b, sizeof(b)));
        return;
    }
    if (l->syscall_added && !list->syscalls) {
        line_error(l, "-%c %s: the %s list takes no syscalls", opt, shown(arg, b, sizeof(b)),
                   list->name);
        return;
    }
    l->list = (int)list->nr;
    l->action = action;
    l->is_delete = opt == 'd';
    l->prepend = opt == 'A';
}

/* ---- control lines ------------------------------------------------------- */

static struct ar_rules_op *pending_op(struct line *l, enum ar_rules_op_type type)
{
    if (l->npending == AR_ARRAY_SIZE(l->pending)) {
        line_error(l, "too many settings on one line");
        return NULL;
    }
    struct ar_rules_op *op = &l->pending[l->npending++];
    *op = (struct ar_rules_op){.type = type, .origin = {l->file, l->lineno}};
    return op;
}

static void do_set_012(struct line *l, char opt, const char *arg, uint32_t mask, const char *what)
{
    char b[64];
    if (strcmp(arg, "0") && strcmp(arg, "1") && strcmp(arg, "2")) {
        line_error(l, "-%c %s: %s must be 0, 1 or 2", opt, shown(arg, b, sizeof(b)), what);
        return;
    }
    struct ar_rules_op *op = pending_op(l, AR_RULES_OP_SET);
    if (op) {
        op->status_mask = mask;
        op->value = (uint32_t)(arg[0] - '0');
    }
}

static void do_set_number(struct line *l, const char *opt, const char *arg, uint32_t mask)
{
    char b[64];
    uint32_t v;
    if (!parse_u32(arg, &v)) {
        line_error(l, "%s %s: takes an unsigned 32-bit number", opt, shown(arg, b, sizeof(b)));
        return;
    }
    struct ar_rules_op *op = pending_op(l, AR_RULES_OP_SET);
    if (op) {
        op->status_mask = mask;
        op->value = v;
    }
}

/* ---- option scanning (getopt_long as auditctl calls it) ------------------- */

struct optdef {
    char c;
    bool arg;
};

static const struct optdef shortopts[] = {
    {'h', false}, {'i', false}, {'c', false}, {'s', false}, {'l', false},
    {'D', false}, {'v', false}, {'t', false}, {'C', true},  {'e', true},
    {'f', true},  {'r', true},  {'b', true},  {'a', true},  {'A', true},
    {'d', true},  {'S', true},  {'F', true},  {'m', true},  {'R', true},
    {'w', true},  {'W', true},  {'k', true},  {'p', true},  {'q', true},
};

enum { LONG_LOGINUID = 1, LONG_BWT, LONG_RESET_LOST, LONG_RESET_BWTA, LONG_SIGNAL };

static const struct {
    const char *name;
    bool arg;
    int id;
} longopts[] = {
    {"loginuid-immutable", false, LONG_LOGINUID},
    {"backlog_wait_time", true, LONG_BWT},
    {"reset-lost", false, LONG_RESET_LOST},
    {"reset_backlog_wait_time_actual", false, LONG_RESET_BWTA},
    {"signal", true, LONG_SIGNAL},
};

/* Where an option sits on its line: `index` is its word, `next` the first word after
 * it and its value. auditctl's option loop ends after some options; what follows
 * them is either ignored or an error there, and always an error here. */
struct optpos {
    int argc, index, next;
    const char *const *argv;
};

static bool alone(struct line *l, const struct optpos *pos, const char *what)
{
    if (pos->index != 0 || pos->next != pos->argc) {
        line_error(l, "%s must be alone on its line", what);
        return false;
    }
    return true;
}

static bool last(struct line *l, const struct optpos *pos, const char *what)
{
    if (pos->next != pos->argc) {
        line_error(l, "nothing may follow %s on its line", what);
        return false;
    }
    return true;
}

static void handle_short(struct line *l, char c, const char *arg, const struct optpos *pos)
{
    char b[96];
    switch (c) {
    case 'a':
    case 'A':
    case 'd':
        do_list_action(l, c, arg);
        break;
    case 'w':
    case 'W':
        do_watch(l, arg, c == 'W');
        break;
    case 'p':
        do_perm(l, arg);
        break;
    case 'k':
        if (l->list < 0 ||
            !(l->syscall_added || l->perm_added || l->exe_added || l->fstype_added)) {
            line_error(l,
                       "-k %s: give -S, -w, -F path/dir/perm, -F exe or -F fstype before "
                       "the key (auditctl requires it)",
                       shown(arg, b, sizeof(b)));
            break;
        }
        add_key(l, arg);
        break;
    case 'F':
        do_field(l, arg);
        break;
    case 'C':
        do_compare(l, arg);
        break;
    case 'S':
        do_syscalls(l, arg);
        break;
    case 'e':
        do_set_012(l, 'e', arg, AUDIT_STATUS_ENABLED, "enabled");
        break;
    case 'f':
        do_set_012(l, 'f', arg, AUDIT_STATUS_FAILURE, "failure");
        break;
    case 'b':
        do_set_number(l, "-b", arg, AUDIT_STATUS_BACKLOG_LIMIT);
        break;
    case 'r':
        do_set_number(l, "-r", arg, AUDIT_STATUS_RATE_LIMIT);
        break;
    case 'D':
        /* Alone, or "-D -k key": delete every rule whose key contains key. */
        if (pos->index == 0 && pos->next == pos->argc) {
            pending_op(l, AR_RULES_OP_DELETE_ALL);
        } else if (pos->index == 0 && pos->next == 1 && pos->argc == 3 &&
                   strcmp(pos->argv[1], "-k") == 0) {
            struct ar_rules_op *op = pending_op(l, AR_RULES_OP_DELETE_ALL);
            if (op && !(op->text = keep_string(l->set, pos->argv[2], strlen(pos->argv[2]))))
                line_error(l, "out of memory");
        } else {
            line_error(l, "-D must be alone on its line, or followed only by -k KEY");
        }
        l->stop = true;
        break;
    case 'l':
    case 's':
    case 'v':
        /* Queries: harmless in a file, and nothing to load. */
        line_warning(l, "-%c does not change the kernel; ignored", c);
        l->stop = true;
        break;
    case 'i':
    case 'c':
        if (alone(l, pos, c == 'i' ? "-i" : "-c")) {
            if (c == 'i')
                l->ignore_errors = true;
            else
                l->continue_errors = true;
        }
        l->stop = true;
        break;
    case 'h':
        line_error(l, "-h (help) is not a rule");
        break;
    case 'R':
        line_error(l, "-R %s: rule files cannot include other rule files",
                   shown(arg, b, sizeof(b)));
        break;
    case 'm': {
        if (!alone(l, pos, "-m"))
            break;
        for (const char *p = arg; *p; p++)
            if ((unsigned char)*p < 32) {
                line_error(l, "-m: control characters cannot be sent in a message");
                return;
            }
        struct ar_rules_op *op = pending_op(l, AR_RULES_OP_USER_MSG);
        if (op && !(op->text = keep_string(l->set, arg, strlen(arg))))
            line_error(l, "out of memory");
        l->stop = true;
        break;
    }
    case 'q': {
        if (l->syscall_added) {
            line_error(l, "-q cannot be combined with syscalls");
            break;
        }
        const char *comma = strchr(arg, ',');
        if (!comma || comma == arg || !comma[1] || strchr(comma + 1, ',')) {
            line_error(l, "-q %s: expects mount-point,subtree", shown(arg, b, sizeof(b)));
            break;
        }
        struct ar_rules_op *op = pending_op(l, AR_RULES_OP_MAKE_EQUIV);
        if (op) {
            op->text = keep_string(l->set, arg, (size_t)(comma - arg));
            op->text2 = keep_string(l->set, comma + 1, strlen(comma + 1));
            if (!op->text || !op->text2)
                line_error(l, "out of memory");
        }
        last(l, pos, "-q");
        l->stop = true;
        break;
    }
    case 't':
        pending_op(l, AR_RULES_OP_TRIM);
        last(l, pos, "-t");
        l->stop = true;
        break;
    default:
        break;
    }
}

static void handle_long(struct line *l, int id, const char *arg, const struct optpos *pos)
{
    switch (id) {
    case LONG_LOGINUID:
        pending_op(l, AR_RULES_OP_LOGINUID_IMMUTABLE);
        last(l, pos, "--loginuid-immutable");
        l->stop = true;
        break;
    case LONG_BWT:
        do_set_number(l, "--backlog_wait_time", arg, AUDIT_STATUS_BACKLOG_WAIT_TIME);
        break;
    case LONG_RESET_LOST:
    case LONG_RESET_BWTA: {
        struct ar_rules_op *op = pending_op(l, AR_RULES_OP_SET);
        if (op)
            op->status_mask =
                id == LONG_RESET_LOST ? AUDIT_STATUS_LOST : AUDIT_STATUS_BACKLOG_WAIT_TIME_ACTUAL;
        last(l, pos, id == LONG_RESET_LOST ? "--reset-lost" : "--reset_backlog_wait_time_actual");
        l->stop = true;
        break;
    }
    case LONG_SIGNAL:
        line_error(l, "--signal sends a signal to auditd and has no place in a rule file");
        break;
    }
}

/* Scans the words like GNU getopt_long with auditctl's option string: clustered
 * short options, attached or separate arguments, --long[=value] and unique
 * prefixes of long names. */
static void scan_options(struct line *l, int argc, const char *const *argv)
{
    char b[96];
    const char *stray = NULL;
    bool only_words = false;
    for (int i = 0; i < argc && !l->failed && !l->ignored && !l->stop; i++) {
        const char *w = argv[i];
        if (only_words || w[0] != '-' || w[1] == 0) {
            if (!stray)
                stray = w;
            continue;
        }
        if (strcmp(w, "--") == 0) {
            only_words = true;
            continue;
        }
        if (w[1] == '-') {
            const char *name = w + 2;
            const char *eq = strchr(name, '=');
            size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
            int found = -1, matches = 0;
            for (size_t k = 0; k < AR_ARRAY_SIZE(longopts); k++) {
                if (strncmp(longopts[k].name, name, nlen) != 0)
                    continue;
                if (strlen(longopts[k].name) == nlen) {
                    found = (int)k;
                    matches = 1;
                    break;
                }
                found = (int)k;
                matches++;
            }
            if (matches != 1) {
                line_error(l, "%s: %s option", shown(w, b, sizeof(b)),
                           matches ? "ambiguous" : "unknown");
                return;
            }
            const char *arg = NULL;
            int index = i;
            if (longopts[found].arg) {
                if (eq) {
                    arg = eq + 1;
                } else if (i + 1 < argc) {
                    arg = argv[++i];
                } else {
                    line_error(l, "--%s needs a value", longopts[found].name);
                    return;
                }
            } else if (eq) {
                line_error(l, "--%s takes no value", longopts[found].name);
                return;
            }
            struct optpos pos = {argc, index, i + 1, argv};
            handle_long(l, longopts[found].id, arg, &pos);
            continue;
        }
        /* A cluster of short options: "-lD", "-Fkey=x". */
        for (const char *c = w + 1; *c && !l->failed && !l->ignored && !l->stop; c++) {
            const struct optdef *od = NULL;
            for (size_t k = 0; k < AR_ARRAY_SIZE(shortopts); k++)
                if (shortopts[k].c == *c)
                    od = &shortopts[k];
            if (!od) {
                line_error(l, "-%c: unknown option", *c);
                return;
            }
            if (!od->arg) {
                struct optpos pos = {argc, i, c[1] ? i : i + 1, argv};
                handle_short(l, *c, NULL, &pos);
                continue;
            }
            const char *arg;
            int index = i;
            if (c[1]) {
                arg = c + 1;
            } else if (i + 1 < argc) {
                arg = argv[++i];
            } else {
                line_error(l, "-%c needs a value", *c);
                return;
            }
            struct optpos pos = {argc, index, i + 1, argv};
            handle_short(l, *c, arg, &pos);
            break;
        }
    }
    if (!l->failed && !l->ignored && stray) {
        if (stray[0] == '#')
            line_error(l, "%s: # starts a comment only at the beginning of a line",
                       shown(stray, b, sizeof(b)));
        else
            line_error(l, "'%s': a word that belongs to no option", shown(stray, b, sizeof(b)));
    }
}

/* ---- emitting operations ------------------------------------------------------ */

static size_t rule_hash(const struct audit_rule_data *r, size_t size)
{
    /* FNV-1a over the bytes that identify the rule (flags without the prepend bit). */
    uint64_t h = 1469598103934665603ull;
    uint32_t flags = r->flags & ~(uint32_t)AUDIT_FILTER_PREPEND;
    const unsigned char *p = (const unsigned char *)&flags;
    for (size_t i = 0; i < sizeof(flags); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    p = (const unsigned char *)r + sizeof(r->flags);
    for (size_t i = sizeof(r->flags); i < size; i++, p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)h;
}

static int live_grow(struct ar_rules *set)
{
    size_t cap = set->livecap ? set->livecap * 2 : 64;
    size_t *t = malloc(cap * sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < cap; i++)
        t[i] = LIVE_EMPTY;
    for (size_t i = 0; i < set->livecap; i++) {
        size_t idx = set->live[i];
        if (idx == LIVE_EMPTY || idx == LIVE_TOMB)
            continue;
        const struct ar_rules_op *op = &set->ops[idx];
        size_t j = rule_hash(op->rule, op->rule_size) & (cap - 1);
        while (t[j] != LIVE_EMPTY)
            j = (j + 1) & (cap - 1);
        t[j] = idx;
    }
    free(set->live);
    set->live = t;
    set->livecap = cap;
    set->livetomb = 0;
    return 0;
}

/* Finds the slot of a live rule equal to r; returns its table slot or -1. */
static long live_find(const struct ar_rules *set, const struct audit_rule_data *r, size_t size)
{
    if (!set->livecap)
        return -1;
    size_t j = rule_hash(r, size) & (set->livecap - 1);
    for (size_t n = 0; n < set->livecap; n++, j = (j + 1) & (set->livecap - 1)) {
        size_t idx = set->live[j];
        if (idx == LIVE_EMPTY)
            return -1;
        if (idx == LIVE_TOMB)
            continue;
        const struct ar_rules_op *op = &set->ops[idx];
        if (ar_rules_same(op->rule, op->rule_size, r, size))
            return (long)j;
    }
    return -1;
}

static int live_insert(struct ar_rules *set, size_t idx)
{
    if ((set->livecount + set->livetomb + 1) * 2 > set->livecap && live_grow(set) < 0)
        return -ENOMEM;
    const struct ar_rules_op *op = &set->ops[idx];
    size_t j = rule_hash(op->rule, op->rule_size) & (set->livecap - 1);
    while (set->live[j] != LIVE_EMPTY && set->live[j] != LIVE_TOMB)
        j = (j + 1) & (set->livecap - 1);
    if (set->live[j] == LIVE_TOMB)
        set->livetomb--;
    set->live[j] = idx;
    set->livecount++;
    return 0;
}

static void live_remove_slot(struct ar_rules *set, long slot)
{
    set->live[slot] = LIVE_TOMB;
    set->livecount--;
    set->livetomb++;
}

static void live_clear(struct ar_rules *set, const char *key)
{
    for (size_t j = 0; j < set->livecap; j++) {
        size_t idx = set->live[j];
        if (idx == LIVE_EMPTY || idx == LIVE_TOMB)
            continue;
        const struct ar_rules_op *op = &set->ops[idx];
        if (!key || ar_rules_key_matches(op->rule, op->rule_size, key))
            live_remove_slot(set, (long)j);
    }
}

static struct ar_rules_op *push_op(struct ar_rules *set, const struct ar_rules_op *op)
{
    if (set->nops == set->opscap) {
        size_t cap = set->opscap ? set->opscap * 2 : 64;
        struct ar_rules_op *v = realloc(set->ops, cap * sizeof(*v));
        if (!v)
            return NULL;
        set->ops = v;
        set->opscap = cap;
    }
    set->ops[set->nops] = *op;
    return &set->ops[set->nops++];
}

/* Finishes the line: builds the rule, checks what can only be checked at the end
 * and appends the operations. */
static int finish_line(struct line *l)
{
    struct ar_rules *set = l->set;
    if (!l->failed && !l->ignored && l->list < 0) {
        if (l->syscall_added)
            line_error(l, "-S needs a list: give -a, -A or -d");
        else if (l->key_given)
            line_error(l, "a key needs a rule: give -a, -A, -d or -w");
    }
    if (!l->failed && !l->ignored && l->list >= 0) {
        if (l->list == AUDIT_FILTER_TASK && l->mask_set && !l->from_watch)
            line_error(l, "the task list takes no syscalls");
        if (!l->mask_set && l->list != AUDIT_FILTER_TASK)
            set_all_syscalls(l->r);
        if (l->key_given && !l->failed) {
            if (l->has_key_field)
                line_error(l, "a rule can hold only one key field: -F KEY=... (not lower-case "
                              "key=) made a second one");
            else if (!(l->syscall_added || l->perm_added || l->exe_added || l->fstype_added))
                line_error(l, "a key needs -S, -w, -F path/dir/perm, -F exe or -F fstype in the "
                              "rule (auditctl requires it)");
            else if (room_for_field(l))
                push_string_field(l, AUDIT_FILTERKEY, AUDIT_EQUAL, l->key);
        }
        if (!l->failed)
            warn_arch_mismatch(l);
    }
    if (l->failed || l->ignored)
        return 0;
    for (size_t i = 0; i < l->npending; i++) {
        struct ar_rules_op op = l->pending[i];
        op.ignore_errors = l->ignore_errors;
        op.continue_errors = l->continue_errors;
        if (!push_op(set, &op))
            return -ENOMEM;
        if (op.type == AR_RULES_OP_DELETE_ALL)
            live_clear(set, op.text);
    }
    if (l->list < 0)
        return 0;
    size_t size = sizeof(struct audit_rule_data) + l->buflen;
    struct audit_rule_data *r = calloc(1, size);
    if (!r)
        return -ENOMEM;
    memcpy(r, l->r, sizeof(*l->r));
    r->flags = (uint32_t)l->list | (l->prepend ? AUDIT_FILTER_PREPEND : 0);
    r->action = (uint32_t)l->action;
    r->buflen = (uint32_t)l->buflen;
    if (l->buflen)
        memcpy(r->buf, l->buf, l->buflen);
    if (l->is_delete) {
        long slot = live_find(set, r, size);
        if (slot >= 0)
            live_remove_slot(set, slot);
    } else {
        long slot = live_find(set, r, size);
        if (slot >= 0) {
            const struct ar_rules_op *prev = &set->ops[set->live[slot]];
            line_error(l, "the same rule as at %s:%u (the kernel refuses duplicates)",
                       prev->origin.file, prev->origin.line);
            free(r);
            return 0;
        }
    }
    struct ar_rules_op op = {
        .type = l->is_delete ? AR_RULES_OP_DELETE : AR_RULES_OP_ADD,
        .origin = {l->file, l->lineno},
        .rule = r,
        .rule_size = size,
        .ignore_errors = l->ignore_errors,
        .continue_errors = l->continue_errors,
    };
    if (!push_op(set, &op)) {
        free(r);
        return -ENOMEM;
    }
    if (!l->is_delete && live_insert(set, set->nops - 1) < 0)
        return -ENOMEM;
    return 0;
}

static void line_reset(struct line *l, unsigned lineno)
{
    l->lineno = lineno;
    l->failed = l->ignored = l->stop = false;
    l->list = l->action = -1;
    l->is_delete = l->prepend = l->from_watch = false;
    l->rule_ops = 0;
    l->syscall_added = l->perm_added = l->exe_added = l->fstype_added = l->mask_set = false;
    l->elf = 0;
    l->arch_given = false;
    memset(l->r, 0, sizeof(*l->r));
    l->buflen = 0;
    l->has_watch_or_tree_or_inode = l->has_exe = l->has_key_field = false;
    l->keylen = 0;
    l->key[0] = 0;
    l->key_given = false;
    for (size_t i = 0; i < l->syscall_names.n; i++)
        free(l->syscall_names.v[i]);
    l->syscall_names.n = 0;
    l->npending = 0;
}

static int line_init(struct line *l, struct ar_rules *set, const char *file)
{
    *l = (struct line){.set = set, .file = file};
    l->r = calloc(1, sizeof(*l->r));
    return l->r ? 0 : -ENOMEM;
}

static void line_free(struct line *l)
{
    free(l->r);
    for (size_t i = 0; i < l->syscall_names.n; i++)
        free(l->syscall_names.v[i]);
    free(l->syscall_names.v);
    free(l->buf);
}

static int compile_words(struct line *l, int argc, const char *const *argv)
{
    scan_options(l, argc, argv);
    return finish_line(l);
}

/* ---- public API ----------------------------------------------------------------- */

uint32_t ar_rules_build_machine(void)
{
    return ar_arch_native();
}

int ar_rules_new(const struct ar_rules_env *env, struct ar_rules **ret)
{
    struct ar_rules *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    if (env)
        r->env = *env;
    r->machine = r->env.machine ? r->env.machine : ar_rules_build_machine();
    *ret = r;
    return 0;
}

void ar_rules_free(struct ar_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->strings.n; i++)
        free(r->strings.v[i]);
    free(r->strings.v);
    /* Each ADD and DELETE owns its rule. */
    for (size_t i = 0; i < r->nops; i++)
        free(r->ops[i].rule);
    free(r->ops);
    free(r->diags);
    free(r->live);
    free(r);
}

size_t ar_rules_error_count(const struct ar_rules *r)
{
    return r->errors;
}

const struct ar_rules_diag *ar_rules_diags(const struct ar_rules *r, size_t *ret_count)
{
    *ret_count = r->ndiags;
    return r->diags;
}

const struct ar_rules_op *ar_rules_ops(const struct ar_rules *r, size_t *ret_count)
{
    *ret_count = r->nops;
    return r->ops;
}

uint32_t ar_rules_machine(const struct ar_rules *r)
{
    return r->machine;
}

int ar_rules_add_diag(struct ar_rules *r, enum ar_rules_severity severity, const char *file,
                      unsigned line, const char *message)
{
    const char *f = keep_string(r, file, strlen(file));
    if (!f)
        return -ENOMEM;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", message);
    if (r->ndiags == r->diagscap) {
        size_t cap = r->diagscap ? r->diagscap * 2 : 16;
        struct ar_rules_diag *d = realloc(r->diags, cap * sizeof(*d));
        if (!d)
            return -ENOMEM;
        r->diags = d;
        r->diagscap = cap;
    }
    const char *m = keep_string(r, msg, strlen(msg));
    if (!m)
        return -ENOMEM;
    r->diags[r->ndiags++] = (struct ar_rules_diag){severity, {f, line}, m};
    if (severity == AR_RULES_ERROR)
        r->errors++;
    return 0;
}

int ar_rules_add_argv(struct ar_rules *r, const char *name, unsigned lineno, int argc,
                      const char *const *argv)
{
    size_t before = r->errors;
    const char *file = keep_string(r, name, strlen(name));
    if (!file)
        return -ENOMEM;
    struct line l;
    if (line_init(&l, r, file) < 0) {
        line_free(&l);
        return -ENOMEM;
    }
    line_reset(&l, lineno);
    int rc = compile_words(&l, argc, argv);
    line_free(&l);
    if (rc < 0)
        return rc;
    return (int)(r->errors - before);
}

/* Splits one line as auditctl -R does: words are separated by spaces (only
 * spaces); "\ " is a space inside a word and "\\" a backslash. Returns the number
 * of words; the words point into `scratch` (at least len + 1 bytes). */
static int split_line(const char *line, size_t len, char *scratch, const char **words, int max)
{
    int n = 0;
    size_t i = 0, o = 0;
    while (i < len) {
        while (i < len && line[i] == ' ')
            i++;
        if (i >= len)
            break;
        if (n == max)
            return -1;
        words[n++] = scratch + o;
        while (i < len && line[i] != ' ') {
            if (line[i] == '\\' && i + 1 < len && (line[i + 1] == ' ' || line[i + 1] == '\\')) {
                scratch[o++] = line[i + 1];
                i += 2;
            } else {
                scratch[o++] = line[i++];
            }
        }
        scratch[o++] = 0;
    }
    return n;
}

static bool has_control(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return true;
    return false;
}

int ar_rules_add_text(struct ar_rules *r, const char *name, const char *text, size_t len)
{
    size_t before = r->errors;
    const char *file = keep_string(r, name, strlen(name));
    if (!file)
        return -ENOMEM;
    struct line l;
    int init = line_init(&l, r, file);
    char *scratch = malloc(LINE_MAX_BYTES + 2);
    const char **words = malloc(MAX_WORDS * sizeof(*words));
    int rc = scratch && words && init == 0 ? 0 : -ENOMEM;
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    while (rc == 0 && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t n = (size_t)(eol - p);
        lineno++;
        line_reset(&l, lineno);
        size_t lead = 0;
        while (lead < n && p[lead] == ' ')
            lead++;
        if (lead == n || p[lead] == '#') {
            /* Blank line or comment (auditctl: the first word starts with #). */
        } else if (n > LINE_MAX_BYTES) {
            line_error(&l, "line longer than %d bytes", LINE_MAX_BYTES);
        } else if (memchr(p, 0, n)) {
            line_error(&l, "NUL byte in the line");
        } else if (has_control(p, n)) {
            /* auditctl splits on spaces only: a tab or a DOS line end becomes part of
             * a word, which then fails in a way that names the wrong thing. */
            line_error(&l, "control character (tab, carriage return...) in the line: words "
                           "are separated by single spaces, lines end with \\n");
        } else {
            int argc = split_line(p, n, scratch, words, MAX_WORDS);
            if (argc > 0)
                rc = compile_words(&l, argc, words);
        }
        p = nl ? nl + 1 : end;
    }
    line_free(&l);
    free(scratch);
    free(words);
    if (rc < 0)
        return rc;
    return (int)(r->errors - before);
}

/* What augenrules does with a line, judged by how the line starts (its first
 * operation): "^\s*-D", "-b", "-f", "-e", or anything else. */
enum line_kind { LK_OTHER, LK_DELETE_ALL, LK_BACKLOG, LK_FAILURE, LK_ENABLED };

static enum line_kind line_kind(const struct ar_rules_op *op)
{
    if (op->type == AR_RULES_OP_DELETE_ALL)
        return LK_DELETE_ALL;
    if (op->type != AR_RULES_OP_SET)
        return LK_OTHER;
    switch (op->status_mask) {
    case AUDIT_STATUS_BACKLOG_LIMIT:
        return LK_BACKLOG;
    case AUDIT_STATUS_FAILURE:
        return LK_FAILURE;
    case AUDIT_STATUS_ENABLED:
        return LK_ENABLED;
    default:
        return LK_OTHER;
    }
}

static bool same_line(const struct ar_rules_op *a, const struct ar_rules_op *b)
{
    return a->origin.file == b->origin.file && a->origin.line == b->origin.line;
}

int ar_rules_reorder_like_augenrules(struct ar_rules *r, size_t first)
{
    if (first >= r->nops)
        return 0;
    size_t n = r->nops - first;
    struct ar_rules_op *src = malloc(n * sizeof(*src));
    if (!src)
        return -ENOMEM;
    memcpy(src, r->ops + first, n * sizeof(*src));
    /* Lines are runs of operations with the same origin. augenrules keeps the first
     * -D line and the last -b, -f and -e lines, whole. */
    size_t pick[LK_ENABLED + 1], pick_end[LK_ENABLED + 1];
    bool have[LK_ENABLED + 1] = {false};
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && same_line(&src[j], &src[i]))
            j++;
        enum line_kind k = line_kind(&src[i]);
        if (k != LK_OTHER && !(k == LK_DELETE_ALL && have[k])) {
            pick[k] = i;
            pick_end[k] = j;
            have[k] = true;
        }
        i = j;
    }
    size_t o = first;
    static const enum line_kind front[] = {LK_DELETE_ALL, LK_BACKLOG, LK_FAILURE};
    for (size_t f = 0; f < AR_ARRAY_SIZE(front); f++)
        if (have[front[f]])
            for (size_t i = pick[front[f]]; i < pick_end[front[f]]; i++)
                r->ops[o++] = src[i];
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && same_line(&src[j], &src[i]))
            j++;
        if (line_kind(&src[i]) == LK_OTHER) {
            for (size_t k = i; k < j; k++)
                r->ops[o++] = src[k];
        } else {
            /* A dropped line: free the rule it may carry ("-b 5 -a ..."), unless it is
             * the line kept. */
            bool kept = false;
            for (int k = 0; k <= LK_ENABLED; k++)
                kept |= have[k] && pick[k] == i;
            if (!kept)
                for (size_t k = i; k < j; k++)
                    free(src[k].rule);
        }
        i = j;
    }
    if (have[LK_ENABLED])
        for (size_t i = pick[LK_ENABLED]; i < pick_end[LK_ENABLED]; i++)
            r->ops[o++] = src[i];
    r->nops = o;
    free(src);
    /* The duplicate table holds op indices, which moved: rebuild it. */
    for (size_t j = 0; j < r->livecap; j++)
        r->live[j] = LIVE_EMPTY;
    r->livecount = r->livetomb = 0;
    for (size_t i = 0; i < r->nops; i++) {
        if (r->ops[i].type == AR_RULES_OP_DELETE_ALL)
            live_clear(r, r->ops[i].text);
        else if (r->ops[i].type == AR_RULES_OP_ADD && live_insert(r, i) < 0)
            return -ENOMEM;
        else if (r->ops[i].type == AR_RULES_OP_DELETE) {
            long slot = live_find(r, r->ops[i].rule, r->ops[i].rule_size);
            if (slot >= 0)
                live_remove_slot(r, slot);
        }
    }
    return 0;
}
