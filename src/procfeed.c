#include "procfeed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/tables.h"
#include "enrich/proctable.h"
#ifdef AR_HAVE_BPF
#include "sources/tracepoint/procfeed_bpf.h"
#endif

/* Drained on this timer besides the wake-up after a quarter of it was sent and the sync before
 * each record: it only bounds how long changes wait when no records come. */
#define DRAIN_MS 100

enum way { WAY_BPF, WAY_AUDIT };

struct ar_procfeed {
    enum way way;
    struct ar_proctab *tab;
#ifdef AR_HAVE_BPF
    struct ar_pf_bpf *bpf;
#endif
    uv_timer_t timer;
    uv_poll_t poll;
    bool started, stopped;
    uint64_t lost_seen;
    char rules[1024];
};

#ifdef AR_HAVE_BPF
static void on_change(const struct ar_pf_event *ev, void *userdata)
{
    struct ar_procfeed *f = userdata;
    struct ar_span comm = {ev->comm, strlen(ev->comm)};
    switch (ev->change) {
    case AR_PF_CHANGE_FORK:
        ar_proctab_fork(f->tab, ev->pid, ev->ppid, ev->time_ms, comm);
        break;
    case AR_PF_CHANGE_EXEC:
        ar_proctab_exec(f->tab, ev->pid, ev->ppid, ev->time_ms,
                        (struct ar_span){ev->exe, ev->exe_len}, ev->exe_truncated, comm);
        break;
    case AR_PF_CHANGE_EXIT:
        ar_proctab_exit(f->tab, ev->pid, ev->time_ms);
        break;
    }
}
#endif

/* "-a always,exit -F arch=b64 -S clone,... -k KEY" for each arch the machine has
 * a syscall table for, with the thread-making clones excluded first. */
static void build_rules(char *out, size_t cap)
{
    static const char *const names[] = {"clone", "clone3", "fork", "vfork",
                                        "execve", "execveat", "exit_group"};
    static const char *const arches[] = {"b64", "b32"};
    size_t n = 0;
    out[0] = 0;
    for (size_t a = 0; a < 2; a++) {
        uint32_t arch;
        if (!ar_arch_from_name((struct ar_span){arches[a], 3}, &arch))
            continue;
        char list[200] = "";
        size_t len = 0;
        bool clone = false;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (ar_syscall_number(arch, (struct ar_span){names[i], strlen(names[i])}) < 0)
                continue;
            clone |= strcmp(names[i], "clone") == 0;
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? "," : "",
                                    names[i]);
        }
        if (!len || (a == 1 && arch == ar_arch_native()))
            continue; /* no table, or b32 is the native arch (no compat) */
        /* clone's flags are its first argument on the arches audit knows (and
         * CLONE_THREAD is 0x10000): a new thread is not a new process. */
        if (clone)
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0,
                                  "-a never,exit -F arch=%s -S clone -F a0&0x10000 -k %s\n",
                                  arches[a], AR_PROCESS_FEED_KEY);
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0,
                              "-a always,exit -F arch=%s -S %s -k %s\n", arches[a], list,
                              AR_PROCESS_FEED_KEY);
    }
}

int ar_procfeed_open(const struct ar_collector_config *cfg, bool audit_source,
                     bool have_table, struct ar_procfeed **ret)
{
    *ret = NULL;
    enum ar_process_feed_choice want = cfg->process_feed;
    if (want == AR_PROCESS_FEED_NONE)
        return 0;
    if (!have_table) {
        if (want != AR_PROCESS_FEED_AUTO)
            fprintf(stderr, "auditrelay: --process-feed: the process table is off (the "
                            "format writes no process object): no feed\n");
        return 0;
    }
    struct ar_procfeed *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    char why[300] = "BPF support was not built in (-Dbpf=disabled)";
    int r = -ENOSYS;
    if (want != AR_PROCESS_FEED_AUDIT) {
#ifdef AR_HAVE_BPF
        r = ar_pf_bpf_open((uint32_t)getpid(), 0, on_change, f, why, sizeof(why), &f->bpf);
#endif
        if (r == 0) {
            f->way = WAY_BPF;
            fprintf(stderr, "auditrelay: process feed: BPF (sched_process_fork, exec, exit)\n");
            *ret = f;
            return 0;
        }
        if (want == AR_PROCESS_FEED_BPF) {
            fprintf(stderr, "auditrelay: --process-feed bpf: %s\n", why);
            free(f);
            return r;
        }
    }
    if (!audit_source || !cfg->install_rules || cfg->keep_rules) {
        /* --keep-rules would leave them loaded with nobody to read their events. */
        const char *no = !audit_source         ? "the source is not audit's"
                         : !cfg->install_rules ? "--no-rules"
                                               : "--keep-rules";
        if (want == AR_PROCESS_FEED_AUDIT) {
            fprintf(stderr, "auditrelay: --process-feed audit: %s\n", no);
            free(f);
            return -EINVAL;
        }
        fprintf(stderr, "auditrelay: process feed: none (BPF: %s; audit rules: %s)\n", why, no);
        free(f);
        return 0;
    }
    f->way = WAY_AUDIT;
    build_rules(f->rules, sizeof(f->rules));
    if (want == AR_PROCESS_FEED_AUDIT)
        fprintf(stderr, "auditrelay: process feed: audit rules of its own (key %s)\n",
                AR_PROCESS_FEED_KEY);
    else
        fprintf(stderr, "auditrelay: process feed: audit rules of its own (key %s): BPF: %s\n",
                AR_PROCESS_FEED_KEY, why);
    *ret = f;
    return 0;
}

void ar_procfeed_attach(struct ar_procfeed *f, struct ar_proctab *tab)
{
    if (f)
        f->tab = tab;
}

const char *ar_procfeed_rules(const struct ar_procfeed *f)
{
    return f && f->way == WAY_AUDIT ? f->rules : NULL;
}

const char *ar_procfeed_key(const struct ar_procfeed *f)
{
    return f && f->way == WAY_AUDIT ? AR_PROCESS_FEED_KEY : NULL;
}

void ar_procfeed_no_audit(struct ar_procfeed *f)
{
    if (f && f->way == WAY_AUDIT) {
        fprintf(stderr, "auditrelay: process feed: none (its audit rules need an audit "
                        "source)\n");
        f->rules[0] = 0;
    }
}

static void drain(struct ar_procfeed *f)
{
#ifdef AR_HAVE_BPF
    if (!f->bpf || !f->tab)
        return;
    ar_pf_bpf_consume(f->bpf);
#endif
}

/* Lost changes are counted (stats, metrics) and said when the timer sees them. */
static void check_lost(struct ar_procfeed *f)
{
#ifdef AR_HAVE_BPF
    if (!f->bpf || !f->tab)
        return;
    uint64_t lost = ar_pf_bpf_lost(f->bpf);
    if (lost > f->lost_seen) {
        fprintf(stderr, "auditrelay: process feed: %llu changes lost (its ring was full): "
                        "their processes' events may lack parents\n",
                (unsigned long long)(lost - f->lost_seen));
        ar_proctab_feed_lost(f->tab, lost - f->lost_seen);
        f->lost_seen = lost;
    }
#endif
}

#ifdef AR_HAVE_BPF
static void on_timer(uv_timer_t *t)
{
    struct ar_procfeed *f = t->data;
    drain(f);
    check_lost(f);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    drain(p->data);
}
#endif

int ar_procfeed_start(struct ar_procfeed *f, uv_loop_t *loop)
{
#ifdef AR_HAVE_BPF
    if (!f || !f->bpf)
        return 0;
    int r = uv_poll_init(loop, &f->poll, ar_pf_bpf_fd(f->bpf));
    if (r < 0)
        return r;
    uv_timer_init(loop, &f->timer);
    f->poll.data = f->timer.data = f;
    f->started = true;
    uv_poll_start(&f->poll, UV_READABLE, on_readable);
    uv_timer_start(&f->timer, on_timer, DRAIN_MS, DRAIN_MS);
#else
    (void)f;
    (void)loop;
#endif
    return 0;
}

void ar_procfeed_sync(struct ar_procfeed *f)
{
    if (f)
        drain(f);
}

void ar_procfeed_stop(struct ar_procfeed *f)
{
    if (!f || f->stopped)
        return;
    f->stopped = true;
    drain(f);
    check_lost(f);
    if (f->started) {
        uv_poll_stop(&f->poll);
        uv_close((uv_handle_t *)&f->poll, NULL);
        uv_close((uv_handle_t *)&f->timer, NULL);
    }
#ifdef AR_HAVE_BPF
    ar_pf_bpf_close(f->bpf);
    f->bpf = NULL;
#endif
}

void ar_procfeed_free(struct ar_procfeed *f)
{
    if (!f)
        return;
#ifdef AR_HAVE_BPF
    ar_pf_bpf_close(f->bpf);
#endif
    free(f);
}

bool ar_procfeed_uses_bpf(const struct ar_procfeed *f)
{
    return f && f->way == WAY_BPF;
}

void ar_procfeed_print_stats(const struct ar_procfeed *f, FILE *out)
{
    if (!f || !f->tab || f->way != WAY_BPF)
        return;
    const struct ar_proctab_stats *st = ar_proctab_stats(f->tab);
    fprintf(out, "auditrelay: process feed (BPF): %llu forks, %llu execs, %llu exits, "
                     "%llu lost (ring full)\n",
                (unsigned long long)st->fed_forks, (unsigned long long)st->fed_execs,
                (unsigned long long)st->fed_exits, (unsigned long long)st->feed_lost);
}
