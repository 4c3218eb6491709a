/* Rule files and directories on this host, and the host facts the compiler needs
 * (rules/rules.h struct ar_rules_env): the machine's arch from uname, user and group
 * names from the name service, and whether a watched path is a directory now. */
#pragma once
#include "rules/rules.h"

/* Where the collector looks for rules when it is given none: the documented
 * default set (rules/ in the source tree), installed by src/rules/meson.build. */
#include "rules/rules_config.h"
#ifndef AR_RULES_DEFAULT_PATH
#define AR_RULES_DEFAULT_PATH "/usr/local/share/auditrelay/rules"
#endif

/* Fills *ret with this host's facts: uname's machine, getpwnam_r/getgrnam_r,
 * stat. Never fails (an unknown machine leaves the build machine's arch). */
void ar_rules_env_host(struct ar_rules_env *ret);

/* Compiles a file, or every regular file named *.rules in a directory in the order
 * augenrules reads them (`ls -1v`: version order) and arranged as augenrules
 * arranges them (ar_rules_reorder_like_augenrules). A path that cannot be read is
 * an error in the set's diagnostics. Returns the number of errors added, or
 * -ENOMEM. */
int ar_rules_add_path(struct ar_rules *r, const char *path);

/* Compiles paths in order into a new set for this host (ar_rules_env_host).
 * Returns 0 and the set (check ar_rules_error_count) or -ENOMEM. */
int ar_rules_compile_paths(const char *const *paths, size_t count, struct ar_rules **ret);
