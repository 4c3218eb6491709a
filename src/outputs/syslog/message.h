/* The syslog message around one JSON event, shared by the syslog transports and RELP:
 * RFC 5424 by default, RFC 3164 with format=3164, or format=local: what syslog(3)
 * writes to /dev/log (RFC 3164 without the hostname, which local syslog daemons and
 * journald parse as part of the tag otherwise); facility, severity, app-name and
 * hostname configurable. The message's timestamp is the event's own. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "outputs/util.h"
#include "util/line_meta.h"

enum ar_syslog_format { AR_SYSLOG_5424, AR_SYSLOG_3164, AR_SYSLOG_LOCAL };

struct ar_syslog_message {
    enum ar_syslog_format format;
    unsigned facility, severity;
    char app[49];
    char hostname[256];
};

/* The options ar_syslog_message_option takes, for error messages. */
#define AR_SYSLOG_MESSAGE_OPTIONS \
    "format=5424|3164|local, facility=NAME, severity=NAME, app=NAME, hostname=NAME"

/* authpriv.info from app "auditrelay" on this host. */
void ar_syslog_message_init(struct ar_syslog_message *m);

/* Takes the option when it is one of the message's and its value is valid. */
bool ar_syslog_message_option(struct ar_syslog_message *m, const struct ar_option *opt);

/* Writes the header for a line of the event `meta` describes to out: "<PRI>1 TIME
 * HOST APP PID - - ", "<PRI>Mmm dd hh:mm:ss HOST APP[PID]: " or (local) "<PRI>Mmm dd
 * hh:mm:ss APP[PID]: ". TIME is the event's (now when it has none, or meta is
 * NULL). Returns its length. */
size_t ar_syslog_header(const struct ar_syslog_message *m, const struct ar_line_meta *meta,
                        char out[512]);
