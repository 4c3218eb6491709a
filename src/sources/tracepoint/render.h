/* Renders a traced syscall as the records audit would have written for it
 * (SYSCALL, CWD, PATH per path, EXECVE, SOCKADDR, PROCTITLE, EOE), with a serial
 * of the tracepoint source's own, so that one tokenizer, reassembler and encoder
 * serve every source and the JSON cannot drift. Pure: no I/O.
 *
 * Field text follows the kernel's formatting (kernel/auditsc.c, audit.c): ids in
 * decimal, a0-a3 and arch in hex, strings quoted when printable and hex-encoded
 * (audit_log_untrustedstring) when they hold a space, quote, control byte or a byte
 * above 0x7e. What the sample does not have is left out, never invented. Values an
 * engine read late (sample.late) are marked in their record with
 * `late=FIELD[,FIELD]`. */
#pragma once
#include <stdint.h>
#include "parse/header.h"
#include "sources/tracepoint/plan.h"
#include "sources/tracepoint/sample.h"

struct ar_tp_render;

/* Called per record; spans valid during the call. A negative return stops the
 * rendering of this sample and is returned by ar_tp_render. */
typedef int (*ar_tp_record_fn)(const struct ar_record *rec, void *userdata);

/* first_serial: the serial of the first event (then +1 per event). Returns 0 or
 * -ENOMEM; *ret untouched on failure. */
int ar_tp_render_new(uint32_t first_serial, struct ar_tp_render **ret);
void ar_tp_render_free(struct ar_tp_render *r);

/* Renders an AR_TP_SYSCALL sample (other kinds: returns 0, nothing emitted). The
 * key comes from plan->rules[s->rule] when s->rule >= 0. Returns 0 or the first
 * negative return of emit. */
int ar_tp_render(struct ar_tp_render *r, const struct ar_tp_plan *plan,
                 const struct ar_tp_sample *s, ar_tp_record_fn emit, void *userdata);
