/* --seccomp: once the collector runs, a system call allow-list (libseccomp) on every
 * thread. A call outside the list kills the whole process (SCMP_ACT_KILL_PROCESS,
 * as systemd's SystemCallFilter= does): a parser flaw turned into code execution
 * gets no file it did not have open, no execve, no ptrace, and the kernel logs the
 * call (an audit SECCOMP record, syscall= names it). The next start puts the kernel
 * back from the state file, as after a SIGKILL. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What the running collector does, which decides a few calls beyond the common
 * list. */
struct ar_seccomp_needs {
    bool tracepoint; /* the tracepoint source: bpf() on its maps (bpf engine),
                      * perf_event_open and process_vm_readv (perf engine) */
    bool bpf;        /* the BPF process feed (procfeed.h): bpf() on its maps */
};

/* Installs the filter on every thread of the process (SCMP_FLTATR_CTL_TSYNC; threads
 * made later inherit it). Returns 0, -ENOTSUP when built without libseccomp, or
 * another -errno with `why` set. */
int ar_seccomp_install(const struct ar_seccomp_needs *needs, char *why, size_t whylen);

/* Writes the filter in libseccomp's pseudo-filter-code text (seccomp_export_pfc)
 * without loading it (tests/seccomp's probe shows what --seccomp allows). Returns 0
 * or -errno. */
int ar_seccomp_export(const struct ar_seccomp_needs *needs, FILE *f);
