/* The normalized summary of an event, aucoalesce's model (go-libaudit, what Auditbeat
 * writes): actor (primary: the login user; secondary: the effective user), action (a
 * verb: opened-file, renamed, logged-in...), object (type, primary, secondary), how
 * (the program); full file paths resolved from CWD and PATH items; the file-integrity
 * change (created, modified, deleted, renamed, ...); the ECS event category and type.
 * Pure: table lookups over the event's tokens, no allocation; the caller owns the
 * struct ar_normalized (large: keep one per encoder, not on the stack). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "parse/tokenize.h"

enum ar_file_change {
    AR_CHANGE_NONE,
    AR_CHANGE_OPEN,        /* table only: created, modified or nothing by flags and items */
    AR_CHANGE_CREATED,
    AR_CHANGE_MODIFIED,
    AR_CHANGE_DELETED,
    AR_CHANGE_RENAMED,
    AR_CHANGE_LINKED,
    AR_CHANGE_PERMISSIONS,
    AR_CHANGE_OWNER,
    AR_CHANGE_ATTRIBUTES,
};

/* Where an ECS user/group member takes its value from, and which member. */
enum ar_norm_from { AR_NORM_FROM_SUBJ_PRIMARY, AR_NORM_FROM_SUBJ_SECONDARY,
                    AR_NORM_FROM_OBJ_PRIMARY, AR_NORM_FROM_UID };
enum ar_norm_to { AR_NORM_TO_USER, AR_NORM_TO_USER_EFFECTIVE, AR_NORM_TO_USER_TARGET,
                  AR_NORM_TO_USER_CHANGES, AR_NORM_TO_GROUP, AR_NORM_TO_COUNT };

/* One row of the normalization table (enrich/normtab.c). Key lists are field names
 * separated by spaces, tried in order; NULL when the row has none. */
struct ar_norm {
    const char *action;
    const char *object_type;
    uint8_t path_index;        /* which PATH item is the object (PARENT items skipped) */
    uint8_t change;            /* enum ar_file_change */
    const char *subj_primary, *subj_secondary, *obj_primary, *obj_secondary, *how;
    const char *source_ip;
    const char *has_field;     /* rows sharing a record type: chosen by this field */
    const char *ecs_kind;      /* NULL: "event" */
    const char *ecs_category, *ecs_type;
    uint8_t nmaps;
    struct {
        uint8_t from, to;
    } maps[3];
};

/* A byte string: a value as written (hex decoded), a literal, or a resolved path. */
struct ar_text {
    const char *p;
    size_t len;
};

/* One record of the event as tokenized by the caller. */
struct ar_norm_record {
    uint32_t type;
    const struct ar_field *fields;
    uint32_t n;
};

/* The value of a field as text: hex-encoded strings decoded. Returns false when the
 * field has no text (null). */
typedef bool (*ar_norm_text_fn)(void *ctx, const struct ar_field *f, struct ar_text *ret);

#define AR_NORM_MAX_PATHS 64
#define AR_NORM_PATH_BYTES 65536

struct ar_norm_path {
    uint32_t item;             /* position among the event's PATH records */
    const struct ar_field *name, *nametype, *mode, *ouid, *ogid, *inode, *dev, *rdev;
    struct ar_text path;       /* full path: absolute, '.' and '..' resolved */
    bool parent;               /* nametype PARENT (objtype= on kernels before 3.14) */
    bool has_mode;
    uint32_t mode_value;       /* mode, parsed (st_mode) */
};

enum ar_direction { AR_DIRECTION_NONE, AR_DIRECTION_INGRESS, AR_DIRECTION_EGRESS };

struct ar_normalized {
    uint32_t type;             /* the record type the summary is about */
    uint32_t primary;          /* index of the record whose fields come first (SYSCALL) */
    uint32_t arch;             /* AUDIT_ARCH_* of the syscall (sockaddr byte order) */
    const char *syscall;       /* its syscall name, NULL when none */
    const struct ar_norm *norm;          /* NULL: nothing known about this event */
    const struct ar_norm *syscall_norm;  /* merged into the ECS category/type */
    const char *result;        /* "success", "fail" or "unknown" */
    struct ar_text actor_primary, actor_secondary;
    struct ar_text object_primary, object_secondary;
    struct ar_text how;
    const char *object_type;
    /* A SOCKADDR's address (ip or unix path, port), and whether the syscall makes it
     * the source or the destination; a user-space record's addr is a source. */
    struct ar_text sock_addr, sock_path, sock_port, source_ip;
    uint8_t sock_direction;    /* enum ar_direction */
    const char *sock_family;   /* "ipv4", "ipv6", "unix", "netlink"... as Auditbeat names them */
    struct ar_text ecs_values[AR_NORM_TO_COUNT]; /* ECS user/group members */
    int object_file;           /* paths[] index of go-libaudit's file object, -1 for none */
    int file;                  /* paths[] index of the file changed (a rename's new
                                * name), else object_file */
    uint8_t change;            /* enum ar_file_change, for a successful file syscall */
    int change_from;           /* paths[] index of a rename's or link's source, or -1 */
    /* Bit i: field i of the primary record was read (i < 64). Every other field of
     * that record played no part: a caller that keeps the result for records that
     * differ only there (encode/summary_memo.c) knows it still holds. */
    uint64_t primary_read;
    /* Everything above is reset per event; below, only what is filled. */
    struct ar_norm_path paths[AR_NORM_MAX_PATHS];
    uint32_t npaths;
    const char *cwd;           /* decoded cwd, NULL when the event has none */
    size_t cwd_len;
    char buf[AR_NORM_PATH_BYTES]; /* resolved paths and addresses */
    size_t used;
    const char *last_syscall;  /* the previous event's, remembered with its row */
    const struct ar_norm *last_syscall_norm;
    uint32_t last_type;        /* likewise for a record type whose row is fixed */
    const struct ar_norm *last_type_norm;
};

/* Fills s for the event's records. syscall is the event's syscall name (NULL when it
 * has none): the caller knows the arch. text decodes values; ctx is passed to it.
 * Never fails: what cannot be found stays empty; a path that does not fit in
 * s->buf keeps its name as written. arch is the syscall's AUDIT_ARCH_* (0: unknown). */
void ar_normalize(const struct ar_norm_record *recs, uint32_t nrecs, const char *syscall,
                  uint32_t arch, ar_norm_text_fn text, void *ctx, struct ar_normalized *s);

/* A field of the event by key as the summary reads it: the primary record first (its
 * ids last), then the other records that are not PATH, EXECVE or SOCKADDR. */
const struct ar_field *ar_normalized_field(const struct ar_normalized *s,
                                        const struct ar_norm_record *recs, uint32_t nrecs,
                                        const char *key, size_t key_len);

/* Whether a record's fields are the event's data: not PATH items (kept apart), EXECVE
 * (arguments), SOCKADDR (an address) or EOE, as in go-libaudit. */
bool ar_norm_data_record(uint32_t type);

/* The word for a change ("created", "renamed", ...), NULL for AR_CHANGE_NONE. */
const char *ar_file_change_name(enum ar_file_change c);

/* mode & 07777 as four octal digits and a NUL ("0644", "6755"). */
void ar_file_mode_text(uint32_t mode, char out[8]);

/* What a PATH item's st_mode is: "file", "dir", "symlink", "char-device",
 * "block-device", "fifo", "socket", or NULL when unknown. */
const char *ar_file_type_of_mode(uint64_t mode);

/* Joins name to cwd (when name is relative and cwd is given) and resolves '.', '..'
 * and repeated '/' lexically (symlinks are not followed: the log does not know
 * them). Writes at most cap bytes to out; returns the length, or 0 when it did not
 * fit or name is empty. ".." at the root stays at the root. */
size_t ar_path_resolve(const char *cwd, size_t cwd_len, const char *name, size_t name_len,
                       char *out, size_t cap);

/* The table rows for a syscall name (falls back to the catch-all row) and for a record
 * type name with a predicate for has_field; NULL when none applies. *ret_by_fields
 * (may be NULL) says whether the choice depended on the event's fields. */
const struct ar_norm *ar_norm_syscall(const char *name);
const struct ar_norm *ar_norm_record_type(const char *type_name,
                                          bool (*has_field)(void *ctx, const char *key),
                                          void *ctx, bool *ret_by_fields);
