/* Syslog over UDP, TCP and unix sockets: each JSON line becomes one message
 * (outputs/syslog/message.h), TCP framed by octet counting (RFC 6587; framing=newline
 * as an option).
 *
 * syslog+tls is the TCP output inside TLS (RFC 5425, GnuTLS): the peer's certificate
 * must chain to ca=FILE (default: the system's trust store) and match the host name
 * (or name=); cert=FILE&key=FILE present a client certificate. This file is built
 * twice (meson.build): into the collector without TLS (syslog+udp, syslog+tcp, unix),
 * and with AR_SYSLOG_TLS=1 into the module auditrelay-tls.so (syslog+tls only), so
 * that GnuTLS and the eight libraries it brings are mapped only where a syslog+tls
 * output is configured (util/module.c: they were most of the dynamic loader's 3 ms
 * in every start).
 *
 * unix:PATH speaks /dev/log's dialect by default: format=local (syslog(3)'s header)
 * and, for type=stream, one message per line (syslog-ng's unix-stream()). Unlike UDP,
 * a unix datagram socket is flow-controlled and tells a dead peer (ECONNREFUSED), so
 * it is treated like TCP: a peer that is down or slow spools, nothing is dropped.
 *
 * Datagrams (UDP, unix dgram) carry at most max_datagram bytes (default 65000, the
 * IPv4 limit being 65507; unix up to UNIX_DATAGRAM_MAX): a longer event is not cut
 * (that would be invalid JSON) but dropped and counted; use a stream for events that
 * large. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "outputs/output.h"
#include "outputs/syslog/message.h"
#include "outputs/util.h"

#ifndef AR_SYSLOG_TLS
#define AR_SYSLOG_TLS 0
#endif
#if AR_SYSLOG_TLS
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#endif

enum kind { K_UDP, K_TCP, K_TLS, K_UNIX };

struct syslog_transport {
    enum kind kind;
    char host[256], port[32], path[108];
    bool unix_stream;           /* unix: stream (else datagram, /dev/log style) */
    bool newline_framing;
    struct ar_syslog_message msg;
    size_t max_datagram;
    int fd;
#if AR_SYSLOG_TLS
    char ca[512], cert[512], key[512], name[256];
    gnutls_certificate_credentials_t creds;
    gnutls_session_t session;
#endif
    char error[640];            /* the last connect failure, for the user */
    /* Streams frame a batch a piece at a time (FRAME_CHUNK), so framing costs a
     * bounded buffer, not a copy of the batch. */
    struct ar_buf framed;       /* messages being sent */
    size_t framed_off;          /* bytes of framed already sent */
    const char *batch;          /* the batch being sent */
    size_t batch_len;
    size_t batch_off;           /* bytes of the batch framed (streams) or sent
                                 * (datagrams) so far */
};

#define FRAME_CHUNK (256u * 1024)
/* The largest unix datagram a socket takes with the kernel's default buffer limit
 * (net.core.wmem_max 212992, less the 32 bytes the kernel keeps back). */
#define UNIX_DATAGRAM_MAX 212960u

static int create(enum kind kind, const char *target, const char *options, char *err,
                  size_t errlen, void **ret)
{
    struct syslog_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->kind = kind;
    t->fd = -1;
    ar_syslog_message_init(&t->msg);
    t->max_datagram = 65000;
    int r = 0;
    if (kind == K_UNIX) {
        if (!*target || strlen(target) >= sizeof(t->path))
            r = -EINVAL;
        snprintf(t->path, sizeof(t->path), "%s", target);
        t->msg.format = AR_SYSLOG_LOCAL;
        t->newline_framing = true;
    } else if (ar_split_host_port(target, t->host, sizeof(t->host), t->port, sizeof(t->port)) < 0) {
        r = -EINVAL;
    }
    if (r < 0) {
        snprintf(err, errlen,
                 kind == K_UNIX ? "output unix: wants a socket path (unix:/dev/log)"
                                : "output syslog: wants HOST:PORT with a port number 1-65535, "
                                  "got '%s'",
                 target);
        free(t);
        return r;
    }
    struct ar_option opt;
    const char *rest = options;
    while (r == 0 && ar_option_next(&rest, &opt)) {
        uint64_t size;
        if (ar_syslog_message_option(&t->msg, &opt))
            ;
        else if (AR_OPTION_IS(&opt, "framing") && (!strcmp(opt.value, "octet") || !strcmp(opt.value, "newline")))
            t->newline_framing = !strcmp(opt.value, "newline");
        else if (AR_OPTION_IS(&opt, "max_datagram") && ar_parse_size(opt.value, &size) == 0 &&
                 size >= 480 && size <= (kind == K_UNIX ? UNIX_DATAGRAM_MAX : 65507))
            t->max_datagram = (size_t)size;
#if AR_SYSLOG_TLS
        else if (kind == K_TLS && AR_OPTION_IS(&opt, "ca") && opt.value[0])
            snprintf(t->ca, sizeof(t->ca), "%s", opt.value);
        else if (kind == K_TLS && AR_OPTION_IS(&opt, "cert") && opt.value[0])
            snprintf(t->cert, sizeof(t->cert), "%s", opt.value);
        else if (kind == K_TLS && AR_OPTION_IS(&opt, "key") && opt.value[0])
            snprintf(t->key, sizeof(t->key), "%s", opt.value);
        else if (kind == K_TLS && AR_OPTION_IS(&opt, "name") && opt.value[0])
            snprintf(t->name, sizeof(t->name), "%s", opt.value);
#endif
        else if (AR_OPTION_IS(&opt, "type") && kind == K_UNIX &&
                 (!strcmp(opt.value, "dgram") || !strcmp(opt.value, "stream")))
            t->unix_stream = !strcmp(opt.value, "stream");
        else
            r = -EINVAL;
        if (r < 0)
            snprintf(err, errlen,
                     "output %s: bad option '%s=%s' (" AR_SYSLOG_MESSAGE_OPTIONS
                     ", framing=octet|newline, max_datagram=N%s)",
                     target, opt.name, opt.value,
                     kind == K_UNIX  ? ", type=dgram|stream"
                     : kind == K_TLS ? ", ca=FILE, cert=FILE, key=FILE, name=HOST"
                                     : "");
    }
#if AR_SYSLOG_TLS
    if (r == 0 && kind == K_TLS) {
        if (!!t->cert[0] != !!t->key[0]) {
            snprintf(err, errlen, "output syslog+tls://%s: cert= and key= go together", target);
            r = -EINVAL;
        } else if (gnutls_certificate_allocate_credentials(&t->creds) < 0) {
            r = -ENOMEM;
        } else {
            /* Credentials are read now, so a missing or bad file is a start-up error. */
            int g = t->ca[0] ? gnutls_certificate_set_x509_trust_file(t->creds, t->ca,
                                                                       GNUTLS_X509_FMT_PEM)
                             : gnutls_certificate_set_x509_system_trust(t->creds);
            if (g <= 0) {
                snprintf(err, errlen, "output syslog+tls://%s: no CA certificates %s%s%s", target,
                         t->ca[0] ? "in " : "in the system trust store", t->ca,
                         g < 0 ? "" : "");
                r = -EINVAL;
            } else if (t->cert[0] &&
                       (g = gnutls_certificate_set_x509_key_file(t->creds, t->cert, t->key,
                                                                 GNUTLS_X509_FMT_PEM)) < 0) {
                snprintf(err, errlen, "output syslog+tls://%s: client certificate %s / %s: %s",
                         target, t->cert, t->key, gnutls_strerror(g));
                r = -EINVAL;
            }
            if (!t->name[0])
                snprintf(t->name, sizeof(t->name), "%s", t->host);
        }
    }
#endif
    if (r < 0) {
#if AR_SYSLOG_TLS
        if (t->creds)
            gnutls_certificate_free_credentials(t->creds);
#endif
        free(t);
        return r;
    }
    *ret = t;
    return 0;
}

#define CREATE(fn, kind)                                                                         \
    static int fn(const char *target, const char *options, char *err, size_t errlen, void **ret) \
    {                                                                                            \
        return create(kind, target, options, err, errlen, ret);                                  \
    }
#if AR_SYSLOG_TLS
CREATE(tls_create, K_TLS)
#else
CREATE(udp_create, K_UDP)
CREATE(tcp_create, K_TCP)
CREATE(unix_create, K_UNIX)
#endif

static bool is_stream(const struct syslog_transport *t)
{
    return t->kind == K_TCP || t->kind == K_TLS || (t->kind == K_UNIX && t->unix_stream);
}

#if AR_SYSLOG_TLS
/* The TLS handshake on a connected socket, verifying the peer. */
static int tls_start(struct syslog_transport *t)
{
    int g = gnutls_init(&t->session, GNUTLS_CLIENT);
    if (g < 0)
        return -ENOMEM;
    gnutls_set_default_priority(t->session);
    gnutls_credentials_set(t->session, GNUTLS_CRD_CERTIFICATE, t->creds);
    gnutls_server_name_set(t->session, GNUTLS_NAME_DNS, t->name, strlen(t->name));
    gnutls_session_set_verify_cert(t->session, t->name, 0);
    gnutls_transport_set_int(t->session, t->fd);
    gnutls_handshake_set_timeout(t->session, 10000);
    do {
        g = gnutls_handshake(t->session);
    } while (g < 0 && !gnutls_error_is_fatal(g));
    if (g < 0) {
        if (g == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
            gnutls_datum_t why;
            unsigned status = gnutls_session_get_verify_cert_status(t->session);
            if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0) == 0) {
                snprintf(t->error, sizeof(t->error), "TLS: the peer's certificate is refused: %s",
                         why.data);
                gnutls_free(why.data);
            }
        } else {
            snprintf(t->error, sizeof(t->error), "TLS handshake failed: %s", gnutls_strerror(g));
        }
        gnutls_deinit(t->session);
        t->session = NULL;
        return -EPROTO;
    }
    return 0;
}
#endif

/* A peer that stops reading makes send wait: wake up every second (EAGAIN) so the
 * output can give up at shutdown, without losing the position. */
static void send_timeout(int fd)
{
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int syslog_connect(void *vt)
{
    struct syslog_transport *t = vt;
    t->error[0] = '\0';
    if (t->kind == K_UNIX) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        memcpy(sa.sun_path, t->path, strlen(t->path));
        t->fd = socket(AF_UNIX, (t->unix_stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (t->fd < 0)
            return -errno;
        if (!t->unix_stream) {
            /* A unix datagram must fit the send buffer (the kernel doubles this). */
            int sndbuf = (int)t->max_datagram;
            setsockopt(t->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        }
        if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            int r = -errno;
            close(t->fd);
            t->fd = -1;
            snprintf(t->error, sizeof(t->error), "cannot connect to %s: %s", t->path,
                     strerror(-r));
            return r;
        }
        send_timeout(t->fd);
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = is_stream(t) ? SOCK_STREAM : SOCK_DGRAM}, *res;
    int g = getaddrinfo(t->host, t->port, &hints, &res);
    if (g)
        return g == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    int r = -ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            r = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            t->fd = fd;
            r = 0;
            break;
        }
        r = -errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (r < 0)
        snprintf(t->error, sizeof(t->error), "cannot connect to %s:%s: %s", t->host, t->port,
                 strerror(-r));
    if (r == 0 && (t->kind == K_TCP || t->kind == K_TLS)) {
        send_timeout(t->fd);
        int one = 1;
        setsockopt(t->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    }
#if AR_SYSLOG_TLS
    if (r == 0 && t->kind == K_TLS && (r = tls_start(t)) < 0) {
        close(t->fd);
        t->fd = -1;
    }
#endif
    return r;
}

/* Appends one framed message for the line (without its newline) of the event meta
 * describes. */
static void frame(struct syslog_transport *t, const char *line, size_t len,
                  const struct ar_line_meta *meta)
{
    char header[512];
    size_t n = ar_syslog_header(&t->msg, meta, header);
    if (is_stream(t) && !t->newline_framing) {
        char count[24];
        int c = snprintf(count, sizeof(count), "%zu ", n + len);
        ar_buf_put(&t->framed, count, (size_t)c);
    }
    ar_buf_put(&t->framed, header, n);
    ar_buf_put(&t->framed, line, len);
    if (is_stream(t) && t->newline_framing)
        ar_buf_putc(&t->framed, '\n');
}

static int send_stream(struct syslog_transport *t)
{
    while (t->framed_off < t->framed.len) {
        const char *p = t->framed.p + t->framed_off;
        size_t left = t->framed.len - t->framed_off;
#if AR_SYSLOG_TLS
        if (t->session) {
            /* After GNUTLS_E_AGAIN the same data is offered again, as GnuTLS asks. */
            ssize_t n = gnutls_record_send(t->session, p, left);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                return -EAGAIN;
            if (n < 0)
                return -EPIPE;
            t->framed_off += (size_t)n;
            continue;
        }
#endif
        ssize_t n = send(t->fd, p, left, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno; /* EAGAIN: the peer is slow; the position is kept */
        }
        t->framed_off += (size_t)n;
    }
    return 0;
}

/* True when the peer has closed its side (a graceful stop sends FIN): lines written
 * now would be lost to its RST, so reconnect first. A FIN that arrives after this
 * check can still cost a batch: plain TCP has no acknowledgement (RELP has). */
static bool peer_closed(const struct syslog_transport *t)
{
    struct pollfd pfd = {.fd = t->fd, .events = POLLIN | POLLRDHUP};
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
        return true;
    char c;
    return recv(t->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static int send_datagrams(struct syslog_transport *t, const struct ar_lines *b, uint64_t *dropped)
{
    const char *lines = b->p;
    size_t len = b->len;
    struct ar_lines_cursor cursor = {0};
    while (t->batch_off < len) {
        const char *p = lines + t->batch_off, *end = lines + len;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        t->framed.len = 0;
        frame(t, p, (size_t)(le - p), ar_lines_meta(b, &cursor, t->batch_off));
        if (t->framed.len > t->max_datagram) {
            (*dropped)++;
        } else if (send(t->fd, t->framed.p, t->framed.len, MSG_NOSIGNAL) < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EMSGSIZE) {
                (*dropped)++;
            } else if (errno == ECONNREFUSED && t->kind == K_UDP) {
                /* UDP: an ICMP from an earlier datagram; this one may go through. */
                if (send(t->fd, t->framed.p, t->framed.len, MSG_NOSIGNAL) < 0)
                    (*dropped)++;
            } else {
                /* EAGAIN: a unix peer that is slow; the position is kept. Else
                 * (ECONNREFUSED: a unix peer that is gone) reconnect. */
                return -errno;
            }
        }
        t->batch_off = (size_t)((nl ? nl + 1 : end) - lines);
    }
    return 0;
}

static int syslog_send(void *vt, const struct ar_lines *b, uint64_t *dropped)
{
    struct syslog_transport *t = vt;
    const char *lines = b->p;
    size_t len = b->len;
    if (is_stream(t) && t->batch_off == 0 && t->framed_off == 0 && peer_closed(t))
        return -EPIPE;
    /* A new batch; after EAGAIN the same batch comes again and carries on where it
     * stopped. */
    if (t->batch != lines || t->batch_len != len) {
        t->batch = lines;
        t->batch_len = len;
        t->batch_off = 0;
        t->framed.len = t->framed_off = 0;
    }
    if (!is_stream(t)) {
        int r = send_datagrams(t, b, dropped);
        if (r == 0) {
            t->batch_off = 0;
            t->batch = NULL;
        }
        return r;
    }
    struct ar_lines_cursor cursor = {0};
    for (;;) {
        int r = send_stream(t);
        if (r < 0)
            return r;
        if (t->batch_off == len)
            break;
        /* Frame the next piece of the batch, whole lines up to FRAME_CHUNK. */
        t->framed.len = t->framed_off = 0;
        while (t->batch_off < len && t->framed.len < FRAME_CHUNK) {
            const char *p = lines + t->batch_off, *end = lines + len;
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            frame(t, p, (size_t)(le - p), ar_lines_meta(b, &cursor, t->batch_off));
            t->batch_off = (size_t)((nl ? nl + 1 : end) - lines);
        }
        if (t->framed.failed) {
            t->framed.failed = false;
            t->framed.len = t->framed_off = t->batch_off = 0;
            return -ENOMEM;
        }
    }
    t->framed.len = t->framed_off = t->batch_off = 0;
    t->batch = NULL;
    return 0;
}

/* The peer ended its side (EOF). Over TCP that confirms our lines only if its FIN
 * acknowledged all we sent, our FIN included: a peer that closed before our last
 * segments arrived sends FIN first and answers them with RST later. */
static int eof_confirms(struct syslog_transport *t)
{
    int unacked = 0;
    if (t->kind == K_UNIX || ioctl(t->fd, SIOCOUTQ, &unacked) < 0 || unacked == 0)
        return 0;
    snprintf(t->error, sizeof(t->error), "the peer closed the connection without acknowledging "
             "the last %d bytes: what was sent on it is sent again", unacked);
    return -ECONNRESET;
}

/* Ends our side of the stream and reads until the peer ends its own. A peer that
 * read everything and closed ends with FIN (EOF); one that closed with our lines
 * unread in its socket, or refused us after the handshake (TLS 1.3 checks client
 * certificates after the client's last handshake message), ends with RST, an alert
 * or a FIN that does not acknowledge all we sent: those lines are lost, and the
 * caller sends them again. */
static int syslog_finish(void *vt, int timeout_ms)
{
    struct syslog_transport *t = vt;
    if (!is_stream(t) || t->fd < 0)
        return 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct timeval tv = {.tv_sec = 1};
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
#if AR_SYSLOG_TLS
    if (t->session) {
        int g;
        do
            g = gnutls_bye(t->session, GNUTLS_SHUT_WR);
        while (g == GNUTLS_E_AGAIN || g == GNUTLS_E_INTERRUPTED);
    }
#endif
    shutdown(t->fd, SHUT_WR);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 +
                                  (now.tv_nsec - start.tv_nsec) / 1000000);
        struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
            return -ETIMEDOUT;
        char buf[4096];
#if AR_SYSLOG_TLS
        if (t->session) {
            ssize_t n = gnutls_record_recv(t->session, buf, sizeof(buf));
            if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
                return eof_confirms(t); /* close_notify, or a plain FIN */
            if (n > 0 || n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n == GNUTLS_E_FATAL_ALERT_RECEIVED || n == GNUTLS_E_WARNING_ALERT_RECEIVED)
                snprintf(t->error, sizeof(t->error), "TLS: the peer ended the session with the "
                         "alert '%s': what was sent on it is sent again",
                         gnutls_alert_get_name(gnutls_alert_get(t->session)));
            else
                snprintf(t->error, sizeof(t->error), "TLS: the session broke before the peer "
                         "confirmed it took everything (%s): what was sent on it is sent again",
                         n == GNUTLS_E_PULL_ERROR ? strerror(errno) : gnutls_strerror((int)n));
            return -ECONNRESET;
        }
#endif
        ssize_t n = recv(t->fd, buf, sizeof(buf), 0);
        if (n == 0)
            return eof_confirms(t);
        if (n > 0 || errno == EINTR || errno == EAGAIN)
            continue;
        int r = -errno;
        snprintf(t->error, sizeof(t->error), "the peer reset the connection before confirming it "
                 "took everything (%s): what was sent on it is sent again", strerror(-r));
        return r;
    }
}

static void syslog_disconnect(void *vt)
{
    struct syslog_transport *t = vt;
#if AR_SYSLOG_TLS
    if (t->session) {
        gnutls_bye(t->session, GNUTLS_SHUT_WR);
        gnutls_deinit(t->session);
        t->session = NULL;
    }
#endif
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    /* A batch cut by a broken connection is sent whole on the next one. */
    t->framed.len = t->framed_off = t->batch_off = 0;
    t->batch = NULL;
}

static void syslog_destroy(void *vt)
{
    struct syslog_transport *t = vt;
    syslog_disconnect(t);
#if AR_SYSLOG_TLS
    if (t->creds)
        gnutls_certificate_free_credentials(t->creds);
#endif
    ar_buf_free(&t->framed);
    free(t);
}

static const char *syslog_error(void *vt)
{
    struct syslog_transport *t = vt;
    return t->error[0] ? t->error : NULL;
}

#if AR_SYSLOG_TLS
/* The module's one symbol (outputs/registry.c names it). */
const struct ar_transport_ops ar_transport_syslog_tls = {
    .scheme = "syslog+tls", .create = tls_create, .connect = syslog_connect, .send = syslog_send,
    .finish = syslog_finish, .disconnect = syslog_disconnect, .destroy = syslog_destroy,
    .error = syslog_error,
    .spools = true,
};
#else
const struct ar_transport_ops ar_transport_syslog_udp = {
    .scheme = "syslog+udp", .create = udp_create, .connect = syslog_connect, .send = syslog_send,
    .disconnect = syslog_disconnect, .destroy = syslog_destroy, .spools = false,
};

const struct ar_transport_ops ar_transport_syslog_tcp = {
    .scheme = "syslog+tcp", .create = tcp_create, .connect = syslog_connect, .send = syslog_send,
    .finish = syslog_finish, .disconnect = syslog_disconnect, .destroy = syslog_destroy,
    .error = syslog_error,
    .spools = true,
};

const struct ar_transport_ops ar_transport_unix = {
    .scheme = "unix", .create = unix_create, .connect = syslog_connect, .send = syslog_send,
    .finish = syslog_finish, .disconnect = syslog_disconnect, .destroy = syslog_destroy,
    .error = syslog_error,
    .spools = true,
};
#endif
