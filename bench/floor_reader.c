/* bench/live's floor: the least a collector can do. It takes the audit daemon slot,
 * reads records with recvmmsg in batches of 64 and writes their raw text to a file,
 * nothing else, until SIGTERM; then it releases the slot. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define BATCH 64
#define BUF 9216

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int set_pid(int fd, unsigned pid)
{
    struct {
        struct nlmsghdr h;
        struct audit_status s;
    } req = {0};
    req.h.nlmsg_len = sizeof(req);
    req.h.nlmsg_type = AUDIT_SET;
    req.h.nlmsg_flags = NLM_F_REQUEST;
    req.s.mask = AUDIT_STATUS_PID;
    req.s.pid = pid;
    struct sockaddr_nl k = {.nl_family = AF_NETLINK};
    return sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&k, sizeof(k)) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor_reader OUTFILE\n");
        return 2;
    }
    int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
    if (out < 0 || fd < 0) {
        perror("floor_reader");
        return 1;
    }
    int rcv = 32 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (set_pid(fd, (unsigned)getpid()) < 0) {
        perror("AUDIT_SET");
        return 1;
    }
    static char bufs[BATCH][BUF];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH], outv[BATCH * 2];
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){bufs[i], BUF};
        msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    fprintf(stderr, "floor_reader: ready\n");
    while (!stop) {
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR || errno == ENOBUFS)
                continue;
            perror("recvmmsg");
            break;
        }
        int k = 0;
        for (int i = 0; i < n; i++) {
            struct nlmsghdr *h = (struct nlmsghdr *)bufs[i];
            if (msgs[i].msg_len <= NLMSG_HDRLEN || h->nlmsg_type < 1100)
                continue;
            outv[k++] = (struct iovec){bufs[i] + NLMSG_HDRLEN, msgs[i].msg_len - NLMSG_HDRLEN};
            outv[k++] = (struct iovec){"\n", 1};
        }
        if (k && writev(out, outv, k) < 0)
            break;
    }
    set_pid(fd, 0);
    close(out);
    return 0;
}
