/* auditrelay: command line. `auditrelay replay` runs the pipeline over captured
 * logs; `auditrelay [run]` is the live collector. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "config.h"
#include "config_cli.h"
#include "rules/cli.h"
#include "settings.h"
#include "status.h"

#ifndef AR_VERSION
#define AR_VERSION "0.0.0"
#endif

enum exit_code { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2 };

static void replay_usage(FILE *f)
{
    fprintf(f,
            "Usage: auditrelay replay [OPTIONS] [FILE...]\n"
            "\n"
            "Replays captured audit logs (auditd RAW or ENRICHED format, the dispatcher\n"
            "stream, or kern.log 'audit:' lines) through the collector's pipeline and\n"
            "writes one JSON object per event to stdout. Files are read in the order\n"
            "given (oldest first for a rotated set: audit.log.3 audit.log.2 ... audit.log);\n"
            "'-' or no FILE reads stdin. It reads no configuration file.\n"
            "\n");
    ar_settings_usage(AR_CMD_REPLAY, f);
    fprintf(f, "\n"
               "Exit status: 0 success, 1 input errors (unreadable file, malformed lines or\n"
               "go-audit lines), 2 usage errors.\n");
}

/* What a command does after its options were parsed: -1 to go on, else the exit
 * status (help, version and usage errors are dealt with here). */
static int after_args(enum ar_args_result r, void (*usage)(FILE *))
{
    switch (r) {
    case AR_ARGS_OK:
        return -1;
    case AR_ARGS_HELP:
        usage(stdout);
        return EXIT_OK;
    case AR_ARGS_VERSION:
        printf("auditrelay %s\n", AR_VERSION);
        return EXIT_OK;
    case AR_ARGS_USAGE:
        break;
    }
    fprintf(stderr, "Try '--help'.\n");
    return EXIT_USAGE;
}

static int cmd_replay(int argc, char **argv)
{
    struct ar_collector_config run;
    ar_collector_config_default(&run);
    run.source = AR_SOURCE_REPLAY;
    struct ar_pipeline_config *cfg = &run.pipeline;
    /* Encoding is most of a replay's work: spread it over the CPUs the reading
     * thread leaves (it keeps one busy). On 2 CPUs one encoding thread replays the
     * bench log in 0.098-0.099 s, two in 0.117-0.122 s (perf stat -r 5, 3 rounds):
     * three busy threads on two CPUs stall the reader, which sets the pace. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->encode_threads = ncpu > 1 ? (unsigned)(ncpu > 5 ? 4 : ncpu - 1) : 0;
    run.progress = isatty(STDERR_FILENO);
    struct ar_output_config *ocfg = &run.output;
    ocfg->policy = AR_OUTPUT_BLOCK; /* a replay can wait for a slow or restarting peer */
    /* Waiting costs nothing in a replay, so a large queue buys nothing but memory.
     * Replaying the bench log into a pipe (wc -l), the default threads' peak RSS was
     * 33-38 MB with 16M, 27-34 MB with 4M once the reading thread encoded too (both
     * CPUs busy, the output's thread falls behind), 23.6-24.0 MB with 1M; wall time
     * the same with 1M, 2M and 4M (40 alternating runs each, default and one thread). */
    ocfg->max_memory = 1u << 20;
    int first;
    int r = after_args(ar_settings_parse_args(AR_CMD_REPLAY, "auditrelay replay", argc, argv,
                                              &run, &first),
                       replay_usage);
    if (r >= 0)
        return r;
    run.files = argv + first;
    run.nfiles = (size_t)(argc - first);
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
            "\n");
    ar_settings_usage(AR_CMD_RUN, f);
    fprintf(f, "\n"
               "SIGUSR1 prints statistics on stderr; SIGHUP reloads the settings.\n");
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
    struct ar_collector_config cfg;
    ar_collector_config_default(&cfg);
    /* The config file first (--config, else the default path if it exists), then
     * the command line over it. */
    const char *config = ar_settings_config_path(AR_CMD_RUN, argc, argv);
    /* The strings a config file gave live until exit, whichever way we leave. */
    if (!reload_out)
        atexit(ar_config_release);
    int r = ar_config_load(config ? config : AR_CONFIG_DEFAULT_PATH, &cfg);
    if (r == -EINVAL || (r < 0 && config)) {
        if (r != -EINVAL)
            fprintf(stderr, "auditrelay: cannot read %s: %s\n", config, strerror(-r));
        return EXIT_USAGE;
    }
    int first;
    r = after_args(ar_settings_parse_args(AR_CMD_RUN, "auditrelay", argc, argv, &cfg, &first),
                   run_usage);
    if (r >= 0)
        return r;
    if (first < argc) {
        fprintf(stderr, "auditrelay: unexpected argument '%s'\n", argv[first]);
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
