#include "sources/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "sources/goaudit_input.h"
#include "sources/source.h"

#define READ_CHUNK (1u << 20)
/* A regular file is read through a mapping of this much at a time, not read(2)
 * into a buffer: the kernel's copy was 4.6% of a one-thread replay of the bench
 * log (perf), and a 53 MB file took 8.2 ms mapped in 2 MiB windows against 13.5 ms
 * read in 2 MiB chunks, both touching every cache line (5 alternating runs). The
 * mapped pages count in the RSS: 4 MiB windows took a replay's peak from 16 to 17.7
 * MB. A line longer than the window doubles it, up to AR_REPLAY_MAX_LINE. */
#define MAP_WINDOW (2u << 20)
/* A pipe's events reach the outputs at most this long after they were read, even
 * when the writer goes quiet (tail -f | auditrelay replay): encoded output is
 * otherwise handed over by the buffer or batch full. */
#define PIPE_HAND_OUT_MS 100

struct progress {
    bool on;
    uint64_t total;
    uint64_t done;
    struct timespec last;
    const char *name;
};

struct replay;

/* Hands one input line (no newline) to the sink, as records. Returns 0, 1 when the
 * line is malformed (the caller counts it), or a sink error. */
typedef int line_decoder(struct replay *rp, const char *p, size_t len);

struct replay {
    struct ar_source_sink sink;
    line_decoder *decode;       /* by --input-format */
    char *const *files;
    size_t nfiles, next;        /* next file to open */
    bool quiet;
    /* the file being read */
    int fd;
    const char *name;
    bool is_stdin;
    uint64_t lineno;
    bool skipping;              /* inside a line longer than AR_REPLAY_MAX_LINE */
    char *buf;                  /* read(2) inputs: pipes, terminals, empty-looking files */
    size_t cap, len;
    const char *map;            /* mapped inputs: the window being fed */
    size_t map_len, window;
    uint64_t pos;               /* the file offset of the first byte not yet fed */
    bool mapped;
    /* the loop */
    uv_loop_t *loop;
    uv_idle_t idle;             /* regular files: a chunk per loop turn */
    uv_poll_t poll;             /* pipes and terminals: when readable */
    uv_timer_t hand_out_timer;  /* pipes: sink.batch_end PIPE_HAND_OUT_MS after a read */
    bool polling, started, stopped;
    struct progress pg;
    /* the report */
    uint64_t files_read, bytes, input_errors, long_lines, lines, malformed;
    struct {
        const char *file;
        uint64_t line;
    } samples[AR_REPLAY_MALFORMED_SAMPLES];
    size_t nsamples;
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

/* Audit logs: the pipeline parses the line itself. */
static int decode_audit_line(struct replay *rp, const char *p, size_t len)
{
    return rp->sink.line(rp->sink.ctx, p, len);
}

/* go-audit's JSON: one event per line, its records rebuilt here. */
static int decode_goaudit_line(struct replay *rp, const char *p, size_t len)
{
    return ar_goaudit_decode_line(p, len, &rp->sink);
}

static void note_malformed(struct replay *rp)
{
    rp->malformed++;
    if (rp->nsamples < AR_REPLAY_MALFORMED_SAMPLES) {
        rp->samples[rp->nsamples].file = rp->name;
        rp->samples[rp->nsamples].line = rp->lineno;
        rp->nsamples++;
    }
}

static void finish(struct replay *rp, int err)
{
    progress_draw(&rp->pg, true);
    rp->sink.done(rp->sink.ctx, err);
}

static void on_idle(uv_idle_t *h);
static void on_readable(uv_poll_t *h, int status, int events);

/* The window being fed, for the SIGBUS handler: a file cut shorter (truncate,
 * logrotate's copytruncate) while mapped faults on its vanished pages. */
static struct {
    const char *volatile p;
    volatile size_t len;
    volatile sig_atomic_t cut;
} fed_window;

/* Puts zero pages where the file's vanished and lets the read go on: the zeros
 * hold no newline, so no line past the cut is fed (read_mapped). A fault anywhere
 * else is a crash, as without the handler. */
static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    const char *a = si->si_addr, *p = fed_window.p;
    if (p && a >= p && a < p + fed_window.len) {
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        char *from = (char *)((uintptr_t)a & ~(page - 1));
        if (mmap(from, (size_t)(p + fed_window.len - from), PROT_READ,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
            fed_window.cut = 1;
            return;
        }
    }
    signal(sig, SIG_DFL);
}

static void unmap(struct replay *rp)
{
    if (rp->map)
        munmap((void *)rp->map, rp->map_len);
    rp->map = NULL;
    fed_window.p = NULL;
}

static void read_mapped(struct replay *rp);

static void close_file(struct replay *rp)
{
    if (rp->polling) {
        uv_poll_stop(&rp->poll);
        uv_close((uv_handle_t *)&rp->poll, NULL);
        rp->polling = false;
    }
    if (rp->fd >= 0 && !rp->is_stdin)
        close(rp->fd);
    rp->fd = -1;
    unmap(rp);
    rp->mapped = false;
}

/* Opens the next readable input and arranges for it to be read; at the end of
 * the list the replay is done. */
static void open_next(struct replay *rp)
{
    while (rp->next < rp->nfiles) {
        const char *name = rp->files[rp->next++];
        rp->is_stdin = strcmp(name, "-") == 0;
        int fd = rp->is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "auditrelay: cannot open %s: %s\n", name, strerror(errno));
            rp->input_errors++;
            continue;
        }
        struct stat st;
        bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
        if (!rp->is_stdin)
            posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        rp->fd = fd;
        rp->name = rp->is_stdin ? "stdin" : name;
        rp->pg.name = rp->name;
        rp->files_read++;
        rp->lineno = 0;
        rp->len = 0;
        rp->skipping = false;
        /* procfs and sysfs files say they hold 0 bytes: those are read. */
        rp->mapped = regular && st.st_size > 0;
        rp->pos = 0;
        rp->window = MAP_WINDOW;
        if (!regular && uv_poll_init(rp->loop, &rp->poll, fd) == 0) {
            rp->poll.data = rp;
            rp->polling = true;
            uv_idle_stop(&rp->idle);
            uv_poll_start(&rp->poll, UV_READABLE, on_readable);
        } else {
            uv_idle_start(&rp->idle, on_idle);
        }
        return;
    }
    uv_idle_stop(&rp->idle);
    finish(rp, 0);
}

/* A read of the current input failed (errno): said, counted, on to the next. */
static void read_failed(struct replay *rp)
{
    fprintf(stderr, "auditrelay: error reading %s: %s\n", rp->name, strerror(errno));
    rp->input_errors++;
    close_file(rp);
    open_next(rp);
}

/* Feeds the complete lines in [start, end) whose newline is at or after scan_from
 * (and the last one at EOF); returns where the partial rest starts, or NULL on a
 * sink error (*err). */
static const char *feed_lines(struct replay *rp, const char *start, const char *end,
                              const char *scan_from, bool eof, int *err)
{
    const char *nl = memchr(scan_from, '\n', (size_t)(end - scan_from));
    while (nl || (eof && start < end)) {
        const char *line_end = nl ? nl : end;
        rp->lineno++;
        rp->lines++;
        if (rp->skipping) {
            rp->skipping = false;
            rp->long_lines++;
            note_malformed(rp);
        } else if (line_end > start) {
            int r = rp->decode(rp, start, (size_t)(line_end - start));
            if (r == 1)
                note_malformed(rp);
            else if (r < 0) {
                *err = r;
                return NULL;
            }
        }
        start = nl ? nl + 1 : end;
        nl = start < end ? memchr(start, '\n', (size_t)(end - start)) : NULL;
    }
    return start;
}

/* One read of the current input. */
static void read_some(struct replay *rp)
{
    if (rp->mapped) {
        read_mapped(rp);
        return;
    }
    if (rp->cap - rp->len < READ_CHUNK) {
        /* Only reached while one line spans the buffer: grow up to the line cap. */
        if (rp->cap >= AR_REPLAY_MAX_LINE + READ_CHUNK) {
            rp->skipping = true;
            rp->len = 0;
        } else {
            char *nb = realloc(rp->buf, rp->cap * 2);
            if (!nb) {
                fprintf(stderr, "auditrelay: out of memory reading %s\n", rp->name);
                close_file(rp);
                finish(rp, -ENOMEM);
                return;
            }
            rp->buf = nb;
            rp->cap *= 2;
        }
    }
    ssize_t n = read(rp->fd, rp->buf + rp->len, rp->cap - rp->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0) {
        read_failed(rp);
        return;
    }
    rp->bytes += (uint64_t)n;
    rp->pg.done += (uint64_t)n;
    size_t scan_from = rp->len;
    rp->len += (size_t)n;
    int r = 0;
    const char *rest = feed_lines(rp, rp->buf, rp->buf + rp->len, rp->buf + scan_from, n == 0, &r);
    if (rest) {
        rp->len = (size_t)(rp->buf + rp->len - rest);
        memmove(rp->buf, rest, rp->len);
    }
    if (r < 0) {
        close_file(rp);
        uv_idle_stop(&rp->idle);
        finish(rp, r);
        return;
    }
    progress_draw(&rp->pg, false);
    if (n == 0) {
        close_file(rp);
        open_next(rp);
    }
}

/* One window of a mapped input: from the page holding the first byte not yet fed,
 * up to the file's size now (a file still being written is read to its end at
 * each turn, as read(2) would). */
static void read_mapped(struct replay *rp)
{
    struct stat st;
    if (fstat(rp->fd, &st) < 0) {
        read_failed(rp);
        return;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < rp->pos || fed_window.cut) {
        fprintf(stderr, "auditrelay: %s was cut to %llu bytes while it was read: "
                        "what followed byte %llu was not read\n",
                rp->name, (unsigned long long)size, (unsigned long long)rp->pos);
        fed_window.cut = 0;
        rp->input_errors++;
        close_file(rp);
        open_next(rp);
        return;
    }
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t at = rp->pos & ~(page - 1);
    size_t len = size - at < rp->window ? (size_t)(size - at) : rp->window;
    bool eof = at + len == size;
    if (rp->pos == size) {
        close_file(rp);
        open_next(rp);
        return;
    }
    unmap(rp);
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, rp->fd, (off_t)at);
    if (m == MAP_FAILED) {
        /* A file system that cannot map: read it instead, from here. */
        if (lseek(rp->fd, (off_t)rp->pos, SEEK_SET) < 0) {
            read_failed(rp);
            return;
        }
        rp->mapped = false;
        return;
    }
    rp->map = m;
    rp->map_len = len;
    fed_window.p = m;
    fed_window.len = len;
    const char *from = rp->map + (rp->pos - at), *end = rp->map + len;
    int r = 0;
    const char *rest = feed_lines(rp, from, end, from, eof && !fed_window.cut, &r);
    if (!rest) {
        close_file(rp);
        uv_idle_stop(&rp->idle);
        finish(rp, r);
        return;
    }
    if (rest == from && !eof) {
        /* One line fills the window: map more of it next time, or skip it. */
        if (!rp->skipping && rp->window < AR_REPLAY_MAX_LINE + page) {
            rp->window *= 2;
        } else {
            rp->skipping = true;
            rest = end;
        }
    } else {
        rp->window = MAP_WINDOW;
    }
    /* The partial line at the window's end is mapped again, and counted then. */
    rp->bytes += (uint64_t)(rest - from);
    rp->pg.done += (uint64_t)(rest - from);
    rp->pos = at + (uint64_t)(rest - rp->map);
    progress_draw(&rp->pg, false);
    if (eof && !fed_window.cut) {
        close_file(rp);
        open_next(rp);
    }
}

static void on_idle(uv_idle_t *h)
{
    read_some(h->data);
}

static void on_hand_out_timer(uv_timer_t *t)
{
    struct replay *rp = t->data;
    if (!rp->stopped)
        rp->sink.batch_end(rp->sink.ctx);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct replay *rp = h->data;
    read_some(rp);
    if (!rp->stopped && !uv_is_active((uv_handle_t *)&rp->hand_out_timer))
        uv_timer_start(&rp->hand_out_timer, on_hand_out_timer, PIPE_HAND_OUT_MS, 0);
}

static void replay_close(void *p)
{
    struct replay *rp = p;
    if (!rp)
        return;
    unmap(rp);
    free(rp->buf);
    free(rp);
}

static int replay_open(const struct ar_collector_config *cfg, const struct ar_source_sink *sink,
                       char *why, size_t whylen, void **ret)
{
    static char *const stdin_only[] = {"-"};
    struct replay *rp = calloc(1, sizeof(*rp));
    if (!rp || !(rp->buf = malloc(READ_CHUNK * 2))) {
        free(rp);
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    rp->cap = READ_CHUNK * 2;
    rp->sink = *sink;
    rp->decode = cfg->input_format == AR_INPUT_GOAUDIT ? decode_goaudit_line : decode_audit_line;
    rp->fd = -1;
    rp->quiet = cfg->quiet;
    rp->files = cfg->nfiles ? cfg->files : stdin_only;
    rp->nfiles = cfg->nfiles ? cfg->nfiles : 1;
    if (cfg->progress) {
        for (size_t i = 0; i < rp->nfiles; i++) {
            struct stat st;
            if (strcmp(rp->files[i], "-") != 0 && stat(rp->files[i], &st) == 0 &&
                S_ISREG(st.st_mode))
                rp->pg.total += (uint64_t)st.st_size;
        }
        rp->pg.on = rp->pg.total > 0;
        clock_gettime(CLOCK_MONOTONIC, &rp->pg.last);
    }
    *ret = rp;
    return 0;
}

static int replay_start(void *p, uv_loop_t *loop)
{
    struct replay *rp = p;
    rp->loop = loop;
    uv_idle_init(loop, &rp->idle);
    rp->idle.data = rp;
    uv_timer_init(loop, &rp->hand_out_timer);
    rp->hand_out_timer.data = rp;
    rp->started = true;
    struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    open_next(rp);
    return 0;
}

static void replay_stop(void *p)
{
    struct replay *rp = p;
    if (rp->stopped)
        return;
    rp->stopped = true;
    close_file(rp);
    if (rp->started) {
        uv_idle_stop(&rp->idle);
        uv_close((uv_handle_t *)&rp->idle, NULL);
        uv_close((uv_handle_t *)&rp->hand_out_timer, NULL);
    }
}

static void replay_print_stats(void *p, const struct ar_source_counts *c, const char *when,
                               FILE *f)
{
    struct replay *rp = p;
    const struct ar_reasm_stats *rs = c->reasm;
    fprintf(f,
            "auditrelay: %llu events, %llu records from %llu lines (%llu bytes, %llu files); "
            "%llu malformed lines; %llu serial gaps (%llu serials lost)\n",
            (unsigned long long)c->events, (unsigned long long)c->records,
            (unsigned long long)rp->lines, (unsigned long long)rp->bytes,
            (unsigned long long)rp->files_read, (unsigned long long)rp->malformed,
            (unsigned long long)rs->gap_events, (unsigned long long)rs->lost);
    for (size_t i = 0; i < rp->nsamples; i++)
        fprintf(f, "auditrelay: malformed line %s:%llu\n", rp->samples[i].file,
                (unsigned long long)rp->samples[i].line);
    if (rp->malformed > rp->nsamples)
        fprintf(f, "auditrelay: ... and %llu more malformed lines\n",
                (unsigned long long)(rp->malformed - rp->nsamples));
    if (rp->long_lines)
        fprintf(f, "auditrelay: %llu lines too long (over %u MiB), among the malformed\n",
                (unsigned long long)rp->long_lines, (unsigned)(AR_REPLAY_MAX_LINE >> 20));
}

static void replay_metrics(void *p, struct ar_source_metrics *ret)
{
    struct replay *rp = p;
    ret->text = true;
    ret->lines = rp->lines;
    ret->malformed = rp->malformed;
    ret->bytes_in = rp->bytes;
    ret->files = rp->files_read;
    ret->input_errors = rp->input_errors;
    ret->long_lines = rp->long_lines;
}

static int replay_exit_status(void *p)
{
    struct replay *rp = p;
    return rp->input_errors || rp->malformed ? 1 : 0;
}

const struct ar_source_ops ar_source_replay = {
    .name = "replay",
    .event_source = "replay",
    .live = false,
    .open = replay_open,
    .start = replay_start,
    .stop = replay_stop,
    .close = replay_close,
    .print_stats = replay_print_stats,
    .metrics = replay_metrics,
    .exit_status = replay_exit_status,
};
