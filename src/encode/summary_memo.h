/* The summary memo: the json format's summary members (summary.h's
 * ar_summary_json, about a third of encoding an event) kept for events of the same
 * shape. A process's syscalls of one kind, and every run of a program, give events
 * that differ only in their SYSCALL record's head: the syscall's arguments and exit,
 * and the pids. The members are written from those only in two places ("exit" /
 * "errno" and "pid" / "ppid", ar_summary_layout), written again for each event;
 * the rest is copied.
 *
 * An event is kept and found by its shape: its first record a SYSCALL record whose
 * tail the record memo holds (record_memo.h), every other record a record memo
 * entry, named by their stamps; the head's keys and every head value but those of
 * exit, a0-a3, ppid and pid; and of those, the values the normalizer read
 * (ar_normalized.primary_read: open's flags, say). Like the record memo, an entry
 * holds only for the id cache generation it was written in. Only encode/ includes
 * this. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "encode/encoder_impl.h"

struct ar_summary_memo;

int ar_summary_memo_new(struct ar_summary_memo **ret);
void ar_summary_memo_free(struct ar_summary_memo *m);

/* Writes the event's summary members into b, as ar_summary_gather and
 * ar_summary_json do, from the memo when it holds the event's shape; else writes
 * and keeps them. Returns the event's arch (ar_summary.arch). */
uint32_t ar_summary_memo_json(struct ar_encoder *e, struct ar_summary_memo *m,
                              const struct ar_event *ev, struct ar_buf *b, bool *first);
