/* bench/live's workload: N openat()+close() of one file, as fast as possible. Each
 * openat passes its index as the mode argument (ignored without O_CREAT; the event's
 * a3), so a reader can tell which opens it missed; glibc's open() would drop it. */
#include <fcntl.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: open_loop FILE N\n");
        return 2;
    }
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) {
        int fd = (int)syscall(SYS_openat, AT_FDCWD, argv[1], O_RDONLY, (unsigned)i);
        if (fd < 0) {
            perror(argv[1]);
            return 1;
        }
        close(fd);
    }
    return 0;
}
