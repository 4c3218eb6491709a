/* The metrics listener's address (--metrics, [collector] metrics): one parser for
 * the command line and the config file. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Where the listener binds: --metrics and [collector] metrics. */
struct ar_metrics_listen {
    bool on;
    struct sockaddr_storage addr;
    socklen_t addrlen;
};

/* Parses "PORT" (127.0.0.1:PORT), "IPV4:PORT" or "[IPV6]:PORT", numeric addresses
 * only (no name lookups), port 0-65535 (0: any free port, said on stderr). On error
 * writes why to err and returns -EINVAL; *ret is untouched then. */
int ar_metrics_parse_listen(const char *s, struct ar_metrics_listen *ret, char *err,
                            size_t errlen);

/* "127.0.0.1:9469" or "[::1]:9469" into buf. */
void ar_metrics_listen_format(const struct sockaddr *sa, char *buf, size_t size);
