/* Small helpers the transports share: option lists and sizes. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* One "name=value" of an "a=1&b=2" option list, NUL-terminated copies. */
struct ar_option {
    char name[64];
    char value[256];
};

#define AR_OPTION_IS(o, lit) (strcmp((o)->name, (lit)) == 0)

/* Takes the next option from *rest (advancing it); false at the end. */
bool ar_option_next(const char **rest, struct ar_option *ret);

/* "100M", "4k", "1G", "1T", "123": bytes. Returns 0 or -EINVAL. */
int ar_parse_size(const char *s, uint64_t *ret);

/* Splits "host:port" or "[v6]:port"; returns 0 or -EINVAL. */
int ar_split_host_port(const char *target, char *host, size_t hostlen, char *port, size_t portlen);

/* The sink carries finished lines only, so transports that need an event's time or
 * node (syslog's header, Kafka's timestamp and key) read them back from the start of
 * our JSON line, where the encoder always puts them. */

/* The event's "timestamp" (ISO-8601, or go-audit's "SEC.MS"), or an auditd log
 * line's msg=audit(SEC.MS:...). False when the line has none. */
bool ar_line_event_time(const char *line, size_t len, uint64_t *ret_sec, uint32_t *ret_ms);

/* The event's "node", or an auditd log line's node= prefix (a pointer into line and
 * its length). False when it has none. */
bool ar_line_node(const char *line, size_t len, const char **ret, size_t *ret_len);
