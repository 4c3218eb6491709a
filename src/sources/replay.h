/* The replay source (sources/registry.c: "replay"): reads captured audit logs
 * (files in the order given, or stdin) line by line with a bounded buffer, so
 * memory does not grow with the input, and hands each line to the pipeline. It
 * runs on the driver's loop like every source: regular files a chunk per loop turn,
 * pipes and terminals when they are readable, so SIGINT still stops it cleanly. */
#pragma once

/* Lines longer than this are skipped and counted as malformed. */
#define AR_REPLAY_MAX_LINE (16u << 20)
/* The first malformed lines reported by file:line. */
#define AR_REPLAY_MALFORMED_SAMPLES 5
