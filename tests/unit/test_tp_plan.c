/* Tracepoint plan: every rule form accepted or refused (with the exact refusal
 * line), the reference matcher's semantics (first match, never, perm by open
 * flags, dir prefix, relative paths, -C, 32-bit cuts, i386 via raw_syscalls), the
 * permission-class table against the generated syscall table, and the shipped
 * default rule set translating with no refusal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "audit/tables.h"
#include "rules/rules.h"
#include "rules/rules_config.h"
#include "sources/tracepoint/plan.h"

static int fake_user(const char *name, uint32_t *ret, void *ud)
{
    (void)ud;
    if (strcmp(name, "root") == 0) {
        *ret = 0;
        return 0;
    }
    return -ENOENT;
}

static bool fake_is_dir(const char *path, void *ud)
{
    (void)ud;
    static const char *const dirs[] = {"/tmp/d",        "/etc/ssh",        "/etc/pam.d",
                                       "/etc/security", "/etc/sudoers.d",  "/etc/modprobe.d",
                                       "/etc/audit",    "/etc/auditrelay", "/var/log/audit"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (strcmp(path, dirs[i]) == 0)
            return true;
    return false;
}

static const struct ar_rules_env env = {
    .machine = AUDIT_ARCH_X86_64,
    .user_id = fake_user,
    .group_id = fake_user,
    .is_dir = fake_is_dir,
};

static char logtext[1 << 16];

/* Compiles `text` as file "t.rules" and builds the plan; the log lands in logtext. */
static int build(const char *text, struct ar_tp_plan *plan)
{
    struct ar_rules *r;
    CHECK(ar_rules_new(&env, &r) == 0);
    int errs = ar_rules_add_text(r, "t.rules", text, strlen(text));
    if (errs != 0) {
        size_t n;
        const struct ar_rules_diag *d = ar_rules_diags(r, &n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "compile: %s:%u: %s\n", d[i].origin.file, d[i].origin.line,
                    d[i].message);
    }
    CHECK(errs == 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    int rc = ar_tp_plan_build(r, log, plan);
    fclose(log);
    snprintf(logtext, sizeof(logtext), "%s", buf ? buf : "");
    free(buf);
    ar_rules_free(r);
    return rc;
}

static struct ar_tp_plan plan;

static bool bit(const uint64_t *map, unsigned nr)
{
    return (map[nr / 64] >> (nr % 64)) & 1;
}

static unsigned popcount(const uint64_t *map)
{
    unsigned n = 0;
    for (unsigned i = 0; i < AR_TP_NR_SYSCALLS / 64; i++)
        n += (unsigned)__builtin_popcountll(map[i]);
    return n;
}

static int nr64(const char *name)
{
    int nr = ar_syscall_number(AUDIT_ARCH_X86_64, (struct ar_span){name, strlen(name)});
    CHECK(nr >= 0);
    return nr;
}

/* Expects `text` (one rule) to be refused with exactly `line`. */
#define REFUSED(text, line)                                                                        \
    do {                                                                                           \
        memset(&plan, 0x5a, sizeof(plan));                                                         \
        CHECK(build(text, &plan) == -EINVAL);                                                      \
        CHECK_STR(logtext, line);                                                                  \
        CHECK(plan.nrules == 0x5a5a5a5au); /* untouched */                                         \
    } while (0)

#define PREFIX "auditrelay: t.rules:1: "
#define WHY ": cannot be traced by the tracepoint source: "

static void test_refusals(void)
{
    REFUSED("-a never,task\n", PREFIX
            "-a never,task" WHY
            "only exit-list rules can be traced; the task list decides at fork whether a task "
            "is audited at all\n");
    REFUSED("-a always,user -F uid=0\n",
            PREFIX "-a always,user -F uid=0" WHY
                   "only exit-list rules can be traced; the user list filters messages from user "
                   "space\n");
    REFUSED("-a always,exclude -F msgtype=CWD\n", PREFIX
            "-a always,exclude -F msgtype=CWD" WHY
            "only exit-list rules can be traced; the exclude list filters records by type\n");
    REFUSED("-a never,filesystem -F fstype=tracefs -k x\n", PREFIX
            "-a never,filesystem -F fstype=tracefs -F key=x" WHY
            "only exit-list rules can be traced; the filesystem list needs the file system of "
            "every file touched\n");
    REFUSED("-a always,io_uring -S openat -k x\n",
            PREFIX "-a always,io_uring -S openat -F key=x" WHY
                   "only exit-list rules can be traced; io_uring operations are not syscalls\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F subj_type=unconfined_t\n",
            PREFIX "-a always,exit -F arch=b64 -S openat -F subj_type=unconfined_t" WHY
                   "subj_type= needs the task's LSM (SELinux) label, which is not traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F obj_user=system_u\n",
            PREFIX "-a always,exit -F arch=b64 -S openat -F obj_user=system_u" WHY
                   "obj_user= needs the file's LSM (SELinux) label, which is not traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F inode=12\n", PREFIX
            "-a always,exit -F arch=b64 -S openat -F inode=12" WHY
            "inode= needs the inode of the files the syscall touched, which is not traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F devmajor=8\n",
            PREFIX "-a always,exit -F arch=b64 -S openat -F devmajor=8" WHY
                   "devmajor= needs the device of the files the syscall touched, which is not "
                   "traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F devminor=1\n",
            PREFIX "-a always,exit -F arch=b64 -S openat -F devminor=1" WHY
                   "devminor= needs the device of the files the syscall touched, which is not "
                   "traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F filetype=file\n", PREFIX
            "-a always,exit -F arch=b64 -S openat -F filetype=32768" WHY
            "filetype= needs the type of the files the syscall touched, which is not traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F exe=/usr/bin/id\n", PREFIX
            "-a always,exit -F arch=b64 -S openat -F exe=/usr/bin/id" WHY
            "exe= matches the executable's inode; the tracepoint source sees only its path\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F obj_uid=0\n", PREFIX
            "-a always,exit -F arch=b64 -S openat -F obj_uid=0" WHY
            "obj_uid= needs the owner of the files the syscall touched, which is not traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F obj_gid=0\n", PREFIX
            "-a always,exit -F arch=b64 -S openat -F obj_gid=0" WHY
            "obj_gid= needs the group of the files the syscall touched, which is not traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F pers=1\n",
            PREFIX "-a always,exit -F arch=b64 -S openat -F pers=1" WHY
                   "pers= (the task's personality) is not traced\n");
    REFUSED("-a always,exit -F arch=b64 -S connect -F saddr_fam=2\n",
            PREFIX "-a always,exit -F arch=b64 -S connect -F saddr_fam=2" WHY
                   "saddr_fam= needs the socket address family, which is not traced\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -C uid=obj_uid\n",
            PREFIX "-a always,exit -F arch=b64 -S openat -C uid=obj_uid" WHY
                   "-C with obj_uid or obj_gid needs the owner of the files the syscall touched, "
                   "which is not traced\n");
    REFUSED("-a always,exit -F arch=aarch64 -S openat\n",
            PREFIX "-a always,exit -F arch=b64 -S openat" WHY
                   "arch aarch64: only x86_64 and i386 syscalls are traced\n");
    REFUSED("-a always,exit -F arch=b64 -S all -F path=/etc/passwd\n", PREFIX
            "-a always,exit -F arch=b64 -S all -F path=/etc/passwd" WHY
            "a path or dir without -F perm and -S matches every syscall that touches the "
            "file; give the permissions (-p rwxa) or the syscalls (-S) so that the syscalls "
            "are known\n");
    REFUSED("-a always,exit -F arch=b64 -S openat,fstat -F dir=/etc\n", PREFIX
            "-a always,exit -F arch=b64 -S fstat,openat -F dir=/etc" WHY
            "-F path/dir with syscall fstat: it takes no path argument the source copies, so "
            "the path could never be seen\n");
    REFUSED("-a always,exit -F arch=b32 -S open -F path=/etc/passwd -F perm=w\n",
            PREFIX "-a always,exit -F arch=b32 -S open -F path=/etc/passwd -F perm=w" WHY
                   "watches and -F perm are traced for x86_64 syscalls only\n");
    REFUSED("-a always,exit -F arch=b64 -S openat -F pid=1 -F pid=2 -F pid=3 -F pid=4 -F pid=5 "
            "-F pid=6 -F pid=7 -F pid=8 -F pid=9\n",
            PREFIX "-a always,exit -F arch=b64 -S openat -F pid=1 -F pid=2 -F pid=3 -F pid=4 "
                   "-F pid=5 -F pid=6 -F pid=7 -F pid=8 -F pid=9" WHY
                   "more than 8 conditions in one rule\n");

    /* A path of AR_TP_MAX_PREFIX bytes does not fit; one byte less does. */
    char rule[600], want[1200], path[AR_TP_MAX_PREFIX + 1];
    memset(path, 'a', sizeof(path));
    path[0] = '/';
    path[AR_TP_MAX_PREFIX] = 0;
    snprintf(rule, sizeof(rule), "-w %s -p w\n", path);
    snprintf(want, sizeof(want), PREFIX "-w %s -p w" WHY "the path is longer than %d bytes\n", path,
             AR_TP_MAX_PREFIX - 1);
    REFUSED(rule, want);
    path[AR_TP_MAX_PREFIX - 1] = 0;
    snprintf(rule, sizeof(rule), "-w %s -p w\n", path);
    CHECK(build(rule, &plan) == 0);
    CHECK(plan.rules[0].path_len == AR_TP_MAX_PREFIX - 1);

    /* More than AR_TP_MAX_RULES: the rules past the cap are refused, each. */
    char text[16384] = "";
    for (int i = 0; i < AR_TP_MAX_RULES + 2; i++) {
        char line[128];
        snprintf(line, sizeof(line), "-a always,exit -F arch=b64 -S openat -F uid=%d\n", i);
        strcat(text, line);
    }
    CHECK(build(text, &plan) == -EINVAL);
    CHECK_STR(logtext, "auditrelay: t.rules:65: -a always,exit -F arch=b64 -S openat -F uid=64" WHY
                       "more than 64 rules\n"
                       "auditrelay: t.rules:66: -a always,exit -F arch=b64 -S openat -F uid=65" WHY
                       "more than 64 rules\n");

    /* Every refusal is reported, not only the first; the good rules around them do
     * not make the build succeed. */
    CHECK(build("-a always,exit -F arch=b64 -S openat\n-a never,task\n"
                "-a always,exit -F arch=b64 -S openat -F inode=1\n",
                &plan) == -EINVAL);
    CHECK(strstr(logtext, "t.rules:2: -a never,task: cannot") != NULL);
    CHECK(strstr(logtext, "t.rules:3: -a always,exit") != NULL);
}

static void test_accepted(void)
{
    /* A syscall rule with fields, key and the unset auid. */
    CHECK(
        build(
            "-a always,exit -F arch=b64 -S openat,unlinkat -F auid>=1000 -F auid!=unset "
            "-F exit=-EACCES -F success=0 -F a2&0x40 -F a1&=3 -F ppid<5 -F sessionid=7 -k files\n",
            &plan) == 0);
    CHECK_STR(logtext, "");
    CHECK(plan.nrules == 1);
    const struct ar_tp_rule *t = &plan.rules[0];
    CHECK(!t->never && !t->all_syscalls && t->arch == AUDIT_ARCH_X86_64);
    CHECK(bit(t->syscalls, 257) && bit(t->syscalls, 263) && popcount(t->syscalls) == 2);
    CHECK(bit(plan.syscalls, 257) && bit(plan.syscalls, 263) && popcount(plan.syscalls) == 2);
    CHECK(!plan.raw_syscalls && plan.need_cwd);
    CHECK(t->nconds == 8);
    CHECK(t->conds[0].field == AR_TP_F_AUID && t->conds[0].op == AR_TP_GE &&
          t->conds[0].value == 1000);
    CHECK(t->conds[1].field == AR_TP_F_AUID && t->conds[1].op == AR_TP_NE &&
          t->conds[1].value == 4294967295);
    CHECK(t->conds[2].field == AR_TP_F_EXIT && t->conds[2].op == AR_TP_EQ &&
          t->conds[2].value == (uint32_t)-13);
    CHECK(t->conds[3].field == AR_TP_F_SUCCESS && t->conds[3].value == 2);
    CHECK(t->conds[4].field == AR_TP_F_A2 && t->conds[4].op == AR_TP_BIT_MASK &&
          t->conds[4].value == 0x40);
    CHECK(t->conds[5].field == AR_TP_F_A1 && t->conds[5].op == AR_TP_BIT_TEST);
    CHECK(t->conds[6].field == AR_TP_F_PPID && t->conds[6].op == AR_TP_LT);
    CHECK(t->conds[7].field == AR_TP_F_SES && t->conds[7].value == 7);
    CHECK_STR(t->key, "files");
    CHECK(t->origin.line == 1);
    CHECK(t->path_len == 0 && t->perm == 0);

    /* -S with -F dir= and no perm: the listed syscalls, the dir matched on their paths. */
    CHECK(build("-a always,exit -F arch=b64 -S openat,unlinkat -F dir=/tmp/x -k d\n", &plan) == 0);
    CHECK_STR(logtext, "");
    CHECK(plan.nrules == 1 && plan.rules[0].path_is_dir && plan.rules[0].perm == 0);
    CHECK(bit(plan.rules[0].syscalls, 257) && bit(plan.rules[0].syscalls, 263) &&
          popcount(plan.rules[0].syscalls) == 2);

    /* Several keys keep audit's \001 joining. */
    CHECK(build("-a always,exit -F arch=b64 -S chmod -k one -k two\n", &plan) == 0);
    CHECK_STR(plan.rules[0].key, "one\001two");
    CHECK(build("-a always,exit -F arch=b64 -S chmod -F key=solo\n", &plan) == 0);
    CHECK_STR(plan.rules[0].key, "solo");

    /* No syscall taking a path: no cwd needed. No -F arch: the machine's. */
    CHECK(build("-a always,exit -S setuid -F a0=0\n", &plan) == 0);
    CHECK(!plan.need_cwd && !plan.raw_syscalls);
    CHECK(plan.rules[0].arch == AUDIT_ARCH_X86_64 && bit(plan.syscalls, 105));

    /* -S all: raw_syscalls; without -F arch every arch. */
    CHECK(build("-a always,exit -S all -F uid=1000\n", &plan) == 0);
    CHECK(plan.rules[0].all_syscalls && plan.rules[0].arch == 0);
    CHECK(plan.raw_syscalls && plan.need_cwd && popcount(plan.syscalls) == 0);
    CHECK(build("-a always,exit -F arch=b64 -S all -F uid=1000\n", &plan) == 0);
    CHECK(plan.rules[0].all_syscalls && plan.rules[0].arch == AUDIT_ARCH_X86_64);

    /* i386: raw_syscalls, i386 numbers, nothing per-syscall. */
    CHECK(build("-a always,exit -F arch=b32 -S execve,setuid32 -k x32\n", &plan) == 0);
    CHECK(plan.rules[0].arch == AUDIT_ARCH_I386);
    CHECK(bit(plan.rules[0].syscalls, 11) && bit(plan.rules[0].syscalls, 213));
    CHECK(popcount(plan.rules[0].syscalls) == 2);
    CHECK(plan.raw_syscalls && plan.need_cwd && popcount(plan.syscalls) == 0);
    CHECK(build("-a always,exit -F arch=i386 -S setuid32\n", &plan) == 0);
    CHECK(plan.raw_syscalls && !plan.need_cwd);

    /* -C between task ids, never. */
    CHECK(build("-a never,exit -F arch=b64 -S execve -C uid!=euid -C auid=fsuid -F euid=0\n",
                &plan) == 0);
    t = &plan.rules[0];
    CHECK(t->never && t->nconds == 3);
    CHECK(t->conds[0].field_vs_field && t->conds[0].field == AR_TP_F_UID &&
          t->conds[0].field2 == AR_TP_F_EUID && t->conds[0].op == AR_TP_NE);
    CHECK(t->conds[1].field_vs_field && t->conds[1].field == AR_TP_F_AUID &&
          t->conds[1].field2 == AR_TP_F_FSUID && t->conds[1].op == AR_TP_EQ);
    CHECK(!t->conds[2].field_vs_field && t->conds[2].field == AR_TP_F_EUID);

    /* A file watch: the write and attr classes' syscalls that take a path. */
    CHECK(build("-w /etc/passwd -p wa -k identity\n", &plan) == 0);
    t = &plan.rules[0];
    CHECK_STR(t->path, "/etc/passwd");
    CHECK(t->path_len == 11 && !t->path_is_dir && t->perm == (AUDIT_PERM_WRITE | AUDIT_PERM_ATTR));
    CHECK(!t->all_syscalls && t->arch == AUDIT_ARCH_X86_64);
    static const char *const wa_in[] = {
        "open",     "openat",    "openat2",     "creat",        "truncate", "unlink",
        "unlinkat", "rename",    "renameat",    "renameat2",    "link",     "linkat",
        "symlink",  "symlinkat", "mkdir",       "mkdirat",      "rmdir",    "mknod",
        "mknodat",  "chmod",     "fchmodat",    "chown",        "lchown",   "fchownat",
        "setxattr", "lsetxattr", "removexattr", "lremovexattr", "acct",     "swapon"};
    for (size_t i = 0; i < sizeof(wa_in) / sizeof(wa_in[0]); i++) {
        if (!bit(t->syscalls, (unsigned)nr64(wa_in[i])))
            fprintf(stderr, "-p wa misses %s\n", wa_in[i]);
        CHECK(bit(t->syscalls, (unsigned)nr64(wa_in[i])));
    }
    static const char *const wa_out[] = {"fchmod", "ftruncate", "fchown",   "fsetxattr",
                                         "write",  "readlink",  "getxattr", "execve",
                                         "stat",   "utimensat", "bind",     "quotactl"};
    for (size_t i = 0; i < sizeof(wa_out) / sizeof(wa_out[0]); i++)
        CHECK(!bit(t->syscalls, (unsigned)nr64(wa_out[i])));
    CHECK(plan.need_cwd && !plan.raw_syscalls);
    CHECK_STR(t->key, "identity");

    /* A dir watch (the env says /tmp/d is a dir), read and exec. */
    CHECK(build("-w /tmp/d/ -p rx\n", &plan) == 0);
    t = &plan.rules[0];
    CHECK_STR(t->path, "/tmp/d");
    CHECK(t->path_is_dir && t->perm == (AUDIT_PERM_READ | AUDIT_PERM_EXEC));
    CHECK(bit(t->syscalls, 2) && bit(t->syscalls, 257) && bit(t->syscalls, 437));
    CHECK(bit(t->syscalls, 59) && bit(t->syscalls, 322) && bit(t->syscalls, 89));
    CHECK(!bit(t->syscalls, 193) && !bit(t->syscalls, 87)); /* fgetxattr, unlink */
    CHECK(build("-a always,exit -F dir=/var/log/ -F perm=w\n", &plan) == 0);
    CHECK_STR(plan.rules[0].path, "/var/log");
    CHECK(plan.rules[0].path_is_dir);

    /* -S and a watch: the intersection. */
    CHECK(build("-a always,exit -F arch=b64 -S openat,fchmod,stat,chmod -F path=/etc/shadow "
                "-F perm=wa\n",
                &plan) == 0);
    t = &plan.rules[0];
    CHECK(bit(t->syscalls, 257) && bit(t->syscalls, 90) && popcount(t->syscalls) == 2);

    /* perm without a path: the whole classes, fd-based syscalls too. */
    CHECK(build("-a always,exit -F arch=b64 -S all -F perm=a\n", &plan) == 0);
    t = &plan.rules[0];
    CHECK(!t->all_syscalls && !plan.raw_syscalls);
    CHECK(bit(t->syscalls, 91) && bit(t->syscalls, 90) && bit(t->syscalls, 86)); /* link: attr */
    CHECK(!bit(t->syscalls, 257));

    /* Settings are noted and skipped; -D, -d and -A shape the list like the kernel. */
    CHECK(build("-D\n-b 8192\n"
                "-a always,exit -F arch=b64 -S openat -k a\n"
                "-A always,exit -F arch=b64 -S chmod -k b\n"
                "-a always,exit -F arch=b64 -S unlink -k c\n"
                "-d always,exit -F arch=b64 -S openat -k a\n",
                &plan) == 0);
    CHECK_STR(logtext, "auditrelay: t.rules:2: note: an audit setting (-e, -f, -b, -r, "
                       "--backlog_wait_time...) means nothing to the tracepoint source: "
                       "skipped\n");
    CHECK(plan.nrules == 2);
    CHECK_STR(plan.rules[0].key, "b");
    CHECK_STR(plan.rules[1].key, "c");
    CHECK(plan.rules[0].origin.line == 4);
    CHECK(bit(plan.syscalls, 90) && bit(plan.syscalls, 87) && !bit(plan.syscalls, 257));
    CHECK(build("-a always,exit -F arch=b64 -S openat -k a\n"
                "-a always,exit -F arch=b64 -S chmod -k b\n-D -k a\n",
                &plan) == 0);
    CHECK(plan.nrules == 1);
    CHECK_STR(plan.rules[0].key, "b");
    /* A refused rule that a later -D removes is no refusal. */
    CHECK(build("-a never,task\n-D\n-a always,exit -F arch=b64 -S chmod\n", &plan) == 0);
    CHECK(plan.nrules == 1);
}

static struct ar_tp_sample sample(const char *sc, int64_t exit)
{
    struct ar_tp_sample s = {0};
    s.kind = AR_TP_SYSCALL;
    s.arch = AUDIT_ARCH_X86_64;
    s.syscall = nr64(sc);
    s.exit = exit;
    s.pid = 100;
    s.ppid = 1;
    s.auid = 1000;
    s.ses = 3;
    s.has_auid = true;
    s.uid = s.euid = s.suid = s.fsuid = 1000;
    s.gid = s.egid = s.sgid = s.fsgid = 1000;
    s.args[0] = (uint64_t)(int64_t)AT_FDCWD;
    return s;
}

static void set_path(struct ar_tp_sample *s, unsigned i, const char *p)
{
    s->paths[i] = (struct ar_span){p, strlen(p)};
    if (s->npaths < i + 1)
        s->npaths = i + 1;
}

static void test_match(void)
{
    /* First match decides; never suppresses. */
    CHECK(build("-a never,exit -F arch=b64 -S openat -F uid=1000\n"
                "-a always,exit -F arch=b64 -S openat -k all\n",
                &plan) == 0);
    struct ar_tp_sample s = sample("openat", 3);
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s.uid = 0;
    CHECK(ar_tp_plan_match(&plan, &s) == 1);
    s.syscall = nr64("chmod");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    CHECK(ar_tp_plan_hooks(&plan, AUDIT_ARCH_X86_64, 257));
    CHECK(!ar_tp_plan_hooks(&plan, AUDIT_ARCH_X86_64, 90));
    CHECK(!ar_tp_plan_hooks(&plan, AUDIT_ARCH_I386, 257));

    /* Perm by the open flags (ACC_MODE only, as the kernel). */
    CHECK(build("-w /etc/passwd -p w -k w\n-w /etc/group -p r -k r\n", &plan) == 0);
    s = sample("openat", 3);
    set_path(&s, 0, "/etc/passwd");
    s.args[2] = O_RDONLY;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s.args[2] = O_WRONLY;
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.args[2] = O_RDWR | O_CLOEXEC;
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.args[2] = O_RDONLY | O_CREAT | O_TRUNC;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    CHECK(ar_tp_sample_perm(&s) == AUDIT_PERM_READ);
    s.syscall = nr64("open");
    s.args[0] = 0x7ffd0000;
    s.args[1] = O_WRONLY;
    s.args[2] = 0;
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.args[1] = O_RDONLY;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    set_path(&s, 0, "/etc/group");
    CHECK(ar_tp_plan_match(&plan, &s) == 1);
    /* openat2: flags unknown, read and write both. */
    s = sample("openat2", 3);
    set_path(&s, 0, "/etc/passwd");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    set_path(&s, 0, "/etc/group");
    CHECK(ar_tp_plan_match(&plan, &s) == 1);
    /* Class syscalls: unlink is write, chmod is attr (not in -p w). */
    s = sample("unlink", 0);
    set_path(&s, 0, "/etc/passwd");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.syscall = nr64("chmod");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    /* Exact file match only. */
    s = sample("unlink", 0);
    set_path(&s, 0, "/etc/passwd-");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    set_path(&s, 0, "/etc/passwd/");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    /* rename: the second path counts too. */
    s = sample("rename", 0);
    set_path(&s, 0, "/etc/passwd.new");
    set_path(&s, 1, "/etc/passwd");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    /* symlink: the target is text, never a match; the link path is. */
    s = sample("symlink", 0);
    set_path(&s, 0, "/etc/passwd");
    set_path(&s, 1, "/tmp/l");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    set_path(&s, 0, "x");
    set_path(&s, 1, "/etc/passwd");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);

    /* Dirs: the dir itself and below, not a sibling sharing the prefix. */
    CHECK(build("-w /tmp/d -p wa -k d\n", &plan) == 0);
    CHECK(plan.rules[0].path_is_dir);
    s = sample("unlinkat", 0);
    set_path(&s, 0, "/tmp/d");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    set_path(&s, 0, "/tmp/d/x/y");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    set_path(&s, 0, "/tmp/dx");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    set_path(&s, 0, "/tmp");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    /* Relative: joined with the cwd when known and relative to AT_FDCWD. */
    set_path(&s, 0, "d/x");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s.cwd = AR_SPAN_LIT("/tmp");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    set_path(&s, 0, "dx");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    set_path(&s, 0, "d");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.cwd = AR_SPAN_LIT("/");
    set_path(&s, 0, "tmp/d/f");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.args[0] = 5; /* a dirfd: the name is relative to something unknown */
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    set_path(&s, 0, "/tmp/d/f"); /* absolute: the dirfd does not matter */
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    /* Nothing is normalised. */
    set_path(&s, 0, "/tmp/./d/f");
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    /* A watch of / holds every absolute path. */
    CHECK(build("-a always,exit -F dir=/ -F perm=w\n", &plan) == 0);
    set_path(&s, 0, "/anything");
    CHECK(ar_tp_plan_match(&plan, &s) == 0);

    /* -C, a0-a3 and exit cut to 32 bits, success, bit ops. */
    CHECK(build("-a always,exit -F arch=b64 -S execve -C uid!=euid -F euid=0 -k setuid\n"
                "-a always,exit -F arch=b64 -S setuid -F a0=0 -k a0\n"
                "-a always,exit -F arch=b64 -S openat -F exit=-EACCES -k denied\n"
                "-a always,exit -F arch=b64 -S openat -F success=1 -F a2&0x40 -k creat\n"
                "-a always,exit -F arch=b64 -S openat -F a2&=0x241 -k trunc\n"
                "-a always,exit -F arch=b64 -S unlink -F exit<0 -k neg\n"
                "-a always,exit -F arch=b64 -S unlink -F exit>=4294967000 -k big\n",
                &plan) == 0);
    s = sample("execve", 0);
    s.euid = 0;
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.uid = 0;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s = sample("setuid", 0);
    s.args[0] = UINT64_C(0x100000000);
    CHECK(ar_tp_plan_match(&plan, &s) == 1);
    s.args[0] = 1;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s = sample("openat", -13);
    CHECK(ar_tp_plan_match(&plan, &s) == 2);
    s.exit = 3;
    s.args[2] = O_CREAT | O_WRONLY;
    CHECK(ar_tp_plan_match(&plan, &s) == 3);
    s.exit = -2;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s.exit = 3;
    s.args[2] = O_WRONLY | O_TRUNC;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s.args[2] = O_WRONLY | O_TRUNC | O_CREAT;
    CHECK(ar_tp_plan_match(&plan, &s) == 3);
    s.exit = -1; /* failed: not the success rule; a2&=0x241 holds */
    CHECK(ar_tp_plan_match(&plan, &s) == 4);
    /* exit<0 never matches (unsigned, as in the kernel); a negative exit is big. */
    s = sample("unlink", -2);
    CHECK(ar_tp_plan_match(&plan, &s) == 6);
    CHECK(ar_tp_exit_success(0) && ar_tp_exit_success(-4096) && !ar_tp_exit_success(-4095) &&
          !ar_tp_exit_success(-1));

    /* auid unset, sessionid. */
    CHECK(build("-a always,exit -F arch=b64 -S mount -F auid!=unset -F sessionid<10 -k m\n",
                &plan) == 0);
    s = sample("mount", 0);
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.auid = 4294967295;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s.auid = 0;
    s.ses = 10;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    s.ses = 9;
    s.has_auid = false; /* no loginuid at all: unset */
    CHECK(ar_tp_plan_match(&plan, &s) == -1);

    /* i386 rules match i386 samples (raw_syscalls), not x86_64 ones of that number. */
    CHECK(build("-a always,exit -F arch=b32 -S execve -k x32\n"
                "-a always,exit -F arch=b64 -S execve -k x64\n",
                &plan) == 0);
    s = sample("execve", 0);
    CHECK(ar_tp_plan_match(&plan, &s) == 1);
    s.arch = AUDIT_ARCH_I386;
    s.syscall = 11;
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    s.syscall = 59;
    CHECK(ar_tp_plan_match(&plan, &s) == -1);
    CHECK(ar_tp_plan_hooks(&plan, AUDIT_ARCH_I386, 11));
    CHECK(!ar_tp_plan_hooks(&plan, AUDIT_ARCH_I386, 59));
    CHECK(ar_tp_plan_hooks(&plan, AUDIT_ARCH_X86_64, 59));
    /* -S all without arch: every arch. */
    CHECK(build("-a always,exit -S all -F uid=5\n", &plan) == 0);
    s.uid = 5;
    CHECK(ar_tp_plan_match(&plan, &s) == 0);
    CHECK(ar_tp_plan_hooks(&plan, AUDIT_ARCH_I386, 300));
}

/* The class table's numbers are the x86_64 ABI's: check them against the table
 * generated from the machine's headers; sorted, paths sane. */
static void test_table(void)
{
    size_t n;
    const struct ar_tp_syscall *t = ar_tp_syscall_table(&n);
    CHECK(n > 40);
    for (size_t i = 0; i < n; i++) {
        int nr =
            ar_syscall_number(AUDIT_ARCH_X86_64, (struct ar_span){t[i].name, strlen(t[i].name)});
        /* Newer than this machine's headers (6.6): the kernel's number. */
        if (nr == -ENOENT && strcmp(t[i].name, "fchmodat2") == 0)
            nr = 452;
        if (nr != t[i].nr)
            fprintf(stderr, "%s: table %d, headers %d\n", t[i].name, t[i].nr, nr);
        CHECK(nr == t[i].nr);
        CHECK(i == 0 || t[i - 1].nr < t[i].nr);
        CHECK(t[i].perm != 0 && t[i].npaths <= AR_TP_MAX_PATHS);
        CHECK(ar_tp_syscall_find(AUDIT_ARCH_X86_64, t[i].nr) == &t[i]);
        for (unsigned k = 0; k < t[i].npaths; k++)
            CHECK(t[i].path_arg[k] >= 0 && t[i].path_arg[k] < 4 && t[i].dirfd_arg[k] < 4);
    }
    CHECK(ar_tp_syscall_find(AUDIT_ARCH_X86_64, 0) == NULL);
    CHECK(ar_tp_syscall_find(AUDIT_ARCH_I386, 5) == NULL);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The shipped rule set (the .rules files of rules/, in augenrules' order) translates with no
 * refusal. */
static void test_default_set(void)
{
    DIR *d = opendir(AR_RULES_SOURCE_PATH);
    CHECK(d != NULL);
    if (!d)
        return;
    char *names[64];
    size_t nnames = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nnames < 64) {
        size_t len = strlen(de->d_name);
        if (len > 6 && strcmp(de->d_name + len - 6, ".rules") == 0)
            names[nnames++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nnames, sizeof(names[0]), cmp_names);
    CHECK(nnames >= 5);
    struct ar_rules *r;
    CHECK(ar_rules_new(&env, &r) == 0);
    for (size_t i = 0; i < nnames; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", AR_RULES_SOURCE_PATH, names[i]);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        static char text[1 << 16];
        size_t len = f ? fread(text, 1, sizeof(text), f) : 0;
        if (f)
            fclose(f);
        CHECK(ar_rules_add_text(r, names[i], text, len) == 0);
        free(names[i]);
    }
    ar_rules_reorder_like_augenrules(r, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *log = open_memstream(&buf, &len);
    int rc = ar_tp_plan_build(r, log, &plan);
    fclose(log);
    if (rc != 0 || strstr(buf, "cannot be traced"))
        fprintf(stderr, "%s", buf);
    CHECK(rc == 0);
    CHECK(strstr(buf, "cannot be traced") == NULL);
    free(buf);
    size_t nops;
    ar_rules_ops(r, &nops);
    CHECK(plan.nrules > 20 && plan.nrules <= AR_TP_MAX_RULES);
    CHECK(plan.raw_syscalls); /* the i386 rules */
    CHECK(plan.need_cwd);
    CHECK(bit(plan.syscalls, 257) && bit(plan.syscalls, 59));
    ar_rules_free(r);
}

int main(void)
{
    test_refusals();
    test_accepted();
    test_match();
    test_table();
    test_default_set();
    return check_done();
}
