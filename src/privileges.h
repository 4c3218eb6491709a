/* Least privilege: once the source runs and the outputs are open, the process keeps
 * only the capabilities they still need (libcap-ng) and drops every other one from
 * its effective, permitted, inheritable, ambient and bounding sets, so that a flaw
 * in the parsing of what the kernel or a log hands us cannot be turned into root's
 * full power. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where the collector keeps what must outlive a crash or tell others about it: the
 * state files that put the kernel back, the metrics listener's address. The
 * collector creates it at start, owned by root; with --user it is made writable by
 * the user's group (0775), as the user rewrites and removes those files after root
 * is gone. */
#define AR_RUN_DIR "/run/auditrelay"

/* The user and groups of --user USER[:GROUP]. */
struct ar_identity {
    bool set;            /* false: stay root */
    uid_t uid;
    gid_t gid;           /* GROUP, else the user's primary group */
    char name[64];       /* the user's name ("#UID" when not in the user database) */
    gid_t groups[64];    /* supplementary groups: the user's, from the group database */
    int ngroups;
};

/* Looks USER[:GROUP] up (names or numbers). Returns 0, or -EINVAL with `why` set
 * (unknown user or group, root itself, too many groups). */
int ar_identity_lookup(const char *spec, struct ar_identity *ret, char *why, size_t whylen);

/* Until ar_identity_leave, files and sockets are opened with the user's rights and
 * owned by it (effective ids and groups only; root's effective capabilities are
 * gone meanwhile, so the kernel checks access as it will after the switch): the
 * outputs open this way, so what they create belongs to the user and a place it
 * cannot write fails at start, not at the first rotation. Returns 0 or -errno. */
int ar_identity_enter(const struct ar_identity *id);
int ar_identity_leave(void);

/* Creates AR_RUN_DIR (0755) when missing, owned by root; with `id` set, group `id`'s
 * and 0775. Returns 0 or -errno with `why` set. */
int ar_run_dir_prepare(const struct ar_identity *id, char *why, size_t whylen);

/* Keeps the capabilities in `keep` (bits 1 << CAP_*) and drops the others; with
 * `as` set (not NULL, as->set), becomes that user and its groups for good, keeping
 * the same capabilities (libcap-ng's capng_change_id). Returns 0; 1 when there was
 * nothing to drop (not privileged, e.g. an unprivileged replay); -ENOTSUP when
 * built without libcap-ng; another -errno with `why` set. */
int ar_keep_capabilities(uint64_t keep, const struct ar_identity *as, char *why, size_t whylen);

/* "cap_audit_control, cap_audit_read" for the bits in `caps` ("none" when empty). */
void ar_capabilities_names(uint64_t caps, char *out, size_t outlen);
