/* The metrics listener's HTTP side (metrics/http.h): libmicrohttpd on a thread of
 * its own copies the page the loop rendered; the module auditrelay-metrics.so. */
#include "metrics/http.h"

#include <microhttpd.h>
#include <string.h>

#define PAGE_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
                               const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* libmicrohttpd's request handler, on its thread. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    struct ar_metrics_page *page = cls;
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char msg[] = "only GET and HEAD\n";
        return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, msg, sizeof(msg) - 1);
    }
    if (strcmp(url, "/metrics") != 0) {
        static const char msg[] = "auditrelay: the metrics are at /metrics\n";
        return respond(conn, MHD_HTTP_NOT_FOUND, text, msg, sizeof(msg) - 1);
    }
    pthread_mutex_lock(&page->lock);
    /* MUST_COPY: the page is copied before the lock is released. */
    enum MHD_Result r = respond(conn, MHD_HTTP_OK, PAGE_CONTENT_TYPE,
                                page->text ? page->text : "", page->text ? page->len : 0);
    pthread_mutex_unlock(&page->lock);
    return r;
}

static void *http_start(int fd, bool ipv6, struct ar_metrics_page *page)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
    if (ipv6)
        flags |= MHD_USE_IPv6;
    /* A few connections at a time, none kept for long: Prometheus scrapes with one. */
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, page,
                            MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_END);
}

static void http_stop(void *server)
{
    MHD_stop_daemon(server);
}

const struct ar_metrics_http ar_metrics_http = {.start = http_start, .stop = http_stop};
