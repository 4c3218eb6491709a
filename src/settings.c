#include "settings.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "encode/encoder.h"
#include "enrich/proctable.h"
#include "metrics/listen.h"
#include "outputs/util.h"
#include "sources/tracepoint/engine.h"
#include "util/span.h"

#define FIELD(f)                                                  \
    .offset = offsetof(struct ar_collector_config, f),            \
    .width = sizeof(((struct ar_collector_config *)0)->f)
#define SET_FLAG(f) .count_offset = offsetof(struct ar_collector_config, f)
#define LIST(f, n)  FIELD(f), .count_offset = offsetof(struct ar_collector_config, n)
#define RUN AR_CMD_RUN
#define REPLAY AR_CMD_REPLAY
#define BOTH (AR_CMD_RUN | AR_CMD_REPLAY)
#define COLLECTOR "collector"
/* A number macro's digits, for a default written from the code's constant. */
#define AR_STR_(x) #x
#define AR_STR(x) AR_STR_(x)
#define OUTPUT "output"
#define PROCESS "process"

static const struct ar_setting_word source_words[] = {
    {"auto", AR_SOURCE_AUTO},           {"unicast", AR_SOURCE_UNICAST},
    {"multicast", AR_SOURCE_MULTICAST}, {"tracepoint", AR_SOURCE_TRACEPOINT},
    {NULL, 0},
};
static const struct ar_setting_word engine_words[] = {
    {"auto", AR_TP_ENGINE_AUTO}, {"bpf", AR_TP_ENGINE_BPF}, {"perf", AR_TP_ENGINE_PERF},
    {NULL, 0},
};
static const struct ar_setting_word process_feed_words[] = {
    {"auto", AR_PROCESS_FEED_AUTO}, {"bpf", AR_PROCESS_FEED_BPF},
    {"audit", AR_PROCESS_FEED_AUDIT}, {"none", AR_PROCESS_FEED_NONE},
    {NULL, 0},
};
static const struct ar_setting_word input_format_words[] = {
    {"audit", AR_INPUT_AUDIT}, {"go-audit", AR_INPUT_GOAUDIT},
    {NULL, 0},
};

/* A filter is checked when it is given (file:line, --filter), with the filters
 * before it: names resolved, regexes compiled, reachable. */
static int check_filter(const struct ar_collector_config *cfg, const char *value, char *why,
                        size_t whylen)
{
    struct ar_filter_env env;
    ar_filter_env_host(&env);
    struct ar_filter *f;
    char one[300];
    int r = ar_filter_compile(&env, cfg->filters, cfg->nfilters, &f, one, sizeof(one));
    if (r == 0 && !f)
        r = ar_filter_new(&env, &f);
    if (r == 0)
        r = ar_filter_add(f, value, one, sizeof(one));
    ar_filter_free(f);
    if (r < 0)
        snprintf(why, whylen, "'%s': %s", value, r == -EINVAL ? one : strerror(-r));
    return r < 0 ? -EINVAL : 0;
}

static int check_label_rule(const struct ar_collector_config *cfg, const char *value, char *why,
                            size_t whylen)
{
    (void)cfg;
    return ar_proctab_label_check(value, why, whylen);
}

/* In --help's order. Options of both commands mean the same in each. */
static const struct ar_setting table[] = {
    {.option = "config", .short_option = 'c', .type = AR_SETTING_CONFIG, .commands = RUN,
     .arg = "FILE", .dflt = AR_CONFIG_DEFAULT_PATH,
     .help = "settings file (INI, auditrelay.conf(5)), read\n"
             "when it exists; options override it"},
    {.option = "source", .short_option = 's', .section = COLLECTOR, .key = "source",
     .type = AR_SETTING_CHOICE, .commands = RUN, .arg = "MODE", .words = source_words,
     FIELD(source), .dflt = "auto",
     .help = "auto: the audit daemon slot when it is free, else\n"
             "the read-only multicast group, else (no audit in\n"
             "the kernel, no permission) tracepoints; unicast:\n"
             "the slot only; multicast: read beside auditd;\n"
             "tracepoint: syscall tracepoints (eBPF or perf)\n"
             "driven by the same rules, without the audit\n"
             "subsystem"},
    {.option = "tracepoint-engine", .section = COLLECTOR, .key = "tracepoint_engine",
     .type = AR_SETTING_CHOICE, .commands = RUN, .arg = "E", .words = engine_words,
     FIELD(tracepoint_engine), .dflt = "auto",
     .help = "bpf, perf (no BPF; strings read late, marked so),\n"
             "or auto (bpf when the kernel allows it)"},
    {.option = "tracepoint-ring", .section = COLLECTOR, .key = "tracepoint_ring",
     .type = AR_SETTING_SIZE, .commands = RUN, .arg = "SIZE", .min = 4096, .max = 1ull << 30,
     FIELD(tracepoint_ring),
     .dflt = AR_STR(AR_TP_BPF_RING_MIB) "M for bpf, "
             AR_STR(AR_TP_PERF_RING_MIB) "M per CPU for perf",
     .help = "the tracepoint source's ring buffer"},
    {.option = "takeover", .section = COLLECTOR, .key = "takeover", .type = AR_SETTING_BOOL,
     .commands = RUN, .flag = true, FIELD(takeover), .dflt = "no",
     .help = "stop the process holding the slot (SIGTERM) and\ntake it"},
    {.option = "no-enable", .section = COLLECTOR, .key = "enable", .type = AR_SETTING_BOOL,
     .commands = RUN, .flag = false, FIELD(enable), .dflt = "yes",
     .help = "do not switch auditing on (enabled=1)"},
    {.option = "backlog-limit", .section = COLLECTOR, .key = "backlog_limit",
     .type = AR_SETTING_UINT, .commands = RUN, .arg = "N", .max = UINT32_MAX,
     FIELD(backlog_limit), .dflt = "8192",
     .help = "kernel backlog while running (0: leave it)"},
    {.option = "backlog-wait-time", .section = COLLECTOR, .key = "backlog_wait_time",
     .type = AR_SETTING_UINT, .commands = RUN, .arg = "N", .max = UINT32_MAX,
     FIELD(backlog_wait_time), SET_FLAG(set_backlog_wait_time), .dflt = "not set",
     .help = "kernel backlog wait time (jiffies) while running"},
    {.option = "rate-limit", .section = COLLECTOR, .key = "rate_limit", .type = AR_SETTING_UINT,
     .commands = RUN, .arg = "N", .max = UINT32_MAX, FIELD(rate_limit),
     SET_FLAG(set_rate_limit), .dflt = "not set",
     .help = "kernel rate limit (records/s) while running"},
    {.option = "failure-mode", .section = COLLECTOR, .key = "failure", .type = AR_SETTING_UINT,
     .commands = RUN, .arg = "N", .max = 2, FIELD(failure), SET_FLAG(set_failure),
     .dflt = "not set",
     .help = "kernel failure mode while running: 0 silent,\n"
             "1 printk, 2 panic (the machine halts on a lost\n"
             "record: only where policy demands it)"},
    {.option = "format", .short_option = 'f', .section = OUTPUT, .key = "format",
     .type = AR_SETTING_FORMAT, .commands = BOTH, .arg = "FORMAT",
     FIELD(pipeline.format), .dflt = "json",
     .help = "json, go-audit, ecs (Elastic Common Schema as\n"
             "Auditbeat writes it), or auditd's log formats\n"
             "raw and enriched (for ausearch/aureport)"},
    {.option = "input-format", .type = AR_SETTING_CHOICE, .commands = REPLAY, .arg = "FORMAT",
     .words = input_format_words, FIELD(input_format), .dflt_replay = "audit",
     .help = "what the files hold: audit (audit logs: RAW,\n"
             "ENRICHED, the dispatcher stream, kern.log) or\n"
             "go-audit (go-audit's JSON output, one event a line)"},
    {.option = "output", .short_option = 'o', .section = OUTPUT, .key = "output",
     .type = AR_SETTING_LIST, .commands = BOTH, .arg = "SPEC", LIST(outputs, noutputs),
     .dflt = "stdout",
     .help = "where events go, repeatable: stdout,\n"
             "file:PATH[?mode=0600&rotate_size=100M\n"
             "&rotate_keep=5],\n"
             "syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT,\n"
             "syslog+tls://HOST:PORT[?ca=FILE&cert=FILE&key=FILE],\n"
             "relp://HOST:PORT[?window=128&timeout=10],\n"
             "unix:PATH[?type=dgram|stream], kafka://BROKER/TOPIC,\n"
             "exec:PROGRAM ARGS (an auditd plugin, with --format\n"
             "raw|enriched); syslog and RELP options:\n"
             "?format=5424|3164&framing=octet|newline\n"
             "&facility=authpriv&severity=info&app=auditrelay\n"
             "(see auditrelay(8))"},
    {.option = "spool-dir", .section = OUTPUT, .key = "spool_dir", .type = AR_SETTING_STRING,
     .commands = BOTH, .arg = "DIR", FIELD(output.spool_dir), .dflt = "none",
     .help = "spill what a down TCP/RELP/unix peer cannot take\nto DIR"},
    {.option = "max-memory", .section = OUTPUT, .key = "max_memory", .type = AR_SETTING_SIZE,
     .commands = BOTH, .arg = "SIZE", .min = 4096, .max = 1ull << 40,
     FIELD(output.max_memory), .dflt = "64M", .dflt_replay = "1M",
     .help = "bytes queued in memory per output (k, M, G, T);\n"
             "a replay waits for a slow output, the live\n"
             "collector cannot (the kernel does not wait)"},
    {.option = "max-spool", .section = OUTPUT, .key = "max_spool", .type = AR_SETTING_SIZE,
     .commands = BOTH, .arg = "SIZE", .min = 4096, .max = 1ull << 40, FIELD(output.max_spool),
     .dflt = "1G", .help = "bytes on disk per output's spool"},
    {.option = "rules", .section = COLLECTOR, .key = "rules", .type = AR_SETTING_LIST,
     .commands = RUN, .arg = "FILE|DIR", LIST(rules, nrules),
     .dflt = "the shipped set",
     .help = "audit rules (auditctl syntax) to install while\n"
             "running, repeatable; a directory is read like\n"
             "augenrules; the shipped set only when auditrelay\n"
             "holds the slot"},
    {.option = "no-rules", .section = COLLECTOR, .key = "install_rules", .type = AR_SETTING_BOOL,
     .commands = RUN, .flag = false, FIELD(install_rules), .dflt = "yes",
     .help = "install no rules"},
    {.option = "keep-rules", .section = COLLECTOR, .key = "keep_rules", .type = AR_SETTING_BOOL,
     .commands = RUN, .flag = true, FIELD(keep_rules), .dflt = "no",
     .help = "leave the installed rules loaded on exit"},
    {.option = "no-resolve", .short_option = 'n', .section = OUTPUT, .key = "resolve",
     .type = AR_SETTING_BOOL, .commands = BOTH, .flag = false, FIELD(pipeline.resolve_ids),
     .dflt = "yes",
     .help = "do not look up user and group names on this host\n"
             "(names an ENRICHED log carries are still used)"},
    {.option = "no-process-context", .section = PROCESS, .key = "context",
     .type = AR_SETTING_BOOL, .commands = BOTH, .flag = false, FIELD(pipeline.process),
     .dflt = "yes",
     .help = "no process object on events (parent, ancestors,\n"
             "script, labels from the process table)"},
    {.option = "process-depth", .section = PROCESS, .key = "depth", .type = AR_SETTING_UINT,
     .commands = BOTH, .arg = "N", .max = AR_PROC_MAX_DEPTH, FIELD(pipeline.proctab.depth),
     .dflt = "4", .help = "parent and ancestors named on an event"},
    {.option = "process-table-size", .section = PROCESS, .key = "table_size",
     .type = AR_SETTING_UINT, .commands = BOTH, .arg = "N", .min = 16, .max = 1u << 22,
     FIELD(pipeline.proctab.size), .dflt = "8192",
     .help = "processes remembered (about 550 bytes each,\n"
             "allocated at start); the least recently seen go"},
    {.option = "process-feed", .section = PROCESS, .key = "feed", .type = AR_SETTING_CHOICE,
     .commands = RUN, .arg = "MODE", .words = process_feed_words, FIELD(process_feed),
     .dflt = "auto",
     .help = "what tells the process table of forks, execs and\n"
             "exits: bpf (the scheduler's tracepoints), audit\n"
             "(audit rules of the collector's own, removed on\n"
             "exit; their events are not forwarded), none, or\n"
             "auto (bpf, else audit with an audit source)"},
    {.option = "process-label", .section = PROCESS, .key = "label", .type = AR_SETTING_LIST,
     .commands = BOTH, .arg = "RULE", LIST(pipeline.process_labels, pipeline.nprocess_labels),
     .dflt = "none", .check = check_label_rule,
     .help = "NAME:key|exe|argv|script:PATTERN, repeatable: a\n"
             "process matching it (the key exactly, the others\n"
             "by Perl-style regex) gets label NAME, and so\n"
             "does everything it starts"},
    {.option = "metrics", .section = COLLECTOR, .key = "metrics", .type = AR_SETTING_LISTEN,
     .commands = BOTH, .arg = "[ADDR:]PORT", FIELD(metrics), .dflt = "none",
     .help = "serve counters for Prometheus at\n"
             "http://ADDR:PORT/metrics (ADDR: 127.0.0.1 when\n"
             "only a port is given; [::1]:PORT)"},
    {.option = "user", .section = COLLECTOR, .key = "user", .type = AR_SETTING_STRING,
     .commands = RUN, .arg = "USER[:GROUP]", FIELD(user), .dflt = "none",
     .help = "once everything is open, run as USER (and its\n"
             "groups; GROUP: another primary group) with only\n"
             "the capabilities still needed; outputs are opened\n"
             "as USER"},
    {.option = "seccomp", .section = COLLECTOR, .key = "seccomp", .type = AR_SETTING_BOOL,
     .commands = RUN, .flag = true, FIELD(seccomp), .dflt = "no",
     .help = "once started, allow only the system calls the\n"
             "collector makes (others kill it; not with exec:)"},
    {.option = "filter", .section = "filter", .key = "filter", .type = AR_SETTING_LIST,
     .commands = BOTH, .arg = "FILTER", LIST(filters, nfilters), .check = check_filter,
     .dflt = "none",
     .help = "keep or drop events before they are encoded,\n"
             "repeatable, first match wins: 'drop key=noisy',\n"
             "'drop syscall=connect sockaddr=127.0.0.0/8',\n"
             "'keep auid!=unset' (see FILTERS in\n"
             "auditrelay.conf(5))"},
    /* Replay reads no config file: its own options are command line only. */
    {.option = "progress", .type = AR_SETTING_BOOL, .commands = REPLAY, .flag = true,
     FIELD(progress), .dflt_replay = "when stderr is a terminal",
     .help = "always show a progress bar on stderr"},
    {.option = "no-progress", .type = AR_SETTING_BOOL, .commands = REPLAY, .flag = false,
     FIELD(progress), .help = "never show it"},
    {.option = "quiet", .short_option = 'q', .type = AR_SETTING_BOOL, .commands = REPLAY,
     .flag = true, FIELD(quiet), .help = "no summary on stderr at the end"},
    {.option = "max-in-flight", .type = AR_SETTING_UINT, .commands = REPLAY, .arg = "N",
     .min = 1, .max = 1u << 24, FIELD(pipeline.reasm.max_in_flight), .dflt_replay = "4096",
     .help = "events assembled at once"},
    {.option = "threads", .type = AR_SETTING_UINT, .commands = REPLAY, .arg = "N", .max = 64,
     FIELD(pipeline.encode_threads), .dflt_replay = "CPUs less one, at most 4",
     .help = "encoding threads (0: encode inline)"},
    {.option = "help", .short_option = 'h', .type = AR_SETTING_HELP, .commands = BOTH,
     .help = "this help"},
    {.option = "version", .short_option = 'V', .type = AR_SETTING_VERSION, .commands = BOTH,
     .help = "version"},
};

const struct ar_setting *ar_settings(size_t *ret_n)
{
    *ret_n = AR_ARRAY_SIZE(table);
    return table;
}

const struct ar_setting *ar_setting_by_key(const char *section, const char *key)
{
    for (size_t i = 0; i < AR_ARRAY_SIZE(table); i++)
        if (table[i].key && !strcmp(table[i].section, section) && !strcmp(table[i].key, key))
            return &table[i];
    return NULL;
}

/* Sizes as people write them: 4096 is "4k", 1 << 40 "1T". */
static void format_size(uint64_t v, char *buf, size_t len)
{
    static const char suffix[] = "kMGT";
    int i = -1;
    while (i < 3 && v && v % 1024 == 0) {
        v /= 1024;
        i++;
    }
    if (i < 0)
        snprintf(buf, len, "%" PRIu64, v);
    else
        snprintf(buf, len, "%" PRIu64 "%c", v, suffix[i]);
}

static int parse_bool(const char *v, bool *ret)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
                                                                               "off", "0"};
    for (size_t i = 0; i < AR_ARRAY_SIZE(yes); i++) {
        if (!strcmp(v, yes[i]) || !strcmp(v, no[i])) {
            *ret = !strcmp(v, yes[i]);
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_uint(const char *v, uint64_t *ret)
{
    char *end;
    if (*v < '0' || *v > '9')
        return -EINVAL; /* strtoull would take "-1" and " 5" */
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *ret = n;
    return 0;
}

static void store_uint(void *field, size_t width, uint64_t v)
{
    if (width == sizeof(uint32_t)) {
        uint32_t u = (uint32_t)v;
        memcpy(field, &u, sizeof(u));
    } else {
        memcpy(field, &v, sizeof(v));
    }
}

static uint64_t load_uint(const void *field, size_t width)
{
    if (width == sizeof(uint32_t)) {
        uint32_t u;
        memcpy(&u, field, sizeof(u));
        return u;
    }
    uint64_t v;
    memcpy(&v, field, sizeof(v));
    return v;
}

static void words_list(const struct ar_setting_word *w, char *buf, size_t len)
{
    size_t n = 0, used = 0;
    while (w[n].word)
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
                                 i == 0 ? "" : i + 1 == n ? " or " : ", ", w[i].word);
}

const struct ar_setting_word *ar_setting_words(const struct ar_setting *s)
{
    /* The formats' names come from their table, so a new format needs no line here.
     * Filled on first use; settings are parsed on one thread. */
    static struct ar_setting_word formats[16];
    if (s->type != AR_SETTING_FORMAT)
        return s->words;
    if (!formats[0].word)
        for (size_t i = 0; ar_formats[i] && i + 1 < AR_ARRAY_SIZE(formats); i++)
            formats[i] = (struct ar_setting_word){ar_formats[i]->name, (int)i};
    return formats;
}

int ar_setting_apply(const struct ar_setting *s, const char *value,
                     struct ar_collector_config *cfg, char *why, size_t whylen)
{
    char *field = (char *)cfg + s->offset;
    char lo[32], hi[32];
    uint64_t v;
    switch (s->type) {
    case AR_SETTING_BOOL: {
        bool b;
        if (parse_bool(value, &b) < 0) {
            snprintf(why, whylen, "wants yes or no, got '%s'", value);
            return -EINVAL;
        }
        *(bool *)field = b;
        return 0;
    }
    case AR_SETTING_UINT:
        if (parse_uint(value, &v) < 0 || v < s->min || v > s->max) {
            snprintf(why, whylen, "wants a number from %" PRIu64 " to %" PRIu64 ", got '%s'",
                     s->min, s->max, value);
            return -EINVAL;
        }
        store_uint(field, s->width, v);
        if (s->count_offset)
            *(bool *)((char *)cfg + s->count_offset) = true;
        return 0;
    case AR_SETTING_SIZE:
        if (ar_parse_size(value, &v) < 0 || v < s->min || v > s->max) {
            format_size(s->min, lo, sizeof(lo));
            format_size(s->max, hi, sizeof(hi));
            snprintf(why, whylen, "wants a size from %s to %s (like 64M), got '%s'", lo, hi,
                     value);
            return -EINVAL;
        }
        store_uint(field, s->width, v);
        return 0;
    case AR_SETTING_CHOICE:
    case AR_SETTING_FORMAT: {
        const struct ar_setting_word *words_of = ar_setting_words(s);
        for (const struct ar_setting_word *w = words_of; w->word; w++) {
            if (strcmp(w->word, value) != 0)
                continue;
            if (s->type == AR_SETTING_FORMAT)
                *(const struct ar_format_ops **)field = ar_formats[w->value];
            else
                memcpy(field, &w->value, sizeof(int));
            return 0;
        }
        char words[128];
        words_list(words_of, words, sizeof(words));
        snprintf(why, whylen, "wants %s, got '%s'", words, value);
        return -EINVAL;
    }
    case AR_SETTING_STRING:
        *(const char **)field = value;
        return 0;
    case AR_SETTING_LIST: {
        size_t *count = (size_t *)((char *)cfg + s->count_offset);
        size_t max = s->width / sizeof(const char *);
        if (*count == max) {
            snprintf(why, whylen, "is given more than %zu times", max);
            return -EINVAL;
        }
        if (s->check && s->check(cfg, value, why, whylen) < 0)
            return -EINVAL;
        ((const char **)field)[(*count)++] = value;
        return 0;
    }
    case AR_SETTING_LISTEN: {
        char err[200];
        if (ar_metrics_parse_listen(value, (struct ar_metrics_listen *)field, err,
                                    sizeof(err)) < 0) {
            snprintf(why, whylen, "wants [ADDR:]PORT: %s", err);
            return -EINVAL;
        }
        return 0;
    }
    case AR_SETTING_CONFIG:
    case AR_SETTING_HELP:
    case AR_SETTING_VERSION:
        break;
    }
    snprintf(why, whylen, "is not a setting");
    return -EINVAL;
}

void ar_setting_format(const struct ar_setting *s, const struct ar_collector_config *cfg,
                       char *buf, size_t len)
{
    const char *field = (const char *)cfg + s->offset;
    snprintf(buf, len, "-");
    switch (s->type) {
    case AR_SETTING_BOOL:
        snprintf(buf, len, "%s", *(const bool *)field ? "yes" : "no");
        break;
    case AR_SETTING_UINT:
        if (s->count_offset && !*(const bool *)((const char *)cfg + s->count_offset))
            snprintf(buf, len, "not set");
        else
            snprintf(buf, len, "%" PRIu64, load_uint(field, s->width));
        break;
    case AR_SETTING_SIZE:
        format_size(load_uint(field, s->width), buf, len);
        break;
    case AR_SETTING_CHOICE: {
        int v;
        memcpy(&v, field, sizeof(v));
        for (const struct ar_setting_word *w = s->words; w->word; w++)
            if (w->value == v)
                snprintf(buf, len, "%s", w->word);
        break;
    }
    case AR_SETTING_FORMAT:
        snprintf(buf, len, "%s", (*(const struct ar_format_ops *const *)field)->name);
        break;
    case AR_SETTING_STRING:
        snprintf(buf, len, "%s", *(char *const *)field ? *(char *const *)field : "none");
        break;
    case AR_SETTING_LIST:
        if (*(const size_t *)((const char *)cfg + s->count_offset) == 0)
            snprintf(buf, len, "none");
        break;
    case AR_SETTING_LISTEN:
        if (!((const struct ar_metrics_listen *)field)->on)
            snprintf(buf, len, "none");
        break;
    case AR_SETTING_CONFIG:
    case AR_SETTING_HELP:
    case AR_SETTING_VERSION:
        break;
    }
}

/* getopt_long's tables for cmd: long options return 256 + their table index. */
struct getopt_tables {
    struct option longopts[AR_ARRAY_SIZE(table) + 1];
    char shortopts[2 * AR_ARRAY_SIZE(table) + 2];
};

static void build_getopt(enum ar_command cmd, struct getopt_tables *t)
{
    size_t n = 0, ns = 0;
    t->shortopts[ns++] = ':'; /* a missing argument returns ':' */
    for (size_t i = 0; i < AR_ARRAY_SIZE(table); i++) {
        const struct ar_setting *s = &table[i];
        if (!(s->commands & cmd))
            continue;
        t->longopts[n++] = (struct option){s->option, s->arg ? required_argument : no_argument,
                                           NULL, 256 + (int)i};
        if (s->short_option) {
            t->shortopts[ns++] = s->short_option;
            if (s->arg)
                t->shortopts[ns++] = ':';
        }
    }
    t->longopts[n] = (struct option){0};
    t->shortopts[ns] = '\0';
}

/* The table entry getopt's return value c stands for; NULL for '?' and ':'. */
static const struct ar_setting *entry_of(enum ar_command cmd, int c)
{
    if (c >= 256)
        return &table[c - 256];
    for (size_t i = 0; i < AR_ARRAY_SIZE(table); i++)
        if (table[i].short_option == c && (table[i].commands & cmd))
            return &table[i];
    return NULL;
}

const char *ar_settings_config_path(enum ar_command cmd, int argc, char **argv)
{
    struct getopt_tables t;
    build_getopt(cmd, &t);
    const char *path = NULL;
    int c, saved = opterr;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, t.shortopts, t.longopts, NULL)) != -1) {
        const struct ar_setting *s = entry_of(cmd, c);
        if (s && s->type == AR_SETTING_CONFIG)
            path = optarg;
    }
    opterr = saved;
    return path;
}

enum ar_args_result ar_settings_parse_args(enum ar_command cmd, const char *prog, int argc,
                                           char **argv, struct ar_collector_config *cfg,
                                           int *ret_optind)
{
    struct getopt_tables t;
    build_getopt(cmd, &t);
    bool list_given[AR_ARRAY_SIZE(table)] = {false};
    int c, saved = opterr;
    opterr = 0; /* said here, with the same words as the rest */
    optind = 1;
    enum ar_args_result r = AR_ARGS_OK;
    while (r == AR_ARGS_OK && (c = getopt_long(argc, argv, t.shortopts, t.longopts, NULL)) != -1) {
        const struct ar_setting *s = entry_of(cmd, c);
        char why[300], name[64];
        if (!s) {
            const char *arg = argv[optind - 1];
            if (c == ':')
                fprintf(stderr, "%s: %s wants an argument\n", prog, arg);
            else if (optopt >= 256) /* a flag given a value: --takeover=yes */
                fprintf(stderr, "%s: --%s takes no argument\n", prog, table[optopt - 256].option);
            else if (optopt)
                fprintf(stderr, "%s: unknown option '-%c'\n", prog, optopt);
            else
                fprintf(stderr, "%s: unknown option '%s'\n", prog, arg);
            r = AR_ARGS_USAGE;
            break;
        }
        switch (s->type) {
        case AR_SETTING_CONFIG:
            break;
        case AR_SETTING_HELP:
            r = AR_ARGS_HELP;
            break;
        case AR_SETTING_VERSION:
            r = AR_ARGS_VERSION;
            break;
        case AR_SETTING_BOOL:
            *(bool *)((char *)cfg + s->offset) = s->flag;
            break;
        default:
            if (s->type == AR_SETTING_LIST && !list_given[s - table]) {
                *(size_t *)((char *)cfg + s->count_offset) = 0; /* replaces the file's */
                list_given[s - table] = true;
            }
            if (ar_setting_apply(s, optarg, cfg, why, sizeof(why)) < 0) {
                snprintf(name, sizeof(name), "--%s", s->option);
                fprintf(stderr, "%s: %s %s\n", prog, name, why);
                r = AR_ARGS_USAGE;
            }
            break;
        }
    }
    opterr = saved;
    *ret_optind = optind;
    return r;
}

#define HELP_COLUMN 28

void ar_settings_usage(enum ar_command cmd, FILE *f)
{
    fprintf(f, "Options:\n");
    for (size_t i = 0; i < AR_ARRAY_SIZE(table); i++) {
        const struct ar_setting *s = &table[i];
        if (!(s->commands & cmd))
            continue;
        char left[64];
        int n = snprintf(left, sizeof(left), "  %c%c%s--%s%s%s", s->short_option ? '-' : ' ',
                         s->short_option ? s->short_option : ' ', s->short_option ? ", " : "  ",
                         s->option, s->arg ? " " : "", s->arg ? s->arg : "");
        fputs(left, f);
        int col = n;
        if (n >= HELP_COLUMN) {
            fputc('\n', f);
            col = 0;
        }
        /* The help's lines, then the default on the last one when it fits (a flag's
         * default is its config key's, which says nothing here). */
        const char *dflt = cmd == AR_CMD_REPLAY && s->dflt_replay ? s->dflt_replay : s->dflt;
        if (!s->arg)
            dflt = NULL;
        const char *p = s->help;
        int last_len = 0;
        while (*p) {
            const char *nl = strchr(p, '\n');
            int len = nl ? (int)(nl - p) : (int)strlen(p);
            fprintf(f, "%*s%.*s", HELP_COLUMN - col, "", len, p);
            last_len = len;
            if (!nl)
                break;
            fputc('\n', f);
            col = 0;
            p = nl + 1;
        }
        if (dflt) {
            int need = (int)strlen(dflt) + (int)strlen(" (default: )");
            if (HELP_COLUMN + last_len + need <= 80)
                fprintf(f, " (default: %s)", dflt);
            else
                fprintf(f, "\n%*s(default: %s)", HELP_COLUMN, "", dflt);
        }
        fputc('\n', f);
    }
}
