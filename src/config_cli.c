#include "config_cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

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

int ar_config_cli(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc == 2 && !strcmp(argv[1], "keys")) {
        const char *section, *name;
        for (size_t i = 0; (name = ar_config_key(i, &section)) != NULL; i++)
            printf("%s %s\n", section, name);
        return EXIT_OK;
    }
    if ((argc == 2 || argc == 3) && !strcmp(argv[1], "check"))
        return check(argc == 3 ? argv[2] : AR_CONFIG_DEFAULT_PATH);
    usage(stderr);
    return EXIT_USAGE;
}
