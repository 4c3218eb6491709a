/* Static tables of the rule language: filter lists, fields, operators, -C
 * comparisons, file types, file system types, io_uring operations, and the few
 * syscall names where libaudit (auditctl) differs from the kernel headers that
 * audit/tables.h is generated from. Internal to src/rules. All strings static. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/audit.h>
#include "rules/rules.h" /* AUDIT_FILTER_FS, AUDIT_FILTER_URING_EXIT */


/* The filter list of a rule's flags (the kernel's listnr: flags without
 * AUDIT_FILTER_PREPEND). */
#define AR_RULE_LIST(flags) ((flags) & ~(uint32_t)AUDIT_FILTER_PREPEND)

/* Bit for filter list number n (AUDIT_FILTER_*), for "allowed on" masks. */
#define AR_LIST_BIT(n) (1u << (n))

/* What a list accepts. */
struct ar_listdef {
    const char *name; /* as auditctl spells it (-a always,exit) */
    uint32_t nr;      /* AUDIT_FILTER_* */
    bool syscalls;    /* takes -S (exit: syscalls; io_uring: io_uring operations) */
};

/* How a field's value is written and checked. */
enum ar_field_kind {
    AR_FK_UID,       /* number, -number, "unset", user name */
    AR_FK_GID,       /* number or group name */
    AR_FK_NUMBER,    /* unsigned number (pid, ppid, pers, devmajor, success...) */
    AR_FK_INODE,     /* unsigned number, = and != only */
    AR_FK_EXIT,      /* number, -number, errno name, -errno name */
    AR_FK_MSGTYPE,   /* number or record type name */
    AR_FK_STRING,    /* LSM labels, exe */
    AR_FK_KEY,       /* -F key=: joins the rule's keys */
    AR_FK_WATCH,     /* -F path= (AUDIT_WATCH) */
    AR_FK_DIR,       /* -F dir= (AUDIT_DIR) */
    AR_FK_ARCH,      /* b64, b32, arch name or AUDIT_ARCH_* number */
    AR_FK_PERM,      /* letters from rwxa */
    AR_FK_FILETYPE,  /* file, dir, socket, link, character, block, fifo */
    AR_FK_FSTYPE,    /* debugfs, tracefs or a magic number */
    AR_FK_ARG,       /* a0..a3: 32-bit number, may be negative */
    AR_FK_SESSIONID, /* number, -number, "unset" */
    AR_FK_SADDR_FAM, /* address family number below AF_MAX */
};

/* Operator bits for "allowed" masks (index into ar_optab). */
enum {
    AR_OPB_EQ = 1u << 0,
    AR_OPB_NE = 1u << 1,
    AR_OPB_LT = 1u << 2,
    AR_OPB_GT = 1u << 3,
    AR_OPB_LE = 1u << 4,
    AR_OPB_GE = 1u << 5,
    AR_OPB_AND = 1u << 6,   /* & (AUDIT_BIT_MASK) */
    AR_OPB_ANDEQ = 1u << 7, /* &= (AUDIT_BIT_TEST) */
};
#define AR_OPS_EQNE (AR_OPB_EQ | AR_OPB_NE)
#define AR_OPS_CMP (AR_OPS_EQNE | AR_OPB_LT | AR_OPB_GT | AR_OPB_LE | AR_OPB_GE)
#define AR_OPS_ALL (AR_OPS_CMP | AR_OPB_AND | AR_OPB_ANDEQ)

struct ar_opdef {
    const char *symbol;
    uint32_t flag; /* AUDIT_EQUAL... as the kernel takes it in fieldflags */
    uint32_t bit;  /* AR_OPB_* */
};

struct ar_fielddef {
    const char *name;
    uint32_t id;    /* AUDIT_* field number */
    uint8_t kind;   /* enum ar_field_kind */
    uint8_t ops;    /* AR_OPB_* the kernel accepts for it (auditfilter.c) */
    uint16_t lists; /* AR_LIST_BIT() of the lists it may appear on */
};

/* -C comparisons: value AUDIT_COMPARE_*, the two fields, printed as left op right. */
struct ar_comparedef {
    uint32_t value;
    uint32_t left, right;
    const char *left_name, *right_name;
};

struct ar_nameval {
    const char *name;
    uint32_t value;
};

/* libaudit's name for a syscall number where it differs from the kernel header's. */
struct ar_syscall_alias {
    uint32_t audit_arch;
    uint32_t nr;
    const char *name;
};

const struct ar_listdef *ar_list_by_name(const char *name);
const struct ar_listdef *ar_list_by_nr(uint32_t nr);

/* Operators in the order auditctl looks for them in "field<op>value" (two-character
 * ones first): the first one found anywhere in the text wins. */
extern const struct ar_opdef ar_optab[];
extern const size_t ar_optab_count;
const struct ar_opdef *ar_op_by_flag(uint32_t flag);

const struct ar_fielddef *ar_field_by_name(const char *name);
/* The name auditctl prints for a field number ("auid" for AUDIT_LOGINUID), NULL if
 * it has none. */
const struct ar_fielddef *ar_field_by_id(uint32_t id);

const struct ar_comparedef *ar_compare_find(uint32_t left, uint32_t right);
const struct ar_comparedef *ar_compare_by_value(uint32_t value);

bool ar_filetype_from_name(const char *name, uint32_t *ret);
bool ar_fstype_from_name(const char *name, uint32_t *ret);
const char *ar_fstype_name(uint32_t magic);

/* io_uring operations that the kernel audits (IORING_OP_*). */
bool ar_uringop_from_name(const char *name, uint32_t *ret);
const char *ar_uringop_name(uint32_t op);

/* Syscall number for a name on an arch, accepting both the kernel's and libaudit's
 * spellings, any letter case. >= 0, -ENOENT unknown, -EAFNOSUPPORT no table. */
int ar_syscall_lookup(uint32_t audit_arch, const char *name);
/* The name auditctl prints for a syscall number (libaudit's spelling), NULL if
 * unknown or the arch has no table. */
const char *ar_syscall_print_name(uint32_t audit_arch, uint32_t nr);

/* Arches auditctl itself knows (libaudit's machine table): the ones it prints as
 * b64/b32 in listings. */
bool ar_arch_known_to_auditctl(uint32_t audit_arch);
/* The 64-bit and 32-bit arches that b64 and b32 name on `machine`; 0 where none. */
void ar_arch_pair(uint32_t machine, uint32_t *ret_b64, uint32_t *ret_b32);
