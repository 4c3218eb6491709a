/* Static lookup tables generated at build time from the machine's kernel and audit
 * headers (tools/gen_tables.py): record types, architectures, syscalls per
 * architecture, errno names. All returned strings are static; nothing allocates. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "util/span.h"

/* Record type name as auditd prints it ("SYSCALL", "USER_AUTH"), NULL if unknown. */
const char *ar_rectype_name(uint32_t type);
/* Record type number for a name as auditd prints it; false if unknown. */
bool ar_rectype_from_name(struct ar_span name, uint32_t *ret);

/* Architecture name as auditd prints it ("x86_64", "i386", "aarch64"...) for an
 * AUDIT_ARCH_* value, NULL if unknown. */
const char *ar_arch_name(uint32_t audit_arch);
/* AUDIT_ARCH_* value for a name ("x86_64", "b64" and "b32" are resolved against
 * the build machine's native arch); false if unknown. */
bool ar_arch_from_name(struct ar_span name, uint32_t *ret);

/* Syscall name for a number on an AUDIT_ARCH_*; NULL when the arch has no table or
 * the number is unknown. Tables exist at least for x86_64, i386 and aarch64. */
const char *ar_syscall_name(uint32_t audit_arch, uint32_t nr);
/* Syscall number for a name on an arch: >= 0, -ENOENT for an unknown name,
 * -EAFNOSUPPORT for an arch without a table. */
int ar_syscall_number(uint32_t audit_arch, struct ar_span name);

/* Symbolic errno name ("ENOENT") for a positive errno value, NULL if unknown. */
const char *ar_errno_name(int err);
/* Positive errno value for a symbolic name; false if unknown. */
bool ar_errno_from_name(struct ar_span name, int *ret);
