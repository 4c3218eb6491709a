#include "rules/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "audit/tables.h"

/* Rule files are small; a file larger than this is not a rule file. */
#define MAX_RULE_FILE (64u << 20)

static int host_user(const char *name, uint32_t *ret, void *userdata)
{
    (void)userdata;
    char buf[4096];
    struct passwd pw, *res = NULL;
    if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
        return -ENOENT;
    *ret = (uint32_t)res->pw_uid;
    return 0;
}

static int host_group(const char *name, uint32_t *ret, void *userdata)
{
    (void)userdata;
    /* Groups with many members need more than a page. */
    size_t size = 16384;
    for (int tries = 0; tries < 6; tries++, size *= 4) {
        char *buf = malloc(size);
        if (!buf)
            return -ENOMEM;
        struct group gr, *res = NULL;
        int e = getgrnam_r(name, &gr, buf, size, &res);
        if (e == 0 && res)
            *ret = (uint32_t)res->gr_gid;
        free(buf);
        if (e == ERANGE)
            continue;
        return e == 0 && res ? 0 : -ENOENT;
    }
    return -ENOENT;
}

static bool host_is_dir(const char *path, void *userdata)
{
    (void)userdata;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void ar_rules_env_host(struct ar_rules_env *ret)
{
    *ret = (struct ar_rules_env){
        .user_id = host_user,
        .group_id = host_group,
        .is_dir = host_is_dir,
    };
    /* auditctl takes the machine from uname, not from how it was built: a 32-bit
     * auditctl on a 64-bit kernel still means the kernel's arch by b64. */
    struct utsname u;
    uint32_t arch;
    if (uname(&u) == 0 && ar_arch_from_name((struct ar_span){u.machine, strlen(u.machine)}, &arch))
        ret->machine = arch;
}

static int diag_errno(struct ar_rules *r, const char *path, const char *what, int err)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));
    int rc = ar_rules_add_diag(r, AR_RULES_ERROR, path, 0, msg);
    return rc < 0 ? rc : 1;
}

static int add_file(struct ar_rules *r, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return diag_errno(r, path, "cannot open", errno);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return diag_errno(r, path, "cannot stat", e);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        int rc = ar_rules_add_diag(r, AR_RULES_ERROR, path, 0, "not a regular file");
        return rc < 0 ? rc : 1;
    }
    if ((uint64_t)st.st_size > MAX_RULE_FILE) {
        close(fd);
        int rc = ar_rules_add_diag(r, AR_RULES_ERROR, path, 0, "larger than 64 MiB");
        return rc < 0 ? rc : 1;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *text = malloc(cap);
    if (!text) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        if (len == cap) {
            if (cap > MAX_RULE_FILE) {
                free(text);
                close(fd);
                int rc = ar_rules_add_diag(r, AR_RULES_ERROR, path, 0, "larger than 64 MiB");
                return rc < 0 ? rc : 1;
            }
            char *t = realloc(text, cap * 2);
            if (!t) {
                free(text);
                close(fd);
                return -ENOMEM;
            }
            text = t;
            cap *= 2;
        }
        ssize_t n = read(fd, text + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(text);
            close(fd);
            return diag_errno(r, path, "cannot read", e);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    int rc = ar_rules_add_text(r, path, text, len);
    free(text);
    return rc;
}

static int cmp_version(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(struct ar_rules *r, const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return diag_errno(r, path, "cannot open the directory", errno);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        /* `ls -1v | grep "\.rules$"`: no hidden files, names ending in .rules. */
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 6, ".rules") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **v = realloc(names, cap * sizeof(*v));
            if (!v) {
                rc = -ENOMEM;
                break;
            }
            names = v;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof(*names), cmp_version);
    size_t first, errors = 0;
    ar_rules_ops(r, &first);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *full = malloc(strlen(path) + strlen(names[i]) + 2);
        if (!full) {
            rc = -ENOMEM;
            break;
        }
        sprintf(full, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", names[i]);
        struct stat st;
        /* augenrules' `cat` follows symlinks; subdirectories named *.rules are not
         * rule files. */
        if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            free(full);
            continue;
        }
        int e = add_file(r, full);
        free(full);
        if (e < 0)
            rc = e;
        else
            errors += (size_t)e;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0)
        rc = ar_rules_reorder_like_augenrules(r, first);
    return rc < 0 ? rc : (int)errors;
}

int ar_rules_add_path(struct ar_rules *r, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return diag_errno(r, path, "cannot read", errno);
    return S_ISDIR(st.st_mode) ? add_dir(r, path) : add_file(r, path);
}

int ar_rules_compile_paths(const char *const *paths, size_t count, struct ar_rules **ret)
{
    struct ar_rules_env env;
    ar_rules_env_host(&env);
    struct ar_rules *r;
    int rc = ar_rules_new(&env, &r);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        rc = ar_rules_add_path(r, paths[i]);
        if (rc < 0) {
            ar_rules_free(r);
            return rc;
        }
    }
    *ret = r;
    return 0;
}
