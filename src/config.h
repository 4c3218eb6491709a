/* The configuration file (INI, read with Debian's libinih): the same settings as the
 * command line, which overrides it. No file is needed: the built-in defaults run. */
#pragma once
#include "collector.h"

/* The file read when --config is not given and it exists (meson sets it from the
 * install prefix: /etc/auditrelay/auditrelay.conf with prefix /usr). */
#ifndef AR_CONFIG_DEFAULT_PATH
#define AR_CONFIG_DEFAULT_PATH "/etc/auditrelay/auditrelay.conf"
#endif

/* Applies the settings in `path` to *cfg. Errors name file:line and what is wrong
 * (written to stderr). Returns 0, -ENOENT when the file does not exist, or -EINVAL. */
int ar_config_load(const char *path, struct ar_collector_config *cfg);

/* Frees the strings loaded configurations point to (call after the run). */
void ar_config_release(void);
