/* A traced syscall as audit's records. The field order and formatting are the
 * kernel's (kernel/auditsc.c audit_log_exit, audit_log_task_info,
 * audit_log_execve_info, audit_log_proctitle; kernel/audit.c audit_log_key,
 * audit_log_untrustedstring), and so is the record order: SYSCALL, EXECVE,
 * SOCKADDR, CWD, PATH..., PROCTITLE, EOE. Each record's body is built in one
 * buffer owned by the render object and handed to the callback; the buffer only
 * grows, so a warmed object renders without allocating. */
#include "sources/tracepoint/render.h"

#include <errno.h>
#include <linux/audit.h>
#include <stdlib.h>
#include <string.h>

/* audit_log_proctitle reads at most this much of the command line. */
#define PROCTITLE_MAX 128

struct ar_tp_render {
    uint32_t serial;
    char *buf;
    size_t len, cap;
    bool oom;
};

int ar_tp_render_new(uint32_t first_serial, struct ar_tp_render **ret)
{
    struct ar_tp_render *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->cap = 4096;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        free(r);
        return -ENOMEM;
    }
    r->serial = first_serial;
    *ret = r;
    return 0;
}

void ar_tp_render_free(struct ar_tp_render *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

/* Makes room for more bytes; false (r->oom set) when memory ran out. */
static bool grow(struct ar_tp_render *r, size_t more)
{
    if (r->oom)
        return false;
    size_t cap = r->cap;
    while (cap < r->len + more)
        cap *= 2;
    char *b = realloc(r->buf, cap);
    if (!b) {
        r->oom = true;
        return false;
    }
    r->buf = b;
    r->cap = cap;
    return true;
}

static inline bool reserve(struct ar_tp_render *r, size_t more)
{
    return r->len + more <= r->cap || grow(r, more);
}

/* Inlined, so that a literal's memcpy becomes a few moves: put ran 64 times per
 * event, 7% of a tracepoint event's instructions as a call (callgrind). Once out
 * of memory, nothing more is written past the buffer (emit_record then fails). */
static inline __attribute__((always_inline)) void put(struct ar_tp_render *r, const char *p,
                                                      size_t len)
{
    if (!reserve(r, len))
        return;
    memcpy(r->buf + r->len, p, len);
    r->len += len;
}

#define PUT_LIT(r, lit) put((r), (lit), sizeof(lit) - 1)

/* Numbers without printf: at 200k events a second the collector's own CPU is what
 * the audited host pays (vfprintf was 12% of it in perf). */
static void put_u64(struct ar_tp_render *r, uint64_t v)
{
    char tmp[20], *e = tmp + sizeof(tmp), *p = e;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    put(r, p, (size_t)(e - p));
}

static void put_i64(struct ar_tp_render *r, int64_t v)
{
    if (v < 0) {
        PUT_LIT(r, "-");
        put_u64(r, 0 - (uint64_t)v);
    } else {
        put_u64(r, (uint64_t)v);
    }
}

/* Lower-case hex without leading zeros, as the kernel's %lx. */
static void put_x64(struct ar_tp_render *r, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16], *e = tmp + sizeof(tmp), *p = e;
    do
        *--p = digits[v & 15];
    while ((v >>= 4) != 0);
    put(r, p, (size_t)(e - p));
}

/* " name=" then the decimal value. */
#define PUT_U(r, lit, v) (PUT_LIT((r), lit), put_u64((r), (v)))

static void put_hex(struct ar_tp_render *r, const unsigned char *p, size_t len)
{
    static const char digits[] = "0123456789ABCDEF";
    if (!reserve(r, len * 2))
        return;
    char *o = r->buf + r->len;
    for (size_t i = 0; i < len; i++) {
        o[2 * i] = digits[p[i] >> 4];
        o[2 * i + 1] = digits[p[i] & 15];
    }
    r->len += len * 2;
}

/* audit_string_contains_control: a quote, a space or control byte, or above '~'. */
static bool needs_hex(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] == '"' || p[i] < 0x21 || p[i] > 0x7e)
            return true;
    return false;
}

/* audit_log_n_untrustedstring: "text" when printable, else upper-case hex. */
static void put_untrusted(struct ar_tp_render *r, const void *s, size_t len)
{
    const unsigned char *p = s;
    if (needs_hex(p, len)) {
        put_hex(r, p, len);
    } else {
        PUT_LIT(r, "\"");
        put(r, s, len);
        PUT_LIT(r, "\"");
    }
}

/* A span cut at its first NUL (comm and tty are C strings in the kernel). */
static struct ar_span cstr(struct ar_span s)
{
    const char *nul = s.len ? memchr(s.p, 0, s.len) : NULL;
    if (nul)
        s.len = (size_t)(nul - s.p);
    return s;
}

static int emit_record(struct ar_tp_render *r, uint32_t type, const struct ar_tp_sample *s,
                       ar_tp_record_fn emit, void *userdata)
{
    if (r->oom)
        return -ENOMEM;
    struct ar_record rec = {
        .type = type,
        .sec = s->time_ns / 1000000000u,
        .msec = (uint32_t)(s->time_ns % 1000000000u / 1000000u),
        .serial = r->serial,
        .has_time = true,
        .node = {"", 0},
        .body = {r->buf, r->len},
        .enriched = {"", 0},
    };
    return emit(&rec, userdata);
}

static void put_late(struct ar_tp_render *r, bool late, const char *fields)
{
    if (!late)
        return;
    PUT_LIT(r, " late=");
    put(r, fields, strlen(fields));
}

static void syscall_body(struct ar_tp_render *r, const struct ar_tp_plan *plan,
                         const struct ar_tp_sample *s)
{
    PUT_LIT(r, "arch=");
    put_x64(r, s->arch);
    PUT_LIT(r, " syscall=");
    put_i64(r, s->syscall);
    if (ar_tp_exit_success(s->exit))
        PUT_LIT(r, " success=yes exit=");
    else
        PUT_LIT(r, " success=no exit=");
    put_i64(r, s->exit);
    for (unsigned i = 0; i < 4; i++) {
        static const char names[4][5] = {" a0=", " a1=", " a2=", " a3="};
        put(r, names[i], 4);
        put_x64(r, s->args[i]);
    }
    PUT_U(r, " items=", s->npaths);
    PUT_U(r, " ppid=", s->ppid);
    PUT_U(r, " pid=", s->pid);
    if (s->has_auid)
        PUT_U(r, " auid=", s->auid);
    PUT_U(r, " uid=", s->uid);
    PUT_U(r, " gid=", s->gid);
    PUT_U(r, " euid=", s->euid);
    PUT_U(r, " suid=", s->suid);
    PUT_U(r, " fsuid=", s->fsuid);
    PUT_U(r, " egid=", s->egid);
    PUT_U(r, " sgid=", s->sgid);
    PUT_U(r, " fsgid=", s->fsgid);
    PUT_LIT(r, " tty=");
    struct ar_span tty = cstr(s->tty);
    if (tty.len == 0)
        PUT_LIT(r, "(none)");
    else if (needs_hex((const unsigned char *)tty.p, tty.len))
        put_hex(r, (const unsigned char *)tty.p, tty.len);
    else
        put(r, tty.p, tty.len);
    if (s->has_auid)
        PUT_U(r, " ses=", s->ses);
    struct ar_span comm = cstr(s->comm);
    PUT_LIT(r, " comm=");
    put_untrusted(r, comm.p, comm.len);
    if (s->exe.len) {
        PUT_LIT(r, " exe=");
        put_untrusted(r, s->exe.p, s->exe.len);
    }
    PUT_LIT(r, " key=");
    const char *key = NULL;
    if (plan && s->rule >= 0 && (unsigned)s->rule < plan->nrules)
        key = plan->rules[s->rule].key;
    if (key && key[0])
        put_untrusted(r, key, strnlen(key, AR_TP_KEY_MAX));
    else
        PUT_LIT(r, "(null)");
    if ((s->cut & AR_TP_CUT_EXE) && s->exe.len)
        PUT_LIT(r, " truncated=exe");
    bool late_exe = (s->late & AR_TP_LATE_EXE) && s->exe.len;
    bool late_ids = s->late & AR_TP_LATE_IDS;
    if (late_exe || late_ids) {
        PUT_LIT(r, " late=");
        if (late_exe)
            PUT_LIT(r, "exe");
        if (late_exe && late_ids)
            PUT_LIT(r, ",");
        if (late_ids) {
            if (s->has_auid)
                PUT_LIT(r, "auid,");
            PUT_LIT(r, "uid,gid,euid,suid,fsuid,egid,sgid,fsgid");
            if (s->has_auid)
                PUT_LIT(r, ",ses");
        }
    }
}

int ar_tp_render(struct ar_tp_render *r, const struct ar_tp_plan *plan,
                 const struct ar_tp_sample *s, ar_tp_record_fn emit, void *userdata)
{
    if (s->kind != AR_TP_SYSCALL)
        return 0;
    r->oom = false;
    int ret;

    r->len = 0;
    syscall_body(r, plan, s);
    if ((ret = emit_record(r, AUDIT_SYSCALL, s, emit, userdata)) < 0)
        goto out;

    /* The kernel writes EXECVE (and the new PROCTITLE) only for an exec that
     * happened (audit_bprm runs after the binary was loaded): a failed execve's
     * argv was never the process's. */
    unsigned nargv = s->nargv < AR_TP_MAX_ARGS ? s->nargv : AR_TP_MAX_ARGS;
    if (s->exit != 0)
        nargv = 0;
    unsigned npaths = s->npaths < AR_TP_MAX_PATHS ? s->npaths : AR_TP_MAX_PATHS;
    if (nargv) {
        /* Long arguments are not split into aN_len/aN[i] chunks as the kernel does
         * past its record size: a record here may be as long as the args are. */
        r->len = 0;
        PUT_U(r, "argc=", nargv);
        for (unsigned i = 0; i < nargv; i++) {
            PUT_U(r, " a", i);
            PUT_LIT(r, "=");
            put_untrusted(r, s->argv[i].p, s->argv[i].len);
        }
        /* The engine carried fewer args (or shorter ones) than the process had. */
        if (s->argv_truncated)
            PUT_LIT(r, " truncated=yes");
        put_late(r, s->late & AR_TP_LATE_ARGV, "argv");
        if ((ret = emit_record(r, AUDIT_EXECVE, s, emit, userdata)) < 0)
            goto out;
    }

    if (s->sockaddr.len) {
        r->len = 0;
        PUT_LIT(r, "saddr=");
        put_hex(r, (const unsigned char *)s->sockaddr.p, s->sockaddr.len);
        put_late(r, s->late & AR_TP_LATE_SOCKADDR, "saddr");
        if ((ret = emit_record(r, AUDIT_SOCKADDR, s, emit, userdata)) < 0)
            goto out;
    }

    /* CWD only beside names, as the kernel (its pwd is taken by a name lookup). */
    if (s->cwd.len && npaths) {
        r->len = 0;
        PUT_LIT(r, "cwd=");
        put_untrusted(r, s->cwd.p, s->cwd.len);
        if (s->cut & AR_TP_CUT_CWD)
            PUT_LIT(r, " truncated=yes");
        put_late(r, s->late & AR_TP_LATE_CWD, "cwd");
        if ((ret = emit_record(r, AUDIT_CWD, s, emit, userdata)) < 0)
            goto out;
    }

    for (unsigned i = 0; i < npaths; i++) {
        /* Only the name: inode, dev, mode, owner and nametype are not known. */
        r->len = 0;
        PUT_U(r, "item=", i);
        PUT_LIT(r, " name=");
        if (s->paths[i].len)
            put_untrusted(r, s->paths[i].p, s->paths[i].len);
        else
            PUT_LIT(r, "(null)");
        if (s->cut & (i == 0 ? AR_TP_CUT_PATH0 : AR_TP_CUT_PATH1))
            PUT_LIT(r, " truncated=yes");
        put_late(r, s->late & (i == 0 ? AR_TP_LATE_PATH0 : AR_TP_LATE_PATH1), "name");
        if ((ret = emit_record(r, AUDIT_PATH, s, emit, userdata)) < 0)
            goto out;
    }

    if (nargv) {
        /* The command line as /proc/PID/cmdline holds it (args NUL-terminated),
         * the first 128 bytes, trailing NULs trimmed (audit_proctitle_rtrim). */
        char title[PROCTITLE_MAX];
        size_t tlen = 0;
        for (unsigned i = 0; i < nargv && tlen < sizeof(title); i++) {
            size_t n = s->argv[i].len;
            if (n > sizeof(title) - tlen)
                n = sizeof(title) - tlen;
            memcpy(title + tlen, s->argv[i].p, n);
            tlen += n;
            if (tlen < sizeof(title))
                title[tlen++] = 0;
        }
        while (tlen && title[tlen - 1] == 0)
            tlen--;
        if (tlen) {
            r->len = 0;
            PUT_LIT(r, "proctitle=");
            put_untrusted(r, title, tlen);
            put_late(r, s->late & AR_TP_LATE_ARGV, "proctitle");
            if ((ret = emit_record(r, AUDIT_PROCTITLE, s, emit, userdata)) < 0)
                goto out;
        }
    }

    r->len = 0;
    ret = emit_record(r, AUDIT_EOE, s, emit, userdata);
out:
    /* A sample is one event whatever happened to its records. */
    r->serial++;
    return ret < 0 ? ret : 0;
}
