/* `auditrelay status`: the kernel's audit status (AUDIT_GET, read only, the lines of
 * `auditctl -s`) and, when a collector runs with metrics on, its counters, read from
 * its metrics page. The collector is found through the file it writes
 * (AR_METRICS_RUN_FILE: pid=N listen=ADDR:PORT) or named with --metrics. */
#include "status.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "metrics/listen.h"
#include "metrics/metrics.h"
#include "rules/kernel.h"

enum { EXIT_OK = 0, EXIT_ERRORS = 1, EXIT_USAGE = 2 };

#define PAGE_MAX (8u << 20)
#define TIMEOUT_S 3

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: auditrelay status [--metrics [ADDR:]PORT]\n"
            "\n"
            "Prints the kernel's audit status (as auditctl -s does; needs CAP_AUDIT_CONTROL)\n"
            "and, when a collector runs with --metrics, its counters. The collector is found\n"
            "through %s (written by a collector with metrics on)\n"
            "unless --metrics names its address. Changes nothing.\n"
            "\n"
            "Exit status: 0 success, 1 the kernel's status or a named collector could not\n"
            "be read, 2 usage.\n",
            AR_METRICS_RUN_FILE);
}

/* The lines of `auditctl -s`, from the same two requests. */
static int print_kernel(void)
{
    struct ar_rules_nl *nl;
    int r = ar_rules_nl_open(&nl);
    struct audit_status st;
    if (r == 0) {
        r = ar_rules_nl_get_status(nl, &st);
        if (r < 0)
            ar_rules_nl_close(nl);
    }
    if (r < 0) {
        fprintf(stderr, "auditrelay status: cannot read the kernel's audit status: %s%s\n",
                strerror(-r),
                r == -EPROTONOSUPPORT ? " (this kernel has no audit support)"
                : r == -EPERM || r == -EACCES ? " (CAP_AUDIT_CONTROL is needed: run as root)"
                                              : "");
        return r;
    }
    /* As auditctl prints them; a kernel whose reply is shorter (before 5.9: no
     * backlog_wait_time_actual) leaves the missing fields 0. */
    printf("enabled %u\nfailure %u\npid %u\nrate_limit %u\nbacklog_limit %u\nlost %u\n"
           "backlog %u\nbacklog_wait_time %u\nbacklog_wait_time_actual %u\n",
           st.enabled, st.failure, st.pid, st.rate_limit, st.backlog_limit, st.lost, st.backlog,
           st.backlog_wait_time, st.backlog_wait_time_actual);
    struct audit_features f;
    if (ar_rules_nl_get_features(nl, &f) == 0) {
        uint32_t bit = AUDIT_FEATURE_TO_MASK(AUDIT_FEATURE_LOGINUID_IMMUTABLE);
        printf("loginuid_immutable %u %s\n", (f.features & bit) ? 1 : 0,
               (f.lock & bit) ? "locked" : "unlocked");
    }
    ar_rules_nl_close(nl);
    return 0;
}

/* The collector's address from its run file. Returns 0 with *ret and *ret_pid,
 * -ENOENT (no collector with metrics), -ESRCH (its process is gone: a stale file),
 * or -EINVAL (unreadable file). */
static int find_collector(const char *path, struct ar_metrics_listen *ret, int *ret_pid)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    int pid;
    char addr[128], err[256];
    int n = fscanf(f, "pid=%d listen=%127s", &pid, addr);
    fclose(f);
    if (n != 2 || pid <= 0 || ar_metrics_parse_listen(addr, ret, err, sizeof(err)) < 0)
        return -EINVAL;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return -ESRCH;
    *ret_pid = pid;
    return 0;
}

/* GET /metrics from our own listener (libmicrohttpd answers HTTP/1.0 with the whole
 * page and closes). Returns the body (malloc'ed, NUL-terminated) or NULL with
 * errno set. */
static char *fetch_page(const struct ar_metrics_listen *where)
{
    int fd = socket(where->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    struct timeval tv = {.tv_sec = TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: auditrelay\r\n\r\n";
    char *buf = NULL;
    size_t len = 0;
    int err = 0;
    if (connect(fd, (const struct sockaddr *)&where->addr, where->addrlen) < 0 ||
        send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
        err = errno;
        goto out;
    }
    if (!(buf = malloc(PAGE_MAX + 1))) {
        err = ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = recv(fd, buf + len, PAGE_MAX - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == PAGE_MAX) {
            err = EFBIG;
            goto out;
        }
    }
    buf[len] = 0;
    /* "HTTP/1.x 200 ..." then the headers, a blank line and the page. */
    char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) != 0 || len < 12 || strncmp(buf + 8, " 200", 4) != 0 ||
        !body) {
        err = EPROTO;
        goto out;
    }
    body += 4;
    memmove(buf, body, len - (size_t)(body - buf) + 1);
out:
    close(fd);
    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }
    return buf;
}

static int print_collector(const struct ar_metrics_listen *given)
{
    struct ar_metrics_listen where;
    int pid = 0;
    char addr[128];
    const char *run_file = ar_metrics_run_file();
    if (given) {
        where = *given;
    } else {
        int r = find_collector(run_file, &where, &pid);
        if (r == -ENOENT) {
            printf("\nno collector with metrics is running (no %s)\n", run_file);
            return 0;
        }
        if (r == -ESRCH) {
            printf("\nno collector with metrics is running (%s is stale)\n", run_file);
            return 0;
        }
        if (r < 0) {
            fprintf(stderr, "auditrelay status: cannot read %s\n", run_file);
            return r;
        }
    }
    ar_metrics_listen_format((const struct sockaddr *)&where.addr, addr, sizeof(addr));
    char *page = fetch_page(&where);
    if (!page) {
        int e = errno;
        fprintf(stderr, "auditrelay status: cannot read the collector's metrics at "
                        "http://%s/metrics: %s\n", addr, strerror(e));
        return -e;
    }
    if (pid)
        printf("\ncollector pid %d, metrics at http://%s/metrics:\n", pid, addr);
    else
        printf("\ncollector metrics at http://%s/metrics:\n", addr);
    /* The samples, without the HELP and TYPE lines. */
    for (char *line = page, *next; *line; line = next) {
        next = strchr(line, '\n');
        next = next ? next + 1 : line + strlen(line);
        if (line[0] != '#' && line[0] != '\n')
            fwrite(line, 1, (size_t)(next - line), stdout);
    }
    free(page);
    return 0;
}

int ar_status_cli(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"metrics", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct ar_metrics_listen given;
    bool have_given = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': {
            char err[256];
            if (ar_metrics_parse_listen(optarg, &given, err, sizeof(err)) < 0) {
                fprintf(stderr, "auditrelay status: --metrics wants [ADDR:]PORT: %s\n", err);
                return EXIT_USAGE;
            }
            have_given = true;
            break;
        }
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "auditrelay status: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    int kr = print_kernel();
    fflush(stdout);
    int cr = print_collector(have_given ? &given : NULL);
    fflush(stdout);
    return kr < 0 || cr < 0 ? EXIT_ERRORS : EXIT_OK;
}
