#include "collector.h"
#include "notify.h"
#include "procfeed.h"
#include "privileges.h"
#include "syscall_filter.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "metrics/metrics.h"
#include "pipeline/procfs.h"
#include "rules/files.h"
#include "sources/source.h"

#define EXPIRE_INTERVAL_MS 100

struct collector {
    const struct ar_collector_config *cfg;
    uv_loop_t *loop;
    const struct ar_source_ops *ops;
    void *source;
    struct ar_pipeline *pipeline;
    struct ar_outputs outputs;
    struct ar_output_stats outputs_final; /* once the outputs are closed */
    uv_timer_t expire_timer;
    uv_signal_t sigint, sigterm, sigusr1, sighup;
    /* A replay's stop signals (watch_stop_signals): the watcher thread and the
     * handle it wakes the loop with, closed under stop_lock. */
    pthread_t stop_watcher;
    bool watching;
    uv_async_t stop_async;
    pthread_mutex_t stop_lock;
    bool stop_async_closed;
    bool run_over;                /* under stop_lock: the watcher ends */
    struct ar_metrics *metrics;   /* NULL when off */
    struct ar_metrics_output metrics_outputs[AR_MAX_OUTPUTS]; /* collect_metrics' */
    struct ar_notify *notify;     /* systemd's READY/WATCHDOG/STOPPING (notify.c) */
    struct ar_identity as;        /* --user: who we become after start-up */
    bool stopping;
    bool interrupted;             /* stopped by SIGINT/SIGTERM, not by its input's end */
    int exit_code;
    /* Configurations reloads read: the source and outputs may point into them. */
    struct reloaded *reloaded;
    uint64_t reloads, reloads_failed;
    struct ar_filter *filter;     /* the start's filters, compiled (NULL: none) */
    struct ar_procfeed *feed;     /* forks, execs, exits for the process table */
    struct ar_collector_config with_feed; /* cfg with the feed's rules (audit way) */
};

struct reloaded {
    struct reloaded *next;
    struct ar_collector_config cfg;
    struct ar_filter *filter;     /* its filters, compiled */
};

void ar_filter_env_host(struct ar_filter_env *ret)
{
    struct ar_rules_env host;
    ar_rules_env_host(&host);
    *ret = (struct ar_filter_env){host.user_id, host.group_id, host.userdata};
}

/* The configuration's filters (NULL when none); errors said on stderr after who. */
static int compile_filters_as(const struct ar_collector_config *cfg, const char *who,
                              struct ar_filter **ret)
{
    struct ar_filter_env env;
    ar_filter_env_host(&env);
    char why[400];
    int r = ar_filter_compile(&env, cfg->filters, cfg->nfilters, ret, why, sizeof(why));
    if (r == 0 && ar_filter_uses_labels(*ret)) {
        /* The labels the process table's rules give ("NAME:kind:PATTERN"). */
        char names[AR_PROC_MAX_LABELS][128];
        const char *list[AR_PROC_MAX_LABELS];
        size_t n = cfg->pipeline.nprocess_labels;
        for (size_t i = 0; i < n && i < AR_PROC_MAX_LABELS; i++) {
            snprintf(names[i], sizeof(names[i]), "%.*s",
                     (int)strcspn(cfg->pipeline.process_labels[i], ":"),
                     cfg->pipeline.process_labels[i]);
            list[i] = names[i];
        }
        if (!cfg->pipeline.process)
            r = -EINVAL, snprintf(why, sizeof(why), "label filters need the process table "
                                                    "(--no-process-context turns it off)");
        else
            r = ar_filter_check_labels(*ret, list, n < AR_PROC_MAX_LABELS ? n : AR_PROC_MAX_LABELS,
                                       why, sizeof(why));
        if (r < 0) {
            ar_filter_free(*ret);
            *ret = NULL;
        }
    }
    if (r < 0)
        fprintf(stderr, "%s: %s\n", who, r == -EINVAL ? why : strerror(-r));
    return r;
}

static int compile_filters(const struct ar_collector_config *cfg, struct ar_filter **ret)
{
    return compile_filters_as(cfg, "auditrelay: filters", ret);
}

int ar_collector_check_filters(const struct ar_collector_config *cfg, const char *who)
{
    struct ar_filter *f;
    int r = compile_filters_as(cfg, who, &f);
    ar_filter_free(f);
    return r;
}

void ar_collector_config_default(struct ar_collector_config *ret)
{
    *ret = (struct ar_collector_config){
        .source = AR_SOURCE_AUTO,
        .enable = true,
        .install_rules = true,
        .backlog_limit = 8192,
        .rcvbuf = 32 << 20,
    };
    ar_output_config_default(&ret->output);
    ar_pipeline_config_default(&ret->pipeline);
}

static const char *const source_names[] = {
    [AR_SOURCE_UNICAST] = "unicast",
    [AR_SOURCE_MULTICAST] = "multicast",
    [AR_SOURCE_TRACEPOINT] = "tracepoint",
    [AR_SOURCE_REPLAY] = "replay",
};

static void stop(struct collector *c);
static int refuse_exec_under_seccomp(const struct ar_collector_config *cfg);

/* The sink the source calls. */
static int sink_record(void *ctx, const struct ar_record *rec)
{
    struct collector *c = ctx;
    /* The table hears of every fork and exec before a record of the process. */
    ar_procfeed_sync(c->feed);
    return ar_pipeline_record(c->pipeline, rec, c->ops->live ? uv_now(c->loop) : 0);
}

static int sink_end_event(void *ctx, const struct ar_record *rec)
{
    struct collector *c = ctx;
    return ar_pipeline_end_event(c->pipeline, rec);
}

static int sink_line(void *ctx, const char *p, size_t len)
{
    struct collector *c = ctx;
    return ar_pipeline_line(c->pipeline, p, len);
}

static void sink_loss(void *ctx, const char *kind, uint64_t count)
{
    struct collector *c = ctx;
    ar_pipeline_loss(c->pipeline, kind, count, (uint64_t)time(NULL));
}

/* Hands complete live events out and completes those idle for a while, unless the
 * source has data waiting: then their missing records may be in it (the collector
 * was starved of CPU, or a read was cut short), and the next read comes first. */
static void expire_idle(struct collector *c)
{
    if (c->ops->has_pending && c->ops->has_pending(c->source))
        ar_pipeline_hand_out(c->pipeline);
    else
        ar_pipeline_expire(c->pipeline, uv_now(c->loop));
}

static void sink_batch_end(void *ctx)
{
    struct collector *c = ctx;
    /* Hand complete events to the outputs now, not when a buffer fills. */
    if (c->ops->live)
        expire_idle(c);
    else
        ar_pipeline_hand_out(c->pipeline);
}

/* Every output failed for good (err < 0): exit 1. EPIPE: the reader of stdout left
 * (`| head`): not our error. */
static void output_failed(struct collector *c, int err)
{
    if (err < 0 && err != -EPIPE && !c->exit_code) {
        fprintf(stderr, "auditrelay: output failed: %s\n", strerror(-err));
        c->exit_code = 1;
    }
}

static void sink_done(void *ctx, int err)
{
    struct collector *c = ctx;
    output_failed(c, err);
    stop(c);
}

/* The filters' counters: the totals, then what each filter decided. */
static void print_filter_stats(const struct ar_filter *f, FILE *out)
{
    if (!f)
        return;
    const struct ar_filter_stats *st = ar_filter_stats(f);
    fprintf(out, "auditrelay: filters: %llu events, %llu dropped, %llu kept",
            (unsigned long long)st->events, (unsigned long long)st->dropped,
            (unsigned long long)(st->events - st->dropped));
    if (st->unexamined)
        fprintf(out, " (%llu of them unexamined: out of memory)",
                (unsigned long long)st->unexamined);
    fputc('\n', out);
    struct ar_filter_info in;
    for (size_t i = 0; ar_filter_info(f, i, &in); i++)
        fprintf(out, "auditrelay: filter %zu '%s': %llu event%s %s\n", i + 1, in.text,
                (unsigned long long)in.matched, in.matched == 1 ? "" : "s",
                in.drop ? "dropped" : "kept");
    if (ar_filter_info(f, ar_filter_count(f) - 1, &in))
        fprintf(out, "auditrelay: no filter matched: %llu event%s %s\n",
                (unsigned long long)st->unmatched, st->unmatched == 1 ? "" : "s",
                in.drop ? "kept" : "dropped");
}

static void print_proctab_stats(const struct ar_proctab_stats *st, FILE *out)
{
    if (!st)
        return;
    fprintf(out,
            "auditrelay: process table: %llu of %llu entries in use (%llu bytes reserved at "
            "start), %llu made, %llu reused, %llu events whose process was reused before "
            "they completed, %llu not tracked (too many in flight), %llu ancestor chains cut "
            "by a reused parent entry, %llu /proc lookups (%llu found nothing, %llu a newer "
            "process)\n",
            (unsigned long long)st->entries, (unsigned long long)st->size,
            (unsigned long long)st->memory_bytes, (unsigned long long)st->created,
            (unsigned long long)st->evicted, (unsigned long long)st->lost,
            (unsigned long long)st->pending_full, (unsigned long long)st->chains_cut,
            (unsigned long long)st->proc_lookups, (unsigned long long)st->proc_unknown,
            (unsigned long long)st->proc_reused);
}

/* What reassembly and the encoder met, whatever the source: said when any is. */
static void print_pipeline_conditions(const struct ar_pipeline *p, FILE *out)
{
    const struct ar_reasm_stats *rs = ar_pipeline_reasm_stats(p);
    const struct ar_encoder_stats *es = ar_pipeline_encoder_stats(p);
    const struct {
        uint64_t n;
        const char *what;
    } conditions[] = {
        {rs->evicted, "events evicted (too many in flight)"},
        {rs->dropped_records, "records over the per-event caps"},
        {es->field_overflow, "records over the field cap"},
        {es->unterminated, "unterminated quotes"},
        {es->invalid_utf8, "values not UTF-8 (kept as hex)"},
        {rs->serial_resets, "serial restarts"},
        {rs->stray_eoe, "stray EOE"},
    };
    uint64_t any = 0;
    for (size_t i = 0; i < AR_ARRAY_SIZE(conditions); i++)
        any |= conditions[i].n;
    if (!any)
        return;
    fputs("auditrelay:", out);
    for (size_t i = 0; i < AR_ARRAY_SIZE(conditions); i++)
        fprintf(out, "%s %llu %s", i ? "," : "", (unsigned long long)conditions[i].n,
                conditions[i].what);
    fputc('\n', out);
}

static void print_stats(struct collector *c, const char *when)
{
    const struct ar_pipeline_stats *ps = ar_pipeline_stats(c->pipeline);
    struct ar_source_counts counts = {
        .records = ps->records,
        .events = ar_pipeline_reasm_stats(c->pipeline)->events,
        .bytes_out = c->outputs_final.bytes_sent,
        .output_dropped = c->outputs_final.lines_dropped,
        .reasm = ar_pipeline_reasm_stats(c->pipeline),
    };
    for (size_t i = 0; i < c->outputs.n; i++) {
        struct ar_output_stats os = ar_output_stats(c->outputs.v[i]);
        counts.bytes_out += os.bytes_sent;
        counts.output_dropped += os.lines_dropped;
    }
    c->ops->print_stats(c->source, &counts, when, stderr);
    print_pipeline_conditions(c->pipeline, stderr);
    print_filter_stats(ar_pipeline_filter(c->pipeline), stderr);
    print_proctab_stats(ar_pipeline_proctab_stats(c->pipeline), stderr);
    ar_procfeed_print_stats(c->feed, stderr);
    if (ps->feed_events)
        fprintf(stderr, "auditrelay: %llu events of the process feed's own rules went to the "
                        "process table only\n", (unsigned long long)ps->feed_events);
    if (c->ops->live)
        ar_outputs_print_stats(&c->outputs, stderr);
}

/* The metrics page's counters (metrics/metrics.h), on the loop thread. */
static void collect_metrics(void *ctx, struct ar_metrics_snapshot *ret)
{
    struct collector *c = ctx;
    struct ar_metrics_output *outs = c->metrics_outputs;
    ret->source = c->ops->name;
    ret->pipeline = *ar_pipeline_stats(c->pipeline);
    ret->reasm = *ar_pipeline_reasm_stats(c->pipeline);
    ret->encoder = *ar_pipeline_encoder_stats(c->pipeline);
    ret->in_flight = ar_pipeline_in_flight(c->pipeline);
    ret->filter = ar_pipeline_filter(c->pipeline);
    const struct ar_proctab_stats *pt = ar_pipeline_proctab_stats(c->pipeline);
    ret->has_proctab = pt != NULL;
    if (pt)
        ret->proctab = *pt;
    if (c->ops->metrics)
        c->ops->metrics(c->source, &ret->src);
    size_t n = c->outputs.n < AR_MAX_OUTPUTS ? c->outputs.n : AR_MAX_OUTPUTS;
    for (size_t i = 0; i < n; i++) {
        outs[i].name = ar_output_name(c->outputs.v[i]);
        outs[i].stats = ar_output_stats(c->outputs.v[i]);
    }
    ret->outputs = outs;
    ret->noutputs = n;
}

/* What a reload cannot change, said instead of silently ignored. */
static void say_restart_needed(const struct ar_collector_config *a,
                               const struct ar_collector_config *b)
{
    const char *what = a->source != b->source                       ? "source"
                       : a->tracepoint_engine != b->tracepoint_engine ? "tracepoint_engine"
                       : a->tracepoint_ring != b->tracepoint_ring     ? "tracepoint_ring"
                       : a->pipeline.format != b->pipeline.format     ? "format"
                       : a->pipeline.resolve_ids != b->pipeline.resolve_ids ? "resolve"
                       : a->keep_rules != b->keep_rules               ? "keep_rules"
                       : strcmp(a->user ? a->user : "", b->user ? b->user : "") ? "user"
                       : a->seccomp != b->seccomp                     ? "seccomp"
                       : a->process_feed != b->process_feed           ? "process_feed"
                       : a->metrics.on != b->metrics.on ||
                               memcmp(&a->metrics.addr, &b->metrics.addr, sizeof(a->metrics.addr))
                                                                      ? "metrics"
                                                                      : NULL;
    if (what)
        fprintf(stderr, "auditrelay: reload: %s changes only on a restart: kept as it was\n",
                what);
}

/* SIGHUP: file outputs reopen (logrotate), and with a configuration to read again,
 * a reload: the new configuration, its rules and outputs are checked and opened
 * first; only when all of that worked are the rules swapped (the source keeps the
 * rules both have loaded throughout) and the outputs switched between two writes
 * (outputs whose spec did not change go on untouched; the others close after
 * sending their queues). On any error the old ones stay, and stderr says why. */
static void reload(struct collector *c)
{
    ar_outputs_reopen();
    if (!c->cfg->reload || !c->ops->live || c->stopping)
        return;
    struct reloaded *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    c->reloads++;
    fprintf(stderr, "auditrelay: reloading the configuration (SIGHUP)\n");
    struct ar_outputs next;
    const char *failed = NULL;
    int built = c->cfg->reload(&r->cfg);
    /* The process feed keeps the way it started with (and its rules). */
    r->cfg.process_feed_rules = c->cfg->process_feed_rules;
    if (built < 0 || compile_filters(&r->cfg, &r->filter) < 0)
        failed = "the configuration has errors";
    else if (c->cfg->seccomp && refuse_exec_under_seccomp(&r->cfg) < 0)
        failed = "an exec: output cannot run under the system call filter";
    else if (ar_outputs_prepare(&c->outputs, r->cfg.outputs, r->cfg.noutputs, &r->cfg.output,
                                &next) < 0)
        failed = "an output cannot be opened";
    else if (c->ops->reload && c->ops->reload(c->source, &r->cfg) < 0) {
        ar_outputs_abort(&c->outputs, &next);
        failed = "the rules could not be applied";
    }
    if (failed) {
        ar_filter_free(r->filter);
        c->reloads_failed++;
        fprintf(stderr, "auditrelay: reload: %s (above): the running configuration stays\n",
                failed);
        free(r);
        return;
    }
    say_restart_needed(c->cfg, &r->cfg);
    if (!c->ops->reload && (r->cfg.nrules || c->cfg->nrules))
        fprintf(stderr, "auditrelay: reload: the %s source keeps its rules until a restart\n",
                c->ops->name);
    size_t before = c->outputs.n;
    bool eoe = ar_outputs_want_eoe(&c->outputs);
    ar_outputs_commit(&c->outputs, &next, 5000);
    if (ar_outputs_want_eoe(&c->outputs) != eoe)
        fprintf(stderr, "auditrelay: reload: EOE records (for exec: outputs) %s only after a "
                        "restart\n", eoe ? "stop" : "start");
    /* Between two events: the next one meets the new filters. */
    ar_pipeline_set_filter(c->pipeline, r->filter);
    r->next = c->reloaded;
    c->reloaded = r;
    c->cfg = &r->cfg;
    fprintf(stderr, "auditrelay: reload done: %zu output%s (%zu before), %zu filter%s\n",
            c->outputs.n, c->outputs.n == 1 ? "" : "s", before,
            ar_filter_count(r->filter), ar_filter_count(r->filter) == 1 ? "" : "s");
}

static void on_hup(uv_signal_t *s, int signum)
{
    reload(s->data);
}

static void on_usr1(uv_signal_t *s, int signum)
{
    print_stats(s->data, "stats");
}

static void on_expire_timer(uv_timer_t *t)
{
    expire_idle(t->data);
}

/* Stop the source (it takes what is pending and puts the host back), complete what
 * is in flight, close our handles: the loop then ends and the outputs drain. */
static void stop(struct collector *c)
{
    if (c->stopping)
        return;
    c->stopping = true;
    ar_notify_stopping(c->notify);
    c->notify = NULL;
    c->ops->stop(c->source);
    ar_procfeed_stop(c->feed);
    output_failed(c, ar_pipeline_flush(c->pipeline));
    ar_metrics_stop(c->metrics);
    if (c->ops->live)
        uv_close((uv_handle_t *)&c->expire_timer, NULL);
    uv_close((uv_handle_t *)&c->sigint, NULL);
    uv_close((uv_handle_t *)&c->sigterm, NULL);
    if (!c->ops->live) {
        pthread_mutex_lock(&c->stop_lock);
        c->stop_async_closed = true;
        uv_close((uv_handle_t *)&c->stop_async, NULL);
        pthread_mutex_unlock(&c->stop_lock);
    }
    uv_close((uv_handle_t *)&c->sigusr1, NULL);
    uv_close((uv_handle_t *)&c->sighup, NULL);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
    struct collector *c = s->data;
    c->interrupted = true;
    stop(c);
}

static void on_stop_async(uv_async_t *a)
{
    struct collector *c = a->data;
    c->interrupted = true;
    stop(c);
}

/* A replay's SIGINT and SIGTERM, on a thread of their own. A replay waits on the
 * loop's thread for an output that has no room (policy block), where the loop's
 * signal handlers never ran: Ctrl-C did nothing while a peer was not reading. This
 * thread makes the outputs stop waiting (ar_outputs_interrupt: what finds no room is
 * dropped and counted), then asks the loop to stop. */
static void *watch_stop_signals(void *arg)
{
    struct collector *c = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        pthread_mutex_lock(&c->stop_lock);
        bool over = c->run_over;
        if (!over && !c->stop_async_closed)
            uv_async_send(&c->stop_async);
        pthread_mutex_unlock(&c->stop_lock);
        if (over)
            return NULL;
        ar_outputs_interrupt(&c->outputs);
    }
}

static void stop_watching(struct collector *c)
{
    if (!c->watching)
        return;
    pthread_mutex_lock(&c->stop_lock);
    c->run_over = true;
    pthread_mutex_unlock(&c->stop_lock);
    pthread_kill(c->stop_watcher, SIGTERM);
    pthread_join(c->stop_watcher, NULL);
    c->watching = false;
}

/* Everything is open: keep only what the source and outputs still need, and with
 * --user become that user. Threads created before this keep what they had
 * (capabilities are per thread): the outputs' writers, the metrics server and
 * replay's encoders start after it. Returns -1 when --user could not be honoured
 * (we would go on as root: the run stops instead). */
static int drop_capabilities(struct collector *c, uint64_t source_caps)
{
    uint64_t keep = source_caps | ar_outputs_capabilities(&c->outputs, !c->as.set);
    char why[256], names[256];
    int r = ar_keep_capabilities(keep, &c->as, why, sizeof(why));
    if (r < 0 && c->as.set) {
        fprintf(stderr, "auditrelay: --user %s: %s\n", c->cfg->user, why);
        return -1;
    }
    if (r < 0) {
        fprintf(stderr, "auditrelay: %s\n", why);
    } else if (r == 0 && c->cfg->source != AR_SOURCE_REPLAY) {
        ar_capabilities_names(keep, names, sizeof(names));
        if (c->as.set)
            fprintf(stderr, "auditrelay: running as %s (uid %u, gid %u); capabilities kept: "
                    "%s (every other one dropped)\n", c->as.name, (unsigned)c->as.uid,
                    (unsigned)c->as.gid, names);
        else
            fprintf(stderr, "auditrelay: capabilities kept: %s (every other one dropped)\n",
                    names);
    } else if (r == 1 && c->as.set) {
        fprintf(stderr, "auditrelay: --user %s needs root to start\n", c->cfg->user);
        return -1;
    }
    return 0;
}

/* A plugin would inherit the filter (seccomp filters pass through fork and execve)
 * and die at its first call outside our list: exec: outputs and --seccomp exclude
 * each other, at start and on a reload. */
static int refuse_exec_under_seccomp(const struct ar_collector_config *cfg)
{
    for (size_t i = 0; i < cfg->noutputs; i++)
        if (strncmp(cfg->outputs[i], "exec:", 5) == 0) {
            fprintf(stderr, "auditrelay: --seccomp: output '%s': a plugin would inherit the "
                            "system call filter; run exec: outputs without --seccomp\n",
                    cfg->outputs[i]);
            return -1;
        }
    return 0;
}

/* --seccomp once every thread runs (the filter goes to all of them at once). */
static int install_seccomp(struct collector *c)
{
    if (!c->cfg->seccomp)
        return 0;
    struct ar_seccomp_needs needs = {.tracepoint = strcmp(c->ops->name, "tracepoint") == 0,
                                     .bpf = ar_procfeed_uses_bpf(c->feed)};
    char why[256];
    if (ar_seccomp_install(&needs, why, sizeof(why)) < 0) {
        fprintf(stderr, "auditrelay: %s\n", why);
        return -1;
    }
    fprintf(stderr, "auditrelay: system call filter on (seccomp): other calls kill the "
                    "process\n");
    return 0;
}

/* --user: who to become, and the run directory given to it, checked before
 * anything is opened (a user that does not exist changes nothing). */
static int prepare_identity(struct collector *c)
{
    const struct ar_collector_config *cfg = c->cfg;
    char why[256];
    if (cfg->seccomp && refuse_exec_under_seccomp(cfg) < 0)
        return -1;
    if (cfg->user && cfg->source == AR_SOURCE_REPLAY) {
        fprintf(stderr, "auditrelay: --user is for the live collector\n");
        return -1;
    }
    if (cfg->user && ar_identity_lookup(cfg->user, &c->as, why, sizeof(why)) < 0) {
        fprintf(stderr, "auditrelay: %s\n", why);
        return -1;
    }
    if (cfg->user && geteuid() != 0) {
        fprintf(stderr, "auditrelay: --user %s needs root to start\n", cfg->user);
        return -1;
    }
    if (cfg->source != AR_SOURCE_REPLAY && ar_run_dir_prepare(&c->as, why, sizeof(why)) < 0) {
        fprintf(stderr, "auditrelay: %s\n", why);
        return -1;
    }
    return 0;
}

/* True for the errors that mean "this source cannot run on this host". */
static bool unusable(int r)
{
    return r == -EPROTONOSUPPORT || r == -EPERM || r == -EACCES || r == -EEXIST ||
           r == -ENOSYS || r == -EAFNOSUPPORT || r == -ECONNREFUSED;
}

/* Opens the configured source; auto prefers audit and falls back to the
 * tracepoint source when audit cannot serve here, saying why. */
static int open_source(struct collector *c, const struct ar_source_sink *sink)
{
    const struct ar_collector_config *cfg = c->cfg;
    char why[512] = "";
    const char *name = cfg->source == AR_SOURCE_AUTO ? "unicast" : source_names[cfg->source];
    c->ops = ar_source_find(name);
    int r = c->ops->open(cfg, sink, why, sizeof(why), &c->source);
    if (r < 0 && cfg->source == AR_SOURCE_AUTO && unusable(r)) {
        fprintf(stderr, "auditrelay: audit cannot be used here (%s): using the tracepoint "
                        "source instead\n", why);
        why[0] = 0;
        c->ops = ar_source_find("tracepoint");
        r = c->ops->open(cfg, sink, why, sizeof(why), &c->source);
    }
    if (r < 0) {
        fprintf(stderr, "auditrelay: %s\n", why[0] ? why : strerror(-r));
        c->source = NULL;
    }
    return r;
}

int ar_collector_run(const struct ar_collector_config *cfg)
{
    struct collector c = {.cfg = cfg, .loop = uv_default_loop()};
    /* The stop signals wait until their handlers are in place: a source says
     * "collecting" when it has opened, and a SIGTERM sent on that line before the
     * handlers existed killed the collector without putting anything back (the
     * compatibility lab's 6.1 guest: 2 of about 45 runs of case_refuse_when_owned).
     * Threads started meanwhile (the outputs') inherit the mask and never take them. */
    sigset_t held, old_mask;
    sigemptyset(&held);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGHUP);
    sigaddset(&held, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &held, &old_mask);
    if (prepare_identity(&c) < 0) {
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        return 1;
    }
    /* With --user the outputs open with its rights (privileges.h): files and spools
     * it could not reopen or rotate later are refused now. */
    int r = ar_identity_enter(&c.as);
    if (r < 0)
        fprintf(stderr, "auditrelay: --user %s: cannot take its identity: %s\n", cfg->user,
                strerror(-r));
    else {
        r = ar_outputs_open(&c.outputs, cfg->outputs, cfg->noutputs, &cfg->output);
        int left = ar_identity_leave();
        if (r < 0 && c.as.set)
            fprintf(stderr, "auditrelay: (outputs are opened as --user %s)\n", cfg->user);
        if (left < 0 && r == 0) {
            fprintf(stderr, "auditrelay: --user %s: cannot return to root: %s\n", cfg->user,
                    strerror(-left));
            ar_outputs_close(&c.outputs, 0, false, NULL);
            r = left;
        }
    }
    if (r < 0) {
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        return cfg->source == AR_SOURCE_REPLAY ? 2 : 1;
    }
    /* Bound before the source touches the kernel: a bad address changes nothing. */
    if (cfg->metrics.on &&
        ar_metrics_new(&cfg->metrics, cfg->source == AR_SOURCE_REPLAY ? NULL : ar_metrics_run_file(),
                       &c.metrics) < 0) {
        ar_outputs_close(&c.outputs, 0, false, NULL);
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        return 1;
    }
    struct ar_source_sink sink = {
        .record = sink_record,
        .line = sink_line,
        .end_event = sink_end_event,
        .loss = sink_loss,
        .batch_end = sink_batch_end,
        .done = sink_done,
        .ctx = &c,
    };
    /* Replay needs no capability at all: dropped before its encoding threads. */
    if (cfg->source == AR_SOURCE_REPLAY)
        drop_capabilities(&c, 0);
    /* The pipeline needs the source's name for the events: open the source first.
     * Records a source reads while opening (the slot claim) wait in its socket. */
    struct ar_pipeline_config pcfg = cfg->pipeline;
    /* An auditd plugin (exec:) reads events up to their EOE record. */
    pcfg.eoe = ar_outputs_want_eoe(&c.outputs);
    pcfg.sink = (struct ar_sink){
        .write = ar_outputs_write, .take = ar_outputs_take, .dropped = ar_outputs_sink_dropped,
        .space_warnings = ar_outputs_space_warnings, .ctx = &c.outputs};
    /* Every source but replay is live; its name decides the events' "source". */
    const struct ar_source_ops *expected =
        ar_source_find(cfg->source == AR_SOURCE_AUTO ? "unicast" : source_names[cfg->source]);
    pcfg.source = expected->event_source;
    /* Events of the process feed's own audit rules (procfeed.h) feed the table only. */
    pcfg.feed_key = cfg->source != AR_SOURCE_REPLAY ? AR_PROCESS_FEED_KEY : NULL;
    /* Live sources (the kernel's netlink stream, the tracepoint source's rendering)
     * end every event with EOE: a stream's first event must wait for its EOE too (on
     * a quiet 5.10 kernel it came out without, its EOE counted stray). go-audit's
     * lines have no EOE but each is a whole event, ended by the source: a
     * PROCTITLE that go-audit wrote first must not end it. */
    pcfg.reasm.eoe_stream =
        cfg->source != AR_SOURCE_REPLAY || cfg->input_format == AR_INPUT_GOAUDIT;
    /* Live: processes older than the collector (or met before their fork) are
     * looked up in /proc; replay never does, its log may come from another host. */
    if (cfg->source != AR_SOURCE_REPLAY)
        pcfg.proctab.lookup = ar_procfs_lookup;
    /* A live source's serials are one kernel counter in one boot (reasm.h). */
    pcfg.reasm.one_counter = cfg->source != AR_SOURCE_REPLAY;
    /* Checked when the configuration was read; compiled once, here. */
    r = compile_filters(cfg, &c.filter);
    pcfg.filter = c.filter;
    if (r == 0 && (r = ar_pipeline_new(&pcfg, &c.pipeline)) < 0)
        fprintf(stderr, "auditrelay: cannot set up the pipeline: %s\n", strerror(-r));
    if (r < 0) {
        ar_filter_free(c.filter);
        ar_metrics_free(c.metrics);
        ar_outputs_close(&c.outputs, 0, false, NULL);
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        return 1;
    }
    /* The process feed before the source: its audit way's rules go in with the
     * source's (a copy of the configuration carries them). */
    r = cfg->source == AR_SOURCE_REPLAY
            ? 0
            : ar_procfeed_open(cfg, cfg->source != AR_SOURCE_TRACEPOINT,
                               ar_pipeline_proctab(c.pipeline) != NULL, &c.feed);
    if (ar_procfeed_rules(c.feed)) {
        c.with_feed = *cfg;
        c.with_feed.process_feed_rules = ar_procfeed_rules(c.feed);
        c.cfg = &c.with_feed;
    }
    if (r < 0 || open_source(&c, &sink) < 0) {
        ar_procfeed_free(c.feed);
        ar_pipeline_free(c.pipeline);
        ar_filter_free(c.filter);
        ar_metrics_free(c.metrics);
        ar_outputs_close(&c.outputs, 0, false, NULL);
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        return 1;
    }
    if (c.ops != expected) {
        /* auto fell back to another source: its events say so. Nothing was
         * read yet, so a new pipeline loses nothing. */
        ar_pipeline_free(c.pipeline);
        pcfg.source = c.ops->event_source;
        if ((r = ar_pipeline_new(&pcfg, &c.pipeline)) < 0) {
            fprintf(stderr, "auditrelay: cannot set up the pipeline: %s\n", strerror(-r));
            ar_filter_free(c.filter);
            c.ops->stop(c.source);
            uv_run(c.loop, UV_RUN_DEFAULT);
            c.ops->close(c.source);
            ar_metrics_free(c.metrics);
            ar_outputs_close(&c.outputs, 0, false, NULL);
            pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
            return 1;
        }
    }
    if (strcmp(c.ops->name, "tracepoint") == 0)
        ar_procfeed_no_audit(c.feed);
    ar_procfeed_attach(c.feed, ar_pipeline_proctab(c.pipeline));
    uv_signal_init(c.loop, &c.sigint);
    uv_signal_init(c.loop, &c.sigterm);
    uv_signal_init(c.loop, &c.sigusr1);
    uv_signal_init(c.loop, &c.sighup);
    c.sigint.data = c.sigterm.data = c.sigusr1.data = c.sighup.data = &c;
    uv_signal_start(&c.sighup, on_hup, SIGHUP);
    uv_signal_start(&c.sigusr1, on_usr1, SIGUSR1);
    /* A stop signal that came while the source opened is taken now: by the loop
     * (live), or by the watcher thread once it runs (replay; blocked here for it). */
    sigset_t loop_mask = old_mask;
    if (c.ops->live) {
        uv_signal_start(&c.sigint, on_stop_signal, SIGINT);
        uv_signal_start(&c.sigterm, on_stop_signal, SIGTERM);
    } else {
        sigaddset(&loop_mask, SIGINT);
        sigaddset(&loop_mask, SIGTERM);
        pthread_mutex_init(&c.stop_lock, NULL);
        uv_async_init(c.loop, &c.stop_async, on_stop_async);
        c.stop_async.data = &c;
    }
    pthread_sigmask(SIG_SETMASK, &loop_mask, NULL);
    if (c.ops->live) {
        uv_timer_init(c.loop, &c.expire_timer);
        c.expire_timer.data = &c;
        uv_timer_start(&c.expire_timer, on_expire_timer, EXPIRE_INTERVAL_MS, EXPIRE_INTERVAL_MS);
    }
    r = c.ops->start(c.source, c.loop);
    if (r == 0 && (r = ar_procfeed_start(c.feed, c.loop)) < 0)
        fprintf(stderr, "auditrelay: cannot start the process feed: %s\n", strerror(-r));
    if (r < 0) {
        fprintf(stderr, "auditrelay: cannot start the %s source: %s\n", c.ops->name,
                strerror(-r));
        c.exit_code = 1;
        stop(&c);
    } else {
        if (drop_capabilities(&c, c.ops->capabilities ? c.ops->capabilities(c.source) : 0) < 0) {
            c.exit_code = 1;
            stop(&c);
        } else {
            /* The HTTP thread is created with what is left (capabilities are per thread). */
            ar_metrics_start(c.metrics, c.loop, collect_metrics, &c);
        }
    }
    c.outputs.reading_may_wait = c.ops->reading_may_wait;
    /* A replay writes a file or /dev/null on the thread that hands the lines out
     * (the reading thread, or the encoding thread whose turn it is). */
    c.outputs.producer_writes = !c.ops->live;
    if (ar_outputs_start(&c.outputs) < 0 && !c.stopping) {
        c.exit_code = 1;
        stop(&c);
    }
    /* After the capabilities went (the thread keeps none) and once the outputs run. */
    if (!c.ops->live) {
        c.watching = pthread_create(&c.stop_watcher, NULL, watch_stop_signals, &c) == 0;
        if (!c.watching)
            fprintf(stderr, "auditrelay: cannot watch for SIGINT and SIGTERM\n");
    }
    if (!c.stopping && install_seccomp(&c) < 0) {
        c.exit_code = 1;
        stop(&c);
    }
    /* Ready for systemd once the source runs and the outputs' threads do. */
    if (c.ops->live && !c.stopping) {
        char status[128];
        snprintf(status, sizeof(status), "collecting: %s source, %zu output(s)", c.ops->name,
                 c.outputs.n);
        c.notify = ar_notify_ready(c.loop, status);
    }
    /* Runs until stop() closed every handle. */
    uv_run(c.loop, UV_RUN_DEFAULT);
    stop_watching(&c);
    /* Outputs get a few seconds to send what is queued (a TCP peer that is down
     * keeps its share in the spool for the next run); a replay that reached the end
     * of its input waits for all, one stopped by Ctrl-C or SIGTERM does not. */
    ar_outputs_close(&c.outputs, c.ops->live || c.interrupted ? 5000 : -1, true,
                     &c.outputs_final);
    if (c.ops->live || !cfg->quiet)
        print_stats(&c, "exit");
    if (c.ops->exit_status && !c.exit_code)
        c.exit_code = c.ops->exit_status(c.source);
    /* A replay stopped before its outputs took what it had read (a peer that was
     * not reading when Ctrl-C came) lost lines: a script must not take it for done.
     * Uninterrupted, a replay waits for every line; what it drops then is by the
     * outputs' own limits (a line over max_message), said in their counters. */
    if (!c.ops->live && c.interrupted && !c.exit_code && c.outputs_final.lines_dropped) {
        fprintf(stderr, "auditrelay: stopped with %llu lines not delivered: they were dropped\n",
                (unsigned long long)c.outputs_final.lines_dropped);
        c.exit_code = 1;
    }
    /* An output that failed for good (stdout's disk full) at the end, after the
     * last lines were handed to it: the pipeline never heard of it. Its line above
     * says how many lines it dropped. */
    if (!c.ops->live && c.outputs_final.failed)
        output_failed(&c, c.outputs_final.last_error);
    ar_metrics_free(c.metrics);
    c.ops->close(c.source);
    ar_procfeed_free(c.feed);
    ar_pipeline_free(c.pipeline);
    ar_filter_free(c.filter);
    uv_loop_close(c.loop);
    if (!c.ops->live)
        pthread_mutex_destroy(&c.stop_lock);
    while (c.reloaded) {
        struct reloaded *done = c.reloaded;
        c.reloaded = done->next;
        ar_filter_free(done->filter);
        free(done);
    }
    return c.exit_code;
}
