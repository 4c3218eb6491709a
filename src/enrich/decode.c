#include "enrich/decode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Each hex digit's value in two tables, shifted for the high and the low half of a
 * byte and marked by a bit of its own (0x200, 0x100), so that a pair decodes with one
 * OR and is checked with one test. */
#define HEX_DIGITS(X)                                                                          \
    X('0', 0) X('1', 1) X('2', 2) X('3', 3) X('4', 4) X('5', 5) X('6', 6) X('7', 7)           \
    X('8', 8) X('9', 9) X('A', 10) X('B', 11) X('C', 12) X('D', 13) X('E', 14) X('F', 15)     \
    X('a', 10) X('b', 11) X('c', 12) X('d', 13) X('e', 14) X('f', 15)
#define HEX_HIGH(c, v) [c] = 0x200 | (v) << 4,
#define HEX_LOW(c, v) [c] = 0x100 | (v),
static const uint16_t hex_high[256] = {HEX_DIGITS(HEX_HIGH)};
static const uint16_t hex_low[256] = {HEX_DIGITS(HEX_LOW)};

bool ar_is_hex_string(struct ar_span s)
{
    if (s.len == 0 || s.len % 2)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!hex_low[(unsigned char)s.p[i]])
            return false;
    return true;
}

int ar_hex_decode(struct ar_span s, unsigned char *out)
{
    if (s.len % 2)
        return -EINVAL;
    for (size_t i = 0; i < s.len; i += 2) {
        unsigned x = hex_high[(unsigned char)s.p[i]] | hex_low[(unsigned char)s.p[i + 1]];
        if ((x & 0x300) != 0x300)
            return -EINVAL;
        out[i / 2] = (unsigned char)x;
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
