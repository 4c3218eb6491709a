/* The output formats: adding one is a file in this folder with its
 * `const struct ar_format_ops` and a line here. */
#include <string.h>

#include "encode/format.h"

extern const struct ar_format_ops ar_format_json, ar_format_goaudit, ar_format_raw,
    ar_format_enriched, ar_format_ecs;

const struct ar_format_ops *const ar_formats[] = {
    &ar_format_json, /* the default */
    &ar_format_goaudit,
    &ar_format_raw,
    &ar_format_enriched,
    &ar_format_ecs,
    NULL,
};

const struct ar_format_ops *ar_format_find(const char *name)
{
    for (size_t i = 0; ar_formats[i]; i++)
        if (strcmp(ar_formats[i]->name, name) == 0)
            return ar_formats[i];
    return NULL;
}
