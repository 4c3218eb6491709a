#!/usr/bin/env python3
"""Generates src/enrich/tables.h's implementation from the build machine's headers.

Usage: mktables.py OUT.c CC [CC_ARGS...]

Record types come from linux/audit.h and libaudit.h, architectures from
linux/audit.h and linux/elf-em.h, syscalls from the x86_64 and i386 unistd headers
and asm-generic/unistd.h as arm64 configures it, errno names from errno.h. All are
read through the C preprocessor (CC -E -dM) so that macro chains resolve exactly as
the compiler sees them.
"""
import re
import subprocess
import sys


def macros(cc, include, defines=()):
    src = "".join(f"#define {d} 1\n" for d in defines) + f"#include <{include}>\n"
    out = subprocess.run(cc + ["-E", "-dM", "-x", "c", "-"], input=src, text=True,
                         capture_output=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        m = re.match(r"#define (\w+) (.+)$", line)
        if m:
            table[m.group(1)] = m.group(2).strip()
    return table


def evaluate(table, name, depth=0):
    """Integer value of a macro built from numbers, other macros, | + - << and parens."""
    if depth > 20 or name not in table:
        return None
    expr = table[name]
    expr = re.sub(r"/\*.*?\*/", "", expr)
    tokens = re.findall(r"0x[0-9a-fA-F]+|\d+[uUlL]*|\w+|<<|>>|[|+\-()&~]", expr)
    py = []
    for t in tokens:
        if re.match(r"0x[0-9a-fA-F]+$", t):
            py.append(str(int(t, 16)))
        elif re.match(r"\d+[uUlL]*$", t):
            py.append(str(int(t.rstrip("uUlL"))))
        elif re.match(r"\w+$", t):
            v = evaluate(table, t, depth + 1)
            if v is None:
                return None
            py.append(str(v))
        else:
            py.append(t)
    try:
        return int(eval(" ".join(py), {"__builtins__": {}}))
    except Exception:
        return None


# Names auditd prints that differ from the macro name, and defines in the message
# range that are not message types.
RENAMES = {}
NOT_TYPES = re.compile(r"^AUDIT_(FIRST|LAST)_|^AUDIT_(GET|SET)_FEATURE$|_OLD$")


def record_types(cc):
    t = macros(cc, "linux/audit.h")
    t.update(macros(cc, "libaudit.h"))
    types = {}
    for name in t:
        if not name.startswith("AUDIT_") or NOT_TYPES.search(name):
            continue
        v = evaluate(t, name)
        if v is None or not (1000 <= v <= 2999):
            continue
        short = RENAMES.get(name, name[len("AUDIT_"):])
        # Prefer the name first defined for a number (the kernel header's).
        types.setdefault(v, short)
    return types


ARCH_NAMES = {
    "X86_64": "x86_64", "I386": "i386", "AARCH64": "aarch64", "ARM": "arm",
    "ARMEB": "armeb", "PPC": "ppc", "PPC64": "ppc64", "PPC64LE": "ppc64le",
    "S390": "s390", "S390X": "s390x", "RISCV32": "riscv32", "RISCV64": "riscv64",
    "MIPS": "mips", "MIPSEL": "mipsel", "MIPS64": "mips64", "MIPSEL64": "mipsel64",
    "MIPS64N32": "mips64n32", "MIPSEL64N32": "mipsel64n32", "IA64": "ia64",
    "ALPHA": "alpha", "SPARC": "sparc", "SPARC64": "sparc64", "PARISC": "parisc",
    "PARISC64": "parisc64", "LOONGARCH64": "loongarch64", "LOONGARCH32": "loongarch32",
    "SH": "sh", "SHEL": "shel", "SH64": "sh64", "SHEL64": "shel64", "M68K": "m68k",
    "CSKY": "csky", "XTENSA": "xtensa", "OPENRISC": "openrisc", "ARCV2": "arcv2",
    "HEXAGON": "hexagon", "MICROBLAZE": "microblaze", "NIOS2": "nios2",
}


def arches(cc):
    t = macros(cc, "linux/audit.h")
    t.update(macros(cc, "linux/elf-em.h"))
    out = {}
    for suffix, name in ARCH_NAMES.items():
        v = evaluate(t, "AUDIT_ARCH_" + suffix)
        if v is not None:
            out[name] = v
    return out


def syscalls(cc, include, defines=()):
    t = macros(cc, include, defines)
    out = {}
    for name in t:
        if not name.startswith("__NR_") or name in ("__NR_syscalls", "__NR_arch_specific_syscall"):
            continue
        v = evaluate(t, name)
        if v is not None and 0 <= v < 4096:
            out.setdefault(v, name[len("__NR_"):])
    return out


# Kept when two errno names share a value: the one auditd and strace print.
ERRNO_PREFERRED = {"EWOULDBLOCK": "EAGAIN", "EDEADLOCK": "EDEADLK", "ENOTSUP": "EOPNOTSUPP"}


def errnos(cc):
    t = macros(cc, "errno.h")
    out = {}
    for name in sorted(t):
        if not re.match(r"E[A-Z0-9]+$", name):
            continue
        v = evaluate(t, name)
        if v is None or v <= 0 or v > 4095:
            continue
        name = ERRNO_PREFERRED.get(name, name)
        out[v] = name
    return out


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_pairs(f, ctype, var, pairs):
    f.write(f"static const {ctype} {var}[] = {{\n")
    for num, name in pairs:
        f.write(f"    {{{num}u, {c_string(name)}}},\n")
    f.write("};\n\n")


def main():
    out_path, cc = sys.argv[1], sys.argv[2:]
    types = record_types(cc)
    arch = arches(cc)
    x86_64 = syscalls(cc, "asm/unistd_64.h")
    i386 = syscalls(cc, "asm/unistd_32.h")
    # arm64's uapi/asm/unistd.h configures the generic table this way.
    aarch64 = syscalls(cc, "asm-generic/unistd.h", (
        "__BITS_PER_LONG 64 //", "__ARCH_WANT_RENAMEAT", "__ARCH_WANT_NEW_STAT",
        "__ARCH_WANT_SET_GET_RLIMIT", "__ARCH_WANT_TIME32_SYSCALLS",
        "__ARCH_WANT_SYS_CLONE3", "__ARCH_WANT_MEMFD_SECRET"))
    errs = errnos(cc)
    for arch_name, table, probes in (
            ("x86_64", x86_64, {"openat": 257, "execve": 59, "connect": 42}),
            ("i386", i386, {"execve": 11, "socketcall": 102}),
            ("aarch64", aarch64, {"openat": 56, "execve": 221, "connect": 203, "fstat": 80})):
        by_name = {v: k for k, v in table.items()}
        for n, want in probes.items():
            if by_name.get(n) != want:
                sys.exit(f"mktables: {arch_name} {n} is {by_name.get(n)}, expected {want}")

    with open(out_path, "w") as f:
        f.write("/* Generated by tools/mktables.py from this machine's headers. Do not edit. */\n")
        f.write('#include "enrich/tables.h"\n\n#include <errno.h>\n#include <stdlib.h>\n'
                '#include <string.h>\n\n')
        f.write("struct num_name {\n    uint32_t num;\n    const char *name;\n};\n\n")
        emit_pairs(f, "struct num_name", "rectypes_by_num", sorted(types.items()))
        emit_pairs(f, "struct num_name", "rectypes_by_name",
                   sorted(types.items(), key=lambda kv: kv[1]))
        emit_pairs(f, "struct num_name", "arches_by_name",
                   sorted(((v, k) for k, v in arch.items()), key=lambda kv: kv[1]))
        for name, table in (("x86_64", x86_64), ("i386", i386), ("aarch64", aarch64)):
            emit_pairs(f, "struct num_name", f"sys_{name}_by_num", sorted(table.items()))
            emit_pairs(f, "struct num_name", f"sys_{name}_by_name",
                       sorted(table.items(), key=lambda kv: kv[1]))
        emit_pairs(f, "struct num_name", "errno_by_num", sorted(errs.items()))
        emit_pairs(f, "struct num_name", "errno_by_name",
                   sorted(errs.items(), key=lambda kv: kv[1]))
        f.write("""#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct num_name *by_num(const struct num_name *t, size_t n, uint32_t num)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].num == num)
            return &t[mid];
        if (t[mid].num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int cmp_span_name(struct ar_span s, const char *name)
{
    size_t len = strlen(name);
    int c = memcmp(s.p, name, s.len < len ? s.len : len);
    if (c)
        return c;
    return (s.len > len) - (s.len < len);
}

static const struct num_name *by_name(const struct num_name *t, size_t n, struct ar_span s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_span_name(s, t[mid].name);
        if (c == 0)
            return &t[mid];
        if (c > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The last lookup is kept: a log names the same few types, arches and syscalls over
 * and over. */
const char *ar_rectype_name(uint32_t type)
{
    static const struct num_name *last;
    if (last && last->num == type)
        return last->name;
    const struct num_name *e = by_num(rectypes_by_num, N(rectypes_by_num), type);
    if (e)
        last = e;
    return e ? e->name : NULL;
}

bool ar_rectype_from_name(struct ar_span name, uint32_t *ret)
{
    const struct num_name *e = by_name(rectypes_by_name, N(rectypes_by_name), name);
    if (!e)
        return false;
    *ret = e->num;
    return true;
}

const char *ar_arch_name(uint32_t audit_arch)
{
    for (size_t i = 0; i < N(arches_by_name); i++)
        if (arches_by_name[i].num == audit_arch)
            return arches_by_name[i].name;
    return NULL;
}

bool ar_arch_from_name(struct ar_span name, uint32_t *ret)
{
#if defined(__aarch64__)
    static const char b64[] = "aarch64", b32[] = "arm";
#else
    static const char b64[] = "x86_64", b32[] = "i386";
#endif
    if (name.len == 3 && memcmp(name.p, "b64", 3) == 0)
        name = (struct ar_span){b64, strlen(b64)};
    else if (name.len == 3 && memcmp(name.p, "b32", 3) == 0)
        name = (struct ar_span){b32, strlen(b32)};
    const struct num_name *e = by_name(arches_by_name, N(arches_by_name), name);
    if (!e)
        return false;
    *ret = e->num;
    return true;
}

struct syscall_table {
    uint32_t arch;
    const struct num_name *by_num, *by_name;
    size_t n;
};

static const struct syscall_table syscall_tables[] = {
""")
        for name in ("x86_64", "i386", "aarch64"):
            f.write(f"    {{{arch[name]}u, sys_{name}_by_num, sys_{name}_by_name, N(sys_{name}_by_num)}},\n")
        f.write("""};

static const struct syscall_table *table_for(uint32_t arch)
{
    for (size_t i = 0; i < N(syscall_tables); i++)
        if (syscall_tables[i].arch == arch)
            return &syscall_tables[i];
    return NULL;
}

const char *ar_syscall_name(uint32_t audit_arch, uint32_t nr)
{
    static const struct syscall_table *last_t;
    static const struct num_name *last;
    const struct syscall_table *t =
        last_t && last_t->arch == audit_arch ? last_t : table_for(audit_arch);
    if (!t)
        return NULL;
    if (last && t == last_t && last->num == nr)
        return last->name;
    const struct num_name *e = by_num(t->by_num, t->n, nr);
    last_t = t;
    last = e;
    return e ? e->name : NULL;
}

int ar_syscall_number(uint32_t audit_arch, struct ar_span name)
{
    const struct syscall_table *t = table_for(audit_arch);
    if (!t)
        return -EAFNOSUPPORT;
    const struct num_name *e = by_name(t->by_name, t->n, name);
    return e ? (int)e->num : -ENOENT;
}

const char *ar_errno_name(int err)
{
    if (err <= 0)
        return NULL;
    const struct num_name *e = by_num(errno_by_num, N(errno_by_num), (uint32_t)err);
    return e ? e->name : NULL;
}

bool ar_errno_from_name(struct ar_span name, int *ret)
{
    const struct num_name *e = by_name(errno_by_name, N(errno_by_name), name);
    if (!e)
        return false;
    *ret = (int)e->num;
    return true;
}
""")


if __name__ == "__main__":
    main()
