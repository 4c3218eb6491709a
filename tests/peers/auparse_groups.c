/* auparse_groups: libauparse as an oracle and a benchmark peer for auditrelay replay.
 *
 * Usage: auparse_groups [--groups|--bare|--interpret] [--names] FILE...
 *
 *   --groups (default)  one line per event on stdout, in the order libauparse hands events out:
 *                         <node or -> <sec>.<msec>:<serial> <nrecords> <TYPE1>,<TYPE2>,...
 *                       (types are numeric record types in the event's record order). This is
 *                       the reference for how records are grouped into events.
 *   --names             with --groups: print each type as libaudit's audit_msg_type_to_name()
 *                       spells it ("SYSCALL"), or "UNKNOWN[1334]" for a number libaudit does
 *                       not know, instead of the number: the names auditrelay's JSON must use.
 *   --bare              walks every event, record and field, reading each field's name and raw
 *                       value, and prints nothing on stdout: "libauparse merely parses".
 *   --interpret         the same walk, plus auparse_interpret_field() on every field: "parse and
 *                       interpret every field".
 *
 * Every mode prints one line of totals on stderr at the end:
 *   auparse_groups: events=N records=N fields=N
 * (fields is 0 in --groups mode, which does not walk fields).
 *
 * Exit status: 0 on success, 1 when libauparse cannot open the files or reports an error,
 * 2 on a usage error.
 *
 * Event order: libauparse keeps events in flight in an array of slots and hands out the completed
 * event in the lowest-numbered slot first (au_get_ready_event), not the oldest, and an event
 * completes on type (PROCTITLE, EOE, user or anomaly record as last record), on age (its first
 * record more than 2 s of log time older than the newest one) or at end of input. Events can
 * therefore come out in a different order from the log; a test that compares grouping must
 * compare sorted lines (or sets), not sequences.
 *
 * Memory: libauparse opens each file with fopen(..., "rm"), which maps the whole file, so this
 * program's peak RSS grows with the file (about 53 MB for a 51 MiB log), nearly all of it
 * file-backed page cache rather than heap.
 *
 * This is a test tool: it links libauparse and libaudit, which the product binary never does. */

#include <auparse.h>
#include <libaudit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mode {
    MODE_GROUPS,
    MODE_BARE,
    MODE_INTERPRET,
};

struct totals {
    unsigned long long events;
    unsigned long long records;
    unsigned long long fields;
    /* Folded from the bytes the walk reads, so that reading a field is work that must be done. */
    unsigned long long sink;
};

static void usage(FILE *f)
{
    fputs("usage: auparse_groups [--groups|--bare|--interpret] [--names] FILE...\n", f);
}

/* Prints the grouping line of the current event. Returns 0, -EINVAL when the event has no
 * timestamp, or -EIO when stdout fails (main reports it). */
static int print_group(auparse_state_t *au, struct totals *t, int names)
{
    const au_event_t *e = auparse_get_timestamp(au);
    unsigned int n = auparse_get_num_records(au);
    unsigned int i = 0;

    if (e == NULL) {
        fprintf(stderr, "auparse_groups: event %llu has no timestamp\n", t->events);
        return -EINVAL;
    }
    printf("%s %lld.%03u:%lu %u ", e->host ? e->host : "-", (long long)e->sec, e->milli, e->serial,
           n);
    if (auparse_first_record(au) > 0) {
        do {
            int type = auparse_get_type(au);
            const char *name = names ? audit_msg_type_to_name(type) : NULL;

            if (i++) {
                putchar(',');
            }
            if (name != NULL) {
                fputs(name, stdout);
            } else {
                printf(names ? "UNKNOWN[%d]" : "%d", type);
            }
        } while (auparse_next_record(au) > 0);
    }
    putchar('\n');
    t->records += i;
    if (i != n) {
        fprintf(stderr, "auparse_groups: %lld.%03u:%lu: %u records walked, %u announced\n",
                (long long)e->sec, e->milli, e->serial, i, n);
    }
    return ferror(stdout) ? -EIO : 0;
}

/* Walks every record and field of the current event; interprets each field when asked. */
static void walk_event(auparse_state_t *au, enum mode mode, struct totals *t)
{
    if (auparse_first_record(au) <= 0) {
        return;
    }
    do {
        t->records++;
        if (auparse_first_field(au) <= 0) {
            continue;
        }
        do {
            const char *name = auparse_get_field_name(au);
            const char *value = auparse_get_field_str(au);

            t->fields++;
            if (name != NULL) {
                t->sink += (unsigned char)name[0];
            }
            if (value != NULL) {
                t->sink += (unsigned char)value[0];
            }
            if (mode == MODE_INTERPRET) {
                const char *text = auparse_interpret_field(au);

                if (text != NULL) {
                    t->sink += (unsigned char)text[0];
                }
            }
        } while (auparse_next_field(au) > 0);
    } while (auparse_next_record(au) > 0);
}

int main(int argc, char **argv)
{
    static char outbuf[1 << 16];
    enum mode mode = MODE_GROUPS;
    struct totals t = {0};
    auparse_state_t *au;
    int first = 1;
    int failed = 0;
    int names = 0;
    int rc;

    while (first < argc && strncmp(argv[first], "--", 2) == 0) {
        const char *opt = argv[first++];

        if (strcmp(opt, "--") == 0) {
            break;
        } else if (strcmp(opt, "--groups") == 0) {
            mode = MODE_GROUPS;
        } else if (strcmp(opt, "--names") == 0) {
            names = 1;
        } else if (strcmp(opt, "--bare") == 0) {
            mode = MODE_BARE;
        } else if (strcmp(opt, "--interpret") == 0) {
            mode = MODE_INTERPRET;
        } else if (strcmp(opt, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "auparse_groups: unknown option %s\n", opt);
            usage(stderr);
            return 2;
        }
    }
    if (first >= argc) {
        usage(stderr);
        return 2;
    }

    /* Fully buffered: --groups writes a line per event and is often piped to a file. */
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

    /* argv is NULL-terminated, which is what AUSOURCE_FILE_ARRAY wants. auparse_init checks
     * that every file is readable and fails without saying which: say it here. */
    for (int i = first; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");

        if (f == NULL) {
            fprintf(stderr, "auparse_groups: %s: %s\n", argv[i], strerror(errno));
            return 1;
        }
        fclose(f);
    }
    au = auparse_init(AUSOURCE_FILE_ARRAY, (const char **)&argv[first]);
    if (au == NULL) {
        fprintf(stderr, "auparse_groups: auparse_init: %s\n", strerror(errno));
        return 1;
    }

    while ((rc = auparse_next_event(au)) > 0) {
        t.events++;
        if (mode != MODE_GROUPS) {
            walk_event(au, mode, &t);
        } else if (print_group(au, &t, names) < 0) {
            failed = 1;
            break;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "auparse_groups: auparse_next_event failed after %llu events\n", t.events);
        failed = 1;
    }
    auparse_destroy(au);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "auparse_groups: writing stdout failed\n");
        failed = 1;
    }
    fprintf(stderr, "auparse_groups: events=%llu records=%llu fields=%llu\n", t.events, t.records,
            t.fields);
    /* The sink only exists so that the walk cannot be optimised away; keep it observable. */
    if (getenv("AUPARSE_GROUPS_SINK") != NULL) {
        fprintf(stderr, "auparse_groups: sink=%llu\n", t.sink);
    }
    return failed;
}
