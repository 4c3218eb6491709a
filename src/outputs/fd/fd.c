/* stdout and file: transports. A file is opened for append, created with mode 0600
 * unless told otherwise, reopened when SIGHUP asked for it (logrotate moved it), and
 * optionally rotated by size keeping N files. */
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outputs/output.h"
#include "outputs/util.h"

struct fd_transport {
    int fd;
    bool is_stdout;
    char path[1024];
    mode_t mode;
    uid_t owner;
    gid_t group;
    bool set_owner;
    uint64_t rotate_size;      /* 0: no built-in rotation */
    unsigned rotate_keep;
    uint64_t size;             /* current file size: whole lines only */
    unsigned generation;       /* ar_outputs_reopen_generation() at open */
    size_t batch_off;          /* bytes of a failed batch already in the file */
    size_t unsent;             /* send_lines: bytes not written when it failed */
};

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int stdout_create(const char *target, const char *options, char *err, size_t errlen,
                         void **ret)
{
    if (*target || *options) {
        snprintf(err, errlen, "output stdout takes no target or options");
        return -EINVAL;
    }
    struct fd_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->fd = STDOUT_FILENO;
    t->is_stdout = true;
    *ret = t;
    return 0;
}

static int file_create(const char *target, const char *options, char *err, size_t errlen,
                       void **ret)
{
    if (!*target) {
        snprintf(err, errlen, "output file: wants a path (file:/var/log/auditrelay.json)");
        return -EINVAL;
    }
    struct fd_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->fd = -1;
    t->mode = 0600;
    snprintf(t->path, sizeof(t->path), "%s", target);
    struct ar_option opt;
    const char *rest = options;
    int r = 0;
    while (r == 0 && ar_option_next(&rest, &opt)) {
        char *end;
        if (AR_OPTION_IS(&opt, "mode")) {
            unsigned long m = strtoul(opt.value, &end, 8);
            if (!opt.value[0] || *end || m > 07777)
                r = -EINVAL;
            t->mode = (mode_t)m;
        } else if (AR_OPTION_IS(&opt, "owner")) {
            struct passwd *pw = getpwnam(opt.value);
            if (!pw)
                r = -EINVAL;
            else {
                t->owner = pw->pw_uid;
                t->group = pw->pw_gid;
                t->set_owner = true;
            }
        } else if (AR_OPTION_IS(&opt, "group")) {
            struct group *gr = getgrnam(opt.value);
            if (!gr)
                r = -EINVAL;
            else {
                if (!t->set_owner)
                    t->owner = (uid_t)-1;
                t->group = gr->gr_gid;
                t->set_owner = true;
            }
        } else if (AR_OPTION_IS(&opt, "rotate_size")) {
            if (ar_parse_size(opt.value, &t->rotate_size) < 0)
                r = -EINVAL;
        } else if (AR_OPTION_IS(&opt, "rotate_keep")) {
            unsigned long k = strtoul(opt.value, &end, 10);
            if (*end || k == 0 || k > 1000)
                r = -EINVAL;
            t->rotate_keep = (unsigned)k;
        } else {
            r = -ENOENT;
        }
        if (r < 0)
            snprintf(err, errlen, "output file:%s: %s option '%s=%s' (mode, owner, group, "
                                  "rotate_size, rotate_keep)",
                     target, r == -ENOENT ? "unknown" : "bad", opt.name, opt.value);
    }
    if (r < 0) {
        free(t);
        return -EINVAL;
    }
    if (t->rotate_size && !t->rotate_keep)
        t->rotate_keep = 5;
    *ret = t;
    return 0;
}

static int file_open(struct fd_transport *t)
{
    /* A file we create gets exactly the mode asked for, whatever the umask; one that
     * exists keeps the mode its administrator gave it. */
    t->fd = open(t->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, t->mode);
    bool created = t->fd >= 0;
    if (!created && errno == EEXIST)
        t->fd = open(t->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (t->fd < 0)
        return -errno;
    if (created && fchmod(t->fd, t->mode) < 0) {
        int r = -errno;
        close(t->fd);
        t->fd = -1;
        return r;
    }
    if (t->set_owner && fchown(t->fd, t->owner, t->group) < 0) {
        int r = -errno;
        close(t->fd);
        t->fd = -1;
        return r;
    }
    struct stat st;
    t->size = fstat(t->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    t->generation = ar_outputs_reopen_generation();
    /* A run killed in the middle of a write (SIGKILL, power loss) left a cut line:
     * end it, so that our first event is a line of its own and not glued to it. */
    char last = '\n';
    int rfd = t->size ? open(t->path, O_RDONLY | O_CLOEXEC) : -1;
    if (rfd >= 0) {
        if (pread(rfd, &last, 1, (off_t)(t->size - 1)) != 1)
            last = '\n';
        close(rfd);
    }
    if (last != '\n' && write_all(t->fd, "\n", 1) == 0)
        t->size++;
    return 0;
}

static int fd_connect(void *vt)
{
    struct fd_transport *t = vt;
    if (t->is_stdout)
        return 0;
    return file_open(t);
}

/* path.N-1 -> path.N ... path -> path.1, keeping rotate_keep files. */
static int rotate(struct fd_transport *t)
{
    char from[1100], to[1100];
    for (unsigned i = t->rotate_keep; i > 0; i--) {
        if (i == 1)
            snprintf(from, sizeof(from), "%s", t->path);
        else
            snprintf(from, sizeof(from), "%s.%u", t->path, i - 1);
        snprintf(to, sizeof(to), "%s.%u", t->path, i);
        if (rename(from, to) < 0 && errno != ENOENT)
            return -errno;
    }
    close(t->fd);
    return file_open(t);
}

/* Appends whole lines. A write that fails midway (the disk is full) is cut back
 * to the last complete chunk, so the file never holds a cut line, and the batch's
 * retry goes on from there: nothing is written twice. */
static int append(struct fd_transport *t, const char *p, size_t len)
{
    int r = write_all(t->fd, p, len);
    if (r == 0)
        t->size += len;
    else if (ftruncate(t->fd, (off_t)t->size) < 0)
        r = -errno; /* cannot even cut it back: the reopen on retry starts over */
    return r;
}

static int send_lines(struct fd_transport *t, const char *lines, size_t len);

static int fd_send(void *vt, const char *lines, size_t len, uint64_t *dropped)
{
    struct fd_transport *t = vt;
    if (t->is_stdout)
        return write_all(t->fd, lines, len);
    if (t->batch_off >= len)
        t->batch_off = 0;
    int r = send_lines(t, lines + t->batch_off, len - t->batch_off);
    if (r < 0)
        t->batch_off = len - t->unsent;
    else
        t->batch_off = 0;
    return r;
}

/* Writes the lines, rotating between them; on failure t->unsent is what is left. */
static int send_lines(struct fd_transport *t, const char *lines, size_t len)
{
    t->unsent = len;
    if (t->generation != ar_outputs_reopen_generation()) {
        /* SIGHUP: the file may have been moved away; lines go to the new one. */
        close(t->fd);
        int r = file_open(t);
        if (r < 0)
            return r;
    }
    if (t->rotate_size && t->size + len > t->rotate_size) {
        /* Rotate between lines, never inside one: batches hold whole lines. */
        const char *p = lines, *end = lines + len;
        while (p < end) {
            size_t room = t->size < t->rotate_size ? (size_t)(t->rotate_size - t->size) : 0;
            const char *cut = p;
            for (const char *nl; cut < end && (nl = memchr(cut, '\n', (size_t)(end - cut))) &&
                                 (size_t)(nl + 1 - p) <= room;)
                cut = nl + 1;
            if (cut == p && t->size > 0) {
                int r = rotate(t);
                if (r < 0)
                    return r;
                continue;
            }
            if (cut == p) { /* one line larger than the rotation size: write it whole */
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                cut = nl ? nl + 1 : end;
            }
            int r = append(t, p, (size_t)(cut - p));
            if (r < 0)
                return r;
            p = cut;
            t->unsent = (size_t)(end - p);
        }
        return 0;
    }
    int r = append(t, lines, len);
    if (r == 0)
        t->unsent = 0;
    return r;
}

static void fd_disconnect(void *vt)
{
    struct fd_transport *t = vt;
    if (!t->is_stdout && t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
}

static void fd_destroy(void *vt)
{
    fd_disconnect(vt);
    free(vt);
}

const struct ar_transport_ops ar_transport_stdout = {
    .scheme = "stdout", .create = stdout_create, .connect = fd_connect, .send = fd_send,
    .disconnect = fd_disconnect, .destroy = fd_destroy, .spools = false,
    .errors_are_final = true,
};

/* A file given to another owner is reopened (SIGHUP, rotation) through its mode
 * bits as root no longer owns it, and chowned again. */
static uint64_t file_capabilities(void *vt)
{
    struct fd_transport *t = vt;
    return t->set_owner ? (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) : 0;
}

const struct ar_transport_ops ar_transport_file = {
    .scheme = "file", .create = file_create, .connect = fd_connect, .send = fd_send,
    .disconnect = fd_disconnect, .destroy = fd_destroy, .capabilities = file_capabilities,
    .spools = false,
};
