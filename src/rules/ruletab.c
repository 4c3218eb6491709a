#include "rules/ruletab.h"

#include <ctype.h>
#include <errno.h>
#include <linux/audit.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "audit/tables.h"
#include "util/span.h"

static const struct ar_listdef lists[] = {
    {"user", AUDIT_FILTER_USER, false},
    {"task", AUDIT_FILTER_TASK, false},
    {"exit", AUDIT_FILTER_EXIT, true},
    {"exclude", AUDIT_FILTER_EXCLUDE, false},
    {"filesystem", AUDIT_FILTER_FS, false},
    /* auditctl 3.0.9 as Debian builds it has no io_uring list; the kernel does. */
    {"io_uring", AUDIT_FILTER_URING_EXIT, true},
};

const struct ar_listdef *ar_list_by_name(const char *name)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(lists); i++)
        if (strcasecmp(lists[i].name, name) == 0)
            return &lists[i];
    return NULL;
}

const struct ar_listdef *ar_list_by_nr(uint32_t nr)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(lists); i++)
        if (lists[i].nr == nr)
            return &lists[i];
    return NULL;
}

const struct ar_opdef ar_optab[] = {
    {"!=", AUDIT_NOT_EQUAL, AR_OPB_NE},
    {">=", AUDIT_GREATER_THAN_OR_EQUAL, AR_OPB_GE},
    {"<=", AUDIT_LESS_THAN_OR_EQUAL, AR_OPB_LE},
    {"&=", AUDIT_BIT_TEST, AR_OPB_ANDEQ},
    {"=", AUDIT_EQUAL, AR_OPB_EQ},
    {">", AUDIT_GREATER_THAN, AR_OPB_GT},
    {"<", AUDIT_LESS_THAN, AR_OPB_LT},
    {"&", AUDIT_BIT_MASK, AR_OPB_AND},
};
const size_t ar_optab_count = AR_ARRAY_SIZE(ar_optab);

const struct ar_opdef *ar_op_by_flag(uint32_t flag)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(ar_optab); i++)
        if (ar_optab[i].flag == flag)
            return &ar_optab[i];
    return NULL;
}

#define U AR_LIST_BIT(AUDIT_FILTER_USER)
#define T AR_LIST_BIT(AUDIT_FILTER_TASK)
#define X AR_LIST_BIT(AUDIT_FILTER_EXIT)
#define E AR_LIST_BIT(AUDIT_FILTER_EXCLUDE)
#define F AR_LIST_BIT(AUDIT_FILTER_FS)
#define R AR_LIST_BIT(AUDIT_FILTER_URING_EXIT)
/* Where each field may appear: libaudit's checks (exit-only fields, what the exclude
 * list takes) joined with the kernel's (auditfilter.c audit_field_valid: the
 * filesystem list takes only fstype and key; perm is not for io_uring). */
#define ANY (U | T | X | E | R)
#define NOEXCL (U | T | X | R)
#define EXITS (X | R)

/* Every field name auditctl accepts, with the operators the kernel accepts for it
 * (auditfilter.c audit_field_valid). The first entry for a number is the name
 * printed for it. */
static const struct ar_fielddef fields[] = {
    {"pid", AUDIT_PID, AR_FK_NUMBER, AR_OPS_CMP, ANY},
    {"uid", AUDIT_UID, AR_FK_UID, AR_OPS_CMP, ANY},
    {"euid", AUDIT_EUID, AR_FK_UID, AR_OPS_CMP, NOEXCL},
    {"suid", AUDIT_SUID, AR_FK_UID, AR_OPS_CMP, NOEXCL},
    {"fsuid", AUDIT_FSUID, AR_FK_UID, AR_OPS_CMP, NOEXCL},
    {"gid", AUDIT_GID, AR_FK_GID, AR_OPS_CMP, ANY},
    {"egid", AUDIT_EGID, AR_FK_GID, AR_OPS_CMP, NOEXCL},
    {"sgid", AUDIT_SGID, AR_FK_GID, AR_OPS_CMP, NOEXCL},
    {"fsgid", AUDIT_FSGID, AR_FK_GID, AR_OPS_CMP, NOEXCL},
    {"auid", AUDIT_LOGINUID, AR_FK_UID, AR_OPS_CMP, ANY},
    {"loginuid", AUDIT_LOGINUID, AR_FK_UID, AR_OPS_CMP, ANY},
    {"pers", AUDIT_PERS, AR_FK_NUMBER, AR_OPS_ALL, NOEXCL},
    {"arch", AUDIT_ARCH, AR_FK_ARCH, AR_OPS_EQNE, NOEXCL},
    {"msgtype", AUDIT_MSGTYPE, AR_FK_MSGTYPE, AR_OPS_CMP, U | E},
    {"subj_user", AUDIT_SUBJ_USER, AR_FK_STRING, AR_OPS_EQNE, ANY},
    {"subj_role", AUDIT_SUBJ_ROLE, AR_FK_STRING, AR_OPS_EQNE, ANY},
    {"subj_type", AUDIT_SUBJ_TYPE, AR_FK_STRING, AR_OPS_EQNE, ANY},
    {"subj_sen", AUDIT_SUBJ_SEN, AR_FK_STRING, AR_OPS_CMP, ANY},
    {"subj_clr", AUDIT_SUBJ_CLR, AR_FK_STRING, AR_OPS_CMP, ANY},
    {"ppid", AUDIT_PPID, AR_FK_NUMBER, AR_OPS_CMP, EXITS},
    {"obj_user", AUDIT_OBJ_USER, AR_FK_STRING, AR_OPS_EQNE, EXITS},
    {"obj_role", AUDIT_OBJ_ROLE, AR_FK_STRING, AR_OPS_EQNE, EXITS},
    {"obj_type", AUDIT_OBJ_TYPE, AR_FK_STRING, AR_OPS_EQNE, EXITS},
    {"obj_lev_low", AUDIT_OBJ_LEV_LOW, AR_FK_STRING, AR_OPS_CMP, EXITS},
    {"obj_lev_high", AUDIT_OBJ_LEV_HIGH, AR_FK_STRING, AR_OPS_CMP, EXITS},
    {"sessionid", AUDIT_SESSIONID, AR_FK_SESSIONID, AR_OPS_CMP, U | X | R},
    {"fstype", AUDIT_FSTYPE, AR_FK_FSTYPE, AR_OPS_EQNE, F},
    {"devmajor", AUDIT_DEVMAJOR, AR_FK_NUMBER, AR_OPS_CMP, EXITS},
    {"devminor", AUDIT_DEVMINOR, AR_FK_NUMBER, AR_OPS_ALL, EXITS},
    {"inode", AUDIT_INODE, AR_FK_INODE, AR_OPS_EQNE, EXITS},
    {"exit", AUDIT_EXIT, AR_FK_EXIT, AR_OPS_CMP, EXITS},
    {"success", AUDIT_SUCCESS, AR_FK_NUMBER, AR_OPS_CMP, EXITS},
    /* The kernel takes a watch or tree only with "=" (audit_to_watch,
     * audit_make_tree); libaudit takes perm only with "=". */
    {"path", AUDIT_WATCH, AR_FK_WATCH, AR_OPB_EQ, EXITS},
    {"perm", AUDIT_PERM, AR_FK_PERM, AR_OPB_EQ, X},
    {"dir", AUDIT_DIR, AR_FK_DIR, AR_OPB_EQ, EXITS},
    {"filetype", AUDIT_FILETYPE, AR_FK_FILETYPE, AR_OPS_EQNE, EXITS},
    {"obj_uid", AUDIT_OBJ_UID, AR_FK_UID, AR_OPS_CMP, NOEXCL},
    {"obj_gid", AUDIT_OBJ_GID, AR_FK_GID, AR_OPS_CMP, NOEXCL},
    {"field_compare", AUDIT_FIELD_COMPARE, AR_FK_NUMBER, AR_OPS_EQNE, NOEXCL},
    {"exe", AUDIT_EXE, AR_FK_STRING, AR_OPS_EQNE, ANY},
    {"saddr_fam", AUDIT_SADDR_FAM, AR_FK_SADDR_FAM, AR_OPS_CMP, NOEXCL},
    {"a0", AUDIT_ARG0, AR_FK_ARG, AR_OPS_ALL, NOEXCL},
    {"a1", AUDIT_ARG1, AR_FK_ARG, AR_OPS_ALL, NOEXCL},
    {"a2", AUDIT_ARG2, AR_FK_ARG, AR_OPS_ALL, NOEXCL},
    {"a3", AUDIT_ARG3, AR_FK_ARG, AR_OPS_ALL, NOEXCL},
    {"key", AUDIT_FILTERKEY, AR_FK_KEY, AR_OPB_EQ, ANY | F},
};
#undef U
#undef T
#undef X
#undef E
#undef F
#undef R
#undef ANY
#undef NOEXCL
#undef EXITS

const struct ar_fielddef *ar_field_by_name(const char *name)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(fields); i++)
        if (strcasecmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

const struct ar_fielddef *ar_field_by_id(uint32_t id)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(fields); i++)
        if (fields[i].id == id)
            return &fields[i];
    return NULL;
}

/* Printed as auditctl prints them (auditctl-listing.c print_field_cmp). */
static const struct ar_comparedef compares[] = {
    {AUDIT_COMPARE_UID_TO_OBJ_UID, AUDIT_UID, AUDIT_OBJ_UID, "uid", "obj_uid"},
    {AUDIT_COMPARE_GID_TO_OBJ_GID, AUDIT_GID, AUDIT_OBJ_GID, "gid", "obj_gid"},
    {AUDIT_COMPARE_EUID_TO_OBJ_UID, AUDIT_EUID, AUDIT_OBJ_UID, "euid", "obj_uid"},
    {AUDIT_COMPARE_EGID_TO_OBJ_GID, AUDIT_EGID, AUDIT_OBJ_GID, "egid", "obj_gid"},
    {AUDIT_COMPARE_AUID_TO_OBJ_UID, AUDIT_LOGINUID, AUDIT_OBJ_UID, "auid", "obj_uid"},
    {AUDIT_COMPARE_SUID_TO_OBJ_UID, AUDIT_SUID, AUDIT_OBJ_UID, "suid", "obj_uid"},
    {AUDIT_COMPARE_SGID_TO_OBJ_GID, AUDIT_SGID, AUDIT_OBJ_GID, "sgid", "obj_gid"},
    {AUDIT_COMPARE_FSUID_TO_OBJ_UID, AUDIT_FSUID, AUDIT_OBJ_UID, "fsuid", "obj_uid"},
    {AUDIT_COMPARE_FSGID_TO_OBJ_GID, AUDIT_FSGID, AUDIT_OBJ_GID, "fsgid", "obj_gid"},
    {AUDIT_COMPARE_UID_TO_AUID, AUDIT_UID, AUDIT_LOGINUID, "uid", "auid"},
    {AUDIT_COMPARE_UID_TO_EUID, AUDIT_UID, AUDIT_EUID, "uid", "euid"},
    {AUDIT_COMPARE_UID_TO_FSUID, AUDIT_UID, AUDIT_FSUID, "uid", "fsuid"},
    {AUDIT_COMPARE_UID_TO_SUID, AUDIT_UID, AUDIT_SUID, "uid", "suid"},
    {AUDIT_COMPARE_AUID_TO_FSUID, AUDIT_LOGINUID, AUDIT_FSUID, "auid", "fsuid"},
    {AUDIT_COMPARE_AUID_TO_SUID, AUDIT_LOGINUID, AUDIT_SUID, "auid", "suid"},
    {AUDIT_COMPARE_AUID_TO_EUID, AUDIT_LOGINUID, AUDIT_EUID, "auid", "euid"},
    {AUDIT_COMPARE_EUID_TO_SUID, AUDIT_EUID, AUDIT_SUID, "euid", "suid"},
    {AUDIT_COMPARE_EUID_TO_FSUID, AUDIT_EUID, AUDIT_FSUID, "euid", "fsuid"},
    {AUDIT_COMPARE_SUID_TO_FSUID, AUDIT_SUID, AUDIT_FSUID, "suid", "fsuid"},
    {AUDIT_COMPARE_GID_TO_EGID, AUDIT_GID, AUDIT_EGID, "gid", "egid"},
    {AUDIT_COMPARE_GID_TO_FSGID, AUDIT_GID, AUDIT_FSGID, "gid", "fsgid"},
    {AUDIT_COMPARE_GID_TO_SGID, AUDIT_GID, AUDIT_SGID, "gid", "sgid"},
    {AUDIT_COMPARE_EGID_TO_FSGID, AUDIT_EGID, AUDIT_FSGID, "egid", "fsgid"},
    {AUDIT_COMPARE_EGID_TO_SGID, AUDIT_EGID, AUDIT_SGID, "egid", "sgid"},
    {AUDIT_COMPARE_SGID_TO_FSGID, AUDIT_SGID, AUDIT_FSGID, "sgid", "fsgid"},
};

const struct ar_comparedef *ar_compare_find(uint32_t left, uint32_t right)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(compares); i++)
        if ((compares[i].left == left && compares[i].right == right) ||
            (compares[i].left == right && compares[i].right == left))
            return &compares[i];
    return NULL;
}

const struct ar_comparedef *ar_compare_by_value(uint32_t value)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(compares); i++)
        if (compares[i].value == value)
            return &compares[i];
    return NULL;
}

static const struct ar_nameval filetypes[] = {
    {"file", S_IFREG},      {"dir", S_IFDIR},   {"socket", S_IFSOCK}, {"link", S_IFLNK},
    {"character", S_IFCHR}, {"block", S_IFBLK}, {"fifo", S_IFIFO},
};

/* The file systems libaudit names (fstypetab.h); others are given as numbers. */
static const struct ar_nameval fstypes[] = {
    {"debugfs", 0x64626720u},
    {"tracefs", 0x74726163u},
};

/* IORING_OP_* that the kernel audits (io_uring/opdef.c, audit_skip is false). */
static const struct ar_nameval uringops[] = {
    {"sendmsg", 9},     {"recvmsg", 10},  {"accept", 13},    {"connect", 16},  {"fallocate", 17},
    {"openat", 18},     {"close", 19},    {"openat2", 28},   {"shutdown", 34}, {"renameat", 35},
    {"unlinkat", 36},   {"mkdirat", 37},  {"symlinkat", 38}, {"linkat", 39},   {"msg_ring", 40},
    {"fsetxattr", 41},  {"setxattr", 42}, {"fgetxattr", 43}, {"getxattr", 44}, {"uring_cmd", 46},
    {"sendmsg_zc", 48},
};

static bool nameval_find(const struct ar_nameval *t, size_t n, const char *name, uint32_t *ret)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(t[i].name, name) == 0) {
            *ret = t[i].value;
            return true;
        }
    return false;
}

static const char *nameval_name(const struct ar_nameval *t, size_t n, uint32_t value)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == value)
            return t[i].name;
    return NULL;
}

bool ar_filetype_from_name(const char *name, uint32_t *ret)
{
    return nameval_find(filetypes, AR_ARRAY_SIZE(filetypes), name, ret);
}

bool ar_fstype_from_name(const char *name, uint32_t *ret)
{
    return nameval_find(fstypes, AR_ARRAY_SIZE(fstypes), name, ret);
}

const char *ar_fstype_name(uint32_t magic)
{
    return nameval_name(fstypes, AR_ARRAY_SIZE(fstypes), magic);
}

bool ar_uringop_from_name(const char *name, uint32_t *ret)
{
    return nameval_find(uringops, AR_ARRAY_SIZE(uringops), name, ret);
}

const char *ar_uringop_name(uint32_t op)
{
    return nameval_name(uringops, AR_ARRAY_SIZE(uringops), op);
}

/* Where libaudit 3.0.9 (what auditctl accepts and prints) names a syscall
 * differently from the kernel headers (measured by tests/unit/test_tables_vs_libaudit). */
static const struct ar_syscall_alias syscall_aliases[] = {
    {AUDIT_ARCH_X86_64, 17, "pread"},         {AUDIT_ARCH_X86_64, 18, "pwrite"},
    {AUDIT_ARCH_I386, 283, "sys_kexec_load"}, {AUDIT_ARCH_I386, 423, "sched_rr_get_interval64"},
    {AUDIT_ARCH_AARCH64, 61, "getdents"},     {AUDIT_ARCH_AARCH64, 67, "pread"},
    {AUDIT_ARCH_AARCH64, 68, "pwrite"},       {AUDIT_ARCH_AARCH64, 80, "newfstat"},
};

int ar_syscall_lookup(uint32_t audit_arch, const char *name)
{
    char lower[64];
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof(lower))
        return -ENOENT;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)tolower((unsigned char)name[i]);
    lower[len] = 0;
    int nr = ar_syscall_number(audit_arch, (struct ar_span){lower, len});
    if (nr != -ENOENT)
        return nr;
    for (size_t i = 0; i < AR_ARRAY_SIZE(syscall_aliases); i++)
        if (syscall_aliases[i].audit_arch == audit_arch &&
            strcmp(syscall_aliases[i].name, lower) == 0)
            return (int)syscall_aliases[i].nr;
    return -ENOENT;
}

const char *ar_syscall_print_name(uint32_t audit_arch, uint32_t nr)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(syscall_aliases); i++)
        if (syscall_aliases[i].audit_arch == audit_arch && syscall_aliases[i].nr == nr)
            return syscall_aliases[i].name;
    return ar_syscall_name(audit_arch, nr);
}

/* libaudit's machine table (machinetab.h): i386, x86_64, ppc64, ppc, s390x, s390,
 * arm (its "armeb" is AUDIT_ARCH_ARM), aarch64, ppc64le. */
static const uint32_t auditctl_arches[] = {
    AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, AUDIT_ARCH_PPC64,   AUDIT_ARCH_PPC,     AUDIT_ARCH_S390X,
    AUDIT_ARCH_S390, AUDIT_ARCH_ARM,    AUDIT_ARCH_AARCH64, AUDIT_ARCH_PPC64LE,
};

bool ar_arch_known_to_auditctl(uint32_t audit_arch)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(auditctl_arches); i++)
        if (auditctl_arches[i] == audit_arch)
            return true;
    return false;
}

/* A 64-bit machine and the 32-bit arch its compat syscalls report. */
static const struct {
    uint32_t b64, b32;
} arch_pairs[] = {
    {AUDIT_ARCH_X86_64, AUDIT_ARCH_I386},
    {AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM},
    {AUDIT_ARCH_PPC64, AUDIT_ARCH_PPC},
    {AUDIT_ARCH_S390X, AUDIT_ARCH_S390},
};

void ar_arch_pair(uint32_t machine, uint32_t *ret_b64, uint32_t *ret_b32)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(arch_pairs); i++)
        if (arch_pairs[i].b64 == machine || arch_pairs[i].b32 == machine) {
            /* A 32-bit machine has no b64 (libaudit refuses it too). */
            *ret_b64 = arch_pairs[i].b64 == machine ? machine : 0;
            *ret_b32 = arch_pairs[i].b32;
            return;
        }
    if (machine & __AUDIT_ARCH_64BIT) {
        *ret_b64 = machine;
        *ret_b32 = 0;
    } else {
        *ret_b64 = 0;
        *ret_b32 = machine;
    }
}

bool ar_rules_field_is_string(uint32_t field)
{
    switch (field) {
    case AUDIT_SUBJ_USER:
    case AUDIT_SUBJ_ROLE:
    case AUDIT_SUBJ_TYPE:
    case AUDIT_SUBJ_SEN:
    case AUDIT_SUBJ_CLR:
    case AUDIT_OBJ_USER:
    case AUDIT_OBJ_ROLE:
    case AUDIT_OBJ_TYPE:
    case AUDIT_OBJ_LEV_LOW:
    case AUDIT_OBJ_LEV_HIGH:
    case AUDIT_WATCH:
    case AUDIT_DIR:
    case AUDIT_FILTERKEY:
    case AUDIT_EXE:
        return true;
    default:
        return false;
    }
}
