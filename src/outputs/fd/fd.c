/* stdout and file: transports. A file is opened for append, created with mode 0600
 * unless told otherwise, reopened when SIGHUP asked for it (logrotate moved it), and
 * managed as auditd manages its log when asked (auditd.conf's keys as options): a
 * size limit with its action (rotate keeping N files, keep_logs, suspend, report,
 * ignore), the log group with auditd's modes, and a watch on the free space of its
 * file system with two thresholds (space_left, admin_space_left) and their actions
 * (report, suspend, stop). */
#include <linux/capability.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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
    bool enforce_mode;         /* log_group: mode and group on every open, like auditd */
    uint64_t rotate_size;      /* max_log_file: 0 for none */
    unsigned rotate_keep;      /* rotated files kept (num_logs - 1) */
    enum size_action { SIZE_ROTATE, SIZE_KEEP_LOGS, SIZE_SUSPEND, SIZE_REPORT, SIZE_IGNORE }
        size_action;
    bool size_hit;             /* suspend/report: the limit was reached in this file */
    /* space_left [0] and admin_space_left [1]: free bytes, or a percentage of the
     * file system, and what to do at or below it. */
    struct space_limit {
        uint64_t bytes;
        unsigned percent;      /* used instead of bytes when not 0 */
        enum space_action { SPACE_IGNORE, SPACE_REPORT, SPACE_SUSPEND, SPACE_STOP } action;
        bool below;            /* reported for this dip below the threshold */
    } space[2];
    uint64_t warnings[2];      /* times each threshold was crossed (read by other threads) */
    uint64_t size;             /* current file size: whole lines only */
    unsigned generation;       /* ar_outputs_reopen_generation() at open */
    size_t batch_off;          /* bytes of a failed batch already in the file */
    size_t unsent;             /* send_lines: bytes not written when it failed */
};

static const char *const space_names[2] = {"space_left", "admin_space_left"};

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
    bool mode_given = false, action_given[2] = {false, false};
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
        } else if (AR_OPTION_IS(&opt, "group") || AR_OPTION_IS(&opt, "log_group")) {
            /* auditd's log_group: the group of the log files, which are then 0640
             * (0600 for root), on every open, existing files included. */
            struct group *gr = getgrnam(opt.value);
            if (!gr)
                r = -EINVAL;
            else {
                if (!t->set_owner)
                    t->owner = (uid_t)-1;
                t->group = gr->gr_gid;
                t->set_owner = true;
                if (AR_OPTION_IS(&opt, "log_group")) {
                    t->enforce_mode = true;
                    if (!mode_given)
                        t->mode = gr->gr_gid == 0 ? 0600 : 0640;
                }
            }
        } else if (AR_OPTION_IS(&opt, "rotate_size") || AR_OPTION_IS(&opt, "max_log_file")) {
            /* auditd's max_log_file is in megabytes: a bare number is MiB here too. */
            if (ar_parse_size(opt.value, &t->rotate_size) < 0 || t->rotate_size == 0)
                r = -EINVAL;
            else if (AR_OPTION_IS(&opt, "max_log_file") && isdigit((unsigned char)opt.value[
                         strlen(opt.value) - 1]))
                t->rotate_size <<= 20;
        } else if (AR_OPTION_IS(&opt, "rotate_keep") || AR_OPTION_IS(&opt, "num_logs")) {
            /* num_logs counts the current file, rotate_keep does not. */
            unsigned long k = strtoul(opt.value, &end, 10);
            bool num = AR_OPTION_IS(&opt, "num_logs");
            if (*end || !opt.value[0] || k < (num ? 2u : 1u) || k > 1000)
                r = -EINVAL;
            t->rotate_keep = (unsigned)(num ? k - 1 : k);
        } else if (AR_OPTION_IS(&opt, "max_log_file_action")) {
            static const char *const names[] = {"rotate", "keep_logs", "suspend", "report",
                                                "ignore"};
            r = -EINVAL;
            for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (!strcasecmp(opt.value, names[i])) {
                    t->size_action = (enum size_action)i;
                    r = 0;
                }
            if (!strcasecmp(opt.value, "syslog")) { /* auditd's name for report */
                t->size_action = SIZE_REPORT;
                r = 0;
            }
        } else if (AR_OPTION_IS(&opt, "space_left") || AR_OPTION_IS(&opt, "admin_space_left")) {
            struct space_limit *l = &t->space[AR_OPTION_IS(&opt, "admin_space_left")];
            size_t n = strlen(opt.value);
            if (n && opt.value[n - 1] == '%') {
                unsigned long pc = strtoul(opt.value, &end, 10);
                if (end != opt.value + n - 1 || pc == 0 || pc >= 100)
                    r = -EINVAL;
                l->percent = (unsigned)pc;
            } else if (ar_parse_size(opt.value, &l->bytes) < 0 || l->bytes == 0) {
                r = -EINVAL;
            } else if (isdigit((unsigned char)opt.value[n - 1])) {
                l->bytes <<= 20; /* megabytes, as in auditd.conf */
            }
            if (r == 0 && l->action == SPACE_IGNORE)
                l->action = SPACE_REPORT;
        } else if (AR_OPTION_IS(&opt, "space_left_action") ||
                   AR_OPTION_IS(&opt, "admin_space_left_action")) {
            struct space_limit *l = &t->space[AR_OPTION_IS(&opt, "admin_space_left_action")];
            static const char *const names[] = {"ignore", "report", "suspend", "stop"};
            r = -EINVAL;
            for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (!strcasecmp(opt.value, names[i])) {
                    l->action = (enum space_action)i;
                    r = 0;
                }
            if (!strcasecmp(opt.value, "syslog")) {
                l->action = SPACE_REPORT;
                r = 0;
            }
            action_given[AR_OPTION_IS(&opt, "admin_space_left_action")] = true;
        } else {
            r = -ENOENT;
        }
        if (AR_OPTION_IS(&opt, "mode"))
            mode_given = true;
        if (r < 0)
            snprintf(err, errlen, "output file:%s: %s option '%s=%s' (mode, owner, group, "
                                  "log_group, max_log_file, max_log_file_action, num_logs, "
                                  "space_left, space_left_action, admin_space_left, "
                                  "admin_space_left_action; rotate_size, rotate_keep)",
                     target, r == -ENOENT ? "unknown" : "bad", opt.name, opt.value);
    }
    for (int i = 0; r == 0 && i < 2; i++) {
        if (action_given[i] && !t->space[i].bytes && !t->space[i].percent) {
            snprintf(err, errlen, "output file:%s: %s_action without %s", target,
                     space_names[i], space_names[i]);
            r = -EINVAL;
        }
    }
    /* As auditd insists: the admin threshold is the lower one. */
    if (r == 0 && (t->space[0].bytes || t->space[0].percent) &&
        (t->space[1].bytes || t->space[1].percent) &&
        !!t->space[0].percent == !!t->space[1].percent &&
        (t->space[0].percent ? t->space[0].percent <= t->space[1].percent
                             : t->space[0].bytes <= t->space[1].bytes)) {
        snprintf(err, errlen, "output file:%s: space_left must be larger than admin_space_left",
                 target);
        r = -EINVAL;
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
    if ((created || t->enforce_mode) && fchmod(t->fd, t->mode) < 0) {
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
    t->size_hit = false;
    return 0;
}

static int fd_connect(void *vt)
{
    struct fd_transport *t = vt;
    if (t->is_stdout)
        return 0;
    return file_open(t);
}

/* path.N-1 -> path.N ... path -> path.1, keeping rotate_keep files (keep_logs: all
 * of them, as auditd's keep_logs). */
static int rotate(struct fd_transport *t)
{
    char from[1100], to[1100];
    unsigned keep = t->rotate_keep;
    if (t->size_action == SIZE_KEEP_LOGS) {
        struct stat st;
        for (keep = 1; keep < 1000000; keep++) {
            snprintf(from, sizeof(from), "%s.%u", t->path, keep);
            if (stat(from, &st) < 0)
                break;
        }
    }
    for (unsigned i = keep; i > 0; i--) {
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

static int send_lines(struct fd_transport *t, const char *lines, size_t len,
                      uint64_t *dropped);

static uint64_t count_newlines(const char *p, size_t len)
{
    uint64_t n = 0;
    for (const char *e = p + len; p < e && (p = memchr(p, '\n', (size_t)(e - p))); p++)
        n++;
    return n;
}

/* How many bytes of [p, p + len) are whole lines within `room` bytes. */
static size_t whole_lines(const char *p, size_t len, size_t room)
{
    const char *cut = p;
    for (const char *nl; (nl = memchr(cut, '\n', len - (size_t)(cut - p))) &&
                         (size_t)(nl + 1 - p) <= room;)
        cut = nl + 1;
    return (size_t)(cut - p);
}

/* Checks the free space of the file's file system against space_left and
 * admin_space_left (auditd's check_space_left): reports each dip below a threshold
 * once (stderr, a warning counted for the pipeline's events), and sets *room to the
 * bytes that may still be written before a suspend threshold (0 while below it).
 * Returns -ESHUTDOWN for a stop threshold: the output ends. */
static int watch_space(struct fd_transport *t, size_t *room)
{
    struct statvfs vfs;
    if (fstatvfs(t->fd, &vfs) < 0)
        return 0; /* cannot tell: write, as auditd does */
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    uint64_t total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    for (int i = 1; i >= 0; i--) {
        struct space_limit *l = &t->space[i];
        if (!l->bytes && !l->percent)
            continue;
        uint64_t at = l->percent ? total / 100 * l->percent : l->bytes;
        /* What this batch leaves: a suspend or stop threshold lets lines through
         * up to it, never past it. */
        bool below = avail <= at || avail - at < *room;
        if (!below) {
            if (l->below)
                fprintf(stderr, "auditrelay: output file:%s: free space is above %s again "
                                "(%llu bytes free)%s\n", t->path, space_names[i],
                        (unsigned long long)avail,
                        l->action == SPACE_SUSPEND ? ": writing again" : "");
            l->below = false;
            continue;
        }
        if (!l->below) {
            static const char *const what[] = {"", "", ": writing suspended",
                                               ": the output stops"};
            fprintf(stderr, "auditrelay: output file:%s: free space reaches %s (%llu bytes; "
                            "%llu free before this write)%s\n", t->path, space_names[i],
                    (unsigned long long)at, (unsigned long long)avail, what[l->action]);
            __atomic_add_fetch(&t->warnings[i], 1, __ATOMIC_RELAXED);
            l->below = true;
        }
        if (l->action == SPACE_STOP && avail <= at)
            return -ESHUTDOWN;
        if (l->action == SPACE_SUSPEND || l->action == SPACE_STOP) {
            uint64_t left = avail > at ? avail - at : 0;
            if (left < *room)
                *room = (size_t)left;
        }
    }
    return 0;
}

static int fd_send(void *vt, const struct ar_lines *b, uint64_t *dropped)
{
    const char *lines = b->p;
    size_t len = b->len;
    struct fd_transport *t = vt;
    if (t->is_stdout)
        return write_all(t->fd, lines, len);
    if (t->batch_off >= len)
        t->batch_off = 0;
    int r = send_lines(t, lines + t->batch_off, len - t->batch_off, dropped);
    if (r < 0)
        t->batch_off = len - t->unsent;
    else
        t->batch_off = 0;
    return r;
}

/* Writes the lines, rotating between them; on failure t->unsent is what is left.
 * Lines a suspend or stop threshold keeps out are counted in *dropped once the lines
 * before them are written (a failed write retries the whole rest). */
static int send_lines(struct fd_transport *t, const char *lines, size_t len,
                      uint64_t *dropped)
{
    t->unsent = len;
    if (t->generation != ar_outputs_reopen_generation()) {
        /* SIGHUP: the file may have been moved away; lines go to the new one. */
        close(t->fd);
        int r = file_open(t);
        if (r < 0)
            return r;
    }
    uint64_t kept_out = 0;
    if (t->space[0].bytes || t->space[0].percent || t->space[1].bytes || t->space[1].percent) {
        size_t room = len;
        int r = watch_space(t, &room);
        if (r < 0)
            return r;
        if (room < len) {
            /* Below a suspend threshold: the lines that fit above it are written,
             * the rest dropped and counted (reported as output_dropped). */
            size_t keep = whole_lines(lines, len, room);
            kept_out = count_newlines(lines + keep, len - keep);
            len = keep;
        }
    }
    if (t->size_hit && t->size_action == SIZE_SUSPEND) {
        /* Suspended: not even a line that would still fit goes in after the gap. */
        *dropped += kept_out + count_newlines(lines, len);
        t->unsent = 0;
        return 0;
    }
    if (t->rotate_size && t->size + len > t->rotate_size &&
        (t->size_action == SIZE_SUSPEND || t->size_action == SIZE_REPORT ||
         t->size_action == SIZE_IGNORE)) {
        if (!t->size_hit && t->size_action != SIZE_IGNORE)
            fprintf(stderr, "auditrelay: output file:%s reached max_log_file (%llu bytes)%s\n",
                    t->path, (unsigned long long)t->rotate_size,
                    t->size_action == SIZE_SUSPEND ? ": writing suspended until it is moved "
                                                     "away (SIGHUP)" : "");
        t->size_hit = true;
        if (t->size_action == SIZE_SUSPEND) {
            /* Whole lines up to the limit, then nothing. */
            size_t keep = whole_lines(lines, len, t->size < t->rotate_size
                                                      ? (size_t)(t->rotate_size - t->size) : 0);
            kept_out += count_newlines(lines + keep, len - keep);
            len = keep;
        }
    }
    if (len == 0 || (t->size_hit && t->size_action != SIZE_ROTATE &&
                     t->size_action != SIZE_KEEP_LOGS)) {
        int r = len ? append(t, lines, len) : 0;
        if (r == 0) {
            *dropped += kept_out;
            t->unsent = 0;
        }
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
        *dropped += kept_out;
        return 0;
    }
    int r = append(t, lines, len);
    if (r == 0) {
        t->unsent = 0;
        *dropped += kept_out;
    }
    return r;
}

/* A regular file or a character device that is not a terminal (/dev/null): a
 * write waits for this machine's disk at most. A pipe, socket or terminal has a
 * reader that may stall. */
static bool fd_never_waits_on_reader(void *vt)
{
    struct fd_transport *t = vt;
    struct stat st;
    return t->fd >= 0 && fstat(t->fd, &st) == 0 &&
           (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(t->fd)));
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
    .errors_are_final = true, .never_waits_on_reader = fd_never_waits_on_reader,
};

/* A file given to another owner is reopened (SIGHUP, rotation) through its mode
 * bits as root no longer owns it, and chowned again. */
static uint64_t file_capabilities(void *vt)
{
    struct fd_transport *t = vt;
    return t->set_owner ? (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) : 0;
}

static void file_warnings(void *vt, uint64_t ret[2])
{
    struct fd_transport *t = vt;
    for (int i = 0; i < 2; i++)
        ret[i] = __atomic_load_n(&t->warnings[i], __ATOMIC_RELAXED);
}

const struct ar_transport_ops ar_transport_file = {
    .scheme = "file", .create = file_create, .connect = fd_connect, .send = fd_send,
    .disconnect = fd_disconnect, .destroy = fd_destroy, .capabilities = file_capabilities,
    .spools = false, .space_warnings = file_warnings,
    .never_waits_on_reader = fd_never_waits_on_reader,
};
