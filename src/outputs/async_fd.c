#include "outputs/async_fd.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ar_async_fd {
    int fd;
    size_t max_queue;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    bool writer_waiting;  /* only then does a new line need a wake-up */
    /* Two buffers: the writer owns `writing` while it writes; `filling` takes new
     * lines under the lock. They swap when the writer is done. */
    char *writing;
    size_t writing_len, writing_cap;
    char *filling;
    size_t filling_len, filling_cap;
    struct ar_async_fd_stats stats;
};

static int write_all(int fd, const char *p, size_t len, uint64_t *written)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        *written += (uint64_t)n;
    }
    return 0;
}

/* Under load, waking the writer for every few lines costs more in context switches
 * than the writes themselves: after a wake-up it lets lines gather this long (or up
 * to COALESCE_BYTES) before writing. */
#define COALESCE_NS 2000000L
#define COALESCE_BYTES (256u * 1024)

static void *writer_main(void *arg)
{
    struct ar_async_fd *o = arg;
    pthread_mutex_lock(&o->lock);
    for (;;) {
        while (o->filling_len == 0 && !o->stopping) {
            o->writer_waiting = true;
            pthread_cond_wait(&o->wake, &o->lock);
            o->writer_waiting = false;
        }
        if (o->filling_len == 0)
            break;
        if (!o->stopping && o->filling_len < COALESCE_BYTES) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += COALESCE_NS;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (!o->stopping && o->filling_len < COALESCE_BYTES &&
                   pthread_cond_timedwait(&o->wake, &o->lock, &until) == 0)
                ;
        }
        char *t = o->writing;
        size_t tcap = o->writing_cap;
        o->writing = o->filling;
        o->writing_cap = o->filling_cap;
        o->writing_len = o->filling_len;
        o->filling = t;
        o->filling_cap = tcap;
        o->filling_len = 0;
        pthread_mutex_unlock(&o->lock);
        uint64_t written = 0;
        int r = o->stats.last_error ? o->stats.last_error
                                    : write_all(o->fd, o->writing, o->writing_len, &written);
        pthread_mutex_lock(&o->lock);
        o->stats.bytes_written += written;
        if (r < 0 && !o->stats.last_error)
            o->stats.last_error = r;
        o->writing_len = 0;
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

int ar_async_fd_new(int fd, size_t max_queue, struct ar_async_fd **ret)
{
    struct ar_async_fd *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->fd = fd;
    o->max_queue = max_queue;
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->wake, NULL);
    int r = pthread_create(&o->thread, NULL, writer_main, o);
    if (r) {
        pthread_mutex_destroy(&o->lock);
        pthread_cond_destroy(&o->wake);
        free(o);
        return -r;
    }
    *ret = o;
    return 0;
}

void ar_async_fd_free(struct ar_async_fd *o, struct ar_async_fd_stats *ret_final)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->lock);
    o->stopping = true;
    pthread_cond_signal(&o->wake);
    pthread_mutex_unlock(&o->lock);
    pthread_join(o->thread, NULL);
    if (ret_final)
        *ret_final = o->stats;
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->wake);
    free(o->writing);
    free(o->filling);
    free(o);
}

int ar_async_fd_write(void *ctx, const char *p, size_t len)
{
    struct ar_async_fd *o = ctx;
    int ret = 0;
    pthread_mutex_lock(&o->lock);
    if (o->stats.last_error) {
        ret = o->stats.last_error;
    } else if (o->filling_len + o->writing_len + len > o->max_queue) {
        o->stats.bytes_dropped += len;
        for (size_t i = 0; i < len; i++)
            o->stats.lines_dropped += p[i] == '\n';
    } else {
        if (o->filling_len + len > o->filling_cap) {
            size_t cap = o->filling_cap ? o->filling_cap : 64 * 1024;
            while (cap < o->filling_len + len)
                cap *= 2;
            char *nb = realloc(o->filling, cap);
            if (!nb) {
                ret = -ENOMEM;
                goto out;
            }
            o->filling = nb;
            o->filling_cap = cap;
        }
        memcpy(o->filling + o->filling_len, p, len);
        o->filling_len += len;
        if (o->writer_waiting || o->filling_len >= COALESCE_BYTES)
            pthread_cond_signal(&o->wake);
    }
out:
    pthread_mutex_unlock(&o->lock);
    return ret;
}

struct ar_async_fd_stats ar_async_fd_stats(struct ar_async_fd *o)
{
    pthread_mutex_lock(&o->lock);
    struct ar_async_fd_stats s = o->stats;
    pthread_mutex_unlock(&o->lock);
    return s;
}
