/* What a process's cgroup path says about it: the container it runs in (docker,
 * containerd, cri-o, podman; the Kubernetes pod) and its systemd unit. Pure: it
 * reads the text of /proc/PID/cgroup or one path, which the caller got. The
 * patterns are the runtimes' own naming (cgroup v1 and v2, the cgroupfs and systemd
 * drivers), as Falco's and laurel's container parsers read them; nested containers
 * give the innermost. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define AR_CGROUP_ID_MAX 64   /* a container id: 64 hex digits */
#define AR_CGROUP_POD_MAX 36  /* a pod uid, 8-4-4-4-12 */
#define AR_CGROUP_UNIT_MAX 96 /* a longer unit name is not kept (a cut one would mislead) */

enum ar_container_runtime {
    AR_RUNTIME_NONE,
    AR_RUNTIME_DOCKER,     /* docker-ID.scope, /docker/ID */
    AR_RUNTIME_CONTAINERD, /* cri-containerd-ID.scope, nerdctl-ID.scope */
    AR_RUNTIME_CRIO,       /* crio-ID.scope */
    AR_RUNTIME_PODMAN,     /* libpod-ID.scope, /libpod_parent/libpod-ID */
    AR_RUNTIME_CRI,        /* a bare ID in a Kubernetes pod (cgroupfs driver): containerd or cri-o */
    AR_RUNTIME_UNKNOWN,    /* a bare 64-hex-digit ID under anything else */
};

struct ar_cgroup_ctx {
    uint8_t runtime;           /* enum ar_container_runtime; NONE: not in a container */
    uint8_t id_len, pod_len, unit_len;
    char id[AR_CGROUP_ID_MAX];
    char pod[AR_CGROUP_POD_MAX]; /* the pod uid with dashes, empty outside Kubernetes */
    char unit[AR_CGROUP_UNIT_MAX];
};

/* One cgroup path ("/system.slice/docker-ID.scope"). */
void ar_cgroup_parse_path(const char *path, size_t len, struct ar_cgroup_ctx *ret);

/* The text of /proc/PID/cgroup: "hierarchy:controllers:path" lines (v1, v2's "0::",
 * or both). The container comes from the first line that names one; the unit from
 * the "name=systemd" line when there is one (v1 and hybrid), else from "0::". */
void ar_cgroup_parse_file(const char *text, size_t len, struct ar_cgroup_ctx *ret);

/* "docker", "containerd", "cri-o", "podman", "cri", "unknown"; NULL for NONE. */
const char *ar_cgroup_runtime_name(unsigned runtime);
