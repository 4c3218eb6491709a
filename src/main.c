/* auditrelay: command line. `auditrelay replay` runs the pipeline over captured
 * logs; `auditrelay [run]` is the live collector. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "config.h"
#include "metrics/listen.h"
#include "config_cli.h"
#include "outputs/output.h"
#include "outputs/util.h"
#include "pipeline.h"
#include "rules/cli.h"
#include "status.h"

#ifndef AR_VERSION
#define AR_VERSION "0.0.0"
#endif

enum exit_code { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2 };

/* Output queue options, the same for both commands (and [output] in the config). */
enum { OPT_SPOOL = 512, OPT_MAX_MEMORY, OPT_MAX_SPOOL, OPT_METRICS };

#define METRICS_USAGE                                                                     \
    "      --metrics [ADDR:]PORT serve counters for Prometheus at http://ADDR:PORT/metrics\n" \
    "                            (ADDR: 127.0.0.1 when only a port is given; [::1]:PORT)\n"

/* --metrics, for both commands ([collector] metrics in the config file). */
static bool metrics_option(const char *arg, struct ar_metrics_listen *ret)
{
    char err[256];
    if (ar_metrics_parse_listen(arg, ret, err, sizeof(err)) < 0) {
        fprintf(stderr, "auditrelay: --metrics: %s\n", err);
        return false;
    }
    return true;
}

#define OUTPUT_QUEUE_USAGE                                                                  \
    "      --spool-dir DIR       spill what a down TCP/RELP/unix peer cannot take to DIR\n" \
    "      --max-memory SIZE     bytes queued in memory per output (k, M, G suffixes)\n"    \
    "      --max-spool SIZE      bytes on disk per output's spool (default 1G)\n"

/* Takes an output queue option; false when C is not one. Errors leave *ret_bad set. */
static bool output_queue_option(int c, const char *arg, struct ar_output_config *cfg,
                                bool *ret_bad)
{
    uint64_t v;
    switch (c) {
    case OPT_SPOOL:
        cfg->spool_dir = arg;
        return true;
    case OPT_MAX_MEMORY:
    case OPT_MAX_SPOOL:
        if (ar_parse_size(arg, &v) < 0 || v < 4096 || v > (1ull << 40)) {
            fprintf(stderr, "auditrelay: --%s wants a size from 4k to 1T (like 64M), got '%s'\n",
                    c == OPT_MAX_MEMORY ? "max-memory" : "max-spool", arg);
            *ret_bad = true;
        } else if (c == OPT_MAX_MEMORY) {
            cfg->max_memory = (size_t)v;
        } else {
            cfg->max_spool = v;
        }
        return true;
    default:
        return false;
    }
}

static void replay_usage(FILE *f)
{
    fprintf(f,
            "Usage: auditrelay replay [OPTIONS] [FILE...]\n"
            "\n"
            "Replays captured audit logs (auditd RAW or ENRICHED format, the dispatcher\n"
            "stream, or kern.log 'audit:' lines) through the collector's pipeline and\n"
            "writes one JSON object per event to stdout. Files are read in the order\n"
            "given (oldest first for a rotated set: audit.log.3 audit.log.2 ... audit.log);\n"
            "'-' or no FILE reads stdin.\n"
            "\n"
            "Options:\n"
            "  -f, --format FORMAT   json (default), go-audit, or auditd's log formats raw\n"
            "                        and enriched (for ausearch/aureport)\n"
            "  -o, --output SPEC     where events go, repeatable (default stdout):\n"
            "                        stdout, file:PATH[?mode=0600&rotate_size=100M&rotate_keep=5],\n"
            "                        syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT,\n"
            "                        syslog+tls://HOST:PORT[?ca=FILE&cert=FILE&key=FILE],\n"
            "                        relp://HOST:PORT[?window=128&timeout=10],\n"
            "                        unix:PATH[?type=dgram|stream], exec:PROGRAM ARGS (an\n"
            "                        auditd plugin, with --format raw|enriched);\n"
            "                        syslog and RELP options:\n"
            "                        ?format=5424|3164&framing=octet|newline&facility=authpriv\n"
            "                        &severity=info&app=auditrelay (see auditrelay(8))\n"
            OUTPUT_QUEUE_USAGE
            "                            (replay default --max-memory 16M: it waits for a\n"
            "                            slow output rather than dropping)\n"
            "  -n, --no-resolve      do not look up user and group names on this host\n"
            "                        (for logs from other hosts; names an ENRICHED log\n"
            "                        carries are still used)\n"
            "      --progress        always show a progress bar on stderr\n"
            "      --no-progress     never show it (default: when stderr is a terminal\n"
            "                        and the input is a file)\n"
            "  -q, --quiet           no summary on stderr at the end\n"
            "      --metrics [ADDR:]PORT serve counters for Prometheus while replaying\n"
            "      --max-in-flight N events assembled at once (default 4096)\n"
            "      --threads N       encoding threads (default: CPUs, at most 4; 0: none)\n"
            "  -h, --help            this help\n"
            "  -V, --version         version\n"
            "\n"
            "Exit status: 0 success, 1 input errors (unreadable file, malformed lines),\n"
            "2 usage errors.\n");
}

static int cmd_replay(int argc, char **argv)
{
    enum { OPT_PROGRESS = 256, OPT_NO_PROGRESS, OPT_MAX_IN_FLIGHT, OPT_THREADS };
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"no-resolve", no_argument, NULL, 'n'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"quiet", no_argument, NULL, 'q'},
        {"max-in-flight", required_argument, NULL, OPT_MAX_IN_FLIGHT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"output", required_argument, NULL, 'o'},
        {"spool-dir", required_argument, NULL, OPT_SPOOL},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"max-spool", required_argument, NULL, OPT_MAX_SPOOL},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0},
    };
    struct ar_collector_config run;
    ar_collector_config_default(&run);
    run.source = AR_SOURCE_REPLAY;
    struct ar_pipeline_config *cfg = &run.pipeline;
    /* Encoding is most of a replay's work: spread it over the CPUs. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->encode_threads = ncpu > 1 ? (unsigned)(ncpu > 4 ? 4 : ncpu) : 0;
    int progress = -1; /* auto */
    struct ar_output_config *ocfg = &run.output;
    ocfg->policy = AR_OUTPUT_BLOCK; /* a replay can wait for a slow or restarting peer */
    /* Waiting costs nothing in a replay, so a large queue buys nothing but memory. */
    ocfg->max_memory = 16u << 20;
    int c;
    bool bad = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:nqhV", longopts, NULL)) != -1) {
        if (output_queue_option(c, optarg, ocfg, &bad)) {
            if (bad)
                return EXIT_USAGE;
            continue;
        }
        switch (c) {
        case 'o':
            if (run.noutputs == AR_MAX_OUTPUTS) {
                fprintf(stderr, "auditrelay replay: at most %d outputs\n", AR_MAX_OUTPUTS);
                return EXIT_USAGE;
            }
            run.outputs[run.noutputs++] = optarg;
            break;
        case 'f':
            if (ar_format_parse(optarg, &cfg->format) < 0) {
                fprintf(stderr, "auditrelay replay: unknown format '%s' (json, go-audit, raw, enriched)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'n':
            cfg->resolve_ids = false;
            break;
        case OPT_METRICS:
            if (!metrics_option(optarg, &run.metrics))
                return EXIT_USAGE;
            break;
        case OPT_PROGRESS:
            progress = 1;
            break;
        case OPT_NO_PROGRESS:
            progress = 0;
            break;
        case 'q':
            run.quiet = true;
            break;
        case OPT_MAX_IN_FLIGHT: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > (1u << 24)) {
                fprintf(stderr, "auditrelay replay: --max-in-flight wants 1..16777216\n");
                return EXIT_USAGE;
            }
            cfg->reasm.max_in_flight = v;
            break;
        }
        case OPT_THREADS: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || end == optarg || v > 64) {
                fprintf(stderr, "auditrelay replay: --threads wants 0..64\n");
                return EXIT_USAGE;
            }
            cfg->encode_threads = (unsigned)v;
            break;
        }
        case 'h':
            replay_usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("auditrelay %s\n", AR_VERSION);
            return EXIT_OK;
        default:
            replay_usage(stderr);
            return EXIT_USAGE;
        }
    }
    run.files = argv + optind;
    run.nfiles = (size_t)(argc - optind);
    run.progress = progress == 1 || (progress == -1 && isatty(STDERR_FILENO));
    /* Every line reaches every output before the report (a peer that is down is
     * waited for: a replay loses nothing). Exit 1 after input errors. */
    return ar_collector_run(&run);
}

static void run_usage(FILE *f)
{
    fprintf(f,
            "Usage: auditrelay [run] [OPTIONS]\n"
            "\n"
            "Collects audit events from the kernel and writes one JSON object per event to\n"
            "stdout until SIGINT or SIGTERM. Needs root (CAP_AUDIT_CONTROL, CAP_AUDIT_READ;\n"
            "the tracepoint source: CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN).\n"
            "Switches auditing on while it runs and puts the previous settings back on exit.\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE         settings file (INI; default " AR_CONFIG_DEFAULT_PATH "\n"
            "                            when it exists); options override it\n"
            "  -s, --source MODE         auto (default): the audit daemon slot when it is free,\n"
            "                            else the read-only multicast group, else (no audit\n"
            "                            in the kernel, no permission) tracepoints; unicast:\n"
            "                            the slot only; multicast: read beside auditd;\n"
            "                            tracepoint: syscall tracepoints (eBPF or perf) driven\n"
            "                            by the same rules, without the audit subsystem\n"
            "      --tracepoint-engine E auto (default: bpf when the kernel allows it), bpf,\n"
            "                            or perf (no BPF; strings read late, marked so)\n"
            "      --tracepoint-ring SIZE  ring buffer (bpf: 8M; perf: 4M per CPU)\n"
            "      --takeover            stop the process holding the slot (SIGTERM) and take it\n"
            "      --no-enable           do not switch auditing on (enabled=1)\n"
            "      --backlog-limit N     kernel backlog while running (default 8192)\n"
            "      --backlog-wait-time N kernel backlog wait time (jiffies) while running\n"
            "      --rate-limit N        kernel rate limit (records/s) while running\n"
            "      --failure-mode N      kernel failure mode while running: 0 silent,\n"
            "                            1 printk, 2 panic (the machine halts on a lost\n"
            "                            record: only where policy demands it)\n"
            "  -f, --format FORMAT       json (default), go-audit, or auditd's log formats\n"
            "                            raw and enriched (for ausearch/aureport)\n"
            "  -o, --output SPEC         where events go, repeatable (default stdout); the\n"
            "                            specs of 'auditrelay replay --help'\n"
            OUTPUT_QUEUE_USAGE
            "                            (run default --max-memory 64M: the kernel cannot\n"
            "                            wait, so the queue absorbs a slow output)\n"
            "      --rules FILE|DIR      audit rules (auditctl syntax) to install while running,\n"
            "                            repeatable; a directory is read like augenrules.\n"
            "                            Default: the shipped set, when we hold the slot\n"
            "      --no-rules            install no rules\n"
            "      --keep-rules          leave the installed rules loaded on exit\n"
            "  -n, --no-resolve          do not look up user and group names\n"
            METRICS_USAGE
            "  -h, --help                this help\n"
            "  -V, --version             version\n"
            "\n"
            "SIGUSR1 prints statistics on stderr.\n");
}

static int parse_u32(const char *s, uint32_t *ret)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > UINT32_MAX)
        return -EINVAL;
    *ret = (uint32_t)v;
    return 0;
}

static int run_command(int argc, char **argv, struct ar_collector_config *reload_out);

/* The run command's arguments, read again on a reload (SIGHUP). */
static int run_argc;
static char **run_argv;

/* A reload builds the configuration as start-up did: the config file (read again),
 * then the command line over it. */
static int reload_config(struct ar_collector_config *ret)
{
    return run_command(run_argc, run_argv, ret) == EXIT_OK ? 0 : -EINVAL;
}

static int cmd_run(int argc, char **argv)
{
    return run_command(argc, argv, NULL);
}

/* Builds the configuration and runs the collector; with reload_out, only builds it
 * there. */
static int run_command(int argc, char **argv, struct ar_collector_config *reload_out)
{
    enum { OPT_TAKEOVER = 256, OPT_NO_ENABLE, OPT_BACKLOG, OPT_WAIT, OPT_RATE, OPT_FAILURE,
           OPT_RULES, OPT_NO_RULES, OPT_KEEP_RULES, OPT_TP_ENGINE, OPT_TP_RING };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"source", required_argument, NULL, 's'},
        {"tracepoint-engine", required_argument, NULL, OPT_TP_ENGINE},
        {"tracepoint-ring", required_argument, NULL, OPT_TP_RING},
        {"takeover", no_argument, NULL, OPT_TAKEOVER},
        {"no-enable", no_argument, NULL, OPT_NO_ENABLE},
        {"backlog-limit", required_argument, NULL, OPT_BACKLOG},
        {"backlog-wait-time", required_argument, NULL, OPT_WAIT},
        {"rate-limit", required_argument, NULL, OPT_RATE},
        {"failure-mode", required_argument, NULL, OPT_FAILURE},
        {"output", required_argument, NULL, 'o'},
        {"spool-dir", required_argument, NULL, OPT_SPOOL},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"max-spool", required_argument, NULL, OPT_MAX_SPOOL},
        {"rules", required_argument, NULL, OPT_RULES},
        {"no-rules", no_argument, NULL, OPT_NO_RULES},
        {"keep-rules", no_argument, NULL, OPT_KEEP_RULES},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"format", required_argument, NULL, 'f'},
        {"no-resolve", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0},
    };
    struct ar_collector_config cfg;
    ar_collector_config_default(&cfg);
    /* The config file first (--config, else the default path if it exists), then
     * the command line over it. */
    const char *config = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:f:o:nhV", longopts, NULL)) != -1)
        if (c == 'c')
            config = optarg;
    opterr = 1;
    /* The strings a config file gave live until exit, whichever way we leave. */
    if (!reload_out)
        atexit(ar_config_release);
    int r = ar_config_load(config ? config : AR_CONFIG_DEFAULT_PATH, &cfg);
    if (r == -EINVAL || (r < 0 && config)) {
        if (r != -EINVAL)
            fprintf(stderr, "auditrelay: cannot read %s: %s\n", config, strerror(-r));
        return EXIT_USAGE;
    }
    optind = 1;
    bool outputs_given = false, rules_given = false, bad = false;
    while ((c = getopt_long(argc, argv, "c:s:f:o:nhV", longopts, NULL)) != -1) {
        if (output_queue_option(c, optarg, &cfg.output, &bad)) {
            if (bad)
                return EXIT_USAGE;
            continue;
        }
        switch (c) {
        case 'c':
            break;
        case 'o':
            /* Outputs on the command line replace the config file's. */
            if (!outputs_given)
                cfg.noutputs = 0;
            outputs_given = true;
            if (cfg.noutputs == AR_MAX_OUTPUTS) {
                fprintf(stderr, "auditrelay: at most %d outputs\n", AR_MAX_OUTPUTS);
                return EXIT_USAGE;
            }
            cfg.outputs[cfg.noutputs++] = optarg;
            break;
        case OPT_RULES:
            if (!rules_given)
                cfg.nrules = 0; /* the command line replaces the config file's */
            rules_given = true;
            if (cfg.nrules == AR_MAX_RULE_PATHS) {
                fprintf(stderr, "auditrelay: at most %d --rules\n", AR_MAX_RULE_PATHS);
                return EXIT_USAGE;
            }
            cfg.rules[cfg.nrules++] = optarg;
            break;
        case OPT_NO_RULES:
            cfg.no_rules = true;
            break;
        case OPT_KEEP_RULES:
            cfg.keep_rules = true;
            break;
        case OPT_METRICS:
            if (!metrics_option(optarg, &cfg.metrics))
                return EXIT_USAGE;
            break;
        case 's':
            if (ar_collector_parse_source(optarg, &cfg.source) < 0) {
                fprintf(stderr, "auditrelay: unknown source '%s' (auto, unicast, multicast, "
                                "tracepoint)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_TP_ENGINE:
            if (ar_collector_parse_engine(optarg, &cfg.tracepoint_engine) < 0) {
                fprintf(stderr, "auditrelay: unknown tracepoint engine '%s' (auto, bpf, perf)\n",
                        optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_TP_RING: {
            uint64_t v;
            if (ar_parse_size(optarg, &v) < 0 || v < 4096 || v > (1ull << 30)) {
                fprintf(stderr, "auditrelay: --tracepoint-ring wants a size from 4k to 1G "
                                "(like 8M), got '%s'\n", optarg);
                return EXIT_USAGE;
            }
            cfg.tracepoint_ring = v;
            break;
        }
        case OPT_TAKEOVER:
            cfg.takeover = true;
            break;
        case OPT_NO_ENABLE:
            cfg.enable = false;
            break;
        case OPT_BACKLOG:
            if (parse_u32(optarg, &cfg.backlog_limit) < 0) {
                fprintf(stderr, "auditrelay: --backlog-limit wants a number\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_WAIT:
            if (parse_u32(optarg, &cfg.backlog_wait_time) < 0) {
                fprintf(stderr, "auditrelay: --backlog-wait-time wants a number\n");
                return EXIT_USAGE;
            }
            cfg.set_backlog_wait_time = true;
            break;
        case OPT_RATE:
            if (parse_u32(optarg, &cfg.rate_limit) < 0) {
                fprintf(stderr, "auditrelay: --rate-limit wants a number\n");
                return EXIT_USAGE;
            }
            cfg.set_rate_limit = true;
            break;
        case OPT_FAILURE:
            if (parse_u32(optarg, &cfg.failure) < 0 || cfg.failure > 2) {
                fprintf(stderr, "auditrelay: --failure-mode wants 0 (silent), 1 (printk) or 2 "
                                "(panic)\n");
                return EXIT_USAGE;
            }
            cfg.set_failure = true;
            break;
        case 'f':
            if (ar_format_parse(optarg, &cfg.pipeline.format) < 0) {
                fprintf(stderr, "auditrelay: unknown format '%s' (json, go-audit, raw, enriched)\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'n':
            cfg.pipeline.resolve_ids = false;
            break;
        case 'h':
            run_usage(stdout);
            return EXIT_OK;
        case 'V':
            printf("auditrelay %s\n", AR_VERSION);
            return EXIT_OK;
        default:
            run_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "auditrelay: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    cfg.reload = reload_config;
    if (reload_out) {
        *reload_out = cfg;
        return EXIT_OK;
    }
    run_argc = argc;
    run_argv = argv;
    return ar_collector_run(&cfg);
}

static void main_usage(FILE *f)
{
    fprintf(f,
            "Usage: auditrelay [run] [OPTIONS]             live collection (JSON events on stdout)\n"
            "       auditrelay replay [OPTIONS] [FILE...]  replay captured audit logs\n"
            "       auditrelay rules check|load|list|delete ...  manage audit rules\n"
            "       auditrelay status [--metrics [ADDR:]PORT]  the kernel's audit status and\n"
            "                                              the running collector's counters\n"
            "       auditrelay config check [FILE] | keys     check a configuration file\n"
            "       auditrelay --help | --version\n"
            "\n"
            "'auditrelay run --help' and 'auditrelay replay --help' describe each command.\n");
}

int main(int argc, char **argv)
{
    /* A closed stdout must surface as EPIPE from write(), not kill us mid-report. */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 2 && strcmp(argv[1], "replay") == 0)
        return cmd_replay(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "rules") == 0)
        return ar_rules_cli(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return ar_status_cli(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "config") == 0)
        return ar_config_cli(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        main_usage(stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("auditrelay %s\n", AR_VERSION);
        return EXIT_OK;
    }
    if (argc >= 2 && argv[1][0] != '-') {
        fprintf(stderr, "auditrelay: unknown command '%s'\n", argv[1]);
        main_usage(stderr);
        return EXIT_USAGE;
    }
    return cmd_run(argc, argv);
}
