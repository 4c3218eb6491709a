/* The settings table: every command-line option of `run` and `replay` and every
 * config file key comes from one declaration (option, config key, type, bounds,
 * default, help) in settings.c. The command-line parser, the config file loader
 * (config.c), --help and `auditrelay config keys` all read it, so an option and its
 * key take the same values and refuse the same ones with the same words. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collector.h"

enum ar_command { AR_CMD_RUN = 1, AR_CMD_REPLAY = 2 };

enum ar_setting_type {
    AR_SETTING_BOOL,   /* the option is a flag setting `flag`; the key takes yes/no */
    AR_SETTING_UINT,   /* a decimal number within [min, max] */
    AR_SETTING_SIZE,   /* bytes with a k/M/G/T suffix, within [min, max] */
    AR_SETTING_CHOICE, /* one of the setting's words */
    AR_SETTING_FORMAT, /* a choice of the output formats (encode/formats.c), kept as
                        * their `const struct ar_format_ops *` */
    AR_SETTING_STRING, /* kept as given */
    AR_SETTING_LIST,   /* repeatable; the command line's replace the file's */
    AR_SETTING_LISTEN, /* [ADDR:]PORT of the metrics listener */
    /* Command-line actions, not settings: */
    AR_SETTING_CONFIG, /* --config FILE: read before the other options */
    AR_SETTING_HELP,
    AR_SETTING_VERSION,
};

struct ar_setting_word {
    const char *word;
    int value;
};

struct ar_setting {
    const char *option;      /* long option */
    char short_option;       /* 0: none */
    const char *section;     /* config key's section and name; NULL: command line only */
    const char *key;
    enum ar_setting_type type;
    unsigned commands;       /* AR_CMD_* bits: where the option is taken */
    const char *arg;         /* the argument's name in --help; NULL: a flag */
    uint64_t min, max;       /* UINT, SIZE */
    bool flag;               /* BOOL: what the option sets */
    const struct ar_setting_word *words; /* CHOICE, up to a NULL word */
    size_t offset, width;    /* the field in struct ar_collector_config */
    size_t count_offset;     /* LIST: its size_t count; UINT: a "was set" bool or 0 */
    const char *dflt;        /* the default, as --help and auditrelay.conf(5) say it */
    const char *dflt_replay; /* replay's, when it differs */
    const char *help;        /* lines for --help, '\n' between them */
    /* LIST, optional: refuses a value given the entries before it (0 or -EINVAL
     * with the reason in why, worded like ar_setting_apply's). */
    int (*check)(const struct ar_collector_config *cfg, const char *value, char *why,
                 size_t whylen);
};

/* The table; *ret_n entries. */
const struct ar_setting *ar_settings(size_t *ret_n);

/* The words a CHOICE or FORMAT setting takes, up to a NULL word (a FORMAT's are
 * the formats' names, their value the index in ar_formats); NULL for the others. */
const struct ar_setting_word *ar_setting_words(const struct ar_setting *s);

/* The config key `key` of [section]; NULL when there is none. */
const struct ar_setting *ar_setting_by_key(const char *section, const char *key);

/* Applies VALUE to *cfg. On a refusal, returns -EINVAL with the reason in why, worded
 * to follow the option or key name ("wants a size from 4k to 1T (like 64M), got
 * '0'"), the same for both. A LIST or STRING value is stored as the pointer given:
 * it must outlive cfg. */
int ar_setting_apply(const struct ar_setting *s, const char *value,
                     struct ar_collector_config *cfg, char *why, size_t whylen);

/* The value *cfg holds for s, as written in the file ("8192", "yes", "not set");
 * for `config keys --table`. */
void ar_setting_format(const struct ar_setting *s, const struct ar_collector_config *cfg,
                       char *buf, size_t len);

enum ar_args_result { AR_ARGS_OK, AR_ARGS_HELP, AR_ARGS_VERSION, AR_ARGS_USAGE };

/* The --config FILE among argv's options for `cmd`, or NULL. Says nothing on errors
 * (ar_settings_parse_args does). */
const char *ar_settings_config_path(enum ar_command cmd, int argc, char **argv);

/* Parses argv's options for `cmd` over *cfg. A list option's first use replaces what
 * *cfg held (the file's). Errors are said on stderr after `prog` ("auditrelay"),
 * usage not printed. *ret_optind: the first argument that is not an option. */
enum ar_args_result ar_settings_parse_args(enum ar_command cmd, const char *prog, int argc,
                                           char **argv, struct ar_collector_config *cfg,
                                           int *ret_optind);

/* The Options part of `cmd`'s --help, from the table. */
void ar_settings_usage(enum ar_command cmd, FILE *f);
