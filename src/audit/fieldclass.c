#include "audit/fieldclass.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct field_entry {
    const char *name;
    uint8_t len;
    struct ar_field_info info;
};

#define F(n, c, s) {n, sizeof(n) - 1, {c, s}}

static const struct field_entry fields[] = {
    F("acct", AR_FC_ESCAPED, AR_FN_ACCT),
    F("addr", AR_FC_NONE, AR_FN_ADDR),
    F("arch", AR_FC_ARCH, AR_FN_ARCH),
    F("argc", AR_FC_NONE, AR_FN_ARGC),
    F("auid", AR_FC_UID, AR_FN_AUID),
    F("cap_fi", AR_FC_TEXT, AR_FN_OTHER),
    F("cap_fp", AR_FC_TEXT, AR_FN_OTHER),
    F("cap_fver", AR_FC_TEXT, AR_FN_OTHER),
    F("cap_frootid", AR_FC_TEXT, AR_FN_OTHER),
    F("cap_pa", AR_FC_TEXT, AR_FN_OTHER),
    F("cap_pe", AR_FC_TEXT, AR_FN_OTHER),
    F("cap_pi", AR_FC_TEXT, AR_FN_OTHER),
    F("cap_pp", AR_FC_TEXT, AR_FN_OTHER),
    F("cmd", AR_FC_ESCAPED, AR_FN_OTHER),
    /* BPRM_FCAPS and CAPSET capability masks are hex without a prefix. */
    F("fe", AR_FC_TEXT, AR_FN_OTHER),
    F("fi", AR_FC_TEXT, AR_FN_OTHER),
    F("fp", AR_FC_TEXT, AR_FN_OTHER),
    F("fver", AR_FC_TEXT, AR_FN_OTHER),
    F("frootid", AR_FC_TEXT, AR_FN_OTHER),
    F("old_pa", AR_FC_TEXT, AR_FN_OTHER),
    F("old_pe", AR_FC_TEXT, AR_FN_OTHER),
    F("old_pi", AR_FC_TEXT, AR_FN_OTHER),
    F("old_pp", AR_FC_TEXT, AR_FN_OTHER),
    F("pa", AR_FC_TEXT, AR_FN_OTHER),
    F("new_pa", AR_FC_TEXT, AR_FN_OTHER),
    F("new_pe", AR_FC_TEXT, AR_FN_OTHER),
    F("new_pi", AR_FC_TEXT, AR_FN_OTHER),
    F("new_pp", AR_FC_TEXT, AR_FN_OTHER),
    F("pe", AR_FC_TEXT, AR_FN_OTHER),
    F("pi", AR_FC_TEXT, AR_FN_OTHER),
    F("pp", AR_FC_TEXT, AR_FN_OTHER),
    F("cap_fe", AR_FC_TEXT, AR_FN_OTHER),
    F("comm", AR_FC_ESCAPED, AR_FN_COMM),
    F("cwd", AR_FC_ESCAPED, AR_FN_CWD),
    F("data", AR_FC_ESCAPED, AR_FN_OTHER),
    F("dir", AR_FC_ESCAPED, AR_FN_OTHER),
    F("egid", AR_FC_GID, AR_FN_OTHER),
    F("euid", AR_FC_UID, AR_FN_OTHER),
    F("exe", AR_FC_ESCAPED, AR_FN_EXE),
    F("exit", AR_FC_EXIT, AR_FN_EXIT),
    F("file", AR_FC_ESCAPED, AR_FN_OTHER),
    F("fsgid", AR_FC_GID, AR_FN_OTHER),
    F("fsuid", AR_FC_UID, AR_FN_OTHER),
    F("gid", AR_FC_GID, AR_FN_OTHER),
    F("grp", AR_FC_ESCAPED, AR_FN_OTHER),
    F("hostname", AR_FC_NONE, AR_FN_HOSTNAME),
    F("id", AR_FC_UID, AR_FN_OTHER),
    F("igid", AR_FC_GID, AR_FN_OTHER),
    F("inode_gid", AR_FC_GID, AR_FN_OTHER),
    F("inode_uid", AR_FC_UID, AR_FN_OTHER),
    F("iuid", AR_FC_UID, AR_FN_OTHER),
    F("key", AR_FC_KEY, AR_FN_KEY),
    F("loginuid", AR_FC_UID, AR_FN_OTHER),
    F("mode", AR_FC_MODE, AR_FN_OTHER),
    F("name", AR_FC_ESCAPED, AR_FN_NAME),
    F("new-auid", AR_FC_UID, AR_FN_OTHER),
    F("new-gid", AR_FC_GID, AR_FN_OTHER),
    F("new_gid", AR_FC_GID, AR_FN_OTHER),
    F("new_group", AR_FC_ESCAPED, AR_FN_OTHER),
    F("oauid", AR_FC_UID, AR_FN_OTHER),
    F("obj_gid", AR_FC_GID, AR_FN_OTHER),
    F("obj_uid", AR_FC_UID, AR_FN_OTHER),
    F("ocomm", AR_FC_ESCAPED, AR_FN_OTHER),
    F("ogid", AR_FC_GID, AR_FN_OTHER),
    F("old-auid", AR_FC_UID, AR_FN_OTHER),
    F("old-loginuid", AR_FC_UID, AR_FN_OTHER),
    F("old_group", AR_FC_ESCAPED, AR_FN_OTHER),
    F("old-ses", AR_FC_SESSION, AR_FN_OTHER),
    F("new-ses", AR_FC_SESSION, AR_FN_OTHER),
    F("op", AR_FC_NONE, AR_FN_OP),
    F("ouid", AR_FC_UID, AR_FN_OTHER),
    F("path", AR_FC_ESCAPED, AR_FN_OTHER),
    F("pid", AR_FC_NONE, AR_FN_PID),
    F("ppid", AR_FC_NONE, AR_FN_PPID),
    F("proctitle", AR_FC_PROCTITLE, AR_FN_PROCTITLE),
    F("res", AR_FC_TEXT, AR_FN_RES),
    F("saddr", AR_FC_SADDR, AR_FN_SADDR),
    F("sauid", AR_FC_UID, AR_FN_OTHER),
    F("ses", AR_FC_SESSION, AR_FN_SES),
    F("sgid", AR_FC_GID, AR_FN_OTHER),
    F("success", AR_FC_NONE, AR_FN_SUCCESS),
    F("suid", AR_FC_UID, AR_FN_OTHER),
    F("syscall", AR_FC_SYSCALL, AR_FN_SYSCALL),
    F("terminal", AR_FC_NONE, AR_FN_TERMINAL),
    F("tty", AR_FC_NONE, AR_FN_TTY),
    F("uid", AR_FC_UID, AR_FN_UID),
    F("watch", AR_FC_ESCAPED, AR_FN_OTHER),
};

/* Open addressing on a cheap hash of length and three bytes; filled on first use.
 * Field names are looked up tens of millions of times in a large replay. */
#define SLOTS 512
static const struct field_entry *table[SLOTS];

static inline uint32_t hash_name(const char *p, size_t len)
{
    uint32_t h = (uint32_t)len * 97u + (unsigned char)p[0] * 31u +
                 (unsigned char)p[len - 1] * 7u + (unsigned char)p[len / 2];
    return h & (SLOTS - 1);
}

/* Built before main() so that encoders on several threads only ever read it. */
__attribute__((constructor)) static void build_table(void)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(fields); i++) {
        uint32_t h = hash_name(fields[i].name, fields[i].len);
        while (table[h])
            h = (h + 1) & (SLOTS - 1);
        table[h] = &fields[i];
    }
}

struct ar_field_info ar_field_info_of(struct ar_span name)
{
    if (name.len == 0 || name.len > 16)
        return (struct ar_field_info){0, 0};
    for (uint32_t h = hash_name(name.p, name.len); table[h]; h = (h + 1) & (SLOTS - 1)) {
        const struct field_entry *e = table[h];
        if (e->len != name.len)
            continue;
        size_t i = 0;
        while (i < name.len && e->name[i] == name.p[i])
            i++;
        if (i == name.len)
            return e->info;
    }
    return (struct ar_field_info){0, 0};
}

/* Field names audit records carry that the table above gives no class. With it,
 * the names a filter may name (filter/compile.c refuses others: a mistyped name
 * would match nothing, silently). From the kernel's records, libauparse's field
 * type table and the corpora (tests/replay/test_filters.py holds every name in
 * fixtures/corpora to it). Sorted as strcmp sorts: bsearch. */
static const char *const other_names[] = {
    "abs_timeout_nsec", "abs_timeout_sec", "action", "anonclass", "apparmor",
    "audit_backlog_limit", "audit_backlog_wait_time", "audit_enabled", "audit_failure",
    "audit_pid", "audit_rate_limit", "auditd-pid", "bool", "btest", "bytes", "capability",
    "category", "cause", "cgroup", "cipher", "cipso_doi", "cipso_type", "class", "code",
    "compat", "daddr", "default-context", "denied", "denied_mask", "dest", "dev", "device",
    "digest", "direction", "dport", "dst", "dst_prefixlen", "enabled", "enforcing", "entries",
    "errno", "error", "faddr", "family", "fan_info", "fan_type", "fd", "fd0", "fd1", "feature",
    "flags", "format", "fport", "fsmagic", "gpg_res", "grantors", "hash", "hash_algo", "hook",
    "ibendport", "ibpkey", "icmptype", "img-ctx", "info", "ino", "inode", "invalid_context",
    "ioctlcmd", "ip", "ipid", "item", "items", "k", "kernel", "key_desc", "key_enforce", "kind",
    "kmod", "ksize", "laddr", "list", "lockdown_reason", "lport", "lsm", "mac", "macproto",
    "major", "mark", "minor", "model", "mq_curmsgs", "mq_flags", "mq_maxmsg", "mq_msgsize",
    "mqdes", "msg", "msg_len", "msg_prio", "nametype", "nargs", "netif", "netlabel", "new",
    "new-chardev", "new-disk", "new-fs", "new-level", "new-net", "new-range", "new-rng",
    "new-role", "new-seuser", "new_lock", "nl-mcgrp", "nsec", "obj", "obj_trust", "objtype",
    "oflag", "old", "old-chardev", "old-disk", "old-enabled", "old-fs", "old-level", "old-net",
    "old-range", "old-rng", "old-role", "old-seuser", "old_enforcing", "old_lock", "old_prom",
    "old_val", "operation", "opid", "oses", "peer", "peer_addr", "peer_label", "per", "perm",
    "perm_mask", "permissive", "pfs", "pkey", "port", "profile", "prog-id", "prom", "proto",
    "protocol", "qbytes", "range", "rdev", "reason", "regex", "requested", "requested_mask",
    "resolve", "resp", "resrc", "result", "role", "root_dir", "rport", "scontext", "sec",
    "sec_obj", "selected-context", "seqno", "seuser", "sig", "sigev_signo", "signal",
    "sock_type", "source", "spid", "sport", "srawcon", "src", "src_prefixlen", "srcname",
    "state", "subj", "subj_apparmor", "subj_trust", "subnet_prefix", "sw", "sw_type", "table",
    "target", "tclass", "tcontext", "trawcon", "unit", "unlbl_accept", "uring_op", "uuid",
    "val", "ver", "vm", "vm-ctx", "vm-pid",
};

static int cmp_name(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

/* EXECVE's a0, a1... and their aN_len (SYSCALL's a0-a3 too). */
static bool is_arg_name(struct ar_span name)
{
    if (name.len < 2 || name.p[0] != 'a')
        return false;
    size_t i = 1;
    while (i < name.len && name.p[i] >= '0' && name.p[i] <= '9')
        i++;
    return i > 1 && (i == name.len || (name.len - i == 4 && memcmp(name.p + i, "_len", 4) == 0));
}

bool ar_field_name_known(struct ar_span name)
{
    char key[64];
    if (name.len == 0 || name.len >= sizeof(key))
        return false;
    for (size_t i = 0; i < AR_ARRAY_SIZE(fields); i++)
        if (fields[i].len == name.len && memcmp(fields[i].name, name.p, name.len) == 0)
            return true;
    memcpy(key, name.p, name.len);
    key[name.len] = 0;
    return is_arg_name(name) ||
           bsearch(key, other_names, AR_ARRAY_SIZE(other_names), sizeof(other_names[0]),
                   cmp_name) != NULL;
}

const char *ar_field_name_at(size_t i)
{
    if (i < AR_ARRAY_SIZE(fields))
        return fields[i].name;
    i -= AR_ARRAY_SIZE(fields);
    return i < AR_ARRAY_SIZE(other_names) ? other_names[i] : NULL;
}
