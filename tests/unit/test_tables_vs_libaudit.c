/* Compares the generated tables (audit/tables.h) with what libaudit prints, so that
 * our names equal auditd's and ausearch's. This test links -laudit; the collector
 * itself never does.
 *
 * Record types must match for every type libaudit knows (types only we know are
 * fine: auditd prints those as UNKNOWN[n]); a difference fails the test. Arches,
 * syscalls and errno names are compared and the differences printed: libaudit keeps
 * its own copies of those tables, which lag the kernel headers, so they report but do
 * not fail, except where a number known to both has different names. */
#include <libaudit.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "audit/tables.h"
#include "util/span.h"

static int failures;

static struct ar_span span_of(const char *s)
{
    return (struct ar_span){s, strlen(s)};
}

struct tally {
    unsigned both_same, both_differ, only_libaudit, only_ours;
};

static void print_tally(const char *what, const struct tally *t)
{
    printf("%-16s same %u, different %u, only libaudit %u, only ours %u\n", what, t->both_same,
           t->both_differ, t->only_libaudit, t->only_ours);
}

/* Counts one number that libaudit names `theirs` and we name `ours` (either NULL). */
static void tally_one(struct tally *t, const char *what, long number, const char *theirs,
                      const char *ours, bool strict)
{
    if (theirs && ours && strcmp(theirs, ours) == 0) {
        t->both_same++;
        return;
    }
    if (theirs && ours) {
        t->both_differ++;
        fprintf(stderr, "%s %ld: libaudit \"%s\", ours \"%s\"%s\n", what, number, theirs, ours,
                strict ? "" : " (reported)");
        if (strict)
            failures++;
    } else if (theirs) {
        t->only_libaudit++;
        fprintf(stderr, "%s %ld: libaudit \"%s\", ours unknown%s\n", what, number, theirs,
                strict ? "" : " (reported)");
        if (strict)
            failures++;
    } else if (ours) {
        t->only_ours++;
    }
}

static void compare_rectypes(void)
{
    struct tally t = {0};
    for (int type = 1000; type <= 2999; type++) {
        const char *theirs = audit_msg_type_to_name(type);
        const char *ours = ar_rectype_name((uint32_t)type);
        tally_one(&t, "record type", type, theirs, ours, true);
        /* The other direction: libaudit resolves our name to the same number. */
        if (theirs && ours && audit_name_to_msg_type(ours) != type) {
            fprintf(stderr, "record type %s: libaudit resolves it to %d, ours %d\n", ours,
                    audit_name_to_msg_type(ours), type);
            failures++;
        }
    }
    print_tally("record types", &t);
}

static void compare_arches(void)
{
    struct tally t = {0};
    for (int mach = 0; mach < 64; mach++) {
        const char *theirs = audit_machine_to_name(mach);
        if (!theirs)
            continue;
        unsigned int elf = audit_machine_to_elf(mach);
        const char *ours = ar_arch_name(elf);
        /* libaudit names the little-endian ARM arch (AUDIT_ARCH_ARM) "armeb", the first
         * of its ARM spellings; we print "arm" and keep "armeb" for AUDIT_ARCH_ARMEB. */
        bool known_quirk = strcmp(theirs, "armeb") == 0 && ours && strcmp(ours, "arm") == 0;
        tally_one(&t, "arch", (long)elf, theirs, ours, !known_quirk);
        uint32_t back;
        if (!ar_arch_from_name(span_of(theirs), &back) || back != elf) {
            fprintf(stderr, "arch name \"%s\": libaudit 0x%08x, ours %s\n", theirs, elf,
                    ar_arch_from_name(span_of(theirs), &back) ? "different" : "unknown");
            if (!known_quirk)
                failures++;
        }
    }
    print_tally("arches", &t);
}

static void compare_syscalls(const char *label, uint32_t audit_arch, int machine)
{
    struct tally t = {0};
    char what[64];
    snprintf(what, sizeof(what), "syscall %s", label);
    for (int nr = 0; nr < 1024; nr++) {
        const char *theirs = audit_syscall_to_name(nr, machine);
        const char *ours = ar_syscall_name(audit_arch, (uint32_t)nr);
        tally_one(&t, what, nr, theirs, ours, false);
    }
    snprintf(what, sizeof(what), "syscalls %s", label);
    print_tally(what, &t);
}

static void compare_errno(void)
{
    struct tally t = {0};
    for (int err = 1; err < 4096; err++)
        tally_one(&t, "errno", err, audit_errno_to_name(err), ar_errno_name(err), false);
    print_tally("errno", &t);
}

int main(void)
{
    compare_rectypes();
    compare_arches();
    compare_syscalls("x86_64", 0xc000003e, MACH_86_64);
    compare_syscalls("i386", 0x40000003, MACH_X86);
    compare_syscalls("aarch64", 0xc00000b7, MACH_AARCH64);
    compare_errno();
    if (failures)
        fprintf(stderr, "%d differences that must not exist\n", failures);
    return failures ? 1 : 0;
}
