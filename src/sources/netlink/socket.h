/* The kernel audit netlink socket records are read from (libmnl): the audit daemon
 * slot (claimed from this socket) and reading records in batches, non-blocking and
 * driven by the caller's event loop. */
#pragma once
#include <linux/audit.h>
#include <stdbool.h>
#include <stdint.h>
#include "parse/header.h"

struct ar_audit_nl;

enum ar_audit_nl_mode {
    AR_AUDIT_NL_UNICAST,   /* the audit daemon slot (AUDIT_SET pid) */
    AR_AUDIT_NL_MULTICAST, /* read-only through AUDIT_NLGRP_READLOG */
};

/* Called for each record read; spans are valid during the call only. */
typedef void (*ar_audit_record_fn)(const struct ar_record *rec, void *userdata);

/* Opens the reading socket. rcvbuf is the receive buffer
 * size to force (SO_RCVBUFFORCE, needs CAP_NET_ADMIN; falls back to SO_RCVBUF).
 * Returns 0 or -errno (-EPROTONOSUPPORT: no audit in this kernel, -EPERM). */
int ar_audit_nl_open(enum ar_audit_nl_mode mode, int rcvbuf, ar_audit_record_fn on_record,
                     void *userdata, struct ar_audit_nl **ret);
void ar_audit_nl_close(struct ar_audit_nl *nl);

/* The reading socket's fd, for the event loop. */
int ar_audit_nl_fd(const struct ar_audit_nl *nl);

/* Takes (pid = ours) or gives back (pid 0) the audit daemon slot: AUDIT_SET of the
 * pid, sent from the reading socket, which is what the kernel registers as the
 * daemon; only the kernel's ack counts (nl_pid 0). Returns 0 or the kernel's
 * -errno (-EEXIST: a live daemon holds the slot). Records that arrive meanwhile go
 * to on_record. Every other request (status, settings, rules) goes through the one
 * control client, rules/kernel.h. */
int ar_audit_nl_set_pid(struct ar_audit_nl *nl, uint32_t pid);

struct ar_audit_nl_stats {
    uint64_t datagrams;
    uint64_t records;
    uint64_t enobufs;        /* the socket buffer overflowed: records were lost */
    uint64_t foreign;        /* multicast messages not from the kernel (nl_pid != 0),
                              * dropped (the kernel refuses them on the unicast socket) */
    uint64_t bad;            /* records whose header did not parse */
    uint64_t bytes;
};

/* Reads until the socket has nothing more (EAGAIN), in batches (recvmmsg), but
 * for at most AR_AUDIT_NL_DRAIN_MS, so that a reader the kernel outpaces still
 * returns to its event loop (timers, signals, metrics); *ret_more then says that
 * more is waiting. Returns the number of records, or -errno on a hard error.
 * ENOBUFS is counted in stats and reading continues. */
#define AR_AUDIT_NL_DRAIN_MS 20
int ar_audit_nl_drain(struct ar_audit_nl *nl, bool *ret_more);

const struct ar_audit_nl_stats *ar_audit_nl_stats(const struct ar_audit_nl *nl);
