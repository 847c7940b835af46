/* Host discovery's pure parts (src/observe/discover_cgroup.c, discover_out.c):
 * what a cgroup path names (engine, id, Kubernetes pod and QoS), which line of
 * /proc/PID/cgroup is a process's, and the ids and names shown for a container. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe/discover_int.h"

#define HEX64 "3f2a5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829"
#define HEX64B "aa11bb22cc33dd44ee55ff6600778899aabbccddeeff00112233445566778899"

static obs_cgroup_class cls(const char *path)
{
    obs_cgroup_class c;
    assert_true(obs_cgroup_classify(path, &c));
    return c;
}

static void nothing(const char *path)
{
    obs_cgroup_class c;
    if (obs_cgroup_classify(path, &c))
        fail_msg("%s: named engine \"%s\" id \"%s\", expected nothing", path, c.engine, c.id);
    assert_string_equal(c.engine, "");
    assert_string_equal(c.id, "");
}

static void engine_id(const char *path, const char *engine, const char *id)
{
    obs_cgroup_class c = cls(path);
    assert_string_equal(c.engine, engine);
    assert_string_equal(c.id, id);
    assert_string_equal(c.pod_uid, "");
    assert_string_equal(c.pod_cgroup, "");
}

static void kube(const char *path, const char *qos, const char *uid, const char *pod_cgroup,
                 const char *cri, const char *id)
{
    obs_cgroup_class c = cls(path);
    assert_string_equal(c.engine, "kubernetes");
    assert_string_equal(c.qos, qos);
    assert_string_equal(c.pod_uid, uid);
    assert_string_equal(c.pod_cgroup, pod_cgroup);
    assert_string_equal(c.cri, cri);
    assert_string_equal(c.id, id);
}

static void test_podman(void **st)
{
    (void)st;
    /* cgroupfs: libpod_parent holds conmon/ and pods' directories, which name
     * no container; libpod-ID does */
    nothing("/libpod_parent/conmon");
    nothing("/libpod_parent");
    nothing("/libpod_parent/" HEX64B);
    engine_id("/libpod_parent/" HEX64B "/libpod-" HEX64, "podman", HEX64);
    engine_id("/libpod_parent/libpod-" HEX64, "podman", HEX64);
    /* systemd: machine.slice/libpod-ID.scope; conmon's own scope is none */
    engine_id("/machine.slice/libpod-" HEX64 ".scope", "podman", HEX64);
    engine_id("/machine.slice/libpod-" HEX64 ".scope/container", "podman", HEX64);
    nothing("/machine.slice/libpod-conmon-" HEX64 ".scope");
    /* libpod-X without .scope: only a hex id names a container */
    nothing("/libpod_parent/libpod-notanid");
}

static void test_docker(void **st)
{
    (void)st;
    engine_id("/docker/" HEX64, "docker", HEX64);
    engine_id("/docker/" HEX64 "/sub", "docker", HEX64);
    nothing("/docker/buildkit");
    nothing("/docker/not-a-hex-id-at-all");
    nothing("/docker");
    engine_id("/system.slice/docker-" HEX64 ".scope", "docker", HEX64);
    /* dockerd's own service is no container */
    nothing("/system.slice/docker.service");
}

static void test_containerd_crio(void **st)
{
    (void)st;
    /* k8s.io/ID: any id (ctr names its own) */
    engine_id("/k8s.io/" HEX64, "containerd", HEX64);
    engine_id("/k8s.io/my-ctr", "containerd", "my-ctr");
    engine_id("/system.slice/cri-containerd-" HEX64 ".scope", "containerd", HEX64);
    engine_id("/machine.slice/crio-" HEX64 ".scope", "cri-o", HEX64);
    nothing("/machine.slice/crio-conmon-" HEX64 ".scope");
}

static void test_kubepods_cgroupfs(void **st)
{
    (void)st;
    kube("/kubepods/burstable/pod0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/" HEX64, "burstable",
         "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
         "/kubepods/burstable/pod0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "", HEX64);
    kube("/kubepods/besteffort/pod1234-abcd/" HEX64, "besteffort", "1234-abcd",
         "/kubepods/besteffort/pod1234-abcd", "", HEX64);
    /* guaranteed pods sit right under kubepods */
    kube("/kubepods/pod1234-abcd/" HEX64, "guaranteed", "1234-abcd", "/kubepods/pod1234-abcd",
         "", HEX64);
    /* the pod's own cgroup: a pod, no container id */
    kube("/kubepods/burstable/pod1234-abcd", "burstable", "1234-abcd",
         "/kubepods/burstable/pod1234-abcd", "", "");
    /* kubepods alone: Kubernetes, nothing more known */
    kube("/kubepods/burstable", "burstable", "", "", "", "");
}

static void test_kubepods_systemd(void **st)
{
    (void)st;
    /* the slices spell the UID with underscores */
    kube("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b1c2d3e_4f50_6172_"
         "8394_a5b6c7d8e9f0.slice/cri-containerd-" HEX64 ".scope",
         "burstable", "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
         "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b1c2d3e_4f50_6172_"
         "8394_a5b6c7d8e9f0.slice",
         "containerd", HEX64);
    kube("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12ab_34cd.slice/"
         "crio-" HEX64 ".scope",
         "besteffort", "12ab-34cd",
         "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12ab_34cd.slice",
         "cri-o", HEX64);
    kube("/kubepods.slice/kubepods-pod12ab_34cd.slice/docker-" HEX64 ".scope", "guaranteed",
         "12ab-34cd", "/kubepods.slice/kubepods-pod12ab_34cd.slice", "docker", HEX64);
    /* a container directory that is no scope keeps its name as the id */
    kube("/kubepods.slice/kubepods-pod12ab_34cd.slice/" HEX64, "guaranteed", "12ab-34cd",
         "/kubepods.slice/kubepods-pod12ab_34cd.slice", "", HEX64);
}

static void test_other_engines(void **st)
{
    (void)st;
    engine_id("/lxc.payload.web1", "lxc", "web1");
    engine_id("/lxc.monitor.web1", "lxc", "web1");
    engine_id("/machine.slice/machine-deb12.scope", "nspawn", "deb12");
    nothing("/");
    nothing("");
    nothing("/user.slice/user-0.slice/session-3.scope");
    nothing("/system.slice/containerd.service");
    obs_cgroup_class c;
    assert_false(obs_cgroup_classify(NULL, &c));
}

static void test_primary_cgroup(void **st)
{
    (void)st;
    obs_cgroup_class c;
    bool classified;
    /* v1: the memory controller's line, though another names the engine first */
    char *p = obs_primary_cgroup("12:pids:/docker/" HEX64 "\n"
                                 "9:cpu,cpuacct:/other\n"
                                 "4:memory:/docker/" HEX64 "/mem\n"
                                 "0::/init.scope\n",
                                 &c, &classified);
    assert_string_equal(p, "/docker/" HEX64 "/mem");
    assert_true(classified);
    assert_string_equal(c.engine, "docker");
    free(p);
    /* no memory line: cgroup2's */
    p = obs_primary_cgroup("3:pids:/a\n0::/k8s.io/x\n", &c, &classified);
    assert_string_equal(p, "/k8s.io/x");
    assert_true(classified);
    assert_string_equal(c.engine, "containerd");
    assert_string_equal(c.id, "x");
    free(p);
    /* neither: the first; nothing named */
    p = obs_primary_cgroup("3:pids:/a\n2:cpu:/b\n", &c, &classified);
    assert_string_equal(p, "/a");
    assert_false(classified);
    free(p);
    p = obs_primary_cgroup("", &c, &classified);
    assert_null(p);
    assert_false(classified);
}

static void test_ids_names(void **st)
{
    (void)st;
    char buf[200];
    obs_host_ct c = {.engine = "docker", .id = HEX64, .pid = 42};
    obs_host_ct_id(&c, true, buf, sizeof buf);
    assert_string_equal(buf, "3f2a5c6d7e8f");
    obs_host_ct_id(&c, false, buf, sizeof buf);
    assert_string_equal(buf, HEX64);
    c.name = "web";
    obs_host_ct_name(&c, buf, sizeof buf);
    assert_string_equal(buf, "docker 3f2a5c6d7e8f \"web\"");
    /* ids that are not 64 hex digits are shown whole */
    obs_host_ct r = {.engine = "runc", .id = "my-container", .name = "my-container", .pid = 7};
    obs_host_ct_id(&r, true, buf, sizeof buf);
    assert_string_equal(buf, "my-container");
    obs_host_ct_name(&r, buf, sizeof buf);
    assert_string_equal(buf, "runc my-container");
    obs_host_ct u = {.engine = "unknown", .pid = 123};
    obs_host_ct_id(&u, true, buf, sizeof buf);
    assert_string_equal(buf, "pid-123");
    obs_host_ct_name(&u, buf, sizeof buf);
    assert_string_equal(buf, "unknown container (pid 123)");
}

static void test_json(void **st)
{
    (void)st;
    obs_host_ct c = {.engine = "cri-o", .id = "abc", .name = "web", .pid = 9, .nprocs = 2,
                     .comm = "sleep", .pod_uid = "u-1", .pod_name = "shop", .own_pidns = true};
    json_t *j = obs_host_ct_json(&c);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"id\":\"abc\",\"engine\":\"cri-o\",\"name\":\"web\","
                           "\"runtime\":null,\"pid\":9,\"comm\":\"sleep\",\"processes\":2,"
                           "\"cgroup\":null,\"state_root\":null,\"namespace\":null,"
                           "\"own_pid_ns\":true,\"own_mount_ns\":false,\"pod\":{\"uid\":"
                           "\"u-1\",\"qos\":null,\"cgroup\":null,\"name\":\"shop\","
                           "\"namespace\":null}}");
    free(s);
    json_decref(j);
    /* no pod known: null, not an empty object */
    obs_host_ct u = {.engine = "unknown", .pid = 3, .comm = "sh"};
    j = obs_host_ct_json(&u);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "pod")));
    assert_true(json_is_null(json_object_get(j, "id")));
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_podman),
        cmocka_unit_test(test_docker),
        cmocka_unit_test(test_containerd_crio),
        cmocka_unit_test(test_kubepods_cgroupfs),
        cmocka_unit_test(test_kubepods_systemd),
        cmocka_unit_test(test_other_engines),
        cmocka_unit_test(test_primary_cgroup),
        cmocka_unit_test(test_ids_names),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests_name("discover", tests, NULL, NULL);
}
