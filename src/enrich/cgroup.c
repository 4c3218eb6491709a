#include "enrich/cgroup.h"

#include <stdbool.h>
#include <string.h>

#include "util/span.h"

static bool is_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

static bool has_prefix(struct ar_span s, const char *pre)
{
    size_t n = strlen(pre);
    return s.len >= n && memcmp(s.p, pre, n) == 0;
}

static bool has_suffix(struct ar_span s, const char *suf)
{
    size_t n = strlen(suf);
    return s.len >= n && memcmp(s.p + s.len - n, suf, n) == 0;
}

/* A pod uid as the cgroupfs driver writes it (dashes) or the systemd driver
 * (underscores): copied with dashes. */
static bool take_uid(const char *p, size_t n, struct ar_cgroup_ctx *ret)
{
    if (n != AR_CGROUP_POD_MAX)
        return false;
    char sep = p[8];
    if (sep != '-' && sep != '_')
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? p[i] != sep : !is_hex(p + i, 1))
            return false;
    }
    for (size_t i = 0; i < n; i++)
        ret->pod[i] = p[i] == '_' ? '-' : p[i];
    ret->pod_len = (uint8_t)n;
    return true;
}

/* "pod<uid>" (cgroupfs) or "kubepods[-<qos>]-pod<uid>.slice" (systemd). */
static void pod_component(struct ar_span c, struct ar_cgroup_ctx *ret)
{
    if (has_prefix(c, "pod")) {
        take_uid(c.p + 3, c.len - 3, ret);
        return;
    }
    if (!has_prefix(c, "kubepods") || !has_suffix(c, ".slice"))
        return;
    size_t tail = 4 + AR_CGROUP_POD_MAX + 6; /* "-pod" uid ".slice" */
    if (c.len >= tail && memcmp(c.p + c.len - tail, "-pod", 4) == 0)
        take_uid(c.p + c.len - tail + 4, AR_CGROUP_POD_MAX, ret);
}

/* A container's own cgroup: "<runtime>-<id>[.scope]" or a bare id. */
static void container_component(struct ar_span c, struct ar_span parent,
                                struct ar_cgroup_ctx *ret)
{
    static const struct {
        const char *prefix;
        enum ar_container_runtime runtime;
    } kinds[] = {
        {"docker-", AR_RUNTIME_DOCKER},
        {"cri-containerd-", AR_RUNTIME_CONTAINERD},
        {"nerdctl-", AR_RUNTIME_CONTAINERD},
        {"crio-", AR_RUNTIME_CRIO},
        {"libpod-", AR_RUNTIME_PODMAN}, /* libpod-conmon-ID is the monitor, not in it */
    };
    struct ar_span id = c;
    if (has_suffix(id, ".scope"))
        id.len -= 6;
    enum ar_container_runtime rt = AR_RUNTIME_NONE;
    for (size_t i = 0; i < AR_ARRAY_SIZE(kinds); i++) {
        if (has_prefix(id, kinds[i].prefix)) {
            size_t n = strlen(kinds[i].prefix);
            id.p += n;
            id.len -= n;
            rt = kinds[i].runtime;
            break;
        }
    }
    if (rt == AR_RUNTIME_NONE) {
        if (id.len != c.len) /* a bare id has no ".scope" */
            return;
        rt = AR_SPAN_IS(parent, "docker") ? AR_RUNTIME_DOCKER
             : ret->pod_len              ? AR_RUNTIME_CRI
                                         : AR_RUNTIME_UNKNOWN;
    }
    if (id.len != AR_CGROUP_ID_MAX || !is_hex(id.p, id.len))
        return;
    memcpy(ret->id, id.p, id.len);
    ret->id_len = (uint8_t)id.len;
    ret->runtime = (uint8_t)rt;
}

static bool unit_name(struct ar_span c)
{
    static const char *const suffixes[] = {".service", ".scope",  ".socket", ".mount",
                                           ".automount", ".swap", ".timer",  ".path",
                                           ".target", ".device"};
    const char *dot = memrchr(c.p, '.', c.len);
    if (!dot || dot == c.p)
        return false;
    bool known = false;
    for (size_t i = 0; i < AR_ARRAY_SIZE(suffixes); i++)
        known |= strlen(suffixes[i]) == (size_t)(c.p + c.len - dot) &&
                 memcmp(dot, suffixes[i], strlen(suffixes[i])) == 0;
    if (!known)
        return false;
    for (const char *p = c.p; p < dot; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == ':' || *p == '-' || *p == '_' || *p == '.' || *p == '\\' || *p == '@'))
            return false;
    return true;
}

/* The next non-empty component of a path at *p (before end); false at the end. */
static bool next_component(const char **p, const char *end, struct ar_span *ret)
{
    while (*p < end) {
        const char *slash = memchr(*p, '/', (size_t)(end - *p));
        const char *ce = slash ? slash : end;
        *ret = ar_span_make(*p, ce);
        *p = ce + 1;
        if (ret->len)
            return true;
    }
    return false;
}

/* systemd's reading: the slices first, then the unit (cg_path_get_unit). */
static void unit_of(const char *path, size_t len, struct ar_cgroup_ctx *ret)
{
    ret->unit_len = 0;
    const char *p = path;
    struct ar_span c;
    while (next_component(&p, path + len, &c)) {
        if (has_suffix(c, ".slice"))
            continue;
        if (unit_name(c) && c.len <= AR_CGROUP_UNIT_MAX) {
            memcpy(ret->unit, c.p, c.len);
            ret->unit_len = (uint8_t)c.len;
        }
        return;
    }
}

static void container_of(const char *path, size_t len, struct ar_cgroup_ctx *ret)
{
    struct ar_span parent = {"", 0}, c;
    const char *p = path;
    while (next_component(&p, path + len, &c)) {
        pod_component(c, ret);
        container_component(c, parent, ret);
        parent = c;
    }
}

void ar_cgroup_parse_path(const char *path, size_t len, struct ar_cgroup_ctx *ret)
{
    memset(ret, 0, sizeof(*ret));
    container_of(path, len, ret);
    unit_of(path, len, ret);
}

void ar_cgroup_parse_file(const char *text, size_t len, struct ar_cgroup_ctx *ret)
{
    memset(ret, 0, sizeof(*ret));
    struct ar_span unit_path = {NULL, 0};
    bool systemd_line = false;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *c1 = memchr(p, ':', (size_t)(le - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(le - c1 - 1)) : NULL;
        if (c2) {
            struct ar_span controllers = ar_span_make(c1 + 1, c2);
            struct ar_span path = ar_span_make(c2 + 1, le);
            if (!ret->runtime)
                container_of(path.p, path.len, ret);
            if (AR_SPAN_IS(controllers, "name=systemd")) {
                unit_path = path;
                systemd_line = true;
            } else if (!systemd_line && controllers.len == 0 && c1 - p == 1 && *p == '0') {
                unit_path = path;
            }
        }
        p = le + 1;
    }
    if (unit_path.p)
        unit_of(unit_path.p, unit_path.len, ret);
}

const char *ar_cgroup_runtime_name(unsigned runtime)
{
    static const char *const names[] = {
        [AR_RUNTIME_DOCKER] = "docker", [AR_RUNTIME_CONTAINERD] = "containerd",
        [AR_RUNTIME_CRIO] = "cri-o",    [AR_RUNTIME_PODMAN] = "podman",
        [AR_RUNTIME_CRI] = "cri",       [AR_RUNTIME_UNKNOWN] = "unknown",
    };
    return runtime < AR_ARRAY_SIZE(names) ? names[runtime] : NULL;
}
