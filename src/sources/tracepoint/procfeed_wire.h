/* What the process feed's kernel half (procfeed.bpf.c) and its userspace half
 * (procfeed_bpf.c) share: the record the programs put in the ring buffer and the
 * counters. Plain fixed-size types, the same layout on both sides. */
#pragma once
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AR_PF_EXE_CAP 512        /* exe bytes a record carries; longer is cut */

enum ar_pf_kind { AR_PF_FORK = 1, AR_PF_EXEC = 2, AR_PF_EXIT = 3 };

enum ar_pf_counter { AR_PF_C_RING_FULL, AR_PF_C_COUNT };

struct ar_pf_rec {
    __u64 ts;                    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
    __u32 kind;                  /* enum ar_pf_kind */
    __u32 pid;                   /* the process (thread group id); fork: the child */
    __u32 ppid;                  /* its parent process */
    __u16 exe_len;               /* exec: bytes in exe */
    __u16 exe_trunc;             /* exec: exe was cut */
    char comm[16];
    char exe[AR_PF_EXE_CAP];     /* exec only: the record ends after exe_len bytes */
};
