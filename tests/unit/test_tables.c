/* Generated lookup tables (audit/tables.h): numbers that must not move, round trips
 * through every entry of every table, and unknown values; the known field names
 * (audit/fieldclass.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "audit/fieldclass.h"
#include "audit/tables.h"
#include "util/span.h"

#define ARCH_X86_64 0xc000003eu
#define ARCH_I386 0x40000003u
#define ARCH_AARCH64 0xc00000b7u

static struct ar_span span_of(const char *s)
{
    return (struct ar_span){s, strlen(s)};
}

static bool rectype(const char *name, uint32_t *ret)
{
    return ar_rectype_from_name(span_of(name), ret);
}

static bool arch(const char *name, uint32_t *ret)
{
    return ar_arch_from_name(span_of(name), ret);
}

static int sysnr(uint32_t audit_arch, const char *name)
{
    return ar_syscall_number(audit_arch, span_of(name));
}

static bool errnum(const char *name, int *ret)
{
    return ar_errno_from_name(span_of(name), ret);
}

static void test_rectypes(void)
{
    CHECK_STR(ar_rectype_name(1300), "SYSCALL");
    CHECK_STR(ar_rectype_name(1302), "PATH");
    CHECK_STR(ar_rectype_name(1309), "EXECVE");
    CHECK_STR(ar_rectype_name(1320), "EOE");
    CHECK_STR(ar_rectype_name(1327), "PROCTITLE");
    CHECK_STR(ar_rectype_name(1005), "USER");
    CHECK_STR(ar_rectype_name(1100), "USER_AUTH");
    CHECK_STR(ar_rectype_name(1112), "USER_LOGIN");
    CHECK_STR(ar_rectype_name(1400), "AVC");
    CHECK_STR(ar_rectype_name(1500), "APPARMOR");
    CHECK_STR(ar_rectype_name(2000), "KERNEL");
    CHECK_STR(ar_rectype_name(2100), "ANOM_LOGIN_FAILURES");

    /* Range markers and gaps have no name. */
    CHECK(ar_rectype_name(0) == NULL);
    CHECK(ar_rectype_name(999) == NULL);
    CHECK(ar_rectype_name(1301) == NULL);
    CHECK(ar_rectype_name(1199) == NULL);
    CHECK(ar_rectype_name(2999) == NULL);
    CHECK(ar_rectype_name(3000) == NULL);
    CHECK(ar_rectype_name(UINT32_MAX) == NULL);

    uint32_t t = 7;
    CHECK(rectype("SYSCALL", &t) && t == 1300);
    CHECK(rectype("EOE", &t) && t == 1320);
    CHECK(rectype("USER", &t) && t == 1005);
    CHECK(rectype("APPARMOR", &t) && t == 1500);
    CHECK(rectype("USER_AUTH", &t) && t == 1100);
    CHECK(rectype("PROCTITLE", &t) && t == 1327);
    t = 7;
    CHECK(!rectype("", &t));
    CHECK(!rectype("syscall", &t));
    CHECK(!rectype("SYSCAL", &t));
    CHECK(!rectype("SYSCALLS", &t));
    CHECK(!rectype("FIRST_USER_MSG", &t));
    CHECK(!rectype("AA", &t));
    CHECK(!ar_rectype_from_name((struct ar_span){NULL, 0}, &t));
    CHECK(!ar_rectype_from_name((struct ar_span){"SYSCALL\0", 8}, &t));
    CHECK(t == 7); /* untouched on failure */
    /* A span needs no terminator. */
    CHECK(ar_rectype_from_name((struct ar_span){"EOEX", 3}, &t) && t == 1320);

    size_t n = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        const char *name = ar_rectype_name(i);
        if (!name)
            continue;
        n++;
        CHECK(i >= 1000 && i <= 2999);
        uint32_t back = 0;
        if (!rectype(name, &back) || back != i) {
            fprintf(stderr, "rectype %u (%s) does not round-trip\n", i, name);
            check_failures++;
        }
    }
    CHECK(n > 200);
}

static void test_arches(void)
{
    CHECK_STR(ar_arch_name(0xc000003e), "x86_64");
    CHECK_STR(ar_arch_name(0x40000003), "i386");
    CHECK_STR(ar_arch_name(0xc00000b7), "aarch64");
    CHECK_STR(ar_arch_name(0x40000028), "arm");
    CHECK_STR(ar_arch_name(0x00000028), "armeb");
    CHECK_STR(ar_arch_name(0x80000015), "ppc64");
    CHECK_STR(ar_arch_name(0xc0000015), "ppc64le");
    CHECK_STR(ar_arch_name(0x00000014), "ppc");
    CHECK_STR(ar_arch_name(0x80000016), "s390x");
    CHECK_STR(ar_arch_name(0x00000016), "s390");
    CHECK_STR(ar_arch_name(0xc00000f3), "riscv64");
    CHECK(ar_arch_name(0) == NULL);
    CHECK(ar_arch_name(0x3e) == NULL);
    CHECK(ar_arch_name(0x12345) == NULL);
    CHECK(ar_arch_name(0xffffffff) == NULL);

    uint32_t a = 7;
    CHECK(arch("x86_64", &a) && a == ARCH_X86_64);
    CHECK(arch("i386", &a) && a == ARCH_I386);
    CHECK(arch("i686", &a) && a == ARCH_I386);
    CHECK(arch("aarch64", &a) && a == ARCH_AARCH64);
    CHECK(arch("armv7l", &a) && a == 0x40000028);
#if defined(__x86_64__) && !defined(__ILP32__)
    CHECK(arch("b64", &a) && a == ARCH_X86_64);
    CHECK(arch("b32", &a) && a == ARCH_I386);
#elif defined(__aarch64__)
    CHECK(arch("b64", &a) && a == ARCH_AARCH64);
    CHECK(arch("b32", &a) && a == 0x40000028);
#endif
    a = 7;
    CHECK(!arch("", &a));
    CHECK(!arch("X86_64", &a));
    CHECK(!arch("x86", &a));
    CHECK(!arch("c000003e", &a));
    CHECK(!arch("0xc000003e", &a));
    CHECK(!arch("b16", &a));
    CHECK(!arch("vax", &a));
    CHECK(a == 7);

    /* Every arch the table knows: EM_* machine numbers with every flag combination. */
    static const char *const expected[] = {"x86_64",  "i386",  "aarch64", "arm",   "armeb",
                                           "ppc",     "ppc64", "ppc64le", "s390",  "s390x",
                                           "riscv32", "riscv64", "mips",  "mipsel", "mips64",
                                           "mipsel64", "ia64", "alpha",   "sparc", "sparc64"};
    size_t found[AR_ARRAY_SIZE(expected)] = {0};
    size_t n = 0;
    for (uint32_t em = 0; em < 0x10000; em++) {
        for (uint32_t flags = 0; flags < 8; flags++) {
            uint32_t value = em | flags << 29;
            const char *name = ar_arch_name(value);
            if (!name)
                continue;
            n++;
            uint32_t back = 0;
            if (!arch(name, &back) || back != value) {
                fprintf(stderr, "arch 0x%08x (%s) does not round-trip\n", value, name);
                check_failures++;
            }
            for (size_t i = 0; i < AR_ARRAY_SIZE(expected); i++)
                if (strcmp(name, expected[i]) == 0)
                    found[i]++;
        }
    }
    CHECK(n >= AR_ARRAY_SIZE(expected));
    for (size_t i = 0; i < AR_ARRAY_SIZE(expected); i++) {
        if (found[i] != 1) {
            fprintf(stderr, "arch %s found %zu times\n", expected[i], found[i]);
            check_failures++;
        }
    }
}

static void roundtrip_syscalls(uint32_t audit_arch, size_t min_count)
{
    size_t n = 0;
    for (uint32_t nr = 0; nr < 4096; nr++) {
        const char *name = ar_syscall_name(audit_arch, nr);
        if (!name)
            continue;
        n++;
        if (sysnr(audit_arch, name) != (int)nr) {
            fprintf(stderr, "syscall %u (%s) on 0x%08x does not round-trip\n", nr, name,
                    audit_arch);
            check_failures++;
        }
    }
    if (n < min_count) {
        fprintf(stderr, "only %zu syscalls for 0x%08x\n", n, audit_arch);
        check_failures++;
    }
}

static void test_syscalls(void)
{
    CHECK(sysnr(ARCH_X86_64, "openat") == 257);
    CHECK(sysnr(ARCH_X86_64, "execve") == 59);
    CHECK(sysnr(ARCH_X86_64, "connect") == 42);
    CHECK(sysnr(ARCH_X86_64, "read") == 0);
    CHECK(sysnr(ARCH_X86_64, "open") == 2);
    CHECK_STR(ar_syscall_name(ARCH_X86_64, 0), "read");
    CHECK_STR(ar_syscall_name(ARCH_X86_64, 257), "openat");
    CHECK_STR(ar_syscall_name(ARCH_X86_64, 59), "execve");

    CHECK(sysnr(ARCH_I386, "execve") == 11);
    CHECK(sysnr(ARCH_I386, "socketcall") == 102);
    CHECK(sysnr(ARCH_I386, "restart_syscall") == 0);
    CHECK_STR(ar_syscall_name(ARCH_I386, 102), "socketcall");
    CHECK_STR(ar_syscall_name(ARCH_I386, 11), "execve");

    CHECK(sysnr(ARCH_AARCH64, "openat") == 56);
    CHECK(sysnr(ARCH_AARCH64, "execve") == 221);
    CHECK(sysnr(ARCH_AARCH64, "connect") == 203);
    CHECK(sysnr(ARCH_AARCH64, "fstat") == 80);
    CHECK(sysnr(ARCH_AARCH64, "newfstatat") == 79);
    CHECK(sysnr(ARCH_AARCH64, "open") == -ENOENT);
    CHECK_STR(ar_syscall_name(ARCH_AARCH64, 56), "openat");
    CHECK_STR(ar_syscall_name(ARCH_AARCH64, 80), "fstat");
    CHECK_STR(ar_syscall_name(ARCH_AARCH64, 0), "io_setup");
    /* Not syscalls: the count and the start of the arch-specific range. */
    CHECK(sysnr(ARCH_AARCH64, "syscalls") == -ENOENT);
    CHECK(sysnr(ARCH_AARCH64, "arch_specific_syscall") == -ENOENT);
    CHECK(sysnr(ARCH_AARCH64, "fstat64") == -ENOENT);

    /* Unknown numbers, names and arches. */
    CHECK(ar_syscall_name(ARCH_X86_64, 335) == NULL); /* gap before 424 */
    CHECK(ar_syscall_name(ARCH_X86_64, 100000) == NULL);
    CHECK(ar_syscall_name(ARCH_X86_64, UINT32_MAX) == NULL);
    CHECK(ar_syscall_name(0, 0) == NULL);
    CHECK(ar_syscall_name(0xdeadbeef, 59) == NULL);
    CHECK(sysnr(ARCH_X86_64, "no_such_syscall") == -ENOENT);
    CHECK(sysnr(ARCH_X86_64, "") == -ENOENT);
    CHECK(sysnr(ARCH_X86_64, "OPENAT") == -ENOENT);
    CHECK(ar_syscall_number(ARCH_X86_64, (struct ar_span){NULL, 0}) == -ENOENT);
    CHECK(ar_syscall_number(ARCH_X86_64, (struct ar_span){"openat\0", 7}) == -ENOENT);
    CHECK(ar_syscall_number(ARCH_X86_64, (struct ar_span){"openatXYZ", 6}) == 257);
    CHECK(sysnr(0xdeadbeef, "read") == -EAFNOSUPPORT);
    CHECK(sysnr(0, "read") == -EAFNOSUPPORT);

    roundtrip_syscalls(ARCH_X86_64, 300);
    roundtrip_syscalls(ARCH_I386, 300);
    roundtrip_syscalls(ARCH_AARCH64, 250);
}

static void test_errno(void)
{
    CHECK_STR(ar_errno_name(2), "ENOENT");
    CHECK_STR(ar_errno_name(1), "EPERM");
    CHECK_STR(ar_errno_name(13), "EACCES");
    CHECK_STR(ar_errno_name(EAGAIN), "EAGAIN");
    CHECK_STR(ar_errno_name(EDEADLK), "EDEADLK");
    CHECK_STR(ar_errno_name(EOPNOTSUPP), "EOPNOTSUPP");
    CHECK(ar_errno_name(0) == NULL);
    CHECK(ar_errno_name(-2) == NULL);
    CHECK(ar_errno_name(4095) == NULL);
    CHECK(ar_errno_name(100000) == NULL);

    int e = 7;
    CHECK(errnum("ENOENT", &e) && e == 2);
    CHECK(errnum("EWOULDBLOCK", &e) && e == EAGAIN);
    CHECK(errnum("EDEADLOCK", &e) && e == EDEADLK);
    CHECK(errnum("ENOTSUP", &e) && e == EOPNOTSUPP);
    CHECK(errnum("EHWPOISON", &e) && e == EHWPOISON);
    e = 7;
    CHECK(!errnum("", &e));
    CHECK(!errnum("enoent", &e));
    CHECK(!errnum("ENOENTX", &e));
    CHECK(!errnum("E", &e));
    CHECK(e == 7);

    size_t n = 0;
    for (int i = -5; i < 5000; i++) {
        const char *name = ar_errno_name(i);
        if (!name)
            continue;
        n++;
        int back = 0;
        if (!errnum(name, &back) || back != i) {
            fprintf(stderr, "errno %d (%s) does not round-trip\n", i, name);
            check_failures++;
        }
    }
    CHECK(n >= 130);
}

/* Every known field name is found (the second list is searched by bsearch: an
 * entry out of order would be lost), and a few that are not fields are not. */
static void test_field_names(void)
{
    const char *name;
    size_t n = 0;
    for (size_t i = 0; (name = ar_field_name_at(i)); i++, n++)
        if (!ar_field_name_known((struct ar_span){name, strlen(name)})) {
            fprintf(stderr, "known field name '%s' not found\n", name);
            check_failures++;
        }
    CHECK(n > 250);
    static const char *const args[] = {"a0", "a3", "a17", "a2_len"};
    for (size_t i = 0; i < AR_ARRAY_SIZE(args); i++)
        CHECK(ar_field_name_known((struct ar_span){args[i], strlen(args[i])}));
    static const char *const not_fields[] = {"exee", "a", "a_len", "a1_le", "UID", "", "a1x"};
    for (size_t i = 0; i < AR_ARRAY_SIZE(not_fields); i++)
        CHECK(!ar_field_name_known((struct ar_span){not_fields[i], strlen(not_fields[i])}));
}

int main(void)
{
    test_rectypes();
    test_field_names();
    test_arches();
    test_syscalls();
    test_errno();
    return check_done();
}
