#include "config_cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "settings.h"

enum { EXIT_OK = 0, EXIT_ERRORS = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
    fprintf(f, "Usage: auditrelay config check [FILE]\n"
               "       auditrelay config keys\n"
               "\n"
               "  check    read FILE (default " AR_CONFIG_DEFAULT_PATH ") with the\n"
               "           loader 'auditrelay run' uses and report the first error with\n"
               "           file:line; nothing else is done\n"
               "  keys     list the keys the loader accepts, one 'SECTION KEY' a line\n"
               "\n"
               "See auditrelay.conf(5). Exit status: 0 success, 1 the file is refused,\n"
               "2 usage.\n");
}

static int check(const char *path)
{
    struct ar_collector_config cfg;
    ar_collector_config_default(&cfg);
    int r = ar_config_load(path, &cfg);
    /* What holds only for the file as a whole: the labels its filters name. */
    if (r == 0 && ar_collector_check_filters(&cfg, path) < 0)
        r = -EINVAL;
    ar_config_release();
    if (r == -EINVAL)
        return EXIT_ERRORS; /* said with file:line */
    if (r < 0) {
        fprintf(stderr, "auditrelay: cannot read %s: %s\n", path, strerror(-r));
        return EXIT_ERRORS;
    }
    printf("%s: ok\n", path);
    return EXIT_OK;
}

static const char *const type_names[] = {
    [AR_SETTING_BOOL] = "bool",     [AR_SETTING_UINT] = "number",  [AR_SETTING_SIZE] = "size",
    [AR_SETTING_CHOICE] = "choice", [AR_SETTING_FORMAT] = "choice", [AR_SETTING_STRING] = "string",
    [AR_SETTING_LIST] = "list",
    [AR_SETTING_LISTEN] = "listen", [AR_SETTING_CONFIG] = "config", [AR_SETTING_HELP] = "help",
    [AR_SETTING_VERSION] = "version",
};

/* The keys, one 'SECTION KEY' a line; with --table (for the tests, not documented) the
 * whole settings table, one tab-separated row per option or key: option, short option,
 * section, key, type, commands, argument, min, max, the documented default (run's,
 * replay's), the default the code sets, the words of a choice, help on one line. */
static int keys(bool whole)
{
    size_t n;
    const struct ar_setting *t = ar_settings(&n);
    struct ar_collector_config dflt;
    ar_collector_config_default(&dflt);
    if (whole)
        printf("option\tshort\tsection\tkey\ttype\tcommands\targ\tmin\tmax\tdefault\t"
               "default_replay\tvalue\twords\thelp\n");
    for (size_t i = 0; i < n; i++) {
        const struct ar_setting *s = &t[i];
        if (!whole) {
            if (s->key)
                printf("%s %s\n", s->section, s->key);
            continue;
        }
        char value[64], words[256] = "-", help[1024];
        ar_setting_format(s, &dflt, value, sizeof(value));
        size_t used = 0;
        for (const struct ar_setting_word *w = ar_setting_words(s); w && w->word; w++)
            used += (size_t)snprintf(words + used, used < sizeof(words) ? sizeof(words) - used : 0,
                                     "%s%s", used ? "," : "", w->word);
        snprintf(help, sizeof(help), "%s", s->help ? s->help : "");
        for (char *p = help; *p; p++)
            if (*p == '\n')
                *p = ' ';
        printf("%s\t%c\t%s\t%s\t%s\t%s\t%s\t%llu\t%llu\t%s\t%s\t%s\t%s\t%s\n", s->option,
               s->short_option ? s->short_option : '-', s->section ? s->section : "-",
               s->key ? s->key : "-", type_names[s->type],
               s->commands == AR_CMD_RUN      ? "run"
               : s->commands == AR_CMD_REPLAY ? "replay"
                                              : "run,replay",
               s->arg ? s->arg : "-", (unsigned long long)s->min, (unsigned long long)s->max,
               s->dflt ? s->dflt : "-", s->dflt_replay ? s->dflt_replay : "-", value, words, help);
    }
    return EXIT_OK;
}

int ar_config_cli(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc == 2 && !strcmp(argv[1], "keys"))
        return keys(false);
    if (argc == 3 && !strcmp(argv[1], "keys") && !strcmp(argv[2], "--table"))
        return keys(true);
    if ((argc == 2 || argc == 3) && !strcmp(argv[1], "check"))
        return check(argc == 3 ? argv[2] : AR_CONFIG_DEFAULT_PATH);
    usage(stderr);
    return EXIT_USAGE;
}
