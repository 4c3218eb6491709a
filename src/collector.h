/* The live collector: the audit netlink source on a libuv loop, feeding the
 * pipeline, with the kernel settings it changed put back on exit. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "outputs/output.h"
#include "pipeline.h"

#define AR_MAX_OUTPUTS 16
#define AR_MAX_RULE_PATHS 16

enum ar_source_mode { AR_SOURCE_AUTO, AR_SOURCE_UNICAST, AR_SOURCE_MULTICAST };

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
    char *outputs[AR_MAX_OUTPUTS]; /* output specs; none: stdout */
    size_t noutputs;
    struct ar_output_config output; /* queue bounds, spool (policy drop) */
    const char *rules[AR_MAX_RULE_PATHS]; /* rule files/dirs; none: the default set */
    size_t nrules;
    bool no_rules;              /* install no rules at all */
    bool keep_rules;            /* leave the installed rules in place on exit */
    struct ar_pipeline_config pipeline; /* sink is set by the collector */
};

void ar_collector_config_default(struct ar_collector_config *ret);

/* Runs until SIGINT/SIGTERM. Returns the process exit status (0 clean stop, 1 on a
 * setup error, which it explains on stderr). */
int ar_collector_run(const struct ar_collector_config *cfg);
