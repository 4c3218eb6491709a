#include "audit/fieldclass.h"

#include <stdbool.h>

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
