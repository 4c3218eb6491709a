/* A non-blocking sink for the live collector: lines are queued in memory and written
 * by libuv's thread pool (uv_fs_write), one write in flight at a time so order is
 * kept. The event loop never waits on a slow reader of stdout or a slow disk. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct ar_async_fd;

struct ar_async_fd_stats {
    uint64_t bytes_written;
    uint64_t bytes_dropped;   /* the queue was full: lines dropped, counted */
    uint64_t lines_dropped;
    int last_error;           /* first write error (-errno), 0 if none */
};

/* Returns 0 or -ENOMEM. max_queue bounds the bytes waiting to be written. */
int ar_async_fd_new(uv_loop_t *loop, int fd, size_t max_queue, struct ar_async_fd **ret);

/* ar_sink write callback: queues whole lines; never blocks. Returns 0 (lines that
 * do not fit are dropped and counted) or the first write error. */
int ar_async_fd_write(void *ctx, const char *p, size_t len);

/* True when everything queued has been written (or failed). */
int ar_async_fd_idle(const struct ar_async_fd *o);

const struct ar_async_fd_stats *ar_async_fd_stats(const struct ar_async_fd *o);

/* Frees the output; callers run the loop until ar_async_fd_idle first. */
void ar_async_fd_free(struct ar_async_fd *o);
