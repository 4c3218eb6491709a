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

/* The AUDIT_ARCH_* of the machine this was built for (0 if audit has none):
 * what "b64" means in rules and what a record without arch= is taken to be. */
static inline uint32_t ar_arch_native(void)
{
#if defined(__x86_64__) && !defined(__ILP32__)
    return 0xc000003eu; /* AUDIT_ARCH_X86_64 */
#elif defined(__i386__)
    return 0x40000003u; /* AUDIT_ARCH_I386 */
#elif defined(__aarch64__)
    return 0xc00000b7u; /* AUDIT_ARCH_AARCH64 */
#elif defined(__arm__)
    return 0x40000028u; /* AUDIT_ARCH_ARM */
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return 0xc0000015u; /* AUDIT_ARCH_PPC64LE */
#elif defined(__powerpc64__)
    return 0x80000015u; /* AUDIT_ARCH_PPC64 */
#elif defined(__s390x__)
    return 0x80000016u; /* AUDIT_ARCH_S390X */
#elif defined(__riscv) && __riscv_xlen == 64
    return 0xc00000f3u; /* AUDIT_ARCH_RISCV64 */
#else
    return 0;
#endif
}

/* Symbolic errno name ("ENOENT") for a positive errno value, NULL if unknown. */
const char *ar_errno_name(int err);
/* Positive errno value for a symbolic name; false if unknown. */
bool ar_errno_from_name(struct ar_span name, int *ret);
