#include "pipeline/encode_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include "enrich/proctable.h"

#define BATCH_EVENTS 256
#define BATCH_TEXT (256u * 1024)

enum batch_state { BATCH_FREE, BATCH_FILLING, BATCH_QUEUED, BATCH_ENCODING, BATCH_DONE };

/* Events are stored as offsets while the batch fills (its arrays may move), and
 * turned into ar_event pointers when it is sealed. */
struct batch {
    enum batch_state state;
    uint64_t seq;
    size_t nevents;
    struct ar_event events[BATCH_EVENTS];
    size_t rec_first[BATCH_EVENTS];
    size_t text_first[BATCH_EVENTS];
    /* Process contexts, their strings copied into text (spans hold offsets into
     * it until the batch is sealed). */
    struct ar_proc_info procs[BATCH_EVENTS];
    struct ar_event_record *recs;
    size_t nrecs, recs_cap;
    char *text;
    size_t text_len, text_cap;
    struct ar_sink_buf out;
    int error;
};

struct worker {
    struct ar_encode_pool *pool;
    pthread_t thread;
    struct ar_encoder *enc;
    struct ar_idcache *ids;
};

struct ar_encode_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;       /* a batch was queued, or stopping */
    pthread_cond_t done;       /* a batch was handed out (and is free again) */
    struct ar_sink sink;
    unsigned nworkers;
    struct worker *workers;
    /* The reading thread, with the caller's encoder (borrowed): with every batch in
     * flight it encodes the oldest queued one itself instead of waiting, so on 2 CPUs
     * the work balances whichever side is slower. */
    struct worker reader;
    size_t nbatches;
    struct batch *batches;
    struct batch *filling;
    uint64_t next_seq;         /* sequence for the next sealed batch */
    uint64_t next_out;         /* sequence of the next batch to hand out */
    bool handing;              /* a worker is in hand_out_ready */
    bool stopping;
    _Atomic int error;         /* set by the handing worker, read by the reader */
    unsigned long long bytes_out;
};

static struct batch *oldest_queued(struct ar_encode_pool *pool)
{
    struct batch *best = NULL;
    for (size_t i = 0; i < pool->nbatches; i++) {
        struct batch *b = &pool->batches[i];
        if (b->state == BATCH_QUEUED && (!best || b->seq < best->seq))
            best = b;
    }
    return best;
}

static void hand_out_ready(struct ar_encode_pool *pool);

/* Encodes a queued batch with w's encoder and hands out what is ready. Called with
 * the lock held; it is released while encoding. */
static void encode_batch(struct ar_encode_pool *pool, struct worker *w, struct batch *b)
{
    b->state = BATCH_ENCODING;
    pthread_mutex_unlock(&pool->lock);
    b->out.lines.len = b->out.meta.len = 0;
    b->error = 0;
    for (size_t i = 0; i < b->nevents; i++)
        if (ar_sink_buf_event(&b->out, w->enc, &b->events[i]) < 0)
            b->error = -ENOMEM;
    pthread_mutex_lock(&pool->lock);
    b->state = BATCH_DONE;
    hand_out_ready(pool);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ar_encode_pool *pool = w->pool;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        struct batch *b;
        while (!(b = oldest_queued(pool)) && !pool->stopping)
            pthread_cond_wait(&pool->work, &pool->lock);
        if (!b)
            break;
        encode_batch(pool, w, b);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Hands the finished batches at the head of the order to the sink, on the worker
 * that finished the head batch (one worker at a time: `handing`; a batch finished
 * meanwhile is seen when it loops). On the reading thread this work (the outputs'
 * copy of every byte and its page faults) took 20-30% of its time, and that thread
 * set the pace. Called with the lock held. */
static void hand_out_ready(struct ar_encode_pool *pool)
{
    if (pool->handing)
        return;
    pool->handing = true;
    for (;;) {
        struct batch *next = NULL;
        for (size_t i = 0; i < pool->nbatches; i++) {
            struct batch *b = &pool->batches[i];
            if (b->state == BATCH_DONE && b->seq == pool->next_out)
                next = b;
        }
        if (!next)
            break;
        pthread_mutex_unlock(&pool->lock);
        size_t len = next->out.lines.len;
        int r = next->error;
        if (!r && !pool->error)
            r = ar_sink_buf_hand(&next->out, &pool->sink);
        next->out.lines.len = next->out.meta.len = 0;
        pthread_mutex_lock(&pool->lock);
        if (r < 0 && !pool->error)
            pool->error = r;
        pool->bytes_out += len;
        next->state = BATCH_FREE;
        pool->next_out++;
        pthread_cond_broadcast(&pool->done);
    }
    pool->handing = false;
}

/* While a batch fills, its text may move: a span is kept as an offset in p. */
static void offset_span(struct ar_span *sp, size_t off)
{
    sp->p = (const char *)(uintptr_t)off;
}

static void rebase_span(struct ar_span *sp, const char *text)
{
    sp->p = text + (uintptr_t)sp->p;
}

static size_t proc_text_len(const struct ar_proc_info *pi)
{
    size_t n = pi->script.len;
    for (uint32_t a = 0; a < pi->nancestors; a++)
        n += pi->ancestors[a].exe.len + pi->ancestors[a].comm.len;
    return n;
}

static void copy_span(struct batch *b, struct ar_span *sp)
{
    if (sp->len)
        memcpy(b->text + b->text_len, sp->p, sp->len);
    offset_span(sp, b->text_len);
    b->text_len += sp->len;
}

static void seal_and_queue(struct ar_encode_pool *pool)
{
    struct batch *b = pool->filling;
    if (!b || b->nevents == 0)
        return;
    for (size_t i = 0; i < b->nevents; i++) {
        b->events[i].records = b->recs + b->rec_first[i];
        b->events[i].buf = b->text + b->text_first[i];
        if (b->events[i].proc) {
            struct ar_proc_info *pi = &b->procs[i];
            b->events[i].proc = pi;
            rebase_span(&pi->script, b->text);
            for (uint32_t a = 0; a < pi->nancestors; a++) {
                rebase_span(&pi->ancestors[a].exe, b->text);
                rebase_span(&pi->ancestors[a].comm, b->text);
            }
        }
    }
    pthread_mutex_lock(&pool->lock);
    b->seq = pool->next_seq++;
    b->state = BATCH_QUEUED;
    pool->filling = NULL;
    pthread_cond_signal(&pool->work);
    pthread_mutex_unlock(&pool->lock);
}

/* On the reading thread, with the lock held: encodes the oldest queued batch, or
 * waits for a batch to be handed out when none is queued. */
static void help_or_wait(struct ar_encode_pool *pool)
{
    struct batch *queued = oldest_queued(pool);
    if (queued)
        encode_batch(pool, &pool->reader, queued);
    else
        pthread_cond_wait(&pool->done, &pool->lock);
}

static struct batch *free_batch(struct ar_encode_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        for (size_t i = 0; i < pool->nbatches; i++) {
            struct batch *b = &pool->batches[i];
            if (b->state == BATCH_FREE) {
                b->state = BATCH_FILLING;
                b->nevents = b->nrecs = b->text_len = 0;
                pthread_mutex_unlock(&pool->lock);
                return b;
            }
        }
        /* All busy: the oldest must come out first. */
        help_or_wait(pool);
    }
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *np = realloc(*p, c * elem);
    if (!np)
        return false;
    *p = np;
    *cap = c;
    return true;
}

int ar_encode_pool_add(struct ar_encode_pool *pool, const struct ar_event *ev)
{
    if (pool->error)
        return pool->error;
    if (!pool->filling)
        pool->filling = free_batch(pool);
    struct batch *b = pool->filling;
    size_t proc_len = ev->proc ? proc_text_len(ev->proc) : 0;
    if (!grow((void **)&b->recs, &b->recs_cap, b->nrecs + ev->nrecords, sizeof(*b->recs)) ||
        !grow((void **)&b->text, &b->text_cap, b->text_len + ev->buf_len + proc_len, 1))
        return -ENOMEM;
    struct ar_event *copy = &b->events[b->nevents];
    *copy = *ev;
    b->rec_first[b->nevents] = b->nrecs;
    b->text_first[b->nevents] = b->text_len;
    memcpy(b->recs + b->nrecs, ev->records, ev->nrecords * sizeof(*ev->records));
    memcpy(b->text + b->text_len, ev->buf, ev->buf_len);
    b->nrecs += ev->nrecords;
    b->text_len += ev->buf_len;
    if (ev->proc) {
        struct ar_proc_info *pi = &b->procs[b->nevents];
        memcpy(pi, ev->proc,
               offsetof(struct ar_proc_info, ancestors) +
                   ev->proc->nancestors * sizeof(pi->ancestors[0]));
        copy_span(b, &pi->script);
        for (uint32_t a = 0; a < pi->nancestors; a++) {
            copy_span(b, &pi->ancestors[a].exe);
            copy_span(b, &pi->ancestors[a].comm);
        }
    }
    b->nevents++;
    if (b->nevents == BATCH_EVENTS || b->text_len >= BATCH_TEXT)
        seal_and_queue(pool);
    return pool->error;
}

int ar_encode_pool_flush(struct ar_encode_pool *pool)
{
    seal_and_queue(pool);
    if (pool->filling) {
        /* Sealed nothing: an empty batch goes back. */
        pthread_mutex_lock(&pool->lock);
        pool->filling->state = BATCH_FREE;
        pool->filling = NULL;
        pthread_mutex_unlock(&pool->lock);
    }
    pthread_mutex_lock(&pool->lock);
    while (pool->next_out < pool->next_seq)
        help_or_wait(pool);
    int r = pool->error;
    pthread_mutex_unlock(&pool->lock);
    return r;
}

void ar_encode_pool_stats(const struct ar_encode_pool *pool, struct ar_encoder_stats *ret)
{
    memset(ret, 0, sizeof(*ret));
    for (unsigned i = 0; i <= pool->nworkers; i++) {
        const struct worker *w = i < pool->nworkers ? &pool->workers[i] : &pool->reader;
        const struct ar_encoder_stats *s = ar_encoder_stats(w->enc);
        ret->field_overflow += s->field_overflow;
        ret->unterminated += s->unterminated;
        ret->invalid_utf8 += s->invalid_utf8;
    }
}

unsigned long long ar_encode_pool_bytes_out(const struct ar_encode_pool *pool)
{
    return pool->bytes_out;
}

int ar_encode_pool_new(unsigned threads, const struct ar_encoder_config *cfg,
                       ar_id_lookup_fn lookup, struct ar_sink sink,
                       struct ar_encoder *reader_enc, struct ar_encode_pool **ret)
{
    if (threads == 0)
        return -EINVAL;
    struct ar_encode_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return -ENOMEM;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->sink = sink;
    /* One encoding thread hands its batches' buffers over to a single output
     * instead of a copy (bench log, --threads 1: 0.087-0.093 s against 0.095-0.099 s,
     * perf stat -r 5, 4 rounds). Several keep theirs: handed over, buffers from their
     * threads' malloc arenas went round the queue and peak RSS grew by 6-10 MB with
     * 3 and 4 threads. */
    if (threads > 1)
        pool->sink.take = NULL;
    pool->nbatches = 2 * threads + 2;
    pool->batches = calloc(pool->nbatches, sizeof(*pool->batches));
    pool->workers = calloc(threads, sizeof(*pool->workers));
    if (!pool->batches || !pool->workers) {
        ar_encode_pool_free(pool);
        return -ENOMEM;
    }
    pool->reader = (struct worker){.pool = pool, .enc = reader_enc};
    for (unsigned i = 0; i < threads; i++) {
        struct worker *w = &pool->workers[i];
        w->pool = pool;
        int r = ar_idcache_new(lookup, &w->ids);
        if (r == 0)
            r = ar_encoder_new(cfg, w->ids, &w->enc);
        if (r == 0)
            r = -pthread_create(&w->thread, NULL, worker_main, w);
        if (r < 0) {
            ar_encoder_free(w->enc);
            ar_idcache_free(w->ids);
            ar_encode_pool_free(pool);
            return r;
        }
        pool->nworkers++;
    }
    *ret = pool;
    return 0;
}

void ar_encode_pool_free(struct ar_encode_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nworkers; i++) {
        pthread_join(pool->workers[i].thread, NULL);
        ar_encoder_free(pool->workers[i].enc);
        ar_idcache_free(pool->workers[i].ids);
    }
    for (size_t i = 0; pool->batches && i < pool->nbatches; i++) {
        free(pool->batches[i].recs);
        free(pool->batches[i].text);
        ar_sink_buf_free(&pool->batches[i].out);
    }
    free(pool->batches);
    free(pool->workers);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->work);
    pthread_cond_destroy(&pool->done);
    free(pool);
}
