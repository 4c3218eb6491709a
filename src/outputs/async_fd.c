#include "outputs/async_fd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct ar_async_fd {
    uv_loop_t *loop;
    int fd;
    size_t max_queue;
    /* Two buffers: the one being written by the thread pool, and the one filling. */
    char *writing;
    size_t writing_len, writing_cap;
    char *filling;
    size_t filling_len, filling_cap;
    bool in_flight;
    uv_fs_t req;
    uv_buf_t buf;
    struct ar_async_fd_stats stats;
};

int ar_async_fd_new(uv_loop_t *loop, int fd, size_t max_queue, struct ar_async_fd **ret)
{
    struct ar_async_fd *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    o->loop = loop;
    o->fd = fd;
    o->max_queue = max_queue;
    *ret = o;
    return 0;
}

void ar_async_fd_free(struct ar_async_fd *o)
{
    if (!o)
        return;
    free(o->writing);
    free(o->filling);
    free(o);
}

static void start_write(struct ar_async_fd *o);

static void on_written(uv_fs_t *req)
{
    struct ar_async_fd *o = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n < 0) {
        if (!o->stats.last_error)
            o->stats.last_error = (int)n;
        o->writing_len = 0;
    } else {
        o->stats.bytes_written += (uint64_t)n;
        /* A short write: keep the rest at the front and write it next. */
        memmove(o->writing, o->writing + n, o->writing_len - (size_t)n);
        o->writing_len -= (size_t)n;
    }
    o->in_flight = false;
    start_write(o);
}

static void start_write(struct ar_async_fd *o)
{
    if (o->in_flight || o->stats.last_error)
        return;
    if (o->writing_len == 0) {
        if (o->filling_len == 0)
            return;
        char *t = o->writing;
        size_t tcap = o->writing_cap;
        o->writing = o->filling;
        o->writing_cap = o->filling_cap;
        o->writing_len = o->filling_len;
        o->filling = t;
        o->filling_cap = tcap;
        o->filling_len = 0;
    }
    o->buf = uv_buf_init(o->writing, (unsigned)o->writing_len);
    o->req.data = o;
    if (uv_fs_write(o->loop, &o->req, o->fd, &o->buf, 1, -1, on_written) < 0) {
        o->stats.last_error = -EIO;
        return;
    }
    o->in_flight = true;
}

int ar_async_fd_write(void *ctx, const char *p, size_t len)
{
    struct ar_async_fd *o = ctx;
    if (o->stats.last_error)
        return o->stats.last_error;
    if (o->filling_len + o->writing_len + len > o->max_queue) {
        o->stats.bytes_dropped += len;
        for (size_t i = 0; i < len; i++)
            o->stats.lines_dropped += p[i] == '\n';
        return 0;
    }
    if (o->filling_len + len > o->filling_cap) {
        size_t cap = o->filling_cap ? o->filling_cap : 64 * 1024;
        while (cap < o->filling_len + len)
            cap *= 2;
        char *nb = realloc(o->filling, cap);
        if (!nb)
            return -ENOMEM;
        o->filling = nb;
        o->filling_cap = cap;
    }
    memcpy(o->filling + o->filling_len, p, len);
    o->filling_len += len;
    start_write(o);
    return 0;
}

int ar_async_fd_idle(const struct ar_async_fd *o)
{
    return !o->in_flight && (o->stats.last_error || (o->writing_len == 0 && o->filling_len == 0));
}

const struct ar_async_fd_stats *ar_async_fd_stats(const struct ar_async_fd *o)
{
    return &o->stats;
}
