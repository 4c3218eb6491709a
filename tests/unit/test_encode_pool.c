/* The encoding pool when its worker cannot keep up: the sink blocks the worker's first
 * hand-out, so every batch fills and the reading thread encodes queued batches itself
 * (instead of waiting) until the sink lets go. The lines and their metadata must come
 * out exactly as inline encoding writes them, in order. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "pipeline/pipeline.h"
#include "util/line_meta.h"

#define EVENTS 3000 /* about a dozen batches: more than the pool holds at once */

struct got {
    struct ar_buf lines, meta;
    pthread_mutex_t lock;
    pthread_cond_t released_cond;
    bool block_first, released;
    size_t writes;
};

static int capture(void *ctx, const struct ar_lines *b)
{
    struct got *g = ctx;
    pthread_mutex_lock(&g->lock);
    while (g->block_first && !g->released)
        pthread_cond_wait(&g->released_cond, &g->lock);
    CHECK(ar_line_meta_check(b->meta, b->meta_len, b->len));
    ar_buf_put(&g->lines, b->p, b->len);
    ar_buf_put(&g->meta, b->meta, b->meta_len);
    g->writes++;
    pthread_mutex_unlock(&g->lock);
    return 0;
}

/* Lets the sink go after a while: long enough for the reading thread to fill every
 * batch behind the blocked one (microseconds), and to encode the queued ones. */
static void *release_later(void *arg)
{
    struct got *g = arg;
    nanosleep(&(struct timespec){.tv_nsec = 300 * 1000 * 1000}, NULL);
    pthread_mutex_lock(&g->lock);
    g->released = true;
    pthread_cond_broadcast(&g->released_cond);
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

static void run(unsigned threads, bool block_first, struct got *g)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->released_cond, NULL);
    g->block_first = block_first;
    pthread_t releaser;
    if (block_first)
        CHECK(pthread_create(&releaser, NULL, release_later, g) == 0);

    struct ar_pipeline_config cfg;
    ar_pipeline_config_default(&cfg);
    cfg.resolve_ids = false;
    cfg.encode_threads = threads;
    cfg.sink = (struct ar_sink){.write = capture, .ctx = g};
    struct ar_pipeline *p;
    CHECK(ar_pipeline_new(&cfg, &p) == 0);
    char line[1024];
    for (unsigned i = 0; i < EVENTS; i++) {
        unsigned serial = 100 + i;
        int n = snprintf(line, sizeof(line),
                         "type=SYSCALL msg=audit(1700000000.%03u:%u): arch=c000003e syscall=%u "
                         "success=yes exit=3 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=%u "
                         "auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
                         "tty=pts0 ses=1 comm=\"cat\" exe=\"/usr/bin/cat\" key=(null)",
                         i % 1000, serial, i % 300, 1000 + i % 5000);
        CHECK(ar_pipeline_line(p, line, (size_t)n) == 0);
        n = snprintf(line, sizeof(line),
                     "type=PATH msg=audit(1700000000.%03u:%u): item=0 name=2F746D702F%04X "
                     "inode=%u dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE",
                     i % 1000, serial, i, i);
        CHECK(ar_pipeline_line(p, line, (size_t)n) == 0);
        n = snprintf(line, sizeof(line), "type=EOE msg=audit(1700000000.%03u:%u): ", i % 1000,
                     serial);
        CHECK(ar_pipeline_line(p, line, (size_t)n) == 0);
    }
    CHECK(ar_pipeline_flush(p) == 0);
    CHECK(ar_pipeline_stats(p)->events == EVENTS);
    ar_pipeline_free(p);
    if (block_first)
        pthread_join(releaser, NULL);
}

static size_t count_lines(const struct ar_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        n += b->p[i] == '\n';
    return n;
}

int main(void)
{
    struct got inline_out, pooled;
    run(0, false, &inline_out);
    CHECK(count_lines(&inline_out.lines) == EVENTS);
    for (unsigned threads = 1; threads <= 2; threads++) {
        run(threads, true, &pooled);
        CHECK(pooled.lines.len == inline_out.lines.len &&
              memcmp(pooled.lines.p, inline_out.lines.p, inline_out.lines.len) == 0);
        /* Entries may be split differently between writes: compare them unpacked. */
        CHECK(pooled.writes > 1);
        size_t a = 0, b = 0, n = 0;
        struct ar_line_meta ma, mb;
        while (ar_line_meta_get(inline_out.meta.p, inline_out.meta.len, &a, &ma)) {
            CHECK(ar_line_meta_get(pooled.meta.p, pooled.meta.len, &b, &mb));
            CHECK(ma.len == mb.len && ma.serial == mb.serial && ma.sec == mb.sec &&
                  ma.ms == mb.ms);
            n++;
        }
        CHECK(n == EVENTS && b == pooled.meta.len);
        printf("threads %u, first hand-out blocked: %zu events, same lines and metadata as "
               "inline\n", threads, n);
        ar_buf_free(&pooled.lines);
        ar_buf_free(&pooled.meta);
    }
    ar_buf_free(&inline_out.lines);
    ar_buf_free(&inline_out.meta);
    return check_done();
}
