/* auditd's own log formats (auditd.conf log_format = RAW or ENRICHED), for
 * /var/log/audit/audit.log and auditd's plugins: one line per record,
 * `[node=N ]type=NAME msg=audit(SEC.MS:SERIAL): body`, with ENRICHED's 0x1d and
 * the interpreted names auditd 3.0 appends (uid and gid names, ARCH, SYSCALL,
 * SADDR). The formats `raw` and `enriched`. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <linux/audit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encoder_impl.h"
#include "enrich/decode.h"
#include "audit/tables.h"

struct auditlog_config {
    bool enriched;        /* ENRICHED: names appended after 0x1d; else RAW */
    bool eoe;             /* write EOE records (the dispatcher stream has them, the log not) */
    uint32_t native_arch; /* what a record without arch= is taken to be */
};

/* auditd formats a record into MAX_AUDIT_MESSAGE_LENGTH (8970) plus a host name
 * (255): the RAW line may use 8970 - 32 - 1 bytes, enrichment stops when fewer
 * than 24 are left (auditd-event.c's FORMAT_BUF_LEN, MIN_SPACE_LEFT). */
#define LINE_MAX_RAW (8970 - 32 - 1)
#define LINE_MAX_NODE (8970 + 255 - 32 - 1)
#define FORMAT_BUF_LEN (8970 + 255)
#define MIN_SPACE_LEFT 24

/* What auditd 3.0's ENRICHED format appends a name for (libauparse's field type
 * table: UID, GID, SYSCALL, ARCH and SOCKADDR types; every other type is left
 * alone). Checked against libauparse by tests/peers/enriched_vs_auparse.c. */
enum interp { I_NONE, I_UID, I_GID, I_SYSCALL, I_ARCH, I_SADDR };

static const struct {
    const char *name;
    uint8_t kind;
} interp_fields[] = {
    {"auid", I_UID},      {"uid", I_UID},       {"euid", I_UID},      {"suid", I_UID},
    {"fsuid", I_UID},     {"ouid", I_UID},      {"oauid", I_UID},     {"old-auid", I_UID},
    {"iuid", I_UID},      {"id", I_UID},        {"inode_uid", I_UID}, {"sauid", I_UID},
    {"obj_uid", I_UID},   {"obj_gid", I_GID},   {"gid", I_GID},       {"egid", I_GID},
    {"sgid", I_GID},      {"fsgid", I_GID},     {"ogid", I_GID},      {"igid", I_GID},
    {"inode_gid", I_GID}, {"new_gid", I_GID},   {"syscall", I_SYSCALL}, {"arch", I_ARCH},
    {"saddr", I_SADDR},
};

static enum interp interp_of(uint32_t rtype, struct ar_span name)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(interp_fields); i++) {
        if (!ar_span_eq(name, interp_fields[i].name, strlen(interp_fields[i].name)))
            continue;
        enum interp k = interp_fields[i].kind;
        /* libauparse's corrections for names used twice: an AVC's saddr is text, a
         * NETFILTER_PKT's an address. */
        if (k == I_SADDR && (rtype == AUDIT_AVC || rtype == AUDIT_NETFILTER_PKT))
            return I_NONE;
        return k;
    }
    return I_NONE;
}

/* strtoul(val, NULL, 10) as libauparse reads an id: leading digits, none is 0;
 * false on overflow. */
static bool lenient_ulong(struct ar_span v, uint64_t *ret)
{
    uint64_t x = 0;
    size_t i = 0;
    while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
        i++;
    bool neg = false;
    if (i < v.len && (v.p[i] == '+' || v.p[i] == '-'))
        neg = v.p[i++] == '-';
    for (; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++) {
        unsigned d = (unsigned)(v.p[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *ret = neg ? (uint64_t)0 - x : x;
    return true;
}

/* auditd writes uid and gid names through audit_encode_nv_string: quoted, or in
 * hex when the name holds a quote, a space, a control byte or a byte above 0x7e. */
static void put_encoded(struct ar_buf *out, const char *upname, size_t nlen, const char *v,
                        size_t vlen)
{
    bool hex = false;
    for (size_t i = 0; i < vlen && !hex; i++) {
        unsigned char c = (unsigned char)v[i];
        hex = c == '"' || c < 0x21 || c > 0x7e;
    }
    ar_buf_put(out, upname, nlen);
    ar_buf_putc(out, '=');
    if (hex) {
        static const char digits[] = "0123456789ABCDEF";
        for (size_t i = 0; i < vlen; i++) {
            ar_buf_putc(out, digits[(unsigned char)v[i] >> 4]);
            ar_buf_putc(out, digits[(unsigned char)v[i] & 15]);
        }
    } else {
        ar_buf_putc(out, '"');
        ar_buf_put(out, v, vlen);
        ar_buf_putc(out, '"');
    }
}

static const char *const families[] = {
    [1] = "local",      [2] = "inet",      [3] = "ax25",     [4] = "ipx",
    [5] = "appletalk",  [6] = "netrom",    [7] = "bridge",   [8] = "atmpvc",
    [9] = "x25",        [10] = "inet6",    [11] = "rose",    [12] = "decnet",
    [13] = "netbeui",   [14] = "security", [15] = "key",     [16] = "netlink",
    [17] = "packet",    [18] = "ash",      [19] = "econet",  [20] = "atmsvc",
    [21] = "rds",       [22] = "sna",      [23] = "irda",    [24] = "pppox",
    [25] = "wanpipe",   [26] = "llc",      [29] = "can",     [30] = "tipc",
    [31] = "bluetooth", [32] = "iucv",     [33] = "rxrpc",   [34] = "isdn",
    [35] = "phonet",    [36] = "ieee802154", [37] = "caif",  [38] = "alg",
    [39] = "nfc",       [40] = "vsock",    [41] = "kcm",     [42] = "qipcrtr",
    [43] = "smc",       [44] = "xdp",
};

/* libauparse's sockaddr text ("{ saddr_fam=inet laddr=10.0.0.1 lport=53 }"). The
 * bytes are decoded as libauparse does: leading hex digits, the family read in
 * host order with the string's terminator as a missing byte. */
static void put_sockaddr(struct ar_buf *out, struct ar_span v)
{
    size_t hex = 0;
    while (hex < v.len && isxdigit((unsigned char)v.p[hex]))
        hex++;
    if (hex < 2) {
        AR_BUF_LIT(out, "malformed-host(");
        ar_buf_put(out, v.p, v.len);
        ar_buf_putc(out, ')');
        return;
    }
    unsigned char raw[4096 + 2] = {0};
    size_t n = hex / 2 > 4096 ? 4096 : hex / 2;
    for (size_t i = 0; i < n; i++) {
        char pair[3] = {v.p[2 * i], v.p[2 * i + 1], 0};
        raw[i] = (unsigned char)strtoul(pair, NULL, 16);
    }
    unsigned fam = (unsigned)raw[0] | (unsigned)raw[1] << 8;
    const char *name = fam < AR_ARRAY_SIZE(families) ? families[fam] : NULL;
    char tmp[160];
    if (!name) {
        int k = snprintf(tmp, sizeof(tmp), "unknown-family(%u)", fam);
        ar_buf_put(out, tmp, (size_t)k);
        return;
    }
    AR_BUF_LIT(out, "{ saddr_fam=");
    ar_buf_put(out, name, strlen(name));
    ar_buf_putc(out, ' ');
    switch (fam) {
    case 1: { /* AF_UNIX: the path, or the abstract name after its NUL */
        if (n < 3) {
            AR_BUF_LIT(out, "sockaddr len too short }");
            return;
        }
        size_t from = raw[2] ? 2 : 3, to = from;
        while (to < n && to < 2 + 108 && raw[to])
            to++;
        AR_BUF_LIT(out, "path=");
        ar_buf_put(out, (const char *)raw + from, to - from);
        AR_BUF_LIT(out, " }");
        return;
    }
    case 2: {
        if (n < 16) {
            AR_BUF_LIT(out, "sockaddr len too short }");
            return;
        }
        char a[INET_ADDRSTRLEN];
        ar_ipv4_text(raw + 4, a);
        int k = snprintf(tmp, sizeof(tmp), "laddr=%s lport=%u }", a,
                         (unsigned)raw[2] << 8 | raw[3]);
        ar_buf_put(out, tmp, (size_t)k);
        return;
    }
    case 10: {
        if (n < 28) {
            AR_BUF_LIT(out, "sockaddr6 len too short }");
            return;
        }
        char a[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, raw + 8, a, sizeof(a));
        int k = snprintf(tmp, sizeof(tmp), "laddr=%s lport=%u }", a,
                         (unsigned)raw[2] << 8 | raw[3]);
        ar_buf_put(out, tmp, (size_t)k);
        return;
    }
    case 16: {
        if (n < 12) {
            AR_BUF_LIT(out, "len too short }");
            return;
        }
        uint32_t pid;
        memcpy(&pid, raw + 4, 4);
        int k = snprintf(tmp, sizeof(tmp), "nlnk-fam=%u nlnk-pid=%u }", fam, pid);
        ar_buf_put(out, tmp, (size_t)k);
        return;
    }
    default:
        /* libauparse prints a few more families (ax25, atmpvc, x25) field by field;
         * they are not seen on the machines this serves and are marked. */
        AR_BUF_LIT(out, "(unsupported) }");
        return;
    }
}

/* i386's multiplexed calls: libauparse names the operation in a0. */
static const char *const socketcalls[] = {
    NULL, "socket", "bind", "connect", "listen", "accept", "getsockname", "getpeername",
    "socketpair", "send", "recv", "sendto", "recvfrom", "shutdown", "setsockopt",
    "getsockopt", "sendmsg", "recvmsg", "accept4", "recvmmsg", "sendmmsg",
};
static const char *const ipccalls[] = {
    [1] = "semop", [2] = "semget", [3] = "semctl", [4] = "semtimedop", [11] = "msgsnd",
    [12] = "msgrcv", [13] = "msgget", [14] = "msgctl", [21] = "shmat", [22] = "shmdt",
    [23] = "shmget", [24] = "shmctl",
};

/* The interpretation auditd's ENRICHED format appends for one field of a record
 * of type `rtype`, in its final form (`NAME="value"`, `NAME=HEX` or `NAME=value`),
 * written to out; false when auditd appends nothing for that field. `arch`,
 * `syscall` and `a0` are the record's own (arch 0: none given). */
static bool interpret(uint32_t rtype, struct ar_span name, struct ar_span value, uint32_t arch,
                      int64_t syscall, uint64_t a0, uint32_t native_arch, struct ar_idcache *ids,
                      struct ar_buf *out)
{
    enum interp k = interp_of(rtype, name);
    if (k == I_NONE)
        return false;
    char up[64];
    size_t nlen = name.len < sizeof(up) - 1 ? name.len : sizeof(up) - 1;
    for (size_t i = 0; i < nlen; i++)
        up[i] = (char)toupper((unsigned char)name.p[i]);
    char tmp[128];
    switch (k) {
    case I_UID:
    case I_GID: {
        uint64_t v;
        const char *s;
        int len;
        if (!lenient_ulong(value, &v)) {
            len = snprintf(tmp, sizeof(tmp), "conversion error(%.*s)",
                           (int)(value.len > 64 ? 64 : value.len), value.p);
            s = tmp;
        } else {
            uint32_t id = (uint32_t)v;
            s = id == UINT32_MAX ? "unset" : id == 0 ? "root" : NULL;
            if (!s && ids)
                s = ar_idcache_name(ids, k == I_UID ? AR_ID_USER : AR_ID_GROUP, id);
            if (!s) {
                snprintf(tmp, sizeof(tmp), "unknown(%d)", (int)id);
                s = tmp;
            }
            len = (int)strlen(s);
        }
        put_encoded(out, up, nlen, s, (size_t)len);
        return true;
    }
    case I_ARCH: {
        ar_buf_put(out, up, nlen);
        ar_buf_putc(out, '=');
        uint64_t a;
        const char *s = ar_span_hex_to_u64(value, &a) && a <= UINT32_MAX
                            ? ar_arch_name((uint32_t)a) : NULL;
        if (s) {
            ar_buf_put(out, s, strlen(s));
        } else {
            AR_BUF_LIT(out, "unknown-elf-type(");
            ar_buf_put(out, value.p, value.len);
            ar_buf_putc(out, ')');
        }
        return true;
    }
    case I_SYSCALL: {
        ar_buf_put(out, up, nlen);
        ar_buf_putc(out, '=');
        uint32_t machine = arch && ar_arch_name(arch) ? arch : native_arch;
        const char *s = syscall >= 0
                            ? ar_syscall_name(machine, (uint32_t)syscall) : NULL;
        if (!s) {
            int len = snprintf(tmp, sizeof(tmp), "unknown-syscall(%d)", (int)syscall);
            ar_buf_put(out, tmp, (size_t)len);
            return true;
        }
        ar_buf_put(out, s, strlen(s));
        const char *func = NULL;
        if (!strcmp(s, "socketcall") && a0 < AR_ARRAY_SIZE(socketcalls))
            func = socketcalls[a0];
        else if (!strcmp(s, "ipc") && a0 < AR_ARRAY_SIZE(ipccalls))
            func = ipccalls[a0];
        if (func) {
            ar_buf_putc(out, '(');
            ar_buf_put(out, func, strlen(func));
            ar_buf_putc(out, ')');
        }
        return true;
    }
    case I_SADDR:
        ar_buf_put(out, up, nlen);
        ar_buf_putc(out, '=');
        put_sockaddr(out, value);
        return true;
    case I_NONE:
        break;
    }
    return false;
}

/* The names auditd appends to one record: 0x1d before the first, spaces between,
 * while room is left in auditd's buffer. */
static void put_enrichment(const struct auditlog_config *cfg, struct ar_idcache *ids,
                           struct ar_tokens *t, uint32_t rtype, struct ar_span body,
                           size_t line_len, struct ar_buf *out)
{
    ar_tokenize(body.p, body.p + body.len, t);
    uint32_t arch = 0;
    int64_t syscall = -1;
    uint64_t a0 = 0;
    /* libauparse takes the machine, the syscall and a0 for its interpretations by
     * position, as a SYSCALL record has them: arch as the first field, syscall as
     * the second, a0 as the sixth (other records get the native machine and
     * "unknown-syscall(-1)"). Words without '=' do not count. */
    size_t pos = 0;
    for (size_t i = 0; i < t->n && pos < 6; i++) {
        const struct ar_field *f = &t->fields[i];
        if (f->kind == AR_VAL_NESTED || f->kind == AR_VAL_BARE)
            continue;
        pos++;
        uint64_t v;
        if (pos == 1 && AR_SPAN_IS(f->key, "arch")) {
            if (ar_span_hex_to_u64(f->value, &v) && v <= UINT32_MAX)
                arch = (uint32_t)v;
        } else if (pos == 2 && AR_SPAN_IS(f->key, "syscall")) {
            syscall = lenient_ulong(f->value, &v) ? (int64_t)(int32_t)v : -1;
        } else if (pos == 6 && AR_SPAN_IS(f->key, "a0")) {
            if (ar_span_hex_to_u64(f->value, &v))
                a0 = v;
        }
    }
    size_t left = FORMAT_BUF_LEN - line_len;
    unsigned sep_done = 0;
    for (size_t i = 0; i < t->n && left > MIN_SPACE_LEFT; i++) {
        const struct ar_field *f = &t->fields[i];
        if (f->kind == AR_VAL_NESTED || f->kind == AR_VAL_BARE ||
            interp_of(rtype, f->key) == I_NONE)
            continue;
        /* auditd puts the separator down (and counts it) before it knows whether
         * the first name fits; later names get a space. */
        if (sep_done++ == 0) {
            ar_buf_putc(out, AR_ENRICH_SEP);
            left--;
        }
        size_t mark = out->len;
        if (sep_done > 1)
            ar_buf_putc(out, ' ');
        size_t fstart = out->len;
        interpret(rtype, f->key, f->value, arch, syscall, a0, cfg->native_arch, ids,
                              out);
        /* A name that does not fit is skipped, not cut. */
        if (1 + (out->len - fstart) + 1 >= left) {
            out->len = mark;
            continue;
        }
        left -= out->len - mark;
    }
}

static void put_header(struct ar_buf *out, const struct ar_event *ev, uint32_t type)
{
    struct ar_span node = ar_event_node(ev);
    if (node.len) {
        /* A replayed node name with a NUL in it: to the NUL, as auditd's %s. */
        const char *nul = memchr(node.p, '\0', node.len);
        AR_BUF_LIT(out, "node=");
        ar_buf_put(out, node.p, nul ? (size_t)(nul - node.p) : node.len);
        ar_buf_putc(out, ' ');
    }
    AR_BUF_LIT(out, "type=");
    const char *name = ar_rectype_name(type);
    char tmp[64];
    if (name) {
        ar_buf_put(out, name, strlen(name));
    } else {
        int k = snprintf(tmp, sizeof(tmp), "UNKNOWN[%u]", type);
        ar_buf_put(out, tmp, (size_t)k);
    }
    AR_BUF_LIT(out, " msg=");
}

/* Appends the event's records, one line each ending in '\n', as auditd writes
 * them: the kernel's text byte for byte (auditd's limits: a line is cut at 8937
 * bytes, newlines inside become spaces, one trailing space is dropped). A record
 * that came with names (an ENRICHED log replayed) keeps them in ENRICHED and
 * loses them in RAW. `tokens` is scratch for the tokenizer. ids may be NULL. */
static void auditlog_event(const struct auditlog_config *cfg, struct ar_idcache *ids,
                           struct ar_tokens *tokens, const struct ar_event *ev, struct ar_buf *out)
{
    char stamp[64];
    int slen = snprintf(stamp, sizeof(stamp), "audit(%llu.%03u:%u): ",
                        (unsigned long long)ev->sec, ev->msec, ev->serial);
    bool has_node = ev->node_len > 0;
    for (uint32_t i = 0; i < ev->nrecords; i++) {
        const struct ar_event_record *r = &ev->records[i];
        if (r->type == AUDIT_EOE && !cfg->eoe)
            continue;
        size_t start = out->len;
        put_header(out, ev, r->type);
        size_t msg = out->len;
        struct ar_span body = ar_event_body(ev, i);
        if (r->has_time)
            ar_buf_put(out, stamp, (size_t)slen);
        else /* replayed "msg=?" records: as they were read */
            ar_buf_put(out, body.len ? "? " : "?", body.len ? 2 : 1);
        ar_buf_put(out, body.p, body.len);
        if (out->failed)
            return;
        /* auditd's snprintf limit, then its newline-to-space and trailing-space
         * rules (with a node name the format's own newline is the space dropped). */
        size_t max = has_node ? LINE_MAX_NODE : LINE_MAX_RAW;
        bool cut = out->len - start > max;
        if (cut)
            out->len = start + max;
        char *line = out->p + start;
        size_t len = out->len - start;
        for (char *p = line; (p = memchr(p, '\n', len - (size_t)(p - line))); p++)
            *p = ' ';
        /* A NUL ends auditd's %.*s of the message early. */
        char *nul = memchr(out->p + msg, '\0', out->len - msg);
        if (nul) {
            out->len = (size_t)(nul - out->p);
            len = out->len - start;
        }
        if (!has_node && !cut && len && line[len - 1] == ' ')
            out->len--;
        struct ar_span enriched = ar_event_enriched(ev, i);
        if (cfg->enriched && enriched.len) {
            /* The names a replayed ENRICHED record came with, to a NUL as the rest. */
            const char *enul = memchr(enriched.p, '\0', enriched.len);
            ar_buf_putc(out, AR_ENRICH_SEP);
            ar_buf_put(out, enriched.p, enul ? (size_t)(enul - enriched.p) : enriched.len);
        } else if (cfg->enriched && FORMAT_BUF_LEN - (out->len - start) > MIN_SPACE_LEFT) {
            /* libauparse reads the line auditd formatted: the body to its first NUL. */
            const char *bnul = memchr(body.p, '\0', body.len);
            if (bnul)
                body.len = (size_t)(bnul - body.p);
            put_enrichment(cfg, ids, tokens, r->type, body, out->len - start, out);
        }
        ar_buf_putc(out, '\n');
    }
}

/* A loss report as an audit record auditd's tools read (type=DAEMON_ERR, serial 0,
 * op=auditrelay-loss kind=... count=... after_serial=... res=failed). */
static void auditlog_loss(struct ar_encoder *e, const struct ar_loss *loss, struct ar_buf *out)
{
    const char *kind = loss->kind;
    struct ar_span node = loss->node;
    uint32_t after_serial = loss->after_serial;
    uint64_t count = loss->count, now_sec = loss->now_sec;
    char tmp[256];
    if (node.len) {
        AR_BUF_LIT(out, "node=");
        ar_buf_put(out, node.p, node.len);
        ar_buf_putc(out, ' ');
    }
    int k = snprintf(tmp, sizeof(tmp),
                     "type=DAEMON_ERR msg=audit(%llu.000:0): op=auditrelay-loss kind=%s "
                     "count=%llu after_serial=%u res=failed\n",
                     (unsigned long long)now_sec, kind, (unsigned long long)count, after_serial);
    ar_buf_put(out, tmp, (size_t)k);
}

static int event(struct ar_encoder *e, const struct ar_event *ev, bool enriched, struct ar_buf *out)
{
    struct auditlog_config cfg = {
        .enriched = enriched, .eoe = e->cfg.eoe, .native_arch = e->cfg.native_arch};
    struct ar_tokens t = {.fields = e->fields, .cap = AR_ENC_MAX_FIELDS};
    auditlog_event(&cfg, e->ids, &t, ev, out);
    return 0;
}

static int raw_event(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *out)
{
    return event(e, ev, false, out);
}

static int enriched_event(struct ar_encoder *e, const struct ar_event *ev, struct ar_buf *out)
{
    return event(e, ev, true, out);
}

const struct ar_format_ops ar_format_raw = {
    .name = "raw",
    .event = raw_event,
    .loss = auditlog_loss,
};

const struct ar_format_ops ar_format_enriched = {
    .name = "enriched",
    .event = enriched_event,
    .loss = auditlog_loss,
};
