/* The metrics listener: libmicrohttpd on a thread of its own serves the page the
 * loop renders every second (metrics.h says why the HTTP thread never reads a
 * counter itself). The socket, the run file and the page are here; the HTTP thread
 * is the module auditrelay-metrics.so (metrics/http.h), loaded by ar_metrics_new. */
#include "metrics/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics/http.h"
#include "util/module.h"

#define REFRESH_MS 1000

const char *ar_metrics_run_file(void)
{
    const char *p = getenv("AUDITRELAY_METRICS_FILE");
    return p && *p ? p : AR_METRICS_RUN_FILE;
}

struct ar_metrics {
    int fd;                       /* the listening socket until the server has it */
    int family;
    const struct ar_metrics_http *http; /* the module's */
    void *server;
    char *run_file;               /* written, to remove at the end; NULL when none */
    uint64_t start_time;
    /* The page: rendered on the loop, copied by the HTTP thread. */
    struct ar_metrics_page page;
    /* The loop side. */
    uv_timer_t timer;
    bool started, stopped;
    ar_metrics_collect_fn collect;
    void *ctx;
    struct ar_buf render;
};

static int write_run_file(struct ar_metrics *m, const char *path, const char *addr)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    fprintf(f, "pid=%d listen=%s\n", getpid(), addr);
    int r = fclose(f) == 0 ? 0 : -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    m->run_file = strdup(path);
    return 0;
}

int ar_metrics_new(const struct ar_metrics_listen *where, const char *run_file,
                   struct ar_metrics **ret)
{
    if (!AR_HAVE_METRICS) {
        fprintf(stderr, "auditrelay: this build has no metrics listener (built without "
                        "libmicrohttpd: meson -Dmetrics=enabled)\n");
        return -ENOTSUP;
    }
    /* First: without its module nothing is bound. */
    char err[1024];
    const struct ar_metrics_http *http =
        ar_module_symbol("--metrics", "auditrelay-metrics.so", "ar_metrics_http", err,
                         sizeof(err));
    if (!http) {
        fprintf(stderr, "auditrelay: %s\n", err);
        return -ENOENT;
    }
    char addr[INET6_ADDRSTRLEN + 16];
    ar_metrics_listen_format((const struct sockaddr *)&where->addr, addr, sizeof(addr));
    struct ar_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->http = http;
    pthread_mutex_init(&m->page.lock, NULL);
    m->start_time = (uint64_t)time(NULL);
    int family = m->family = where->addr.ss_family;
    /* Our own socket: bind errors get a clear message, and the port chosen for 0 is
     * known. */
    m->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int r = 0;
    const char *what = "socket";
    if (m->fd < 0) {
        r = -errno;
    } else {
        int one = 1;
        setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (family == AF_INET6)
            setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(m->fd, (const struct sockaddr *)&where->addr, where->addrlen) < 0) {
            r = -errno;
            what = "bind";
        } else if (listen(m->fd, 16) < 0) {
            r = -errno;
            what = "listen";
        }
    }
    if (r < 0) {
        fprintf(stderr, "auditrelay: cannot listen for metrics on %s (%s): %s\n", addr, what,
                strerror(-r));
        ar_metrics_free(m);
        return r;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(m->fd, (struct sockaddr *)&bound, &blen) == 0)
        ar_metrics_listen_format((const struct sockaddr *)&bound, addr, sizeof(addr));
    if (run_file && (r = write_run_file(m, run_file, addr)) < 0)
        fprintf(stderr, "auditrelay: cannot write %s (auditrelay status will not find the "
                        "metrics): %s\n", run_file, strerror(-r));
    /* Tests and users wait for this line (with port 0 it says which port). */
    fprintf(stderr, "auditrelay: metrics on http://%s/metrics\n", addr);
    *ret = m;
    return 0;
}

static void render(struct ar_metrics *m)
{
    struct ar_metrics_snapshot snap = {.start_time = m->start_time};
    m->collect(m->ctx, &snap);
    m->render.len = 0;
    m->render.failed = false;
    if (ar_metrics_format(&snap, &m->render) < 0)
        return; /* out of memory: the last page stays */
    char *page = malloc(m->render.len + 1);
    if (!page)
        return;
    memcpy(page, m->render.p, m->render.len);
    page[m->render.len] = 0;
    pthread_mutex_lock(&m->page.lock);
    char *old = m->page.text;
    m->page.text = page;
    m->page.len = m->render.len;
    pthread_mutex_unlock(&m->page.lock);
    free(old);
}

static void on_timer(uv_timer_t *t)
{
    render(t->data);
}

void ar_metrics_start(struct ar_metrics *m, uv_loop_t *loop, ar_metrics_collect_fn collect,
                      void *ctx)
{
    if (!m)
        return;
    m->collect = collect;
    m->ctx = ctx;
    /* The first page before the first request: a scrape queued on the listening
     * socket is served the moment the daemon's thread starts, and got an empty
     * page when it won the race with this render (3 of 480 scrapes right after
     * start-up, metrics/prometheus case http). */
    render(m);
    /* Started here, after the driver gave up the capabilities it no longer needs:
     * a thread starts with its creator's (the socket was bound before). */
    m->server = m->http->start(m->fd, m->family == AF_INET6, &m->page);
    if (!m->server) {
        fprintf(stderr, "auditrelay: cannot start the metrics listener: metrics are off\n");
        close(m->fd); /* refused, rather than queued for nobody */
        m->fd = -1;
        return;
    }
    m->fd = -1; /* the server's now: its stop closes it */
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    m->started = true;
    uv_timer_start(&m->timer, on_timer, REFRESH_MS, REFRESH_MS);
}

void ar_metrics_stop(struct ar_metrics *m)
{
    if (!m || !m->started || m->stopped)
        return;
    m->stopped = true;
    render(m);
    uv_close((uv_handle_t *)&m->timer, NULL);
}

void ar_metrics_free(struct ar_metrics *m)
{
    if (!m)
        return;
    if (m->server)
        m->http->stop(m->server);
    if (m->fd >= 0)
        close(m->fd);
    if (m->run_file) {
        /* Only our own: a newer collector may have written its address since. */
        FILE *f = fopen(m->run_file, "r");
        int pid = 0;
        if (f) {
            if (fscanf(f, "pid=%d", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid == getpid())
            unlink(m->run_file);
        free(m->run_file);
    }
    ar_buf_free(&m->render);
    free(m->page.text);
    pthread_mutex_destroy(&m->page.lock);
    free(m);
}
