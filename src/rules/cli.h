/* `auditrelay rules check|load|list|delete`: the rules compiler and loader on the
 * command line. main.c calls it for argv[1] == "rules" with (argc - 1, argv + 1),
 * so argv[0] is "rules" and argv[1] the subcommand. Diagnostics go to stderr,
 * listings to stdout. Returns the process exit status: 0 success, 1 errors (in the
 * rules, or refused by the kernel), 2 usage. */
#pragma once

int ar_rules_cli(int argc, char **argv);
