/* The oracle for --format enriched: reads audit records (one per line, RAW) on
 * stdin and writes each as auditd 3.0's ENRICHED format would, using libauparse
 * the way auditd's format_enrich does: the names of the fields libauparse types
 * as UID, GID, SYSCALL, ARCH or SOCKADDR, in record order, after 0x1d, uid and gid
 * names through audit_encode_nv_string, nothing added past auditd's buffer. A
 * test tool only: the product never links libauparse. */
#include <auparse.h>
#include <ctype.h>
#include <libaudit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_BUF_LEN (MAX_AUDIT_MESSAGE_LENGTH + 255)
#define MIN_SPACE_LEFT 24

static void enrich(const char *line)
{
    char out[FORMAT_BUF_LEN + 1];
    size_t mlen = strlen(line);
    if (mlen >= FORMAT_BUF_LEN)
        mlen = FORMAT_BUF_LEN - 1;
    memcpy(out, line, mlen);
    out[mlen] = 0;
    size_t left = FORMAT_BUF_LEN - mlen;
    char *copy = malloc(mlen + 2);
    memcpy(copy, line, mlen);
    copy[mlen] = '\n';
    copy[mlen + 1] = 0;
    auparse_state_t *au = auparse_init(AUSOURCE_BUFFER, copy);
    if (!au || left <= MIN_SPACE_LEFT) {
        puts(out);
        free(copy);
        if (au)
            auparse_destroy(au);
        return;
    }
    auparse_set_escape_mode(au, AUPARSE_ESC_RAW);
    int sep_done = 0;
    size_t pos = mlen;
    int rc = auparse_first_record(au);
    while (rc > 0 && left > MIN_SPACE_LEFT) {
        int type = auparse_get_field_type(au);
        int encode = type == AUPARSE_TYPE_UID || type == AUPARSE_TYPE_GID;
        if (encode || type == AUPARSE_TYPE_SYSCALL || type == AUPARSE_TYPE_ARCH ||
            type == AUPARSE_TYPE_SOCKADDR) {
            if (sep_done++ == 0) {
                out[pos++] = 0x1d;
                left--;
            }
            char name[64];
            const char *n = auparse_get_field_name(au);
            size_t i = 0;
            for (; n[i] && i < sizeof(name) - 1; i++)
                name[i] = (char)toupper((unsigned char)n[i]);
            name[i] = 0;
            const char *v = auparse_interpret_field(au);
            if (!v)
                v = "?";
            char *field = NULL;
            if (encode)
                field = audit_encode_nv_string(name, v, (unsigned)strlen(v));
            else if (asprintf(&field, "%s=%s", name, v) < 0)
                field = NULL;
            if (field && 1 + strlen(field) + 1 < left) {
                size_t k = 0;
                if (sep_done > 1)
                    out[pos + k++] = ' ';
                memcpy(out + pos + k, field, strlen(field));
                k += strlen(field);
                pos += k;
                left -= k;
            }
            free(field);
        }
        rc = auparse_next_field(au);
    }
    out[pos] = 0;
    puts(out);
    auparse_destroy(au);
    free(copy);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = 0;
        enrich(line);
    }
    free(line);
    return 0;
}
