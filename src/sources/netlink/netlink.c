/* The audit netlink source (unicast: the audit daemon slot; multicast: read only
 * beside another daemon): claims the slot, changes the kernel's audit settings it
 * runs with and installs its rules, reads records in batches on the loop, polls the
 * kernel's lost counter, and puts everything back when it stops. What to put back
 * survives a SIGKILL in small state files, so that the next run restores the
 * machine's original values rather than the ones we had set. */
#include <poll.h>
#include <limits.h>
#include <linux/capability.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "privileges.h"
#include "collector.h"
#include "rules/collector_rules.h"
#include "rules/kernel.h"
#include "sources/netlink/socket.h"
#include "sources/source.h"

#define LOST_POLL_MS 1000
/* The kernel holds the sender of any request (status, rules) while its queue is over
 * the backlog limit (audit_receive: "penalize the sender"), on the same wait queue
 * as the audited tasks, and each pass of kauditd wakes one waiter. A status poll
 * sent under load took the wake-up of the workload, which then slept the whole
 * backlog_wait_time with the queue empty; records kauditd could not hand us
 * meanwhile were dropped (with a 10 ms poll: 3 of 4 runs of 200,000 opens took
 * 12-23 s instead of 2.4, and lost 543-1,491 events). So a poll is skipped while we
 * are behind the kernel (a drain since the last tick was cut short with records
 * still waiting): the queue is then likely over the limit. A stream we keep up with,
 * or one quiet for LOST_POLL_QUIET_MS, cannot have filled it. */
#define LOST_POLL_QUIET_MS 250
/* After draining the socket, wait this long before polling it again: under load the
 * records of a millisecond are read in one go instead of one wake-up each (the
 * socket buffer holds far more than that); idle, it adds at most this latency. */
#define COALESCE_MS 1

struct netlink_source {
    const struct ar_collector_config *cfg;
    struct ar_source_sink sink;
    struct ar_audit_nl *nl;         /* records, and the daemon slot */
    struct ar_rules_nl *ctl;        /* status and settings (rules/kernel.h) */
    struct ar_rules_session *rules; /* the rules we installed, NULL when none */
    uv_loop_t *loop;
    uv_poll_t poll;
    uv_timer_t lost_timer, coalesce_timer;
    bool started, stopped;
    bool unicast;
    bool own_pid;
    uint32_t backlog_limit;       /* in force while we run (unicast) */
    struct audit_status before;   /* the kernel's status when we started */
    /* The run's one settings record (rules/kernel.h): what the collector's settings
     * and its rule files' changed, with the values to put back; the state file
     * persists it. `mine`: its fields the collector's own settings changed. */
    struct ar_settings_record settings;
    uint32_t mine;
    uint32_t last_lost;
    uint64_t kernel_lost;
    bool state_unwritable;          /* said once */
    uint32_t backlog, backlog_limit_now; /* the kernel's, at the last poll (metrics) */
    uint64_t last_record_ms;        /* loop time of the last read that found records */
    bool behind;                    /* a drain since the last tick left records waiting */
};

static void on_record(const struct ar_record *rec, void *userdata)
{
    struct netlink_source *s = userdata;
    int r = s->sink.record(s->sink.ctx, rec);
    if (r < 0 && !s->stopped)
        s->sink.done(s->sink.ctx, r);
}

static void process_name(uint32_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%u/comm", pid);
    FILE *f = fopen(path, "r");
    buf[0] = 0;
    if (f) {
        if (fgets(buf, (int)size, f))
            buf[strcspn(buf, "\n")] = 0;
        fclose(f);
    }
    if (!buf[0])
        snprintf(buf, size, "?");
}

static bool process_alive(uint32_t pid)
{
    return pid && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* The one state file: what this run changed on the host (the settings with their
 * values from before, and the rules it owns), rewritten atomically after every
 * change, so that the next start after a SIGKILL puts back exactly what was there.
 * Unicast and multicast runs each have their own. */
#define STATE_MAGIC "auditrelay-state 2"

static const char *state_path(const struct netlink_source *s)
{
    const char *p = getenv("AUDITRELAY_STATE_FILE");
    if (p && *p)
        return p;
    return s->unicast ? AR_RUN_DIR "/auditrelay.state" : AR_RUN_DIR "/auditrelay-multicast.state";
}

static void state_save(struct netlink_source *s)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.new", state_path(s));
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f,
                STATE_MAGIC " pid=%d mask=%u enabled=%u backlog_limit=%u backlog_wait_time=%u "
                "rate_limit=%u failure=%u\n",
                getpid(), s->settings.changed, s->settings.found.enabled,
                s->settings.found.backlog_limit, s->settings.found.backlog_wait_time,
                s->settings.found.rate_limit, s->settings.found.failure);
        ar_rules_state_write(s->rules, f);
    }
    if (!f || fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
        rename(tmp, state_path(s)) != 0) {
        if (!s->state_unwritable)
            fprintf(stderr, "auditrelay: cannot write %s (%s): after a crash, the next start "
                            "cannot put back what this run changed\n", state_path(s),
                    strerror(errno));
        s->state_unwritable = true;
        unlink(tmp);
    }
}

/* Puts back what a previous run that died without cleaning up had changed: its
 * rules now; its settings' original values are taken as ours to restore on exit. */
static void state_recover(struct netlink_source *s)
{
    FILE *f = fopen(state_path(s), "r");
    if (!f)
        return;
    int pid;
    unsigned mask, enabled, backlog, wait, rate, failure;
    int n = fscanf(f,
                   STATE_MAGIC " pid=%d mask=%u enabled=%u backlog_limit=%u "
                   "backlog_wait_time=%u rate_limit=%u failure=%u\n",
                   &pid, &mask, &enabled, &backlog, &wait, &rate, &failure);
    if (n != 7 || pid == getpid() || process_alive((uint32_t)pid)) {
        if (n != 7)
            fprintf(stderr, "auditrelay: %s: not a state file of this version; ignored\n",
                    state_path(s));
        fclose(f);
        return;
    }
    ar_rules_state_recover(f, pid, stderr);
    fclose(f);
    if (!s->unicast || !mask)
        return;
    fprintf(stderr,
            "auditrelay: a previous run (pid %d) stopped without restoring the kernel's audit "
            "settings; they will be restored on exit\n",
            pid);
    struct audit_status *found = &s->settings.found;
    found->enabled = enabled;
    found->backlog_limit = backlog;
    found->backlog_wait_time = wait;
    found->rate_limit = rate;
    found->failure = failure;
    s->settings.changed = mask & AR_SETTINGS_RESTORABLE;
    s->mine = s->settings.changed;
}

static void check_lost(struct netlink_source *s)
{
    struct audit_status st;
    if (ar_rules_nl_get_status(s->ctl, &st) < 0)
        return;
    if (st.lost > s->last_lost) {
        uint32_t n = st.lost - s->last_lost;
        s->kernel_lost += n;
        fprintf(stderr, "auditrelay: the kernel lost %u records (its lost counter is %u)\n", n,
                st.lost);
        s->sink.loss(s->sink.ctx, "kernel_lost", n);
    }
    s->last_lost = st.lost;
    s->backlog = st.backlog;
    s->backlog_limit_now = st.backlog_limit;
}

static void on_lost_timer(uv_timer_t *t)
{
    struct netlink_source *s = t->data;
    bool behind = s->behind;
    s->behind = false;
    bool quiet = uv_now(s->loop) - s->last_record_ms >= LOST_POLL_QUIET_MS;
    if (quiet || !behind || s->backlog_limit_now == 0)
        check_lost(s);
}

/* Reads what the socket holds; ENOBUFS (the kernel dropped records for us) becomes
 * a loss event. Returns 0 or -errno on a hard error. */
static int drain(struct netlink_source *s, bool *ret_more)
{
    uint64_t enobufs = ar_audit_nl_stats(s->nl)->enobufs;
    int r = ar_audit_nl_drain(s->nl, ret_more);
    uint64_t more = ar_audit_nl_stats(s->nl)->enobufs - enobufs;
    if (more)
        s->sink.loss(s->sink.ctx, "enobufs", more);
    return r;
}

static void on_readable(uv_poll_t *p, int status, int events);

static void on_coalesce_timer(uv_timer_t *t)
{
    struct netlink_source *s = t->data;
    if (!s->stopped)
        uv_poll_start(&s->poll, UV_READABLE, on_readable);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct netlink_source *s = p->data;
    bool more;
    int r = drain(s, &more);
    if (r > 0)
        s->last_record_ms = uv_now(s->loop);
    s->behind |= more;
    if (r < 0) {
        uv_poll_stop(&s->poll);
        fprintf(stderr, "auditrelay: reading the audit socket failed: %s\n", strerror(-r));
        s->sink.done(s->sink.ctx, r);
        return;
    }
    /* Drained: wait a little before polling again. Cut short (more is waiting):
     * read on at the loop's next turn, after its timers and signals (a kernel that
     * outpaced us kept the loop in here: no metrics, no lost-counter poll, and
     * SIGTERM answered only when the load stopped). */
    if (!more) {
        uv_poll_stop(&s->poll);
        uv_timer_start(&s->coalesce_timer, on_coalesce_timer, COALESCE_MS, 0);
    } else if (status < 0) {
        /* libuv stops the handle when poll says POLLERR, as it does when the kernel
         * overran the socket (ENOBUFS is the socket's error): start it again, or
         * nothing more is read (the collector read nothing after its first
         * overrun, 56,889 of 79,846 opens unseen, without a gap to show it). */
        uv_poll_start(&s->poll, UV_READABLE, on_readable);
    }
    s->sink.batch_end(s->sink.ctx);
}

/* What the rules layer is given: the files (or the default set when we are the
 * daemon) and the process feed's rules (cfg->process_feed_rules): beside another
 * daemon only when asked for by name, as its administrator decides its rules. */
static struct ar_rules_collector_config rules_config(struct netlink_source *s,
                                                    const struct ar_collector_config *cfg)
{
    bool feed = cfg->process_feed_rules && cfg->process_feed_rules[0] &&
                (s->own_pid || cfg->process_feed == AR_PROCESS_FEED_AUDIT);
    return (struct ar_rules_collector_config){
        .paths = cfg->rules, .npaths = cfg->nrules, .settings = &s->settings,
        .own_text = feed ? cfg->process_feed_rules : NULL, .own_name = "(process feed)",
        .only_own = cfg->nrules == 0 && !s->own_pid};
}

/* Rules go in after our settings and come out before the settings are restored,
 * so no rule of ours runs on the machine's own settings. */
static int install_rules(struct netlink_source *s)
{
    const struct ar_collector_config *cfg = s->cfg;
    /* The default set only when we are the audit daemon: beside auditd, its
     * administrator decides the rules. Rules given explicitly are always loaded,
     * and so are the process feed's own. */
    struct ar_rules_collector_config rcfg = rules_config(s, cfg);
    if (cfg->process_feed_rules && cfg->process_feed_rules[0] && !rcfg.own_text)
        fprintf(stderr, "auditrelay: process feed: none (beside another audit daemon its "
                        "rules are its administrator's; --process-feed audit adds ours)\n");
    if (!cfg->install_rules || (rcfg.only_own && !rcfg.own_text))
        return 0;
    if (ar_rules_collector_start(&rcfg, stderr, &s->rules) < 0)
        return -1;
    state_save(s);
    return 0;
}

static void restore_kernel(struct netlink_source *s)
{
    bool rules_left = false; /* the state file keeps naming them for the next start */
    if (s->rules) {
        rules_left = ar_rules_collector_stop(s->rules, s->cfg->keep_rules, stderr) < 0 &&
                     !s->cfg->keep_rules;
        s->rules = NULL;
    }
    if (s->own_pid) {
        int r = ar_audit_nl_set_pid(s->nl, 0);
        if (r < 0)
            fprintf(stderr, "auditrelay: releasing the audit daemon slot failed: %s\n",
                    strerror(-r));
        s->own_pid = false;
    }
    if (s->mine) {
        int r = ar_settings_restore(s->ctl, &s->settings, s->mine);
        if (r < 0)
            fprintf(stderr, "auditrelay: restoring the kernel's audit settings failed: %s\n",
                    strerror(-r));
        s->mine = 0;
    }
    if (!rules_left)
        unlink(state_path(s));
}

/* Frees the slot held by a live daemon when the user asked for it: SIGTERM, then
 * wait for the kernel to see the slot empty. */
static int take_over(struct netlink_source *s, uint32_t pid)
{
    if (kill((pid_t)pid, SIGTERM) < 0)
        return -errno;
    for (int i = 0; i < 100; i++) {
        struct audit_status st;
        usleep(50 * 1000);
        if (ar_rules_nl_get_status(s->ctl, &st) == 0 && (st.pid == 0 || !process_alive(st.pid)))
            return 0;
    }
    return -ETIMEDOUT;
}

static int claim_slot(struct netlink_source *s)
{
    int r;
    /* After a daemon dies (SIGKILL) the kernel keeps its slot until a send to it
     * fails; our own attempt logs a record that makes it notice. Retry briefly. */
    for (int i = 0; i < 30; i++) {
        r = ar_audit_nl_set_pid(s->nl, (uint32_t)getpid());
        if (r != -EEXIST)
            break;
        struct audit_status now;
        if (ar_rules_nl_get_status(s->ctl, &now) == 0 && process_alive(now.pid) &&
            now.pid != (uint32_t)getpid())
            break;
        usleep(100 * 1000);
    }
    return r;
}

static int open_socket(struct netlink_source *s, enum ar_audit_nl_mode mode, char *why,
                       size_t whylen)
{
    int r = ar_rules_nl_open(&s->ctl);
    if (r == 0)
        r = ar_audit_nl_open(mode, s->cfg->rcvbuf, on_record, s, &s->nl);
    if (r < 0)
        snprintf(why, whylen, "cannot open the kernel audit socket%s: %s%s",
                 mode == AR_AUDIT_NL_MULTICAST ? " (multicast)" : "", strerror(-r),
                 r == -EPROTONOSUPPORT ? " (this kernel has no audit support)"
                 : r == -EPERM         ? " (CAP_AUDIT_CONTROL and CAP_AUDIT_READ needed)"
                                       : "");
    return r;
}

/* A setting's value before this run (or a killed predecessor) changed it. */
static uint32_t original(const struct netlink_source *s, uint32_t field)
{
    return ar_settings_field(s->settings.changed & field ? &s->settings.found : &s->before,
                             field);
}

/* The kernel settings cfg asks for that differ from what we found. */
static struct audit_status wanted_settings(const struct netlink_source *s,
                                           const struct ar_collector_config *cfg)
{
    struct audit_status st = {0};
    if (cfg->enable && original(s, AUDIT_STATUS_ENABLED) == 0) {
        st.mask |= AUDIT_STATUS_ENABLED;
        st.enabled = 1;
    }
    if (cfg->backlog_limit && cfg->backlog_limit != original(s, AUDIT_STATUS_BACKLOG_LIMIT)) {
        st.mask |= AUDIT_STATUS_BACKLOG_LIMIT;
        st.backlog_limit = cfg->backlog_limit;
    }
    if (cfg->set_backlog_wait_time &&
        cfg->backlog_wait_time != original(s, AUDIT_STATUS_BACKLOG_WAIT_TIME)) {
        st.mask |= AUDIT_STATUS_BACKLOG_WAIT_TIME;
        st.backlog_wait_time = cfg->backlog_wait_time;
    }
    if (cfg->set_failure && cfg->failure != original(s, AUDIT_STATUS_FAILURE)) {
        st.mask |= AUDIT_STATUS_FAILURE;
        st.failure = cfg->failure;
    }
    if (cfg->set_rate_limit && cfg->rate_limit != original(s, AUDIT_STATUS_RATE_LIMIT)) {
        st.mask |= AUDIT_STATUS_RATE_LIMIT;
        st.rate_limit = cfg->rate_limit;
    }
    return st;
}

/* Whether the kernel was booted with audit=1: then every process has had an audit
 * context from its fork on. */
static bool audit_on_from_boot(void)
{
    char line[4096];
    FILE *f = fopen("/proc/cmdline", "re");
    if (!f)
        return false;
    bool on = false;
    char *save = NULL; /* strtok_r: the outputs' threads may be running already */
    if (fgets(line, sizeof(line), f))
        for (char *tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
            on = on || strcmp(tok, "audit=1") == 0;
    fclose(f);
    return on;
}

/* Kernel settings we run with (enabled, backlog...), remembered to put back. */
static int apply_settings(struct netlink_source *s, char *why, size_t whylen)
{
    struct audit_status st = wanted_settings(s, s->cfg);
    if (st.mask) {
        int r = ar_settings_change(s->ctl, &s->settings, &s->before, &st);
        if (r < 0 && s->before.enabled != 2) {
            snprintf(why, whylen, "cannot change the kernel's audit settings: %s", strerror(-r));
            return r;
        }
        if (r < 0)
            fprintf(stderr, "auditrelay: cannot change the kernel's audit settings: %s (the "
                            "configuration is locked: enabled=2)\n", strerror(-r));
        else
            s->mine |= st.mask;
        /* The kernel gives a process its audit context at fork, and only once audit has
         * been on since boot (kernel/auditsc.c audit_alloc): we cannot tell whether it
         * had been, so say what it means when it may not have. */
        if (r >= 0 && (st.mask & AUDIT_STATUS_ENABLED) && !audit_on_from_boot())
            fprintf(stderr, "auditrelay: audit was off: if it has not been on since boot, "
                            "processes started before now make no syscall records until "
                            "they restart (the kernel gives a process its audit context at "
                            "fork); boot with audit=1 to audit every process\n");
    }
    state_save(s);
    s->backlog_limit = (st.mask & AUDIT_STATUS_BACKLOG_LIMIT)
                           ? st.backlog_limit
                           : original(s, AUDIT_STATUS_BACKLOG_LIMIT);
    return 0;
}

static int setup(struct netlink_source *s, char *why, size_t whylen)
{
    const struct ar_collector_config *cfg = s->cfg;
    bool multicast = cfg->source == AR_SOURCE_MULTICAST;
    int r = open_socket(s, multicast ? AR_AUDIT_NL_MULTICAST : AR_AUDIT_NL_UNICAST, why, whylen);
    if (r < 0)
        return r;
    r = ar_rules_nl_get_status(s->ctl, &s->before);
    if (r < 0) {
        snprintf(why, whylen, "cannot read the kernel's audit status: %s", strerror(-r));
        return r;
    }
    s->last_lost = s->before.lost;
    uint32_t owner = s->before.pid;
    bool owner_alive = owner && owner != (uint32_t)getpid() && process_alive(owner);
    char name[64] = "";
    if (owner_alive)
        process_name(owner, name, sizeof(name));
    if (multicast) {
        fprintf(stderr, "auditrelay: reading the multicast audit log group (read only)\n");
        return 0;
    }
    if (owner_alive && cfg->takeover) {
        fprintf(stderr, "auditrelay: taking the audit daemon slot from pid %u (%s)\n", owner,
                name);
        if ((r = take_over(s, owner)) < 0) {
            snprintf(why, whylen, "pid %u (%s) did not release the audit daemon slot: %s",
                     owner, name, strerror(-r));
            return r;
        }
        owner_alive = false;
    }
    if (owner_alive) {
        if (cfg->source == AR_SOURCE_UNICAST) {
            snprintf(why, whylen,
                     "the audit daemon slot is held by pid %u (%s). Use --source multicast to "
                     "read beside it, or --takeover to replace it (it is sent SIGTERM).",
                     owner, name);
            return -EEXIST;
        }
        ar_audit_nl_close(s->nl);
        s->nl = NULL;
        r = ar_audit_nl_open(AR_AUDIT_NL_MULTICAST, cfg->rcvbuf, on_record, s, &s->nl);
        if (r < 0) {
            snprintf(why, whylen,
                     "the audit daemon slot is held by pid %u (%s) and the audit multicast "
                     "group refused us: %s",
                     owner, name, strerror(-r));
            return r;
        }
        fprintf(stderr,
                "auditrelay: the audit daemon slot is held by pid %u (%s): reading the "
                "multicast group beside it (read only)\n",
                owner, name);
        return 0;
    }
    r = claim_slot(s);
    if (r < 0) {
        snprintf(why, whylen, "cannot take the audit daemon slot: %s", strerror(-r));
        return r;
    }
    s->own_pid = true;
    s->unicast = true;
    state_recover(s);
    return apply_settings(s, why, whylen);
}

static void netlink_close(void *p)
{
    struct netlink_source *s = p;
    if (!s)
        return;
    ar_audit_nl_close(s->nl);
    ar_rules_nl_close(s->ctl);
    free(s);
}

static int netlink_open(const struct ar_collector_config *cfg, const struct ar_source_sink *sink,
                        char *why, size_t whylen, void **ret)
{
    struct netlink_source *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = cfg;
    s->sink = *sink;
    int r = setup(s, why, whylen);
    if (r == 0 && !s->unicast)
        state_recover(s); /* unicast did it before its settings */
    if (r == 0 && install_rules(s) < 0) {
        /* Explained on stderr by the rules layer. */
        snprintf(why, whylen, "the audit rules were not installed");
        r = -EINVAL;
    }
    if (r < 0) {
        restore_kernel(s);
        netlink_close(s);
        return r;
    }
    /* Said once everything is in place: tests and users wait for this line. */
    if (s->own_pid)
        fprintf(stderr, "auditrelay: collecting as the audit daemon (pid %d, backlog_limit %u)\n",
                getpid(), s->backlog_limit);
    else
        fprintf(stderr, "auditrelay: collecting from the audit multicast group\n");
    *ret = s;
    return 0;
}

static int netlink_start(void *p, uv_loop_t *loop)
{
    struct netlink_source *s = p;
    s->loop = loop;
    /* Until the first poll: the limit in force, for the poll's own gate. */
    s->backlog_limit_now = s->unicast && s->backlog_limit ? s->backlog_limit
                                                          : s->before.backlog_limit;
    uv_poll_init(loop, &s->poll, ar_audit_nl_fd(s->nl));
    uv_timer_init(loop, &s->coalesce_timer);
    uv_timer_init(loop, &s->lost_timer);
    s->poll.data = s->coalesce_timer.data = s->lost_timer.data = s;
    s->started = true;
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
    /* AUDITRELAY_STATUS_POLL_MS: a shorter poll for the tests, which make the
     * collision above likely with it. */
    const char *env = getenv("AUDITRELAY_STATUS_POLL_MS");
    int ms = env ? atoi(env) : 0;
    uint64_t every = ms > 0 ? (uint64_t)ms : LOST_POLL_MS;
    uv_timer_start(&s->lost_timer, on_lost_timer, every, every);
    return 0;
}

/* A reload: the new configuration's rules replace ours (ar_rules_collector_replace:
 * the rules both have stay loaded), then its settings apply; settings it no longer
 * asks for go back to what we found. */
static int netlink_reload(void *p, const struct ar_collector_config *cfg)
{
    struct netlink_source *s = p;
    struct ar_rules_collector_config rcfg = rules_config(s, cfg);
    struct ar_rules *rules = NULL;
    if (cfg->install_rules && (!rcfg.only_own || rcfg.own_text)) {
        int r = ar_rules_collector_compile(&rcfg, stderr, &rules);
        if (r < 0)
            return r;
    }
    int r = ar_rules_collector_replace(&s->rules, rules, &rcfg, stderr);
    ar_rules_free(rules);
    if (r < 0)
        return r;
    s->cfg = cfg;
    state_save(s);
    if (!s->own_pid)
        return 0;
    struct audit_status want = wanted_settings(s, cfg), now;
    if ((r = ar_settings_restore(s->ctl, &s->settings, s->mine & ~want.mask)) < 0 ||
        (r = ar_rules_nl_get_status(s->ctl, &now)) < 0 ||
        (want.mask && (r = ar_settings_change(s->ctl, &s->settings, &now, &want)) < 0)) {
        fprintf(stderr, "auditrelay: reload: cannot change the kernel's audit settings: %s\n",
                strerror(-r));
        state_save(s);
        return 0; /* the rules did change: the reload stands */
    }
    s->mine = want.mask;
    s->backlog_limit = (want.mask & AUDIT_STATUS_BACKLOG_LIMIT)
                           ? want.backlog_limit
                           : original(s, AUDIT_STATUS_BACKLOG_LIMIT);
    state_save(s);
    return 0;
}

/* Stop reading, take what the socket still holds, give the slot and the settings
 * back, and count what the kernel lost meanwhile. */
static void netlink_stop(void *p)
{
    struct netlink_source *s = p;
    if (s->stopped)
        return;
    s->stopped = true;
    if (s->started) {
        uv_poll_stop(&s->poll);
        /* What the socket holds, within bounds: a kernel still sending under load
         * would keep us here (64 rounds of AR_AUDIT_NL_DRAIN_MS). */
        bool more = true;
        for (int i = 0; i < 64 && more; i++)
            if (drain(s, &more) < 0)
                break;
    }
    restore_kernel(s);
    check_lost(s);
    if (s->started) {
        uv_close((uv_handle_t *)&s->poll, NULL);
        uv_close((uv_handle_t *)&s->lost_timer, NULL);
        uv_close((uv_handle_t *)&s->coalesce_timer, NULL);
    }
}

static void netlink_print_stats(void *p, const struct ar_source_counts *c, const char *when,
                                FILE *f)
{
    struct netlink_source *s = p;
    fprintf(f,
            "auditrelay: %s: %llu records, %llu events, %llu bytes out, kernel lost %llu, "
            "ENOBUFS %llu, serial gaps %llu (%llu serials), output dropped %llu lines\n",
            when, (unsigned long long)c->records, (unsigned long long)c->events,
            (unsigned long long)c->bytes_out, (unsigned long long)s->kernel_lost,
            (unsigned long long)ar_audit_nl_stats(s->nl)->enobufs,
            (unsigned long long)c->reasm->gap_events, (unsigned long long)c->reasm->lost,
            (unsigned long long)c->output_dropped);
}

static void netlink_metrics(void *p, struct ar_source_metrics *ret)
{
    struct netlink_source *s = p;
    const struct ar_audit_nl_stats *st = ar_audit_nl_stats(s->nl);
    ret->audit = true;
    ret->kernel_lost = s->kernel_lost;
    ret->enobufs = st->enobufs;
    ret->foreign = st->foreign;
    ret->bad_records = st->bad;
    ret->kernel_backlog = s->backlog;
    ret->kernel_backlog_limit = s->backlog_limit_now;
}

/* One source, two names: the mode comes from the configuration (multicast only
 * reads; unicast and auto take the slot). */
/* Stopping puts settings and rules back and gives up the slot (CAP_AUDIT_CONTROL,
 * which rules reloads need too); multicast reads with CAP_AUDIT_READ. */
static bool netlink_has_pending(void *vs)
{
    struct netlink_source *s = vs;
    struct pollfd pfd = {.fd = ar_audit_nl_fd(s->nl), .events = POLLIN};
    return poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN);
}

static uint64_t netlink_capabilities(void *vs)
{
    struct netlink_source *s = vs;
    return (1ull << CAP_AUDIT_CONTROL) | (s->unicast ? 0 : 1ull << CAP_AUDIT_READ);
}

#define NETLINK_SOURCE(source_name)                                                        \
    {                                                                                      \
        .name = source_name, .event_source = "netlink", .live = true, .reading_may_wait = true, \
        .open = netlink_open,                                                              \
        .start = netlink_start, .stop = netlink_stop, .close = netlink_close,              \
        .print_stats = netlink_print_stats, .capabilities = netlink_capabilities,          \
        .reload = netlink_reload, .has_pending = netlink_has_pending,                      \
        .metrics = netlink_metrics,                                                        \
    }

const struct ar_source_ops ar_source_unicast = NETLINK_SOURCE("unicast");
const struct ar_source_ops ar_source_multicast = NETLINK_SOURCE("multicast");
