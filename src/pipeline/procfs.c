#include "pipeline/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enrich/cgroup.h"
#include "util/file.h"

static uint64_t ts_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "pid (comm) state ppid pgrp ... starttime(22) ...": comm may hold spaces and
 * parentheses, so the fields after it are counted from its last ')'. */
static int parse_stat(char *text, struct ar_proc_observed *ret, uint64_t *ticks)
{
    char *open_paren = strchr(text, '(');
    char *close_paren = strrchr(text, ')');
    if (!open_paren || !close_paren || close_paren < open_paren)
        return -EINVAL;
    size_t clen = (size_t)(close_paren - open_paren - 1);
    if (clen > AR_PROC_COMM_MAX)
        clen = AR_PROC_COMM_MAX;
    memcpy(ret->comm, open_paren + 1, clen);
    ret->comm[clen] = '\0';
    /* field 3 (state) is the first after ")"; ppid is 4, starttime 22 */
    char *p = close_paren + 1, *save = NULL;
    unsigned long long ppid = 0, start = 0;
    int field = 3;
    for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
        if (field == 4)
            ppid = strtoull(tok, NULL, 10);
        else if (field == 22) {
            start = strtoull(tok, NULL, 10);
            break;
        }
    }
    if (field != 22 || ppid > UINT32_MAX)
        return -EINVAL;
    ret->ppid = (uint32_t)ppid;
    *ticks = start;
    return 0;
}

int ar_procfs_lookup(uint32_t pid, struct ar_proc_observed *ret, void *ctx)
{
    const char *root = ctx ? ctx : "/proc";
    char path[256], buf[4096];
    memset(ret, 0, sizeof(*ret));
    snprintf(path, sizeof(path), "%s/%u/stat", root, pid);
    ssize_t n = ar_read_small_file(path, buf, sizeof(buf));
    if (n < 0)
        return n == -ENOENT ? -ESRCH : (int)n;
    uint64_t ticks;
    if (parse_stat(buf, ret, &ticks) < 0)
        return -EINVAL;
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t boot_ms = ts_ms(CLOCK_REALTIME) - ts_ms(CLOCK_BOOTTIME);
    ret->start_ms = boot_ms + ticks * 1000 / (uint64_t)(hz > 0 ? hz : 100);

    snprintf(path, sizeof(path), "%s/%u/exe", root, pid);
    ssize_t len = readlink(path, ret->exe, sizeof(ret->exe) - 1);
    ret->exe[len > 0 ? len : 0] = '\0';

    snprintf(path, sizeof(path), "%s/%u/cgroup", root, pid);
    n = ar_read_small_file(path, buf, sizeof(buf));
    if (n == -ENOENT)
        return -ESRCH; /* gone while we read it */
    if (n > 0)
        ar_cgroup_parse_file(buf, (size_t)n, &ret->cgroup);
    return 0;
}
