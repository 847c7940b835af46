/* Good configs land in the struct field by field; the default spec parses and
 * validates; names round-trip. The malformed corpus is test_spec_errors.c. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include <linux/capability.h>
#include <sched.h>

#include "spec/spec.h"

/* JSON written with ' for " keeps the configs below readable. */
static char *J(const char *s)
{
    char *t = strdup(s);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

#define BIT(c) (UINT64_C(1) << (c))

#include "configs/runc_full.h"

static spec *parse_ok(const char *json)
{
    spec *s = NULL;
    capsa_err e = {0};
    int r = spec_parse(json, strlen(json), "config.json", &s, &e);
    if (r)
        fail_msg("unexpected error: %s", e.msg);
    assert_non_null(s);
    return s;
}

static void test_full_process(void **state)
{
    (void)state;
    char *json = J(full_config);
    spec *s = parse_ok(json);
    assert_string_equal(s->oci_version, "1.2.0");
    assert_true(s->has_process);
    spec_process *p = &s->process;
    assert_false(p->terminal);
    assert_true(p->console_size.has_size);
    assert_int_equal(p->console_size.height, 25);
    assert_int_equal(p->console_size.width, 80);
    assert_int_equal(p->user.uid, 1000);
    assert_int_equal(p->user.gid, 1001);
    assert_true(p->user.has_umask);
    assert_int_equal(p->user.umask, 022);
    assert_int_equal(p->user.n_additional_gids, 3);
    assert_int_equal(p->user.additional_gids[2], UINT32_MAX);
    assert_int_equal(p->args.n, 3);
    assert_string_equal(p->args.v[2], "echo hi");
    assert_null(p->args.v[3]);
    assert_int_equal(p->env.n, 3);
    assert_string_equal(p->env.v[2], "EMPTY=");
    assert_string_equal(p->cwd, "/home/u");

    assert_true(p->caps.present);
    assert_true(p->caps.bounding ==
                (BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_SYS_ADMIN) | BIT(CAP_CHECKPOINT_RESTORE)));
    assert_true(p->caps.effective == BIT(CAP_KILL));
    assert_true(p->caps.inheritable == 0);
    assert_true(p->caps.permitted == (BIT(CAP_CHOWN) | BIT(CAP_KILL)));
    assert_true(p->caps.ambient == BIT(CAP_NET_RAW));

    assert_int_equal(p->n_rlimits, 2);
    assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
    assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
    assert_true(p->rlimits[0].hard == 4096 && p->rlimits[0].soft == 1024);
    assert_int_equal(p->rlimits[1].resource, RLIMIT_RTTIME);
    assert_true(p->rlimits[1].hard == INT64_MAX);
    assert_true(p->no_new_privileges);
    assert_true(p->has_oom_score_adj);
    assert_int_equal(p->oom_score_adj, -999);
    assert_string_equal(p->apparmor_profile, "");
    assert_null(p->selinux_label); /* null is absent */
    assert_false(p->has_scheduler);
    assert_false(p->has_io_priority);

    assert_string_equal(s->root_path, "/var/lib/c/rootfs");
    assert_true(s->root_readonly);
    assert_string_equal(s->hostname, "box");
    assert_string_equal(s->domainname, "example.org");
    assert_int_equal(s->n_mounts, 2);
    assert_string_equal(s->mounts[0].destination, "/proc");
    assert_int_equal(s->mounts[0].options.n, 0);
    assert_non_null(s->mounts[0].options.v); /* absent lists are empty, not NULL */
    assert_null(s->mounts[0].options.v[0]);
    assert_string_equal(s->mounts[1].type, "bind");
    assert_string_equal(s->mounts[1].source, "/srv/data");
    assert_int_equal(s->mounts[1].options.n, 2);
    assert_string_equal(s->mounts[1].options.v[1], "ro");

    assert_true(s->has_hooks);
    assert_int_equal(s->hooks.prestart.n, 1);
    assert_string_equal(s->hooks.prestart.v[0].path, "/usr/bin/fix");
    assert_string_equal(s->hooks.prestart.v[0].args.v[1], "a");
    assert_string_equal(s->hooks.prestart.v[0].env.v[0], "A=1");
    assert_true(s->hooks.prestart.v[0].has_timeout);
    assert_int_equal(s->hooks.prestart.v[0].timeout, 5);
    assert_false(s->hooks.poststop.v[0].has_timeout);
    assert_int_equal(s->hooks.create_runtime.n, 0);
    assert_int_equal(s->annotations.n, 2);
    assert_string_equal(s->annotations.v[0].key, "org.example.key");
    assert_string_equal(s->annotations.v[0].value, "value");
    spec_free(s);
    free(json);
}

static void test_full_linux(void **state)
{
    (void)state;
    char *json = J(full_config);
    spec *s = parse_ok(json);
    spec_linux *l = &s->linux;
    assert_true(s->has_linux);
    for (int t = 0; t < NS__COUNT; t++)
        assert_true(l->ns[t].present);
    assert_string_equal(l->ns[NS_NET].path, "/var/run/netns/n1");
    assert_null(l->ns[NS_PID].path);
    assert_int_equal(l->ns[NS_TIME].index, 7);
    assert_int_equal(l->uid_mappings.n, 1);
    assert_int_equal(l->uid_mappings.v[0].host_id, 100000);
    assert_int_equal(l->uid_mappings.v[0].size, 65536);
    assert_int_equal(l->gid_mappings.n, 2);
    assert_int_equal(l->gid_mappings.v[1].container_id, 65536);
    assert_int_equal(l->gid_mappings.v[1].host_id, 4294967294u);
    assert_int_equal(l->n_time_offsets, 2);
    assert_string_equal(l->time_offsets[0].clock, "monotonic");
    assert_int_equal(l->time_offsets[0].secs, -86400);
    assert_int_equal(l->time_offsets[0].nanosecs, 5);
    assert_string_equal(l->time_offsets[1].clock, "boottime");
    assert_int_equal(l->n_devices, 2);
    assert_int_equal(l->devices[0].type, 'c');
    assert_int_equal(l->devices[0].major, 10);
    assert_int_equal(l->devices[0].minor, 229);
    assert_true(l->devices[0].has_mode && l->devices[0].mode == 0666);
    assert_true(l->devices[0].has_uid && l->devices[0].has_gid);
    assert_int_equal(l->devices[1].type, 'p');
    assert_false(l->devices[1].has_mode);
    assert_string_equal(l->cgroups_path, "system.slice:capsa:c1");

    spec_resources *r = &l->resources;
    assert_true(r->present);
    assert_int_equal(r->n_devices, 3);
    assert_false(r->devices[0].allow);
    assert_int_equal(r->devices[0].type, 'a');
    assert_false(r->devices[0].has_major);
    assert_true(r->devices[1].allow);
    assert_int_equal(r->devices[1].type, 'c');
    assert_string_equal(r->devices[1].access, "rw");
    assert_true(r->devices[2].has_major && !r->devices[2].has_minor);
    assert_null(r->devices[2].access);
    assert_true(r->memory.present && r->memory.has_limit);
    assert_int_equal(r->memory.limit, 536870912);
    assert_int_equal(r->memory.swap, -1);
    assert_true(r->memory.has_swappiness && r->memory.swappiness == 60);
    assert_true(r->memory.has_disable_oom_killer && !r->memory.disable_oom_killer);
    assert_true(r->memory.has_use_hierarchy && r->memory.use_hierarchy);
    assert_true(r->memory.has_check_before_update);
    assert_true(r->cpu.present && r->cpu.has_shares && r->cpu.shares == 1024);
    assert_int_equal(r->cpu.quota, 50000);
    assert_int_equal(r->cpu.burst, 1000);
    assert_int_equal(r->cpu.period, 100000);
    assert_int_equal(r->cpu.rt_runtime, 950000);
    assert_int_equal(r->cpu.rt_period, 1000000);
    assert_string_equal(r->cpu.cpus, "2-3");
    assert_string_equal(r->cpu.mems, "0");
    assert_true(r->cpu.has_idle && r->cpu.idle == 1);
    assert_true(r->has_pids);
    assert_int_equal(r->pids_limit, 100);
    assert_true(r->blkio.present && r->blkio.weight == 500 && r->blkio.leaf_weight == 300);
    assert_int_equal(r->blkio.n_weight_device, 1);
    assert_true(r->blkio.weight_device[0].has_weight && !r->blkio.weight_device[0].has_leaf_weight);
    assert_int_equal(r->blkio.weight_device[0].weight, 600);
    assert_int_equal(r->blkio.read_bps.n, 1);
    assert_int_equal(r->blkio.read_bps.v[0].rate, 104857600);
    assert_int_equal(r->blkio.write_iops.v[0].minor, 16);
    assert_int_equal(r->blkio.write_bps.n, 0);
    assert_int_equal(r->n_hugepages, 1);
    assert_string_equal(r->hugepages[0].page_size, "2MB");
    assert_true(r->hugepages[0].limit == 9223372036854771712ull);
    assert_true(r->has_net_class_id && r->net_class_id == 1048577);
    assert_string_equal(r->net_priorities[0].name, "eth0");
    assert_int_equal(r->net_priorities[0].priority, 500);
    assert_false(r->has_rdma);
    assert_int_equal(r->unified.n, 2);
    assert_string_equal(r->unified.v[1].key, "io.max");
    assert_string_equal(r->unified.v[1].value, "8:0 rbps=1024");

    assert_int_equal(l->sysctl.n, 2);
    assert_string_equal(l->sysctl.v[0].key, "net.ipv4.ip_forward");
    spec_seccomp *sc = &l->seccomp;
    assert_true(sc->present);
    assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
    assert_true(sc->has_default_errno_ret && sc->default_errno_ret == 1);
    assert_string_equal(sc->architectures.v[1], "SCMP_ARCH_X86");
    assert_string_equal(sc->flags.v[0], "SECCOMP_FILTER_FLAG_LOG");
    assert_int_equal(sc->n_syscalls, 3);
    assert_string_equal(sc->syscalls[0].names.v[1], "write");
    assert_int_equal(sc->syscalls[1].n_args, 2);
    assert_true(sc->syscalls[1].args[0].value == 4294967295u);
    assert_string_equal(sc->syscalls[1].args[1].op, "SCMP_CMP_MASKED_EQ");
    assert_int_equal(sc->syscalls[1].args[1].index, 1);
    assert_true(sc->syscalls[1].args[1].value_two == 8);
    assert_true(sc->syscalls[2].has_errno_ret && sc->syscalls[2].errno_ret == 38);
    assert_false(sc->syscalls[0].has_errno_ret);
    assert_string_equal(l->rootfs_propagation, "rslave");
    assert_true(l->has_masked_paths && l->masked_paths.n == 2);
    assert_string_equal(l->readonly_paths.v[0], "/proc/sys");
    assert_string_equal(l->mount_label, "");
    assert_true(l->has_personality);
    assert_string_equal(l->personality_domain, "LINUX32");
    assert_false(l->has_intel_rdt);
    spec_free(s);
    free(json);
}

/* The full runc-style config (hooks, seccomp, resources, ...) is all implemented. */
static void test_full_validate(void **state)
{
    (void)state;
    char *json = J(full_config);
    spec *s = parse_ok(json);
    capsa_err e = {0};
    assert_int_equal(spec_validate(s, &e), 0);
    spec_free(s);
    free(json);
}

static void test_minimal(void **state)
{
    (void)state;
    char *json = J("{'ociVersion': '1.0.2-dev', 'root': {'path': 'rootfs'}}");
    spec *s = parse_ok(json);
    capsa_err e = {0};
    /* parses, but no mount namespace: refused before anything is made (issue 17) */
    assert_int_equal(spec_validate(s, &e), -EINVAL);
    assert_string_equal(e.msg, "config.json:1:1: no mount namespace: the container's mounts "
                        "would be made in the host's mount table (runc 1.1.5 does, and "
                        "leaves them there after delete); add {\"type\": \"mount\"} to "
                        "linux.namespaces");
    assert_false(s->has_process);
    assert_false(s->has_linux);
    assert_false(s->root_readonly);
    assert_int_equal(s->n_mounts, 0);
    spec_free(s);
    free(json);
}

/* Go engines write null for unset slices and pointers. */
static void test_nulls_are_absent(void **state)
{
    (void)state;
    char *json = J("{'ociVersion': '1.1.0', 'root': {'path': 'r', 'readonly': null},"
                   " 'mounts': null, 'hooks': null, 'annotations': null,"
                   " 'process': {'cwd': '/', 'args': ['x'], 'user': {'uid': 0, 'gid': 0,"
                   " 'additionalGids': null}, 'env': null, 'capabilities': null, 'rlimits': null},"
                   " 'linux': {'namespaces': [{'type': 'mount', 'path': null}],"
                   " 'resources': null, 'seccomp': null,"
                   " 'rootfsPropagation': '', 'maskedPaths': null}}");
    spec *s = parse_ok(json);
    capsa_err e = {0};
    assert_int_equal(spec_validate(s, &e), 0);
    assert_false(s->process.caps.present);
    assert_true(s->process.env.n == 0 && s->process.env.v && !s->process.env.v[0]);
    assert_true(s->linux.masked_paths.v && !s->linux.masked_paths.v[0]);
    assert_false(s->linux.resources.present);
    assert_false(s->linux.seccomp.present);
    assert_null(s->linux.rootfs_propagation);
    assert_false(s->linux.has_masked_paths);
    spec_free(s);
    free(json);
}

static void test_default_spec(bool rootless)
{
    spec_default_opts o = {.rootless = rootless};
    char *text = spec_default_json(&o);
    assert_non_null(text);
    assert_int_equal(text[strlen(text) - 1], '}');
    assert_true(strncmp(text, "{\n  \"ociVersion\": \"1.2.0\",\n  \"process\": {", 40) == 0);
    spec *s = parse_ok(text);
    capsa_err e = {0};
    if (spec_validate(s, &e))
        fail_msg("default spec (rootless=%d) does not validate: %s", rootless, e.msg);

    uint64_t want = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FSETID) | BIT(CAP_FOWNER) |
                    BIT(CAP_MKNOD) | BIT(CAP_NET_RAW) | BIT(CAP_SETGID) | BIT(CAP_SETUID) |
                    BIT(CAP_SETFCAP) | BIT(CAP_SETPCAP) | BIT(CAP_NET_BIND_SERVICE) |
                    BIT(CAP_SYS_CHROOT) | BIT(CAP_KILL) | BIT(CAP_AUDIT_WRITE);
    assert_true(s->process.caps.bounding == want);
    assert_true(s->process.caps.effective == want);
    assert_true(s->process.caps.permitted == want);
    assert_true(s->process.caps.inheritable == 0 && s->process.caps.ambient == 0);
    assert_true(s->process.no_new_privileges);
    assert_false(s->process.terminal);
    assert_string_equal(s->process.args.v[0], "sh");
    assert_int_equal(s->process.n_rlimits, 1);
    assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
    assert_string_equal(s->root_path, "rootfs");
    assert_true(s->root_readonly);
    assert_string_equal(s->hostname, "capsa");
    assert_int_equal(s->n_mounts, 7);
    assert_string_equal(s->mounts[6].destination, "/sys/fs/cgroup");
    assert_int_equal(s->linux.masked_paths.n, 11);
    assert_int_equal(s->linux.readonly_paths.n, 5);
    assert_true(s->linux.ns[NS_PID].present && s->linux.ns[NS_MNT].present &&
                s->linux.ns[NS_CGROUP].present && s->linux.ns[NS_UTS].present &&
                s->linux.ns[NS_IPC].present);
    assert_false(s->linux.ns[NS_TIME].present);

    const char *pts_last = s->mounts[2].options.v[s->mounts[2].options.n - 1];
    if (rootless) {
        assert_true(s->linux.ns[NS_USER].present);
        assert_false(s->linux.ns[NS_NET].present);
        assert_int_equal(s->linux.uid_mappings.n, 1);
        assert_int_equal(s->linux.uid_mappings.v[0].host_id, getuid());
        assert_int_equal(s->linux.gid_mappings.v[0].host_id, getgid());
        assert_int_equal(s->linux.uid_mappings.v[0].size, 1);
        assert_false(s->linux.resources.present);
        assert_string_equal(s->mounts[5].source, "/sys");
        assert_string_equal(s->mounts[5].options.v[0], "rbind");
        assert_string_equal(pts_last, "mode=0620");
    } else {
        assert_false(s->linux.ns[NS_USER].present);
        assert_true(s->linux.ns[NS_NET].present);
        assert_int_equal(s->linux.resources.n_devices, 1);
        assert_false(s->linux.resources.devices[0].allow);
        assert_string_equal(s->linux.resources.devices[0].access, "rwm");
        assert_string_equal(s->mounts[5].type, "sysfs");
        assert_string_equal(pts_last, "gid=5");
    }
    spec_free(s);
    free(text);
}

static void test_default_root(void **state)
{
    (void)state;
    test_default_spec(false);
}

static void test_default_rootless(void **state)
{
    (void)state;
    test_default_spec(true);
}

static void test_default_options(void **state)
{
    (void)state;
    char *args[] = {"/bin/echo", "a b", NULL};
    spec_default_opts o = {.rootfs = "/srv/root", .hostname = "h1", .args = args};
    char *text = spec_default_json(&o);
    spec *s = parse_ok(text);
    assert_string_equal(s->root_path, "/srv/root");
    assert_string_equal(s->hostname, "h1");
    assert_int_equal(s->process.args.n, 2);
    assert_string_equal(s->process.args.v[1], "a b");
    spec_free(s);
    free(text);

    char *bad[] = {"\xff", NULL};
    o.args = bad;
    assert_null(spec_default_json(&o));
    text = spec_default_json(NULL);
    assert_non_null(text);
    free(text);
}

static void test_cap_names(void **state)
{
    (void)state;
    assert_int_equal(spec_cap_last(), CAP_LAST_CAP);
    for (int c = 0; c <= spec_cap_last(); c++) {
        const char *n = spec_cap_name(c);
        assert_non_null(n);
        assert_true(strncmp(n, "CAP_", 4) == 0);
        assert_int_equal(spec_cap_from_name(n), c);
        assert_int_equal(spec_cap_from_name(n + 4), c);
    }
    assert_int_equal(spec_cap_from_name("cap_sys_admin"), CAP_SYS_ADMIN);
    assert_int_equal(spec_cap_from_name("Sys_Admin"), CAP_SYS_ADMIN);
    assert_string_equal(spec_cap_name(CAP_CHOWN), "CAP_CHOWN");
    assert_string_equal(spec_cap_name(CAP_BPF), "CAP_BPF");
    assert_int_equal(spec_cap_from_name("CAP_FOO"), -1);
    assert_int_equal(spec_cap_from_name("CAP_"), -1);
    assert_int_equal(spec_cap_from_name(""), -1);
    assert_int_equal(spec_cap_from_name("12"), -1);
    assert_int_equal(spec_cap_from_name(NULL), -1);
    assert_null(spec_cap_name(-1));
    assert_null(spec_cap_name(spec_cap_last() + 1));
}

static void test_rlimit_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int r;
    } t[] = {
        {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        assert_int_equal(spec_rlimit_from_name(t[i].name), t[i].r);
    assert_int_equal(spec_rlimit_from_name("NOFILE"), -1);
    assert_int_equal(spec_rlimit_from_name("RLIMIT_FOO"), -1);
    assert_int_equal(spec_rlimit_from_name(NULL), -1);
}

static void test_ns_names(void **state)
{
    (void)state;
    static const char *const names[] = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};
    static const char *const proc[] = {"pid", "net", "mnt", "ipc", "uts", "user", "cgroup", "time"};
    static const int flags[] = {CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWIPC,
                                CLONE_NEWUTS, CLONE_NEWUSER, CLONE_NEWCGROUP, 0x80};
    for (int t = 0; t < NS__COUNT; t++) {
        assert_string_equal(spec_ns_name(t), names[t]);
        assert_string_equal(spec_ns_proc_name(t), proc[t]);
        assert_int_equal(spec_ns_clone_flag(t), flags[t]);
    }
    assert_null(spec_ns_name(NS__COUNT));
}

static void test_err_at_and_paths(void **state)
{
    (void)state;
    char *json = J("{'ociVersion': '1.0.0', 'root': {'path': 'r'},\n"
                   " 'annotations': {'we\\'ird': 'x', 'a.b': 'y'},\n"
                   " 'mounts': [{'destination': '/a', 'options': ['ro', 'nosuid']}]}");
    spec *s = parse_ok(json);
    assert_true(spec_has_path(s, "mounts[0].options[1]"));
    assert_true(spec_has_path(s, "annotations.we\"ird"));
    assert_true(spec_has_path(s, "annotations.a.b"));
    assert_true(spec_has_path(s, ""));
    assert_false(spec_has_path(s, "mounts[1]"));
    assert_false(spec_has_path(s, "process"));

    capsa_err e = {0};
    assert_int_equal(spec_err_at(s, &e, EPERM, "mounts[0].options[1]", "cannot %s", "mount"), -EPERM);
    assert_string_equal(e.msg, "config.json:3:53: mounts[0].options[1]: cannot mount");
    assert_int_equal(e.code, EPERM);
    spec_err_at(s, &e, EINVAL, "linux.resources", "no such thing");
    assert_string_equal(e.msg, "config.json: linux.resources: no such thing");
    spec_err_at(s, &e, EINVAL, "", "whole file");
    assert_string_equal(e.msg, "config.json:1:1: whole file");
    spec_free(s);
    free(json);
}

static void test_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/capsa-test-spec-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/config.json", dir);
    spec *s = NULL;
    capsa_err e = {0};
    assert_int_equal(spec_load(path, &s, &e), -ENOENT);
    assert_null(s);
    assert_non_null(strstr(e.msg, "No such file"));

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": {\"path\": 5}\n}\n", f);
    fclose(f);
    assert_int_equal(spec_load(path, &s, &e), -EINVAL);
    char want[160];
    snprintf(want, sizeof want, "%s:3:20: root.path: expected a string, got an integer", path);
    assert_string_equal(e.msg, want);

    char *text = spec_default_json(NULL);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    free(text);
    assert_int_equal(spec_load(path, &s, &e), 0);
    assert_string_equal(s->fname, path);
    spec_free(s);
    spec_free(NULL);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_process),
        cmocka_unit_test(test_full_linux),
        cmocka_unit_test(test_full_validate),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_nulls_are_absent),
        cmocka_unit_test(test_default_root),
        cmocka_unit_test(test_default_rootless),
        cmocka_unit_test(test_default_options),
        cmocka_unit_test(test_cap_names),
        cmocka_unit_test(test_rlimit_names),
        cmocka_unit_test(test_ns_names),
        cmocka_unit_test(test_err_at_and_paths),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
