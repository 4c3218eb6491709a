/* The syslog message header shared by the syslog and RELP outputs: RFC 5424 with the
 * event's own UTC timestamp, RFC 3164 with the event's time in local time (its
 * TIMESTAMP has no zone; receivers read it as the sender's local time), the local
 * format of /dev/log, options. The time comes from the line's metadata, not from
 * the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "outputs/syslog/message.h"

/* The event's metadata, as the pipeline hands it with the line: 2026-11-23T09:17:05.864Z. */
static const struct ar_line_meta event = {
    .sec = 1795425425, .ms = 864, .has_time = true, .serial = 1548};

static void header(const struct ar_syslog_message *m, char out[512])
{
    size_t n = ar_syslog_header(m, &event, out);
    out[n] = '\0';
}

int main(void)
{
    char want[512], got[512];
    struct ar_syslog_message m;
    /* A zone without tzdata: 5 h 30 min east of UTC. */
    setenv("TZ", "IST-5:30", 1);
    tzset();
    ar_syslog_message_init(&m);
    snprintf(m.hostname, sizeof(m.hostname), "h1");

    header(&m, got);
    snprintf(want, sizeof(want), "<86>1 2026-11-23T09:17:05.864Z h1 auditrelay %d - - ",
             (int)getpid());
    CHECK_STR(got, want);

    struct ar_option opt = {"format", "3164"};
    CHECK(ar_syslog_message_option(&m, &opt));
    header(&m, got);
    /* 09:17:05 UTC is 14:47:05 at +05:30; written in UTC it was "09:17:05". */
    snprintf(want, sizeof(want), "<86>Nov 23 14:47:05 h1 auditrelay[%d]: ", (int)getpid());
    CHECK_STR(got, want);

    struct ar_option fac = {"facility", "local3"}, sev = {"severity", "notice"},
                     app = {"app", "audit-x"}, bad_sev = {"severity", "loud"},
                     bad_app = {"app", "a b"}, bad_fmt = {"format", "6587"},
                     other = {"window", "5"};
    CHECK(ar_syslog_message_option(&m, &fac));
    CHECK(ar_syslog_message_option(&m, &sev));
    CHECK(ar_syslog_message_option(&m, &app));
    CHECK(!ar_syslog_message_option(&m, &bad_sev));
    CHECK(!ar_syslog_message_option(&m, &bad_app));
    CHECK(!ar_syslog_message_option(&m, &bad_fmt));
    CHECK(!ar_syslog_message_option(&m, &other));
    header(&m, got);
    snprintf(want, sizeof(want), "<157>Nov 23 14:47:05 h1 audit-x[%d]: ", (int)getpid());
    CHECK_STR(got, want);

    /* What syslog(3) writes to /dev/log: no hostname (rsyslog's imuxsock would take
     * it for the tag). */
    struct ar_option local = {"format", "local"};
    CHECK(ar_syslog_message_option(&m, &local));
    header(&m, got);
    snprintf(want, sizeof(want), "<157>Nov 23 14:47:05 audit-x[%d]: ", (int)getpid());
    CHECK_STR(got, want);
    /* An event without a time (or no metadata): the time of sending. */
    {
        struct ar_syslog_message r;
        ar_syslog_message_init(&r);
        snprintf(r.hostname, sizeof(r.hostname), "h1");
        struct ar_line_meta timeless = {.serial = 7};
        const struct ar_line_meta *metas[] = {&timeless, NULL};
        for (size_t k = 0; k < 2; k++) {
            time_t before = time(NULL);
            size_t n = ar_syslog_header(&r, metas[k], got);
            got[n] = '\0';
            struct tm tm = {0};
            CHECK(strptime(got, "<86>1 %Y-%m-%dT%H:%M:%S", &tm) != NULL);
            time_t when = timegm(&tm);
            CHECK(when >= before && when <= time(NULL));
        }
    }
    return check_failures ? 1 : 0;
}
