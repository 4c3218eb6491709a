/* Metrics: the run's counters in Prometheus' text exposition format (version
 * 0.0.4), served over HTTP by libmicrohttpd on a thread of its own.
 *
 * The counters live on the loop thread (pipeline, source) and on the outputs'
 * writer threads (ar_output_stats takes their locks). The HTTP thread never reads
 * them: a timer on the loop renders the page every second into a buffer the HTTP
 * thread copies under a mutex. So a scrape costs the loop nothing, and a page is
 * one consistent moment, at most a second old. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/buf.h"
#include "metrics/listen.h"
#include "enrich/proctable.h"
#include "outputs/output.h"
#include "pipeline/pipeline.h"
#include "privileges.h"
#include "sources/source.h"

/* One output's counters at a moment. */
struct ar_metrics_output {
    const char *name;                 /* the spec, as given (a label value) */
    struct ar_output_stats stats;
};

/* Everything one page shows. Pointers are valid during ar_metrics_format only. */
struct ar_metrics_snapshot {
    const char *source;               /* "unicast", "replay"... */
    uint64_t start_time;              /* the run's start, Unix seconds */
    uint64_t in_flight;               /* events being assembled now */
    struct ar_pipeline_stats pipeline;
    struct ar_reasm_stats reasm;
    struct ar_encoder_stats encoder;
    struct ar_source_metrics src;
    const struct ar_metrics_output *outputs;
    size_t noutputs;
    const struct ar_filter *filter;   /* NULL: no filters configured */
    bool has_proctab;                 /* a process table runs (json) */
    struct ar_proctab_stats proctab;
};

/* Appends the page (HELP and TYPE lines, then the samples) to out; label values
 * are escaped as the format says (\\, \", \n). Pure. Returns 0, or -ENOMEM
 * (out->failed). */
int ar_metrics_format(const struct ar_metrics_snapshot *s, struct ar_buf *out);

/* Fills a snapshot on the loop thread; the driver implements it. */
typedef void (*ar_metrics_collect_fn)(void *ctx, struct ar_metrics_snapshot *ret);

struct ar_metrics;

/* Binds the listening socket (before any privilege is given up: a port below 1024
 * works); nothing answers until ar_metrics_start. `run_file`, when not NULL, is
 * where the address is written for `auditrelay status` (removed by ar_metrics_free).
 * Loads the HTTP side, the module auditrelay-metrics.so (metrics/http.h), first.
 * Errors are explained on stderr. Returns 0, -ENOTSUP (built without
 * libmicrohttpd), -ENOENT (the module cannot be loaded) or -errno. */
int ar_metrics_new(const struct ar_metrics_listen *where, const char *run_file,
                   struct ar_metrics **ret);

/* Starts the HTTP thread (with the calling thread's capabilities: call it after
 * dropping them) and renders the page now and then every second on the loop, from
 * collect(). A daemon that cannot start is said on stderr; the run goes on. */
void ar_metrics_start(struct ar_metrics *m, uv_loop_t *loop, ar_metrics_collect_fn collect,
                      void *ctx);

/* Renders a last page and closes the timer (the loop can then end); the listener
 * keeps serving that page until ar_metrics_free. NULL is fine; idempotent. */
void ar_metrics_stop(struct ar_metrics *m);

/* Stops the HTTP thread and frees. NULL is fine. */
void ar_metrics_free(struct ar_metrics *m);

/* The file a live collector with metrics writes its address to (pid=N listen=ADDR):
 * $AUDITRELAY_METRICS_FILE, else AR_METRICS_RUN_FILE. */
#define AR_METRICS_RUN_FILE AR_RUN_DIR "/auditrelay.metrics"
const char *ar_metrics_run_file(void);
