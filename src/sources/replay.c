#include "sources/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)

struct progress {
    bool on;
    uint64_t total;
    uint64_t done;
    struct timespec last;
    const char *name;
};

static void progress_draw(struct progress *pg, bool final)
{
    if (!pg->on || pg->total == 0)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - pg->last.tv_sec) * 1000 + (now.tv_nsec - pg->last.tv_nsec) / 1000000;
    if (!final && ms < 200)
        return;
    pg->last = now;
    unsigned pct = (unsigned)(pg->done * 100 / pg->total);
    char bar[41];
    unsigned fill = pct * 40 / 100;
    memset(bar, '#', fill);
    memset(bar + fill, '.', 40 - fill);
    bar[40] = 0;
    fprintf(stderr, "\r%-24.24s [%s] %3u%%%s", pg->name, bar, pct, final ? "\n" : "");
}

static void note_malformed(struct ar_replay_report *rep, const char *file, uint64_t line)
{
    if (rep->nmalformed < AR_REPLAY_MALFORMED_SAMPLES) {
        rep->malformed[rep->nmalformed].file = file;
        rep->malformed[rep->nmalformed].line = line;
        rep->nmalformed++;
    }
}

/* Reads one file descriptor to the end, line by line. Returns 0, -errno from read
 * (counted as an input error by the caller) or a sink error (> -4096 too; the
 * caller tells them apart by *sink_failed). */
static int replay_fd(struct ar_pipeline *p, int fd, const char *name,
                     const struct ar_replay_options *opts, struct ar_replay_report *rep,
                     struct progress *pg, bool *sink_failed)
{
    size_t cap = READ_CHUNK * 2, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    uint64_t lineno = 0;
    bool skipping = false; /* inside a line longer than max_line */
    int ret = 0;
    for (;;) {
        if (cap - len < READ_CHUNK) {
            /* Only reached while one line spans the buffer: grow up to max_line. */
            if (cap >= opts->max_line + READ_CHUNK) {
                skipping = true;
                len = 0;
            } else {
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                    ret = -ENOMEM;
                    break;
                }
                buf = nb;
                cap *= 2;
            }
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            break;
        }
        rep->bytes += (uint64_t)n;
        pg->done += (uint64_t)n;
        size_t scan_from = len;
        len += (size_t)n;
        bool eof = n == 0;
        char *start = buf, *end = buf + len;
        char *nl = memchr(buf + scan_from, '\n', len - scan_from);
        while (nl || (eof && start < end)) {
            char *line_end = nl ? nl : end;
            lineno++;
            if (skipping) {
                skipping = false;
                rep->long_lines++;
                note_malformed(rep, name, lineno);
                ar_pipeline_line(p, "", 0); /* counted as malformed */
            } else if (line_end > start) {
                int r = ar_pipeline_line(p, start, (size_t)(line_end - start));
                if (r == 1) {
                    note_malformed(rep, name, lineno);
                } else if (r < 0) {
                    *sink_failed = true;
                    ret = r;
                    goto out;
                }
            }
            start = nl ? nl + 1 : end;
            nl = start < end ? memchr(start, '\n', (size_t)(end - start)) : NULL;
        }
        if (eof)
            break;
        len = (size_t)(end - start);
        memmove(buf, start, len);
        progress_draw(pg, false);
    }
out:
    free(buf);
    return ret;
}

int ar_replay_run(struct ar_pipeline *p, char *const *files, size_t nfiles,
                  const struct ar_replay_options *opts, struct ar_replay_report *report)
{
    static char *const stdin_only[] = {"-"};
    struct ar_replay_options o = *opts;
    if (o.max_line == 0)
        o.max_line = 16u << 20;
    if (nfiles == 0) {
        files = stdin_only;
        nfiles = 1;
    }
    struct progress pg = {0};
    if (o.progress) {
        for (size_t i = 0; i < nfiles; i++) {
            struct stat st;
            if (strcmp(files[i], "-") != 0 && stat(files[i], &st) == 0 && S_ISREG(st.st_mode))
                pg.total += (uint64_t)st.st_size;
        }
        pg.on = pg.total > 0;
        clock_gettime(CLOCK_MONOTONIC, &pg.last);
    }
    int ret = 0;
    for (size_t i = 0; i < nfiles && ret == 0; i++) {
        const char *name = files[i];
        bool is_stdin = strcmp(name, "-") == 0;
        int fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "auditrelay: cannot open %s: %s\n", name, strerror(errno));
            report->input_errors++;
            continue;
        }
        if (!is_stdin)
            posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        report->files++;
        pg.name = is_stdin ? "stdin" : name;
        bool sink_failed = false;
        int r = replay_fd(p, fd, is_stdin ? "stdin" : name, &o, report, &pg, &sink_failed);
        if (r < 0 && sink_failed) {
            ret = r;
        } else if (r < 0) {
            fprintf(stderr, "auditrelay: error reading %s: %s\n", name, strerror(-r));
            report->input_errors++;
        }
        if (!is_stdin)
            close(fd);
    }
    progress_draw(&pg, true);
    int r = ar_pipeline_flush(p);
    return ret < 0 ? ret : r;
}
