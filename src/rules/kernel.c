#include "rules/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rules/rules.h"

#define REPLY_TIMEOUT_MS 5000

struct ar_rules_nl {
    struct mnl_socket *sock;
    uint32_t seq;
    char *buf;
    size_t cap;
};

int ar_rules_nl_open(struct ar_rules_nl **ret)
{
    struct ar_rules_nl *nl = calloc(1, sizeof(*nl));
    if (!nl)
        return -ENOMEM;
    nl->sock = mnl_socket_open2(NETLINK_AUDIT, SOCK_CLOEXEC);
    if (!nl->sock) {
        int r = -errno;
        free(nl);
        return r;
    }
    if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
        int r = -errno;
        mnl_socket_close(nl->sock);
        free(nl);
        return r;
    }
    nl->seq = (uint32_t)time(NULL);
    *ret = nl;
    return 0;
}

void ar_rules_nl_close(struct ar_rules_nl *nl)
{
    if (!nl)
        return;
    mnl_socket_close(nl->sock);
    free(nl->buf);
    free(nl);
}

/* What a request waits for besides the ack: nothing, one reply of `type`, or
 * replies of `type` until NLMSG_DONE. Each reply goes to on_reply, which returns 0
 * or -errno (stops the exchange). */
struct exchange {
    uint16_t type;
    bool until_done;
    int (*on_reply)(const struct nlmsghdr *h, void *userdata);
    void *userdata;
};

static int send_request(struct ar_rules_nl *nl, uint16_t type, const void *payload, size_t len,
                        uint32_t seq)
{
    size_t total = NLMSG_HDRLEN + NLMSG_ALIGN(len);
    char stackbuf[2048];
    char *buf = total <= sizeof(stackbuf) ? stackbuf : calloc(1, total);
    if (!buf)
        return -ENOMEM;
    memset(buf, 0, total);
    struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    h->nlmsg_seq = seq;
    if (len)
        memcpy(mnl_nlmsg_put_extra_header(h, len), payload, len);
    int r = mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0 ? -errno : 0;
    if (buf != stackbuf)
        free(buf);
    return r;
}

/* Receives one datagram from the kernel into nl->buf, sized to fit. Returns its
 * length, or -errno (-ETIMEDOUT). Datagrams from other senders are skipped. */
static ssize_t receive(struct ar_rules_nl *nl)
{
    int fd = mnl_socket_get_fd(nl->sock);
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, REPLY_TIMEOUT_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0)
            return -errno;
        if (pr == 0)
            return -ETIMEDOUT;
        /* A rule can be far larger than a page (64 strings of up to PATH_MAX): peek
         * at the datagram's real size first. */
        ssize_t need = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
        if (need < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        if ((size_t)need + 1 > nl->cap) {
            size_t cap = (size_t)need + 4096;
            char *b = realloc(nl->buf, cap);
            if (!b)
                return -ENOMEM;
            nl->buf = b;
            nl->cap = cap;
        }
        struct sockaddr_nl from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(fd, nl->buf, nl->cap, 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        if (fromlen == sizeof(from) && from.nl_pid == 0)
            return n;
    }
}

static int exchange(struct ar_rules_nl *nl, uint16_t type, const void *payload, size_t len,
                    const struct exchange *x)
{
    uint32_t seq = ++nl->seq;
    int r = send_request(nl, type, payload, len, seq);
    if (r < 0)
        return r;
    bool acked = false, done = x->type == 0;
    while (!acked || !done) {
        ssize_t n = receive(nl);
        if (n < 0)
            return (int)n;
        if (n > INT32_MAX)
            return -EMSGSIZE;
        int left = (int)n;
        const struct nlmsghdr *h = (const struct nlmsghdr *)nl->buf;
        for (; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
            if (h->nlmsg_seq != seq)
                continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nlmsgerr))
                    return -EBADMSG;
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                if (e->error)
                    return e->error;
                acked = true;
            } else if (h->nlmsg_type == NLMSG_DONE) {
                done = true;
            } else if (x->type && h->nlmsg_type == x->type) {
                r = x->on_reply(h, x->userdata);
                if (r < 0)
                    return r;
                if (!x->until_done)
                    done = true;
            }
        }
    }
    return 0;
}

static int simple(struct ar_rules_nl *nl, uint16_t type, const void *payload, size_t len)
{
    struct exchange x = {0};
    return exchange(nl, type, payload, len, &x);
}

struct list_ctx {
    struct ar_kernel_rules *out;
    size_t cap;
    size_t bad;
};

static int on_rule(const struct nlmsghdr *h, void *userdata)
{
    struct list_ctx *c = userdata;
    size_t size = mnl_nlmsg_get_payload_len(h);
    const struct audit_rule_data *r = mnl_nlmsg_get_payload(h);
    if (size < sizeof(*r) || ar_rules_check_data(r, size) < 0) {
        c->bad++;
        return 0;
    }
    /* Keep exactly the rule; netlink may pad the payload. */
    size = sizeof(*r) + r->buflen;
    if (c->out->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        struct ar_kernel_rule *v = realloc(c->out->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->out->v = v;
        c->cap = cap;
    }
    struct audit_rule_data *copy = malloc(size);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, r, size);
    c->out->v[c->out->n++] = (struct ar_kernel_rule){copy, size};
    return 0;
}

int ar_rules_nl_list(struct ar_rules_nl *nl, struct ar_kernel_rules *ret, size_t *ret_bad)
{
    *ret = (struct ar_kernel_rules){0};
    struct list_ctx c = {.out = ret};
    struct exchange x = {AUDIT_LIST_RULES, true, on_rule, &c};
    int r = exchange(nl, AUDIT_LIST_RULES, NULL, 0, &x);
    if (r < 0) {
        ar_kernel_rules_free(ret);
        return r;
    }
    if (ret_bad)
        *ret_bad = c.bad;
    return 0;
}

void ar_kernel_rules_free(struct ar_kernel_rules *rules)
{
    for (size_t i = 0; i < rules->n; i++)
        free(rules->v[i].rule);
    free(rules->v);
    *rules = (struct ar_kernel_rules){0};
}

int ar_rules_nl_add(struct ar_rules_nl *nl, const struct audit_rule_data *rule, size_t size)
{
    return simple(nl, AUDIT_ADD_RULE, rule, size);
}

int ar_rules_nl_delete(struct ar_rules_nl *nl, const struct audit_rule_data *rule, size_t size)
{
    /* The kernel clears AUDIT_FILTER_PREPEND once the rule is in its list and
     * compares flags exactly: a delete that carries it matches nothing. */
    if (size < sizeof(*rule) || !(rule->flags & AUDIT_FILTER_PREPEND))
        return simple(nl, AUDIT_DEL_RULE, rule, size);
    struct audit_rule_data *copy = malloc(size);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, rule, size);
    copy->flags &= ~(uint32_t)AUDIT_FILTER_PREPEND;
    int r = simple(nl, AUDIT_DEL_RULE, copy, size);
    free(copy);
    return r;
}

/* Copies a fixed-size reply, tolerating an older kernel's shorter struct. */
struct copy_ctx {
    void *dst;
    size_t size;
};

static int on_copy(const struct nlmsghdr *h, void *userdata)
{
    struct copy_ctx *c = userdata;
    size_t len = mnl_nlmsg_get_payload_len(h);
    memset(c->dst, 0, c->size);
    memcpy(c->dst, mnl_nlmsg_get_payload(h), len < c->size ? len : c->size);
    return 0;
}

int ar_rules_nl_get_status(struct ar_rules_nl *nl, struct audit_status *ret)
{
    struct audit_status s;
    struct copy_ctx c = {&s, sizeof(s)};
    struct exchange x = {AUDIT_GET, false, on_copy, &c};
    int r = exchange(nl, AUDIT_GET, NULL, 0, &x);
    if (r == 0)
        *ret = s;
    return r;
}

int ar_rules_nl_set_status(struct ar_rules_nl *nl, const struct audit_status *s)
{
    return simple(nl, AUDIT_SET, s, sizeof(*s));
}

uint32_t ar_settings_field(const struct audit_status *st, uint32_t field)
{
    switch (field) {
    case AUDIT_STATUS_ENABLED: return st->enabled;
    case AUDIT_STATUS_FAILURE: return st->failure;
    case AUDIT_STATUS_RATE_LIMIT: return st->rate_limit;
    case AUDIT_STATUS_BACKLOG_LIMIT: return st->backlog_limit;
    case AUDIT_STATUS_BACKLOG_WAIT_TIME: return st->backlog_wait_time;
    default: return 0;
    }
}

void ar_settings_set_field(struct audit_status *st, uint32_t field, uint32_t value)
{
    switch (field) {
    case AUDIT_STATUS_ENABLED: st->enabled = value; break;
    case AUDIT_STATUS_FAILURE: st->failure = value; break;
    case AUDIT_STATUS_RATE_LIMIT: st->rate_limit = value; break;
    case AUDIT_STATUS_BACKLOG_LIMIT: st->backlog_limit = value; break;
    case AUDIT_STATUS_BACKLOG_WAIT_TIME: st->backlog_wait_time = value; break;
    default: break;
    }
}

int ar_settings_change(struct ar_rules_nl *nl, struct ar_settings_record *rec,
                       const struct audit_status *now, const struct audit_status *want)
{
    int r = ar_rules_nl_set_status(nl, want);
    if (r < 0)
        return r;
    for (uint32_t f = 1; f <= AUDIT_STATUS_BACKLOG_WAIT_TIME; f <<= 1)
        if ((want->mask & f & AR_SETTINGS_RESTORABLE) && !(rec->changed & f)) {
            ar_settings_set_field(&rec->found, f, ar_settings_field(now, f));
            rec->changed |= f;
        }
    return 0;
}

int ar_settings_restore(struct ar_rules_nl *nl, struct ar_settings_record *rec, uint32_t mask)
{
    struct audit_status back = rec->found;
    back.mask = mask & rec->changed;
    if (!back.mask)
        return 0;
    int r = ar_rules_nl_set_status(nl, &back);
    if (r == 0)
        rec->changed &= ~back.mask;
    return r;
}

int ar_rules_nl_get_features(struct ar_rules_nl *nl, struct audit_features *ret)
{
    struct audit_features f = {.vers = AUDIT_FEATURE_VERSION};
    struct copy_ctx c = {ret, sizeof(*ret)};
    struct exchange x = {AUDIT_GET_FEATURE, false, on_copy, &c};
    return exchange(nl, AUDIT_GET_FEATURE, &f, sizeof(f), &x);
}

int ar_rules_nl_set_features(struct ar_rules_nl *nl, const struct audit_features *f)
{
    return simple(nl, AUDIT_SET_FEATURE, f, sizeof(*f));
}

int ar_rules_nl_trim(struct ar_rules_nl *nl)
{
    return simple(nl, AUDIT_TRIM, NULL, 0);
}

int ar_rules_nl_make_equiv(struct ar_rules_nl *nl, const char *mount, const char *subtree)
{
    /* struct { u32 sizes[2]; char buf[]; } with the two strings, no NULs. */
    size_t l1 = strlen(mount), l2 = strlen(subtree);
    if (l1 > UINT32_MAX || l2 > UINT32_MAX)
        return -EINVAL;
    size_t len = 2 * sizeof(uint32_t) + l1 + l2;
    char *msg = malloc(len);
    if (!msg)
        return -ENOMEM;
    uint32_t sizes[2] = {(uint32_t)l1, (uint32_t)l2};
    memcpy(msg, sizes, sizeof(sizes));
    memcpy(msg + sizeof(sizes), mount, l1);
    memcpy(msg + sizeof(sizes) + l1, subtree, l2);
    int r = simple(nl, AUDIT_MAKE_EQUIV, msg, len);
    free(msg);
    return r;
}

int ar_rules_nl_user_message(struct ar_rules_nl *nl, const char *text)
{
    return simple(nl, AUDIT_USER, text, strlen(text) + 1);
}
