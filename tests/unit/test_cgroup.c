/* The cgroup parser (enrich/cgroup.c) on the paths each runtime makes, cgroup v1
 * (several hierarchies, name=systemd) and v2 ("0::"), cgroupfs and systemd drivers. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "enrich/cgroup.h"

#define ID "4f797c539e6c745de61a93ca3ff892358ecbcaccd8414d5db545c38428142970"
#define ID2 "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d"
#define POD "7e44ee88-1e65-4a16-8cdf-9a90c819180e"
#define POD_ "7e44ee88_1e65_4a16_8cdf_9a90c819180e"

static void expect(const char *line, const struct ar_cgroup_ctx *c, const char *runtime,
                   const char *id, const char *pod, const char *unit)
{
    const char *rt = ar_cgroup_runtime_name(c->runtime);
    char got_id[80], got_pod[40], got_unit[100];
    snprintf(got_id, sizeof(got_id), "%.*s", c->id_len, c->id);
    snprintf(got_pod, sizeof(got_pod), "%.*s", c->pod_len, c->pod);
    snprintf(got_unit, sizeof(got_unit), "%.*s", c->unit_len, c->unit);
    if (strcmp(rt ? rt : "-", runtime) != 0 || strcmp(got_id, id) != 0 ||
        strcmp(got_pod, pod) != 0 || strcmp(got_unit, unit) != 0) {
        fprintf(stderr,
                "%s:\n  expected runtime=%s id=%s pod=%s unit=%s\n  got      runtime=%s id=%s "
                "pod=%s unit=%s\n",
                line, runtime, id, pod, unit, rt ? rt : "-", got_id, got_pod, got_unit);
        check_failures++;
    }
}

static void path(const char *p, const char *runtime, const char *id, const char *pod,
                 const char *unit)
{
    struct ar_cgroup_ctx c;
    ar_cgroup_parse_path(p, strlen(p), &c);
    expect(p, &c, runtime, id, pod, unit);
}

static void file(const char *text, const char *runtime, const char *id, const char *pod,
                 const char *unit)
{
    struct ar_cgroup_ctx c;
    ar_cgroup_parse_file(text, strlen(text), &c);
    expect(text, &c, runtime, id, pod, unit);
}

int main(void)
{
    /* docker: systemd driver (v1 and v2), cgroupfs driver, docker in docker */
    path("/system.slice/docker-" ID ".scope", "docker", ID, "", "docker-" ID ".scope");
    path("/docker/" ID, "docker", ID, "", "");
    path("/docker/" ID "/docker/" ID2, "docker", ID2, "", "");
    /* containerd: Kubernetes with the systemd driver, nerdctl */
    path("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_
         ".slice/cri-containerd-" ID ".scope",
         "containerd", ID, POD, "cri-containerd-" ID ".scope");
    path("/kubepods.slice/kubepods-pod" POD_ ".slice/cri-containerd-" ID ".scope", "containerd",
         ID, POD, "cri-containerd-" ID ".scope");
    path("/system.slice/nerdctl-" ID ".scope", "containerd", ID, "", "nerdctl-" ID ".scope");
    /* Kubernetes, cgroupfs driver: the runtime is not in the path */
    path("/kubepods/burstable/pod" POD "/" ID, "cri", ID, POD, "");
    path("/kubepods/pod" POD "/" ID, "cri", ID, POD, "");
    /* a pod's own cgroup (the pause container's parent): the pod, no container */
    path("/kubepods/burstable/pod" POD, "-", "", POD, "");
    /* cri-o; its conmon is outside the container */
    path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
         ".slice/crio-" ID ".scope",
         "cri-o", ID, POD, "crio-" ID ".scope");
    path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
         ".slice/crio-conmon-" ID ".scope",
         "-", "", POD, "crio-conmon-" ID ".scope");
    /* podman: rootful, rootless (v2, a "container" leaf), cgroupfs, conmon */
    path("/machine.slice/libpod-" ID ".scope", "podman", ID, "", "libpod-" ID ".scope");
    path("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID
         ".scope/container",
         "podman", ID, "", "user@1000.service");
    path("/libpod_parent/libpod-" ID, "podman", ID, "", "");
    path("/machine.slice/libpod-conmon-" ID ".scope", "-", "", "", "libpod-conmon-" ID ".scope");
    /* a bare id under something unknown */
    path("/custom/" ID, "unknown", ID, "", "");
    /* not containers: services, sessions, init, the root, short or non-hex ids */
    path("/system.slice/nginx.service", "-", "", "", "nginx.service");
    path("/user.slice/user-1000.slice/session-3.scope", "-", "", "", "session-3.scope");
    path("/init.scope", "-", "", "", "init.scope");
    path("/", "-", "", "", "");
    path("", "-", "", "", "");
    path("/system.slice/docker-4f797c539e6c.scope", "-", "", "", "docker-4f797c539e6c.scope");
    path("/docker/" ID "x", "-", "", "", "");
    path("/system.slice/docker.service", "-", "", "", "docker.service");
    path("/system.slice/not a unit.service", "-", "", "", "");
    path("/system.slice/foo.bar", "-", "", "", "");

    /* /proc/PID/cgroup: v2 */
    file("0::/system.slice/docker-" ID ".scope\n", "docker", ID, "", "docker-" ID ".scope");
    /* v1: the container from the controllers, the unit from name=systemd */
    file("12:pids:/docker/" ID "\n"
         "11:memory:/docker/" ID "\n"
         "2:cpu,cpuacct:/docker/" ID "\n"
         "1:name=systemd:/system.slice/containerd.service\n",
         "docker", ID, "", "containerd.service");
    file("10:devices:/system.slice/docker-" ID2 ".scope\n"
         "2:cpuacct,cpu:/system.slice/docker-" ID2 ".scope\n"
         "1:name=systemd:/system.slice/docker-" ID2 ".scope\n",
         "docker", ID2, "", "docker-" ID2 ".scope");
    /* hybrid: v1 controllers, name=systemd and the unified "0::" line */
    file("5:memory:/user.slice\n"
         "1:name=systemd:/user.slice/user-0.slice/session-7.scope\n"
         "0::/user.slice/user-0.slice/session-7.scope\n",
         "-", "", "", "session-7.scope");
    /* a host process, v2; no trailing newline; a malformed line is skipped */
    file("garbage\n0::/system.slice/ssh.service", "-", "", "", "ssh.service");
    file("", "-", "", "", "");
    return check_done();
}
