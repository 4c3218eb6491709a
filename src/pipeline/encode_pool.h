/* Encoding on worker threads for replay, where the encoder is most of the work: the
 * reading thread copies completed events into batches, workers encode batches in
 * parallel and hand their output to the sink in the original order (the sink's
 * write is called on whichever thread finished the batch at the head, one at a
 * time). When every batch is in flight the reading thread encodes one itself rather
 * than wait. Memory is bounded by the number of batches in flight. */
#pragma once
#include <stddef.h>
#include "encode/encoder.h"
#include "enrich/ids.h"
#include "pipeline/sink.h"

struct ar_encode_pool;

/* Starts `threads` workers, each with its own encoder (same config) and id cache
 * (lookup may be NULL). reader_enc is the calling thread's encoder, which the pool
 * uses on that thread (in ar_encode_pool_add and _flush) and does not free. Returns 0
 * or -errno. */
int ar_encode_pool_new(unsigned threads, const struct ar_encoder_config *cfg,
                       ar_id_lookup_fn lookup, struct ar_sink sink,
                       struct ar_encoder *reader_enc, struct ar_encode_pool **ret);

/* Copies the event into the current batch (waiting for a free one when all are in
 * flight). Returns 0 or the first sink error / -ENOMEM. */
int ar_encode_pool_add(struct ar_encode_pool *pool, const struct ar_event *ev);

/* Queues the current batch and waits until the output of every batch is with the
 * sink, in order: a line the caller then hands to the sink (a loss event) follows
 * it. */
int ar_encode_pool_flush(struct ar_encode_pool *pool);

/* Sums the encoder statistics of the workers and of reader_enc (call after a
 * flush). */
void ar_encode_pool_stats(const struct ar_encode_pool *pool, struct ar_encoder_stats *ret);

/* Bytes handed to the sink so far. */
unsigned long long ar_encode_pool_bytes_out(const struct ar_encode_pool *pool);

/* Stops the workers (after a flush, or discarding what is queued). */
void ar_encode_pool_free(struct ar_encode_pool *pool);
