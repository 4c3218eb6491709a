#include "sources/netlink/socket.h"

#include <errno.h>
#include <fcntl.h>
#include <libaudit.h> /* MAX_AUDIT_MESSAGE_LENGTH; header only */
#include <libmnl/libmnl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Records are up to MAX_AUDIT_MESSAGE_LENGTH (8970) bytes, more than
 * MNL_SOCKET_BUFFER_SIZE: size every receive buffer for the largest. */
#define RECORD_BUF NLMSG_ALIGN(MAX_AUDIT_MESSAGE_LENGTH + 256)
#define BATCH 64
#define REPLY_TIMEOUT_MS 2000

struct ar_audit_nl {
    struct mnl_socket *reader;
    ar_audit_record_fn on_record;
    void *userdata;
    uint32_t seq;
    struct ar_audit_nl_stats stats;
    struct ar_stamp_memo stamp; /* an event's records arrive one after another */
    /* Each buffer starts on a netlink header: RECORD_BUF keeps them aligned. */
    char (*bufs)[RECORD_BUF];
    struct mmsghdr msgs[BATCH];
    struct iovec iovs[BATCH];
    /* The senders, checked here only on the multicast socket: the unicast one is
     * connected to the kernel, which then refuses every other sender's unicast. */
    struct sockaddr_nl addrs[BATCH];
    bool kernel_only;
};

/* Opens and binds the socket. The unicast reader (no groups) is also connected to
 * the kernel (nl_pid 0): netlink then refuses a unicast to it from any other socket
 * (ECONNREFUSED to the sender), so its datagrams need no sender address, which cost
 * the copy-out of one per datagram (2% of the collector's CPU under load, perf). A
 * multicast group has no such check; its reader keeps the addresses. */
static int open_socket(unsigned groups, struct mnl_socket **ret)
{
    struct mnl_socket *s = mnl_socket_open2(NETLINK_AUDIT, SOCK_CLOEXEC);
    if (!s)
        return -errno;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0 ||
        (groups == 0 &&
         connect(mnl_socket_get_fd(s), (struct sockaddr *)&kernel, sizeof(kernel)) < 0)) {
        int r = -errno;
        mnl_socket_close(s);
        return r;
    }
    *ret = s;
    return 0;
}

int ar_audit_nl_open(enum ar_audit_nl_mode mode, int rcvbuf, ar_audit_record_fn on_record,
                     void *userdata, struct ar_audit_nl **ret)
{
    struct ar_audit_nl *nl = calloc(1, sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    nl->on_record = on_record;
    nl->userdata = userdata;
    nl->seq = (uint32_t)time(NULL);
    nl->bufs = malloc(sizeof(*nl->bufs) * BATCH);
    int r = nl->bufs ? 0 : -ENOMEM;
    nl->kernel_only = mode != AR_AUDIT_NL_MULTICAST;
    if (r == 0)
        r = open_socket(nl->kernel_only ? 0 : 1u << (AUDIT_NLGRP_READLOG - 1), &nl->reader);
    if (r < 0) {
        ar_audit_nl_close(nl);
        return r;
    }
    int fd = mnl_socket_get_fd(nl->reader);
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    for (int i = 0; i < BATCH; i++) {
        nl->iovs[i] = (struct iovec){nl->bufs[i], RECORD_BUF};
        nl->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &nl->iovs[i], .msg_iovlen = 1};
        if (!nl->kernel_only) {
            nl->msgs[i].msg_hdr.msg_name = &nl->addrs[i];
            nl->msgs[i].msg_hdr.msg_namelen = sizeof(nl->addrs[i]);
        }
    }
    *ret = nl;
    return 0;
}

void ar_audit_nl_close(struct ar_audit_nl *nl)
{
    if (!nl)
        return;
    if (nl->reader)
        mnl_socket_close(nl->reader);
    free(nl->bufs);
    free(nl);
}

int ar_audit_nl_fd(const struct ar_audit_nl *nl)
{
    return mnl_socket_get_fd(nl->reader);
}

const struct ar_audit_nl_stats *ar_audit_nl_stats(const struct ar_audit_nl *nl)
{
    return &nl->stats;
}

/* Handles one datagram from the reading socket; from is its sender, NULL on the
 * socket connected to the kernel. The kernel sets nlmsg_len of
 * records to the payload length alone (kernel/audit.c, audit_log_end), so the length
 * comes from the datagram, not the header. Returns the NLMSG_ERROR code for acks
 * with sequence `want_seq` (1 when it was not such an ack). */
static int handle_datagram(struct ar_audit_nl *nl, const char *buf, size_t len,
                           const struct sockaddr_nl *from, uint32_t want_seq)
{
    nl->stats.datagrams++;
    nl->stats.bytes += len;
    if (from && from->nl_pid != 0) {
        nl->stats.foreign++;
        return 1;
    }
    if (len < sizeof(struct nlmsghdr))
        return 1;
    const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
    if (h->nlmsg_type == NLMSG_ERROR) {
        if (len >= NLMSG_HDRLEN + sizeof(struct nlmsgerr) && want_seq && h->nlmsg_seq == want_seq) {
            const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
            return e->error;
        }
        return 1;
    }
    if (h->nlmsg_type < AUDIT_FIRST_USER_MSG || h->nlmsg_type > AUDIT_LAST_USER_MSG2)
        return 1; /* replies and control messages */
    const char *payload = buf + NLMSG_HDRLEN;
    struct ar_record rec;
    if (ar_header_parse_netlink(h->nlmsg_type, payload, buf + len, &nl->stamp, &rec) < 0) {
        nl->stats.bad++;
        return 1;
    }
    nl->stats.records++;
    nl->on_record(&rec, nl->userdata);
    return 1;
}

/* Reads one batch; returns the number of datagrams, 0 on EAGAIN, or -errno. */
static int read_batch(struct ar_audit_nl *nl, uint32_t want_seq, int *ack)
{
    int fd = mnl_socket_get_fd(nl->reader);
    if (!nl->kernel_only)
        for (int i = 0; i < BATCH; i++)
            nl->msgs[i].msg_hdr.msg_namelen = sizeof(nl->addrs[i]);
    int n = recvmmsg(fd, nl->msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        if (errno == ENOBUFS) {
            /* The kernel dropped records for us; the socket stays usable. */
            nl->stats.enobufs++;
            return 1;
        }
        return -errno;
    }
    for (int i = 0; i < n; i++) {
        int r = handle_datagram(nl, nl->bufs[i], nl->msgs[i].msg_len,
                                nl->kernel_only ? NULL : &nl->addrs[i], want_seq);
        if (r <= 0 && ack)
            *ack = r;
    }
    return n;
}

static uint64_t coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int ar_audit_nl_drain(struct ar_audit_nl *nl, bool *ret_more)
{
    uint64_t before = nl->stats.records;
    uint64_t deadline = coarse_ms() + AR_AUDIT_NL_DRAIN_MS;
    *ret_more = false;
    for (;;) {
        int n = read_batch(nl, 0, NULL);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        if (coarse_ms() >= deadline) {
            *ret_more = true;
            break;
        }
    }
    return (int)(nl->stats.records - before);
}

static int send_request(struct mnl_socket *s, uint16_t type, const void *payload, size_t len,
                        uint32_t seq)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = seq;
    if (payload)
        memcpy(mnl_nlmsg_put_extra_header(h, len), payload, len);
    if (mnl_socket_sendto(s, h, h->nlmsg_len) < 0)
        return -errno;
    return 0;
}

static int wait_readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, REPLY_TIMEOUT_MS);
    if (r < 0)
        return -errno;
    return r == 0 ? -ETIMEDOUT : 0;
}

int ar_audit_nl_set_pid(struct ar_audit_nl *nl, uint32_t pid)
{
    uint32_t seq = ++nl->seq;
    struct audit_status s = {.mask = AUDIT_STATUS_PID, .pid = pid};
    /* The daemon slot is whatever socket sent the request: the reader. Records may
     * arrive before the ack; they go to the pipeline as usual. */
    int r = send_request(nl->reader, AUDIT_SET, &s, sizeof(s), seq);
    if (r < 0)
        return r;
    int fd = mnl_socket_get_fd(nl->reader);
    for (;;) {
        r = wait_readable(fd);
        if (r < 0)
            return r;
        int ack = 1;
        int n = read_batch(nl, seq, &ack);
        if (n < 0)
            return n;
        if (ack <= 0)
            return ack;
    }
}
