/* How a field is interpreted, by name: the domain knowledge auparse keeps in its
 * field type table, as one static table. */
#pragma once
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
};

/* The class of a field name; AR_FC_NONE when it has no interpretation. */
enum ar_field_class ar_field_class_of(struct ar_span name);
