/* Transports built as modules: a library most collectors never use is mapped only
 * where an output names it. The module is looked for beside the collector's own
 * executable first (the build tree, or an installation that keeps them together),
 * then in AR_MODULE_DIR (meson's libdir/auditrelay); both are root's to write, as
 * the executable is. Loaded once, never unloaded (its library's threads may run
 * until exit). */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "outputs/output.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* dir/name into path; false when it does not fit. */
static bool join(char *path, size_t size, const char *dir, size_t dirlen, const char *name)
{
    int n = snprintf(path, size, "%.*s/%s", (int)dirlen, dir, name);
    return n > 0 && (size_t)n < size;
}

static void *open_module(const char *name, char *why, size_t whylen)
{
    char path[PATH_MAX + 64], exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    const char *slash = n > 0 ? memrchr(exe, '/', (size_t)n) : NULL;
    if (slash && join(path, sizeof(path), exe, (size_t)(slash - exe), name) &&
        access(path, R_OK) == 0) {
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h)
            return h;
        snprintf(why, whylen, "%s", dlerror());
        return NULL;
    }
    if (!join(path, sizeof(path), AR_MODULE_DIR, strlen(AR_MODULE_DIR), name)) {
        snprintf(why, whylen, "its path is too long");
        return NULL;
    }
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        snprintf(why, whylen, "%s", dlerror());
    return h;
}

const struct ar_transport_ops *ar_transport_module(const struct ar_transport_ops *entry,
                                                   char *err, size_t errlen)
{
    /* One slot per registry entry that is a module: few, fixed. */
    static struct {
        const struct ar_transport_ops *entry, *ops;
    } loaded[4];
    pthread_mutex_lock(&lock);
    const struct ar_transport_ops *ops = NULL;
    size_t i = 0;
    for (; i < sizeof(loaded) / sizeof(loaded[0]) && loaded[i].entry; i++)
        if (loaded[i].entry == entry)
            ops = loaded[i].ops;
    if (!ops) {
        char why[512];
        void *h = open_module(entry->module, why, sizeof(why));
        if (h && !(ops = dlsym(h, entry->module_symbol)))
            snprintf(why, sizeof(why), "%s", dlerror());
        if (!ops)
            snprintf(err, errlen, "%s:// needs the module %s (next to %s or in %s): %s",
                     entry->scheme, entry->module, "the auditrelay executable", AR_MODULE_DIR,
                     why);
        else if (i < sizeof(loaded) / sizeof(loaded[0]))
            loaded[i].entry = entry, loaded[i].ops = ops;
    }
    pthread_mutex_unlock(&lock);
    return ops;
}
