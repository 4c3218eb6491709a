#include "util/regex.h"
#include "enrich/proctable.h"

#include <errno.h>
#include <linux/audit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/decode.h"
#include "audit/tables.h"
#include "enrich/normalize.h"
#include "parse/tokenize.h"

#define NONE UINT32_MAX
#define EXECVE_FIELDS 256
#define ARGV_BYTES 4096        /* argv joined with spaces for argv rules (laurel's default) */
#define SCRIPT_ARGS 8          /* arguments looked at for an interpreter's script */
#define CLONE_THREAD_FLAG 0x00010000u

enum entry_flags {
    F_START = 1u << 0,         /* start_ms known (we saw the fork) */
    F_EXITED = 1u << 1,
    F_INDEXED = 1u << 2,       /* the pid index points here */
    F_FROM_PROC = 1u << 3,
    F_EXE_TRUNC = 1u << 5,
    F_SCRIPT_TRUNC = 1u << 6,
    F_REFERENCED = 1u << 7,    /* used since the sweep last passed */
    F_FED = 1u << 8,           /* made by the lifecycle feed (ar_proctab_fork/exec) */
    F_FED_EXEC = 1u << 9,      /* ... by its exec: the image an exec record names */
};

/* Audit stamps records with the coarse wall clock (taken at syscall entry, up to a
 * tick behind); the lifecycle feed's times are exact. A record is taken to
 * belong to an image that began up to this much after its stamp. */
#define FEED_SLACK_MS 10

struct entry {
    uint32_t pid, ppid;
    uint32_t gen;              /* bumped when the slot is reused; 0: never used */
    uint32_t parent_idx, parent_gen;
    uint32_t hash_next;
    uint64_t start_ms;
    uint64_t labels;
    uint64_t image_ms;         /* when this image began (fork, exec, first record) */
    uint32_t prev_idx, prev_gen; /* the pid's entry before this one (older image) */
    uint16_t flags;
    uint16_t exe_len, script_len;
    uint8_t comm_len;
    uint8_t tty_len;
    uint32_t ses;
    char tty[AR_PROC_TTY_MAX];
    struct ar_cgroup_ctx cg;   /* live only: learned from /proc, inherited by children */
    char exe[AR_PROC_EXE_MAX];
    char script[AR_PROC_EXE_MAX];
    char comm[AR_PROC_COMM_MAX];
};

enum want { WANT_NOTHING, WANT_ARGV, WANT_PROCTITLE };

struct pending {
    uint32_t serial, node_hash;
    uint32_t idx, gen;
    uint64_t labels;
    uint8_t used, want;
};

enum rule_kind { RULE_KEY, RULE_EXE, RULE_ARGV, RULE_SCRIPT };

struct label_rule {
    char *name;
    enum rule_kind kind;
    char *key;                 /* RULE_KEY: the key itself */
    struct ar_regex *re;       /* RULE_EXE, RULE_ARGV, RULE_SCRIPT */
    uint64_t bit;              /* rules with one name share a bit */
};

/* What one event says about its program's arguments (EXECVE records, or PROCTITLE
 * for a pid first seen) and its cwd, gathered while its records come and finished by
 * a record of another kind or event, or by its completion. Records of an event may
 * come before its SYSCALL record (a reordered log): then the state waits for it. */
struct argv_state {
    bool active;
    uint32_t serial, node_hash;
    uint32_t pslot;            /* pending slot of the event; NONE before its SYSCALL */
    uint8_t want;              /* the pending slot's */
    uint16_t cwd_len;
    bool have_cwd;
    char cwd[AR_PROC_EXE_MAX];
    size_t len;
    bool full;
    uint32_t nargs;
    uint32_t arg_off[SCRIPT_ARGS], arg_len[SCRIPT_ARGS];
    char buf[ARGV_BYTES + 1];
};

struct ar_proctab {
    struct ar_proctab_config cfg;
    struct ar_proctab_stats stats;
    struct entry *entries;
    uint32_t size, nused;
    uint32_t *buckets;
    uint32_t bucket_mask;
    uint32_t clock_hand;        /* next slot the eviction sweep looks at */
    uint32_t lookup_budget;     /* /proc lookups left for the record being fed */
    struct pending *pending;
    uint32_t pending_mask, npending;
    struct label_rule rules[AR_PROC_MAX_LABELS];
    size_t nrules;
    const char *label_names[AR_PROC_MAX_LABELS + 1];
    bool has_kind[4];
    struct ar_regex_state *re_state; /* when a rule has a regex */
    struct argv_state argv;
    struct ar_field fields[EXECVE_FIELDS];
    unsigned char scratch[ARGV_BYTES];
    uint8_t kind_cache[1024];  /* enum sys_kind + 1 by syscall number; 0: not yet */
    bool fed;                  /* a lifecycle feed calls ar_proctab_fork/exec/exit */
};

void ar_proctab_config_default(struct ar_proctab_config *ret)
{
    *ret = (struct ar_proctab_config){.size = 8192, .depth = 4, .max_pending = 8192};
}

/* ---- label rules ---- */

static int parse_rule(const char *rule, struct label_rule *ret, char *err, size_t errlen)
{
    const char *c1 = strchr(rule, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || c1 == rule || !c2[1]) {
        snprintf(err, errlen, "wants NAME:key|exe|argv|script:PATTERN, got '%s'", rule);
        return -EINVAL;
    }
    for (const char *p = rule; p < c1; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.')) {
            snprintf(err, errlen, "'%s': a label name is letters, digits, '_', '-' and '.'",
                     rule);
            return -EINVAL;
        }
    }
    struct ar_span kind = {c1 + 1, (size_t)(c2 - c1 - 1)};
    enum rule_kind k;
    if (AR_SPAN_IS(kind, "key"))
        k = RULE_KEY;
    else if (AR_SPAN_IS(kind, "exe"))
        k = RULE_EXE;
    else if (AR_SPAN_IS(kind, "argv"))
        k = RULE_ARGV;
    else if (AR_SPAN_IS(kind, "script"))
        k = RULE_SCRIPT;
    else {
        snprintf(err, errlen, "'%s': matches on key, exe, argv or script, not '%.*s'",
                 rule, (int)kind.len, kind.p);
        return -EINVAL;
    }
    const char *pattern = c2 + 1;
    *ret = (struct label_rule){.kind = k};
    if (k != RULE_KEY) {
        char why[200];
        ret->re = ar_regex_compile(pattern, strlen(pattern), why, sizeof(why));
        if (!ret->re) {
            snprintf(err, errlen, "'%s': bad regular expression: %s", rule, why);
            return -EINVAL;
        }
    }
    ret->name = strndup(rule, (size_t)(c1 - rule));
    ret->key = k == RULE_KEY ? strdup(pattern) : NULL;
    if (!ret->name || (k == RULE_KEY && !ret->key)) {
        free(ret->name);
        free(ret->key);
        ar_regex_free(ret->re);
        return -ENOMEM;
    }
    return 0;
}

static void free_rule(struct label_rule *r)
{
    free(r->name);
    free(r->key);
    ar_regex_free(r->re);
}

int ar_proctab_label_check(const char *rule, char *errbuf, size_t errlen)
{
    struct label_rule r;
    int rc = parse_rule(rule, &r, errbuf, errlen);
    if (rc == 0)
        free_rule(&r);
    return rc;
}

const char *ar_proctab_label_name(const struct ar_proctab *t, size_t i)
{
    return i < AR_PROC_MAX_LABELS ? t->label_names[i] : NULL;
}

/* Matches the rules of one kind against text (bytes; cut at a NUL, as a C string). */
static uint64_t match_rules(struct ar_proctab *t, enum rule_kind kind, const char *p, size_t len)
{
    if (!t->has_kind[kind])
        return 0;
    if (len > ARGV_BYTES)
        len = ARGV_BYTES;
    size_t n = strnlen(p, len);
    uint64_t bits = 0;
    for (size_t i = 0; i < t->nrules; i++) {
        const struct label_rule *r = &t->rules[i];
        if (r->kind != kind)
            continue;
        bool hit = kind == RULE_KEY ? n == len && strlen(r->key) == n && memcmp(r->key, p, n) == 0
                                    : ar_regex_search(r->re, t->re_state, p, n);
        if (hit)
            bits |= r->bit;
    }
    return bits;
}

/* ---- entries: pid index and LRU ---- */

static uint32_t bucket_of(const struct ar_proctab *t, uint32_t pid)
{
    return (pid * 0x9E3779B1u) & t->bucket_mask;
}

static uint32_t find_pid(const struct ar_proctab *t, uint32_t pid)
{
    for (uint32_t i = t->buckets[bucket_of(t, pid)]; i != NONE; i = t->entries[i].hash_next)
        if (t->entries[i].pid == pid)
            return i;
    return NONE;
}

static void unindex(struct ar_proctab *t, uint32_t idx)
{
    struct entry *e = &t->entries[idx];
    if (!(e->flags & F_INDEXED))
        return;
    uint32_t *link = &t->buckets[bucket_of(t, e->pid)];
    while (*link != idx)
        link = &t->entries[*link].hash_next;
    *link = e->hash_next;
    e->flags &= (uint16_t)~F_INDEXED;
}

static bool valid(const struct ar_proctab *t, uint32_t idx, uint32_t gen);

/* Makes idx the entry for its pid (a former one is another process now). A new
 * process marks its ancestors used: the chain of a live process is what its events
 * report. */
static void index_entry(struct ar_proctab *t, uint32_t idx)
{
    uint32_t anc = t->entries[idx].parent_idx, anc_gen = t->entries[idx].parent_gen;
    for (uint32_t d = 0; d < t->cfg.depth && valid(t, anc, anc_gen); d++) {
        t->entries[anc].flags |= F_REFERENCED;
        anc_gen = t->entries[anc].parent_gen;
        anc = t->entries[anc].parent_idx;
    }
    struct entry *e = &t->entries[idx];
    uint32_t old = find_pid(t, e->pid);
    if (old != NONE && old != idx && t->fed &&
        t->entries[old].image_ms > e->image_ms + FEED_SLACK_MS) {
        /* Made from a record of a time the feed has passed: behind the pid's
         * entries that began later; the newest stays the pid's. */
        uint32_t at = old;
        for (int d = 0; d < 64; d++) {
            const struct entry *a = &t->entries[at];
            if (!valid(t, a->prev_idx, a->prev_gen) || t->entries[a->prev_idx].pid != e->pid ||
                t->entries[a->prev_idx].image_ms <= e->image_ms + FEED_SLACK_MS)
                break;
            at = a->prev_idx;
        }
        e->prev_idx = t->entries[at].prev_idx;
        e->prev_gen = t->entries[at].prev_gen;
        t->entries[at].prev_idx = idx;
        t->entries[at].prev_gen = e->gen;
        return;
    }
    if (old != NONE) {
        unindex(t, old);
        if (old != idx) {
            e->prev_idx = old;
            e->prev_gen = t->entries[old].gen;
        }
    }
    uint32_t *head = &t->buckets[bucket_of(t, e->pid)];
    e->hash_next = *head;
    *head = idx;
    e->flags |= F_INDEXED;
}

/* Eviction is CLOCK, an approximation of least recently used that costs a bit
 * set per use instead of list surgery on three entries: the sweep takes the first
 * entry not used since it last passed, clearing the bits on its way. */
static void touch(struct ar_proctab *t, uint32_t idx)
{
    t->entries[idx].flags |= F_REFERENCED;
}

static bool valid(const struct ar_proctab *t, uint32_t idx, uint32_t gen)
{
    return idx < t->nused && gen != 0 && t->entries[idx].gen == gen;
}

/* calloc, with a write to each page now. A page of calloc's that is read first maps
 * the shared zero page, and the write after it costs a copy-on-write fault with a
 * TLB flush on every CPU the pipeline's threads run on (replaying the bench log:
 * 250 flushes from the pending table alone, whose lookups read a slot before
 * anything is put there, and serials walk the whole table). A plain memset would
 * not do: the compiler turns malloc and memset into calloc. */
static void *calloc_written(size_t n, size_t size)
{
    volatile char *p = calloc(n, size);
    for (size_t off = 0; p && off < n * size; off += 4096)
        p[off] = 0;
    return (void *)p;
}

/* A fresh entry, the least recently used one reused when all are taken. */
static uint32_t new_entry(struct ar_proctab *t, uint32_t pid, uint32_t ppid)
{
    uint32_t idx;
    uint32_t gen = 1;
    if (t->nused < t->size) {
        /* Never used: its generation is not read, so that the first touch of the
         * entry's page is a write (see calloc_written). */
        idx = t->nused++;
        t->stats.entries++;
    } else {
        for (;;) {
            idx = t->clock_hand;
            t->clock_hand = idx + 1 == t->size ? 0 : idx + 1;
            if (!(t->entries[idx].flags & F_REFERENCED))
                break;
            t->entries[idx].flags &= (uint16_t)~F_REFERENCED;
        }
        unindex(t, idx);
        t->stats.evicted++;
        gen = t->entries[idx].gen + 1;
    }
    struct entry *e = &t->entries[idx];
    /* The text arrays are not cleared: their lengths say what is valid. */
    e->pid = pid;
    e->ppid = ppid;
    e->gen = gen ? gen : 1;
    e->parent_idx = NONE;
    e->parent_gen = 0;
    e->prev_idx = NONE;
    e->prev_gen = 0;
    e->image_ms = 0;
    e->hash_next = NONE;
    e->start_ms = 0;
    e->labels = 0;
    e->flags = 0;
    e->exe_len = e->script_len = 0;
    e->comm_len = 0;
    e->ses = AR_PROC_SES_UNSET;
    e->tty_len = 0;
    e->cg.runtime = 0;
    e->cg.id_len = e->cg.pod_len = e->cg.unit_len = 0;
    /* Not marked used: it sits just behind the hand, the last the sweep reaches. */
    t->stats.created++;
    return idx;
}

static void set_text(struct ar_proctab *t, char *dst, uint16_t *dst_len, struct ar_span s,
                     struct entry *e, uint16_t trunc_flag)
{
    size_t n = s.len;
    if (n > AR_PROC_EXE_MAX) {
        n = AR_PROC_EXE_MAX;
        e->flags |= trunc_flag;
        t->stats.truncated++;
    } else {
        e->flags &= (uint16_t)~trunc_flag;
    }
    if (n)
        memcpy(dst, s.p, n);
    *dst_len = (uint16_t)n;
}

static void set_comm(struct entry *e, struct ar_span s)
{
    size_t n = s.len > AR_PROC_COMM_MAX ? AR_PROC_COMM_MAX : s.len;
    if (n)
        memcpy(e->comm, s.p, n);
    e->comm_len = (uint8_t)n;
}

static void copy_image(struct entry *dst, const struct entry *src)
{
    memcpy(dst->exe, src->exe, src->exe_len);
    dst->exe_len = src->exe_len;
    memcpy(dst->comm, src->comm, src->comm_len);
    dst->comm_len = src->comm_len;
    dst->flags |= src->flags & F_EXE_TRUNC;
}

/* What a process passes on to its children and new images: session, tty,
 * container and unit. */
static void inherit_context(struct entry *dst, const struct entry *src)
{
    dst->ses = src->ses;
    dst->tty_len = src->tty_len;
    memcpy(dst->tty, src->tty, src->tty_len);
    dst->cg = src->cg;
}

/* Asks the live lookup about pid (within the record's budget). False when there is
 * no lookup, no such process, or /proc shows a process started after the event at
 * now_ms: the pid was reused, and what /proc says is about another process. */
static bool observe(struct ar_proctab *t, uint32_t pid, uint64_t now_ms,
                    struct ar_proc_observed *obs)
{
    if (!t->cfg.lookup || pid == 0 || t->lookup_budget == 0)
        return false;
    t->lookup_budget--;
    t->stats.proc_lookups++;
    memset(obs, 0, sizeof(*obs));
    if (t->cfg.lookup(pid, obs, t->cfg.lookup_ctx) < 0) {
        t->stats.proc_unknown++;
        return false;
    }
    if (obs->start_ms > now_ms + AR_PROC_START_SLACK_MS) {
        t->stats.proc_reused++;
        return false;
    }
    obs->exe[sizeof(obs->exe) - 1] = '\0';
    obs->comm[sizeof(obs->comm) - 1] = '\0';
    return true;
}

/* Takes the start, container and unit /proc gave for an entry's process. */
static void take_observed(struct entry *e, const struct ar_proc_observed *obs)
{
    if (obs->start_ms) {
        e->start_ms = obs->start_ms;
        e->flags |= F_START | F_FROM_PROC;
    }
    e->cg = obs->cgroup;
}

/* The entry for a parent pid, asking the live lookup when the table has none (and,
 * within the record's budget, for its ancestors the table has not either). */
static uint32_t parent_entry(struct ar_proctab *t, uint32_t ppid, uint64_t now_ms)
{
    uint32_t idx = find_pid(t, ppid);
    struct ar_proc_observed obs;
    if (idx != NONE || !observe(t, ppid, now_ms, &obs))
        return idx;
    uint32_t grand = obs.ppid != ppid ? parent_entry(t, obs.ppid, now_ms) : NONE;
    uint32_t grand_gen = grand != NONE ? t->entries[grand].gen : 0;
    idx = new_entry(t, ppid, obs.ppid);
    struct entry *e = &t->entries[idx];
    e->flags |= F_FROM_PROC;
    struct ar_span exe = {obs.exe, strlen(obs.exe)};
    set_text(t, e->exe, &e->exe_len, exe, e, F_EXE_TRUNC);
    set_comm(e, (struct ar_span){obs.comm, strlen(obs.comm)});
    take_observed(e, &obs);
    if (grand != NONE && valid(t, grand, grand_gen)) {
        e->parent_idx = grand;
        e->parent_gen = t->entries[grand].gen;
        e->labels = t->entries[grand].labels;
    }
    e->labels |= match_rules(t, RULE_EXE, exe.p, exe.len);
    index_entry(t, idx);
    return idx;
}

/* ---- events in flight ---- */

static uint32_t node_hash(struct ar_span node)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < node.len; i++)
        h = (h ^ (unsigned char)node.p[i]) * 16777619u;
    return node.len ? h : 0;
}

/* Serials count up: consecutive events take neighbouring slots. */
static uint32_t pending_home(const struct ar_proctab *t, uint32_t serial, uint32_t nh)
{
    return (serial ^ nh) & t->pending_mask;
}

static uint32_t pending_find(const struct ar_proctab *t, uint32_t serial, uint32_t nh)
{
    for (uint32_t i = pending_home(t, serial, nh);; i = (i + 1) & t->pending_mask) {
        const struct pending *p = &t->pending[i];
        if (!p->used)
            return NONE;
        if (p->serial == serial && p->node_hash == nh)
            return i;
    }
}

static uint32_t pending_put(struct ar_proctab *t, uint32_t serial, uint32_t nh)
{
    uint32_t i = pending_find(t, serial, nh);
    if (i != NONE)
        return i;
    if (t->npending >= t->cfg.max_pending) {
        t->stats.pending_full++;
        return NONE;
    }
    for (i = pending_home(t, serial, nh); t->pending[i].used;
         i = (i + 1) & t->pending_mask)
        ;
    t->pending[i] = (struct pending){.serial = serial, .node_hash = nh, .used = 1};
    t->npending++;
    return i;
}

/* Linear probing's deletion: later slots of the run move back into the hole. */
static void pending_remove(struct ar_proctab *t, uint32_t i)
{
    t->pending[i].used = 0;
    t->npending--;
    for (uint32_t j = (i + 1) & t->pending_mask; t->pending[j].used; j = (j + 1) & t->pending_mask) {
        const struct pending *p = &t->pending[j];
        uint32_t home = pending_home(t, p->serial, p->node_hash);
        /* Move p into the hole when its home is not within (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        t->pending[i] = *p;
        t->pending[j].used = 0;
        i = j;
    }
}

/* ---- scripts ---- */

enum interp { I_NONE, I_SHELL, I_PYTHON, I_NODE, I_OTHER };

/* Which interpreter exe is (by its base name), I_NONE for a program. */
static enum interp interpreter(struct ar_span exe)
{
    static const struct {
        const char *p;
        size_t len;
        enum interp kind;
    } names[] = {
        {"sh", 2, I_SHELL},     {"bash", 4, I_SHELL},   {"dash", 4, I_SHELL},
        {"zsh", 3, I_SHELL},    {"ksh", 3, I_SHELL},    {"mksh", 4, I_SHELL},
        {"ash", 3, I_SHELL},    {"csh", 3, I_SHELL},    {"tcsh", 4, I_SHELL},
        {"fish", 4, I_SHELL},   {"python", 6, I_PYTHON}, {"pypy", 4, I_PYTHON},
        {"perl", 4, I_OTHER},   {"ruby", 4, I_OTHER},   {"node", 4, I_NODE},
        {"nodejs", 6, I_NODE},  {"php", 3, I_OTHER},    {"lua", 3, I_OTHER},
        {"luajit", 6, I_OTHER}, {"tclsh", 5, I_OTHER},  {"wish", 4, I_OTHER},
        {"Rscript", 7, I_OTHER}, {"expect", 6, I_OTHER}, {"pwsh", 4, I_OTHER},
    };
    const char *slash = memrchr(exe.p, '/', exe.len);
    struct ar_span base = slash ? ar_span_make(slash + 1, exe.p + exe.len) : exe;
    /* python3.11, perl5.36.0, tclsh8.6, ksh93: the name before its version */
    while (base.len && ((base.p[base.len - 1] >= '0' && base.p[base.len - 1] <= '9') ||
                        base.p[base.len - 1] == '.'))
        base.len--;
    if (base.len < 2 || base.len > 7)
        return I_NONE;
    for (size_t i = 0; i < AR_ARRAY_SIZE(names); i++)
        if (base.len == names[i].len && memcmp(base.p, names[i].p, base.len) == 0)
            return names[i].kind;
    return I_NONE;
}

/* Options whose argument is the next word (python3 -W ignore x.py): both are
 * skipped on the way to the script. */
static bool option_with_argument(enum interp kind, struct ar_span a)
{
    switch (kind) {
    case I_PYTHON:
        return AR_SPAN_IS(a, "-W") || AR_SPAN_IS(a, "-X") ||
               AR_SPAN_IS(a, "--check-hash-based-pycs");
    case I_SHELL:
        return AR_SPAN_IS(a, "-o") || AR_SPAN_IS(a, "+o") || AR_SPAN_IS(a, "-O") ||
               AR_SPAN_IS(a, "+O") || AR_SPAN_IS(a, "--rcfile") || AR_SPAN_IS(a, "--init-file");
    case I_NODE:
        return AR_SPAN_IS(a, "-r") || AR_SPAN_IS(a, "--require") || AR_SPAN_IS(a, "--import") ||
               AR_SPAN_IS(a, "--loader") || AR_SPAN_IS(a, "--experimental-loader");
    default:
        return false;
    }
}

/* Options that give the program text inline (or name a module, or stdin): no
 * script. A shell's -e is errexit, perl's and ruby's is code. */
static bool inline_code_option(enum interp kind, struct ar_span a)
{
    if (AR_SPAN_IS(a, "-c") || AR_SPAN_IS(a, "-"))
        return true;
    switch (kind) {
    case I_SHELL:
        return AR_SPAN_IS(a, "-s");
    case I_PYTHON:
        return AR_SPAN_IS(a, "-m");
    case I_NODE:
        return AR_SPAN_IS(a, "-e") || AR_SPAN_IS(a, "--eval") || AR_SPAN_IS(a, "-p") ||
               AR_SPAN_IS(a, "--print");
    default:
        return AR_SPAN_IS(a, "-e") || AR_SPAN_IS(a, "-E") || AR_SPAN_IS(a, "-m") ||
               AR_SPAN_IS(a, "-r") || AR_SPAN_IS(a, "--eval") || AR_SPAN_IS(a, "--command") ||
               AR_SPAN_IS(a, "-Command");
    }
}

/* Joins a relative path with dir and drops ".", ".." and empty components, without
 * resolving symlinks (as laurel does): the summary's path resolution. Returns the
 * length, or -1 when it did not fit in cap bytes. */
static long normalize_path(struct ar_span dir, struct ar_span path, char *out, size_t cap)
{
    size_t n = ar_path_resolve(dir.p, dir.len, path.p, path.len, out, cap);
    return n ? (long)n : -1;
}

/* ---- records ---- */

static struct ar_span arg_span(const struct argv_state *a, uint32_t i)
{
    return (struct ar_span){a->buf + a->arg_off[i], a->arg_len[i]};
}

static void finish_argv(struct ar_proctab *t)
{
    struct argv_state *a = &t->argv;
    if (!a->active)
        return;
    a->active = false;
    if (a->pslot == NONE)
        return; /* no SYSCALL record came for it */
    struct pending *p = &t->pending[a->pslot];
    if (!p->used || p->serial != a->serial || p->node_hash != a->node_hash ||
        !valid(t, p->idx, p->gen))
        return;
    struct entry *e = &t->entries[p->idx];
    uint64_t add = match_rules(t, RULE_ARGV, a->buf, a->len);
    enum interp kind = interpreter((struct ar_span){e->exe, e->exe_len});
    if (kind != I_NONE) {
        for (uint32_t i = 1; i < a->nargs; i++) {
            struct ar_span s = arg_span(a, i);
            if (inline_code_option(kind, s))
                break;
            if (AR_SPAN_IS(s, "--"))
                continue;
            if (option_with_argument(kind, s)) {
                i++;
                continue;
            }
            if (s.len && s.p[0] == '-')
                continue;
            if (s.len == 0)
                break;
            /* Relative to the cwd (a script without one stays as written). */
            struct ar_span dir = a->have_cwd ? (struct ar_span){a->cwd, a->cwd_len}
                                             : (struct ar_span){"/", 1};
            char norm[AR_PROC_EXE_MAX];
            long n = -1;
            if (s.p[0] == '/' || a->have_cwd)
                n = normalize_path(dir, s, norm, sizeof(norm));
            if (n >= 0)
                set_text(t, e->script, &e->script_len, (struct ar_span){norm, (size_t)n}, e,
                         F_SCRIPT_TRUNC);
            else
                set_text(t, e->script, &e->script_len, s, e, F_SCRIPT_TRUNC);
            if (n < 0 && (s.p[0] == '/' || a->have_cwd)) {
                e->flags |= F_SCRIPT_TRUNC;
                t->stats.truncated++;
            }
            add |= match_rules(t, RULE_SCRIPT, e->script, e->script_len);
            break;
        }
    }
    e->labels |= add;
    p->labels |= add;
}

static void argv_append(struct argv_state *a, const char *p, size_t len)
{
    if (a->full)
        return;
    if (a->nargs < SCRIPT_ARGS) {
        a->arg_off[a->nargs] = (uint32_t)(a->len + (a->len ? 1 : 0));
        a->arg_len[a->nargs] = 0;
    }
    if (a->len) {
        if (a->len + 1 > ARGV_BYTES) {
            a->full = true;
            return;
        }
        a->buf[a->len++] = ' ';
    }
    size_t room = ARGV_BYTES - a->len;
    if (len > room) {
        len = room;
        a->full = true;
    }
    memcpy(a->buf + a->len, p, len);
    a->len += len;
    if (a->nargs < SCRIPT_ARGS)
        a->arg_len[a->nargs] = (uint32_t)len;
    a->nargs++;
}

static void start_argv(struct ar_proctab *t, uint32_t serial, uint32_t nh, uint32_t pslot,
                       uint8_t want)
{
    struct argv_state *a = &t->argv;
    a->active = true;
    a->serial = serial;
    a->node_hash = nh;
    a->pslot = pslot;
    a->want = want;
    a->have_cwd = false;
    a->cwd_len = 0;
    a->len = 0;
    a->full = false;
    a->nargs = 0;
}

/* A value as bytes: quoted as is, unquoted hex decoded (into scratch). */
static struct ar_span value_bytes(struct ar_proctab *t, const struct ar_field *f)
{
    if (f->kind == AR_VAL_PLAIN && f->value.len / 2 <= sizeof(t->scratch) &&
        ar_is_hex_string(f->value)) {
        int n = ar_hex_decode(f->value, t->scratch);
        if (n >= 0)
            return (struct ar_span){(const char *)t->scratch, (size_t)n};
    }
    return f->value;
}

static void on_execve(struct ar_proctab *t, const struct ar_record *rec)
{
    struct argv_state *a = &t->argv;
    struct ar_tokens tok = {.fields = t->fields, .cap = EXECVE_FIELDS};
    ar_tokenize(rec->body.p, rec->body.p + rec->body.len, &tok);
    for (size_t i = 0; i < tok.n && !a->full; i++) {
        const struct ar_field *f = &t->fields[i];
        /* aN only: argc, aN_len and the pieces aN[k] of a long argument are skipped */
        if (f->key.len < 2 || f->key.p[0] != 'a')
            continue;
        uint64_t n;
        if (!ar_span_to_u64((struct ar_span){f->key.p + 1, f->key.len - 1}, &n))
            continue;
        struct ar_span v = value_bytes(t, f);
        argv_append(a, v.p, v.len);
    }
}

static void on_proctitle(struct ar_proctab *t, const struct ar_record *rec)
{
    struct argv_state *a = &t->argv;
    struct ar_field f[4];
    struct ar_tokens tok = {.fields = f, .cap = 4};
    ar_tokenize(rec->body.p, rec->body.p + rec->body.len, &tok);
    for (size_t i = 0; i < tok.n; i++) {
        if (!AR_SPAN_IS(f[i].key, "proctitle"))
            continue;
        struct ar_span v = value_bytes(t, &f[i]);
        const char *p = v.p, *end = v.p + v.len;
        while (p < end) {
            const char *z = memchr(p, '\0', (size_t)(end - p));
            if (!z)
                z = end;
            argv_append(a, p, (size_t)(z - p));
            p = z + 1;
        }
    }
    finish_argv(t);
}

static void on_cwd(struct ar_proctab *t, const struct ar_record *rec)
{
    struct ar_field f[4];
    struct ar_tokens tok = {.fields = f, .cap = 4};
    ar_tokenize(rec->body.p, rec->body.p + rec->body.len, &tok);
    for (size_t i = 0; i < tok.n; i++) {
        if (!AR_SPAN_IS(f[i].key, "cwd") || f[i].depth != 0)
            continue;
        struct ar_span cwd = value_bytes(t, &f[i]);
        if (cwd.len > sizeof(t->argv.cwd))
            break; /* a script relative to it could not be kept anyway */
        memcpy(t->argv.cwd, cwd.p, cwd.len);
        t->argv.cwd_len = (uint16_t)cwd.len;
        t->argv.have_cwd = true;
        break;
    }
}

static uint64_t key_labels(struct ar_proctab *t, const struct ar_field *key)
{
    if (!key || key->kind == AR_VAL_NULL || !t->has_kind[RULE_KEY])
        return 0;
    /* Several keys are hex with 0x01 between them. */
    struct ar_span v = value_bytes(t, key);
    uint64_t bits = 0;
    const char *p = v.p, *end = v.p + v.len;
    while (p <= end) {
        const char *z = memchr(p, 0x01, (size_t)(end - p));
        if (!z)
            z = end;
        bits |= match_rules(t, RULE_KEY, p, (size_t)(z - p));
        p = z + 1;
    }
    return bits;
}

/* The record's ses= and tty=: "4294967295" (or "unset") and "(none)" are none. */
static void set_session(struct entry *e, struct ar_span ses, struct ar_span tty)
{
    uint64_t v;
    if (ses.len)
        e->ses = ar_span_to_u64(ses, &v) && v < UINT32_MAX ? (uint32_t)v : AR_PROC_SES_UNSET;
    if (tty.len) {
        bool none = AR_SPAN_IS(tty, "(none)") || tty.len > sizeof(e->tty);
        e->tty_len = none ? 0 : (uint8_t)tty.len;
        if (!none)
            memcpy(e->tty, tty.p, tty.len);
    }
}

static void set_parent(struct ar_proctab *t, struct entry *e, uint32_t parent)
{
    if (parent == NONE)
        return;
    e->parent_idx = parent;
    e->parent_gen = t->entries[parent].gen;
}

/* A SYSCALL record is flat key=value text whose values are plain, "quoted" or
 * hex: a lighter scan than the general tokenizer, as it runs for every SYSCALL
 * record on the loop thread. Returns false at the end. */
static bool next_flat_field(const char **pp, const char *end, struct ar_field *f)
{
    const char *p = *pp;
    while (p < end && *p == ' ')
        p++;
    if (p >= end)
        return false;
    const char *k = p;
    while (p < end && *p != '=' && *p != ' ')
        p++;
    *f = (struct ar_field){.key = ar_span_make(k, p), .kind = AR_VAL_BARE};
    if (p < end && *p == '=') {
        p++;
        if (p < end && *p == '"') {
            const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
            if (!q)
                q = end;
            f->value = ar_span_make(p + 1, q);
            f->kind = AR_VAL_QUOTED;
            p = q < end ? q + 1 : end;
        } else {
            const char *q = memchr(p, ' ', (size_t)(end - p));
            if (!q)
                q = end;
            f->value = ar_span_make(p, q);
            f->kind = AR_SPAN_IS(f->value, "(null)") ? AR_VAL_NULL : AR_VAL_PLAIN;
            p = q;
        }
    }
    *pp = p;
    return true;
}


enum sys_kind { SYS_OTHER, SYS_EXEC, SYS_FORK, SYS_CLONE, SYS_EXIT };

static enum sys_kind classify(uint32_t arch, uint32_t nr)
{
    const char *n = ar_syscall_name(arch, nr);
    if (!n)
        return SYS_OTHER;
    switch (n[0]) {
    case 'e':
        if (strcmp(n, "execve") == 0 || strcmp(n, "execveat") == 0)
            return SYS_EXEC;
        if (strcmp(n, "exit") == 0 || strcmp(n, "exit_group") == 0)
            return SYS_EXIT;
        return SYS_OTHER;
    case 'c':
        return strcmp(n, "clone") == 0 ? SYS_CLONE : strcmp(n, "clone3") == 0 ? SYS_FORK : SYS_OTHER;
    case 'f':
        return strcmp(n, "fork") == 0 ? SYS_FORK : SYS_OTHER;
    case 'v':
        return strcmp(n, "vfork") == 0 ? SYS_FORK : SYS_OTHER;
    default:
        return SYS_OTHER;
    }
}

/* The native arch's answers, by number: classify looks names up. */
static enum sys_kind classify_cached(struct ar_proctab *t, uint32_t arch, uint32_t nr)
{
    if (arch != ar_arch_native() || nr >= AR_ARRAY_SIZE(t->kind_cache))
        return classify(arch, nr);
    if (!t->kind_cache[nr])
        t->kind_cache[nr] = (uint8_t)(classify(arch, nr) + 1);
    return (enum sys_kind)(t->kind_cache[nr] - 1);
}

/* A cursor over a SYSCALL record in the kernel's order, read once, byte by byte:
 * this runs for every SYSCALL record on the loop thread, where the general
 * tokenizer's per-field work showed in the replay benchmark. */
struct cursor {
    const char *p, *end;
};

/* At "name=": steps past it. */
static inline __attribute__((always_inline)) bool cur_key(struct cursor *c, const char *name, size_t len)
{
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, name, len) != 0)
        return false;
    c->p += len;
    return true;
}

/* Steps past a plain value and the space after it. */
static inline __attribute__((always_inline)) void cur_skip(struct cursor *c)
{
    while (c->p < c->end && *c->p != ' ')
        c->p++;
    if (c->p < c->end)
        c->p++;
}

/* Skips fields up to the one called name: its first letter found with memchr
 * (vectorized), then checked to start a field. */
static inline __attribute__((always_inline)) bool cur_find(struct cursor *c, const char *name, size_t len)
{
    const char *start = c->p;
    const char *p = c->p;
    while ((p = memchr(p, name[0], (size_t)(c->end - p))) != NULL) {
        if ((p == start || p[-1] == ' ') && (size_t)(c->end - p) >= len &&
            memcmp(p, name, len) == 0) {
            c->p = p + len;
            return true;
        }
        p++;
    }
    return false;
}

static inline __attribute__((always_inline)) bool cur_dec(struct cursor *c, uint64_t *ret)
{
    const char *s = c->p, *end = c->end - c->p > 19 ? c->p + 19 : c->end;
    uint64_t v = 0;
    while (c->p < end && (unsigned)(*c->p - '0') < 10)
        v = v * 10 + (uint64_t)(*c->p++ - '0');
    if (c->p == s)
        return false;
    if (c->p < c->end) {
        if (*c->p != ' ')
            return false;
        c->p++;
    }
    *ret = v;
    return true;
}

static inline __attribute__((always_inline)) bool cur_hex(struct cursor *c, uint64_t *ret)
{
    const char *s = c->p;
    uint64_t v = 0;
    for (; c->p < c->end && *c->p != ' ' && c->p - s < 16; c->p++) {
        char ch = *c->p;
        unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                     : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                     : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                              : 16u;
        if (d == 16)
            return false;
        v = v << 4 | d;
    }
    if (c->p == s || (c->p < c->end && *c->p != ' '))
        return false;
    *ret = v;
    cur_skip(c);
    return true;
}

/* A value as a field: "quoted", (null) or plain (maybe hex). */
static inline __attribute__((always_inline)) void cur_value(struct cursor *c, struct ar_field *f)
{
    *f = (struct ar_field){0};
    if (c->p < c->end && *c->p == '"') {
        const char *q = memchr(c->p + 1, '"', (size_t)(c->end - c->p - 1));
        if (!q)
            q = c->end;
        f->value = ar_span_make(c->p + 1, q);
        f->kind = AR_VAL_QUOTED;
        c->p = q < c->end ? q + 1 : c->end;
        if (c->p < c->end)
            c->p++;
        return;
    }
    const char *s = c->p;
    cur_skip(c);
    const char *e = c->p > s && c->p[-1] == ' ' ? c->p - 1 : c->p;
    f->value = ar_span_make(s, e);
    f->kind = AR_SPAN_IS(f->value, "(null)") ? AR_VAL_NULL : AR_VAL_PLAIN;
}

/* The fields the table wants from a SYSCALL record. */
struct syscall_fields {
    enum sys_kind kind;
    uint64_t arch, nr, a0, ppid, pid;
    int64_t exitv;
    bool success, have_exit;
    struct ar_field tty, ses, comm, exe, key;
};

/* The kernel writes a SYSCALL record's fields in one order (audit_log_exit):
 * arch syscall success exit a0..a3 items ppid pid ... comm exe [subj] key. Any
 * other layout (old kernels, hand-made logs) takes the general scan. Quoted values
 * hold no space (the kernel hex-encodes those). */
static bool scan_kernel_order(struct ar_proctab *t, struct ar_span body,
                              struct syscall_fields *ret)
{
    struct cursor c = {body.p, body.p + body.len};
    if ((size_t)(c.end - c.p) > 14 && memcmp(c.p, "arch=c000003e ", 14) == 0) {
        ret->arch = 0xc000003eu; /* the usual one, without parsing */
        c.p += 14;
    } else if (!cur_key(&c, "arch=", 5) || !cur_hex(&c, &ret->arch)) {
        return false;
    }
    if (!cur_key(&c, "syscall=", 8) || !cur_dec(&c, &ret->nr) || ret->nr > UINT32_MAX)
        return false;
    ret->kind = classify_cached(t, (uint32_t)ret->arch, (uint32_t)ret->nr);
    ret->success = ret->have_exit = false;
    ret->exitv = 0;
    ret->a0 = 0;
    if (ret->kind != SYS_OTHER) {
        /* Only these look at the result and the clone flags. */
        struct ar_field success;
        if (!cur_key(&c, "success=", 8))
            return false;
        cur_value(&c, &success);
        ret->success = AR_SPAN_IS(success.value, "yes");
        if (!cur_key(&c, "exit=", 5))
            return false;
        bool neg = c.p < c.end && *c.p == '-';
        c.p += neg;
        uint64_t ev;
        ret->have_exit = cur_dec(&c, &ev) && ev <= INT64_MAX;
        if (!ret->have_exit)
            return false;
        ret->exitv = neg ? -(int64_t)ev : (int64_t)ev;
        if (!cur_key(&c, "a0=", 3) || !cur_hex(&c, &ret->a0))
            return false;
    }
    if (!cur_find(&c, "ppid=", 5) || !cur_dec(&c, &ret->ppid) || !cur_key(&c, "pid=", 4) ||
        !cur_dec(&c, &ret->pid) || ret->pid > UINT32_MAX || ret->ppid > UINT32_MAX)
        return false;
    if (!cur_find(&c, "tty=", 4))
        return false;
    cur_value(&c, &ret->tty);
    if (!cur_key(&c, "ses=", 4))
        return false;
    cur_value(&c, &ret->ses);
    if (!cur_key(&c, "comm=", 5))
        return false;
    cur_value(&c, &ret->comm);
    if (!cur_key(&c, "exe=", 4))
        return false;
    cur_value(&c, &ret->exe);
    if (!cur_find(&c, "key=", 4))
        return false;
    cur_value(&c, &ret->key);
    return c.p == c.end;
}

/* Whether the entry runs exe (a record's; none: anything does). */
static bool has_exe(const struct entry *c, struct ar_span exe)
{
    return !exe.p || (exe.len == c->exe_len && memcmp(exe.p, c->exe, exe.len) == 0) ||
           ((c->flags & F_EXE_TRUNC) && exe.len >= c->exe_len &&
            memcmp(exe.p, c->exe, c->exe_len) == 0);
}

/* With the lifecycle feed, the table may already know what a pid did after a
 * record (the feed's records come first, see proctable.h): the entry a record of
 * pid stamped at ms names is the newest of the pid's entries that began by then
 * (within the slack) and runs the record's exe, else the newest that began by
 * then; none when all began later (the record's process is one the table has not
 * met: its entry goes behind them, index_entry). */
static uint32_t image_at(const struct ar_proctab *t, uint32_t pid, uint64_t ms,
                         struct ar_span exe)
{
    uint32_t idx = find_pid(t, pid), by_time = NONE;
    uint32_t gen = idx != NONE ? t->entries[idx].gen : 0;
    for (int depth = 0; depth < 64 && valid(t, idx, gen) && t->entries[idx].pid == pid; depth++) {
        const struct entry *e = &t->entries[idx];
        if (e->image_ms <= ms + FEED_SLACK_MS) {
            if (has_exe(e, exe))
                return idx;
            if (by_time == NONE)
                by_time = idx;
        }
        gen = e->prev_gen;
        idx = e->prev_idx;
    }
    return by_time;
}

/* The image a successful execve record of pid stamped at ms made, when the feed
 * has made it already: the oldest fed exec of the pid that began after the
 * record's stamp (within the slack) and runs its exe. The record is stamped when
 * the syscall began, the feed's exec where it happened: on a loaded machine tens
 * of milliseconds later, and image_at would name the image before it. */
static uint32_t fed_exec_image(const struct ar_proctab *t, uint32_t pid, uint64_t ms,
                               struct ar_span exe)
{
    uint32_t idx = find_pid(t, pid), found = NONE;
    uint32_t gen = idx != NONE ? t->entries[idx].gen : 0;
    for (int depth = 0; depth < 64 && valid(t, idx, gen) && t->entries[idx].pid == pid; depth++) {
        const struct entry *e = &t->entries[idx];
        if (e->image_ms + FEED_SLACK_MS < ms)
            break;
        if ((e->flags & F_FED_EXEC) && has_exe(e, exe))
            found = idx;
        gen = e->prev_gen;
        idx = e->prev_idx;
    }
    return found;
}

/* A fork record's child the feed has made already (its fork came after the
 * record's stamp, within the slack). */
static bool fed_child(const struct ar_proctab *t, uint32_t child, uint64_t ms)
{
    if (!t->fed)
        return false;
    uint32_t idx = find_pid(t, child);
    return idx != NONE && (t->entries[idx].flags & (F_FED | F_START)) == (F_FED | F_START) &&
           t->entries[idx].start_ms + FEED_SLACK_MS >= ms;
}

/* Audit logs a fork when it returns in the parent: the child's own records may
 * come first, and a vfork's usually do (its parent wakes at the child's exec).
 * The entries those records made for the child (child of the forking pid, begun
 * at the fork's stamp or later, not made by a fork) are the process this fork
 * made: they take the fork's time, parent and labels, where a new entry of the
 * parent's image would replace the child's exec (its argv and script lost, the
 * next record's process looked up in /proc). Returns how many there were. */
static uint32_t complete_early_child(struct ar_proctab *t, uint32_t child, uint32_t forker,
                                     uint32_t forker_idx, uint64_t ms)
{
    uint32_t idx = find_pid(t, child), n = 0;
    uint32_t gen = idx != NONE ? t->entries[idx].gen : 0;
    for (; n < 64 && valid(t, idx, gen); n++) {
        struct entry *c = &t->entries[idx];
        if (c->pid != child || c->ppid != forker || c->image_ms < ms ||
            (c->flags & (F_START | F_FROM_PROC)) == F_START)
            break; /* an older process with the pid, or one a fork made */
        c->start_ms = ms;
        c->flags = (uint16_t)((c->flags | F_START) & ~F_FROM_PROC);
        set_parent(t, c, forker_idx);
        c->labels |= t->entries[forker_idx].labels;
        gen = c->prev_gen;
        idx = c->prev_idx;
    }
    return n;
}

static void on_syscall(struct ar_proctab *t, const struct ar_record *rec, uint32_t nh)
{
    uint64_t arch = ar_arch_native(), nr = UINT64_MAX, pid = 0, ppid = 0, a0 = 0;
    int64_t exitv = 0;
    bool have_pid = false, success = false, have_exit = false;
    struct ar_span exe = {0}, comm = {0}, tty = {0}, ses = {0};
    struct ar_field key_f, exe_f, field;
    const struct ar_field *key = NULL, *exe_field = NULL;
    const struct ar_field *f = &field;
    const char *cur_p = rec->body.p, *body_end = rec->body.p + rec->body.len;
    struct syscall_fields sf;
    bool scanned = scan_kernel_order(t, rec->body, &sf);
    if (scanned) {
        arch = sf.arch;
        nr = sf.nr;
        success = sf.success;
        have_exit = sf.have_exit;
        exitv = sf.exitv;
        a0 = sf.a0;
        ppid = sf.ppid;
        pid = sf.pid;
        have_pid = true;
        comm = sf.comm.value;
        tty = sf.tty.value;
        ses = sf.ses.value;
        exe_f = sf.exe;
        exe_field = &exe_f;
        key_f = sf.key;
        key = &key_f;
        cur_p = body_end; /* the general scan below has nothing left to do */
    }
    while (next_flat_field(&cur_p, body_end, &field)) {
        struct ar_span k = f->key;
        switch (k.len) {
        case 2:
            if (AR_SPAN_IS(k, "a0"))
                ar_span_hex_to_u64(f->value, &a0);
            break;
        case 3:
            if (AR_SPAN_IS(k, "pid"))
                have_pid = ar_span_to_u64(f->value, &pid);
            else if (AR_SPAN_IS(k, "exe")) {
                exe_f = field;
                exe_field = &exe_f;
            } else if (AR_SPAN_IS(k, "key")) {
                key_f = field;
                key = &key_f;
            } else if (AR_SPAN_IS(k, "tty")) {
                tty = f->value;
            } else if (AR_SPAN_IS(k, "ses")) {
                ses = f->value;
            }
            break;
        case 4:
            if (AR_SPAN_IS(k, "arch"))
                ar_span_hex_to_u64(f->value, &arch);
            else if (AR_SPAN_IS(k, "ppid"))
                ar_span_to_u64(f->value, &ppid);
            else if (AR_SPAN_IS(k, "exit"))
                have_exit = ar_span_to_i64(f->value, &exitv);
            else if (AR_SPAN_IS(k, "comm"))
                comm = f->value;
            break;
        case 7:
            if (AR_SPAN_IS(k, "syscall"))
                ar_span_to_u64(f->value, &nr);
            else if (AR_SPAN_IS(k, "success"))
                success = AR_SPAN_IS(f->value, "yes");
            break;
        }
    }
    if (!have_pid || pid > UINT32_MAX || ppid > UINT32_MAX)
        return;
    /* A hex exe (a path with a space) is decoded into a copy of its own: the
     * scratch buffer serves the key next. */
    char exe_copy[AR_PROC_EXE_MAX + 1];
    if (exe_field && exe_field->kind != AR_VAL_NULL) {
        exe = value_bytes(t, exe_field);
        if (exe.p == (const char *)t->scratch) {
            size_t n = exe.len > sizeof(exe_copy) ? sizeof(exe_copy) : exe.len;
            memcpy(exe_copy, exe.p, n);
            exe = (struct ar_span){exe_copy, n};
        }
    }
    enum sys_kind kind = scanned              ? sf.kind
                         : nr <= UINT32_MAX ? classify_cached(t, (uint32_t)arch, (uint32_t)nr)
                                            : SYS_OTHER;
    uint64_t now_ms = rec->sec * 1000 + rec->msec;
    t->lookup_budget = 1 + t->cfg.depth;

    uint32_t cur = !t->fed                    ? find_pid(t, (uint32_t)pid)
                   : kind == SYS_EXEC && success ? fed_exec_image(t, (uint32_t)pid, now_ms, exe)
                                                 : NONE;
    if (t->fed && cur == NONE)
        cur = image_at(t, (uint32_t)pid, now_ms, exe);
    bool cur_same_exe = false;
    if (cur != NONE) {
        struct entry *c = &t->entries[cur];
        bool same_exe = cur_same_exe = has_exe(c, exe);
        bool same_parent = c->ppid == ppid;
        if (!same_parent) {
            /* Reparented to init or a subreaper once its parent died. */
            bool parent_gone = valid(t, c->parent_idx, c->parent_gen) &&
                               (t->entries[c->parent_idx].flags & F_EXITED);
            if (ppid == 1 || parent_gone) {
                /* The link stays with the process that started it. */
                c->ppid = (uint32_t)ppid;
                same_parent = true;
            }
        }
        if (!same_parent || (!same_exe && kind != SYS_EXEC))
            cur = NONE; /* another process with a reused pid, or an exec we missed */
    }

    uint32_t idx;
    enum want want = WANT_NOTHING;
    if (kind == SYS_EXEC && success && cur != NONE && cur_same_exe &&
        (t->entries[cur].flags & F_FED_EXEC) &&
        t->entries[cur].image_ms + FEED_SLACK_MS >= now_ms) {
        /* The feed made this image already: the record adds its argv. */
        idx = cur;
        if (comm.len)
            set_comm(&t->entries[idx], comm);
        want = WANT_ARGV;
    } else if (kind == SYS_EXEC && success) {
        /* A new image: parent, start and labels carry over from the process. */
        uint32_t parent_idx = NONE, parent_gen = 0, flags = 0;
        uint64_t start = 0, labels = 0;
        struct entry before = {.ses = AR_PROC_SES_UNSET};
        /* Live: its cgroup now (runc and systemd move a process before its exec),
         * and its start when the table did not see its fork. A start later than
         * the entry's is another process on a reused pid (its exit and fork went
         * unseen). */
        struct ar_proc_observed obs;
        bool observed = observe(t, (uint32_t)pid, now_ms, &obs);
        if (observed && cur != NONE && (t->entries[cur].flags & F_START) &&
            obs.start_ms > t->entries[cur].start_ms + AR_PROC_START_SLACK_MS) {
            t->stats.proc_reused++;
            cur = NONE;
        }
        if (cur != NONE) {
            const struct entry *c = &t->entries[cur];
            parent_idx = c->parent_idx;
            parent_gen = c->parent_gen;
            start = c->start_ms;
            flags = c->flags & (F_START | F_FROM_PROC);
            labels = c->labels;
            inherit_context(&before, c);
        }
        uint32_t parent = cur == NONE ? parent_entry(t, (uint32_t)ppid, now_ms) : NONE;
        if (parent != NONE)
            labels |= t->entries[parent].labels;
        idx = new_entry(t, (uint32_t)pid, (uint32_t)ppid);
        struct entry *e = &t->entries[idx];
        if (cur != NONE) {
            e->parent_idx = parent_idx;
            e->parent_gen = parent_gen;
        } else {
            set_parent(t, e, parent);
        }
        e->start_ms = start;
        e->flags |= (uint16_t)flags;
        inherit_context(e, &before);
        if (observed) {
            if (flags & F_START)
                obs.start_ms = 0; /* the fork's time stays */
            take_observed(e, &obs);
        }
        set_text(t, e->exe, &e->exe_len, exe, e, F_EXE_TRUNC);
        set_comm(e, comm);
        e->labels = labels | match_rules(t, RULE_EXE, exe.p, exe.len);
        e->image_ms = now_ms;
        index_entry(t, idx);
        want = WANT_ARGV;
    } else if (cur != NONE) {
        idx = cur;
        if (!exe.p && comm.len) /* comm changes with prctl; exe does not */
            set_comm(&t->entries[idx], comm);
    } else {
        /* First seen: its parent's labels, its exe's. Its argv from PROCTITLE.
         * Live: its start, container and unit from /proc. */
        struct ar_proc_observed obs;
        bool observed = observe(t, (uint32_t)pid, now_ms, &obs);
        uint32_t parent = parent_entry(t, (uint32_t)ppid, now_ms);
        idx = new_entry(t, (uint32_t)pid, (uint32_t)ppid);
        struct entry *e = &t->entries[idx];
        set_parent(t, e, parent);
        if (observed)
            take_observed(e, &obs);
        set_text(t, e->exe, &e->exe_len, exe, e, F_EXE_TRUNC);
        set_comm(e, comm);
        e->labels = (parent != NONE ? t->entries[parent].labels : 0) |
                    match_rules(t, RULE_EXE, exe.p, exe.len);
        e->image_ms = now_ms;
        index_entry(t, idx);
        want = WANT_PROCTITLE;
    }
    struct entry *e = &t->entries[idx];
    e->labels |= key_labels(t, key);
    set_session(e, ses, tty);

    touch(t, idx);

    if ((kind == SYS_FORK || (kind == SYS_CLONE && !(a0 & CLONE_THREAD_FLAG))) && success &&
        have_exit && exitv > 0 && exitv <= UINT32_MAX &&
        !fed_child(t, (uint32_t)exitv, now_ms) &&
        complete_early_child(t, (uint32_t)exitv, (uint32_t)pid, idx, now_ms) == 0) {
        /* The child: our image, our labels, born now. Any older entry for its pid
         * was another process. */
        uint32_t child = new_entry(t, (uint32_t)exitv, (uint32_t)pid);
        struct entry *c = &t->entries[child];
        e = &t->entries[idx];
        set_parent(t, c, idx);
        copy_image(c, e);
        inherit_context(c, e);
        c->labels = e->labels;
        c->start_ms = c->image_ms = now_ms;
        c->flags |= F_START;
        index_entry(t, child);
    }
    e = &t->entries[idx];
    if (kind == SYS_EXIT) {
        /* Gone: the sweep may take it first, unless a child's birth marks it again. */
        e->flags |= F_EXITED;
        e->flags &= (uint16_t)~F_REFERENCED;
        /* With the feed, records of the process may still come (they travel
         * apart from the feed's): the pid's entries stay findable by time. */
        if (!t->fed)
            unindex(t, idx);
    }

    uint32_t ps = pending_put(t, rec->serial, nh);
    if (ps == NONE) {
        t->argv.active = false;
        return;
    }
    struct pending *p = &t->pending[ps];
    p->idx = idx;
    p->gen = e->gen;
    p->labels = e->labels;
    if (want == WANT_PROCTITLE && !t->has_kind[RULE_ARGV] && !t->has_kind[RULE_SCRIPT] &&
        interpreter((struct ar_span){e->exe, e->exe_len}) == I_NONE)
        want = WANT_NOTHING; /* nothing to learn from its PROCTITLE */
    p->want = (uint8_t)want;
    struct argv_state *a = &t->argv;
    if (a->active && a->serial == rec->serial && a->node_hash == nh) {
        /* EXECVE or CWD records came first: they belong to this SYSCALL. */
        a->pslot = ps;
        a->want = (uint8_t)want;
        if (want == WANT_NOTHING)
            a->active = false;
    } else if (want != WANT_NOTHING) {
        start_argv(t, rec->serial, nh, ps, (uint8_t)want);
    }
}

void ar_proctab_record(struct ar_proctab *t, const struct ar_record *rec)
{
    uint32_t type = rec->type;
    if (type != AUDIT_SYSCALL && type != AUDIT_EXECVE && type != AUDIT_CWD &&
        type != AUDIT_PROCTITLE) {
        /* PATH, BPRM_FCAPS... of the same event come between its EXECVE and
         * PROCTITLE; another event's record ends the gathering. */
        if (t->argv.active &&
            (t->argv.serial != rec->serial || t->argv.node_hash != node_hash(rec->node)))
            finish_argv(t);
        return;
    }
    uint32_t nh = node_hash(rec->node);
    struct argv_state *a = &t->argv;
    bool mine = a->active && a->serial == rec->serial && a->node_hash == nh;
    if (a->active && !mine)
        finish_argv(t);
    switch (type) {
    case AUDIT_SYSCALL:
        on_syscall(t, rec, nh);
        break;
    case AUDIT_EXECVE:
        if (!mine && pending_find(t, rec->serial, nh) == NONE) {
            start_argv(t, rec->serial, nh, NONE, WANT_ARGV);
            mine = true;
        }
        if (mine && a->want == WANT_ARGV)
            on_execve(t, rec);
        break;
    case AUDIT_CWD:
        if (!mine && pending_find(t, rec->serial, nh) == NONE) {
            start_argv(t, rec->serial, nh, NONE, WANT_ARGV);
            mine = true;
        }
        if (mine)
            on_cwd(t, rec);
        break;
    case AUDIT_PROCTITLE:
        if (mine && a->want == WANT_PROCTITLE)
            on_proctitle(t, rec);
        else if (mine)
            finish_argv(t);
        break;
    }
}

/* ---- snapshots ---- */

static void fill_ref(const struct ar_proctab *t, uint32_t idx, struct ar_proc_ref *r)
{
    const struct entry *e = &t->entries[idx];
    *r = (struct ar_proc_ref){
        .pid = e->pid,
        .exe = {e->exe, e->exe_len},
        .comm = {e->comm, e->comm_len},
        .start_ms = e->start_ms,
        .has_start = (e->flags & F_START) != 0,
        .from_proc = (e->flags & F_FROM_PROC) != 0,
        .truncated = (e->flags & F_EXE_TRUNC) != 0,
    };
}

/* The pid of an event without a SYSCALL record (user space messages): the first
 * record's pid= field. */
static bool event_pid(const struct ar_event *ev, uint32_t *ret)
{
    if (ev->nrecords == 0)
        return false;
    struct ar_span b = ar_event_body(ev, 0);
    const char *p = b.p, *end = b.p + b.len;
    while (p + 4 <= end) {
        const char *hit = memmem(p, (size_t)(end - p), "pid=", 4);
        if (!hit)
            return false;
        if (hit == b.p || hit[-1] == ' ') {
            const char *s = hit + 4, *q = s;
            while (q < end && *q >= '0' && *q <= '9')
                q++;
            uint64_t v;
            if (ar_span_to_u64(ar_span_make(s, q), &v) && v <= UINT32_MAX) {
                *ret = (uint32_t)v;
                return true;
            }
            return false;
        }
        p = hit + 4;
    }
    return false;
}

void ar_proctab_event(struct ar_proctab *t, const struct ar_event *ev, struct ar_proc_info *ret)
{
    ret->present = false;
    uint32_t nh = node_hash(ar_event_node(ev));
    if (t->argv.active && t->argv.serial == ev->serial && t->argv.node_hash == nh)
        finish_argv(t);
    uint32_t idx = NONE;
    uint64_t labels = 0;
    uint32_t ps = pending_find(t, ev->serial, nh);
    if (ps != NONE) {
        struct pending p = t->pending[ps];
        pending_remove(t, ps);
        if (!valid(t, p.idx, p.gen)) {
            t->stats.lost++;
            return;
        }
        idx = p.idx;
        labels = p.labels;
    } else {
        uint32_t pid;
        if (!event_pid(ev, &pid))
            return;
        idx = find_pid(t, pid);
        if (idx == NONE)
            return;
        labels = t->entries[idx].labels;
    }
    const struct entry *e = &t->entries[idx];
    ret->present = true;
    ret->pid = e->pid;
    ret->start_ms = e->start_ms;
    ret->has_start = (e->flags & F_START) != 0;
    ret->from_proc = (e->flags & F_FROM_PROC) != 0;
    ret->session = e->ses;
    ret->tty_len = e->tty_len;
    memcpy(ret->tty, e->tty, e->tty_len);
    ret->cgroup = e->cg;
    ret->script = (struct ar_span){e->script, e->script_len};
    ret->script_truncated = (e->flags & F_SCRIPT_TRUNC) != 0;
    ret->labels = labels;
    ret->label_names = t->label_names;
    ret->nancestors = 0;
    uint32_t a = e->parent_idx, ag = e->parent_gen;
    while (ret->nancestors < t->cfg.depth && valid(t, a, ag)) {
        fill_ref(t, a, &ret->ancestors[ret->nancestors++]);
        uint32_t next = t->entries[a].parent_idx;
        ag = t->entries[a].parent_gen;
        a = next;
    }
    if (ret->nancestors < t->cfg.depth && a != NONE && !valid(t, a, ag))
        t->stats.chains_cut++; /* its next ancestor's entry was reused */
}

/* ---- life cycle ---- */

int ar_proctab_new(const struct ar_proctab_config *cfg, struct ar_proctab **ret, char *errbuf,
                   size_t errlen)
{
    if (errlen)
        errbuf[0] = '\0';
    if (!cfg || cfg->size < 16 || cfg->depth > AR_PROC_MAX_DEPTH || cfg->max_pending == 0 ||
        cfg->nlabels > AR_PROC_MAX_LABELS) {
        snprintf(errbuf, errlen, "process table: size >= 16, depth <= %d, at most %d label rules",
                 AR_PROC_MAX_DEPTH, AR_PROC_MAX_LABELS);
        return -EINVAL;
    }
    struct ar_proctab *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->cfg = *cfg;
    t->size = cfg->size;
    uint32_t nb = 16;
    while (nb < cfg->size)
        nb *= 2;
    t->bucket_mask = nb - 1;
    uint32_t np = 16;
    while (np < 2 * cfg->max_pending)
        np *= 2;
    t->pending_mask = np - 1;
    t->entries = calloc(cfg->size, sizeof(*t->entries));
    t->buckets = malloc(nb * sizeof(*t->buckets));
    t->pending = calloc_written(np, sizeof(*t->pending));
    if (!t->entries || !t->buckets || !t->pending) {
        ar_proctab_free(t);
        return -ENOMEM;
    }
    memset(t->buckets, 0xff, nb * sizeof(*t->buckets));
    t->stats.size = cfg->size;
    t->stats.memory_bytes = sizeof(*t) + (uint64_t)cfg->size * sizeof(*t->entries) +
                            (uint64_t)nb * sizeof(*t->buckets) + (uint64_t)np * sizeof(*t->pending);
    for (size_t i = 0; i < cfg->nlabels; i++) {
        int r = parse_rule(cfg->labels[i], &t->rules[i], errbuf, errlen);
        if (r < 0) {
            ar_proctab_free(t);
            return r;
        }
        t->nrules++;
        t->has_kind[t->rules[i].kind] = true;
        if (t->rules[i].re && !t->re_state && !(t->re_state = ar_regex_state_new())) {
            ar_proctab_free(t);
            return -ENOMEM;
        }
        size_t bit = 0; /* rules with one name share its bit */
        while (t->label_names[bit] && strcmp(t->label_names[bit], t->rules[i].name) != 0)
            bit++;
        t->rules[i].bit = 1ull << bit;
        t->label_names[bit] = t->rules[i].name;
    }
    t->cfg.labels = NULL; /* the caller's strings are not kept */
    *ret = t;
    return 0;
}

void ar_proctab_free(struct ar_proctab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrules; i++)
        free_rule(&t->rules[i]);
    ar_regex_state_free(t->re_state);
    free(t->entries);
    free(t->buckets);
    free(t->pending);
    free(t);
}

const struct ar_proctab_stats *ar_proctab_stats(const struct ar_proctab *t)
{
    return &t->stats;
}

/* ---- the live lifecycle feed ---- */

static void feed_text(struct ar_proctab *t, struct entry *e, struct ar_span exe, bool truncated,
                      struct ar_span comm)
{
    set_text(t, e->exe, &e->exe_len, exe, e, F_EXE_TRUNC);
    if (truncated && !(e->flags & F_EXE_TRUNC)) {
        e->flags |= F_EXE_TRUNC;
        t->stats.truncated++;
    }
    set_comm(e, comm);
}

void ar_proctab_fork(struct ar_proctab *t, uint32_t pid, uint32_t ppid, uint64_t time_ms,
                     struct ar_span comm)
{
    t->fed = true;
    t->stats.fed_forks++;
    t->lookup_budget = 1 + t->cfg.depth;
    uint32_t parent = parent_entry(t, ppid, time_ms);
    uint32_t idx = new_entry(t, pid, ppid);
    struct entry *e = &t->entries[idx];
    if (parent != NONE) {
        set_parent(t, e, parent);
        copy_image(e, &t->entries[parent]);
        inherit_context(e, &t->entries[parent]);
        e->labels = t->entries[parent].labels;
    } else {
        set_comm(e, comm);
    }
    e->start_ms = e->image_ms = time_ms;
    e->flags |= F_START | F_FED;
    index_entry(t, idx);
}

void ar_proctab_exec(struct ar_proctab *t, uint32_t pid, uint32_t ppid, uint64_t time_ms,
                     struct ar_span exe, bool exe_truncated, struct ar_span comm)
{
    t->fed = true;
    t->stats.fed_execs++;
    uint32_t cur = find_pid(t, pid);
    /* The process's own entry unless it is another one with the pid (not its
     * parent, and not reparented after its parent died). */
    if (cur != NONE && t->entries[cur].ppid != ppid && ppid != 1 &&
        !(valid(t, t->entries[cur].parent_idx, t->entries[cur].parent_gen) &&
          (t->entries[t->entries[cur].parent_idx].flags & F_EXITED)))
        cur = NONE;
    t->lookup_budget = 1 + t->cfg.depth;
    struct entry before = {.ses = AR_PROC_SES_UNSET};
    if (cur != NONE)
        inherit_context(&before, &t->entries[cur]);
    /* Live: its cgroup now (runc and systemd move a process before its exec). */
    struct ar_proc_observed obs;
    bool observed = observe(t, pid, time_ms, &obs);
    uint32_t parent = cur == NONE ? parent_entry(t, ppid, time_ms) : NONE;
    uint32_t idx = new_entry(t, pid, ppid);
    struct entry *e = &t->entries[idx];
    inherit_context(e, &before);
    if (cur != NONE) {
        const struct entry *c = &t->entries[cur];
        e->parent_idx = c->parent_idx;
        e->parent_gen = c->parent_gen;
        e->start_ms = c->start_ms;
        e->flags |= c->flags & (F_START | F_FROM_PROC);
        e->labels = c->labels;
    } else if (parent != NONE) {
        set_parent(t, e, parent);
        e->labels = t->entries[parent].labels;
    }
    if (observed) {
        if (e->flags & F_START)
            obs.start_ms = 0; /* the fork's time stays */
        take_observed(e, &obs);
    }
    feed_text(t, e, exe, exe_truncated, comm);
    e->labels |= match_rules(t, RULE_EXE, exe.p, exe.len);
    e->image_ms = time_ms;
    e->flags |= F_FED | F_FED_EXEC;
    index_entry(t, idx);
}

void ar_proctab_exit(struct ar_proctab *t, uint32_t pid, uint64_t time_ms)
{
    (void)time_ms;
    t->fed = true;
    t->stats.fed_exits++;
    uint32_t idx = find_pid(t, pid);
    if (idx == NONE)
        return;
    /* Kept in the index: its records may come after this (proctable.h); the
     * sweep takes it first, and a new process with the pid replaces it. */
    t->entries[idx].flags |= F_EXITED;
    t->entries[idx].flags &= (uint16_t)~F_REFERENCED;
}

void ar_proctab_feed_lost(struct ar_proctab *t, uint64_t n)
{
    t->stats.feed_lost += n;
}
