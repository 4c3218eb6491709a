#include "pipeline/pipeline.h"

#include <errno.h>
#include <linux/audit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/encode_pool.h"
#include "pipeline/userdb.h"
#include "audit/tables.h"
#include "enrich/ids.h"

struct ar_pipeline {
    struct ar_pipeline_config cfg;
    struct ar_pipeline_stats stats;
    struct ar_reasm *reasm;
    struct ar_encoder *enc;
    struct ar_idcache *ids;
    struct ar_sink_buf out;    /* lines for the sink, with their metadata */
    struct ar_encode_pool *pool; /* NULL when encoding inline */
    struct ar_proctab *proctab;  /* NULL: no process context */
    struct ar_proc_info proc;    /* the event being handed out's */
    struct ar_encoder_stats pool_stats; /* all encoders' summed (ar_encode_pool_stats) */
    int error;                 /* first sink or memory error, sticky */
    uint64_t last_sec;         /* log time of the latest record, for loss events */
    struct ar_stamp_memo stamp; /* the last log line's (ar_pipeline_line) */
    uint64_t drops_reported;   /* sink drops already turned into loss events */
    uint64_t space_reported[2]; /* sink space warnings already turned into events */
};

void ar_pipeline_config_default(struct ar_pipeline_config *ret)
{
    *ret = (struct ar_pipeline_config){
        .format = ar_formats[0],
        .resolve_ids = true,
        .source = "replay",
        /* Each hand-over may wake the output's thread: a one-thread replay of the
         * bench log switched context 509 times at 256 KiB, 259 at 512 KiB, 134 at
         * 1 MiB (perf stat -r 5); its CPU time at the fastest of 40 alternating runs
         * went from 125.0 ms to 120.8 and 120.4. 512 KiB kept the peak RSS (16.2-16.4
         * MB; 17.8 at 1 MiB). */
        .flush_bytes = 512 * 1024,
        .process = true,
    };
    ar_reasm_config_default(&ret->reasm);
    ar_proctab_config_default(&ret->proctab);
}

static void hand_out(struct ar_pipeline *p)
{
    if (p->out.lines.len == 0 || p->error)
        return;
    p->stats.bytes_out += p->out.lines.len;
    int r = ar_sink_buf_hand(&p->out, &p->cfg.sink);
    if (r < 0)
        p->error = r;
}

/* An event of the process feed's own rules: its SYSCALL record ends with its key. */
static bool feed_only(const struct ar_pipeline *p, const struct ar_event *ev)
{
    size_t klen = strlen(p->cfg.feed_key);
    for (uint32_t i = 0; i < ev->nrecords; i++) {
        if (ev->records[i].type != AUDIT_SYSCALL)
            continue;
        struct ar_span b = ar_event_body(ev, i);
        return b.len >= klen + 7 && memcmp(b.p + b.len - klen - 7, " key=\"", 6) == 0 &&
               memcmp(b.p + b.len - klen - 1, p->cfg.feed_key, klen) == 0 &&
               b.p[b.len - 1] == '"';
    }
    return false;
}

static void on_event(const struct ar_event *ev, void *userdata)
{
    struct ar_pipeline *p = userdata;
    p->stats.events++;
    /* The table is read here, in event order on this thread: the encoders (the
     * workers' too) see the context through a copy of the event. */
    struct ar_event with_proc;
    if (p->proctab) {
        ar_proctab_event(p->proctab, ev, &p->proc);
        if (p->proc.present) {
            with_proc = *ev;
            with_proc.proc = &p->proc;
            ev = &with_proc;
        }
    }
    if (p->cfg.feed_key && feed_only(p, ev)) {
        p->stats.feed_events++;
        return;
    }
    /* After the table: a dropped event must leave its entry in the table's map,
     * and filters may look at its process. */
    if (p->cfg.filter && !ar_filter_keep(p->cfg.filter, ev))
        return;
    if (p->pool) {
        int r = ar_encode_pool_add(p->pool, ev);
        if (r < 0 && !p->error)
            p->error = r;
        return;
    }
    if (ar_sink_buf_event(&p->out, p->enc, ev) < 0) {
        p->stats.encode_errors++;
        return;
    }
    if (p->out.lines.len >= p->cfg.flush_bytes)
        hand_out(p);
}

/* Events encoded on workers must reach the sink before a line written here. */
static void settle_pool(struct ar_pipeline *p)
{
    if (!p->pool)
        return;
    int r = ar_encode_pool_flush(p->pool);
    if (r < 0 && !p->error)
        p->error = r;
}

static void on_gap(struct ar_span node, uint32_t after_serial, uint64_t lost, void *userdata)
{
    struct ar_pipeline *p = userdata;
    settle_pool(p);
    if (ar_sink_buf_loss(&p->out, p->enc, "serial_gap", node, after_serial, lost, p->last_sec) < 0)
        p->stats.encode_errors++;
    if (p->pool)
        hand_out(p); /* before the workers write anything newer */
}

int ar_pipeline_new(const struct ar_pipeline_config *cfg, struct ar_pipeline **ret)
{
    if (!cfg || !cfg->sink.write)
        return -EINVAL;
    struct ar_pipeline *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    int r = ar_idcache_new(cfg->resolve_ids ? ar_userdb_lookup : NULL, &p->ids);
    if (r < 0)
        goto fail;
    struct ar_encoder_config ecfg = {
        .format = cfg->format, .source = cfg->source, .native_arch = ar_arch_native(),
        .eoe = cfg->eoe};
    r = ar_encoder_new(&ecfg, p->ids, &p->enc);
    if (r < 0)
        goto fail;
    if (cfg->encode_threads) {
        r = ar_encode_pool_new(cfg->encode_threads, &ecfg,
                               cfg->resolve_ids ? ar_userdb_lookup : NULL, cfg->sink, p->enc,
                               &p->pool);
        if (r < 0)
            goto fail;
    }
    /* A format that writes the process object needs the table, and so do filters
     * on labels (whatever the format). */
    if (cfg->process && ((cfg->format ? cfg->format : ar_formats[0])->process ||
                         ar_filter_uses_labels(cfg->filter))) {
        struct ar_proctab_config tcfg = cfg->proctab;
        tcfg.labels = cfg->process_labels;
        tcfg.nlabels = cfg->nprocess_labels;
        /* Every event in flight may wait for its context (within reason: past it
         * an event goes without, counted). */
        size_t want = cfg->reasm.max_in_flight + 1;
        if (want > (1u << 18))
            want = 1u << 18;
        if (tcfg.max_pending < want)
            tcfg.max_pending = (uint32_t)want;
        char err[256];
        r = ar_proctab_new(&tcfg, &p->proctab, err, sizeof(err));
        if (r == -EINVAL)
            fprintf(stderr, "auditrelay: process table: %s\n", err);
        if (r < 0)
            goto fail;
    }
    struct ar_reasm_callbacks cbs = {.event = on_event, .gap = on_gap, .userdata = p};
    r = ar_reasm_new(&cfg->reasm, &cbs, &p->reasm);
    if (r < 0)
        goto fail;
    *ret = p;
    return 0;
fail:
    ar_pipeline_free(p);
    return r;
}

void ar_pipeline_free(struct ar_pipeline *p)
{
    if (!p)
        return;
    ar_reasm_free(p->reasm);
    ar_encode_pool_free(p->pool); /* its workers read the table's label names */
    ar_proctab_free(p->proctab);
    ar_encoder_free(p->enc);
    ar_idcache_free(p->ids);
    ar_sink_buf_free(&p->out);
    free(p);
}

int ar_pipeline_loss(struct ar_pipeline *p, const char *kind, uint64_t count, uint64_t now_sec);

static void report_sink_space(struct ar_pipeline *p)
{
    static const char *const kinds[2] = {"space_left", "admin_space_left"};
    if (!p->cfg.sink.space_warnings)
        return;
    uint64_t w[2];
    p->cfg.sink.space_warnings(p->cfg.sink.ctx, w);
    for (int i = 0; i < 2; i++) {
        if (w[i] > p->space_reported[i]) {
            ar_pipeline_loss(p, kinds[i], w[i] - p->space_reported[i], p->last_sec);
            p->space_reported[i] = w[i];
        }
    }
}

static void report_sink_drops(struct ar_pipeline *p)
{
    report_sink_space(p);
    if (!p->cfg.sink.dropped || p->cfg.sink.dropped(p->cfg.sink.ctx) <= p->drops_reported)
        return;
    /* Events still on the encoding workers or in our buffer reach the sink first,
     * so their drops are in the count and only the loss line's own drop is left to
     * discount afterwards. */
    settle_pool(p);
    hand_out(p);
    uint64_t dropped = p->cfg.sink.dropped(p->cfg.sink.ctx);
    ar_pipeline_loss(p, "output_dropped", dropped - p->drops_reported, p->last_sec);
    /* The loss event itself may have been dropped by the full output: not news. */
    p->drops_reported = p->cfg.sink.dropped(p->cfg.sink.ctx);
}

int ar_pipeline_record(struct ar_pipeline *p, const struct ar_record *rec, uint64_t now_ms)
{
    /* Looking at the outputs' counters is a lock per output: now and then is enough. */
    if ((p->stats.records & 4095) == 0)
        report_sink_drops(p);
    if (p->error)
        return p->error;
    p->stats.records++;
    if (rec->has_time)
        p->last_sec = rec->sec;
    if (p->proctab)
        ar_proctab_record(p->proctab, rec);
    int r = ar_reasm_push(p->reasm, rec, now_ms);
    if (r < 0)
        return r;
    return p->error;
}

int ar_pipeline_end_event(struct ar_pipeline *p, const struct ar_record *rec)
{
    ar_reasm_end_event(p->reasm, rec);
    return p->error;
}

int ar_pipeline_line(struct ar_pipeline *p, const char *line, size_t len)
{
    /* Tolerate CRLF logs copied through other systems. */
    if (len && line[len - 1] == '\r')
        len--;
    /* Annotated logs (test corpora, incident notes) carry '#' comment lines. */
    if (len && line[0] == '#')
        return 0;
    struct ar_record rec;
    if (ar_header_parse_line(line, line + len, &p->stamp, &rec) < 0)
        return 1;
    return ar_pipeline_record(p, &rec, 0);
}

int ar_pipeline_loss(struct ar_pipeline *p, const char *kind, uint64_t count, uint64_t now_sec)
{
    settle_pool(p);
    if (ar_sink_buf_loss(&p->out, p->enc, kind, (struct ar_span){"", 0}, 0, count, now_sec) < 0)
        p->stats.encode_errors++;
    hand_out(p);
    return p->error;
}

int ar_pipeline_expire(struct ar_pipeline *p, uint64_t now_ms)
{
    ar_reasm_expire(p->reasm, now_ms);
    report_sink_drops(p);
    hand_out(p);
    return p->error;
}

int ar_pipeline_hand_out(struct ar_pipeline *p)
{
    settle_pool(p);
    report_sink_drops(p);
    hand_out(p);
    return p->error;
}

int ar_pipeline_flush(struct ar_pipeline *p)
{
    ar_reasm_flush(p->reasm);
    settle_pool(p);
    report_sink_drops(p);
    hand_out(p);
    if (p->pool) {
        p->stats.bytes_out += ar_encode_pool_bytes_out(p->pool);
        ar_encode_pool_stats(p->pool, &p->pool_stats);
    }
    return p->error;
}

void ar_pipeline_set_filter(struct ar_pipeline *p, struct ar_filter *filter)
{
    ar_filter_carry_counts(filter, p->cfg.filter);
    p->cfg.filter = filter;
}

const struct ar_filter *ar_pipeline_filter(const struct ar_pipeline *p)
{
    return p->cfg.filter;
}

const struct ar_pipeline_stats *ar_pipeline_stats(const struct ar_pipeline *p)
{
    return &p->stats;
}

size_t ar_pipeline_in_flight(const struct ar_pipeline *p)
{
    return ar_reasm_in_flight(p->reasm);
}

const struct ar_reasm_stats *ar_pipeline_reasm_stats(const struct ar_pipeline *p)
{
    return ar_reasm_stats(p->reasm);
}

const struct ar_encoder_stats *ar_pipeline_encoder_stats(const struct ar_pipeline *p)
{
    return p->pool ? &p->pool_stats : ar_encoder_stats(p->enc);
}

const struct ar_proctab_stats *ar_pipeline_proctab_stats(const struct ar_pipeline *p)
{
    return p->proctab ? ar_proctab_stats(p->proctab) : NULL;
}

struct ar_proctab *ar_pipeline_proctab(struct ar_pipeline *p)
{
    return p->proctab;
}
