#include "enrich/decode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static const signed char hexval[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
    ['7'] = 8, ['8'] = 9, ['9'] = 10, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14,
    ['E'] = 15, ['F'] = 16, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
    ['f'] = 16,
}; /* value + 1, so that 0 means "not hex" */

bool ar_is_hex_string(struct ar_span s)
{
    if (s.len == 0 || s.len % 2)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!hexval[(unsigned char)s.p[i]])
            return false;
    return true;
}

int ar_hex_decode(struct ar_span s, unsigned char *out)
{
    if (s.len % 2)
        return -EINVAL;
    for (size_t i = 0; i < s.len; i += 2) {
        int hi = hexval[(unsigned char)s.p[i]], lo = hexval[(unsigned char)s.p[i + 1]];
        if (!hi || !lo)
            return -EINVAL;
        out[i / 2] = (unsigned char)((hi - 1) << 4 | (lo - 1));
    }
    return (int)(s.len / 2);
}

size_t ar_ipv4_text(const unsigned char *ip, char out[16])
{
    char *o = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = ip[i];
        if (v >= 100)
            *o++ = (char)('0' + v / 100);
        if (v >= 10)
            *o++ = (char)('0' + v / 10 % 10);
        *o++ = (char)('0' + v % 10);
        *o++ = i < 3 ? '.' : '\0';
    }
    return (size_t)(o - out - 1);
}

static uint32_t host_u32(const unsigned char *p, bool big_endian)
{
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int ar_sockaddr_decode(const unsigned char *raw, size_t len, bool big_endian,
                       struct ar_sockaddr *ret)
{
    if (len < 2)
        return -EINVAL;
    struct ar_sockaddr sa = {.family = "unknown"};
    sa.family_nr = big_endian ? (uint16_t)(raw[0] << 8 | raw[1]) : (uint16_t)(raw[0] | raw[1] << 8);
    switch (sa.family_nr) {
    case AF_INET:
        sa.family = "inet";
        if (len >= 8) {
            sa.has_port = true;
            sa.port = (uint16_t)(raw[2] << 8 | raw[3]);
            ar_ipv4_text(raw + 4, sa.addr);
            sa.ip = raw + 4;
            sa.ip_len = 4;
        }
        break;
    case AF_INET6:
        sa.family = "inet6";
        if (len >= 24) {
            sa.has_port = true;
            sa.port = (uint16_t)(raw[2] << 8 | raw[3]);
            inet_ntop(AF_INET6, raw + 8, sa.addr, sizeof(sa.addr));
            sa.ip = raw + 8;
            sa.ip_len = 16;
        }
        break;
    case AF_UNIX: {
        sa.family = "local";
        const unsigned char *p = raw + 2;
        size_t n = len - 2;
        if (n > 0 && p[0] == 0) {
            sa.abstract = true;
            p++;
            n--;
        } else {
            const unsigned char *nul = memchr(p, 0, n);
            if (nul)
                n = (size_t)(nul - p);
        }
        sa.path = p;
        sa.path_len = n;
        break;
    }
    case AF_NETLINK:
        sa.family = "netlink";
        if (len >= 12) {
            sa.nl_pid = host_u32(raw + 4, big_endian);
            sa.nl_groups = host_u32(raw + 8, big_endian);
        }
        break;
    case AF_UNSPEC:
        sa.family = "unspec";
        break;
    default:
        break;
    }
    *ret = sa;
    return 0;
}
