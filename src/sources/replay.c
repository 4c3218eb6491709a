#include "sources/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "sources/goaudit_input.h"
#include "sources/source.h"

#define READ_CHUNK (1u << 20)
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
    char *buf;
    size_t cap, len;
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

/* Feeds the complete lines in the buffer (and the last one at EOF) and keeps the
 * partial rest. Returns 0 or a sink error. */
static int feed_lines(struct replay *rp, size_t scan_from, bool eof)
{
    char *start = rp->buf, *end = rp->buf + rp->len;
    char *nl = memchr(rp->buf + scan_from, '\n', rp->len - scan_from);
    while (nl || (eof && start < end)) {
        char *line_end = nl ? nl : end;
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
            else if (r < 0)
                return r;
        }
        start = nl ? nl + 1 : end;
        nl = start < end ? memchr(start, '\n', (size_t)(end - start)) : NULL;
    }
    rp->len = (size_t)(end - start);
    memmove(rp->buf, start, rp->len);
    return 0;
}

/* One read of the current input. */
static void read_some(struct replay *rp)
{
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
        fprintf(stderr, "auditrelay: error reading %s: %s\n", rp->name, strerror(errno));
        rp->input_errors++;
        close_file(rp);
        open_next(rp);
        return;
    }
    rp->bytes += (uint64_t)n;
    rp->pg.done += (uint64_t)n;
    size_t scan_from = rp->len;
    rp->len += (size_t)n;
    int r = feed_lines(rp, scan_from, n == 0);
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
