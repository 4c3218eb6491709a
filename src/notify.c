#include "notify.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#if AR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

struct ar_notify {
    uv_timer_t watchdog;
    bool timer_started;
};

static void on_watchdog(uv_timer_t *t)
{
    sd_notify(0, "WATCHDOG=1");
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
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
    struct ar_notify *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    uint64_t usec = 0;
    /* > 0 only when $WATCHDOG_USEC is set and $WATCHDOG_PID, if set, is ours. */
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
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
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: giving back the kernel settings, draining outputs");
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
