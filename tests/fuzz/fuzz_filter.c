/* Fuzz target: filters. The input is a log whose first line, when it starts with
 * "drop " or "keep ", is a filter of its own (the spec parser meets arbitrary text;
 * refusing it is fine). Every event goes through that filter and a fixed list with
 * a condition of every kind (regexes, hex values, paths joined to the CWD, socket
 * addresses), so matching reads hostile records. The counters must add up: every
 * event decided by one filter or unmatched, the dropped ones counted once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter.h"
#include "parse/header.h"
#include "reasm/reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed[] = {
    "keep type=USER_LOGIN res=failed",
    "drop record=EXECVE proctitle~^/bin/(ba)?sh",
    "drop syscall=connect,sendto,59 sockaddr=127.0.0.0/8,::1,/run/x,@abstract",
    "drop sockaddr_port=53 sockaddr_family!=inet6",
    "drop key=a,(null) exe~^/usr/lib/",
    "drop uid=0,unset auid!=unset euid!=1 exit=EACCES,-2 arch=x86_64",
    "drop path=/etc/passwd dir!=/var",
    "drop dir=/,/tmp path~\\.swp$ PATH.nametype=DELETE",
    "keep text~(?i)denied CWD.cwd~^/home comm=\"a b\"",
    "drop type~^CRED_ sockaddr~^10\\.",
};

static uint64_t events_seen;

static void on_event(const struct ar_event *ev, void *ud)
{
    struct ar_filter **sets = ud;
    events_seen++;
    for (int i = 0; i < 2; i++)
        if (sets[i])
            ar_filter_keep(sets[i], ev);
}

static void check_counts(const struct ar_filter *f)
{
    if (!f)
        return;
    const struct ar_filter_stats *st = ar_filter_stats(f);
    uint64_t decided = 0, dropped = 0;
    struct ar_filter_info in = {0};
    for (size_t i = 0; ar_filter_info(f, i, &in); i++) {
        decided += in.matched;
        dropped += in.drop ? in.matched : 0;
    }
    if (ar_filter_count(f) && !in.drop) /* the unmatched after a list ending in keep */
        dropped += st->unmatched;
    if (st->events != events_seen || decided + st->unmatched + st->unexamined != st->events ||
        dropped != st->dropped)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512];
    /* Compiled per input: counters of this input only. */
    struct ar_filter *sets[2] = {NULL, NULL};
    if (ar_filter_compile(NULL, fixed, sizeof(fixed) / sizeof(fixed[0]), &sets[0], why,
                          sizeof(why)) < 0)
        __builtin_trap(); /* the fixed list is valid */
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    const char *le = nl ? nl : end;
    if (le - p > 5 && (memcmp(p, "drop ", 5) == 0 || memcmp(p, "keep ", 5) == 0)) {
        char *spec = strndup(p, (size_t)(le - p));
        if (spec && !memchr(p, 0, (size_t)(le - p)) && ar_filter_new(NULL, &sets[1]) == 0 &&
            ar_filter_add(sets[1], spec, why, sizeof(why)) < 0 && ar_filter_count(sets[1]))
            __builtin_trap(); /* a refused filter leaves the set as it was */
        free(spec);
        p = nl ? nl + 1 : end;
    }
    struct ar_reasm_config cfg;
    ar_reasm_config_default(&cfg);
    struct ar_reasm_callbacks cbs = {.event = on_event, .userdata = sets};
    struct ar_reasm *r;
    if (ar_reasm_new(&cfg, &cbs, &r) == 0) {
        events_seen = 0;
        while (p < end) {
            nl = memchr(p, '\n', (size_t)(end - p));
            le = nl ? nl : end;
            struct ar_record rec;
            if (ar_header_parse_line(p, le, NULL, &rec) == 0)
                ar_reasm_push(r, &rec, 0);
            p = nl ? nl + 1 : end;
        }
        ar_reasm_flush(r);
        ar_reasm_free(r);
        check_counts(sets[0]);
        check_counts(sets[1]);
    }
    ar_filter_free(sets[0]);
    ar_filter_free(sets[1]);
    return 0;
}
