#include "privileges.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int ar_keep_capabilities(uint64_t keep, char *why, size_t whylen)
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
    /* Bounding set first (needs CAP_SETPCAP, which goes with the rest). */
    int r = capng_apply(CAPNG_SELECT_ALL);
    if (r < 0) {
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
    snprintf(why, whylen, "built without libcap-ng: capabilities are not dropped");
    return -ENOTSUP;
#endif
}
