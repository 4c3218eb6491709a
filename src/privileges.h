/* Least privilege: once the source runs and the outputs are open, the process keeps
 * only the capabilities they still need (libcap-ng) and drops every other one from
 * its effective, permitted, inheritable, ambient and bounding sets, so that a flaw
 * in the parsing of what the kernel or a log hands us cannot be turned into root's
 * full power. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Keeps the capabilities in `keep` (bits 1 << CAP_*) and drops the others. Returns
 * 0; 1 when there was nothing to drop (not privileged, e.g. an unprivileged
 * replay); -ENOTSUP when built without libcap-ng; another -errno with `why` set. */
int ar_keep_capabilities(uint64_t keep, char *why, size_t whylen);

/* "cap_audit_control, cap_audit_read" for the bits in `caps` ("none" when empty). */
void ar_capabilities_names(uint64_t caps, char *out, size_t outlen);
