#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if AR_HAVE_CAPNG
#include <cap-ng.h>
#endif
#include <linux/capability.h>

void ar_capabilities_names(uint64_t caps, char *out, size_t outlen)
{
    size_t k = 0;
    out[0] = '\0';
    for (unsigned c = 0; c <= CAP_LAST_CAP && c < 64; c++) {
        if (!(caps & (1ull << c)))
            continue;
#if AR_HAVE_CAPNG
        const char *name = capng_capability_to_name(c);
#else
        const char *name = NULL;
#endif
        char num[24];
        if (!name) {
            snprintf(num, sizeof(num), "%u", c);
            name = num;
        }
        int n = snprintf(out + k, outlen - k, "%scap_%s", k ? ", " : "", name);
        if (n < 0 || (size_t)n >= outlen - k)
            break;
        k += (size_t)n;
    }
    if (!k)
        snprintf(out, outlen, "none");
}

/* A name, else a number: "123" is a name first, as getpwnam(3) users expect. */
static bool parse_id(const char *s, unsigned long *ret)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v >= (unsigned long)(uid_t)-1)
        return false;
    *ret = v;
    return true;
}

int ar_identity_lookup(const char *spec, struct ar_identity *ret, char *why, size_t whylen)
{
    *ret = (struct ar_identity){0};
#if !AR_HAVE_CAPNG
    snprintf(why, whylen, "--user '%s': this build has no libcap-ng, which keeps the audit "
             "capabilities across the change of user (meson -Dcapng=enabled)", spec);
    return -EINVAL;
#endif
    char user[128];
    const char *colon = strchr(spec, ':');
    size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
    if (ulen == 0 || ulen >= sizeof(user) || (colon && !colon[1])) {
        snprintf(why, whylen, "--user wants USER or USER:GROUP, got '%s'", spec);
        return -EINVAL;
    }
    memcpy(user, spec, ulen);
    user[ulen] = '\0';
    unsigned long n;
    struct passwd *pw = getpwnam(user);
    if (!pw && parse_id(user, &n))
        pw = getpwuid((uid_t)n);
    if (pw) {
        ret->uid = pw->pw_uid;
        ret->gid = pw->pw_gid;
        snprintf(ret->name, sizeof(ret->name), "%s", pw->pw_name);
    } else if (parse_id(user, &n) && colon) {
        /* A uid nobody named: only with an explicit group, and no supplementary ones. */
        ret->uid = (uid_t)n;
        snprintf(ret->name, sizeof(ret->name), "#%lu", n);
    } else {
        snprintf(why, whylen, "--user: no user '%s' on this host%s", user,
                 parse_id(user, &n) ? " (a uid without a name needs :GROUP)" : "");
        return -EINVAL;
    }
    if (colon) {
        struct group *gr = getgrnam(colon + 1);
        if (!gr && parse_id(colon + 1, &n))
            ret->gid = (gid_t)n;
        else if (gr)
            ret->gid = gr->gr_gid;
        else {
            snprintf(why, whylen, "--user: no group '%s' on this host", colon + 1);
            return -EINVAL;
        }
    }
    if (ret->uid == 0) {
        snprintf(why, whylen, "--user '%s' is root: leave --user out to run as root", spec);
        return -EINVAL;
    }
    ret->ngroups = (int)(sizeof(ret->groups) / sizeof(ret->groups[0]));
    if (pw && getgrouplist(pw->pw_name, ret->gid, ret->groups, &ret->ngroups) < 0) {
        snprintf(why, whylen, "--user '%s': more than %zu groups", spec,
                 sizeof(ret->groups) / sizeof(ret->groups[0]));
        return -EINVAL;
    }
    if (!pw) {
        ret->groups[0] = ret->gid;
        ret->ngroups = 1;
    }
    ret->set = true;
    return 0;
}

/* Root's groups, put back by ar_identity_leave. */
static gid_t saved_groups[64];
static int nsaved_groups = -1;

int ar_identity_enter(const struct ar_identity *id)
{
    if (!id || !id->set)
        return 0;
    nsaved_groups = getgroups((int)(sizeof(saved_groups) / sizeof(saved_groups[0])),
                              saved_groups);
    if (nsaved_groups < 0 || setgroups((size_t)id->ngroups, id->groups) < 0 ||
        setegid(id->gid) < 0 || seteuid(id->uid) < 0) {
        int err = -errno;
        ar_identity_leave();
        return err;
    }
    return 0;
}

int ar_identity_leave(void)
{
    if (nsaved_groups < 0)
        return 0;
    /* Back to euid 0 first: the kernel gives the effective capabilities back from
     * the permitted set, and setegid/setgroups need them. */
    if (seteuid(0) < 0 || setegid(0) < 0 ||
        setgroups((size_t)nsaved_groups, saved_groups) < 0)
        return -errno;
    nsaved_groups = -1;
    return 0;
}

int ar_run_dir_prepare(const struct ar_identity *id, char *why, size_t whylen)
{
    if (mkdir(AR_RUN_DIR, 0755) < 0 && errno != EEXIST) {
        int err = errno;
        snprintf(why, whylen, "cannot create %s: %s", AR_RUN_DIR, strerror(err));
        return -err;
    }
    /* Whoever we run as rewrites the state files in it once its capabilities are
     * gone: root as the owner (without CAP_DAC_OVERRIDE), a --user run through its
     * group, 0775. Root keeps owning it, so that a root run beside a --user run (the
     * multicast unit beside the unicast one) does not take it away from the other. */
    bool user = id && id->set;
    struct stat st;
    if (lstat(AR_RUN_DIR, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "%s is not a directory", AR_RUN_DIR);
        return -ENOTDIR;
    }
    int r = 0;
    if (st.st_uid != 0 || (user && st.st_gid != id->gid))
        r = chown(AR_RUN_DIR, 0, user ? id->gid : (gid_t)-1);
    if (r == 0 && user && (st.st_mode & 07777) != 0775)
        r = chmod(AR_RUN_DIR, 0775);
    if (r < 0 && user) {
        int err = errno;
        snprintf(why, whylen, "cannot let %s write %s: %s", id->name, AR_RUN_DIR,
                 strerror(err));
        return -err;
    }
    return 0; /* not root (a test): the files say so when they are written */
}

int ar_keep_capabilities(uint64_t keep, const struct ar_identity *as, char *why, size_t whylen)
{
#if AR_HAVE_CAPNG
    capng_get_caps_process();
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
        return 1;
    capng_clear(CAPNG_SELECT_ALL);
    for (unsigned c = 0; c <= CAP_LAST_CAP && c < 64; c++)
        if ((keep & (1ull << c)) &&
            capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
                         c) < 0) {
            snprintf(why, whylen, "libcap-ng cannot keep capability %u", c);
            return -EINVAL;
        }
    int r;
    if (as && as->set) {
        /* The bounding set while CAP_SETPCAP is ours; then the user and groups for
         * good, the kept capabilities carried across (PR_SET_KEEPCAPS). */
        if ((r = capng_apply(CAPNG_SELECT_BOUNDS)) < 0) {
            snprintf(why, whylen, "cannot reduce the bounding set (libcap-ng error %d)", r);
            return -EPERM;
        }
        if (setgroups((size_t)as->ngroups, as->groups) < 0) {
            snprintf(why, whylen, "cannot take %s's groups: %s", as->name, strerror(errno));
            return -EPERM;
        }
        if ((r = capng_change_id((int)as->uid, (int)as->gid, CAPNG_NO_FLAG)) < 0) {
            snprintf(why, whylen, "cannot become %s (libcap-ng capng_change_id error %d)",
                     as->name, r);
            return -EPERM;
        }
    } else if ((r = capng_apply(CAPNG_SELECT_ALL)) < 0) {
        /* Bounding set first (needs CAP_SETPCAP, which goes with the rest). */
        snprintf(why, whylen, "cannot drop capabilities (libcap-ng error %d)", r);
        return -EPERM;
    }
    /* Without CAP_SETPCAP (a unit's CapabilityBoundingSet= that lacks it) libcap-ng
     * leaves the bounding set as it was and says nothing: check. */
    capng_get_caps_process();
    for (unsigned c = 0; c <= CAP_LAST_CAP && c < 64; c++)
        if (!(keep & (1ull << c)) && capng_have_capability(CAPNG_BOUNDING_SET, c)) {
            snprintf(why, whylen, "capabilities dropped, but the bounding set still holds "
                     "cap_%s and others (CAP_SETPCAP is needed to reduce it)",
                     capng_capability_to_name(c) ? capng_capability_to_name(c) : "?");
            return -EPERM;
        }
    return 0;
#else
    (void)keep;
    (void)as;
    snprintf(why, whylen, "built without libcap-ng: capabilities are not dropped");
    return -ENOTSUP;
#endif
}
