#include "enrich/fieldclass.h"

struct field_entry {
    const char *name;
    enum ar_field_class cls;
};

static const struct field_entry fields[] = {
    {"acct", AR_FC_ESCAPED},
    {"arch", AR_FC_ARCH},
    {"auid", AR_FC_UID},
    {"cmd", AR_FC_ESCAPED},
    {"comm", AR_FC_ESCAPED},
    {"cwd", AR_FC_ESCAPED},
    {"data", AR_FC_ESCAPED},
    {"dir", AR_FC_ESCAPED},
    {"egid", AR_FC_GID},
    {"euid", AR_FC_UID},
    {"exe", AR_FC_ESCAPED},
    {"exit", AR_FC_EXIT},
    {"file", AR_FC_ESCAPED},
    {"fsgid", AR_FC_GID},
    {"fsuid", AR_FC_UID},
    {"gid", AR_FC_GID},
    {"grp", AR_FC_ESCAPED},
    {"id", AR_FC_UID},
    {"igid", AR_FC_GID},
    {"inode_gid", AR_FC_GID},
    {"inode_uid", AR_FC_UID},
    {"iuid", AR_FC_UID},
    {"key", AR_FC_KEY},
    {"loginuid", AR_FC_UID},
    {"mode", AR_FC_MODE},
    {"name", AR_FC_ESCAPED},
    {"new-auid", AR_FC_UID},
    {"new-gid", AR_FC_GID},
    {"new_gid", AR_FC_GID},
    {"new_group", AR_FC_ESCAPED},
    {"oauid", AR_FC_UID},
    {"obj_gid", AR_FC_GID},
    {"obj_uid", AR_FC_UID},
    {"ocomm", AR_FC_ESCAPED},
    {"ogid", AR_FC_GID},
    {"old-auid", AR_FC_UID},
    {"old-loginuid", AR_FC_UID},
    {"old_group", AR_FC_ESCAPED},
    {"ouid", AR_FC_UID},
    {"path", AR_FC_ESCAPED},
    {"proctitle", AR_FC_PROCTITLE},
    {"saddr", AR_FC_SADDR},
    {"sauid", AR_FC_UID},
    {"ses", AR_FC_SESSION},
    {"sgid", AR_FC_GID},
    {"suid", AR_FC_UID},
    {"syscall", AR_FC_SYSCALL},
    {"uid", AR_FC_UID},
    {"watch", AR_FC_ESCAPED},
};

/* Open addressing over a power-of-two table, filled on first use; field names are
 * looked up tens of millions of times per large replay. */
#define SLOTS 256
static const struct field_entry *table[SLOTS];
static bool table_ready;

static uint32_t hash_name(const char *p, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static void build_table(void)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(fields); i++) {
        uint32_t h = hash_name(fields[i].name, strlen(fields[i].name)) & (SLOTS - 1);
        while (table[h])
            h = (h + 1) & (SLOTS - 1);
        table[h] = &fields[i];
    }
    table_ready = true;
}

enum ar_field_class ar_field_class_of(struct ar_span name)
{
    if (!table_ready)
        build_table();
    if (name.len == 0 || name.len > 16)
        return AR_FC_NONE;
    for (uint32_t h = hash_name(name.p, name.len) & (SLOTS - 1); table[h]; h = (h + 1) & (SLOTS - 1)) {
        const char *n = table[h]->name;
        if (strncmp(n, name.p, name.len) == 0 && n[name.len] == '\0')
            return table[h]->cls;
    }
    return AR_FC_NONE;
}
