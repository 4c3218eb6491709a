#!/usr/bin/env python3
"""Generate the lookup tables behind src/audit/tables.h from the build machine's headers.

Writes one C source file: static const sorted arrays (names in one pool, tables hold
offsets into it, so there are no relocations) and the functions that tables.h declares.
Every value comes from the headers through the C preprocessor (`cc -E -dM`), so the
tables follow the kernel and audit headers that the machine has; only the few
spellings that auditd prints differently from the macro names are written down here.

Usage:
  gen_tables.py --output tables_gen.c [--depfile tables_gen.c.d]
                --rectypes linux/audit.h --rectypes libaudit.h
                --syscalls x86_64=asm/unistd_64.h --syscalls i386=asm/unistd_32.h
                --syscalls-generic aarch64=asm-generic/unistd.h
                [--errno-header errno.h]
                [-- CC [CC-ARGS...]]     (the C compiler command, default: cc)

Every header is a path (/usr/include/linux/audit.h) or a name that the compiler finds
on its include path, as `#include <...>` would (asm/unistd_64.h is
/usr/include/x86_64-linux-gnu/asm/unistd_64.h on Debian amd64). --depfile lists every
file the compiler read, for meson's `depfile:`.

Standard library only; the output depends only on the inputs (sorted, no timestamps).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

# Record types whose printed name is not the macro name without AUDIT_ (audit-userspace
# lib/msg_typetab.h: _S(AUDIT_AA, "APPARMOR")).
RECTYPE_RENAMES = {"AA": "APPARMOR"}
RECTYPE_MIN, RECTYPE_MAX = 1000, 2999

# Extra spellings that auditctl accepts for an arch (audit-userspace lib/machinetab.h);
# they resolve by name but are never printed. Keys are AUDIT_ARCH_* suffixes.
ARCH_ALIASES = {
    "I386": ["i486", "i586", "i686"],
    "ARM": ["armv5tejl", "armv5tel", "armv6l", "armv7l"],
}

# What arch/<arch>/include/uapi/asm/unistd.h defines before it includes
# asm-generic/unistd.h, for the architectures that use the generic table.
GENERIC_ARCH = {
    "aarch64": {
        "kernel_arch": "arm64",
        "bits": 64,
        "wants": ["__ARCH_WANT_RENAMEAT", "__ARCH_WANT_NEW_STAT", "__ARCH_WANT_SET_GET_RLIMIT",
                  "__ARCH_WANT_TIME32_SYSCALLS", "__ARCH_WANT_SYS_CLONE3",
                  "__ARCH_WANT_MEMFD_SECRET"],
    },
}
# __NR_ macros that are not syscalls.
SYSCALL_NOT_NAMES = {"syscalls", "arch_specific_syscall"}

# When two errno names share a value, the one defined as a number is printed; these
# break ties where a libc defines both as numbers.
ERRNO_PREFERRED = {"EAGAIN", "EDEADLK", "EOPNOTSUPP"}

# "b64" and "b32" in audit rules: (preprocessor test for the target, AUDIT_ARCH_* suffix
# for b64, for b32), first match wins; None where the target has no such arch.
NATIVE_ARCH = [
    ("defined(__x86_64__) && !defined(__ILP32__)", "X86_64", "I386"),
    ("defined(__i386__)", "X86_64", "I386"),
    ("defined(__aarch64__) && defined(__AARCH64EB__)", None, None),
    ("defined(__aarch64__)", "AARCH64", "ARM"),
    ("defined(__arm__) && defined(__ARMEB__)", None, "ARMEB"),
    ("defined(__arm__)", "AARCH64", "ARM"),
    ("defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)", "PPC64LE", None),
    ("defined(__powerpc64__)", "PPC64", "PPC"),
    ("defined(__powerpc__)", "PPC64", "PPC"),
    ("defined(__s390x__)", "S390X", "S390"),
    ("defined(__s390__)", "S390X", "S390"),
    ("defined(__riscv) && __riscv_xlen == 64", "RISCV64", "RISCV32"),
    ("defined(__riscv)", "RISCV64", "RISCV32"),
]


def die(msg):
    sys.stderr.write("gen_tables.py: %s\n" % msg)
    sys.exit(1)


class Preprocessor:
    """Runs the C compiler's preprocessor and records every header it read."""

    def __init__(self, cc):
        self.cc = cc
        self.deps = set()
        # Directories of our own scratch files, which are not inputs.
        self.scratch = []
        self.last_deps = []

    def macros(self, includes, args=()):
        """Returns {name: body} of the object-like macros defined after preprocessing
        an empty file with `includes` (paths, or names looked up on the compiler's
        include path) force-included, in order."""
        with tempfile.TemporaryDirectory(prefix="gen_tables.") as tmp:
            depfile = os.path.join(tmp, "deps.d")
            src = os.path.join(tmp, "empty.c")
            with open(src, "w") as f:
                f.write("\n")
            cmd = list(self.cc) + ["-E", "-dM", "-MD", "-MF", depfile] + list(args)
            for inc in includes:
                cmd += ["-include", inc]
            cmd += ["-x", "c", src]
            try:
                out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, universal_newlines=True)
            except (OSError, subprocess.CalledProcessError) as e:
                err = getattr(e, "stderr", "") or str(e)
                die("preprocessor failed: %s\n%s" % (" ".join(cmd), err))
            self.last_deps = self._read_deps(depfile, [tmp] + self.scratch)
        result = {}
        for line in out.stdout.splitlines():
            m = re.match(r"#define ([A-Za-z_]\w*)(\(| |$)(.*)$", line)
            if m and m.group(2) != "(":
                result[m.group(1)] = m.group(3).strip()
        return result

    def _read_deps(self, depfile, scratch):
        """Adds the headers named in a depfile to self.deps; returns them in order."""
        try:
            with open(depfile) as f:
                text = f.read()
        except OSError:
            return []
        text = text.replace("\\\n", " ")
        _, _, files = text.partition(":")
        found = []
        for path in files.split():
            path = os.path.abspath(path)
            if not any(path.startswith(d + os.sep) for d in scratch):
                self.deps.add(path)
                found.append(path)
        return found

    def resolve(self, header):
        """The file that `-include header` reads: header itself when it is a path."""
        if os.path.isabs(header) or os.path.exists(header):
            return header
        self.macros([header])
        for path in self.last_deps:
            if path.endswith(os.sep + header):
                return path
        die("cannot find the file the compiler reads for %s" % header)


_TOKEN = re.compile(r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|([A-Za-z_]\w*)|(<<|>>|[-+*/%|&^~()]))")


def evaluate(macros, name, depth=0):
    """Integer value of an object-like macro, following macro references; None when
    the body is anything but integer arithmetic (casts, strings, function calls)."""
    body = macros.get(name)
    if body is None or depth > 32:
        return None
    expr = []
    pos = 0
    body = body.strip()
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m or m.end() == pos:
            return None
        pos = m.end()
        num, ident, op = m.groups()
        if num is not None:
            if num[:2] in ("0x", "0X"):
                expr.append(str(int(num, 16)))
            elif len(num) > 1 and num[0] == "0":
                expr.append(str(int(num, 8)))
            else:
                expr.append(num)
        elif ident is not None:
            v = evaluate(macros, ident, depth + 1)
            if v is None:
                return None
            expr.append("(%d)" % v)
        else:
            expr.append("//" if op == "/" else op)
        if body[pos:].strip() == "":
            break
    if not expr:
        return None
    try:
        # Only integers, parentheses and operators reach eval().
        v = eval(" ".join(expr), {"__builtins__": {}}, {})
    except Exception:
        return None
    return v if isinstance(v, int) else None


def read_header_defines(path, stop_prefix):
    """Names of the AUDIT_* macros that `path` defines before the first define that
    starts with `stop_prefix` (the end of the message type section)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        die("cannot read %s: %s" % (path, e))
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = text.replace("\\\n", " ")
    names = []
    for line in text.splitlines():
        m = re.match(r"\s*#\s*define\s+(AUDIT_\w+)\s", line + " ")
        if not m:
            continue
        if m.group(1).startswith(stop_prefix):
            break
        names.append(m.group(1))
    return names


def gen_rectypes(pp, headers):
    macros = pp.macros(headers)
    by_value = {}
    for header in headers:
        for macro in read_header_defines(pp.resolve(header), "AUDIT_FILTER_"):
            short = macro[len("AUDIT_"):]
            if re.search(r"(^|_)(FIRST|LAST)(_|$)", short):
                continue
            value = evaluate(macros, macro)
            if value is None or not RECTYPE_MIN <= value <= RECTYPE_MAX:
                continue
            name = RECTYPE_RENAMES.get(short, short)
            old = by_value.get(value)
            if old is not None and old != name:
                die("record type %d has two names: %s and %s" % (value, old, name))
            by_value[value] = name
    if not by_value:
        die("no record types found in %s" % ", ".join(headers))
    return by_value


def gen_arches(pp, headers):
    macros = pp.macros(headers)
    by_value = {}
    suffix_value = {}
    aliases = {}
    for macro in sorted(macros):
        m = re.match(r"AUDIT_ARCH_(\w+)$", macro)
        if not m:
            continue
        value = evaluate(macros, macro)
        if value is None:
            continue
        suffix = m.group(1)
        name = suffix.lower()
        if value in by_value:
            die("arch value 0x%x has two names: %s and %s" % (value, by_value[value], name))
        by_value[value] = name
        suffix_value[suffix] = value
        for alias in ARCH_ALIASES.get(suffix, []):
            aliases[alias] = value
    for needed in ("X86_64", "I386", "AARCH64"):
        if needed not in suffix_value:
            die("AUDIT_ARCH_%s not found in %s" % (needed, ", ".join(headers)))
    return by_value, aliases, suffix_value


def syscalls_from_macros(macros, what):
    table = {}
    for macro in macros:
        if not macro.startswith("__NR_"):
            continue
        name = macro[len("__NR_"):]
        if name in SYSCALL_NOT_NAMES:
            continue
        nr = evaluate(macros, macro)
        if nr is None or nr < 0 or nr > 0xffff:
            die("%s: cannot evaluate %s = %r" % (what, macro, macros[macro]))
        table[name] = nr
    by_nr = {}
    for name, nr in sorted(table.items()):
        if nr in by_nr:
            die("%s: syscall %d has two names: %s and %s" % (what, nr, by_nr[nr], name))
        by_nr[nr] = name
    if not by_nr:
        die("%s: no syscalls found" % what)
    return by_nr


def gen_syscalls_flat(pp, path):
    return syscalls_from_macros(pp.macros([path]), path)


def gen_syscalls_generic(pp, arch, path):
    spec = GENERIC_ARCH.get(arch)
    if spec is None:
        die("--syscalls-generic: no __ARCH_WANT_* list for %s (known: %s)" %
            (arch, ", ".join(sorted(GENERIC_ARCH))))
    with tempfile.TemporaryDirectory(prefix="gen_tables.") as tmp:
        # asm-generic/unistd.h includes <asm/bitsperlong.h>: give it the target's word
        # size instead of the build machine's.
        os.mkdir(os.path.join(tmp, "asm"))
        with open(os.path.join(tmp, "asm", "bitsperlong.h"), "w") as f:
            f.write("#ifndef __BITS_PER_LONG\n#define __BITS_PER_LONG %d\n#endif\n" %
                    spec["bits"])
        args = ["-I", tmp, "-D__BITS_PER_LONG=%d" % spec["bits"]]
        args += ["-D%s" % w for w in spec["wants"]]
        pp.scratch.append(tmp)
        try:
            macros = pp.macros([path], args=args)
        finally:
            pp.scratch.remove(tmp)
    return syscalls_from_macros(macros, "%s (%s)" % (path, arch))


def gen_errno(pp, header):
    macros = pp.macros([header])
    values = {}
    literal = {}
    for macro, body in macros.items():
        if not re.match(r"E[A-Z0-9]+$", macro):
            continue
        v = evaluate(macros, macro)
        if v is None or not 0 < v < 4096:
            continue
        values[macro] = v
        literal[macro] = re.match(r"\(?\s*\d+\s*\)?$", body) is not None
    by_value = {}
    for v in sorted(set(values.values())):
        names = sorted(n for n in values if values[n] == v)
        best = sorted(names, key=lambda n: (not literal[n], n not in ERRNO_PREFERRED, n))[0]
        by_value[v] = best
    if not by_value:
        die("no errno names found in %s" % header)
    return by_value, values


class Pool:
    """All names, deduplicated, NUL-terminated, in first-use order; offset 0 is ""."""

    def __init__(self):
        self.order = [""]
        self.offset = {"": 0}
        self.size = 1

    def add(self, name):
        if not re.match(r"^[A-Za-z0-9_]+$", name):
            die("unexpected character in name %r" % name)
        if name not in self.offset:
            self.offset[name] = self.size
            self.order.append(name)
            self.size += len(name) + 1
        return self.offset[name]


def c_entries(out, ctype, cname, rows):
    out.append("static const %s %s[] = {" % (ctype, cname))
    for value, off, name in rows:
        out.append("    {%s, %d}, /* %s */" % (value, off, name))
    out.append("};")
    out.append("")


def c_index(out, cname, table, pool):
    """A name_off array indexed by number: table maps numbers to names."""
    out.append("static const name_off %s[%d] = {" % (cname, max(table) + 1))
    for v in sorted(table):
        out.append("    [%d] = %d, /* %s */" % (v, pool.add(table[v]), table[v]))
    out.append("};")
    out.append("")


def emit(args, rectypes, arches, syscalls, errnos):
    pool = Pool()
    out = []
    arch_by_value, arch_aliases, arch_suffix = arches
    errno_by_value, errno_all = errnos

    def by_value_rows(table, fmt="%d"):
        return [(fmt % v, pool.add(table[v]), table[v]) for v in sorted(table)]

    def by_name_rows(name_to_value, fmt="%d"):
        return [(fmt % v, pool.add(n), n)
                for n, v in sorted(name_to_value.items(), key=lambda kv: kv[0].encode())]

    body = []
    body.append("/* Record types: names indexed by number (0: none; one load per record")
    body.append(" * written), and sorted by name. */")
    c_index(body, "rectype_by_nr", rectypes, pool)
    c_entries(body, "struct entry", "rectype_by_name",
              by_name_rows({n: v for v, n in rectypes.items()}))

    body.append("/* AUDIT_ARCH_* values, sorted by value and by name (with the aliases that")
    body.append(" * auditctl accepts). */")
    c_entries(body, "struct entry", "arch_by_value", by_value_rows(arch_by_value, "0x%08xu"))
    names = {n: v for v, n in arch_by_value.items()}
    for alias, v in arch_aliases.items():
        names.setdefault(alias, v)
    c_entries(body, "struct entry", "arch_by_name", by_name_rows(names, "0x%08xu"))

    body.append("/* Syscalls: names indexed by number (0: no such syscall), and sorted by name. */")
    table_rows = []
    for arch in sorted(syscalls, key=lambda a: arch_suffix[a.upper()]):
        by_nr = syscalls[arch]
        ident = re.sub(r"\W", "_", arch)
        c_index(body, "syscall_%s_by_nr" % ident, by_nr, pool)
        c_entries(body, "struct entry", "syscall_%s_by_name" % ident,
                  by_name_rows({n: nr for nr, n in by_nr.items()}))
        table_rows.append("    {AR_AUDIT_ARCH_%s, syscall_%s_by_nr, AR_ARRAY_SIZE(syscall_%s_by_nr),"
                          % (arch.upper(), ident, ident))
        table_rows.append("     syscall_%s_by_name, AR_ARRAY_SIZE(syscall_%s_by_name)}," %
                          (ident, ident))
    body.append("static const struct syscall_table syscall_tables[] = {")
    body.extend(table_rows)
    body.append("};")
    body.append("")

    body.append("/* errno: names indexed by value (0: unknown), and sorted by name with aliases. */")
    c_index(body, "errno_by_value", errno_by_value, pool)
    c_entries(body, "struct entry", "errno_by_name", by_name_rows(errno_all))

    off_type = "uint16_t" if pool.size <= 0xffff else "uint32_t"

    out.append("/* Generated by tools/gen_tables.py from the build machine's headers; do not edit.")
    out.append(" * Inputs: record types from %s;" % ", ".join(args.rectypes))
    for arch, path in args.syscalls:
        out.append(" * syscalls %s from %s;" % (arch, path))
    for arch, path in args.syscalls_generic:
        out.append(" * syscalls %s from %s as arch/%s uses it;" %
                   (arch, path, GENERIC_ARCH[arch]["kernel_arch"]))
    out.append(" * errno names from <%s>. */" % args.errno_header)
    out.append("#include <errno.h>")
    out.append("#include <stdbool.h>")
    out.append("#include <stddef.h>")
    out.append("#include <stdint.h>")
    out.append("#include <string.h>")
    out.append("")
    out.append('#include "audit/tables.h"')
    out.append('#include "util/span.h"')
    out.append("")
    out.append("/* Offset of a name in `names`. */")
    out.append("typedef %s name_off;" % off_type)
    out.append("")
    out.append("/* One (value, name) pair; a table is sorted either by value or by name. */")
    out.append("struct entry {")
    out.append("    uint32_t value;")
    out.append("    name_off name;")
    out.append("};")
    out.append("")
    out.append("struct syscall_table {")
    out.append("    uint32_t audit_arch;")
    out.append("    const name_off *by_nr;")
    out.append("    size_t nr_count;")
    out.append("    const struct entry *by_name;")
    out.append("    size_t name_count;")
    out.append("};")
    out.append("")
    used = {a.upper() for a in syscalls}
    for _, b64, b32 in NATIVE_ARCH:
        used.update(s for s in (b64, b32) if s is not None)
    for suffix in sorted(used & set(arch_suffix)):
        out.append("#define AR_AUDIT_ARCH_%s 0x%08xu" % (suffix, arch_suffix[suffix]))
    out.append("")
    out.append("/* Every name, NUL-terminated, one after another: the tables hold offsets, not")
    out.append(" * pointers, so they need no relocations. Offset 0 is the empty name (\"none\").")
    out.append(" * The literal is longer than the 4095 characters that ISO C promises, which")
    out.append(" * gcc and clang handle; -Wpedantic says so, hence the pragma. */")
    out.append("#pragma GCC diagnostic push")
    out.append('#pragma GCC diagnostic ignored "-Woverlength-strings"')
    out.append("static const char names[] =")
    out.append('    "\\0"')
    for name in pool.order[1:]:
        out.append('    "%s\\0"' % name)
    out.append("    ;")
    out.append("#pragma GCC diagnostic pop")
    out.append("")
    out.extend(body)
    out.append(C_FUNCTIONS)

    native = []
    for i, (cond, b64, b32) in enumerate(NATIVE_ARCH):
        native.append("#%s %s" % ("if" if i == 0 else "elif", cond))
        for macro, suffix in (("AR_NATIVE_B64", b64), ("AR_NATIVE_B32", b32)):
            if suffix is not None and suffix in arch_suffix:
                native.append("#define %s AR_AUDIT_ARCH_%s" % (macro, suffix))
    native.append("#endif")
    text = "\n".join(out).replace("@NATIVE@", "\n".join(native))
    return text + "\n"


C_FUNCTIONS = r"""/* Compares a span with a name from the pool, in memcmp order (how the tables are
 * sorted). */
static int name_cmp(struct ar_span s, name_off off)
{
    const char *name = names + off;
    size_t len = strlen(name);
    int c = memcmp(s.p, name, s.len < len ? s.len : len);
    if (c != 0)
        return c;
    return (s.len > len) - (s.len < len);
}

static const struct entry *find_by_name(const struct entry *t, size_t n, struct ar_span s)
{
    if (s.len == 0 || s.p == NULL)
        return NULL;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(s, t[mid].name);
        if (c == 0)
            return &t[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const char *find_by_value(const struct entry *t, size_t n, uint32_t value)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].value == value)
            return names + t[mid].name;
        if (t[mid].value > value)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const char *index_name(const name_off *t, size_t n, uint32_t i)
{
    if (i >= n || t[i] == 0)
        return NULL;
    return names + t[i];
}

const char *ar_rectype_name(uint32_t type)
{
    return index_name(rectype_by_nr, AR_ARRAY_SIZE(rectype_by_nr), type);
}

bool ar_rectype_from_name(struct ar_span name, uint32_t *ret)
{
    const struct entry *e = find_by_name(rectype_by_name, AR_ARRAY_SIZE(rectype_by_name), name);
    if (!e)
        return false;
    *ret = e->value;
    return true;
}

const char *ar_arch_name(uint32_t audit_arch)
{
    return find_by_value(arch_by_value, AR_ARRAY_SIZE(arch_by_value), audit_arch);
}

/* "b64" and "b32" in audit rules mean the native arch and its 32-bit companion, so
 * they follow the target this file is compiled for. */
@NATIVE@

bool ar_arch_from_name(struct ar_span name, uint32_t *ret)
{
#ifdef AR_NATIVE_B64
    if (AR_SPAN_IS(name, "b64")) {
        *ret = AR_NATIVE_B64;
        return true;
    }
#endif
#ifdef AR_NATIVE_B32
    if (AR_SPAN_IS(name, "b32")) {
        *ret = AR_NATIVE_B32;
        return true;
    }
#endif
    const struct entry *e = find_by_name(arch_by_name, AR_ARRAY_SIZE(arch_by_name), name);
    if (!e)
        return false;
    *ret = e->value;
    return true;
}

static const struct syscall_table *syscall_table_for(uint32_t audit_arch)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(syscall_tables); i++)
        if (syscall_tables[i].audit_arch == audit_arch)
            return &syscall_tables[i];
    return NULL;
}

const char *ar_syscall_name(uint32_t audit_arch, uint32_t nr)
{
    const struct syscall_table *t = syscall_table_for(audit_arch);
    return t ? index_name(t->by_nr, t->nr_count, nr) : NULL;
}

int ar_syscall_number(uint32_t audit_arch, struct ar_span name)
{
    const struct syscall_table *t = syscall_table_for(audit_arch);
    if (!t)
        return -EAFNOSUPPORT;
    const struct entry *e = find_by_name(t->by_name, t->name_count, name);
    return e ? (int)e->value : -ENOENT;
}

const char *ar_errno_name(int err)
{
    if (err <= 0)
        return NULL;
    return index_name(errno_by_value, AR_ARRAY_SIZE(errno_by_value), (uint32_t)err);
}

bool ar_errno_from_name(struct ar_span name, int *ret)
{
    const struct entry *e = find_by_name(errno_by_name, AR_ARRAY_SIZE(errno_by_name), name);
    if (!e)
        return false;
    *ret = (int)e->value;
    return true;
}"""


def parse_arch_path(spec, flag):
    arch, sep, path = spec.partition("=")
    if not sep or not arch or not path:
        die("%s wants ARCH=PATH, got %r" % (flag, spec))
    return arch, path


def main(argv):
    if "--" in argv:
        i = argv.index("--")
        argv, cc = argv[:i], argv[i + 1:]
    else:
        cc = []
    if not cc:
        cc = ["cc"]
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        usage="%(prog)s [options] [-- CC [CC-ARGS...]]",
        epilog="After --: the C compiler command (default: cc), e.g. meson's cc.cmd_array().")
    p.add_argument("-o", "--output", required=True, help="C file to write ('-' for stdout)")
    p.add_argument("--depfile", help="write a Makefile-style list of the headers read")
    p.add_argument("--rectypes", action="append", required=True, metavar="HEADER",
                   help="header with AUDIT_* message types (repeat: linux/audit.h, libaudit.h)")
    p.add_argument("--syscalls", action="append", default=[], metavar="ARCH=PATH",
                   help="flat unistd header (#define __NR_x n), e.g. x86_64=.../unistd_64.h")
    p.add_argument("--syscalls-generic", action="append", default=[], metavar="ARCH=PATH",
                   help="asm-generic/unistd.h, evaluated as ARCH does (known: %s)"
                   % ", ".join(sorted(GENERIC_ARCH)))
    p.add_argument("--errno-header", default="errno.h", help="header for E* names (errno.h)")
    args = p.parse_args(argv)
    args.syscalls = [parse_arch_path(s, "--syscalls") for s in args.syscalls]
    args.syscalls_generic = [parse_arch_path(s, "--syscalls-generic")
                             for s in args.syscalls_generic]

    pp = Preprocessor(cc)
    rectypes = gen_rectypes(pp, args.rectypes)
    arches = gen_arches(pp, args.rectypes)
    arch_suffix = arches[2]
    syscalls = {}
    for arch, path in args.syscalls:
        syscalls[arch] = gen_syscalls_flat(pp, path)
    for arch, path in args.syscalls_generic:
        syscalls[arch] = gen_syscalls_generic(pp, arch, path)
    if not syscalls:
        die("no syscall table: give --syscalls or --syscalls-generic")
    for arch in syscalls:
        if arch.upper() not in arch_suffix:
            die("no AUDIT_ARCH_%s for syscall table %s" % (arch.upper(), arch))
    if len(set(arch_suffix[a.upper()] for a in syscalls)) != len(syscalls):
        die("two syscall tables for one arch")
    errnos = gen_errno(pp, args.errno_header)

    text = emit(args, rectypes, arches, syscalls, errnos)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        tmp = args.output + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.output)
    if args.depfile:
        deps = set(pp.deps)
        deps.add(os.path.abspath(__file__))
        with open(args.depfile, "w") as f:
            f.write("%s: \\\n" % args.output.replace(" ", "\\ "))
            f.write(" \\\n".join(" " + d.replace(" ", "\\ ") for d in sorted(deps)))
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
