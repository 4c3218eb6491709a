/* The output's spool file (outputs/output.c), without a peer: records with their
 * metadata within max_spool (the version line counted), taken again by the next
 * output on the same directory, a record cut short at the end cut off, a skip
 * over sent records followed, a version 2 file read and made version 3, and an
 * old spool of bare lines refused with its path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "outputs/output.h"

#define SPEC "syslog+tcp://127.0.0.1:9"
#define MAX_SPOOL 4096

static char dir[] = "/tmp/ar-spool-XXXXXX";
static char path[256];

static struct ar_output *open_output(char *err, size_t errlen)
{
    struct ar_output_config cfg;
    ar_output_config_default(&cfg);
    cfg.max_memory = 1; /* everything after the first write spills */
    cfg.spool_dir = dir;
    cfg.max_spool = MAX_SPOOL;
    struct ar_output *o = NULL;
    err[0] = '\0';
    if (ar_output_new(SPEC, &cfg, err, errlen, &o) < 0)
        return NULL;
    return o;
}

static off_t file_size(void)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* One event's line (100 bytes with its newline) and its metadata entry. */
static void write_event(struct ar_output *o, uint32_t serial)
{
    char line[100];
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    struct ar_buf meta = {0};
    struct ar_line_meta m = {.len = sizeof(line), .sec = 1700000000, .has_time = true,
                             .serial = serial, .node = AR_SPAN_LIT("h1"),
                             .source = AR_SPAN_LIT("replay")};
    ar_line_meta_put(&meta, &m);
    struct ar_lines b = {line, sizeof(line), meta.p, meta.len};
    CHECK(ar_output_write(o, &b) == 0);
    ar_buf_free(&meta);
}

int main(void)
{
    char err[2048];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/syslog_tcp___127.0.0.1_9.spool", dir);

    /* Filled to its bound: the file, version line and all, stays within it. Each
     * record is 16 + 30 + 100 bytes. */
    struct ar_output *o = open_output(err, sizeof(err));
    CHECK(o != NULL);
    for (uint32_t i = 0; i < 100; i++)
        write_event(o, i);
    struct ar_output_stats st = ar_output_stats(o);
    CHECK(file_size() > 0 && file_size() <= MAX_SPOOL);
    CHECK(file_size() + 146 > MAX_SPOOL); /* full: the next record did not fit */
    CHECK(st.lines_dropped > 0);
    uint64_t spooled = st.spool_now;
    CHECK(spooled == (uint64_t)file_size() - strlen("auditrelay spool 3\n"));
    ar_output_free(o, 0, NULL);

    /* The next output on the directory takes what is there. */
    o = open_output(err, sizeof(err));
    CHECK(o != NULL && ar_output_stats(o).spool_now == spooled);
    ar_output_free(o, 0, NULL);

    /* A record cut short at the end (a run killed while writing it) is cut off. */
    off_t whole = file_size();
    int fd = open(path, O_WRONLY | O_APPEND);
    uint64_t head[2] = {1000, 0};
    CHECK(fd >= 0 && write(fd, head, sizeof(head)) == sizeof(head) && write(fd, "cut", 3) == 3);
    close(fd);
    o = open_output(err, sizeof(err));
    CHECK(o != NULL && ar_output_stats(o).spool_now == spooled);
    CHECK(file_size() == whole);
    ar_output_free(o, 0, NULL);

    /* Sent records cut out: the first head skips to the first record to send. The
     * file holds records of 146 bytes from offset 19; skip the first two. */
    fd = open(path, O_WRONLY);
    uint64_t skip[2] = {UINT64_MAX, 19 + 2 * 146};
    CHECK(fd >= 0 && pwrite(fd, skip, sizeof(skip), 19) == sizeof(skip));
    close(fd);
    o = open_output(err, sizeof(err));
    CHECK(o != NULL && ar_output_stats(o).spool_now == spooled - 2 * 146);
    ar_output_free(o, 0, NULL);

    /* A skip out of the file is refused, not followed. */
    fd = open(path, O_WRONLY);
    skip[1] = (uint64_t)whole + 1;
    CHECK(fd >= 0 && pwrite(fd, skip, sizeof(skip), 19) == sizeof(skip));
    close(fd);
    o = open_output(err, sizeof(err));
    CHECK(o == NULL && strstr(err, "outside the file"));
    CHECK(file_size() == whole);

    /* A version 2 file (no skip yet) is read whole and becomes version 3. */
    fd = open(path, O_WRONLY);
    uint64_t first[2] = {100, 30};
    CHECK(fd >= 0 && pwrite(fd, first, sizeof(first), 19) == sizeof(first) &&
          pwrite(fd, "auditrelay spool 2\n", 19, 0) == 19);
    close(fd);
    o = open_output(err, sizeof(err));
    CHECK(o != NULL && ar_output_stats(o).spool_now == spooled);
    ar_output_free(o, 0, NULL);
    char magic[19];
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && pread(fd, magic, sizeof(magic), 0) == 19 &&
          memcmp(magic, "auditrelay spool 3\n", 19) == 0);
    close(fd);

    /* A spool of bare lines (auditrelay before the metadata) is refused, named, and
     * left as it was. */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, "{\"serial\":1}\n", 13) == 13);
    close(fd);
    o = open_output(err, sizeof(err));
    CHECK(o == NULL);
    CHECK(strstr(err, path) && strstr(err, "has no version line"));
    CHECK(file_size() == 13);
    fprintf(stderr, "refused: %s\n", err);

    unlink(path);
    rmdir(dir);
    return check_failures ? 1 : 0;
}
