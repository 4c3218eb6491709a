/* exec: runs a program (an auditd plugin: laurel, audisp-remote, sedispatch...) with
 * the lines on its stdin, as auditd's dispatcher does: the program is started on
 * connect, a program that died (EPIPE, or found gone) is a broken connection, so the
 * output keeps the batch, restarts the program with backoff and spools meanwhile.
 * What sat unread in the pipe or half-processed in the plugin died with it: the new
 * program first gets the last RECENT bytes written again, from the first whole event
 * (duplicates instead of loss), then the batch from where the dead one stopped. At
 * the end our side of the pipe is closed and the program is given time to finish,
 * then SIGTERM, then SIGKILL. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "outputs/output.h"
#include "outputs/recent.h"

extern char **environ;

#define MAX_ARGS 64
/* What a dead plugin may have taken with it: its pipe (64 KiB) and the events it
 * held unfinished. */
#define RECENT (256u << 10)

struct exec_transport {
    char cmd[1024];        /* the words, NUL-separated */
    char *argv[MAX_ARGS + 1];
    pid_t pid;             /* 0: not running */
    int fd;                /* the pipe's write end, -1 when closed */
    char error[256];
    /* Where a batch cut short (-EAGAIN, or the program died) goes on: the output
     * sends the same batch again. */
    const char *batch;
    size_t batch_len, batch_done;
    /* The last RECENT bytes written, and what of them a new program gets first
     * (from the first whole event; how much of it is written). */
    struct ar_recent ring;
    bool started;          /* a program ran before: a new one gets the resend */
    struct ar_buf resend, resend_meta;
    size_t resend_done;
};

static int exec_create(const char *target, const char *options, char *err, size_t errlen,
                       void **ret)
{
    if (*options) {
        snprintf(err, errlen, "output exec: takes no options (exec:PROGRAM ARGS...)");
        return -EINVAL;
    }
    struct exec_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->fd = -1;
    ar_recent_init(&t->ring, RECENT);
    snprintf(t->cmd, sizeof(t->cmd), "%s", target);
    /* Words split at spaces, no shell: what runs is exactly what was named. */
    size_t n = 0;
    for (char *p = t->cmd; *p;) {
        while (*p == ' ')
            *p++ = 0;
        if (!*p)
            break;
        if (n == MAX_ARGS) {
            snprintf(err, errlen, "output exec: more than %d words", MAX_ARGS);
            free(t);
            return -EINVAL;
        }
        t->argv[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    if (n == 0 || t->argv[0][0] != '/' || access(t->argv[0], X_OK) != 0) {
        snprintf(err, errlen, "output exec: wants the absolute path of an executable "
                              "program (exec:/usr/sbin/laurel -c /etc/laurel/config.toml)");
        free(t);
        return -EINVAL;
    }
    *ret = t;
    return 0;
}

/* Reaps the program if it has exited; true when it is gone. */
static bool reaped(struct exec_transport *t, bool wait_for_it)
{
    if (t->pid <= 0)
        return true;
    int status;
    pid_t r = waitpid(t->pid, &status, wait_for_it ? 0 : WNOHANG);
    if (r == t->pid || (r < 0 && errno == ECHILD)) {
        if (r == t->pid && WIFSIGNALED(status))
            snprintf(t->error, sizeof(t->error), "program %s was killed by signal %d",
                     t->argv[0], WTERMSIG(status));
        else if (r == t->pid)
            snprintf(t->error, sizeof(t->error), "program %s exited with status %d",
                     t->argv[0], WEXITSTATUS(status));
        t->pid = 0;
        return true;
    }
    return false;
}

/* What the dead program may have lost goes to the new one first: the ring from its
 * first whole event (a tail of an event would be reported by laurel as an event of
 * its own; that event is the oldest of the RECENT bytes, long processed). */
static void prepare_resend(struct exec_transport *t)
{
    t->resend.len = t->resend_meta.len = t->resend_done = 0;
    ar_recent_copy(&t->ring, &t->resend, &t->resend_meta);
}

/* Writes [p + *done, p + len) to the program, advancing *done (and remembering
 * what went when `keep` is the batch). 0 when all went, -EPIPE when the program is
 * gone, -EAGAIN after a second without progress (the output's turn: its deadline). */
static int write_some(struct exec_transport *t, const char *p, size_t len, size_t *done,
                      const struct ar_lines *keep)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (*done < len) {
        ssize_t n = write(t->fd, p + *done, len - *done);
        if (n > 0) {
            if (keep)
                ar_recent_add(&t->ring, keep, *done, *done + (size_t)n);
            *done += (size_t)n;
            clock_gettime(CLOCK_MONOTONIC, &start);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN) {
            int r = -errno;
            reaped(t, false);
            return r; /* EPIPE: the program is gone */
        }
        /* The pipe is full: the program is slow, hung or dead. */
        if (reaped(t, false))
            return -EPIPE;
        struct pollfd pfd = {.fd = t->fd, .events = POLLOUT};
        poll(&pfd, 1, 200);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 1)
            return -EAGAIN;
    }
    return 0;
}

static int exec_connect(void *vt)
{
    struct exec_transport *t = vt;
    t->error[0] = 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* stdin is the pipe; stdout is not ours to share (it may be an output of its
     * own): /dev/null, as auditd gives its plugins; stderr stays ours. */
    posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    /* Nothing else of ours: descriptors inherited without close-on-exec (from
     * whoever started us) stay out of the plugin, as auditd's plugins get only
     * stdin, stdout and stderr. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigfillset(&dflt);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSID);
    pid_t pid;
    int r = posix_spawn(&pid, t->argv[0], &fa, &attr, t->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[0]);
    if (r != 0) {
        close(p[1]);
        snprintf(t->error, sizeof(t->error), "cannot run %s: %s", t->argv[0], strerror(r));
        return -r;
    }
    t->pid = pid;
    t->fd = p[1];
    fcntl(t->fd, F_SETFL, O_NONBLOCK);
    if (t->started)
        prepare_resend(t);
    t->started = true;
    return 0;
}

static int exec_send(void *vt, const struct ar_lines *b, uint64_t *dropped)
{
    struct exec_transport *t = vt;
    const char *lines = b->p;
    size_t len = b->len;
    if (t->fd < 0)
        return -EPIPE;
    int r = write_some(t, t->resend.p, t->resend.len, &t->resend_done, NULL);
    if (r < 0)
        return r;
    if (t->batch != lines || t->batch_len != len) {
        t->batch = lines;
        t->batch_len = len;
        t->batch_done = 0;
    }
    r = write_some(t, lines, len, &t->batch_done, b);
    if (r == 0)
        t->batch = NULL;
    return r;
}

/* Ends our side and lets the program finish what it read (timeout_ms), as auditd
 * does at shutdown; then SIGTERM, then SIGKILL. 0 when it exited by itself. */
static int stop_program(struct exec_transport *t, int timeout_ms)
{
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    for (int waited = 0; t->pid > 0 && waited < timeout_ms; waited += 10) {
        if (reaped(t, false))
            return 0;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (reaped(t, false))
        return 0;
    kill(t->pid, SIGTERM);
    for (int waited = 0; waited < 2000; waited += 10) {
        if (reaped(t, false))
            return -ETIMEDOUT;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(t->pid, SIGKILL);
    reaped(t, true);
    return -ETIMEDOUT;
}

static int exec_finish(void *vt, int timeout_ms)
{
    return stop_program(vt, timeout_ms);
}

static void exec_disconnect(void *vt)
{
    struct exec_transport *t = vt;
    /* A program that is still there after a failed write is stuck or broken: it is
     * replaced, not waited for long. */
    stop_program(t, 500);
}

static void exec_destroy(void *vt)
{
    struct exec_transport *t = vt;
    stop_program(t, 5000);
    ar_recent_free(&t->ring);
    ar_buf_free(&t->resend);
    ar_buf_free(&t->resend_meta);
    free(t);
}

static const char *exec_error(void *vt)
{
    struct exec_transport *t = vt;
    return t->error[0] ? t->error : NULL;
}

/* A plugin is started (again) after the collector dropped what it does not need,
 * and as root it gets no more than our bounding set: keep what auditd's plugins
 * use (under --user a plugin runs as that user without capabilities). laurel changes to its own user (setuid, setgid, chown of its directory) and
 * keeps dac_read_search and sys_ptrace to read /proc; others write where root
 * writes (dac_override, fowner). */
static uint64_t exec_capabilities(void *vt)
{
    (void)vt;
    return (1ull << CAP_SETUID) | (1ull << CAP_SETGID) | (1ull << CAP_CHOWN) |
           (1ull << CAP_FOWNER) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_DAC_READ_SEARCH) |
           (1ull << CAP_SYS_PTRACE);
}

const struct ar_transport_ops ar_transport_exec = {
    .scheme = "exec", .create = exec_create, .connect = exec_connect, .send = exec_send,
    .finish = exec_finish, .disconnect = exec_disconnect, .destroy = exec_destroy,
    .error = exec_error, .capabilities = exec_capabilities,
    .capabilities_for_children = true, .spools = true, .wants_eoe = true,
    /* The transport resends what a dead program may have lost itself (with the
     * batch it was in the middle of): the output's own 16 MiB resend is not used. */
    .acknowledged = true,
};
