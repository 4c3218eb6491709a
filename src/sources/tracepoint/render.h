/* Renders a traced syscall as the records audit would have written for it, in the
 * kernel's order (SYSCALL, EXECVE, SOCKADDR, CWD, PATH per path, PROCTITLE, EOE),
 * with a serial of the tracepoint source's own, so that one tokenizer, reassembler
 * and encoder serve every source and the JSON cannot drift. Pure: no I/O.
 *
 * SYSCALL: always, with success/exit (success as the kernel's: exit not in
 * -4095..-1), items = the number of paths, auid and ses only when has_auid, exe
 * only when known, key from the plan's rule (several keys stay \001-joined, so
 * hex-encoded like audit's) or key=(null). EXECVE and PROCTITLE: when the sample
 * has argv (argc = the args carried; `truncated=yes` when the engine cut them;
 * long args are not split into aN[i] chunks). PROCTITLE: argv NUL-joined, first
 * 128 bytes, trailing NULs trimmed, as audit_log_proctitle. SOCKADDR: when the
 * sample has one (saddr= upper-case hex). CWD: when collected. PATH: `item=N
 * name=...` only (name=(null) for an empty one). EOE: empty body.
 *
 * Field text follows the kernel's formatting (kernel/auditsc.c, audit.c): ids in
 * decimal, a0-a3 and arch in hex, strings quoted when printable and hex-encoded
 * (audit_log_untrustedstring) when they hold a space, quote, control byte or a byte
 * above 0x7e. What the sample does not have is left out, never invented. Values an
 * engine read late (sample.late) are marked in their record with
 * `late=FIELD[,FIELD]`, last in the record: SYSCALL `late=exe` and/or the ids
 * (`auid,uid,gid,euid,suid,fsuid,egid,sgid,fsgid,ses`), CWD `late=cwd`, PATH
 * `late=name`, EXECVE `late=argv`, PROCTITLE `late=proctitle`, SOCKADDR
 * `late=saddr`. Values the engine carried cut short (sample.cut: at its cap, or a
 * path walk that stopped 48 components deep, which reads like an absolute path)
 * are marked before that: SYSCALL `truncated=exe`, CWD and PATH `truncated=yes`. */
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

/* Renders an AR_TP_SYSCALL sample (other kinds: returns 0, nothing emitted, no
 * serial used). The key comes from plan->rules[s->rule] when s->rule >= 0 (plan
 * may be NULL: no key). Each rendered sample takes the next serial, even when emit
 * stops it. Time: sec and msec of time_ns. Returns 0, -ENOMEM (a record did not
 * fit and the buffer could not grow) or the first negative return of emit. */
int ar_tp_render(struct ar_tp_render *r, const struct ar_tp_plan *plan,
                 const struct ar_tp_sample *s, ar_tp_record_fn emit, void *userdata);
