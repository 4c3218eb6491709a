/* The tracepoint source: the same audit rules, traced without the audit subsystem.
 * Rules are compiled as for audit, translated into a plan (plan.c; refused with
 * file:line when they cannot be traced faithfully), and handed to an engine (bpf.c,
 * perf.c) that samples the syscall tracepoints. Samples become audit-style records
 * (render.c) with serials of our own, so the rest of the pipeline cannot tell them
 * apart except by "source": "tracepoint". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "rules/collector_rules.h"
#include "sources/source.h"
#include "sources/tracepoint/engine.h"
#include "sources/tracepoint/render.h"

/* Engines send without waking us (a wake-up per record cost 3.6x the workload's
 * time, DESIGN.md); they force one past a fill level, and this timer takes what
 * is left. It bounds the latency of a quiet system's events. */
#define CONSUME_MS 20
#define LOST_POLL_MS 1000

struct tp_source {
    struct ar_source_sink sink;
    struct ar_tp_plan *plan;
    struct ar_tp_render *render;
    const struct ar_tp_engine_ops *engine;
    void *e;
    uv_poll_t poll;
    uv_timer_t consume_timer, lost_timer;
    bool started, stopped;
    int error;                  /* first sink error: stop reading */
    uint64_t samples, lost_reported;
};

static int on_rendered(const struct ar_record *rec, void *userdata)
{
    struct tp_source *s = userdata;
    return s->sink.record(s->sink.ctx, rec);
}

static int on_sample(const struct ar_tp_sample *smp, void *userdata)
{
    struct tp_source *s = userdata;
    s->samples++;
    return ar_tp_render(s->render, s->plan, smp, on_rendered, s);
}

static void check_lost(struct tp_source *s)
{
    uint64_t lost = s->engine->lost(s->e);
    if (lost > s->lost_reported) {
        uint64_t n = lost - s->lost_reported;
        fprintf(stderr, "auditrelay: the tracepoint ring was full: %llu events lost\n",
                (unsigned long long)n);
        s->sink.loss(s->sink.ctx, "ring_lost", n);
        s->lost_reported = lost;
    }
}

static void consume(struct tp_source *s)
{
    if (s->error)
        return;
    int r = s->engine->consume(s->e);
    if (r < 0) {
        s->error = r;
        if (r != -EPIPE)
            fprintf(stderr, "auditrelay: reading the tracepoint engine failed: %s\n",
                    strerror(-r));
        s->sink.done(s->sink.ctx, r);
        return;
    }
    if (r > 0)
        s->sink.batch_end(s->sink.ctx);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    consume(p->data);
}

static void on_consume_timer(uv_timer_t *t)
{
    consume(t->data);
}

static void on_lost_timer(uv_timer_t *t)
{
    check_lost(t->data);
}

static void tp_close(void *p)
{
    struct tp_source *s = p;
    if (!s)
        return;
    if (s->engine)
        s->engine->close(s->e);
    ar_tp_render_free(s->render);
    free(s->plan);
    free(s);
}

/* The engines this build has, in the order auto tries them. */
static const struct ar_tp_engine_ops *const engines[] = {
#ifdef AR_HAVE_BPF
    &ar_tp_engine_bpf,
#endif
    &ar_tp_engine_perf,
};

static int open_engine(struct tp_source *s, const struct ar_collector_config *cfg, char *why,
                       size_t whylen)
{
    struct ar_tp_engine_config ecfg = {.ring_bytes = cfg->tracepoint_ring,
                                       .self_pid = (uint32_t)getpid()};
    const char *want = cfg->tracepoint_engine == AR_TP_ENGINE_BPF    ? "bpf"
                       : cfg->tracepoint_engine == AR_TP_ENGINE_PERF ? "perf"
                                                                      : NULL;
    int r = -ENOENT;
    for (size_t i = 0; i < AR_ARRAY_SIZE(engines); i++) {
        if (want && strcmp(engines[i]->name, want) != 0)
            continue;
        char reason[512] = "";
        r = engines[i]->open(s->plan, &ecfg, on_sample, s, reason, sizeof(reason), &s->e);
        if (r == 0) {
            s->engine = engines[i];
            return 0;
        }
        if (!want && i + 1 < AR_ARRAY_SIZE(engines))
            fprintf(stderr, "auditrelay: the %s tracepoint engine cannot run here (%s): trying "
                            "the next\n", engines[i]->name, reason);
        snprintf(why, whylen, "the %s tracepoint engine cannot run here: %s", engines[i]->name,
                 reason[0] ? reason : strerror(-r));
    }
    if (want && r == -ENOENT && !why[0])
        snprintf(why, whylen, "this build has no %s tracepoint engine (built without BPF "
                              "support: meson -Dbpf=enabled)", want);
    return r;
}

static unsigned hooked_syscalls(const struct ar_tp_plan *plan)
{
    unsigned n = 0;
    for (size_t i = 0; i < AR_ARRAY_SIZE(plan->syscalls); i++)
        n += (unsigned)__builtin_popcountll(plan->syscalls[i]);
    return n;
}

static int tp_open(const struct ar_collector_config *cfg, const struct ar_source_sink *sink,
                   char *why, size_t whylen, void **ret)
{
    struct tp_source *s = calloc(1, sizeof(*s));
    if (!s || !(s->plan = calloc(1, sizeof(*s->plan)))) {
        free(s);
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    s->sink = *sink;
    struct ar_rules *rules = NULL;
    struct ar_rules_collector_config rcfg = {.paths = cfg->rules, .npaths = cfg->nrules};
    int r = !cfg->install_rules ? 0 : ar_rules_collector_compile(&rcfg, stderr, &rules);
    if (r == 0 && !rules) {
        snprintf(why, whylen, "the tracepoint source has nothing to trace: give it rules "
                              "(--rules FILE)");
        r = -EINVAL;
    } else if (r < 0) {
        snprintf(why, whylen, "the rules for the tracepoint source did not compile");
    } else if ((r = ar_tp_plan_build(rules, stderr, s->plan)) < 0) {
        snprintf(why, whylen, "rules the tracepoint source cannot trace were refused; nothing "
                              "was started");
    }
    ar_rules_free(rules);
    /* Serials of our own: start from the time, so that a restart does not repeat
     * the serials a SIEM has already seen in the last run. */
    if (r == 0 && (r = ar_tp_render_new((uint32_t)time(NULL), &s->render)) < 0)
        snprintf(why, whylen, "out of memory");
    if (r == 0)
        r = open_engine(s, cfg, why, whylen);
    if (r < 0) {
        tp_close(s);
        return r;
    }
    fprintf(stderr, "auditrelay: collecting from tracepoints (engine %s, %u syscalls hooked%s)\n",
            s->engine->name, hooked_syscalls(s->plan),
            s->plan->raw_syscalls ? ", and raw_syscalls for all or 32-bit syscalls" : "");
    *ret = s;
    return 0;
}

static int tp_start(void *p, uv_loop_t *loop)
{
    struct tp_source *s = p;
    int r = uv_poll_init(loop, &s->poll, s->engine->fd(s->e));
    if (r < 0)
        return r;
    uv_timer_init(loop, &s->consume_timer);
    uv_timer_init(loop, &s->lost_timer);
    s->poll.data = s->consume_timer.data = s->lost_timer.data = s;
    s->started = true;
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
    uv_timer_start(&s->consume_timer, on_consume_timer, CONSUME_MS, CONSUME_MS);
    uv_timer_start(&s->lost_timer, on_lost_timer, LOST_POLL_MS, LOST_POLL_MS);
    return 0;
}

/* Take what the ring holds, count what was lost, then detach everything: from
 * here on nothing of ours is in the kernel. */
static void tp_stop(void *p)
{
    struct tp_source *s = p;
    if (s->stopped)
        return;
    s->stopped = true;
    consume(s);
    check_lost(s);
    if (s->started) {
        uv_poll_stop(&s->poll);
        uv_close((uv_handle_t *)&s->poll, NULL);
        uv_close((uv_handle_t *)&s->consume_timer, NULL);
        uv_close((uv_handle_t *)&s->lost_timer, NULL);
    }
    s->engine->close(s->e);
    s->engine = NULL;
    s->e = NULL;
}

static void tp_print_stats(void *p, const struct ar_source_counts *c, const char *when, FILE *f)
{
    struct tp_source *s = p;
    uint64_t lost = s->engine ? s->engine->lost(s->e) : s->lost_reported;
    fprintf(f,
            "auditrelay: %s: %llu records, %llu events, %llu bytes out, ring lost %llu, "
            "output dropped %llu lines\n",
            when, (unsigned long long)c->records, (unsigned long long)c->events,
            (unsigned long long)c->bytes_out, (unsigned long long)lost,
            (unsigned long long)c->output_dropped);
}

static uint64_t tp_capabilities(void *vs)
{
    struct tp_source *s = vs;
    return s->engine->capabilities;
}

static void tp_metrics(void *p, struct ar_source_metrics *ret)
{
    struct tp_source *s = p;
    ret->ring = true;
    ret->ring_lost = s->engine ? s->engine->lost(s->e) : s->lost_reported;
}

const struct ar_source_ops ar_source_tracepoint = {
    .name = "tracepoint",
    .event_source = "tracepoint",
    .live = true,
    .reading_may_wait = true,
    .open = tp_open,
    .start = tp_start,
    .stop = tp_stop,
    .close = tp_close,
    .print_stats = tp_print_stats,
    .capabilities = tp_capabilities,
    .metrics = tp_metrics,
};
