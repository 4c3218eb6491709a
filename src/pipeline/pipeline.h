/* The pipeline: records in (from any source), events out (to the output sink).
 * header -> reassembly -> enrichment + encoding -> sink. One instance per run; not
 * thread-safe. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "encode/encoder.h"
#include "filter/filter.h"
#include "enrich/proctable.h"
#include "parse/header.h"
#include "pipeline/sink.h"
#include "reasm/reasm.h"

struct ar_pipeline_config {
    const struct ar_format_ops *format; /* one of ar_formats; NULL: json */
    bool eoe;                  /* raw, enriched: EOE records too (an exec: output) */
    bool resolve_ids;          /* names from the local user database */
    const char *source;        /* "replay", "netlink" */
    struct ar_reasm_config reasm;
    struct ar_sink sink;
    size_t flush_bytes;        /* hand output to the sink once this much is buffered */
    unsigned encode_threads;   /* 0: encode inline; N: on N worker threads (replay) */
    /* Keeps or drops each completed event before it is encoded; NULL: every event
     * goes on (the filter costs nothing then). Borrowed: it outlives the pipeline. */
    struct ar_filter *filter;
    bool process;              /* json: a process object from the process table */
    struct ar_proctab_config proctab; /* its labels come from process_labels */
    const char *process_labels[AR_PROC_MAX_LABELS];
    size_t nprocess_labels;
    /* Events whose SYSCALL record carries exactly this key (the process feed's own
     * audit rules, procfeed.h) feed the process table and go no further; NULL:
     * none. Borrowed. */
    const char *feed_key;
};

void ar_pipeline_config_default(struct ar_pipeline_config *ret);

/* Text lines are counted by the source that reads them (replay): it reports them
 * with their file:line. */
struct ar_pipeline_stats {
    uint64_t records;
    uint64_t events;
    uint64_t bytes_out;
    uint64_t encode_errors;
    uint64_t feed_events;      /* events of feed_key: the table's only */
};

struct ar_pipeline;

/* Returns 0, -ENOMEM, or -EINVAL (a bad label rule: said on stderr). */
int ar_pipeline_new(const struct ar_pipeline_config *cfg, struct ar_pipeline **ret);
void ar_pipeline_free(struct ar_pipeline *p);

/* Feeds one text line (no newline). '#' lines are comments. Returns 0, 1 when the
 * line is not an audit record (the caller counts it), or a negative errno from the
 * sink or memory. */
int ar_pipeline_line(struct ar_pipeline *p, const char *line, size_t len);

/* Feeds one parsed record (live sources). Returns 0 or a negative errno. */
int ar_pipeline_record(struct ar_pipeline *p, const struct ar_record *rec, uint64_t now_ms);

/* The event `rec` belongs to has all its records (a go-audit line): completes it
 * now. Returns 0 or a negative errno. */
int ar_pipeline_end_event(struct ar_pipeline *p, const struct ar_record *rec);

/* Emits a synthetic loss event (kernel lost counter, ENOBUFS). */
int ar_pipeline_loss(struct ar_pipeline *p, const char *kind, uint64_t count, uint64_t now_sec);

/* Filters events from now on with `filter` (a reload; NULL: none; borrowed), carrying
 * the counts over from the set it replaces (ar_filter_carry_counts). */
void ar_pipeline_set_filter(struct ar_pipeline *p, struct ar_filter *filter);
/* The filters in use (NULL: none), for statistics. */
const struct ar_filter *ar_pipeline_filter(const struct ar_pipeline *p);

/* Completes events idle too long (live timer). */
int ar_pipeline_expire(struct ar_pipeline *p, uint64_t now_ms);

/* Hands the events completed so far to the sink (those on the encoding workers
 * too) without completing any in flight: a replayed pipe that went quiet. */
int ar_pipeline_hand_out(struct ar_pipeline *p);

/* Completes everything in flight and hands all output to the sink. */
int ar_pipeline_flush(struct ar_pipeline *p);

const struct ar_pipeline_stats *ar_pipeline_stats(const struct ar_pipeline *p);
/* Events being assembled now. */
size_t ar_pipeline_in_flight(const struct ar_pipeline *p);
const struct ar_reasm_stats *ar_pipeline_reasm_stats(const struct ar_pipeline *p);
const struct ar_encoder_stats *ar_pipeline_encoder_stats(const struct ar_pipeline *p);
/* NULL when the pipeline keeps no process table. */
const struct ar_proctab_stats *ar_pipeline_proctab_stats(const struct ar_pipeline *p);
/* The process table, for a live lifecycle feed (ar_proctab_fork...) on the loop
 * thread; NULL when the pipeline keeps none. */
struct ar_proctab *ar_pipeline_proctab(struct ar_pipeline *p);
