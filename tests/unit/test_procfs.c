/* The live collector's /proc lookup (pipeline/procfs.c) on real processes: this
 * test and a child in its own cgroup-less life; a pid that is gone. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pipeline/procfs.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(void)
{
    uint64_t before = now_ms();
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    CHECK(child > 0);
    usleep(50 * 1000);
    struct ar_proc_observed o;
    CHECK(ar_procfs_lookup((uint32_t)child, &o, NULL) == 0);
    CHECK(o.ppid == (uint32_t)getpid());
    char self_exe[AR_PROC_EXE_MAX];
    ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    self_exe[n > 0 ? n : 0] = '\0';
    CHECK_STR(o.exe, self_exe);
    CHECK_STR(o.comm, "test_procfs");
    /* its start: after "before" (less the tick and boot-time rounding), not later
     * than now */
    printf("child %d: started %lld ms after the fork was asked for; cgroup unit '%.*s', "
           "runtime %u\n", (int)child, (long long)o.start_ms - (long long)before,
           o.cgroup.unit_len, o.cgroup.unit, o.cgroup.runtime);
    CHECK(o.start_ms + AR_PROC_START_SLACK_MS >= before && o.start_ms <= now_ms());
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    CHECK(ar_procfs_lookup((uint32_t)child, &o, NULL) == -ESRCH);
    /* pid 1: no parent, started long ago */
    CHECK(ar_procfs_lookup(1, &o, NULL) == 0 && o.ppid == 0 && o.start_ms < before);
    return check_done();
}
