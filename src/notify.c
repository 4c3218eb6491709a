#include "notify.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#if AR_HAVE_SYSTEMD
#include <dlfcn.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

/* libsystemd is opened here, and only under systemd's notification: linked in, it
 * and the six libraries it brings (gcrypt, gpg-error, lzma, zstd, lz4, cap) were
 * mapped by every start, replays included, for three calls (util/module.c: with
 * GnuTLS and libmicrohttpd, most of the dynamic loader's 3 ms). Its headers stay a
 * build dependency: the functions are taken by their declared types. */
struct sd_functions {
    __typeof__(sd_notify) *notify;
    __typeof__(sd_notifyf) *notifyf;
    __typeof__(sd_watchdog_enabled) *watchdog_enabled;
};

struct ar_notify {
    struct sd_functions sd;
    uv_timer_t watchdog;
    bool timer_started;
};

/* libsystemd's functions, by soname (never unloaded). Returns false with dlerror's
 * words in why. */
static bool load_libsystemd(struct sd_functions *ret, char *why, size_t whylen)
{
    void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    /* POSIX's way to a function pointer from dlsym (ISO C has no conversion). */
    if (h) {
        *(void **)&ret->notify = dlsym(h, "sd_notify");
        *(void **)&ret->notifyf = dlsym(h, "sd_notifyf");
        *(void **)&ret->watchdog_enabled = dlsym(h, "sd_watchdog_enabled");
    }
    if (!h || !ret->notify || !ret->notifyf || !ret->watchdog_enabled) {
        const char *e = dlerror();
        snprintf(why, whylen, "%s", e ? e : "a function is missing");
        return false;
    }
    return true;
}

static void on_watchdog(uv_timer_t *t)
{
    struct ar_notify *n = t->data;
    n->sd.notify(0, "WATCHDOG=1");
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

struct ar_notify *ar_notify_ready(uv_loop_t *loop, const char *status)
{
    /* Not started by systemd (or by one that wants no notifications). */
    if (!getenv("NOTIFY_SOCKET"))
        return NULL;
    struct sd_functions sd = {0};
    char why[512];
    if (!load_libsystemd(&sd, why, sizeof(why))) {
        fprintf(stderr, "auditrelay: $NOTIFY_SOCKET is set, but libsystemd cannot be loaded "
                        "(%s): no READY=1, STATUS= or watchdog notifications are sent, the "
                        "collector goes on without them\n",
                why);
        return NULL;
    }
    sd.notifyf(0, "READY=1\nSTATUS=%s", status);
    struct ar_notify *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->sd = sd;
    uint64_t usec = 0;
    /* > 0 only when $WATCHDOG_USEC is set and $WATCHDOG_PID, if set, is ours. */
    if (sd.watchdog_enabled(0, &usec) > 0 && usec > 0) {
        /* Half the interval, as sd_watchdog_enabled(3) advises; at least 1 ms. */
        uint64_t ms = usec / 2000 ? usec / 2000 : 1;
        uv_timer_init(loop, &n->watchdog);
        n->watchdog.data = n;
        uv_timer_start(&n->watchdog, on_watchdog, ms, ms);
        n->timer_started = true;
    }
    return n;
}

void ar_notify_stopping(struct ar_notify *n)
{
    if (!n)
        return;
    n->sd.notify(0,
                 "STOPPING=1\nSTATUS=stopping: giving back the kernel settings, draining outputs");
    if (n->timer_started)
        uv_close((uv_handle_t *)&n->watchdog, on_closed);
    else
        free(n);
}

#else

struct ar_notify *ar_notify_ready(uv_loop_t *loop, const char *status)
{
    (void)loop;
    (void)status;
    return NULL;
}

void ar_notify_stopping(struct ar_notify *n)
{
    (void)n;
}

#endif
