/* `auditrelay config`: checks a configuration file without running, and lists the
 * keys the loader accepts (what auditrelay.conf(5) must document; a test compares). */
#pragma once

/* argv[0] is "config". Returns the exit status: 0, 1 (the file is refused: the error
 * with file:line is on stderr), 2 (usage). */
int ar_config_cli(int argc, char **argv);
