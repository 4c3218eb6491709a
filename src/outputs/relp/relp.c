/* RELP (librelp): each JSON line is one syslog message (outputs/syslog/message.h) in a
 * RELP "syslog" command, and the peer acknowledges each. librelp keeps what was sent
 * and not yet acknowledged (at most window= messages) and sends it again when the
 * session is re-established, so a peer that crashes costs duplicates, never loss.
 *
 * A batch is handed over line by line; the position survives a broken session: the
 * lines before it are with librelp (acknowledged, or resent by relpCltReconnect), so
 * the output's retry carries on from the first line librelp did not take.
 *
 * At shutdown the session is closed with RELP's close command, which the peer answers
 * after everything before it; if that answer does not come, the last window of lines
 * may not have arrived, and we say so.
 *
 * relp+tls is the same inside TLS (librelp's, GnuTLS): RELP's TLS is mutual, so ca=,
 * cert= and key= are required; the peer's certificate must chain to ca= and carry
 * the host name (or name=, which may be a wildcard such as *.example.com). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
/* librelp.h uses size_t without including its header. */
#include <librelp.h>

#include "util/buf.h"
#include "outputs/output.h"
#include "outputs/syslog/message.h"
#include "outputs/util.h"

struct relp_transport {
    char host[256], port[32];
    struct ar_syslog_message msg;
    unsigned window;            /* messages sent and not yet acknowledged, at most */
    unsigned timeout;           /* seconds to wait for the peer before the session is broken */
    uint64_t max_message;       /* 0: no limit; larger events are dropped and counted */
    relpEngine_t *engine;
    relpClt_t *clt;
    bool has_session;           /* relpCltConnect succeeded: reconnect from now on */
    bool broken;                /* a send failed: the session waits for a reconnect */
    size_t batch_off;           /* bytes of the current batch librelp has taken */
    struct ar_buf line;         /* one message being handed over */
    char error[640];            /* librelp's last complaint, for the user */
    /* relp+tls: file names and the peer's expected name (empty: plain RELP) */
    bool tls;
    char ca[512], cert[512], key[512], name[256];
    bool close_failed;          /* the error came while closing the session */
    bool closing;
};

static void close_session(struct relp_transport *t);

/* librelp's codes in words, for the ones a user meets. */
static const char *relp_code_words(relpRetVal code)
{
    switch (code) {
    case RELP_RET_IO_ERR: return "I/O error: connection refused, reset or unreachable";
    case RELP_RET_TIMED_OUT: return "the peer did not answer in time (timeout=)";
    case RELP_RET_SESSION_BROKEN: return "the session broke";
    case RELP_RET_SESSION_CLOSED: return "the peer closed the session";
    case RELP_RET_RQD_FEAT_MISSING: return "the peer does not take syslog messages";
    case RELP_RET_INCOMPAT_OFFERS: return "the peer speaks another RELP version";
    case RELP_RET_DATA_TOO_LONG: return "a message is larger than the peer takes";
    case RELP_RET_ERR_TLS_SETUP:
    case RELP_RET_ERR_TLS_HANDS:
        return "TLS handshake failed: a certificate was refused by one side (the peer's by "
               "ca= or name=, or ours by the peer), or the peer does not speak TLS";
    case RELP_RET_AUTH_ERR_NAME: return "TLS: the peer's certificate does not carry name=";
    case RELP_RET_AUTH_ERR_FP: return "TLS: the peer's certificate fingerprint is not permitted";
    case RELP_RET_AUTH_NO_CERT: return "TLS: the peer presented no certificate";
    case RELP_RET_AUTH_CERT_INVL: return "TLS: the peer's certificate is refused";
    case RELP_RET_ERR_TLS: return "TLS error";
    default: return "librelp error";
    }
}

/* librelp reports session errors here; the output prints the last one when it
 * retries, so keep the words. */
static void on_error(void *usr, char *objinfo, char *errmsg, relpRetVal code);

/* The peer's certificate was refused (chain or name). */
static void on_auth_error(void *usr, char *authinfo, char *errmsg, relpRetVal code)
{
    struct relp_transport *t = usr;
    if (!t)
        return;
    snprintf(t->error, sizeof(t->error), "RELP to %s:%s: TLS: the peer's certificate is refused: "
             "%s (%s, librelp %d)", t->host, t->port, errmsg, authinfo, (int)code);
}

static void on_error(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
    struct relp_transport *t = usr;
    if (!t)
        return;
    snprintf(t->error, sizeof(t->error), "RELP to %s:%s: %s (%s, librelp %d)", t->host, t->port,
             errmsg, relp_code_words(code), (int)code);
    if (t->closing)
        t->close_failed = true;
}

static void no_debug(char *fmt, ...)
{
    (void)fmt;
}

static int create(bool tls, const char *target, const char *options, char *err, size_t errlen,
                  void **ret)
{
    const char *scheme = tls ? "relp+tls" : "relp";
    struct relp_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    ar_syslog_message_init(&t->msg);
    t->window = 128;
    t->timeout = 10;
    t->tls = tls;
    if (ar_split_host_port(target, t->host, sizeof(t->host), t->port, sizeof(t->port)) < 0) {
        snprintf(err, errlen, "output %s: wants HOST:PORT with a port number 1-65535, got '%s'",
                 scheme, target);
        free(t);
        return -EINVAL;
    }
    struct ar_option opt;
    const char *rest = options;
    while (ar_option_next(&rest, &opt)) {
        uint64_t n;
        char *end;
        if (ar_syslog_message_option(&t->msg, &opt))
            continue;
        if (AR_OPTION_IS(&opt, "window") && (n = strtoull(opt.value, &end, 10)) >= 1 &&
            n <= 65536 && !*end && opt.value[0] != '-') {
            t->window = (unsigned)n;
            continue;
        }
        if (AR_OPTION_IS(&opt, "timeout") && (n = strtoull(opt.value, &end, 10)) >= 1 &&
            n <= 3600 && !*end && opt.value[0] != '-') {
            t->timeout = (unsigned)n;
            continue;
        }
        if (AR_OPTION_IS(&opt, "max_message") && ar_parse_size(opt.value, &n) == 0) {
            t->max_message = n;
            continue;
        }
        char *tls_value = !tls || !opt.value[0]       ? NULL
                          : AR_OPTION_IS(&opt, "ca")   ? t->ca
                          : AR_OPTION_IS(&opt, "cert") ? t->cert
                          : AR_OPTION_IS(&opt, "key")  ? t->key
                          : AR_OPTION_IS(&opt, "name") ? t->name
                                                       : NULL;
        if (tls_value) {
            snprintf(tls_value, tls_value == t->name ? sizeof(t->name) : sizeof(t->ca), "%s",
                     opt.value);
            continue;
        }
        snprintf(err, errlen,
                 "output %s://%s: bad option '%s=%s' (" AR_SYSLOG_MESSAGE_OPTIONS
                 ", window=1..65536, timeout=1..3600 seconds, max_message=SIZE%s)",
                 scheme, target, opt.name, opt.value,
                 tls ? ", ca=FILE, cert=FILE, key=FILE, name=HOST" : "");
        free(t);
        return -EINVAL;
    }
    if (tls) {
        /* librelp reads the files at connect time: check them now, so a typo is a
         * start-up error and not an endless reconnect. */
        const char *missing = !t->ca[0] ? "ca=FILE" : !t->cert[0] ? "cert=FILE"
                              : !t->key[0] ? "key=FILE" : NULL;
        const char *unreadable = access(t->ca, R_OK) < 0     ? t->ca
                                 : access(t->cert, R_OK) < 0 ? t->cert
                                 : access(t->key, R_OK) < 0  ? t->key
                                                             : NULL;
        if (missing || unreadable) {
            if (missing)
                snprintf(err, errlen, "output relp+tls://%s: RELP's TLS is mutual: it wants "
                         "ca=FILE, cert=FILE and key=FILE (%s is missing)", target, missing);
            else
                snprintf(err, errlen, "output relp+tls://%s: cannot read %s: %s", target,
                         unreadable, strerror(errno));
            free(t);
            return -EINVAL;
        }
        if (!t->name[0])
            snprintf(t->name, sizeof(t->name), "%s", t->host);
    }
    *ret = t;
    return 0;
}

static int relp_create(const char *target, const char *options, char *err, size_t errlen,
                       void **ret)
{
    return create(false, target, options, err, errlen, ret);
}

static int relp_tls_create(const char *target, const char *options, char *err, size_t errlen,
                           void **ret)
{
    return create(true, target, options, err, errlen, ret);
}

/* The engine and client are made at the first connect and kept: the client's session
 * holds the unacknowledged messages that a reconnect sends again. */
static int make_client(struct relp_transport *t)
{
    if (relpEngineConstruct(&t->engine) != RELP_RET_OK)
        return -ENOMEM;
    relpEngineSetDbgprint(t->engine, no_debug);
    relpEngineSetEnableCmd(t->engine, (unsigned char *)"syslog", eRelpCmdState_Required);
    relpEngineSetDnsLookupMode(t->engine, 0);
    relpEngineSetOnErr(t->engine, on_error);
    if (relpEngineCltConstruct(t->engine, &t->clt) != RELP_RET_OK) {
        relpEngineDestruct(&t->engine);
        return -ENOMEM;
    }
    relpCltSetUsrPtr(t->clt, t);
    relpCltSetTimeout(t->clt, t->timeout);
    relpCltSetConnTimeout(t->clt, (int)t->timeout);
    relpCltSetWindowSize(t->clt, (int)t->window);
    /* Verify the peer: its chain to ca= and its name (authmode "name"). */
    if (t->tls && (relpEngineSetOnAuthErr(t->engine, on_auth_error) != RELP_RET_OK ||
                   relpCltEnableTLS(t->clt) != RELP_RET_OK ||
                   relpCltSetAuthMode(t->clt, (char *)"name") != RELP_RET_OK ||
                   relpCltAddPermittedPeer(t->clt, t->name) != RELP_RET_OK ||
                   relpCltSetCACert(t->clt, t->ca) != RELP_RET_OK ||
                   relpCltSetOwnCert(t->clt, t->cert) != RELP_RET_OK ||
                   relpCltSetPrivKey(t->clt, t->key) != RELP_RET_OK)) {
        relpEngineCltDestruct(t->engine, &t->clt);
        relpEngineDestruct(&t->engine);
        return -EINVAL;
    }
    return 0;
}

static int relp_connect(void *vt)
{
    struct relp_transport *t = vt;
    if (!t->clt && make_client(t) < 0) {
        snprintf(t->error, sizeof(t->error), "RELP: cannot set up librelp%s",
                 t->tls ? " with TLS" : "");
        return -ENOMEM;
    }
    t->error[0] = '\0';
    relpRetVal r;
    if (!t->has_session) {
        r = relpCltConnect(t->clt, AF_UNSPEC, (unsigned char *)t->port, (unsigned char *)t->host);
        t->has_session = r == RELP_RET_OK;
    } else {
        /* Re-establishes the session and sends what the peer had not acknowledged. */
        r = relpCltReconnect(t->clt);
    }
    if (r != RELP_RET_OK) {
        if (!t->error[0])
            snprintf(t->error, sizeof(t->error), "cannot open a RELP session to %s:%s (%s, "
                     "librelp %d)", t->host, t->port, relp_code_words(r), (int)r);
        return -ECONNREFUSED;
    }
    t->broken = false;
    return 0;
}

static int relp_send(void *vt, const struct ar_lines *b, uint64_t *dropped)
{
    struct relp_transport *t = vt;
    const char *lines = b->p;
    size_t len = b->len;
    struct ar_lines_cursor cursor = {0};
    if (t->batch_off > len)
        t->batch_off = 0;
    /* No relpCltHintBurstBegin: TCP_CORK would hold a partial frame while librelp
     * waits for acknowledgements of a full window (measured: 200 ms stalls). */
    int r = 0;
    while (t->batch_off < len) {
        const char *p = lines + t->batch_off, *end = lines + len;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t next = (size_t)((nl ? nl + 1 : end) - lines);
        char header[512];
        size_t hn = ar_syslog_header(&t->msg, ar_lines_meta(b, &cursor, t->batch_off), header);
        if (t->max_message && hn + (size_t)(le - p) > t->max_message) {
            (*dropped)++;
            t->batch_off = next;
            continue;
        }
        t->line.len = 0;
        ar_buf_put(&t->line, header, hn);
        ar_buf_put(&t->line, p, (size_t)(le - p));
        if (t->line.failed) {
            t->line.failed = false;
            r = -ENOMEM;
            break;
        }
        /* Blocks while the window is full, reading the peer's acknowledgements. A
         * message librelp could not send is not in its list: it is ours to retry. */
        relpRetVal rr = relpCltSendSyslog(t->clt, (unsigned char *)t->line.p, t->line.len);
        if (rr != RELP_RET_OK) {
            if (!t->error[0])
                snprintf(t->error, sizeof(t->error), "RELP session to %s:%s broken (%s, "
                         "librelp %d)", t->host, t->port, relp_code_words(rr), (int)rr);
            r = -EPIPE;
            t->broken = true;
            break;
        }
        t->batch_off = next;
    }
    if (r == 0)
        t->batch_off = 0;
    return r;
}

/* Closes the session with RELP's close command, whose answer comes after the peer
 * acknowledged everything sent before it; says so when that answer did not come. */
static void close_session(struct relp_transport *t)
{
    if (!t->clt)
        return;
    t->closing = true;
    t->close_failed = false;
    relpEngineCltDestruct(t->engine, &t->clt);
    t->closing = false;
    if (t->has_session && (t->broken || t->close_failed))
        fprintf(stderr,
                "auditrelay: output relp://%s:%s: the session was not closed cleanly (%s): up "
                "to the last %u messages may not have been acknowledged\n",
                t->host, t->port, t->error[0] ? t->error : "the peer is gone", t->window);
    t->has_session = t->broken = false;
    relpEngineDestruct(&t->engine);
}

/* After a failed send the session is kept: the reconnect re-establishes it and sends
 * its unacknowledged messages. Otherwise (the output is done) it is closed. */
static void relp_disconnect(void *vt)
{
    struct relp_transport *t = vt;
    if (!t->broken)
        close_session(t);
}

static void relp_destroy(void *vt)
{
    struct relp_transport *t = vt;
    close_session(t);
    ar_buf_free(&t->line);
    free(t);
}

static const char *relp_error(void *vt)
{
    struct relp_transport *t = vt;
    return t->error[0] ? t->error : NULL;
}

const struct ar_transport_ops ar_transport_relp = {
    .scheme = "relp", .create = relp_create, .connect = relp_connect, .send = relp_send,
    .disconnect = relp_disconnect, .destroy = relp_destroy, .error = relp_error,
    .spools = true, .acknowledged = true,
};

const struct ar_transport_ops ar_transport_relp_tls = {
    .scheme = "relp+tls", .create = relp_tls_create, .connect = relp_connect, .send = relp_send,
    .disconnect = relp_disconnect, .destroy = relp_destroy, .error = relp_error,
    .spools = true, .acknowledged = true,
};
