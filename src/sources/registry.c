/* The sources: adding one is a folder (or file) under sources/ and a line here. */
#include <string.h>

#include "sources/source.h"

extern const struct ar_source_ops ar_source_unicast, ar_source_multicast, ar_source_tracepoint,
    ar_source_replay;

const struct ar_source_ops *const ar_sources[] = {
    &ar_source_unicast,
    &ar_source_multicast,
    &ar_source_tracepoint,
    &ar_source_replay,
    NULL,
};

const struct ar_source_ops *ar_source_find(const char *name)
{
    for (size_t i = 0; ar_sources[i]; i++)
        if (strcmp(ar_sources[i]->name, name) == 0)
            return ar_sources[i];
    return NULL;
}
