#include "outputs/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ar_option_next(const char **rest, struct ar_option *ret)
{
    const char *p = *rest;
    while (*p == '&')
        p++;
    if (!*p)
        return false;
    const char *amp = strchr(p, '&');
    const char *end = amp ? amp : p + strlen(p);
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *name_end = eq ? eq : end;
    snprintf(ret->name, sizeof(ret->name), "%.*s", (int)(name_end - p), p);
    if (eq)
        snprintf(ret->value, sizeof(ret->value), "%.*s", (int)(end - eq - 1), eq + 1);
    else
        ret->value[0] = '\0';
    *rest = end;
    return true;
}

int ar_parse_size(const char *s, uint64_t *ret)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -EINVAL; /* strtoull would take "-1" and " 5" */
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end || v > (UINT64_MAX >> shift))
        return -EINVAL;
    *ret = (uint64_t)v << shift;
    return 0;
}

int ar_split_host_port(const char *target, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    if (target[0] == '[') {
        const char *close = strchr(target, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        snprintf(host, hostlen, "%.*s", (int)(close - target - 1), target + 1);
        colon = close + 1;
    } else {
        colon = strrchr(target, ':');
        if (!colon)
            return -EINVAL;
        snprintf(host, hostlen, "%.*s", (int)(colon - target), target);
    }
    snprintf(port, portlen, "%s", colon + 1);
    if (!*host || !*port)
        return -EINVAL;
    /* A port number, 1..65535: a typo must not become a service lookup at send time. */
    char *end;
    unsigned long n = strtoul(port, &end, 10);
    if (*end || n == 0 || n > 65535 || port[0] < '1' || port[0] > '9')
        return -EINVAL;
    return 0;
}
