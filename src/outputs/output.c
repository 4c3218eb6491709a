#include "outputs/output.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "outputs/recent.h"
#include "util/module.h"

/* Under load, waking the writer for every few lines costs more in context switches
 * than the writes: after a wake-up it lets lines gather this long or this much. */
#define COALESCE_NS 2000000L
#define COALESCE_BYTES (256u * 1024)
/* A live producer that finds this much queued waits for the writer, up to
 * PATIENCE_MS (see wait_for_writer). */
#define SOFT_BYTES (512u * 1024)
#define PATIENCE_MS 20
#define SPOOL_CHUNK (1u << 20)
/* The spool file: this line, then records of [u64 lines length][u64 metadata
 * length][metadata entries (util/line_meta.h)][lines], one per write that spilled.
 * Once sent, the records at its head are cut out of the disk (a hole punched from
 * SPOOL_HOLE_FROM on) and the first record's head becomes [SPOOL_SKIP][offset of
 * the first record not yet sent], so a file that never drains (a peer that only
 * just keeps up) holds no more than max_spool on disk, and a restart sends from
 * there. Version 2 files (no skip) are read as they are; the spools of auditrelay
 * before them were the bare lines, without metadata: one of those is refused with
 * a message, not misread. */
#define SPOOL_MAGIC "auditrelay spool 3\n"
#define SPOOL_MAGIC_V2 "auditrelay spool 2\n"
#define SPOOL_MAGIC_LEN (sizeof(SPOOL_MAGIC) - 1)
#define SPOOL_RECORD_HEAD 16
#define SPOOL_SKIP UINT64_MAX
#define SPOOL_HOLE_FROM 4096u /* the first block (version line and skip) stays */
/* What a peer's kernel acknowledged is not what the peer read: a peer that stops
 * (even gracefully) drops what sat unread in its socket. The last RECENT_MAX bytes
 * sent are kept and sent again after an unexpected reconnect: duplicates instead of
 * loss. It covers both sockets' buffers (Linux autotunes ours up to 4 MiB and the
 * peer's up to 6 MiB: 5.3 MB were lost in flight when rsyslog stopped gracefully
 * during a full-speed replay). */
#define RECENT_MAX (16u << 20)
#define BACKOFF_MIN_MS 100
/* How often an idle writer lets a transport with an idle op serve its peer. */
#define IDLE_MS 100
#define BACKOFF_MAX_MS 30000

static volatile sig_atomic_t reopen_generation;

void ar_outputs_reopen(void)
{
    reopen_generation++;
}

unsigned ar_outputs_reopen_generation(void)
{
    return (unsigned)reopen_generation;
}

struct ar_output {
    char name[512];
    const struct ar_transport_ops *ops;
    void *t;
    struct ar_output_config cfg;
    pthread_t thread;
    bool started;              /* the writer thread runs (ar_outputs_start) */
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* the writer: data, or stop */
    pthread_cond_t room;       /* producers with policy block */
    bool stopping;
    struct timespec deadline;  /* with stopping: give up sending after it */
    bool has_deadline;
    bool writer_waiting;
    /* Memory: producers append to `filling`; the writer owns `writing` while it
     * sends it. Each has its lines' metadata entries beside it (filling_meta,
     * writing_meta). All of it counts against max_memory. */
    char *filling, *writing;
    size_t filling_len, filling_cap, writing_len, writing_cap;
    struct ar_buf filling_meta, writing_meta;
    bool writing_from_spool;
    uint64_t writing_spool_bytes; /* the spool records the batch came from */
    /* Spool: an append-only file (SPOOL_MAGIC, then records); [spool_read,
     * spool_write) is still to send. While it holds data, new lines go there too,
     * so order is kept. */
    int spool_fd;
    char spool_path[1024];
    uint64_t spool_read, spool_write;
    uint64_t spool_hole_end;    /* [SPOOL_HOLE_FROM, this) is punched out; 0: no hole */
    bool spool_cannot_punch;    /* the file system has no holes: the extent counts */
    struct ar_buf spool_chunk;  /* records read back, before they are split */
    bool connected;
    bool failed;               /* errors_are_final and an error came: drop from now on */
    bool complained;           /* the current outage was reported on stderr */
    bool told_waiting;         /* "reading waits for it" was said */
    bool interrupted;          /* ar_outputs_interrupt: no producer waits any more */
    bool reading_may_wait;     /* ar_outputs.reading_may_wait, taken at start */
    /* ar_outputs.producer_writes applies: no writer thread until a send does not go
     * through. Read and cleared under send_lock, which makes producers' sends take
     * turns whatever their caller does. */
    bool producer_sends;
    pthread_mutex_t send_lock;
    size_t soft_limit;         /* wait_for_writer's, from SOFT_BYTES */
    /* The last RECENT_MAX bytes sent, for a resend; only the writer thread
     * touches it. */
    struct ar_recent recent;
    bool resend_recent;        /* the connection broke: send `recent` first */
    struct ar_output_stats stats;
};

void ar_output_config_default(struct ar_output_config *ret)
{
    *ret = (struct ar_output_config){
        .policy = AR_OUTPUT_DROP,
        .max_memory = 64u << 20,
        .max_spool = 1ull << 30,
    };
}

static uint64_t count_lines(const char *p, size_t len)
{
    uint64_t n = 0;
    if (len == 0)
        return 0; /* p may be NULL: an empty queue has no buffer yet */
    for (const char *e = p + len; (p = memchr(p, '\n', (size_t)(e - p))); p++)
        n++;
    return n;
}

static bool spool_has_data(const struct ar_output *o)
{
    return o->spool_write > o->spool_read;
}

/* Cuts the sent records before `first` (a record boundary) out of the disk: the
 * skip goes in first, so a run that dies between the two still starts at `first`. */
static void spool_punch(struct ar_output *o, uint64_t first)
{
    uint64_t end = first & ~(uint64_t)(SPOOL_HOLE_FROM - 1);
    if (o->spool_cannot_punch || end <= SPOOL_HOLE_FROM || end <= o->spool_hole_end)
        return;
    uint64_t skip[2] = {SPOOL_SKIP, first};
    if (pwrite(o->spool_fd, skip, sizeof(skip), SPOOL_MAGIC_LEN) != (ssize_t)sizeof(skip))
        return;
    if (fallocate(o->spool_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, SPOOL_HOLE_FROM,
                  (off_t)(end - SPOOL_HOLE_FROM)) < 0) {
        o->spool_cannot_punch = errno == EOPNOTSUPP;
        return;
    }
    o->spool_hole_end = end;
}

/* The spool's bytes on disk: its extent less the hole. */
static uint64_t spool_disk_bytes(const struct ar_output *o, uint64_t extent)
{
    return o->spool_hole_end > SPOOL_HOLE_FROM ? extent - (o->spool_hole_end - SPOOL_HOLE_FROM)
                                               : extent;
}

/* ar_buf_reserve without its lasting failure: a queue works again once memory is back. */
static bool reserve(struct ar_buf *b, size_t n)
{
    if (ar_buf_reserve(b, n))
        return true;
    b->failed = false;
    return false;
}

static bool pwrite_all(int fd, const void *p, size_t len, uint64_t at)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)p + done, len - done, (off_t)(at + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false; /* disk full or failing: the caller drops or waits */
        }
        done += (size_t)n;
    }
    return true;
}

/* Appends the lines with their metadata as one record (the file's first one after
 * SPOOL_MAGIC, in an empty file). */
static bool spool_append(struct ar_output *o, const struct ar_lines *b)
{
    uint64_t head[2] = {b->len, b->meta_len};
    uint64_t size = SPOOL_RECORD_HEAD + b->meta_len + b->len;
    uint64_t at = o->spool_write ? o->spool_write : SPOOL_MAGIC_LEN;
    /* What the file holds on disk counts (the version line too), not what is still
     * to send: sent records not yet punched out are on disk too (all of them where
     * the file system has no holes, until the file drains and starts over). */
    if (o->spool_fd < 0 || spool_disk_bytes(o, at + size) > o->cfg.max_spool)
        return false;
    if ((o->spool_write == 0 && !pwrite_all(o->spool_fd, SPOOL_MAGIC, SPOOL_MAGIC_LEN, 0)) ||
        !pwrite_all(o->spool_fd, head, sizeof(head), at) ||
        !pwrite_all(o->spool_fd, b->meta, b->meta_len, at + sizeof(head)) ||
        !pwrite_all(o->spool_fd, b->p, b->len, at + sizeof(head) + b->meta_len))
        return false;
    if (o->spool_write == 0)
        o->spool_read = SPOOL_MAGIC_LEN;
    o->spool_write = at + size;
    o->stats.spooled_bytes += size;
    o->stats.spool_now = o->spool_write - o->spool_read;
    return true;
}

static bool grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64 * 1024;
    while (c < need)
        c *= 2;
    char *nb = realloc(*buf, c);
    if (!nb)
        return false;
    *buf = nb;
    *cap = c;
    return true;
}

/* Bytes in memory: the lines and their metadata. */
static size_t memory_used(const struct ar_output *o)
{
    return o->filling_len + o->writing_len + o->filling_meta.len + o->writing_meta.len;
}

static struct timespec in_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Called with the lock held by a live producer whose source can leave records
 * unread (ar_outputs.reading_may_wait). The writer shares the CPU with the
 * collector's loop when the other CPUs are busy (the audited burst), and without
 * preemption it runs at the next tick only: in a burst of 200,000 events its queue
 * grew to 4-16 MB of JSON (a batch of 7.7 MB took 15 ms to write while the next one
 * filled), which the tracepoint source would rather leave in its ring, 72 bytes
 * an event. So past the soft limit (SOFT_BYTES) the producer gives the writer the
 * CPU until it has caught up. A writer that does not within PATIENCE_MS is held up
 * by its disk or peer, not by us: the soft limit doubles (past max_memory nothing
 * waits) and is back at SOFT_BYTES once the queue is. A slow peer costs a few
 * waits, not one per line. */
static void wait_for_writer(struct ar_output *o)
{
    size_t used = memory_used(o);
    if (used < SOFT_BYTES)
        o->soft_limit = SOFT_BYTES;
    if (used < o->soft_limit)
        return;
    struct timespec until = in_ms(PATIENCE_MS);
    while (memory_used(o) >= o->soft_limit && !o->stopping && !o->failed)
        if (pthread_cond_timedwait(&o->room, &o->lock, &until) == ETIMEDOUT) {
            o->soft_limit *= 2;
            return;
        }
}

static int start_writer(struct ar_output *o);

/* A replay into a file or /dev/null sends each batch itself, from the producer's
 * buffer: handing it to the writer thread cost a wake-up (a futex and an IPI on this
 * VM) per 512 KiB and that thread's share of the CPU: the bench log with --threads
 * 0 in 116.3 ms median instead of 126.2, with the default threads 98.5 instead of
 * 108.2 (30 alternating runs each, 2026-12-03). A send that does not go through (a
 * full disk, stdout's reader gone) hands this batch (the transport keeps its place
 * in it) and everything after it to the writer thread, started now, which retries
 * or fails as it always does. */
static void send_on_producer(struct ar_output *o, const struct ar_lines *b) /* send_lock held */
{
    uint64_t dropped = 0;
    int r = o->ops->send(o->t, b, &dropped);
    pthread_mutex_lock(&o->lock);
    o->stats.bytes_queued += b->len;
    o->stats.lines_dropped += dropped;
    if (r == 0) {
        o->stats.bytes_sent += b->len;
        pthread_mutex_unlock(&o->lock);
        return;
    }
    o->stats.last_error = r;
    o->producer_sends = false;
    if (grow(&o->writing, &o->writing_cap, b->len) && reserve(&o->writing_meta, b->meta_len)) {
        memcpy(o->writing, b->p, b->len);
        o->writing_len = b->len;
        ar_buf_put(&o->writing_meta, b->meta, b->meta_len);
        o->writing_from_spool = false;
    } else {
        o->stats.lines_dropped += count_lines(b->p, b->len);
    }
    pthread_mutex_unlock(&o->lock);
    int started = start_writer(o);
    if (started < 0) {
        fprintf(stderr, "auditrelay: output %s: cannot start its thread: %s\n", o->name,
                strerror(-started));
        pthread_mutex_lock(&o->lock);
        o->failed = true;
        o->stats.lines_dropped += count_lines(o->writing, o->writing_len);
        o->writing_len = o->writing_meta.len = 0;
        pthread_mutex_unlock(&o->lock);
    }
}

/* Queues b; with own_lines and own_meta (the buffers b describes), an empty queue
 * keeps their memory instead of a copy and hands them its own empty buffers. */
static int queue_lines(struct ar_output *o, const struct ar_lines *b, struct ar_buf *own_lines,
                       struct ar_buf *own_meta)
{
    const char *lines = b->p;
    size_t len = b->len;
    if (len == 0)
        return 0;
    pthread_mutex_lock(&o->send_lock);
    bool sent = o->producer_sends;
    if (sent)
        send_on_producer(o, b);
    pthread_mutex_unlock(&o->send_lock);
    if (sent)
        return 0;
    pthread_mutex_lock(&o->lock);
    o->stats.bytes_queued += len;
    if (o->reading_may_wait && o->cfg.policy == AR_OUTPUT_DROP)
        wait_for_writer(o);
    for (;;) {
        if (o->stopping || o->failed)
            break;
        /* A write larger than the whole bound is taken when the queue is empty: it
         * could never fit otherwise. */
        bool fits = memory_used(o) + len + b->meta_len <= o->cfg.max_memory ||
                    (o->filling_len == 0 && o->writing_len == 0);
        if (!spool_has_data(o) && fits && own_lines && o->filling_len == 0) {
            char *empty = o->filling;
            size_t empty_cap = o->filling_cap;
            /* A buffer that grew while lines were appended to it (up to max_memory)
             * does not go back to a producer that needs far less: with several
             * encoding threads, each batch ended up holding one. One of a MiB or less
             * does: the live collector hands small pieces, and a buffer freed and
             * grown again for each is work for nothing. */
            if (empty_cap > 2 * len && empty_cap > (1u << 20)) {
                free(empty);
                empty = NULL;
                empty_cap = 0;
            }
            o->filling = own_lines->p;
            o->filling_cap = own_lines->cap;
            o->filling_len = len;
            *own_lines = (struct ar_buf){.p = empty, .cap = empty_cap};
            struct ar_buf empty_meta = o->filling_meta;
            o->filling_meta = *own_meta;
            *own_meta = (struct ar_buf){.p = empty_meta.p, .cap = empty_meta.cap};
        } else if (!spool_has_data(o) && fits &&
                   grow(&o->filling, &o->filling_cap, o->filling_len + len) &&
                   reserve(&o->filling_meta, b->meta_len)) {
            memcpy(o->filling + o->filling_len, lines, len);
            o->filling_len += len;
            ar_buf_put(&o->filling_meta, b->meta, b->meta_len);
        } else {
            fits = false;
        }
        if (fits) {
            if (o->writer_waiting || o->filling_len >= COALESCE_BYTES)
                pthread_cond_signal(&o->wake);
            pthread_mutex_unlock(&o->lock);
            return 0;
        }
        /* Memory is full (or the spool already holds older lines): spill. */
        if (o->ops->spools && spool_append(o, b)) {
            if (o->writer_waiting)
                pthread_cond_signal(&o->wake);
            pthread_mutex_unlock(&o->lock);
            return 0;
        }
        /* The live collector drops (the kernel cannot wait). A replay waits: with a
         * spool, only once memory and spool are both full, so a slow peer holds up
         * nothing before that. */
        if (o->cfg.policy == AR_OUTPUT_DROP || o->interrupted)
            break;
        if (!o->told_waiting && o->ops->spools) {
            fprintf(stderr, "auditrelay: output %s is not keeping up: reading waits for it%s\n",
                    o->name, o->spool_fd >= 0 ? " (spool full)"
                                              : "; --spool-dir lets the other outputs go on");
            o->told_waiting = true;
        }
        pthread_cond_wait(&o->room, &o->lock);
    }
    o->stats.lines_dropped += count_lines(lines, len);
    pthread_mutex_unlock(&o->lock);
    return 0;
}

void ar_outputs_interrupt(struct ar_outputs *set)
{
    for (size_t i = 0; i < set->n; i++) {
        struct ar_output *o = set->v[i];
        pthread_mutex_lock(&o->lock);
        o->interrupted = true;
        pthread_cond_broadcast(&o->room);
        pthread_mutex_unlock(&o->lock);
    }
}

int ar_output_write(struct ar_output *o, const struct ar_lines *b)
{
    return queue_lines(o, b, NULL, NULL);
}

static bool pread_all(int fd, void *p, size_t len, uint64_t at)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)p + done, len - done, (off_t)(at + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
}

/* The spool's next records, whole, up to SPOOL_CHUNK bytes of them (or one larger
 * record), into `writing` and `writing_meta`. open_spool checked every record. */
static bool spool_take(struct ar_output *o)
{
    uint64_t avail = o->spool_write - o->spool_read;
    size_t want = avail > SPOOL_CHUNK ? SPOOL_CHUNK : (size_t)avail;
    struct ar_buf *c = &o->spool_chunk;
    c->len = 0;
    if (!reserve(c, want) || !pread_all(o->spool_fd, c->p, want, o->spool_read))
        return false;
    c->len = want;
    uint64_t head[2];
    memcpy(head, c->p, sizeof(head));
    if (SPOOL_RECORD_HEAD + head[0] + head[1] > c->len) {
        /* A record larger than the chunk: read it whole. */
        size_t size = (size_t)(SPOOL_RECORD_HEAD + head[0] + head[1]);
        if (!reserve(c, size - c->len) || !pread_all(o->spool_fd, c->p, size, o->spool_read))
            return false;
        c->len = size;
    }
    size_t off = 0;
    o->writing_len = o->writing_meta.len = 0;
    while (c->len - off >= SPOOL_RECORD_HEAD) {
        memcpy(head, c->p + off, sizeof(head));
        if (SPOOL_RECORD_HEAD + head[0] + head[1] > c->len - off)
            break;
        if (!grow(&o->writing, &o->writing_cap, o->writing_len + head[0]) ||
            !reserve(&o->writing_meta, head[1]))
            break;
        ar_buf_put(&o->writing_meta, c->p + off + SPOOL_RECORD_HEAD, head[1]);
        memcpy(o->writing + o->writing_len, c->p + off + SPOOL_RECORD_HEAD + head[1], head[0]);
        o->writing_len += head[0];
        off += SPOOL_RECORD_HEAD + head[1] + head[0];
    }
    o->writing_spool_bytes = off;
    o->writing_from_spool = true;
    return off > 0;
}

/* Called with the lock held: takes the next batch into `writing`. Memory first: it
 * holds lines older than anything in the spool. */
static bool take_batch(struct ar_output *o)
{
    if (o->writing_len)
        return true; /* a batch that failed: send it again */
    if (o->filling_len) {
        char *t = o->writing;
        size_t tcap = o->writing_cap;
        o->writing = o->filling;
        o->writing_cap = o->filling_cap;
        o->writing_len = o->filling_len;
        o->filling = t;
        o->filling_cap = tcap;
        o->filling_len = 0;
        struct ar_buf m = o->writing_meta;
        o->writing_meta = o->filling_meta;
        o->filling_meta = m;
        o->filling_meta.len = 0;
        o->writing_from_spool = false;
        return true;
    }
    if (!spool_has_data(o))
        return false;
    return spool_take(o);
}

/* The batch the writer owns now, with its metadata. */
static struct ar_lines writing_batch(const struct ar_output *o)
{
    return (struct ar_lines){o->writing, o->writing_len, o->writing_meta.p, o->writing_meta.len};
}

/* Keeps the batch just sent in the `recent` ring. Unlocked: the batch and the ring
 * are the writer's. */
static void remember_sent(struct ar_output *o)
{
    if (!o->ops->spools || o->ops->acknowledged)
        return;
    struct ar_lines b = writing_batch(o);
    ar_recent_add(&o->recent, &b, 0, b.len);
}

static void batch_done(struct ar_output *o)
{
    o->stats.bytes_sent += o->writing_len;
    if (o->writing_from_spool) {
        o->spool_read += o->writing_spool_bytes;
        if (o->spool_read == o->spool_write) {
            /* Drained: start the file over. */
            if (ftruncate(o->spool_fd, 0) == 0)
                o->spool_read = o->spool_write = o->spool_hole_end = 0;
        } else if (o->spool_read - o->spool_hole_end >= SPOOL_CHUNK) {
            spool_punch(o, o->spool_read);
        }
        o->stats.spool_now = o->spool_write - o->spool_read;
    }
    o->writing_len = o->writing_meta.len = 0;
    pthread_cond_broadcast(&o->room);
}

static bool past_deadline(const struct ar_output *o)
{
    if (!o->stopping || !o->has_deadline)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > o->deadline.tv_sec ||
           (now.tv_sec == o->deadline.tv_sec && now.tv_nsec >= o->deadline.tv_nsec);
}

/* Connects when not connected and, after a broken connection, sends the recent lines
 * again first. Called unlocked, on the writer thread. Returns 0 or -errno. */
static int connect_and_resend(struct ar_output *o, uint64_t *dropped)
{
    if (o->connected)
        return 0;
    int r = o->ops->connect(o->t);
    o->connected = r == 0;
    struct ar_buf lines = {0}, meta = {0};
    if (r == 0 && o->resend_recent && ar_recent_copy(&o->recent, &lines, &meta)) {
        struct ar_lines b = {lines.p, lines.len, meta.p, meta.len};
        do
            r = o->ops->send(o->t, &b, dropped);
        while (r == -EAGAIN && !past_deadline(o));
        if (r == 0) {
            o->stats.resent_bytes += lines.len;
            o->resend_recent = false;
        }
    }
    ar_buf_free(&lines);
    ar_buf_free(&meta);
    return r;
}

/* Milliseconds the end-of-stream confirmation may take: up to the deadline. */
static int finish_timeout_ms(const struct ar_output *o)
{
    const int most = 10000;
    if (!o->has_deadline)
        return most;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long ms = (long long)(o->deadline.tv_sec - now.tv_sec) * 1000 +
                   (o->deadline.tv_nsec - now.tv_nsec) / 1000000;
    return ms < 0 ? 0 : ms > most ? most : (int)ms;
}

static void *writer_main(void *arg)
{
    struct ar_output *o = arg;
    unsigned seed = (unsigned)(uintptr_t)o ^ (unsigned)time(NULL);
    long backoff = BACKOFF_MIN_MS;
    pthread_mutex_lock(&o->lock);
    for (;;) {
        while (!o->writing_len && !o->filling_len && !spool_has_data(o) && !o->stopping) {
            o->writer_waiting = true;
            if (o->ops->idle && o->connected) {
                struct timespec until = in_ms(IDLE_MS);
                if (pthread_cond_timedwait(&o->wake, &o->lock, &until) == ETIMEDOUT) {
                    pthread_mutex_unlock(&o->lock);
                    o->ops->idle(o->t);
                    pthread_mutex_lock(&o->lock);
                }
            } else {
                pthread_cond_wait(&o->wake, &o->lock);
            }
            o->writer_waiting = false;
        }
        if (!o->stopping && !o->writing_len && o->filling_len < COALESCE_BYTES &&
            !spool_has_data(o)) {
            struct timespec until = in_ms(0);
            until.tv_nsec += COALESCE_NS;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (!o->stopping && o->filling_len < COALESCE_BYTES &&
                   pthread_cond_timedwait(&o->wake, &o->lock, &until) == 0)
                ;
        }
        int r = 0;
        uint64_t dropped = 0;
        if (!take_batch(o)) {
            if (!o->stopping)
                continue;
            /* Everything was sent. A stream peer's kernel took it, which is not the
             * peer taking it: confirm with the end of the stream (and after a broken
             * confirmation, resend the recent lines and confirm again). */
            if (!o->ops->finish || (!o->connected && !o->resend_recent) || past_deadline(o))
                break;
            pthread_mutex_unlock(&o->lock);
            r = connect_and_resend(o, &dropped);
            if (r == 0)
                r = o->ops->finish(o->t, finish_timeout_ms(o));
            pthread_mutex_lock(&o->lock);
            o->stats.lines_dropped += dropped;
            if (r == -EAGAIN) {
                /* Acknowledgements still missing: wait on, up to the deadline. */
                if (past_deadline(o))
                    break;
                continue;
            }
            if (r == -ETIMEDOUT) {
                fprintf(stderr, "auditrelay: output %s: the peer did not close its side after "
                                "ours: whether it took the last lines is not known\n", o->name);
                break;
            }
            if (r == 0) {
                if (o->complained)
                    fprintf(stderr, "auditrelay: output %s: sending again\n", o->name);
                pthread_mutex_unlock(&o->lock);
                o->ops->disconnect(o->t);
                pthread_mutex_lock(&o->lock);
                o->connected = false;
                break;
            }
        } else {
            if (past_deadline(o))
                break;
            pthread_mutex_unlock(&o->lock);
            r = connect_and_resend(o, &dropped);
            struct ar_lines batch = writing_batch(o);
            if (r == 0)
                r = o->ops->send(o->t, &batch, &dropped);
            if (r == 0)
                remember_sent(o);
            pthread_mutex_lock(&o->lock);
            o->stats.lines_dropped += dropped;
            if (r == -EAGAIN) {
                /* A slow peer: the transport keeps its place in the batch; try again
                 * unless shutting down past the deadline. */
                o->stats.last_error = r;
                if (past_deadline(o))
                    break;
                continue;
            }
            if (r == 0) {
                if (o->complained)
                    fprintf(stderr, "auditrelay: output %s: sending again\n", o->name);
                o->complained = false;
                o->stats.last_error = 0;
                backoff = BACKOFF_MIN_MS;
                batch_done(o);
                continue;
            }
        }
        o->stats.last_error = r;
        if (o->ops->errors_are_final || r == -ESHUTDOWN) {
            o->failed = true;
            o->stats.lines_dropped += count_lines(o->writing, o->writing_len) +
                                      count_lines(o->filling, o->filling_len);
            o->writing_len = o->filling_len = 0;
            o->writing_meta.len = o->filling_meta.len = 0;
            pthread_cond_broadcast(&o->room);
            break;
        }
        /* Say it once per change, not on every retry: a peer that is down for an
         * hour should not fill the log. */
        if (!o->complained) {
            const char *why = o->ops->error ? o->ops->error(o->t) : NULL;
            fprintf(stderr, "auditrelay: output %s: %s; retrying with backoff%s\n", o->name,
                    why ? why : strerror(-r),
                    o->ops->spools && o->spool_fd >= 0 ? " (spooling)" : "");
            o->complained = true;
        }
        /* Down or refused: keep the batch, reconnect after a while. */
        if (o->connected) {
            pthread_mutex_unlock(&o->lock);
            o->ops->disconnect(o->t);
            pthread_mutex_lock(&o->lock);
            o->connected = false;
        }
        o->stats.reconnects++;
        o->resend_recent = true;
        long wait = backoff / 2 + (long)(rand_r(&seed) % (unsigned)(backoff / 2 + 1));
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        struct timespec until = in_ms(wait);
        if (o->stopping && o->has_deadline &&
            (until.tv_sec > o->deadline.tv_sec ||
             (until.tv_sec == o->deadline.tv_sec && until.tv_nsec > o->deadline.tv_nsec)))
            until = o->deadline;
        /* Producers signal `wake` for new lines; only stopping may cut the backoff
         * short (else a busy source turns it into a reconnect storm). */
        bool was_stopping = o->stopping;
        while (o->stopping == was_stopping &&
               pthread_cond_timedwait(&o->wake, &o->lock, &until) != ETIMEDOUT)
            ;
        if (past_deadline(o))
            break;
    }
    /* Whatever could not be sent before the deadline is counted, not hidden. */
    uint64_t left = count_lines(o->writing, o->writing_len) + count_lines(o->filling, o->filling_len);
    o->stats.lines_dropped += left;
    pthread_mutex_unlock(&o->lock);
    if (o->ops->abandon) {
        left = o->ops->abandon(o->t);
        pthread_mutex_lock(&o->lock);
        o->stats.lines_dropped += left;
        pthread_mutex_unlock(&o->lock);
    }
    if (o->connected)
        o->ops->disconnect(o->t);
    return NULL;
}

static const struct ar_transport_ops *find_transport(const char *spec, const char **ret_target)
{
    for (size_t i = 0; ar_transports[i]; i++) {
        const char *s = ar_transports[i]->scheme;
        size_t n = strlen(s);
        if (strncmp(spec, s, n) != 0)
            continue;
        const char *rest = spec + n;
        if (*rest == '\0' || *rest == '?') {
            *ret_target = rest;
            return ar_transports[i];
        }
        if (strncmp(rest, "://", 3) == 0) {
            *ret_target = rest + 3;
            return ar_transports[i];
        }
        if (*rest == ':') {
            *ret_target = rest + 1;
            return ar_transports[i];
        }
    }
    return NULL;
}

/* Checks a spool a previous run left (SPOOL_MAGIC, then whole records) and takes
 * it: its lines go first. A record cut short at the end (the run died while writing
 * it) is cut off and said; anything else that is not a spool of this format is
 * refused with err, the file untouched. Returns 0, -EINVAL or -errno. */
static int take_old_spool(struct ar_output *o, uint64_t size, char *err, size_t errlen)
{
    char magic[SPOOL_MAGIC_LEN];
    bool readable = size >= SPOOL_MAGIC_LEN && pread_all(o->spool_fd, magic, SPOOL_MAGIC_LEN, 0);
    bool v2 = readable && memcmp(magic, SPOOL_MAGIC_V2, SPOOL_MAGIC_LEN) == 0;
    if (!readable || (!v2 && memcmp(magic, SPOOL_MAGIC, SPOOL_MAGIC_LEN) != 0)) {
        bool newer = readable && memcmp(magic, SPOOL_MAGIC, SPOOL_MAGIC_LEN - 2) == 0;
        snprintf(err, errlen, "spool %s %s: this auditrelay reads the records of \"%.*s\"; "
                 "send its lines with the auditrelay that wrote it, or move it away", o->spool_path,
                 newer ? "is of another version"
                       : "has no version line: it holds the bare lines of an auditrelay before "
                         "spools kept each event's metadata",
                 (int)SPOOL_MAGIC_LEN - 1, SPOOL_MAGIC);
        return -EINVAL;
    }
    /* From here on the file is this version's (a skip may be written into it). */
    if (v2 && !pwrite_all(o->spool_fd, SPOOL_MAGIC, SPOOL_MAGIC_LEN, 0))
        return -errno;
    uint64_t first = SPOOL_MAGIC_LEN, head[2];
    if (size - first >= SPOOL_RECORD_HEAD && pread_all(o->spool_fd, head, sizeof(head), first) &&
        head[0] == SPOOL_SKIP) {
        if (head[1] < first + SPOOL_RECORD_HEAD || head[1] > size) {
            snprintf(err, errlen, "spool %s: its first unsent record is said to be at %llu, "
                     "outside the file's %llu bytes; move it away", o->spool_path,
                     (unsigned long long)head[1], (unsigned long long)size);
            return -EINVAL;
        }
        first = head[1];
    }
    uint64_t at = first;
    while (at < size) {
        if (size - at < SPOOL_RECORD_HEAD || !pread_all(o->spool_fd, head, sizeof(head), at) ||
            head[0] > size || head[1] > size || size - at - SPOOL_RECORD_HEAD < head[0] + head[1])
            break;
        at += SPOOL_RECORD_HEAD + head[0] + head[1];
    }
    if (at < size) {
        fprintf(stderr, "auditrelay: output %s: spool %s ends with %llu bytes of a record cut "
                "short (a run stopped while writing it): they are left out\n", o->name,
                o->spool_path, (unsigned long long)(size - at));
        if (ftruncate(o->spool_fd, (off_t)at) < 0)
            return -errno;
    }
    if (at > first) {
        o->spool_read = first;
        o->spool_write = at;
        o->stats.spool_now = at - first;
        /* Again: the last run may have died between the skip and the punch. */
        spool_punch(o, first);
    } else if (ftruncate(o->spool_fd, 0) < 0) {
        return -errno;
    }
    return 0;
}

static int open_spool(struct ar_output *o, char *err, size_t errlen)
{
    char file[256];
    size_t k = 0;
    /* One file per output, named after its spec. */
    for (const char *p = o->name; *p && k < sizeof(file) - 8; p++)
        file[k++] = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ? *p : '_';
    file[k] = '\0';
    snprintf(o->spool_path, sizeof(o->spool_path), "%s/%s.spool", o->cfg.spool_dir, file);
    mkdir(o->cfg.spool_dir, 0700);
    o->spool_fd = open(o->spool_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (o->spool_fd < 0)
        return -errno;
    /* Lines a previous run spooled and never sent go first. */
    struct stat st;
    if (fstat(o->spool_fd, &st) < 0)
        return -errno;
    return st.st_size > 0 ? take_old_spool(o, (uint64_t)st.st_size, err, errlen) : 0;
}

/* The ops of a registry entry whose transport is a module (entry->module), loaded on
 * first use and kept; NULL with err set when the module cannot be loaded. */
static const struct ar_transport_ops *transport_module(const struct ar_transport_ops *entry,
                                                       char *err, size_t errlen)
{
    char what[64];
    snprintf(what, sizeof(what), "%s://", entry->scheme);
    return ar_module_symbol(what, entry->module, entry->module_symbol, err, errlen);
}

int ar_output_new(const char *spec, const struct ar_output_config *cfg, char *err, size_t errlen,
                  struct ar_output **ret)
{
    const char *target = NULL;
    const struct ar_transport_ops *ops = find_transport(spec, &target);
    if (ops && ops->module && !(ops = transport_module(ops, err, errlen)))
        return -EINVAL;
    if (!ops) {
        snprintf(err, errlen, "unknown output '%s' (stdout, file:PATH, syslog+udp://HOST:PORT, "
                              "syslog+tcp://HOST:PORT, syslog+tls://HOST:PORT, relp://HOST:PORT, "
                              "relp+tls://HOST:PORT, unix:PATH, exec:PROGRAM ARGS%s)", spec,
                 AR_HAVE_KAFKA ? ", kafka://BROKER[,BROKER...]/TOPIC" : "; this build has no kafka://");
        return -EINVAL;
    }
    const char *q = strchr(target, '?');
    char tbuf[1024];
    size_t tlen = q ? (size_t)(q - target) : strlen(target);
    if (tlen >= sizeof(tbuf)) {
        snprintf(err, errlen, "output '%s': target too long", spec);
        return -EINVAL;
    }
    memcpy(tbuf, target, tlen);
    tbuf[tlen] = '\0';
    struct ar_output *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    snprintf(o->name, sizeof(o->name), "%s", spec);
    o->ops = ops;
    o->cfg = *cfg;
    o->spool_fd = -1;
    o->soft_limit = SOFT_BYTES;
    ar_recent_init(&o->recent, RECENT_MAX);
    int r = ops->create(tbuf, q ? q + 1 : "", err, errlen, &o->t);
    if (r < 0) {
        free(o);
        return r;
    }
    if (ops->spools && cfg->spool_dir && (r = open_spool(o, err, errlen)) < 0) {
        char why[1536];
        if (r == -EINVAL)
            snprintf(why, sizeof(why), "%s", err);
        else
            snprintf(why, sizeof(why), "cannot open spool %s: %s", o->spool_path, strerror(-r));
        snprintf(err, errlen, "output '%s': %s", spec, why);
        if (o->spool_fd >= 0)
            close(o->spool_fd);
        ops->destroy(o->t);
        free(o);
        return -EINVAL;
    }
    if (!ops->spools) {
        /* Local destinations (stdout, a file, UDP) either work now or the user has
         * a problem to fix: say so at once rather than retry forever. */
        r = ops->connect(o->t);
        if (r < 0) {
            snprintf(err, errlen, "output '%s': %s", spec, strerror(-r));
            ops->destroy(o->t);
            free(o);
            return -EINVAL;
        }
        o->connected = true;
    }
    pthread_mutex_init(&o->lock, NULL);
    pthread_mutex_init(&o->send_lock, NULL);
    pthread_cond_init(&o->wake, NULL);
    pthread_cond_init(&o->room, NULL);
    *ret = o;
    return 0;
}

static int start_writer(struct ar_output *o)
{
    int r = pthread_create(&o->thread, NULL, writer_main, o);
    if (r)
        return -r;
    o->started = true;
    return 0;
}

/* The writer thread starts only now: threads are created with the capabilities
 * their creator has at that moment (they are per thread), so the collector starts
 * them after it dropped what it no longer needs. */
static int output_start(struct ar_output *o, bool reading_may_wait, bool producer_writes)
{
    if (o->started)
        return 0;
    bool producer_sends = producer_writes && !o->ops->spools && o->ops->never_waits_on_reader &&
                          o->ops->never_waits_on_reader(o->t);
    pthread_mutex_lock(&o->send_lock);
    pthread_mutex_lock(&o->lock); /* the encoding pool's threads write too */
    o->reading_may_wait = reading_may_wait;
    o->producer_sends = producer_sends;
    pthread_mutex_unlock(&o->lock);
    pthread_mutex_unlock(&o->send_lock);
    return producer_sends ? 0 : start_writer(o);
}

int ar_outputs_start(struct ar_outputs *set)
{
    for (size_t i = 0; i < set->n; i++) {
        int r = output_start(set->v[i], set->reading_may_wait, set->producer_writes);
        if (r < 0) {
            fprintf(stderr, "auditrelay: output %s: cannot start its thread: %s\n",
                    set->v[i]->name, strerror(-r));
            return r;
        }
    }
    return 0;
}

/* Tells the writer to send what it has and stop, by the deadline (first call wins:
 * ar_outputs_close gives every output the same one). */
static void request_stop(struct ar_output *o, int deadline_ms)
{
    pthread_mutex_lock(&o->lock);
    if (!o->stopping) {
        o->stopping = true;
        if (deadline_ms >= 0) {
            o->has_deadline = true;
            o->deadline = in_ms(deadline_ms);
        }
        if (!o->started) /* never started (a failed start-up): what it holds is lost */
            o->stats.lines_dropped += count_lines(o->filling, o->filling_len);
    }
    pthread_cond_broadcast(&o->wake);
    pthread_cond_broadcast(&o->room);
    pthread_mutex_unlock(&o->lock);
}

void ar_output_free(struct ar_output *o, int deadline_ms, struct ar_output_stats *ret_final)
{
    if (!o)
        return;
    request_stop(o, deadline_ms);
    /* Without a deadline this waits for a peer to come back; say so now and then. */
    while (o->started) {
        struct timespec t = in_ms(10000);
        if (pthread_timedjoin_np(o->thread, NULL, &t) == 0)
            break;
        struct ar_output_stats st = ar_output_stats(o);
        if (st.memory_now == 0 && st.spool_now == 0 && st.has_counts) {
            fprintf(stderr, "auditrelay: output %s: waiting for the peer to acknowledge %llu "
                    "lines (%s)\n", o->name, (unsigned long long)st.delivery.awaiting,
                    o->ops->error && o->ops->error(o->t) ? o->ops->error(o->t) : "sending");
            continue;
        }
        fprintf(stderr, "auditrelay: output %s: waiting to send %llu queued bytes (%s)\n",
                o->name, (unsigned long long)(st.bytes_queued - st.bytes_sent),
                st.last_error == -EAGAIN ? "the peer is not taking it"
                : st.last_error          ? strerror(-st.last_error)
                                         : "sending");
    }
    if (ret_final)
        *ret_final = ar_output_stats(o);
    o->ops->destroy(o->t);
    if (o->spool_fd >= 0)
        close(o->spool_fd);
    pthread_mutex_destroy(&o->lock);
    pthread_mutex_destroy(&o->send_lock);
    pthread_cond_destroy(&o->wake);
    pthread_cond_destroy(&o->room);
    free(o->filling);
    free(o->writing);
    ar_buf_free(&o->filling_meta);
    ar_buf_free(&o->writing_meta);
    ar_buf_free(&o->spool_chunk);
    ar_recent_free(&o->recent);
    free(o);
}

struct ar_output_stats ar_output_stats(struct ar_output *o)
{
    pthread_mutex_lock(&o->lock);
    struct ar_output_stats s = o->stats;
    s.memory_now = memory_used(o);
    s.failed = o->failed && o->stats.last_error != -ESHUTDOWN;
    pthread_mutex_unlock(&o->lock);
    if (o->ops->counts) {
        s.has_counts = true;
        o->ops->counts(o->t, &s.delivery);
    }
    if (o->ops->space_warnings)
        o->ops->space_warnings(o->t, s.space_warnings);
    return s;
}

const char *ar_output_name(const struct ar_output *o)
{
    return o->name;
}

/* ar_outputs_write and ar_outputs_take: a single output may keep the buffers. */
static int outputs_queue(struct ar_outputs *set, const struct ar_lines *lines,
                         struct ar_buf *own_lines, struct ar_buf *own_meta)
{
    size_t failed = 0;
    int err = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct ar_output *o = set->v[i];
        bool only = set->n == 1;
        queue_lines(o, lines, only ? own_lines : NULL, only ? own_meta : NULL);
        pthread_mutex_lock(&o->lock);
        if (o->failed) {
            failed++;
            err = o->stats.last_error;
        }
        pthread_mutex_unlock(&o->lock);
    }
    return set->n && failed == set->n ? (err ? err : -EIO) : 0;
}

int ar_outputs_write(void *ctx, const struct ar_lines *lines)
{
    return outputs_queue(ctx, lines, NULL, NULL);
}

int ar_outputs_take(void *ctx, struct ar_buf *lines, struct ar_buf *meta)
{
    struct ar_lines l = {lines->p, lines->len, meta->p, meta->len};
    int r = outputs_queue(ctx, &l, lines, meta);
    lines->len = meta->len = 0;
    return r;
}

/* Outputs being closed after a reload, each on a thread of its own. */
struct ar_retiring {
    struct ar_retiring *next;
    struct ar_output *o;
    pthread_t thread;
    int deadline_ms;
    _Atomic uint64_t dropped; /* known once closed */
};

static void print_output_stats(FILE *f, const char *name, const struct ar_output_stats *st);

static void *retire_main(void *arg)
{
    struct ar_retiring *r = arg;
    char name[512];
    snprintf(name, sizeof(name), "%s", ar_output_name(r->o));
    struct ar_output_stats st;
    ar_output_free(r->o, r->deadline_ms, &st);
    r->dropped = st.lines_dropped;
    fprintf(stderr, "auditrelay: reload: output %s closed\n", name);
    if (st.lines_dropped || st.spool_now)
        print_output_stats(stderr, name, &st);
    return NULL;
}

static bool in_set(const struct ar_outputs *set, const struct ar_output *o)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i] == o)
            return true;
    return false;
}

int ar_outputs_prepare(const struct ar_outputs *set, char *const *specs, size_t nspecs,
                       const struct ar_output_config *cfg, struct ar_outputs *next)
{
    static char *const default_spec[] = {"stdout"};
    if (nspecs == 0) {
        specs = default_spec;
        nspecs = 1;
    }
    *next = (struct ar_outputs){.v = calloc(nspecs, sizeof(*next->v))};
    if (!next->v)
        return -ENOMEM;
    for (size_t i = 0; i < nspecs; i++) {
        struct ar_output *same = NULL;
        for (size_t k = 0; k < set->n && !same; k++)
            if (strcmp(set->v[k]->name, specs[i]) == 0 && !in_set(next, set->v[k]))
                same = set->v[k];
        if (same) {
            next->v[next->n++] = same;
            continue;
        }
        char err[512] = "";
        int r = ar_output_new(specs[i], cfg, err, sizeof(err), &next->v[next->n]);
        if (r < 0) {
            fprintf(stderr, "auditrelay: %s\n", err[0] ? err : strerror(-r));
            ar_outputs_abort(set, next);
            return r;
        }
        next->n++;
    }
    return 0;
}

void ar_outputs_abort(const struct ar_outputs *set, struct ar_outputs *next)
{
    for (size_t i = 0; i < next->n; i++)
        if (!in_set(set, next->v[i]))
            ar_output_free(next->v[i], 0, NULL);
    free(next->v);
    *next = (struct ar_outputs){0};
}

void ar_outputs_commit(struct ar_outputs *set, struct ar_outputs *next, int deadline_ms)
{
    next->reading_may_wait = set->reading_may_wait;
    next->producer_writes = set->producer_writes;
    ar_outputs_start(next); /* the new ones (a failure was said; they count drops) */
    for (size_t i = 0; i < set->n; i++) {
        if (in_set(next, set->v[i]))
            continue;
        struct ar_retiring *r = calloc(1, sizeof(*r));
        if (r) {
            r->o = set->v[i];
            r->deadline_ms = deadline_ms;
            if (pthread_create(&r->thread, NULL, retire_main, r) == 0) {
                r->next = set->retiring;
                set->retiring = r;
                continue;
            }
            free(r);
        }
        ar_output_free(set->v[i], deadline_ms, NULL); /* no thread: here, then */
    }
    free(set->v);
    set->v = next->v;
    set->n = next->n;
    *next = (struct ar_outputs){0};
}

/* Waits for the outputs a reload is closing. */
static void join_retiring(struct ar_outputs *set, uint64_t *ret_dropped)
{
    while (set->retiring) {
        struct ar_retiring *r = set->retiring;
        set->retiring = r->next;
        pthread_join(r->thread, NULL);
        if (ret_dropped)
            *ret_dropped += r->dropped;
        free(r);
    }
}

int ar_outputs_open(struct ar_outputs *set, char *const *specs, size_t nspecs,
                    const struct ar_output_config *cfg)
{
    static const struct ar_outputs none;
    return ar_outputs_prepare(&none, specs, nspecs, cfg, set);
}

static void print_output_stats(FILE *f, const char *name, const struct ar_output_stats *st)
{
    char delivery[256] = "";
    if (st->has_counts)
        snprintf(delivery, sizeof(delivery),
                 ", %llu lines sent, %llu acknowledged, %llu awaiting acknowledgement, %llu sent "
                 "again after a failed delivery", (unsigned long long)st->delivery.sent,
                 (unsigned long long)st->delivery.acked, (unsigned long long)st->delivery.awaiting,
                 (unsigned long long)st->delivery.retried);
    char space[160] = "";
    if (st->space_warnings[0] || st->space_warnings[1])
        snprintf(space, sizeof(space), ", free space reached space_left %llu times, "
                 "admin_space_left %llu times", (unsigned long long)st->space_warnings[0],
                 (unsigned long long)st->space_warnings[1]);
    fprintf(f,
            "auditrelay: output %s: %llu bytes sent, %llu lines dropped, %llu reconnects, "
            "%llu bytes left in the spool, %llu bytes queued in memory, %llu bytes sent again "
            "after reconnecting%s%s%s%s\n",
            name, (unsigned long long)st->bytes_sent, (unsigned long long)st->lines_dropped,
            (unsigned long long)st->reconnects, (unsigned long long)st->spool_now,
            (unsigned long long)st->memory_now, (unsigned long long)st->resent_bytes, delivery,
            space, st->last_error ? ", last error: " : "", st->last_error ? strerror(-st->last_error) : "");
}

void ar_outputs_print_stats(struct ar_outputs *set, FILE *f)
{
    for (size_t i = 0; i < set->n; i++) {
        struct ar_output_stats st = ar_output_stats(set->v[i]);
        print_output_stats(f, ar_output_name(set->v[i]), &st);
    }
}

void ar_outputs_close(struct ar_outputs *set, int deadline_ms, bool report,
                      struct ar_output_stats *ret_total)
{
    if (ret_total)
        memset(ret_total, 0, sizeof(*ret_total));
    /* One deadline for all: n dead peers must not make the exit n times longer. */
    for (size_t i = 0; i < set->n; i++)
        request_stop(set->v[i], deadline_ms);
    for (size_t i = 0; i < set->n; i++) {
        struct ar_output_stats st;
        char name[512];
        snprintf(name, sizeof(name), "%s", ar_output_name(set->v[i]));
        ar_output_free(set->v[i], deadline_ms, &st);
        if (ret_total) {
            ret_total->bytes_sent += st.bytes_sent;
            ret_total->lines_dropped += st.lines_dropped;
            ret_total->reconnects += st.reconnects;
            ret_total->spool_now += st.spool_now;
            ret_total->resent_bytes += st.resent_bytes;
            if (st.failed) {
                ret_total->failed = true;
                ret_total->last_error = st.last_error;
            }
        }
        if (report && (st.lines_dropped || st.reconnects || st.spool_now || st.has_counts ||
                       st.space_warnings[0] || st.space_warnings[1]))
            print_output_stats(stderr, name, &st);
    }
    uint64_t retired_dropped = 0;
    join_retiring(set, &retired_dropped);
    if (ret_total)
        ret_total->lines_dropped += retired_dropped;
    free(set->v);
    set->v = NULL;
    set->n = 0;
}

uint64_t ar_outputs_capabilities(const struct ar_outputs *set, bool children_root)
{
    uint64_t caps = 0;
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i]->ops->capabilities &&
            (children_root || !set->v[i]->ops->capabilities_for_children))
            caps |= set->v[i]->ops->capabilities(set->v[i]->t);
    return caps;
}

void ar_outputs_space_warnings(void *ctx, uint64_t ret[2])
{
    struct ar_outputs *set = ctx;
    ret[0] = ret[1] = 0;
    for (size_t i = 0; i < set->n; i++) {
        uint64_t w[2] = {0, 0};
        if (set->v[i]->ops->space_warnings)
            set->v[i]->ops->space_warnings(set->v[i]->t, w);
        ret[0] += w[0];
        ret[1] += w[1];
    }
}

bool ar_outputs_want_eoe(const struct ar_outputs *set)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i]->ops->wants_eoe)
            return true;
    return false;
}

uint64_t ar_outputs_dropped(struct ar_outputs *set)
{
    uint64_t n = 0;
    for (size_t i = 0; i < set->n; i++)
        n += ar_output_stats(set->v[i]).lines_dropped;
    /* Outputs a reload retired keep counting (the pipeline reports increases). */
    for (const struct ar_retiring *r = set->retiring; r; r = r->next)
        n += r->dropped;
    return n;
}

uint64_t ar_outputs_sink_dropped(void *ctx)
{
    return ar_outputs_dropped(ctx);
}
