/* Modules: code whose libraries most runs never use, built as shared modules beside
 * the executable (meson.build's shared_module) and mapped only when a run asks for
 * them (a syslog+tls, relp or kafka output, --metrics). I/O: built into libarapp, not
 * the pure core. */
#pragma once
#include <stddef.h>

/* The address of `symbol` in the module `file` ("auditrelay-relp.so"), opened on
 * first use and kept (never unloaded: its library's threads may run until exit; a
 * second call gets the same handle back from dlopen). NULL when it cannot be had,
 * with "WHAT needs the module FILE (next to the auditrelay executable or in DIR):
 * why" in err, `what` naming what asked for it ("relp://", "--metrics"). */
void *ar_module_symbol(const char *what, const char *file, const char *symbol, char *err,
                       size_t errlen);
