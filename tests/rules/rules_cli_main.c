/* A stand-in for `auditrelay rules ...` until main.c dispatches to ar_rules_cli:
 * `ar-rules SUBCOMMAND ARGS...` runs exactly what `auditrelay rules SUBCOMMAND
 * ARGS...` will (argv[0] plays the role of "rules"). Tests use `auditrelay rules`
 * when the binary has it and this driver otherwise. */
#include "rules/cli.h"

int main(int argc, char **argv)
{
    return ar_rules_cli(argc, argv);
}
