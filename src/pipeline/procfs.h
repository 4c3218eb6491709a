/* The live collector's process lookup (an ar_proc_lookup_fn): what /proc says about
 * a process the table meets without having seen its fork. Never used in replay. */
#pragma once
#include <stdint.h>
#include "enrich/proctable.h"

/* Reads /proc/PID/stat (parent, comm, start time), /proc/PID/exe and
 * /proc/PID/cgroup (container and unit, through enrich/cgroup). ctx is the proc
 * directory ("/proc" when NULL). A few small reads, no waiting: returns 0, or
 * -ESRCH (no such process, or it went away while read) or another negative errno.
 * The exe is left empty when it cannot be read (another user's process without
 * CAP_SYS_PTRACE, a kernel thread); the start time is the epoch in ms (the boot time
 * as CLOCK_REALTIME minus CLOCK_BOOTTIME now, plus the start in clock ticks). */
int ar_procfs_lookup(uint32_t pid, struct ar_proc_observed *ret, void *ctx);
