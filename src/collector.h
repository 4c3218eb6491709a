/* The collector: one driver for every source. It opens the outputs and the
 * pipeline, opens the source the configuration names (sources/registry.c), runs
 * it on a libuv loop until SIGINT/SIGTERM or the end of its input, and reports. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "metrics/listen.h"
#include "outputs/output.h"
#include "pipeline/pipeline.h"

#define AR_MAX_OUTPUTS 16
#define AR_MAX_RULE_PATHS 16
#define AR_MAX_FILTERS 256

enum ar_source_mode {
    AR_SOURCE_AUTO,        /* audit (slot, else multicast), else tracepoints */
    AR_SOURCE_UNICAST,
    AR_SOURCE_MULTICAST,
    AR_SOURCE_TRACEPOINT,
    AR_SOURCE_REPLAY,      /* `auditrelay replay`: files or stdin */
};

enum ar_tp_engine_choice { AR_TP_ENGINE_AUTO, AR_TP_ENGINE_BPF, AR_TP_ENGINE_PERF };

/* What tells the process table of forks, execs and exits in live collection
 * (procfeed.h). */
enum ar_process_feed_choice {
    AR_PROCESS_FEED_AUTO,      /* bpf, else audit (audit sources), else none */
    AR_PROCESS_FEED_BPF,
    AR_PROCESS_FEED_AUDIT,
    AR_PROCESS_FEED_NONE,
};

/* What replay reads: audit logs (any text form the header parser knows) or
 * go-audit's JSON output (sources/goaudit_input.h). */
enum ar_input_format { AR_INPUT_AUDIT, AR_INPUT_GOAUDIT };

struct ar_collector_config {
    enum ar_source_mode source;
    bool takeover;              /* stop a live daemon holding the slot (SIGTERM) */
    bool enable;                /* switch auditing on (enabled=1) while running */
    uint32_t backlog_limit;     /* 0: leave as is */
    bool set_backlog_wait_time;
    uint32_t backlog_wait_time;
    bool set_rate_limit;
    uint32_t rate_limit;
    bool set_failure;           /* failure mode 0 silent, 1 printk, 2 panic */
    uint32_t failure;
    int rcvbuf;                 /* socket receive buffer bytes */
    enum ar_tp_engine_choice tracepoint_engine;
    uint64_t tracepoint_ring;   /* ring bytes (bpf: one ring; perf: per CPU); 0: default */
    char *outputs[AR_MAX_OUTPUTS]; /* output specs; none: stdout */
    size_t noutputs;
    struct ar_output_config output; /* queue bounds, spool, policy */
    const char *rules[AR_MAX_RULE_PATHS]; /* rule files/dirs; none: the default set */
    size_t nrules;
    const char *filters[AR_MAX_FILTERS]; /* event filters (filter/filter.h), in order */
    size_t nfilters;
    bool install_rules;         /* false: install no rules at all (--no-rules) */
    bool keep_rules;            /* leave the installed rules in place on exit */
    /* replay: the files ("-" stdin; none: stdin), their format, progress bar, no
     * report */
    char *const *files;
    size_t nfiles;
    enum ar_input_format input_format;
    bool progress;
    bool quiet;
    struct ar_pipeline_config pipeline; /* sink and source name are set by the driver */
    /* Builds the configuration again (the file re-read, the command line over it)
     * for a reload on SIGHUP; errors are explained on stderr. Returns 0 or -errno.
     * NULL: SIGHUP only reopens file outputs. */
    int (*reload)(struct ar_collector_config *ret);
    struct ar_metrics_listen metrics;   /* the Prometheus listener, when on */
    const char *user;           /* --user USER[:GROUP]: run as it after start-up */
    bool seccomp;               /* --seccomp: a system call allow-list after start-up */
    enum ar_process_feed_choice process_feed;
    /* Set by the driver, not a setting: the process feed's audit rules, which the
     * netlink source installs after its own (NULL: none). */
    const char *process_feed_rules;
};

void ar_collector_config_default(struct ar_collector_config *ret);

/* Filters compiled on this host: user and group names from its database. */
void ar_filter_env_host(struct ar_filter_env *ret);

/* Checks what holds only for a whole configuration (each filter was checked when
 * read): the labels filters name come from its process label rules. Errors are
 * said on stderr after `who`. Returns 0 or -EINVAL. */
int ar_collector_check_filters(const struct ar_collector_config *cfg, const char *who);

/* Runs until SIGINT/SIGTERM, or the end of the input for replay. Returns the
 * process exit status (0 clean stop; 1 on a setup, input or output error, which it
 * explains on stderr: lines an interrupted replay dropped are one). */
int ar_collector_run(const struct ar_collector_config *cfg);
