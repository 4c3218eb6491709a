/* go-audit input for replay: one line of go-audit's JSON output (one object per
 * event: sequence, timestamp, messages[{type, data}], uid_map) turned back into
 * the audit records it was made of, so an archive of go-audit's output replays
 * through the same pipeline as an audit log. Reads with libcjson; no I/O. */
#pragma once
#include <stddef.h>
#include "sources/source.h"

/* Hands the records of the go-audit line [p, p + len) to sink->record in order,
 * then ends their event with sink->end_event (a line is one whole event, however
 * its records would group by type). Each record: type from "type", the stamp from
 * "timestamp" and "sequence", body from "data"; no node (go-audit's format has
 * none). uid_map (an object, null or absent) gives the ENRICHED part, as auditd
 * writes it: KEY="name" for each user id field (uid, auid, euid...) the map names
 * (not UNKNOWN_USER, not a name with a quote, blank or control character): the
 * recording host's names, which the encoders take over this host's. Other keys are
 * ignored.
 * Sequence 0 with timestamp "0.000" (what `--format go-audit` writes for records
 * without a stamp, "msg=?"; go-audit itself drops serial 0) gives records without
 * a stamp. The record's spans are valid during the call only.
 * The loss reports `--format go-audit` writes in the JSON schema
 * ({"type":"AUDITRELAY_LOST",...}) are read too: a serial_gap is found again by
 * reassembly and skipped; other kinds go to sink->loss with their count.
 * The whole line is checked before anything is handed over, so a bad line gives
 * nothing. Returns 0; 1 when the line is not a go-audit event (not JSON, a field
 * missing or of the wrong type, a number out of range, no messages, a "data" with
 * a NUL character; also when libcjson ran out of memory, which it does not tell
 * apart); or a negative errno from the sink (the rest is not handed over). */
int ar_goaudit_decode_line(const char *p, size_t len, const struct ar_source_sink *sink);
