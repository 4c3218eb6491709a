/* --seccomp's filter (src/syscall_filter.c), built by the collector's own code:
 * its exported text (seccomp_export_pfc) allows what every source and output calls
 * and leaves out what only start-up or an attacker would (execve, ptrace, mount,
 * setuid, module loads); loaded in a child with a second thread, every thread shows
 * "Seccomp: 2", allowed calls work, and a call outside the list made on the other
 * thread kills the whole process with SIGSYS. No root needed (no_new_privs). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscall_filter.h"

static int failures;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                 \
            fputc('\n', stderr);                          \
            failures++;                                   \
        }                                                 \
    } while (0)

/* The filter's text for `needs`, in a malloc'd string. */
static char *exported(const struct ar_seccomp_needs *needs)
{
    FILE *f = tmpfile();
    if (!f || ar_seccomp_export(needs, f) < 0)
        return NULL;
    long n = ftell(f) > 0 ? ftell(f) : lseek(fileno(f), 0, SEEK_END);
    char *s = calloc(1, (size_t)n + 1);
    if (pread(fileno(f), s, (size_t)n, 0) != n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static bool allows(const char *pfc, const char *name)
{
    char want[96];
    snprintf(want, sizeof(want), "syscall \"%s\"", name);
    return strstr(pfc, want) != NULL;
}

static void check_exported(void)
{
    struct ar_seccomp_needs audit = {0}, tracepoint = {.tracepoint = true};
    char *a = exported(&audit), *t = exported(&tracepoint);
    CHECK(a && t, "export failed");
    if (!a || !t)
        return;
    CHECK(strstr(a, "action KILL_PROCESS") || strstr(a, "KILL_PROCESS"),
          "the default action is not KILL_PROCESS:\n%.400s", a);
    /* netlink batches, the outputs' sockets and files, rotation, threads, signals */
    static const char *const needed[] = {"recvmmsg", "sendto", "recvmsg", "connect",
                                         "openat", "renameat", "unlinkat", "fsync",
                                         "epoll_wait", "futex", "clone3", "rt_sigreturn",
                                         "accept4", "getrandom", "exit_group", "kill"};
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
        CHECK(allows(a, needed[i]), "%s not allowed", needed[i]);
    static const char *const refused[] = {"execve", "execveat", "mount", "umount2",
                                          "setuid", "setresuid", "capset", "init_module",
                                          "finit_module", "kexec_load", "chroot",
                                          "pivot_root", "unshare", "setns", "keyctl"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        CHECK(!allows(a, refused[i]) && !allows(t, refused[i]), "%s allowed", refused[i]);
    /* The tracepoint source's calls only with it. */
    CHECK(!allows(a, "bpf") && allows(t, "bpf"), "bpf: audit %d tracepoint %d",
          allows(a, "bpf"), allows(t, "bpf"));
    CHECK(!allows(a, "perf_event_open") && allows(t, "perf_event_open"), "perf_event_open");
    free(a);
    free(t);
}

static int go[2];

static void *second_thread(void *arg)
{
    char c;
    if (read(go[0], &c, 1) != 1)
        return NULL;
    /* Outside the list, on a thread that existed before the filter: the process dies. */
    syscall(SYS_chroot, "/");
    return NULL;
}

static int seccomp_mode(pid_t tid)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
    FILE *f = fopen(path, "r");
    int mode = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Seccomp: %d", &mode) == 1)
            break;
    if (f)
        fclose(f);
    return mode;
}

/* In a child: the filter on both threads, allowed calls pass, chroot kills. */
static void check_loaded(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t th;
        if (pipe(go) < 0 || pthread_create(&th, NULL, second_thread, NULL) != 0)
            _exit(2);
        char why[256];
        struct ar_seccomp_needs needs = {0};
        if (ar_seccomp_install(&needs, why, sizeof(why)) < 0) {
            fprintf(stderr, "install: %s\n", why);
            _exit(3);
        }
        /* Every task: ours and the second thread (TSYNC). */
        int n = 0, on = 0;
        DIR *d = opendir("/proc/self/task");
        for (struct dirent *e; d && (e = readdir(d));)
            if (e->d_name[0] != '.') {
                n++;
                on += seccomp_mode((pid_t)atoi(e->d_name)) == 2;
            }
        if (d)
            closedir(d);
        if (n < 2 || on != n) {
            fprintf(stderr, "Seccomp: 2 on %d of %d threads\n", on, n);
            _exit(4);
        }
        printf("filter on %d threads; allowed calls work (pid %d)\n", n, (int)getpid());
        fflush(stdout);
        if (write(go[1], "x", 1) != 1)
            _exit(5);
        pthread_join(th, NULL);
        _exit(0); /* not reached: chroot killed us */
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
          "the child was not killed by SIGSYS (status %#x: %s %d)", st,
          WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

int main(void)
{
    check_exported();
    check_loaded();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
