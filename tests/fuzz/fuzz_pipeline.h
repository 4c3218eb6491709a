/* What the pipeline fuzz targets share. fuzz_replay.c (audit log lines) and
 * fuzz_goaudit.c (go-audit JSON lines) feed a pipeline encoding inline to a sink
 * that checks every output line is valid UTF-8 and a JSON object, and traps
 * otherwise; fuzz_auditlog.c checks auditd's formats with its own. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "pipeline/pipeline.h"

/* A pipeline for one input of `size` bytes (the size picks the output format),
 * or NULL. Reassembly as the collector sets it for the input: eoe_stream for
 * go-audit's lines. */
struct ar_pipeline *fuzz_pipeline_new(size_t size, bool eoe_stream);

/* For a sink's write(): traps unless b is whole lines with metadata entries that
 * describe exactly them, and calls check_line on each (without its newline). */
void fuzz_output_lines(const struct ar_lines *b, void (*check_line)(const char *p, size_t len));

/* Calls line(pl, p, len) for each line of [data, data + size) (no newline). */
void fuzz_each_line(struct ar_pipeline *pl, const uint8_t *data, size_t size,
                    void (*line)(struct ar_pipeline *pl, const char *p, size_t len));
