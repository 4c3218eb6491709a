/* The replay source: reads captured audit logs (files in the order given, or stdin)
 * line by line with a fixed-size buffer, so memory does not grow with the input,
 * and feeds them to the pipeline. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pipeline.h"

#define AR_REPLAY_MALFORMED_SAMPLES 5

struct ar_replay_report {
    uint64_t files;
    uint64_t bytes;
    uint64_t input_errors;      /* files that could not be opened or read */
    uint64_t long_lines;        /* lines over the line cap, skipped (also malformed) */
    struct {
        const char *file;
        uint64_t line;
    } malformed[AR_REPLAY_MALFORMED_SAMPLES];
    size_t nmalformed;          /* samples kept (first few) */
};

struct ar_replay_options {
    bool progress;              /* a progress bar on stderr (file input, terminal) */
    size_t max_line;            /* longest line accepted */
};

/* Replays files ("-" is stdin; no files means stdin) into the pipeline, then
 * flushes it. Input problems are counted in *report and described on stderr;
 * returns 0, or a negative errno when the pipeline's sink failed. */
int ar_replay_run(struct ar_pipeline *p, char *const *files, size_t nfiles,
                  const struct ar_replay_options *opts, struct ar_replay_report *report);
