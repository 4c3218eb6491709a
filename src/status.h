/* `auditrelay status`: the kernel's audit status and the running collector's
 * counters. Reads only. */
#pragma once

/* argv[0] is "status". Returns the process exit status (0, 1 errors, 2 usage). */
int ar_status_cli(int argc, char **argv);
