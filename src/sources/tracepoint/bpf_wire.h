/* What the BPF engine's kernel half (tracepoint.bpf.c) and its userspace half
 * (bpf.c) share: the configuration the loader writes into the object's read-only
 * data before load, and the record the programs put in the ring buffer. Private to
 * the BPF engine: the rest of the source sees struct ar_tp_sample only. Plain
 * fixed-size types, the same layout on both sides. */
#pragma once
#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define AR_BPF_MAX_RULES 64      /* = AR_TP_MAX_RULES */
#define AR_BPF_MAX_CONDS 8       /* = AR_TP_MAX_CONDS */
#define AR_BPF_PREFIX 256        /* = AR_TP_MAX_PREFIX */
#define AR_BPF_NR 512            /* = AR_TP_NR_SYSCALLS */
#define AR_BPF_MAX_ARGS 64       /* = AR_TP_MAX_ARGS */

/* Caps on what one record carries; a longer value is cut and flagged. */
#define AR_BPF_PATH_CAP 4096     /* a path argument, NUL included */
#define AR_BPF_CWD_CAP 4096
#define AR_BPF_EXE_CAP 1024
#define AR_BPF_ARGV_CAP 8192     /* execve argv, NUL-separated */
#define AR_BPF_SA_CAP 128        /* sockaddr_storage */
#define AR_BPF_TTY_CAP 64

/* Per-syscall facts (x86_64 numbers) the loader computes, packed in a u32:
 * which arguments are paths (and which argument is their directory fd), audit's
 * permission classes, and how sockaddr arguments are found. */
#define AR_BPF_SI_NONE 7u
#define AR_BPF_SI_P0(v) ((v) & 7u)            /* path0 argument index; 7: none */
#define AR_BPF_SI_D0(v) (((v) >> 3) & 7u)     /* path0's dirfd argument; 7: cwd */
#define AR_BPF_SI_P1(v) (((v) >> 6) & 7u)
#define AR_BPF_SI_D1(v) (((v) >> 9) & 7u)
#define AR_BPF_SI_PERM(v) (((v) >> 12) & 15u) /* AUDIT_PERM_* the syscall is in */
#define AR_BPF_SI_OPEN(v) (((v) >> 16) & 7u)  /* ACC_MODE of: 1 a1, 2 a2; 3 read|write */
#define AR_BPF_SI_SA(v) (((v) >> 19) & 3u)    /* sockaddr: 1 connect/bind a1,a2; 2 accept (exit) */
#define AR_BPF_SI_EXEC(v) (((v) >> 21) & 3u)  /* 1 execve (a0, a1), 2 execveat (a1, a2) */
#define AR_BPF_SI_M0 (1u << 23)               /* path0 is matched by path rules */
#define AR_BPF_SI_M1 (1u << 24)
#define AR_BPF_SI_MAKE(p0, d0, p1, d1, perm, open, sa, exec)                      \
    ((__u32)(p0) | (__u32)(d0) << 3 | (__u32)(p1) << 6 | (__u32)(d1) << 9 |       \
     (__u32)(perm) << 12 | (__u32)(open) << 16 | (__u32)(sa) << 19 | (__u32)(exec) << 21)

/* Condition fields and operators: the values of enum ar_tp_field / ar_tp_op. */
enum { AR_BPF_F_PID, AR_BPF_F_PPID, AR_BPF_F_UID, AR_BPF_F_EUID, AR_BPF_F_SUID,
       AR_BPF_F_FSUID, AR_BPF_F_GID, AR_BPF_F_EGID, AR_BPF_F_SGID, AR_BPF_F_FSGID,
       AR_BPF_F_AUID, AR_BPF_F_SES, AR_BPF_F_EXIT, AR_BPF_F_SUCCESS, AR_BPF_F_A0,
       AR_BPF_F_A1, AR_BPF_F_A2, AR_BPF_F_A3, AR_BPF_F_COUNT };
enum { AR_BPF_EQ, AR_BPF_NE, AR_BPF_LT, AR_BPF_LE, AR_BPF_GT, AR_BPF_GE,
       AR_BPF_BIT_MASK, AR_BPF_BIT_TEST };

struct ar_bpf_cond {
    __u8 field, op, vs_field, field2;
    __u32 pad;
    __s64 value;
};

struct ar_bpf_rule {
    __u64 syscalls[AR_BPF_NR / 64];
    struct ar_bpf_cond conds[AR_BPF_MAX_CONDS];
    __u32 nconds;
    __u32 perm;
    __u32 arch;                  /* AUDIT_ARCH_*; 0: any */
    __u8 never, all_syscalls, path_is_dir, pad;
    __u32 path_len;              /* 0: no path condition */
    char path[AR_BPF_PREFIX + 8];/* zero padded */
};

/* Record flags. */
#define AR_BPF_R_I386 (1u << 0)         /* arch i386 (else x86_64) */
#define AR_BPF_R_ARGV_TRUNC (1u << 1)
#define AR_BPF_R_PATH0_LATE (1u << 2)   /* copied at exit, not entry */
#define AR_BPF_R_PATH1_LATE (1u << 3)
#define AR_BPF_R_SA_LATE (1u << 4)
#define AR_BPF_R_CTX (1u << 6)          /* struct ar_bpf_ctx follows the header */
#define AR_BPF_R_CWD_SAME (1u << 7)     /* no cwd bytes: the CPU's last one */
#define AR_BPF_R_PATH0 (1u << 8)        /* the syscall's first path argument is there */
#define AR_BPF_R_PATH1 (1u << 9)        /* and its second */
#define AR_BPF_R_ARG0 (1u << 10)        /* ARG0 << i: ai follows the header; else the
                                         * CPU's last ai */

/* Values a record carries cut short (struct ar_bpf_rec.cut): at their cap, or where
 * the path walk stops (48 components deep), which leaves what looks like an
 * absolute path. The exe's comes with the context (AR_BPF_R_CTX) and holds for the
 * records that reuse it. */
#define AR_BPF_CUT_EXE (1u << 0)
#define AR_BPF_CUT_CWD (1u << 1)
#define AR_BPF_CUT_PATH0 (1u << 2)
#define AR_BPF_CUT_PATH1 (1u << 3)
/* The program gathers them above the header's flags in one word. */
#define AR_BPF_CUT_SHIFT 16

/* One joined syscall in the ring: this header; the arguments a0-a3 that differ
 * from the CPU's last record's (u64 each, AR_BPF_R_ARGS); with AR_BPF_R_CTX the
 * process context (struct ar_bpf_ctx, then its exe bytes); then cwd, tty, path0,
 * path1, sockaddr and argv (NUL-separated) bytes back to back, lengths below.
 *
 * The arguments, the context and the cwd are sent only when they differ from the
 * last ones this CPU sent: a CPU's records reach the ring in the order it sent
 * them, so the reader keeps the last of each per CPU, and a record lost in a full
 * ring leaves the kernel's copy as the reader has it. A burst of one process's
 * syscalls then costs a third of the ring (an open() in a loop: 72 bytes with the
 * ring's own 8, not 226), which is what the ring holds while the reader is behind. */
struct ar_bpf_rec {
    __u64 ts;                    /* bpf_ktime_get_ns() at entry (CLOCK_MONOTONIC) */
    __s64 exit;
    __u32 pid;
    __s32 nr;                    /* whatever the caller asked for, under -S all */
    __u16 cpu;                   /* the CPU that sent it: whose last values it uses */
    __u16 flags;
    __s8 rule;                   /* < AR_BPF_MAX_RULES */
    __u8 tty_len, sa_len;        /* < AR_BPF_TTY_CAP, <= AR_BPF_SA_CAP */
    __u8 cut;                    /* AR_BPF_CUT_*: values cut short */
    __u16 cwd_len;
    __u16 path_len[2];
    __u16 argv_len;
};

struct ar_bpf_ctx {
    __u32 ppid;
    __u32 ids[8];                /* uid euid suid fsuid gid egid sgid fsgid */
    __u32 auid, ses;
    __u16 exe_len, has_auid;
    char comm[16];
};

/* Counters (a per-CPU array): what the programs could not deliver. */
enum { AR_BPF_C_RING_FULL, AR_BPF_C_NO_SLOT, AR_BPF_C_COUNT };
