#include "collector.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "rules/collector_rules.h"
#include "sources/audit_netlink.h"

#define EXPIRE_INTERVAL_MS 100
#define LOST_POLL_MS 1000
/* After draining the socket, wait this long before polling it again: under load the
 * records of a millisecond are read in one go instead of one wake-up each (the
 * socket buffer holds far more than that); idle, it adds at most this latency. */
#define COALESCE_MS 1

struct collector {
    const struct ar_collector_config *cfg;
    uv_loop_t *loop;
    struct ar_audit_nl *nl;
    struct ar_pipeline *pipeline;
    struct ar_rules_session *rules; /* the rules we installed, NULL when none */
    struct ar_outputs outputs;
    struct ar_output_stats outputs_final; /* once the outputs are closed */
    uv_poll_t poll;
    uv_timer_t expire_timer, lost_timer, coalesce_timer;
    uv_signal_t sigint, sigterm, sigusr1, sighup;
    bool unicast;
    bool own_pid;
    uint32_t backlog_limit;       /* in force while we run (unicast) */
    struct audit_status before;   /* kernel settings when we started */
    uint32_t changed_mask;        /* AUDIT_STATUS_* fields we changed */
    uint32_t last_lost;
    uint64_t kernel_lost;
    bool stopping;
    int exit_code;
};

void ar_collector_config_default(struct ar_collector_config *ret)
{
    *ret = (struct ar_collector_config){
        .source = AR_SOURCE_AUTO,
        .enable = true,
        .backlog_limit = 8192,
        .rcvbuf = 32 << 20,
    };
    ar_output_config_default(&ret->output);
    ar_pipeline_config_default(&ret->pipeline);
    ret->pipeline.source = "netlink";
}

static void on_record(const struct ar_record *rec, void *userdata)
{
    struct collector *c = userdata;
    int r = ar_pipeline_record(c->pipeline, rec, uv_now(c->loop));
    if (r < 0 && !c->exit_code) {
        fprintf(stderr, "auditrelay: output failed: %s\n", strerror(-r));
        c->exit_code = 1;
    }
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

/* The settings to put back survive a SIGKILL in a small state file, so that the next
 * run restores the machine's original values rather than the ones we had set. */
static const char *state_path(void)
{
    const char *p = getenv("AUDITRELAY_STATE_FILE");
    return p && *p ? p : "/run/auditrelay.state";
}

static void state_save(const struct collector *c)
{
    FILE *f = fopen(state_path(), "w");
    if (!f)
        return;
    fprintf(f,
            "pid=%d mask=%u enabled=%u backlog_limit=%u backlog_wait_time=%u rate_limit=%u "
            "failure=%u\n",
            getpid(), c->changed_mask, c->before.enabled, c->before.backlog_limit,
            c->before.backlog_wait_time, c->before.rate_limit, c->before.failure);
    fclose(f);
}

/* Loads what a previous run that died without cleaning up had changed. */
static void state_recover(struct collector *c)
{
    FILE *f = fopen(state_path(), "r");
    if (!f)
        return;
    int pid;
    unsigned mask, enabled, backlog, wait, rate, failure;
    int n = fscanf(f,
                   "pid=%d mask=%u enabled=%u backlog_limit=%u backlog_wait_time=%u "
                   "rate_limit=%u failure=%u",
                   &pid, &mask, &enabled, &backlog, &wait, &rate, &failure);
    fclose(f);
    if (n != 7 || pid == getpid() || process_alive((uint32_t)pid))
        return;
    fprintf(stderr,
            "auditrelay: a previous run (pid %d) stopped without restoring the kernel's audit "
            "settings; they will be restored on exit\n",
            pid);
    c->before.enabled = enabled;
    c->before.backlog_limit = backlog;
    c->before.backlog_wait_time = wait;
    c->before.rate_limit = rate;
    c->before.failure = failure;
    c->changed_mask = mask;
}

static void print_stats(struct collector *c, const char *when)
{
    const struct ar_pipeline_stats *ps = ar_pipeline_stats(c->pipeline);
    const struct ar_reasm_stats *rs = ar_pipeline_reasm_stats(c->pipeline);
    const struct ar_audit_nl_stats *ns = ar_audit_nl_stats(c->nl);
    uint64_t bytes_out = c->outputs_final.bytes_sent, dropped = c->outputs_final.lines_dropped;
    for (size_t i = 0; i < c->outputs.n; i++) {
        struct ar_output_stats os = ar_output_stats(c->outputs.v[i]);
        bytes_out += os.bytes_sent;
        dropped += os.lines_dropped;
    }
    fprintf(stderr,
            "auditrelay: %s: %llu records, %llu events, %llu bytes out, kernel lost %llu, "
            "ENOBUFS %llu, serial gaps %llu (%llu serials), output dropped %llu lines\n",
            when, (unsigned long long)ps->records, (unsigned long long)rs->events,
            (unsigned long long)bytes_out, (unsigned long long)c->kernel_lost,
            (unsigned long long)ns->enobufs, (unsigned long long)rs->gap_events,
            (unsigned long long)rs->lost, (unsigned long long)dropped);
    ar_outputs_print_stats(&c->outputs, stderr);
}

static void check_lost(struct collector *c)
{
    struct audit_status s;
    if (ar_audit_nl_get_status(c->nl, &s) < 0)
        return;
    if (s.lost > c->last_lost) {
        uint32_t n = s.lost - c->last_lost;
        c->kernel_lost += n;
        fprintf(stderr, "auditrelay: the kernel lost %u records (its lost counter is %u)\n", n,
                s.lost);
        ar_pipeline_loss(c->pipeline, "kernel_lost", n, (uint64_t)time(NULL));
    }
    c->last_lost = s.lost;
}

static void on_lost_timer(uv_timer_t *t)
{
    check_lost(t->data);
}

static void on_hup(uv_signal_t *s, int signum)
{
    ar_outputs_reopen();
}

static void on_expire_timer(uv_timer_t *t)
{
    struct collector *c = t->data;
    ar_pipeline_expire(c->pipeline, uv_now(c->loop));
}

static void on_readable(uv_poll_t *p, int status, int events);

static void on_coalesce_timer(uv_timer_t *t)
{
    struct collector *c = t->data;
    if (!c->stopping)
        uv_poll_start(&c->poll, UV_READABLE, on_readable);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct collector *c = p->data;
    uv_poll_stop(&c->poll);
    uv_timer_start(&c->coalesce_timer, on_coalesce_timer, COALESCE_MS, 0);
    uint64_t enobufs = ar_audit_nl_stats(c->nl)->enobufs;
    int r = ar_audit_nl_drain(c->nl);
    if (r < 0) {
        fprintf(stderr, "auditrelay: reading the audit socket failed: %s\n", strerror(-r));
        c->exit_code = 1;
        uv_stop(c->loop);
        return;
    }
    uint64_t more = ar_audit_nl_stats(c->nl)->enobufs - enobufs;
    if (more)
        ar_pipeline_loss(c->pipeline, "enobufs", more, (uint64_t)time(NULL));
    /* Hand complete events to the output now, not when a buffer fills. */
    ar_pipeline_expire(c->pipeline, uv_now(c->loop));
}

static const char *rules_state_path(void)
{
    const char *p = getenv("AUDITRELAY_RULES_STATE_FILE");
    return p && *p ? p : AR_RULES_STATE_PATH;
}

/* Rules go in after our settings and come out before the settings are restored,
 * so no rule of ours runs on the machine's own settings. */
static int install_rules(struct collector *c)
{
    const struct ar_collector_config *cfg = c->cfg;
    /* The default set only when we are the audit daemon: beside auditd, its
     * administrator decides the rules. Rules given explicitly are always loaded. */
    if (cfg->no_rules || (cfg->nrules == 0 && !c->own_pid))
        return 0;
    struct ar_rules_collector_config rcfg = {
        .paths = cfg->rules, .npaths = cfg->nrules, .state_path = rules_state_path()};
    return ar_rules_collector_start(&rcfg, stderr, &c->rules) < 0 ? -1 : 0;
}

static void restore_kernel(struct collector *c)
{
    if (c->rules) {
        ar_rules_collector_stop(c->rules, c->cfg->keep_rules, rules_state_path(), stderr);
        c->rules = NULL;
    }
    if (c->own_pid) {
        struct audit_status s = {.mask = AUDIT_STATUS_PID, .pid = 0};
        int r = ar_audit_nl_set(c->nl, &s);
        if (r < 0)
            fprintf(stderr, "auditrelay: releasing the audit daemon slot failed: %s\n",
                    strerror(-r));
        c->own_pid = false;
    }
    if (c->changed_mask) {
        struct audit_status s = c->before;
        s.mask = c->changed_mask;
        int r = ar_audit_nl_set(c->nl, &s);
        if (r < 0)
            fprintf(stderr, "auditrelay: restoring the kernel's audit settings failed: %s\n",
                    strerror(-r));
        c->changed_mask = 0;
    }
    if (c->unicast)
        unlink(state_path());
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, close_cb);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
    struct collector *c = s->data;
    if (c->stopping)
        return;
    c->stopping = true;
    /* Stop reading, take what the socket still holds, complete what is in flight,
     * give the slot and settings back, then let the output drain. */
    uv_poll_stop(&c->poll);
    ar_audit_nl_drain(c->nl);
    restore_kernel(c);
    check_lost(c);
    ar_pipeline_flush(c->pipeline);
    uv_close((uv_handle_t *)&c->poll, close_cb);
    uv_close((uv_handle_t *)&c->expire_timer, close_cb);
    uv_close((uv_handle_t *)&c->lost_timer, close_cb);
    uv_close((uv_handle_t *)&c->coalesce_timer, close_cb);
    uv_close((uv_handle_t *)&c->sigint, close_cb);
    uv_close((uv_handle_t *)&c->sigterm, close_cb);
    uv_close((uv_handle_t *)&c->sigusr1, close_cb);
    uv_close((uv_handle_t *)&c->sighup, close_cb);
}

static void on_usr1(uv_signal_t *s, int signum)
{
    print_stats(s->data, "stats");
}

/* Frees the slot held by a live daemon when the user asked for it: SIGTERM, then
 * wait for the kernel to see the slot empty. */
static int take_over(struct collector *c, uint32_t pid)
{
    if (kill((pid_t)pid, SIGTERM) < 0)
        return -errno;
    for (int i = 0; i < 100; i++) {
        struct audit_status s;
        usleep(50 * 1000);
        if (ar_audit_nl_get_status(c->nl, &s) == 0 && (s.pid == 0 || !process_alive(s.pid)))
            return 0;
    }
    return -ETIMEDOUT;
}

static int claim_slot(struct collector *c)
{
    struct audit_status s = {.mask = AUDIT_STATUS_PID, .pid = (uint32_t)getpid()};
    int r;
    /* After a daemon dies (SIGKILL) the kernel keeps its slot until a send to it
     * fails; our own attempt logs a record that makes it notice. Retry briefly. */
    for (int i = 0; i < 30; i++) {
        r = ar_audit_nl_set(c->nl, &s);
        if (r != -EEXIST)
            break;
        struct audit_status now;
        if (ar_audit_nl_get_status(c->nl, &now) == 0 && process_alive(now.pid) &&
            now.pid != (uint32_t)getpid())
            break;
        usleep(100 * 1000);
    }
    return r;
}

static int setup_source(struct collector *c)
{
    const struct ar_collector_config *cfg = c->cfg;
    int r = ar_audit_nl_open(cfg->source == AR_SOURCE_MULTICAST ? AR_AUDIT_NL_MULTICAST
                                                                : AR_AUDIT_NL_UNICAST,
                             cfg->rcvbuf, on_record, c, &c->nl);
    if (r < 0) {
        fprintf(stderr, "auditrelay: cannot open the kernel audit socket: %s%s\n", strerror(-r),
                r == -EPROTONOSUPPORT ? " (this kernel has no audit support)"
                : r == -EPERM         ? " (run as root: CAP_AUDIT_CONTROL and CAP_AUDIT_READ)"
                                      : "");
        return -1;
    }
    r = ar_audit_nl_get_status(c->nl, &c->before);
    if (r < 0) {
        fprintf(stderr, "auditrelay: cannot read the kernel's audit status: %s\n", strerror(-r));
        return -1;
    }
    c->last_lost = c->before.lost;
    uint32_t owner = c->before.pid;
    bool owner_alive = owner && owner != (uint32_t)getpid() && process_alive(owner);
    char name[64] = "";
    if (owner_alive)
        process_name(owner, name, sizeof(name));
    if (cfg->source == AR_SOURCE_MULTICAST) {
        fprintf(stderr, "auditrelay: reading the multicast audit log group (read only)\n");
        return 0;
    }
    if (owner_alive && cfg->takeover) {
        fprintf(stderr, "auditrelay: taking the audit daemon slot from pid %u (%s)\n", owner,
                name);
        if ((r = take_over(c, owner)) < 0) {
            fprintf(stderr, "auditrelay: pid %u (%s) did not release the slot: %s\n", owner,
                    name, strerror(-r));
            return -1;
        }
        owner_alive = false;
    }
    if (owner_alive) {
        if (cfg->source == AR_SOURCE_UNICAST) {
            fprintf(stderr,
                    "auditrelay: the audit daemon slot is held by pid %u (%s). Use --source "
                    "multicast to read beside it, or --takeover to replace it (it is sent "
                    "SIGTERM).\n",
                    owner, name);
            return -1;
        }
        fprintf(stderr,
                "auditrelay: the audit daemon slot is held by pid %u (%s): reading the "
                "multicast group beside it (read only)\n",
                owner, name);
        ar_audit_nl_close(c->nl);
        c->nl = NULL;
        r = ar_audit_nl_open(AR_AUDIT_NL_MULTICAST, cfg->rcvbuf, on_record, c, &c->nl);
        if (r < 0) {
            fprintf(stderr, "auditrelay: cannot join the audit multicast group: %s\n",
                    strerror(-r));
            return -1;
        }
        return 0;
    }
    r = claim_slot(c);
    if (r < 0) {
        fprintf(stderr, "auditrelay: cannot take the audit daemon slot: %s\n", strerror(-r));
        return -1;
    }
    c->own_pid = true;
    c->unicast = true;
    state_recover(c);
    struct audit_status s = {0};
    if (cfg->enable && c->before.enabled == 0) {
        s.mask |= AUDIT_STATUS_ENABLED;
        s.enabled = 1;
    }
    if (cfg->backlog_limit && cfg->backlog_limit != c->before.backlog_limit) {
        s.mask |= AUDIT_STATUS_BACKLOG_LIMIT;
        s.backlog_limit = cfg->backlog_limit;
    }
    if (cfg->set_backlog_wait_time && cfg->backlog_wait_time != c->before.backlog_wait_time) {
        s.mask |= AUDIT_STATUS_BACKLOG_WAIT_TIME;
        s.backlog_wait_time = cfg->backlog_wait_time;
    }
    if (cfg->set_failure && cfg->failure != c->before.failure) {
        s.mask |= AUDIT_STATUS_FAILURE;
        s.failure = cfg->failure;
    }
    if (cfg->set_rate_limit && cfg->rate_limit != c->before.rate_limit) {
        s.mask |= AUDIT_STATUS_RATE_LIMIT;
        s.rate_limit = cfg->rate_limit;
    }
    if (s.mask) {
        r = ar_audit_nl_set(c->nl, &s);
        if (r < 0) {
            fprintf(stderr, "auditrelay: cannot change the kernel's audit settings: %s%s\n",
                    strerror(-r),
                    c->before.enabled == 2 ? " (the configuration is locked: enabled=2)" : "");
            if (c->before.enabled != 2)
                return -1;
        } else {
            c->changed_mask |= s.mask;
        }
    }
    state_save(c);
    c->backlog_limit = (s.mask & AUDIT_STATUS_BACKLOG_LIMIT) ? s.backlog_limit
                                                             : c->before.backlog_limit;
    return 0;
}

int ar_collector_run(const struct ar_collector_config *cfg)
{
    struct collector c = {.cfg = cfg, .loop = uv_default_loop()};
    struct ar_output_config ocfg = cfg->output;
    ocfg.policy = AR_OUTPUT_DROP; /* the kernel cannot wait for a slow output */
    int r = ar_outputs_open(&c.outputs, cfg->outputs, cfg->noutputs, &ocfg);
    if (r < 0)
        return 1;
    struct ar_pipeline_config pcfg = cfg->pipeline;
    pcfg.sink = (struct ar_sink){
        .write = ar_outputs_write, .dropped = ar_outputs_sink_dropped, .ctx = &c.outputs};
    r = ar_pipeline_new(&pcfg, &c.pipeline);
    if (r < 0) {
        fprintf(stderr, "auditrelay: cannot set up the pipeline: %s\n", strerror(-r));
        ar_outputs_close(&c.outputs, 0, false, NULL);
        return 1;
    }
    int setup = setup_source(&c);
    if (setup == 0)
        setup = install_rules(&c);
    /* Said once everything is in place: tests and users wait for this line. */
    if (setup == 0 && c.own_pid)
        fprintf(stderr, "auditrelay: collecting as the audit daemon (pid %d, backlog_limit %u)\n",
                getpid(), c.backlog_limit);
    if (setup < 0) {
        restore_kernel(&c);
        ar_audit_nl_close(c.nl);
        ar_pipeline_free(c.pipeline);
        ar_outputs_close(&c.outputs, 0, false, NULL);
        return 1;
    }
    uv_poll_init(c.loop, &c.poll, ar_audit_nl_fd(c.nl));
    c.poll.data = &c;
    uv_poll_start(&c.poll, UV_READABLE, on_readable);
    uv_timer_init(c.loop, &c.expire_timer);
    c.expire_timer.data = &c;
    uv_timer_start(&c.expire_timer, on_expire_timer, EXPIRE_INTERVAL_MS, EXPIRE_INTERVAL_MS);
    uv_timer_init(c.loop, &c.coalesce_timer);
    c.coalesce_timer.data = &c;
    uv_timer_init(c.loop, &c.lost_timer);
    c.lost_timer.data = &c;
    uv_timer_start(&c.lost_timer, on_lost_timer, LOST_POLL_MS, LOST_POLL_MS);
    uv_signal_init(c.loop, &c.sigint);
    uv_signal_init(c.loop, &c.sigterm);
    uv_signal_init(c.loop, &c.sigusr1);
    uv_signal_init(c.loop, &c.sighup);
    c.sigint.data = c.sigterm.data = c.sigusr1.data = c.sighup.data = &c;
    uv_signal_start(&c.sighup, on_hup, SIGHUP);
    uv_signal_start(&c.sigint, on_stop_signal, SIGINT);
    uv_signal_start(&c.sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&c.sigusr1, on_usr1, SIGUSR1);
    /* Runs until the stop signal closed every handle and the output wrote all. */
    uv_run(c.loop, UV_RUN_DEFAULT);
    if (!c.stopping) {
        /* The loop stopped on an error: still give the slot back. */
        restore_kernel(&c);
        ar_pipeline_flush(c.pipeline);
        uv_walk(c.loop, close_walk, NULL);
        uv_run(c.loop, UV_RUN_DEFAULT);
    }
    /* Outputs get a few seconds to send what is queued; a TCP peer that is down
     * keeps its share in the spool for the next run. */
    ar_outputs_close(&c.outputs, 5000, true, &c.outputs_final);
    print_stats(&c, "exit");
    ar_pipeline_free(c.pipeline);
    ar_audit_nl_close(c.nl);
    uv_loop_close(c.loop);
    return c.exit_code;
}
