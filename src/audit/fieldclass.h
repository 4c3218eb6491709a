/* What a field name means: how to interpret its value (the knowledge auparse keeps in
 * its field type table) and which summary slot it feeds. One static table, looked
 * up once per field. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/span.h"

enum ar_field_class {
    AR_FC_NONE = 0,
    AR_FC_UID,      /* a user id: name beside it */
    AR_FC_GID,      /* a group id */
    AR_FC_ARCH,     /* AUDIT_ARCH_* in hex */
    AR_FC_SYSCALL,  /* syscall number on the record's arch */
    AR_FC_EXIT,     /* syscall return: errno name when negative */
    AR_FC_ESCAPED,  /* untrusted string: quoted, or hex when it holds odd bytes */
    AR_FC_PROCTITLE,/* NUL-separated argv, hex-encoded */
    AR_FC_SADDR,    /* hex sockaddr */
    AR_FC_SESSION,  /* session id: 4294967295 is unset */
    AR_FC_MODE,     /* st_mode in octal */
    AR_FC_KEY,      /* rule key(s): hex with 0x01 between keys when several */
    AR_FC_TEXT,     /* never a number even when it looks like one (res, cap_*) */
};

/* Names the event summary picks up; AR_FN_OTHER for the rest. */
enum ar_field_name {
    AR_FN_OTHER = 0,
    AR_FN_ARCH, AR_FN_SYSCALL, AR_FN_SUCCESS, AR_FN_EXIT, AR_FN_PID, AR_FN_PPID,
    AR_FN_COMM, AR_FN_EXE, AR_FN_KEY, AR_FN_UID, AR_FN_AUID, AR_FN_SES, AR_FN_TTY,
    AR_FN_CWD, AR_FN_NAME, AR_FN_SADDR, AR_FN_PROCTITLE, AR_FN_OP, AR_FN_ACCT,
    AR_FN_HOSTNAME, AR_FN_ADDR, AR_FN_TERMINAL, AR_FN_RES, AR_FN_ARGC,
    AR_FN_COUNT
};

struct ar_field_info {
    uint8_t cls;   /* enum ar_field_class */
    uint8_t name;  /* enum ar_field_name */
};

/* The class and summary slot of a field name; {0, 0} for names with neither. */
struct ar_field_info ar_field_info_of(struct ar_span name);

/* Whether records are known to carry a field of this name (the names above, the
 * others the kernel and user-space programs write, a0... and aN_len). */
bool ar_field_name_known(struct ar_span name);

/* The i-th known name (0-based), NULL past the last: for "did you mean". */
const char *ar_field_name_at(size_t i);
