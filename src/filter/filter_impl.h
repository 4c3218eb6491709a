/* The compiled form of filters, shared by compile.c (specs to conditions) and
 * match.c (conditions against events). Private to src/filter/. */
#pragma once

#include "util/regex.h"
#include "util/buf.h"
#include "filter/filter.h"
#include "parse/tokenize.h"

/* What a condition looks at. */
enum cond_kind {
    C_ALL,             /* every event */
    C_TYPE,            /* the event's type: SYSCALL when it has one, else its first record's */
    C_RECORD,          /* the types of its records (any) */
    C_FIELD,           /* a field by name, in any record (or records of one type),
                        * values read by the field's class (uid names, syscall names...) */
    C_PATH,            /* PATH names as full paths (joined to CWD, resolved) */
    C_DIR,             /* PATH names under a directory */
    C_SOCKADDR,        /* the SOCKADDR record: address or subnet, local socket path */
    C_SOCKADDR_PORT,
    C_SOCKADDR_FAMILY,
    C_TEXT,            /* a record's body text */
    C_LABEL,           /* the labels of the event's process (enrich/proctable.h) */
};

enum cond_op { OP_EQ, OP_NE, OP_RE, OP_NRE };

/* How a C_FIELD value is compared: by the field's class (enrich/fieldclass.h). */
enum value_kind {
    V_TEXT,    /* bytes, hex-decoded first when the field is a hex-able string */
    V_NUMBER,  /* unsigned (uid, gid: names resolved when compiled; "unset") */
    V_SIGNED,  /* exit: a number or an errno name (-errno) */
    V_SYSCALL, /* a name (compared on the record's arch) or a number */
    V_ARCH,    /* an AUDIT_ARCH_* value, given by name or in hex */
    V_SADDR,   /* the saddr field: as C_SOCKADDR */
};

/* One alternative of a value list. */
struct alt {
    char *s;            /* the literal (malloc'ed, NUL-terminated) */
    size_t len;
    uint64_t num;       /* V_NUMBER, V_ARCH, C_TYPE, C_RECORD, port, family */
    int64_t snum;       /* V_SIGNED */
    bool by_number;     /* V_SYSCALL given as a number */
    /* C_SOCKADDR: */
    uint8_t ip[16];
    uint8_t ip_len;     /* 4 or 16; 0: a local socket path in s (abstract: '@' first) */
    uint8_t bits;       /* prefix length */
};

struct cond {
    enum cond_kind kind;
    enum cond_op op;
    enum value_kind vkind;
    const char *name;      /* C_FIELD: the field's name, then "=" (name_len excludes it):
                            * a record whose text lacks "name=" is not tokenized */
    size_t name_len;
    uint32_t scope;        /* C_FIELD, C_TEXT: only records of this type; 0: any */
    bool hexable;          /* C_FIELD: values the kernel may hex-encode */
    bool keys;             /* the key field: several keys joined by 0x01 */
    bool nul_list;         /* proctitle: NULs between arguments read as spaces */
    struct alt *alts;
    size_t nalts;
    struct ar_regex *re;   /* OP_RE, OP_NRE */
};

struct rule {
    char *text;
    bool drop;
    bool matches_all;      /* a lone `all`: nothing after it is reached */
    struct cond *conds;
    size_t nconds;
    uint64_t matched;
};

struct ar_filter {
    struct ar_filter_env env;
    struct rule *rules;
    size_t nrules;
    struct ar_filter_stats stats;
    /* Per event (match.c): fields of the records tokenized so far; a record's
     * fields are valid when its epoch is the event's. */
    struct ar_field *fields;
    size_t fields_used;
    uint32_t *rec_first, *rec_n, *rec_epoch;
    size_t recs_cap;
    uint32_t epoch;
    uint32_t arch;            /* the event's SYSCALL arch, once looked up */
    bool arch_known;
    struct ar_buf scratch;    /* decoded values, joined paths */
    struct ar_regex_state *md;
};

/* The longest field array one event's tokenized records may fill (as the
 * encoder's); past it a record's remaining fields are not seen. */
#define AR_FILTER_MAX_FIELDS 65536
