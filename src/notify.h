/* systemd's service notifications (sd_notify(3)): the unit's Type=notify and its
 * watchdog. READY=1 and STATUS= once the collector collects, WATCHDOG=1 from a loop
 * timer at half of $WATCHDOG_USEC (so a stuck loop gets the service restarted),
 * STOPPING=1 when it stops. Outside systemd ($NOTIFY_SOCKET unset) and when built
 * without libsystemd (-Dsystemd=disabled) every call does nothing. libsystemd is
 * not linked: ar_notify_ready opens it (libsystemd.so.0) when $NOTIFY_SOCKET is set.
 * If it cannot, that is said on stderr and the collector runs on without
 * notifications: collecting matters more than telling systemd, a unit that is not
 * Type=notify (NotifyAccess= alone) loses nothing, and a Type=notify unit's start
 * times out with that line in its journal. */
#pragma once
#include <uv.h>

struct ar_notify;

/* Tells systemd the service is ready, with `status` as its STATUS= line, and starts
 * the watchdog timer on `loop` when systemd asked for one. Returns the object to pass
 * to ar_notify_stopping() (NULL when there is nothing to stop: not under systemd, no
 * libsystemd, or out of memory, which only costs the watchdog). */
struct ar_notify *ar_notify_ready(uv_loop_t *loop, const char *status);

/* Says STOPPING=1 and closes the watchdog timer (freed by its close callback, so the
 * loop must run once more, as it does while the collector stops). Takes NULL. */
void ar_notify_stopping(struct ar_notify *n);
