/* Kafka (librdkafka): each JSON line is one message to TOPIC, keyed by the event's
 * node (else this host's name) so one host's events stay in order in one partition,
 * stamped with the event's own time (both from the batch's metadata).
 *
 * Delivery. The producer is idempotent with acks=all: the partition's in-sync
 * replicas all have a message before its delivery report says so, and librdkafka's
 * own retries (leader moves, timeouts) neither duplicate nor reorder. Messages never
 * time out in librdkafka (message.timeout.ms=0): while the cluster is unreachable
 * they wait in its queue, which is kept small (4 MiB) so that the output's memory
 * queue and spool, bounded by the user, hold the rest in order. A line is only done
 * when its delivery report is a success: a report that failed (librdkafka's fatal
 * idempotence errors, or a purge) hands the line back, and it is produced again,
 * first, on a new producer (counted as retried: it may arrive twice). A line the
 * cluster can never take (larger than message.max.bytes) is dropped and counted.
 *
 * At the end the writer waits for every delivery report up to the output's deadline;
 * what was not acknowledged by then is counted as dropped and said on stderr.
 *
 * Everything here runs on the output's writer thread (librdkafka's callbacks are
 * served by rd_kafka_poll there), except counts(), which reads atomics. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "util/buf.h"
#include "util/span.h"
#include "outputs/output.h"
#include "outputs/util.h"

/* librdkafka's queue in front of the brokers: small, the output's queue is the bound. */
#define QUEUE_KBYTES "4096"
/* While that queue is full, send() gives the writer its turn this often (deadline). */
#define FULL_WAIT_MS 1000
/* Seconds of acknowledgements without an error that end an outage report. */
#define OUTAGE_QUIET_S 5

enum key_mode { KEY_HOST, KEY_NONE };

/* What a message's delivery report must give back to produce it again: a failed
 * report has no timestamp (librdkafka gives -1 with an error). */
struct produced {
    uint64_t seq;                  /* the order the line was first produced in */
    int64_t stamp;                 /* the timestamp it was produced with */
};

struct retry_entry {
    uint64_t seq;                  /* the order the line was first produced in */
    size_t off, len;               /* in `retry` */
    size_t key_off, key_len;       /* in `retry` */
    int64_t stamp;                 /* the message's timestamp */
};

struct kafka_transport {
    char brokers[1024], topic[256];
    char name[1400];               /* "kafka://BROKERS/TOPIC", for messages */
    enum key_mode key;
    char hostname[256];
    rd_kafka_conf_t *conf;         /* the settings; each producer gets a copy */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    size_t batch_off;              /* bytes of the current batch librdkafka has */
    /* Lines whose delivery failed, to produce again before anything newer: `retry`
     * collects them from delivery reports (in no particular order: a purge reports
     * queued messages before in-flight ones), each with the sequence number it was
     * first produced with; `redo` holds them back in that order while they are
     * produced again (at redo_off), their keys and timestamps as metadata entries
     * in `redo_meta`. */
    struct ar_buf retry, redo, redo_meta;
    struct retry_entry *entries;
    size_t nentries, entries_cap, redo_off;
    uint64_t next_seq;
    uint64_t dropped;              /* not yet passed to the writer */
    bool fatal;                    /* the producer must be replaced */
    bool outage;                   /* an error was said; successes without errors end it */
    time_t last_error_at;
    char error[768];
    _Atomic uint64_t sent, acked, retried, awaiting;
};

static const char *error_words(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN: return "no broker is reachable";
    case RD_KAFKA_RESP_ERR__TRANSPORT: return "a broker connection failed or was refused";
    case RD_KAFKA_RESP_ERR__RESOLVE: return "a broker's name does not resolve";
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED: return "authentication failed";
    case RD_KAFKA_RESP_ERR__SSL: return "TLS failed";
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        return "the brokers do not allow us to write to the topic";
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART: return "the topic does not exist";
    case RD_KAFKA_RESP_ERR__FATAL: return "the producer failed for good and is replaced";
    default: return "Kafka error";
    }
}

/* Said once per outage: the first error; the first success after it ends it. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct kafka_transport *t = opaque;
    char fatal[512] = "";
    bool first_fatal = err == RD_KAFKA_RESP_ERR__FATAL && !t->fatal;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        t->fatal = true;
    }
    snprintf(t->error, sizeof(t->error), "%s: %s", error_words((rd_kafka_resp_err_t)err),
             fatal[0] ? fatal : reason);
    t->last_error_at = time(NULL);
    if (t->outage && !first_fatal)
        return;
    t->outage = true;
    fprintf(stderr, "auditrelay: output %s: %s; events wait (librdkafka's queue, then memory, "
                    "then the spool)\n", t->name, t->error);
}

/* librdkafka's own log: only its warnings about our settings reach the user; its
 * connection errors come through on_error, once per outage. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= LOG_WARNING && strcmp(fac, "CONFWARN") == 0)
        fprintf(stderr, "auditrelay: kafka: %s\n", buf);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    struct kafka_transport *t = opaque;
    struct produced note = *(const struct produced *)m->_private;
    free(m->_private);
    t->awaiting--;
    if (!m->err) {
        t->acked++;
        /* One broker down stalls its partitions while the others acknowledge: the
         * outage is over when acknowledgements came without an error for a while. */
        if (t->outage && time(NULL) - t->last_error_at >= OUTAGE_QUIET_S) {
            fprintf(stderr, "auditrelay: output %s: the brokers acknowledge again, no error for "
                    "%d s (%llu lines awaiting acknowledgement)\n", t->name, OUTAGE_QUIET_S,
                    (unsigned long long)t->awaiting);
            t->outage = false;
            t->error[0] = '\0';
        }
        return;
    }
    switch (m->err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
        t->dropped++; /* sending it again would fail again */
        return;
    default:
        /* Not delivered (a purge after a fatal error, or one that librdkafka gave up
         * on): ours again. */
        if (t->nentries == t->entries_cap) {
            size_t cap = t->entries_cap ? 2 * t->entries_cap : 1024;
            struct retry_entry *e = realloc(t->entries, cap * sizeof(*e));
            if (!e) {
                t->dropped++; /* out of memory: counted, not hidden */
                return;
            }
            t->entries = e;
            t->entries_cap = cap;
        }
        t->entries[t->nentries++] = (struct retry_entry){
            .seq = note.seq, .key_off = t->retry.len, .key_len = m->key_len,
            .off = t->retry.len + m->key_len, .len = m->len, .stamp = note.stamp};
        ar_buf_put(&t->retry, m->key, m->key_len);
        ar_buf_put(&t->retry, m->payload, m->len);
        return;
    }
}

static bool valid_topic(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

/* "host:port,host:port": each broker a host with an optional port number. */
static bool valid_brokers(const char *s)
{
    char one[300];
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n == 0 || n >= sizeof(one))
            return false;
        memcpy(one, s, n);
        one[n] = '\0';
        char host[256], port[32];
        if ((strchr(one, ':') || one[0] == '[') &&
            ar_split_host_port(one, host, sizeof(host), port, sizeof(port)) < 0)
            return false;
        s += n + (s[n] == ',');
    }
    return true;
}

static int set(struct kafka_transport *t, const char *name, const char *value, char *err,
               size_t errlen)
{
    char why[512];
    if (rd_kafka_conf_set(t->conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
        return 0;
    snprintf(err, errlen, "output %s: librdkafka refuses %s=%s: %s", t->name, name, value, why);
    return -EINVAL;
}

static void destroy_producer(struct kafka_transport *t);

static int make_producer(struct kafka_transport *t, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(t->conf);
    if (!conf) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    t->fatal = false;
    t->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!t->rk) {
        rd_kafka_conf_destroy(conf);
        return -EINVAL;
    }
    t->rkt = rd_kafka_topic_new(t->rk, t->topic, NULL);
    if (!t->rkt) {
        snprintf(err, errlen, "topic %s: %s", t->topic, rd_kafka_err2str(rd_kafka_last_error()));
        destroy_producer(t);
        return -EINVAL;
    }
    return 0;
}

static void kafka_destroy(void *vt);

static int kafka_create(const char *target, const char *options, char *err, size_t errlen,
                        void **ret)
{
    struct kafka_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    snprintf(t->name, sizeof(t->name), "kafka://%s", target);
    const char *slash = strchr(target, '/');
    if (!slash || (size_t)(slash - target) >= sizeof(t->brokers) ||
        strlen(slash + 1) >= sizeof(t->topic)) {
        snprintf(err, errlen, "output kafka://%s: wants kafka://BROKER[,BROKER...]/TOPIC", target);
        free(t);
        return -EINVAL;
    }
    snprintf(t->brokers, sizeof(t->brokers), "%.*s", (int)(slash - target), target);
    snprintf(t->topic, sizeof(t->topic), "%s", slash + 1);
    if (!valid_brokers(t->brokers)) {
        snprintf(err, errlen, "output kafka://%s: bad broker list '%s' (HOST[:PORT],...)", target,
                 t->brokers);
        free(t);
        return -EINVAL;
    }
    if (!valid_topic(t->topic)) {
        snprintf(err, errlen, "output kafka://%s: bad topic name '%s' (1-249 of a-z A-Z 0-9 . _ -)",
                 target, t->topic);
        free(t);
        return -EINVAL;
    }
    if (gethostname(t->hostname, sizeof(t->hostname)) < 0 || !t->hostname[0])
        snprintf(t->hostname, sizeof(t->hostname), "localhost");
    t->conf = rd_kafka_conf_new();
    /* Our defaults first: the user's rdkafka.NAME settings below override them. */
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"message.timeout.ms", "0"}, /* never give up: the queue and spool hold the rest */
        {"queue.buffering.max.kbytes", QUEUE_KBYTES},
        {"client.id", "auditrelay"},
    };
    int r = set(t, "bootstrap.servers", t->brokers, err, errlen);
    for (size_t i = 0; r == 0 && i < AR_ARRAY_SIZE(defaults); i++)
        r = set(t, defaults[i][0], defaults[i][1], err, errlen);
    struct ar_option opt;
    const char *rest = options;
    while (r == 0 && ar_option_next(&rest, &opt)) {
        if (strncmp(opt.name, "rdkafka.", 8) == 0 && opt.name[8]) {
            r = set(t, opt.name + 8, opt.value, err, errlen);
        } else if (AR_OPTION_IS(&opt, "compression") &&
                   (strcmp(opt.value, "none") == 0 || strcmp(opt.value, "gzip") == 0 ||
                    strcmp(opt.value, "snappy") == 0 || strcmp(opt.value, "lz4") == 0 ||
                    strcmp(opt.value, "zstd") == 0)) {
            r = set(t, "compression.codec", opt.value, err, errlen);
        } else if (AR_OPTION_IS(&opt, "key") && (strcmp(opt.value, "host") == 0 ||
                                                 strcmp(opt.value, "none") == 0)) {
            t->key = opt.value[0] == 'h' ? KEY_HOST : KEY_NONE;
        } else {
            snprintf(err, errlen, "output %s: bad option '%s=%s' (compression=none|gzip|snappy|"
                     "lz4|zstd, key=host|none, rdkafka.NAME=VALUE for any librdkafka property)",
                     t->name, opt.name, opt.value);
            r = -EINVAL;
        }
    }
    if (r == 0) {
        rd_kafka_conf_set_opaque(t->conf, t);
        rd_kafka_conf_set_dr_msg_cb(t->conf, on_delivery);
        rd_kafka_conf_set_error_cb(t->conf, on_error);
        rd_kafka_conf_set_log_cb(t->conf, on_log);
        /* A producer is made and let go now, so that settings librdkafka refuses
         * together (acks=1 with idempotence) are a start-up error, not an endless
         * retry. The one that sends is made by connect, on the writer thread:
         * librdkafka's threads then have only the capabilities the collector kept. */
        char why[512];
        if ((r = make_producer(t, why, sizeof(why))) < 0)
            snprintf(err, errlen, "output %s: %s", t->name, why);
        else
            destroy_producer(t);
    }
    if (r < 0) {
        kafka_destroy(t);
        return r;
    }
    *ret = t;
    return 0;
}

/* Produces one line (without its newline) of the event meta describes. Returns 0,
 * -EAGAIN (librdkafka's queue is full), -EMSGSIZE (the line can never be sent) or
 * -EIO (the producer failed). */
static int produce(struct kafka_transport *t, const char *p, size_t n,
                   const struct ar_line_meta *meta)
{
    const char *key = NULL;
    size_t keylen = 0;
    if (t->key == KEY_HOST && meta && meta->node.len) {
        key = meta->node.p;
        keylen = meta->node.len;
    } else if (t->key == KEY_HOST) {
        key = t->hostname;
        keylen = strlen(t->hostname);
    }
    int64_t stamp = meta && meta->has_time ? (int64_t)meta->sec * 1000 + meta->ms : 0;
    struct produced *note = malloc(sizeof(*note));
    if (!note)
        return -EAGAIN; /* memory comes back with delivery reports */
    *note = (struct produced){.seq = t->next_seq, .stamp = stamp};
    /* produceva, not producev: the RD_KAFKA_V_ macros are GNU statement expressions. */
    rd_kafka_vu_t vus[] = {
        {.vtype = RD_KAFKA_VTYPE_RKT, .u.rkt = t->rkt},
        {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
        {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {(void *)p, n}},
        {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)key, keylen}},
        {.vtype = RD_KAFKA_VTYPE_TIMESTAMP, .u.i64 = stamp},
        {.vtype = RD_KAFKA_VTYPE_OPAQUE, .u.ptr = note},
    };
    rd_kafka_error_t *error = rd_kafka_produceva(t->rk, vus, AR_ARRAY_SIZE(vus));
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (error) {
        e = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
        free(note); /* not taken: no report will come */
    }
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        t->next_seq++;
        t->sent++;
        t->awaiting++;
        return 0;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL: return -EAGAIN;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE: return -EMSGSIZE;
    default:
        snprintf(t->error, sizeof(t->error), "cannot produce: %s", rd_kafka_err2str(e));
        t->fatal = true;
        return -EIO;
    }
}

/* Produces the lines of b from *off on; *off follows, so a retry carries on.
 * `again`: they were produced before (counted as retried). */
static int produce_lines(struct kafka_transport *t, const struct ar_lines *b, size_t *off,
                         bool again)
{
    const char *buf = b->p;
    size_t len = b->len;
    struct ar_lines_cursor cursor = {0};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (*off < len) {
        const char *p = buf + *off, *end = buf + len;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        int r = produce(t, p, n, ar_lines_meta(b, &cursor, *off));
        if (r == -EAGAIN) {
            /* Full: serve delivery reports, which make room; after a while give the
             * writer its turn (it may be past its deadline). */
            rd_kafka_poll(t->rk, 100);
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
                FULL_WAIT_MS)
                return -EAGAIN;
            continue;
        }
        if (r == -EMSGSIZE)
            t->dropped++;
        else if (r < 0)
            return r;
        else if (again)
            t->retried++;
        *off += n + (nl != NULL);
    }
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct retry_entry *)a)->seq, y = ((const struct retry_entry *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Moves the lines handed back into `redo`, in the order they were first produced,
 * each with its key (as the event's node: key=host gives it back) and timestamp. */
static void take_retries(struct kafka_transport *t)
{
    qsort(t->entries, t->nentries, sizeof(*t->entries), by_seq);
    t->redo.len = t->redo_meta.len = t->redo_off = 0;
    for (size_t i = 0; i < t->nentries; i++) {
        const struct retry_entry *e = &t->entries[i];
        ar_buf_put(&t->redo, t->retry.p + e->off, e->len);
        ar_buf_putc(&t->redo, '\n');
        struct ar_line_meta m = {
            .len = e->len + 1, .has_time = e->stamp > 0,
            .sec = e->stamp > 0 ? (uint64_t)e->stamp / 1000 : 0,
            .ms = e->stamp > 0 ? (uint16_t)(e->stamp % 1000) : 0,
            .node = {t->retry.p + e->key_off, e->key_len}};
        ar_line_meta_put(&t->redo_meta, &m);
    }
    t->retry.len = t->nentries = 0;
}

static int kafka_send(void *vt, const struct ar_lines *b, uint64_t *dropped)
{
    struct kafka_transport *t = vt;
    int r = 0;
    if (t->batch_off > b->len)
        t->batch_off = 0;
    /* Lines handed back by failed delivery reports are older than the batch. */
    if (!t->redo.len && t->nentries)
        take_retries(t);
    if (t->redo.len) {
        struct ar_lines redo = {t->redo.p, t->redo.len, t->redo_meta.p, t->redo_meta.len};
        r = produce_lines(t, &redo, &t->redo_off, true);
        if (r == 0)
            t->redo.len = t->redo_meta.len = t->redo_off = 0;
    }
    if (r == 0)
        r = produce_lines(t, b, &t->batch_off, false);
    if (r == 0)
        t->batch_off = 0;
    rd_kafka_poll(t->rk, 0);
    if (r == 0 && t->fatal)
        r = -EIO;
    *dropped += t->dropped;
    t->dropped = 0;
    return r;
}

static void kafka_idle(void *vt)
{
    struct kafka_transport *t = vt;
    if (t->rk)
        rd_kafka_poll(t->rk, 0);
}

static int kafka_connect(void *vt)
{
    struct kafka_transport *t = vt;
    if (t->rk)
        return 0;
    char why[512];
    if (make_producer(t, why, sizeof(why)) < 0) {
        snprintf(t->error, sizeof(t->error), "%s", why);
        return -EIO;
    }
    return 0;
}

/* Takes every message librdkafka still holds back (their delivery reports hand them
 * to `retry`) and frees the producer. */
static void destroy_producer(struct kafka_transport *t)
{
    if (!t->rk)
        return;
    rd_kafka_purge(t->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (int i = 0; i < 100 && t->awaiting; i++)
        rd_kafka_poll(t->rk, 10);
    if (t->rkt)
        rd_kafka_topic_destroy(t->rkt);
    rd_kafka_destroy(t->rk);
    t->rk = NULL;
    t->rkt = NULL;
}

/* Only a failed producer is replaced; otherwise it keeps what it holds in flight. */
static void kafka_disconnect(void *vt)
{
    struct kafka_transport *t = vt;
    if (t->fatal)
        destroy_producer(t);
}

/* At the end: waits for the delivery reports (and produces again what came back). */
static int kafka_finish(void *vt, int timeout_ms)
{
    struct kafka_transport *t = vt;
    if (!t->rk)
        return 0;
    if (t->nentries || t->redo.len) {
        uint64_t dropped = 0;
        static const struct ar_lines none = {"", 0, "", 0};
        int r = kafka_send(t, &none, &dropped);
        t->dropped += dropped;
        if (r < 0)
            return r;
    }
    rd_kafka_flush(t->rk, timeout_ms);
    if (t->fatal)
        return -EIO;
    return t->awaiting || t->nentries ? -EAGAIN : 0;
}

static uint64_t count_lines(const struct ar_buf *b, size_t from)
{
    uint64_t n = 0;
    for (size_t i = from; i < b->len; i++)
        n += b->p[i] == '\n';
    return n;
}

/* Gives up on what was not acknowledged; says how much that is. */
static uint64_t kafka_abandon(void *vt)
{
    struct kafka_transport *t = vt;
    destroy_producer(t); /* the purge hands everything still held to `retry` */
    uint64_t n = t->nentries + count_lines(&t->redo, t->redo_off) + t->awaiting;
    if (n)
        fprintf(stderr, "auditrelay: output %s: %llu events were not acknowledged by the "
                        "brokers before the deadline: they may not have arrived%s%s%s\n",
                t->name, (unsigned long long)n, t->error[0] ? " (" : "", t->error,
                t->error[0] ? ")" : "");
    t->retry.len = t->redo.len = t->redo_meta.len = t->redo_off = t->nentries = 0;
    t->awaiting = 0;
    uint64_t dropped = n + t->dropped;
    t->dropped = 0;
    return dropped;
}

static void kafka_counts(void *vt, struct ar_transport_counts *ret)
{
    struct kafka_transport *t = vt;
    *ret = (struct ar_transport_counts){
        .sent = t->sent, .acked = t->acked, .retried = t->retried, .awaiting = t->awaiting,
    };
}

static const char *kafka_error(void *vt)
{
    struct kafka_transport *t = vt;
    return t->error[0] ? t->error : NULL;
}

static void kafka_destroy(void *vt)
{
    struct kafka_transport *t = vt;
    destroy_producer(t);
    if (t->conf)
        rd_kafka_conf_destroy(t->conf);
    ar_buf_free(&t->retry);
    ar_buf_free(&t->redo);
    ar_buf_free(&t->redo_meta);
    free(t->entries);
    free(t);
}

const struct ar_transport_ops ar_transport_kafka = {
    .scheme = "kafka", .create = kafka_create, .connect = kafka_connect, .send = kafka_send,
    .finish = kafka_finish, .abandon = kafka_abandon, .idle = kafka_idle, .counts = kafka_counts,
    .disconnect = kafka_disconnect, .destroy = kafka_destroy, .error = kafka_error,
    .spools = true, .acknowledged = true,
};
