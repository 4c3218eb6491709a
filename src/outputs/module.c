/* Transports built as modules: a library most collectors never use is mapped only
 * where an output names it. The module is looked for beside the collector's own
 * executable first (the build tree, or an installation that keeps them together),
 * then in AR_MODULE_DIR (meson's libdir/auditrelay); both are root's to write, as
 * the executable is. Never unloaded (its library's threads may run until exit); a
 * second output of the same scheme gets the same handle back from dlopen. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "outputs/output.h"

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

const struct ar_transport_ops *ar_transport_module(const struct ar_transport_ops *entry,
                                                   char *err, size_t errlen)
{
    char why[512];
    const struct ar_transport_ops *ops = NULL;
    void *h = open_module(entry->module, why, sizeof(why));
    if (h && !(ops = dlsym(h, entry->module_symbol)))
        snprintf(why, sizeof(why), "%s", dlerror());
    if (!ops)
        snprintf(err, errlen, "%s:// needs the module %s (next to the auditrelay executable "
                              "or in %s): %s",
                 entry->scheme, entry->module, AR_MODULE_DIR, why);
    return ops;
}
