/* auditd's own log formats (auditd.conf log_format = RAW or ENRICHED), for
 * /var/log/audit/audit.log and auditd's plugins: one line per record,
 * `[node=N ]type=NAME msg=audit(SEC.MS:SERIAL): body`, with ENRICHED's 0x1d and
 * the interpreted names auditd 3.0 appends (uid and gid names, ARCH, SYSCALL,
 * SADDR). Pure: names come through an ar_idcache the caller owns. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "encode/jsonw.h"
#include "enrich/ids.h"
#include "parse/tokenize.h"
#include "reasm/reasm.h"

struct ar_auditlog_config {
    bool enriched;        /* ENRICHED: names appended after 0x1d; else RAW */
    bool eoe;             /* write EOE records (the dispatcher stream has them, the log not) */
    uint32_t native_arch; /* what a record without arch= is taken to be */
};

/* Appends the event's records, one line each ending in '\n', as auditd writes
 * them: the kernel's text byte for byte (auditd's limits: a line is cut at 8937
 * bytes, newlines inside become spaces, one trailing space is dropped). A record
 * that came with names (an ENRICHED log replayed) keeps them in ENRICHED and
 * loses them in RAW. `tokens` is scratch for the tokenizer. ids may be NULL. */
void ar_auditlog_event(const struct ar_auditlog_config *cfg, struct ar_idcache *ids,
                       struct ar_tokens *tokens, const struct ar_event *ev, struct ar_buf *out);

/* Appends a loss report as an audit record auditd's tools read (type=DAEMON_ERR,
 * serial 0, op=auditrelay-loss kind=... count=... after_serial=... res=failed). */
void ar_auditlog_loss(const char *kind, struct ar_span node, uint32_t after_serial,
                      uint64_t count, uint64_t now_sec, struct ar_buf *out);

/* The interpretation auditd's ENRICHED format appends for one field of a record
 * of type `rtype`, in its final form (`NAME="value"`, `NAME=HEX` or `NAME=value`),
 * written to out; false when auditd appends nothing for that field. `arch`,
 * `syscall` and `a0` are the record's own (arch 0: none given). */
bool ar_auditlog_interpret(uint32_t rtype, struct ar_span name, struct ar_span value,
                           uint32_t arch, int64_t syscall, uint64_t a0, uint32_t native_arch,
                           struct ar_idcache *ids, struct ar_buf *out);
