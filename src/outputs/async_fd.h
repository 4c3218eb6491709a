/* A non-blocking sink for the live collector: lines are queued in memory and a writer
 * thread of its own writes them in order, so the event loop never waits on a slow
 * reader of stdout or a slow disk, and writing does not wait for the loop either. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct ar_async_fd;

struct ar_async_fd_stats {
    uint64_t bytes_written;
    uint64_t bytes_dropped;   /* the queue was full: lines dropped, counted */
    uint64_t lines_dropped;
    int last_error;           /* first write error (-errno), 0 if none */
};

/* Starts the writer thread. max_queue bounds the bytes waiting to be written.
 * Returns 0 or -errno. */
int ar_async_fd_new(int fd, size_t max_queue, struct ar_async_fd **ret);

/* ar_sink write callback: queues whole lines; never blocks on the fd. Returns 0
 * (lines that do not fit are dropped and counted) or the first write error. */
int ar_async_fd_write(void *ctx, const char *p, size_t len);

/* Snapshot of the statistics. */
struct ar_async_fd_stats ar_async_fd_stats(struct ar_async_fd *o);

/* Waits until everything queued is written (or failed), stops the thread, frees.
 * The final statistics go to *ret_final when it is not NULL. */
void ar_async_fd_free(struct ar_async_fd *o, struct ar_async_fd_stats *ret_final);
