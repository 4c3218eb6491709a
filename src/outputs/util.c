#include "outputs/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Both fields come first in every event (timestamp, serial, node); a bounded look
 * keeps a long line's body out of the search. */
#define LINE_HEAD 160

/* auditd's log lines (--format raw|enriched): "[node=N ]type=T msg=audit(SEC.MS:". */
static bool auditd_line_time(const char *line, size_t len, uint64_t *ret_sec, uint32_t *ret_ms)
{
    const char *key = memmem(line, len < LINE_HEAD ? len : LINE_HEAD, " msg=audit(", 11);
    if (!key)
        return false;
    const char *v = key + 11;
    char *dot;
    unsigned long long sec = strtoull(v, &dot, 10);
    if (dot == v || *dot != '.' || dot + 4 > line + len)
        return false;
    *ret_sec = sec;
    *ret_ms = (uint32_t)strtoul(dot + 1, NULL, 10);
    return true;
}

bool ar_line_event_time(const char *line, size_t len, uint64_t *ret_sec, uint32_t *ret_ms)
{
    const char *key = memmem(line, len < LINE_HEAD ? len : LINE_HEAD, "\"timestamp\":\"", 13);
    if (!key)
        return auditd_line_time(line, len, ret_sec, ret_ms);
    const char *v = key + 13, *end = line + len;
    if (end - v >= 24 && v[4] == '-' && v[10] == 'T' && v[23] == 'Z') {
        char iso[25];
        memcpy(iso, v, 24);
        iso[24] = '\0';
        struct tm tm = {0};
        if (!strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm))
            return false;
        *ret_sec = (uint64_t)timegm(&tm);
        *ret_ms = (uint32_t)strtoul(iso + 20, NULL, 10);
        return true;
    }
    char *dot;
    unsigned long long sec = strtoull(v, &dot, 10);
    if (dot == v || *dot != '.')
        return false;
    *ret_sec = sec;
    *ret_ms = (uint32_t)strtoul(dot + 1, NULL, 10);
    return true;
}

bool ar_line_node(const char *line, size_t len, const char **ret, size_t *ret_len)
{
    if (len > 5 && memcmp(line, "node=", 5) == 0) {
        /* auditd's log lines: "node=N type=..." */
        const char *sp = memchr(line + 5, ' ', len - 5);
        if (!sp)
            return false;
        *ret = line + 5;
        *ret_len = (size_t)(sp - line - 5);
        return true;
    }
    const char *key = memmem(line, len < LINE_HEAD ? len : LINE_HEAD, ",\"node\":\"", 9);
    if (!key)
        return false;
    const char *v = key + 9, *end = line + len, *q = v;
    while (q < end && *q != '"')
        q += *q == '\\' ? 2 : 1;
    if (q >= end)
        return false;
    *ret = v;
    *ret_len = (size_t)(q - v);
    return true;
}
