#include "outputs/fd_sink.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

int ar_fd_sink_write(void *ctx, const char *p, size_t len)
{
    int fd = (int)(intptr_t)ctx;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
