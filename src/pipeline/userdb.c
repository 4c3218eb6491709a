/* The host's user database: getpwuid_r and getgrgid_r (NSS: files, LDAP, sssd...),
 * the resolver the pipeline hands the pure core's id cache (enrich/ids.h). */
#include "pipeline/userdb.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>

int ar_userdb_lookup(enum ar_id_kind kind, uint32_t id, char *buf, size_t size)
{
    char scratch[4096];
    const char *name = NULL;
    if (kind == AR_ID_USER) {
        struct passwd pw, *res = NULL;
        if (getpwuid_r(id, &pw, scratch, sizeof(scratch), &res) == 0 && res)
            name = res->pw_name;
    } else {
        struct group gr, *res = NULL;
        if (getgrgid_r(id, &gr, scratch, sizeof(scratch), &res) == 0 && res)
            name = res->gr_name;
    }
    if (!name)
        return -ENOENT;
    size_t len = strlen(name);
    if (len >= size)
        return -ENAMETOOLONG;
    memcpy(buf, name, len + 1);
    return (int)len;
}
