/* A blocking sink writing to a file descriptor (stdout, a file), used by replay,
 * which has nothing else to do while it waits. */
#pragma once
#include "pipeline.h"

/* Writes all of [p, p+len) to the fd in ctx (an int cast through intptr_t),
 * retrying short writes and EINTR. Returns 0 or -errno (-EPIPE when the reader
 * went away). */
int ar_fd_sink_write(void *ctx, const char *p, size_t len);
