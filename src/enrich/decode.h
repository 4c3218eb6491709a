/* Decoders for values the kernel encodes: hex strings and socket addresses. Pure,
 * bounded, no allocation: output goes to caller buffers. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/span.h"

/* True when s is a non-empty, even-length run of hex digits: how the kernel prints
 * an untrusted string that holds a space, quote or control byte. */
bool ar_is_hex_string(struct ar_span s);

/* Decodes hex into out (out must hold s.len / 2 bytes). Returns the byte count, or
 * -EINVAL if s is not a hex string. */
int ar_hex_decode(struct ar_span s, unsigned char *out);

struct ar_sockaddr {
    const char *family;   /* "inet", "inet6", "local", "netlink", or "unknown" */
    uint16_t family_nr;
    bool has_port;
    uint16_t port;
    char addr[64];        /* textual address for inet/inet6, "" otherwise */
    const unsigned char *ip; /* inet/inet6: the address bytes (network order) inside
                              * raw, ip_len 4 or 16; NULL otherwise */
    uint8_t ip_len;
    uint32_t nl_pid;      /* netlink */
    uint32_t nl_groups;
    const unsigned char *path; /* AF_UNIX path bytes inside the decoded buffer */
    size_t path_len;
    bool abstract;        /* AF_UNIX abstract namespace (leading NUL) */
};

/* Interprets a decoded sockaddr (raw bytes as the kernel copied them from the
 * process, so sa_family and netlink fields are in the audited machine's byte order:
 * big_endian for ppc64, s390x...; ports and addresses are network order). Returns 0,
 * or -EINVAL when too short to hold a family. */
/* Dotted-quad text of an IPv4 address, NUL-terminated, as inet_ntop writes it
 * (which costs ~1,500 instructions through sprintf: this runs per SOCKADDR record);
 * returns its length. */
size_t ar_ipv4_text(const unsigned char *ip, char out[16]);

int ar_sockaddr_decode(const unsigned char *raw, size_t len, bool big_endian,
                       struct ar_sockaddr *ret);
