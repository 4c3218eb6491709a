#include "outputs/syslog/message.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/iso8601.h"
#include "util/span.h"

struct code_name {
    const char *name;
    unsigned code;
};

static const struct code_name facilities[] = {
    {"kern", 0}, {"user", 1}, {"mail", 2}, {"daemon", 3}, {"auth", 4}, {"syslog", 5},
    {"lpr", 6}, {"news", 7}, {"uucp", 8}, {"cron", 9}, {"authpriv", 10}, {"ftp", 11},
    {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19}, {"local4", 20},
    {"local5", 21}, {"local6", 22}, {"local7", 23},
};
static const struct code_name severities[] = {
    {"emerg", 0}, {"alert", 1}, {"crit", 2}, {"err", 3}, {"warning", 4}, {"notice", 5},
    {"info", 6}, {"debug", 7},
};

static bool lookup(const struct code_name *table, size_t n, const char *name, unsigned *ret)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *ret = table[i].code;
            return true;
        }
    }
    return false;
}

void ar_syslog_message_init(struct ar_syslog_message *m)
{
    *m = (struct ar_syslog_message){
        .facility = 10, /* authpriv: where audit trails belong */
        .severity = 6,  /* info */
    };
    snprintf(m->app, sizeof(m->app), "auditrelay");
    if (gethostname(m->hostname, sizeof(m->hostname)) < 0 || !m->hostname[0])
        snprintf(m->hostname, sizeof(m->hostname), "-");
}

bool ar_syslog_message_option(struct ar_syslog_message *m, const struct ar_option *opt)
{
    if (AR_OPTION_IS(opt, "format")) {
        static const struct code_name formats[] = {
            {"5424", AR_SYSLOG_5424}, {"3164", AR_SYSLOG_3164}, {"local", AR_SYSLOG_LOCAL}};
        unsigned f;
        if (!lookup(formats, AR_ARRAY_SIZE(formats), opt->value, &f))
            return false;
        m->format = (enum ar_syslog_format)f;
        return true;
    }
    if (AR_OPTION_IS(opt, "facility"))
        return lookup(facilities, AR_ARRAY_SIZE(facilities), opt->value, &m->facility);
    if (AR_OPTION_IS(opt, "severity"))
        return lookup(severities, AR_ARRAY_SIZE(severities), opt->value, &m->severity);
    if (AR_OPTION_IS(opt, "app") && opt->value[0] && strlen(opt->value) <= 48 &&
        !strpbrk(opt->value, " []:")) {
        snprintf(m->app, sizeof(m->app), "%s", opt->value);
        return true;
    }
    if (AR_OPTION_IS(opt, "hostname") && opt->value[0] && !strchr(opt->value, ' ')) {
        snprintf(m->hostname, sizeof(m->hostname), "%s", opt->value);
        return true;
    }
    return false;
}

/* The event's time (else now) as RFC 3339 UTC with milliseconds. */
static void event_time(const struct ar_line_meta *meta, char out[32], time_t *ret_sec)
{
    uint64_t sec;
    uint32_t ms;
    if (meta && meta->has_time) {
        sec = meta->sec;
        ms = meta->ms;
    } else {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        sec = (uint64_t)now.tv_sec;
        ms = (uint32_t)(now.tv_nsec / 1000000);
    }
    ar_format_iso8601(sec, ms, out);
    *ret_sec = (time_t)sec;
}

size_t ar_syslog_header(const struct ar_syslog_message *m, const struct ar_line_meta *meta,
                        char out[512])
{
    char ts[32];
    time_t sec = 0;
    event_time(meta, ts, &sec);
    unsigned pri = m->facility * 8 + m->severity;
    int n;
    if (m->format != AR_SYSLOG_5424) {
        /* RFC 3164 has no zone: its TIMESTAMP is the sender's local time, which is
         * how receivers read it. */
        struct tm tm;
        char when[32];
        localtime_r(&sec, &tm);
        strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm);
        bool host = m->format == AR_SYSLOG_3164;
        n = snprintf(out, 512, "<%u>%s %s%s%s[%d]: ", pri, when, host ? m->hostname : "",
                     host ? " " : "", m->app, (int)getpid());
    } else {
        n = snprintf(out, 512, "<%u>1 %s %s %s %d - - ", pri, ts, m->hostname, m->app,
                     (int)getpid());
    }
    return n < 0 ? 0 : (size_t)n >= 512 ? 511 : (size_t)n;
}
