/* The metrics listener's HTTP side (metrics/http.c): libmicrohttpd serving the page
 * the loop renders (metrics/server.c), built as a module of its own,
 * auditrelay-metrics.so, that only a collector with --metrics loads (util/module.h):
 * libmicrohttpd needs GnuTLS, and the two cost every start of the collector a
 * replay's share of the dynamic loader's time (util/module.c). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* The page the HTTP thread serves: replaced under `lock` by the loop, copied under
 * it by the HTTP thread (text NULL: an empty page). */
struct ar_metrics_page {
    pthread_mutex_t lock;
    char *text;
    size_t len;
};

/* The module's one symbol, ar_metrics_http. */
struct ar_metrics_http {
    /* Starts the HTTP thread (with the calling thread's capabilities) on `fd`, a
     * bound, listening TCP socket (IPv6 when ipv6), serving `page`, which must stay
     * until stop. Returns the server, which owns fd from then on, or NULL when it
     * could not start (fd stays the caller's). */
    void *(*start)(int fd, bool ipv6, struct ar_metrics_page *page);
    /* Stops the thread and closes the socket. */
    void (*stop)(void *server);
};
