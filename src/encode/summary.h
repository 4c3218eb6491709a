/* The event's summary: the few normalized members of our schema a reader wants at
 * a glance (type, category, syscall, success, exit, key, process, user, files,
 * sockaddr, argv, proctitle), picked from the tokenized records. Gathering is
 * apart from writing, so other formats can write the same facts their way. Only
 * encode/ includes this. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "encode/encoder_impl.h"

struct ar_summary {
    const struct ar_field *by_name[AR_FN_COUNT]; /* first field of each summary name */
    uint32_t syscall_rec; /* the first SYSCALL record, UINT32_MAX when none */
    uint32_t arch;        /* that record's arch, else the native one */
    bool has_execve;      /* an EXECVE record: the arguments are in e->argv */
    uint64_t argc;
    const struct ar_normalized *norm; /* actor, action, object, how, full paths (e->norm) */
};

/* Picks the summary's fields from the event, tokenized by ar_encoder_tokenize,
 * joins its EXECVE arguments into e->argv and normalizes it into e->norm
 * (enrich/normalize.h). Pointers into e->fields stay
 * valid until the next event is tokenized. */
void ar_summary_gather(struct ar_encoder *e, const struct ar_event *ev, struct ar_summary *ret);

/* A field's value as the normalizer reads it (ar_norm_text_fn; ctx is the encoder):
 * untrusted strings hex-decoded, the rest as written. */
bool ar_summary_text(void *ctx, const struct ar_field *f, struct ar_text *ret);

/* The EXECVE arguments ar_summary_gather joined, as a JSON array. */
void ar_summary_argv(struct ar_encoder *e, struct ar_buf *b);

/* Where ar_summary_json put the members written from the fields that differ
 * between a process's syscalls of one kind (summary_memo.h): "exit" and "errno" at
 * [exit_at, exit_end), "pid" and "ppid" at [pids_at, pids_end); and the event's
 * success, which "errno" depends on. */
struct ar_summary_layout {
    size_t exit_at, exit_end, pids_at, pids_end;
    bool success;
};

/* Writes the summary's members into the open event object after the members
 * before it (*first as for ar_jv_key); fills *layout when it is not NULL. */
void ar_summary_json(struct ar_encoder *e, const struct ar_event *ev, const struct ar_summary *s,
                     struct ar_buf *b, bool *first, struct ar_summary_layout *layout);

/* The members at the layout's places: "exit" (and "errno" when it failed) from
 * exit; "pid" and "ppid". Each is left out when its field is not an integer. */
void ar_summary_put_exit(struct ar_buf *b, bool *first, const struct ar_field *exit, bool success);
void ar_summary_put_pids(struct ar_buf *b, bool *first, const struct ar_field *pid,
                         const struct ar_field *ppid);
