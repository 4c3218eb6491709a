/* Small helpers the transports share: option lists and sizes. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* One "name=value" of an "a=1&b=2" option list, NUL-terminated copies. */
struct ar_option {
    char name[64];
    char value[256];
};

#define AR_OPTION_IS(o, lit) (strcmp((o)->name, (lit)) == 0)

/* Takes the next option from *rest (advancing it); false at the end. */
bool ar_option_next(const char **rest, struct ar_option *ret);

/* "100M", "4k", "1G", "1T", "123": bytes. Returns 0 or -EINVAL. */
int ar_parse_size(const char *s, uint64_t *ret);

/* Splits "host:port" or "[v6]:port"; returns 0 or -EINVAL. */
int ar_split_host_port(const char *target, char *host, size_t hostlen, char *port, size_t portlen);
