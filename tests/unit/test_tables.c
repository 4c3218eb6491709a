/* Generated tables: known numbers per arch, round trips, unknowns. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "enrich/tables.h"

static struct ar_span S(const char *s)
{
    return (struct ar_span){s, strlen(s)};
}

int main(void)
{
    const uint32_t x86_64 = 0xc000003e, i386 = 0x40000003, aarch64 = 0xc00000b7;
    CHECK_STR(ar_arch_name(x86_64), "x86_64");
    CHECK_STR(ar_arch_name(i386), "i386");
    CHECK_STR(ar_arch_name(aarch64), "aarch64");
    CHECK(ar_arch_name(0x12345) == NULL);
    uint32_t a;
    CHECK(ar_arch_from_name(S("x86_64"), &a) && a == x86_64);
    CHECK(ar_arch_from_name(S("aarch64"), &a) && a == aarch64);
    CHECK(ar_arch_from_name(S("b32"), &a));
    CHECK(!ar_arch_from_name(S("vax"), &a));

    CHECK_STR(ar_syscall_name(x86_64, 257), "openat");
    CHECK_STR(ar_syscall_name(x86_64, 59), "execve");
    CHECK_STR(ar_syscall_name(x86_64, 42), "connect");
    CHECK_STR(ar_syscall_name(i386, 11), "execve");
    CHECK_STR(ar_syscall_name(i386, 102), "socketcall");
    CHECK_STR(ar_syscall_name(aarch64, 56), "openat");
    CHECK_STR(ar_syscall_name(aarch64, 221), "execve");
    CHECK_STR(ar_syscall_name(aarch64, 80), "fstat");
    CHECK(ar_syscall_name(x86_64, 4000) == NULL);
    CHECK(ar_syscall_name(0x1234, 1) == NULL);
    CHECK(ar_syscall_number(x86_64, S("openat")) == 257);
    CHECK(ar_syscall_number(aarch64, S("open")) == -ENOENT);
    CHECK(ar_syscall_number(0x1234, S("open")) == -EAFNOSUPPORT);
    /* Every name maps back to its number on each arch. */
    const uint32_t arches[] = {x86_64, i386, aarch64};
    for (size_t k = 0; k < 3; k++) {
        int names = 0;
        for (uint32_t nr = 0; nr < 1024; nr++) {
            const char *n = ar_syscall_name(arches[k], nr);
            if (!n)
                continue;
            names++;
            CHECK(ar_syscall_number(arches[k], S(n)) == (int)nr);
        }
        CHECK(names > 250);
    }

    CHECK_STR(ar_errno_name(2), "ENOENT");
    CHECK_STR(ar_errno_name(EAGAIN), "EAGAIN");
    CHECK_STR(ar_errno_name(EACCES), "EACCES");
    CHECK(ar_errno_name(0) == NULL && ar_errno_name(99999) == NULL);
    int e;
    CHECK(ar_errno_from_name(S("EPERM"), &e) && e == 1);

    uint32_t t;
    CHECK(ar_rectype_from_name(S("SYSCALL"), &t) && t == 1300);
    CHECK(ar_rectype_from_name(S("EOE"), &t) && t == 1320);
    CHECK(ar_rectype_from_name(S("USER_AUTH"), &t) && t == 1100);
    CHECK(!ar_rectype_from_name(S("NOPE"), &t));
    CHECK_STR(ar_rectype_name(1327), "PROCTITLE");
    CHECK_STR(ar_rectype_name(2000), "KERNEL");
    CHECK_STR(ar_rectype_name(1100), "USER_AUTH");
    return check_done();
}
