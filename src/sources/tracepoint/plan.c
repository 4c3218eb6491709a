/* Compiled audit rules (struct audit_rule_data, the kernel's binary form) to the
 * tracepoint source's plan, and the reference matcher.
 *
 * The reference for every decision here is the kernel's exit filter
 * (kernel/auditsc.c audit_filter_rules, audit_match_perm; kernel/auditfilter.c
 * audit_comparator; include/asm-generic/audit_*.h for the permission classes;
 * arch/x86/kernel/audit_64.c audit_classify_syscall). Where the tracepoint source
 * cannot do what the kernel does, the rule is refused, or (for watches, which the
 * kernel matches by inode) the narrower string semantics below are documented in
 * plan.h and here. */
#include "sources/tracepoint/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "audit/tables.h"


#define PERM_R AUDIT_PERM_READ
#define PERM_W AUDIT_PERM_WRITE
#define PERM_X AUDIT_PERM_EXEC
#define PERM_A AUDIT_PERM_ATTR

/* The x86_64 syscalls in audit's permission classes (asm-generic/audit_read.h,
 * audit_write.h with audit_dir_write.h, audit_change_attr.h, and the special cases
 * of audit_classify_syscall), sorted by number. The numbers are the x86_64 ABI,
 * which never changes; tests/unit/test_tp_plan.c checks every one against the
 * syscall table generated from the machine's headers.
 *
 * Not here, so never matched by a watch or perm rule although the kernel's classes
 * hold them, as their path is not an argument: quotactl's block device, bind's unix
 * socket path (inside the sockaddr). The utime family is in no audit class (the
 * kernel does not match -p a on it either). */
/* clang-format off */
#define NOPATH 0, {-1, -1}, {-1, -1}, {false, false}
#define P1(a) 1, {a, -1}, {-1, -1}, {false, false}
#define P1AT(d, a) 1, {a, -1}, {d, -1}, {false, false}
#define P2(a, b) 2, {a, b}, {-1, -1}, {false, false}
#define P2AT(d1, a, d2, b) 2, {a, b}, {d1, d2}, {false, false}
/* clang-format on */
static const struct ar_tp_syscall sc_x86_64[] = {
    {"open", 2, PERM_R | PERM_W, AR_TP_SC_OPEN, P1(0)},
    {"bind", 49, PERM_W, AR_TP_SC_CLASS, NOPATH},
    {"execve", 59, PERM_X, AR_TP_SC_EXEC, P1(0)},
    {"truncate", 76, PERM_W, AR_TP_SC_CLASS, P1(0)},
    {"ftruncate", 77, PERM_W, AR_TP_SC_CLASS, NOPATH},
    {"rename", 82, PERM_W, AR_TP_SC_CLASS, P2(0, 1)},
    {"mkdir", 83, PERM_W, AR_TP_SC_CLASS, P1(0)},
    {"rmdir", 84, PERM_W, AR_TP_SC_CLASS, P1(0)},
    {"creat", 85, PERM_W, AR_TP_SC_CLASS, P1(0)},
    {"link", 86, PERM_W | PERM_A, AR_TP_SC_CLASS, P2(0, 1)},
    {"unlink", 87, PERM_W, AR_TP_SC_CLASS, P1(0)},
    /* symlink(target, linkpath): the target is text stored in the link, not a name
     * the kernel looks up. */
    {"symlink", 88, PERM_W, AR_TP_SC_CLASS, 2, {0, 1}, {-1, -1}, {true, false}},
    {"readlink", 89, PERM_R, AR_TP_SC_CLASS, P1(0)},
    {"chmod", 90, PERM_A, AR_TP_SC_CLASS, P1(0)},
    {"fchmod", 91, PERM_A, AR_TP_SC_CLASS, NOPATH},
    {"chown", 92, PERM_A, AR_TP_SC_CLASS, P1(0)},
    {"fchown", 93, PERM_A, AR_TP_SC_CLASS, NOPATH},
    {"lchown", 94, PERM_A, AR_TP_SC_CLASS, P1(0)},
    {"mknod", 133, PERM_W, AR_TP_SC_CLASS, P1(0)},
    {"acct", 163, PERM_W, AR_TP_SC_CLASS, P1(0)},
    {"swapon", 167, PERM_W, AR_TP_SC_CLASS, P1(0)},
    {"quotactl", 179, PERM_R | PERM_W, AR_TP_SC_CLASS, NOPATH},
    {"setxattr", 188, PERM_A, AR_TP_SC_CLASS, P1(0)},
    {"lsetxattr", 189, PERM_A, AR_TP_SC_CLASS, P1(0)},
    {"fsetxattr", 190, PERM_A, AR_TP_SC_CLASS, NOPATH},
    {"getxattr", 191, PERM_R, AR_TP_SC_CLASS, P1(0)},
    {"lgetxattr", 192, PERM_R, AR_TP_SC_CLASS, P1(0)},
    {"fgetxattr", 193, PERM_R, AR_TP_SC_CLASS, NOPATH},
    {"listxattr", 194, PERM_R, AR_TP_SC_CLASS, P1(0)},
    {"llistxattr", 195, PERM_R, AR_TP_SC_CLASS, P1(0)},
    {"flistxattr", 196, PERM_R, AR_TP_SC_CLASS, NOPATH},
    {"removexattr", 197, PERM_A, AR_TP_SC_CLASS, P1(0)},
    {"lremovexattr", 198, PERM_A, AR_TP_SC_CLASS, P1(0)},
    {"fremovexattr", 199, PERM_A, AR_TP_SC_CLASS, NOPATH},
    {"openat", 257, PERM_R | PERM_W, AR_TP_SC_OPENAT, P1AT(0, 1)},
    {"mkdirat", 258, PERM_W, AR_TP_SC_CLASS, P1AT(0, 1)},
    {"mknodat", 259, PERM_W, AR_TP_SC_CLASS, P1AT(0, 1)},
    {"fchownat", 260, PERM_A, AR_TP_SC_CLASS, P1AT(0, 1)},
    {"unlinkat", 263, PERM_W, AR_TP_SC_CLASS, P1AT(0, 1)},
    {"renameat", 264, PERM_W, AR_TP_SC_CLASS, P2AT(0, 1, 2, 3)},
    {"linkat", 265, PERM_W | PERM_A, AR_TP_SC_CLASS, P2AT(0, 1, 2, 3)},
    {"symlinkat", 266, PERM_W, AR_TP_SC_CLASS, 2, {0, 2}, {-1, 1}, {true, false}},
    {"readlinkat", 267, PERM_R, AR_TP_SC_CLASS, P1AT(0, 1)},
    {"fchmodat", 268, PERM_A, AR_TP_SC_CLASS, P1AT(0, 1)},
    {"fallocate", 285, PERM_W, AR_TP_SC_CLASS, NOPATH},
    {"renameat2", 316, PERM_W, AR_TP_SC_CLASS, P2AT(0, 1, 2, 3)},
    {"execveat", 322, PERM_X, AR_TP_SC_EXEC, P1AT(0, 1)},
    {"openat2", 437, PERM_R | PERM_W, AR_TP_SC_OPENAT2, P1AT(0, 1)},
    {"fchmodat2", 452, PERM_A, AR_TP_SC_CLASS, P1AT(0, 1)},
};
#undef NOPATH
#undef P1
#undef P1AT
#undef P2
#undef P2AT

const struct ar_tp_syscall *ar_tp_syscall_table(size_t *ret_count)
{
    *ret_count = AR_ARRAY_SIZE(sc_x86_64);
    return sc_x86_64;
}

const struct ar_tp_syscall *ar_tp_syscall_find(uint32_t arch, int nr)
{
    if (arch != AUDIT_ARCH_X86_64)
        return NULL;
    size_t lo = 0, hi = AR_ARRAY_SIZE(sc_x86_64);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sc_x86_64[mid].nr == nr)
            return &sc_x86_64[mid];
        if (sc_x86_64[mid].nr < nr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *ar_tp_syscall_name(uint32_t arch, int nr)
{
    /* The table knows syscalls newer than the build machine's headers (fchmodat2). */
    const struct ar_tp_syscall *sc = ar_tp_syscall_find(arch, nr);
    return sc ? sc->name : ar_syscall_name(arch, (uint32_t)nr);
}

/* The kernel's ACC_MODE: O_RDONLY reads, O_WRONLY writes, O_RDWR (and 3) both.
 * O_CREAT and O_TRUNC do not count: audit_match_perm looks at O_ACCMODE only. */
static uint32_t acc_mode(uint64_t flags)
{
    static const uint8_t mode[4] = {PERM_R, PERM_W, PERM_R | PERM_W, PERM_R | PERM_W};
    return mode[flags & O_ACCMODE];
}

uint32_t ar_tp_sample_perm(const struct ar_tp_sample *s)
{
    const struct ar_tp_syscall *sc = ar_tp_syscall_find(s->arch, s->syscall);
    if (!sc)
        return 0;
    switch ((enum ar_tp_sc_kind)sc->kind) {
    case AR_TP_SC_OPEN:
        return acc_mode(s->args[1]);
    case AR_TP_SC_OPENAT:
        return acc_mode(s->args[2]);
    case AR_TP_SC_OPENAT2:
        /* The flags are in struct open_how behind a2, which no engine reads: both
         * read and write, so that -p r and -p w each see every openat2 (wider than
         * the kernel, which reads how->flags). */
        return PERM_R | PERM_W;
    case AR_TP_SC_EXEC:
    case AR_TP_SC_CLASS:
        break;
    }
    return sc->perm;
}

/* ---- translation ------------------------------------------------------------- */


static const struct {
    uint32_t audit;
    uint8_t field;
} task_fields[] = {
    {AUDIT_PID, AR_TP_F_PID},     {AUDIT_PPID, AR_TP_F_PPID},       {AUDIT_UID, AR_TP_F_UID},
    {AUDIT_EUID, AR_TP_F_EUID},   {AUDIT_SUID, AR_TP_F_SUID},       {AUDIT_FSUID, AR_TP_F_FSUID},
    {AUDIT_GID, AR_TP_F_GID},     {AUDIT_EGID, AR_TP_F_EGID},       {AUDIT_SGID, AR_TP_F_SGID},
    {AUDIT_FSGID, AR_TP_F_FSGID}, {AUDIT_LOGINUID, AR_TP_F_AUID},   {AUDIT_SESSIONID, AR_TP_F_SES},
    {AUDIT_EXIT, AR_TP_F_EXIT},   {AUDIT_SUCCESS, AR_TP_F_SUCCESS}, {AUDIT_ARG0, AR_TP_F_A0},
    {AUDIT_ARG1, AR_TP_F_A1},     {AUDIT_ARG2, AR_TP_F_A2},         {AUDIT_ARG3, AR_TP_F_A3},
};

static const struct {
    uint32_t flag;
    uint8_t op;
} ops[] = {
    {AUDIT_EQUAL, AR_TP_EQ},          {AUDIT_NOT_EQUAL, AR_TP_NE},
    {AUDIT_LESS_THAN, AR_TP_LT},      {AUDIT_LESS_THAN_OR_EQUAL, AR_TP_LE},
    {AUDIT_GREATER_THAN, AR_TP_GT},   {AUDIT_GREATER_THAN_OR_EQUAL, AR_TP_GE},
    {AUDIT_BIT_MASK, AR_TP_BIT_MASK}, {AUDIT_BIT_TEST, AR_TP_BIT_TEST},
};

/* -C between two of the task's ids; the comparisons with obj_uid/obj_gid (the
 * file's owner) are not here. */
static const struct {
    uint32_t value;
    uint8_t left, right;
} compares[] = {
    {AUDIT_COMPARE_UID_TO_AUID, AR_TP_F_UID, AR_TP_F_AUID},
    {AUDIT_COMPARE_UID_TO_EUID, AR_TP_F_UID, AR_TP_F_EUID},
    {AUDIT_COMPARE_UID_TO_FSUID, AR_TP_F_UID, AR_TP_F_FSUID},
    {AUDIT_COMPARE_UID_TO_SUID, AR_TP_F_UID, AR_TP_F_SUID},
    {AUDIT_COMPARE_AUID_TO_FSUID, AR_TP_F_AUID, AR_TP_F_FSUID},
    {AUDIT_COMPARE_AUID_TO_SUID, AR_TP_F_AUID, AR_TP_F_SUID},
    {AUDIT_COMPARE_AUID_TO_EUID, AR_TP_F_AUID, AR_TP_F_EUID},
    {AUDIT_COMPARE_EUID_TO_SUID, AR_TP_F_EUID, AR_TP_F_SUID},
    {AUDIT_COMPARE_EUID_TO_FSUID, AR_TP_F_EUID, AR_TP_F_FSUID},
    {AUDIT_COMPARE_SUID_TO_FSUID, AR_TP_F_SUID, AR_TP_F_FSUID},
    {AUDIT_COMPARE_GID_TO_EGID, AR_TP_F_GID, AR_TP_F_EGID},
    {AUDIT_COMPARE_GID_TO_FSGID, AR_TP_F_GID, AR_TP_F_FSGID},
    {AUDIT_COMPARE_GID_TO_SGID, AR_TP_F_GID, AR_TP_F_SGID},
    {AUDIT_COMPARE_EGID_TO_FSGID, AR_TP_F_EGID, AR_TP_F_FSGID},
    {AUDIT_COMPARE_EGID_TO_SGID, AR_TP_F_EGID, AR_TP_F_SGID},
    {AUDIT_COMPARE_SGID_TO_FSGID, AR_TP_F_SGID, AR_TP_F_FSGID},
};

/* Why a field the kernel evaluates is beyond the tracepoint source. */
static const struct {
    uint32_t field;
    const char *why;
} refused_fields[] = {
    {AUDIT_SUBJ_USER, "subj_user= needs the task's LSM (SELinux) label, which is not traced"},
    {AUDIT_SUBJ_ROLE, "subj_role= needs the task's LSM (SELinux) label, which is not traced"},
    {AUDIT_SUBJ_TYPE, "subj_type= needs the task's LSM (SELinux) label, which is not traced"},
    {AUDIT_SUBJ_SEN, "subj_sen= needs the task's LSM (SELinux) label, which is not traced"},
    {AUDIT_SUBJ_CLR, "subj_clr= needs the task's LSM (SELinux) label, which is not traced"},
    {AUDIT_OBJ_USER, "obj_user= needs the file's LSM (SELinux) label, which is not traced"},
    {AUDIT_OBJ_ROLE, "obj_role= needs the file's LSM (SELinux) label, which is not traced"},
    {AUDIT_OBJ_TYPE, "obj_type= needs the file's LSM (SELinux) label, which is not traced"},
    {AUDIT_OBJ_LEV_LOW, "obj_lev_low= needs the file's LSM (SELinux) label, which is not traced"},
    {AUDIT_OBJ_LEV_HIGH, "obj_lev_high= needs the file's LSM (SELinux) label, which is not traced"},
    {AUDIT_INODE, "inode= needs the inode of the files the syscall touched, which is not traced"},
    {AUDIT_DEVMAJOR, "devmajor= needs the device of the files the syscall touched, which is not "
                     "traced"},
    {AUDIT_DEVMINOR, "devminor= needs the device of the files the syscall touched, which is not "
                     "traced"},
    {AUDIT_FILETYPE, "filetype= needs the type of the files the syscall touched, which is not "
                     "traced"},
    {AUDIT_OBJ_UID, "obj_uid= needs the owner of the files the syscall touched, which is not "
                    "traced"},
    {AUDIT_OBJ_GID, "obj_gid= needs the group of the files the syscall touched, which is not "
                    "traced"},
    {AUDIT_EXE, "exe= matches the executable's inode; the tracepoint source sees only its path"},
    {AUDIT_PERS, "pers= (the task's personality) is not traced"},
    {AUDIT_MSGTYPE, "msgtype= filters records of the exclude and user lists, not syscalls"},
#ifdef AUDIT_SADDR_FAM
    {AUDIT_SADDR_FAM, "saddr_fam= needs the socket address family, which is not traced"},
#endif
#ifdef AUDIT_FSTYPE
    {AUDIT_FSTYPE, "fstype= belongs to the filesystem list"},
#endif
};

struct refusal {
    char why[192];
};

static bool refuse(struct refusal *rf, const char *why)
{
    snprintf(rf->why, sizeof(rf->why), "%s", why);
    return false;
}

static void bitmap_set(uint64_t *map, unsigned nr)
{
    map[nr / 64] |= UINT64_C(1) << (nr % 64);
}

static bool bitmap_test(const uint64_t *map, unsigned nr)
{
    return (map[nr / 64] >> (nr % 64)) & 1;
}

/* The kernel's form of -S all (compile.c set_all_syscalls): every bit of every
 * word but the last, whose class bits the kernel clears. */
static bool mask_is_all(const struct audit_rule_data *r)
{
    for (int i = 0; i < AUDIT_BITMASK_SIZE - 1; i++)
        if (r->mask[i] != ~0u)
            return false;
    return true;
}

static bool mask_test(const struct audit_rule_data *r, unsigned nr)
{
    return (r->mask[nr / 32] >> (nr % 32)) & 1;
}

/* A syscall of `arch` (x86_64 or i386) that takes a path argument. i386 syscalls
 * are found by name in the x86_64 table (the path syscalls have the same names). */
static bool takes_path(uint32_t arch, unsigned nr)
{
    if (arch == AUDIT_ARCH_X86_64) {
        const struct ar_tp_syscall *sc = ar_tp_syscall_find(arch, (int)nr);
        return sc && sc->npaths > 0;
    }
    const char *name = ar_syscall_name(arch, nr);
    if (!name)
        return false;
    for (size_t i = 0; i < AR_ARRAY_SIZE(sc_x86_64); i++)
        if (strcmp(sc_x86_64[i].name, name) == 0)
            return sc_x86_64[i].npaths > 0;
    return false;
}

static int op_from_flag(uint32_t flag)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(ops); i++)
        if (ops[i].flag == flag)
            return ops[i].op;
    return -1;
}

static bool add_cond(struct ar_tp_rule *t, struct ar_tp_cond c, struct refusal *rf)
{
    if (t->nconds >= AR_TP_MAX_CONDS) {
        snprintf(rf->why, sizeof(rf->why), "more than %d conditions in one rule", AR_TP_MAX_CONDS);
        return false;
    }
    t->conds[t->nconds++] = c;
    return true;
}

/* Translates one rule into *t; false with rf->why set when it cannot be traced. */
static bool translate(const struct audit_rule_data *r, size_t size, uint32_t machine,
                      struct ar_tp_rule *t, struct refusal *rf)
{
    if (ar_rules_check_data(r, size) < 0)
        return refuse(rf, "malformed rule data");
    uint32_t list = r->flags & ~(uint32_t)AUDIT_FILTER_PREPEND;
    switch (list) {
    case AUDIT_FILTER_EXIT:
        break;
    case AUDIT_FILTER_TASK:
        return refuse(rf, "only exit-list rules can be traced; the task list decides at fork "
                          "whether a task is audited at all");
    case AUDIT_FILTER_USER:
        return refuse(rf, "only exit-list rules can be traced; the user list filters messages "
                          "from user space");
    case AUDIT_FILTER_EXCLUDE:
        return refuse(rf, "only exit-list rules can be traced; the exclude list filters "
                          "records by type");
    case AUDIT_FILTER_FS:
        return refuse(rf, "only exit-list rules can be traced; the filesystem list needs the "
                          "file system of every file touched");
    case AUDIT_FILTER_URING_EXIT:
        return refuse(rf, "only exit-list rules can be traced; io_uring operations are not "
                          "syscalls");
    default:
        return refuse(rf, "only exit-list rules can be traced");
    }
    if (r->action == AUDIT_NEVER)
        t->never = true;
    else if (r->action != AUDIT_ALWAYS)
        return refuse(rf, "only the actions always and never can be traced");

    uint32_t arch = 0;
    bool arch_given = false;
    bool has_path = false, has_perm = false;
    size_t off = 0;
    for (uint32_t i = 0; i < r->field_count; i++) {
        uint32_t field = r->fields[i];
        uint32_t flag = r->fieldflags[i];
        uint32_t value = r->values[i];
        const char *str = NULL;
        if (ar_rules_field_is_string(field)) {
            str = r->buf + off;
            off += value;
        }
        int op = op_from_flag(flag);
        if (op < 0)
            return refuse(rf, "an operator the kernel does not know");
        bool done = false;
        for (size_t k = 0; k < AR_ARRAY_SIZE(task_fields) && !done; k++) {
            if (task_fields[k].audit != field)
                continue;
            done = true;
            struct ar_tp_cond c = {
                .field = task_fields[k].field, .op = (uint8_t)op, .value = value};
            /* success= compares the kernel's AUDITSC_SUCCESS (1) or AUDITSC_FAILURE
             * (2), as audit_filter_rules does; the sample's side is mapped alike. */
            if (field == AUDIT_SUCCESS)
                c.value = value ? 1 : 2;
            if (!add_cond(t, c, rf))
                return false;
        }
        if (done)
            continue;
        for (size_t k = 0; k < AR_ARRAY_SIZE(refused_fields); k++)
            if (refused_fields[k].field == field)
                return refuse(rf, refused_fields[k].why);
        switch (field) {
        case AUDIT_LOGINUID_SET:
            /* What the kernel makes of auid=unset: test whether the loginuid is set. */
            if ((op != AR_TP_EQ && op != AR_TP_NE) || value > 1)
                return refuse(rf, "loginuid_set takes only = or != with 0 or 1");
            if (!add_cond(
                    t,
                    (struct ar_tp_cond){
                        .field = AR_TP_F_AUID,
                        .op = (uint8_t)((op == AR_TP_EQ) == (value == 1) ? AR_TP_NE : AR_TP_EQ),
                        .value = AUDIT_UID_UNSET},
                    rf))
                return false;
            break;
        case AUDIT_ARCH:
            if (op != AR_TP_EQ)
                return refuse(rf, "arch!= cannot be traced: give the arch the rule is for");
            arch = value;
            arch_given = true;
            break;
        case AUDIT_PERM:
            if (op != AR_TP_EQ)
                return refuse(rf, "perm takes only =");
            t->perm = value & (PERM_R | PERM_W | PERM_X | PERM_A);
            has_perm = true;
            break;
        case AUDIT_WATCH:
        case AUDIT_DIR: {
            if (op != AR_TP_EQ)
                return refuse(rf, "path and dir take only =");
            size_t len = value;
            /* -F dir=/x/ and /x are the same tree. */
            if (field == AUDIT_DIR)
                while (len > 1 && str[len - 1] == '/')
                    len--;
            if (len >= AR_TP_MAX_PREFIX) {
                snprintf(rf->why, sizeof(rf->why), "the path is longer than %d bytes",
                         AR_TP_MAX_PREFIX - 1);
                return false;
            }
            if (len == 0 || str[0] != '/')
                return refuse(rf, "the path is not absolute");
            if (memchr(str, 0, len))
                return refuse(rf, "the path holds a NUL byte");
            memcpy(t->path, str, len);
            t->path[len] = 0;
            t->path_len = len;
            t->path_is_dir = field == AUDIT_DIR;
            has_path = true;
            break;
        }
        case AUDIT_FILTERKEY:
            if (op != AR_TP_EQ)
                return refuse(rf, "a key takes only =");
            if (value >= AR_TP_KEY_MAX) {
                snprintf(rf->why, sizeof(rf->why), "the key is longer than %d bytes",
                         AR_TP_KEY_MAX - 1);
                return false;
            }
            memcpy(t->key, str, value);
            t->key[value] = 0;
            break;
        case AUDIT_FIELD_COMPARE: {
            if (op != AR_TP_EQ && op != AR_TP_NE)
                return refuse(rf, "a comparison takes only = or !=");
            size_t k = 0;
            while (k < AR_ARRAY_SIZE(compares) && compares[k].value != value)
                k++;
            if (k == AR_ARRAY_SIZE(compares))
                return refuse(rf, "-C with obj_uid or obj_gid needs the owner of the files "
                                  "the syscall touched, which is not traced");
            if (!add_cond(t,
                          (struct ar_tp_cond){.field = compares[k].left,
                                              .op = (uint8_t)op,
                                              .field_vs_field = true,
                                              .field2 = compares[k].right},
                          rf))
                return false;
            break;
        }
        default:
            snprintf(rf->why, sizeof(rf->why), "field %u is not available to it", field);
            return false;
        }
    }

    if (!arch_given)
        arch = machine;
    if (arch != AUDIT_ARCH_X86_64 && arch != AUDIT_ARCH_I386) {
        const char *name = ar_arch_name(arch);
        snprintf(rf->why, sizeof(rf->why), "arch %s: only x86_64 and i386 syscalls are traced",
                 name ? name : "unknown");
        return false;
    }
    bool all = mask_is_all(r);
    if (has_path && !has_perm && all)
        return refuse(rf, "a path or dir without -F perm and -S matches every syscall that "
                          "touches the file; give the permissions (-p rwxa) or the syscalls "
                          "(-S) so that the syscalls are known");
    if ((has_path || has_perm) && arch == AUDIT_ARCH_I386)
        return refuse(rf, "watches and -F perm are traced for x86_64 syscalls only");
    if (has_perm && t->perm == 0)
        return refuse(rf, "an empty perm matches nothing");

    if (has_path && !has_perm) {
        /* -S list with -F path= or -F dir=: the path can only be seen in the path
         * arguments the engines copy, so every listed syscall must have one. */
        t->arch = AUDIT_ARCH_X86_64;
        for (unsigned nr = 0; nr < AUDIT_BITMASK_SIZE * 32; nr++) {
            if (!mask_test(r, nr))
                continue;
            const struct ar_tp_syscall *sc = ar_tp_syscall_find(AUDIT_ARCH_X86_64, (int)nr);
            if (!sc || sc->npaths == 0) {
                const char *name = ar_syscall_name(AUDIT_ARCH_X86_64, (int)nr);
                snprintf(rf->why, sizeof(rf->why),
                         "-F path/dir with syscall %s: it takes no path argument the source "
                         "copies, so the path could never be seen",
                         name ? name : "(unknown)");
                return false;
            }
            bitmap_set(t->syscalls, nr);
        }
        return true;
    }
    if (has_perm) {
        /* A watch or perm rule can only match syscalls of its permission classes
         * (audit_match_perm), and a path rule only those naming a path: hook those,
         * within -S when the rule has one. The arch is x86_64 even without -F arch
         * (the kernel would also apply the rule to 32-bit syscalls, see plan.h). */
        t->arch = AUDIT_ARCH_X86_64;
        for (size_t i = 0; i < AR_ARRAY_SIZE(sc_x86_64); i++) {
            const struct ar_tp_syscall *sc = &sc_x86_64[i];
            if (!(sc->perm & t->perm) || (has_path && sc->npaths == 0))
                continue;
            if (!all && !mask_test(r, (unsigned)sc->nr))
                continue;
            bitmap_set(t->syscalls, (unsigned)sc->nr);
        }
        return true;
    }
    if (all) {
        /* -S all without -F arch: every arch, as in the kernel. */
        t->arch = arch_given ? arch : 0;
        t->all_syscalls = true;
        return true;
    }
    t->arch = arch;
    for (unsigned nr = AR_TP_NR_SYSCALLS; nr < AUDIT_BITMASK_SIZE * 32; nr++)
        if (mask_test(r, nr)) {
            snprintf(rf->why, sizeof(rf->why), "syscall number %u is beyond the %d traced", nr,
                     AR_TP_NR_SYSCALLS);
            return false;
        }
    for (unsigned nr = 0; nr < AR_TP_NR_SYSCALLS; nr++)
        if (mask_test(r, nr))
            bitmap_set(t->syscalls, nr);
    return true;
}

static void report(FILE *log, const struct ar_rules_op *op, uint32_t machine, const char *why)
{
    if (!log)
        return;
    char *text = NULL;
    int n = ar_rules_format(op->rule, op->rule_size, machine, &text);
    fprintf(log, "auditrelay: %s:%u: %s: cannot be traced by the tracepoint source: %s\n",
            op->origin.file ? op->origin.file : "-", op->origin.line, n >= 0 ? text : "(rule)",
            why);
    free(text);
}

static const char *op_name(enum ar_rules_op_type t)
{
    switch (t) {
    case AR_RULES_OP_SET:
        return "an audit setting (-e, -f, -b, -r, --backlog_wait_time...)";
    case AR_RULES_OP_LOGINUID_IMMUTABLE:
        return "--loginuid-immutable";
    case AR_RULES_OP_TRIM:
        return "-t";
    case AR_RULES_OP_MAKE_EQUIV:
        return "-q";
    case AR_RULES_OP_USER_MSG:
        return "-m";
    default:
        return "an operation";
    }
}

int ar_tp_plan_build(const struct ar_rules *rules, FILE *log, struct ar_tp_plan *ret)
{
    size_t nops = 0;
    const struct ar_rules_op *all = ar_rules_ops(rules, &nops);
    uint32_t machine = ar_rules_machine(rules);
    /* The rules as the kernel would hold them after the whole set: -D and -d remove,
     * -A puts a rule first. Only those are translated (a rule deleted later was
     * never going to filter anything). */
    const struct ar_rules_op **live = calloc(nops ? nops : 1, sizeof(*live));
    struct ar_tp_plan *plan = calloc(1, sizeof(*plan));
    if (!live || !plan) {
        free(live);
        free(plan);
        return -ENOMEM;
    }
    size_t nlive = 0;
    for (size_t i = 0; i < nops; i++) {
        const struct ar_rules_op *op = &all[i];
        switch (op->type) {
        case AR_RULES_OP_ADD:
            if (op->rule->flags & AUDIT_FILTER_PREPEND) {
                memmove(live + 1, live, nlive * sizeof(*live));
                live[0] = op;
            } else {
                live[nlive] = op;
            }
            nlive++;
            break;
        case AR_RULES_OP_DELETE:
            for (size_t k = 0; k < nlive; k++)
                if (ar_rules_same(live[k]->rule, live[k]->rule_size, op->rule, op->rule_size)) {
                    memmove(live + k, live + k + 1, (nlive - k - 1) * sizeof(*live));
                    nlive--;
                    break;
                }
            break;
        case AR_RULES_OP_DELETE_ALL: {
            size_t kept = 0;
            for (size_t k = 0; k < nlive; k++)
                if (op->text && !ar_rules_key_matches(live[k]->rule, live[k]->rule_size, op->text))
                    live[kept++] = live[k];
            nlive = kept;
            break;
        }
        default:
            if (log)
                fprintf(log,
                        "auditrelay: %s:%u: note: %s means nothing to the tracepoint source: "
                        "skipped\n",
                        op->origin.file ? op->origin.file : "-", op->origin.line,
                        op_name(op->type));
            break;
        }
    }

    unsigned refused = 0;
    for (size_t i = 0; i < nlive; i++) {
        const struct ar_rules_op *op = live[i];
        struct refusal rf = {{0}};
        if (plan->nrules >= AR_TP_MAX_RULES) {
            snprintf(rf.why, sizeof(rf.why), "more than %d rules", AR_TP_MAX_RULES);
            report(log, op, machine, rf.why);
            refused++;
            continue;
        }
        struct ar_tp_rule *t = &plan->rules[plan->nrules];
        memset(t, 0, sizeof(*t));
        t->origin = op->origin;
        if (!translate(op->rule, op->rule_size, machine, t, &rf)) {
            report(log, op, machine, rf.why);
            refused++;
            continue;
        }
        plan->nrules++;
        if (t->all_syscalls) {
            plan->raw_syscalls = true;
            plan->need_cwd = true;
        } else if (t->arch == AUDIT_ARCH_I386) {
            /* The per-syscall tracepoints do not fire for ia32 syscalls. */
            plan->raw_syscalls = true;
            for (unsigned nr = 0; nr < AR_TP_NR_SYSCALLS; nr++)
                if (bitmap_test(t->syscalls, nr) && takes_path(t->arch, nr))
                    plan->need_cwd = true;
        } else {
            for (unsigned w = 0; w < AR_TP_NR_SYSCALLS / 64; w++)
                plan->syscalls[w] |= t->syscalls[w];
            for (unsigned nr = 0; nr < AR_TP_NR_SYSCALLS; nr++)
                if (bitmap_test(t->syscalls, nr) && takes_path(t->arch, nr))
                    plan->need_cwd = true;
        }
    }
    free(live);
    if (refused) {
        free(plan);
        return -EINVAL;
    }
    *ret = *plan;
    free(plan);
    return 0;
}

bool ar_tp_plan_hooks(const struct ar_tp_plan *plan, uint32_t arch, int nr)
{
    if (nr < 0)
        return false;
    for (unsigned i = 0; i < plan->nrules; i++) {
        const struct ar_tp_rule *t = &plan->rules[i];
        if (t->arch && t->arch != arch)
            continue;
        if (t->all_syscalls)
            return true;
        if (nr < AR_TP_NR_SYSCALLS && bitmap_test(t->syscalls, (unsigned)nr))
            return true;
    }
    return false;
}

/* ---- matching ------------------------------------------------------------------ */

/* The kernel's success: the return value is not an error (IS_ERR_VALUE: -4095..-1). */
bool ar_tp_exit_success(int64_t exit)
{
    return !(exit < 0 && exit >= -4095);
}

static uint32_t field_value(const struct ar_tp_sample *s, unsigned field)
{
    switch ((enum ar_tp_field)field) {
    case AR_TP_F_PID:
        return s->pid;
    case AR_TP_F_PPID:
        return s->ppid;
    case AR_TP_F_UID:
        return s->uid;
    case AR_TP_F_EUID:
        return s->euid;
    case AR_TP_F_SUID:
        return s->suid;
    case AR_TP_F_FSUID:
        return s->fsuid;
    case AR_TP_F_GID:
        return s->gid;
    case AR_TP_F_EGID:
        return s->egid;
    case AR_TP_F_SGID:
        return s->sgid;
    case AR_TP_F_FSGID:
        return s->fsgid;
    case AR_TP_F_AUID:
        return s->has_auid ? s->auid : AUDIT_UID_UNSET;
    case AR_TP_F_SES:
        return s->has_auid ? s->ses : AUDIT_UID_UNSET;
    case AR_TP_F_EXIT:
        return (uint32_t)s->exit;
    case AR_TP_F_SUCCESS:
        return ar_tp_exit_success(s->exit) ? 1 : 2;
    case AR_TP_F_A0:
    case AR_TP_F_A1:
    case AR_TP_F_A2:
    case AR_TP_F_A3:
        return (uint32_t)s->args[field - AR_TP_F_A0];
    case AR_TP_F_COUNT:
        break;
    }
    return 0;
}

/* audit_comparator: unsigned 32-bit on both sides. */
static bool compare(uint32_t left, unsigned op, uint32_t right)
{
    switch ((enum ar_tp_op)op) {
    case AR_TP_EQ:
        return left == right;
    case AR_TP_NE:
        return left != right;
    case AR_TP_LT:
        return left < right;
    case AR_TP_LE:
        return left <= right;
    case AR_TP_GT:
        return left > right;
    case AR_TP_GE:
        return left >= right;
    case AR_TP_BIT_MASK:
        return (left & right) != 0;
    case AR_TP_BIT_TEST:
        return (left & right) == right;
    }
    return false;
}

/* The sample's path i as an absolute name: `head` then `tail` (a relative path
 * joined to the cwd with a "/"). False when it cannot be placed: relative without a
 * cwd, or relative to a directory fd. */
struct joined {
    struct ar_span head;
    bool slash;
    struct ar_span tail;
};

static size_t joined_len(const struct joined *j)
{
    return j->head.len + (j->slash ? 1 : 0) + j->tail.len;
}

static char joined_at(const struct joined *j, size_t i)
{
    if (i < j->head.len)
        return j->head.p[i];
    i -= j->head.len;
    if (j->slash) {
        if (i == 0)
            return '/';
        i--;
    }
    return j->tail.p[i];
}

static bool sample_path(const struct ar_tp_sample *s, const struct ar_tp_syscall *sc, unsigned i,
                        struct joined *ret)
{
    struct ar_span p = s->paths[i];
    if (p.len == 0)
        return false;
    if (p.p[0] == '/') {
        *ret = (struct joined){p, false, {NULL, 0}};
        return true;
    }
    if (s->cwd.len == 0 || s->cwd.p[0] != '/')
        return false;
    int dirfd_arg = sc->dirfd_arg[i];
    if (dirfd_arg >= 0 && (int32_t)(uint32_t)s->args[dirfd_arg] != AT_FDCWD)
        return false;
    bool root = s->cwd.len == 1;
    *ret = (struct joined){s->cwd, !root, p};
    return true;
}

static bool path_matches(const struct ar_tp_rule *t, const struct joined *j)
{
    size_t len = joined_len(j);
    if (len < t->path_len)
        return false;
    for (size_t i = 0; i < t->path_len; i++)
        if (joined_at(j, i) != t->path[i])
            return false;
    if (len == t->path_len)
        return true;
    if (!t->path_is_dir)
        return false;
    /* Below the dir: the next byte is a '/' (or the dir is "/" itself). */
    return t->path_len == 1 || joined_at(j, t->path_len) == '/';
}

static bool rule_matches(const struct ar_tp_rule *t, const struct ar_tp_sample *s)
{
    if (t->arch && t->arch != s->arch)
        return false;
    if (!t->all_syscalls && (s->syscall < 0 || s->syscall >= AR_TP_NR_SYSCALLS ||
                             !bitmap_test(t->syscalls, (unsigned)s->syscall)))
        return false;
    for (unsigned c = 0; c < t->nconds; c++) {
        const struct ar_tp_cond *cd = &t->conds[c];
        uint32_t left = field_value(s, cd->field);
        uint32_t right = cd->field_vs_field ? field_value(s, cd->field2) : (uint32_t)cd->value;
        if (!compare(left, cd->op, right))
            return false;
    }
    if (t->perm && !(ar_tp_sample_perm(s) & t->perm))
        return false;
    if (t->path_len) {
        const struct ar_tp_syscall *sc = ar_tp_syscall_find(s->arch, s->syscall);
        if (!sc)
            return false;
        unsigned n = s->npaths < sc->npaths ? s->npaths : sc->npaths;
        bool any = false;
        for (unsigned i = 0; i < n && !any; i++) {
            struct joined j;
            if (!sc->target_text[i] && sample_path(s, sc, i, &j))
                any = path_matches(t, &j);
        }
        if (!any)
            return false;
    }
    return true;
}

int ar_tp_plan_match(const struct ar_tp_plan *plan, const struct ar_tp_sample *s)
{
    for (unsigned i = 0; i < plan->nrules; i++)
        if (rule_matches(&plan->rules[i], s))
            return plan->rules[i].never ? -1 : (int)i;
    return -1;
}
