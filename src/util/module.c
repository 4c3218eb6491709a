/* Modules (util/module.h): a library most runs never use is mapped only where a run
 * asks for it. Each was measured: librelp (with OpenSSL) and librdkafka (SASL,
 * compression) cost 2.5 MB of RSS in every collector; GnuTLS (syslog+tls, eight more
 * libraries) and libmicrohttpd (--metrics, which needs GnuTLS too), with libsystemd
 * (notify.c), cost the dynamic loader 3.3 ms of every start, which a replay pays per
 * process (an empty replay: 8.2-8.5 ms median with them linked, 4.9-5.1 without).
 *
 * The module is looked for beside the collector's own executable first (the build
 * tree, or an installation that keeps them together), then in AR_MODULE_DIR (meson's
 * libdir/auditrelay); both are root's to write, as the executable is. The executable
 * exports its symbols (export_dynamic) for the modules. */
#include "util/module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Opens the first of the module's places that holds it. A file there that does not
 * load is an error of its own (dlerror says why), not a reason to look further. */
static void *open_module(const char *name, char *why, size_t whylen)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
    const struct {
        const char *dir;
        size_t len;
    } places[] = {{exe, slash ? (size_t)(slash - exe) : 0},
                  {AR_MODULE_DIR, strlen(AR_MODULE_DIR)}};
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        int len = snprintf(path, sizeof(path), "%.*s/%s", (int)places[i].len, places[i].dir,
                           name);
        if (!places[i].len || len < 0 || (size_t)len >= sizeof(path) || access(path, F_OK) != 0)
            continue;
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            snprintf(why, whylen, "%s", dlerror());
        return h;
    }
    snprintf(why, whylen, "no such file");
    return NULL;
}

void *ar_module_symbol(const char *what, const char *file, const char *symbol, char *err,
                       size_t errlen)
{
    char why[512];
    void *sym = NULL;
    void *h = open_module(file, why, sizeof(why));
    if (h && !(sym = dlsym(h, symbol)))
        snprintf(why, sizeof(why), "%s", dlerror());
    if (!sym)
        snprintf(err, errlen, "%s needs the module %s (next to the auditrelay executable or "
                              "in %s): %s",
                 what, file, AR_MODULE_DIR, why);
    return sym;
}
