/* The systemd driver's pure half (src/cgroup/systemd_props.c): cgroupsPath
 * "slice:prefix:name" -> the scope's cgroup path, and the unit properties a
 * container's resources and org.systemd.property.* annotations become. The
 * expectations are runc's (libcontainer/cgroups/systemd: ExpandSlice,
 * getUnitName, genV1/genV2ResourcesProperties; libcontainer/specconv:
 * initSystemdProps). The D-Bus half runs in the systemd guest
 * (tests/vm/systemd/test_systemd.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/internal.h"

static void expand_is(const char *slice, const char *want)
{
    char *got = cg_sd_expand_slice(slice);
    if (!want) {
        if (got)
            fail_msg("%s expanded to %s, want refused", slice, got);
        return;
    }
    if (!got)
        fail_msg("%s refused, want %s", slice, want);
    assert_string_equal(got, want);
    free(got);
}

static void test_expand_slice(void **st)
{
    (void)st;
    expand_is("system.slice", "/system.slice");
    expand_is("machine.slice", "/machine.slice");
    expand_is("kubepods-burstable-podX.slice",
              "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podX.slice");
    expand_is("kubepods-burstable-pod12_ab.slice",
              "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_ab.slice");
    expand_is("a-b-c-d.slice", "/a.slice/a-b.slice/a-b-c.slice/a-b-c-d.slice");
    expand_is("-.slice", "");                 /* the root slice (runc: "/") */
    /* refused as runc's ExpandSlice refuses them */
    expand_is(".slice", NULL);                /* empty name */
    expand_is("system", NULL);                /* no .slice suffix */
    expand_is("system.scope", NULL);
    expand_is("slice", NULL);                 /* shorter than the suffix */
    expand_is("-test.slice", NULL);           /* empty component */
    expand_is("test-.slice", NULL);
    expand_is("test--a.slice", NULL);
    expand_is("a/b.slice", NULL);             /* a path separator */
    expand_is("/system.slice", NULL);
    /* beyond runc: characters systemd never accepts in a unit name */
    expand_is("sp ace.slice", NULL);
    expand_is("\xc3\xa9t\xc3\xa9.slice", NULL);
}

static void path_is(const char *cgroups_path, const char *id, const char *want,
                    const char *err_word)
{
    char *got = cg_sd_path_for(cgroups_path, id);
    if (!want) {
        if (got)
            fail_msg("\"%s\" gave %s, want refused", cgroups_path, got);
        const char *why = cg_sd_bad_path();
        assert_non_null(why);
        if (!strstr(why, err_word))
            fail_msg("\"%s\": \"%s\" does not say %s", cgroups_path, why, err_word);
        assert_null(strchr(why, '\n'));
        return;
    }
    if (!got)
        fail_msg("\"%s\" refused (%s), want %s", cgroups_path, cg_sd_bad_path(), want);
    assert_string_equal(got, want);
    assert_null(cg_sd_bad_path());
    free(got);
}

static void test_path_for(void **st)
{
    (void)st;
    /* podman, containerd with SystemdCgroup = true, docker */
    path_is("machine.slice:libpod:abc", "abc", "/machine.slice/libpod-abc.scope", NULL);
    path_is("kubepods-burstable-podU.slice:cri-containerd:c1", "c1",
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podU.slice/"
            "cri-containerd-c1.scope", NULL);
    path_is("system.slice:docker:0123abcd", "x", "/system.slice/docker-0123abcd.scope", NULL);
    /* the root slice; the name is the path's, not the id */
    path_is("-.slice:p:n", "id", "/p-n.scope", NULL);
    /* empty slice: runc's default parent (system.slice, user.slice rootless) */
    char *want = xasprintf("/%s/p-n.scope", geteuid() ? "user.slice" : "system.slice");
    path_is(":p:n", "id", want, NULL);
    free(want);
    /* no cgroupsPath: runc's system.slice:runc:<id>, here capsa-<id> */
    want = xasprintf("/%s/capsa-c9.scope", geteuid() ? "user.slice" : "system.slice");
    path_is("", "c9", want, NULL);
    path_is(NULL, "c9", want, NULL);
    free(want);
    /* bad forms: one line naming what is wrong */
    path_is("/machine.slice/x", "x", NULL, "slice:prefix:name");
    path_is("machine.slice:x", "x", NULL, "slice:prefix:name");
    path_is("a.slice:b:c:d", "x", NULL, "slice:prefix:name");
    path_is("machine.slice::", "x", NULL, "unit name");       /* empty name */
    path_is("machine.slice:p:a/b", "x", NULL, "unit name");    /* name with / */
    path_is("machine.slice:p:a b", "x", NULL, "unit name");
    path_is("bad--name.slice:p:x", "x", NULL, "slice name");
    path_is("machine:p:x", "x", NULL, "slice name");
    path_is("m/x.slice:p:x", "x", NULL, "slice name");
    /* runc makes a slice unit of "slice:prefix:name.slice"; capsa refuses it */
    path_is("machine.slice:p:sub.slice", "x", NULL, "only scopes");
    /* a good path after a bad one clears the reason */
    path_is("machine.slice:libpod:ok", "ok", "/machine.slice/libpod-ok.scope", NULL);
}

/* Root of a user namespace (as under rootless podman) with a user bus is
 * rootless for runc's cgroup manager: the default parent is user.slice there
 * too; without a user bus it is root's system.slice. Run in a child that maps
 * only its own uid (no privilege needed for that). */
static void test_path_for_root_in_userns(void **st)
{
    (void)st;
    if (geteuid() != 0)
        skip();   /* the non-root case is test_path_for's */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = -1;
        if (unshare(CLONE_NEWUSER) < 0 || (fd = open("/proc/self/uid_map", O_WRONLY)) < 0 ||
            write(fd, "0 0 1", 5) != 5)
            _exit(77);
        close(fd);
        /* with a user bus to reach: rootless, user.slice */
        setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus", 1);
        char *got = cg_sd_path_for("", "c9");
        if (!got || strcmp(got, "/user.slice/capsa-c9.scope"))
            _exit(1);
        /* without one runc takes itself for root: system.slice */
        unsetenv("DBUS_SESSION_BUS_ADDRESS");
        unsetenv("XDG_RUNTIME_DIR");
        got = cg_sd_path_for("", "c9");
        _exit(got && !strcmp(got, "/system.slice/capsa-c9.scope") ? 0 : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip();   /* no user namespaces here */
    assert_int_equal(WEXITSTATUS(status), 0);
}

static uint64_t u64(const cg_sd_props *p, const char *name)
{
    const cg_sd_prop *q = cg_sd_props_get(p, name);
    if (!q)
        fail_msg("no property %s", name);
    assert_int_equal(q->type, 't');
    return q->u;
}

static void test_resource_props_v2(void **st)
{
    (void)st;
    spec_resources r = {0};
    r.memory.has_limit = true;
    r.memory.limit = 64 << 20;
    r.memory.has_reservation = true;
    r.memory.reservation = 32 << 20;
    r.memory.has_swap = true;
    r.memory.swap = 96 << 20;               /* v1 memory+swap -> v2 swap 32 MiB */
    r.cpu.has_shares = true;
    r.cpu.shares = 1024;
    r.cpu.has_quota = true;
    r.cpu.quota = 50000;
    r.cpu.has_period = true;
    r.cpu.period = 100000;
    r.cpu.cpus = "0-2,9";
    r.has_pids = true;
    r.pids_limit = 50;
    cg_sd_props p = {0};
    capsa_err e;
    assert_int_equal(cg_sd_resource_props(&r, false, &p, &e), 0);
    assert_int_equal(u64(&p, "MemoryMax"), 64 << 20);
    assert_int_equal(u64(&p, "MemoryLow"), 32 << 20);
    assert_int_equal(u64(&p, "MemorySwapMax"), 32 << 20);
    assert_int_equal(u64(&p, "CPUWeight"), 39);   /* runc: 1 + (1024-2)*9999/262142 */
    assert_null(cg_sd_props_get(&p, "CPUShares"));
    assert_int_equal(u64(&p, "CPUQuotaPerSecUSec"), 500000);
    assert_int_equal(u64(&p, "CPUQuotaPeriodUSec"), 100000);
    assert_int_equal(u64(&p, "TasksMax"), 50);
    const cg_sd_prop *m = cg_sd_props_get(&p, "AllowedCPUs");
    assert_non_null(m);
    assert_int_equal(m->type, 'y');
    assert_int_equal(m->nbytes, 2);
    assert_int_equal(m->bytes[0], 0x07);
    assert_int_equal(m->bytes[1], 0x02);
    cg_sd_props_free(&p);

    /* runc rounds quota per second up to systemd's 10 ms steps */
    spec_resources q = {0};
    q.cpu.has_quota = true;
    q.cpu.quota = 12345;
    q.cpu.has_period = true;
    q.cpu.period = 100000;
    assert_int_equal(cg_sd_resource_props(&q, false, &p, &e), 0);
    assert_int_equal(u64(&p, "CPUQuotaPerSecUSec"), 130000);
    cg_sd_props_free(&p);
    /* quota -1 (unlimited): infinity; period alone: the default quota infinity too */
    q.cpu.quota = -1;
    assert_int_equal(cg_sd_resource_props(&q, false, &p, &e), 0);
    assert_true(u64(&p, "CPUQuotaPerSecUSec") == UINT64_MAX);
    cg_sd_props_free(&p);
    /* quota without period: per 100 ms */
    q.cpu.quota = 25000;
    q.cpu.has_period = false;
    assert_int_equal(cg_sd_resource_props(&q, false, &p, &e), 0);
    assert_int_equal(u64(&p, "CPUQuotaPerSecUSec"), 250000);
    assert_null(cg_sd_props_get(&p, "CPUQuotaPeriodUSec"));
    cg_sd_props_free(&p);

    /* TasksMax: 0 -> 1 (systemd takes 0 as no limit), -1 -> infinity; memory -1 -> infinity */
    spec_resources t = {0};
    t.has_pids = true;
    t.pids_limit = 0;
    t.memory.has_limit = true;
    t.memory.limit = -1;
    assert_int_equal(cg_sd_resource_props(&t, false, &p, &e), 0);
    assert_int_equal(u64(&p, "TasksMax"), 1);
    assert_true(u64(&p, "MemoryMax") == UINT64_MAX);
    cg_sd_props_free(&p);
    t.pids_limit = -1;
    assert_int_equal(cg_sd_resource_props(&t, false, &p, &e), 0);
    assert_true(u64(&p, "TasksMax") == UINT64_MAX);
    cg_sd_props_free(&p);

    /* nothing set: no properties */
    spec_resources none = {0};
    assert_int_equal(cg_sd_resource_props(&none, false, &p, &e), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(cg_sd_resource_props(NULL, false, &p, &e), 0);
    assert_int_equal(p.n, 0);

    /* a bad cpu list is one error */
    spec_resources bad = {0};
    bad.cpu.cpus = "0-x";
    assert_true(cg_sd_resource_props(&bad, false, &p, &e) < 0);
    assert_non_null(strstr(e.msg, "AllowedCPUs"));
    cg_sd_props_free(&p);
}

static void test_resource_props_unified(void **st)
{
    (void)st;
    spec_kv kv[] = {{"memory.high", "1048576"}, {"memory.min", "4096"}, {"pids.max", "max"},
                    {"cpu.weight", "77"}, {"memory.swap.max", "0"}, {"io.max", "8:0 rbps=1"}};
    spec_resources r = {0};
    r.unified.v = kv;
    r.unified.n = sizeof kv / sizeof *kv;
    cg_sd_props p = {0};
    capsa_err e;
    assert_int_equal(cg_sd_resource_props(&r, false, &p, &e), 0);
    assert_int_equal(u64(&p, "MemoryHigh"), 1048576);
    assert_int_equal(u64(&p, "MemoryMin"), 4096);
    assert_true(u64(&p, "TasksMax") == UINT64_MAX);
    assert_int_equal(u64(&p, "CPUWeight"), 77);
    assert_int_equal(u64(&p, "MemorySwapMax"), 0);
    assert_int_equal(p.n, 5);          /* io.max has no property: the file only */
    cg_sd_props_free(&p);
    /* legacy: no unified keys at all */
    assert_int_equal(cg_sd_resource_props(&r, true, &p, &e), 0);
    assert_int_equal(p.n, 0);
}

static void test_resource_props_legacy(void **st)
{
    (void)st;
    /* systemd on v1 controllers: runc's genV1ResourcesProperties names */
    spec_resources r = {0};
    r.memory.has_limit = true;
    r.memory.limit = 64 << 20;
    r.memory.has_reservation = true;
    r.memory.reservation = 32 << 20;
    r.memory.has_swap = true;
    r.memory.swap = 96 << 20;
    r.cpu.has_shares = true;
    r.cpu.shares = 512;
    r.cpu.has_quota = true;
    r.cpu.quota = 50000;
    r.has_pids = true;
    r.pids_limit = 7;
    cg_sd_props p = {0};
    capsa_err e;
    assert_int_equal(cg_sd_resource_props(&r, true, &p, &e), 0);
    assert_int_equal(u64(&p, "MemoryLimit"), 64 << 20);
    assert_int_equal(u64(&p, "CPUShares"), 512);
    assert_int_equal(u64(&p, "CPUQuotaPerSecUSec"), 500000);
    assert_int_equal(u64(&p, "TasksMax"), 7);
    assert_null(cg_sd_props_get(&p, "MemoryMax"));
    assert_null(cg_sd_props_get(&p, "CPUWeight"));
    assert_null(cg_sd_props_get(&p, "MemoryLow"));
    assert_null(cg_sd_props_get(&p, "MemorySwapMax"));
    cg_sd_props_free(&p);
}

static void test_device_props(void **st)
{
    (void)st;
    /* deny all, then allow: DevicePolicy=strict + DeviceAllow */
    spec_dev_rule d[] = {
        {.allow = false, .type = 'a'},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 5, .has_minor = true,
         .minor = 0, .access = "rw"},
        {.allow = true, .type = 'b', .has_major = true, .major = 8, .has_minor = true,
         .minor = 0, .access = NULL},
        {.allow = true, .type = 'c', .access = "m"},                       /* c *:* m */
        {.allow = true, .type = 'b', .has_major = true, .major = -1, .access = "m"},
        {.allow = true, .type = 'c', .has_major = true, .major = 136, .access = "rwm"},
    };
    spec_resources r = {.devices = d, .n_devices = sizeof d / sizeof *d};
    cg_sd_props p = {0};
    capsa_err e;
    cg_sd_set_proc_devices("Character devices:\n  1 mem\n  5 /dev/tty\n\nBlock devices:\n"
                           "136 notpts\n");
    assert_int_equal(cg_sd_resource_props(&r, false, &p, &e), 0);
    const cg_sd_prop *pol = cg_sd_props_get(&p, "DevicePolicy");
    assert_non_null(pol);
    assert_string_equal(pol->s, "strict");
    const cg_sd_prop *a = cg_sd_props_get(&p, "DeviceAllow");
    assert_non_null(a);
    assert_int_equal(a->type, 'D');
    static const char *const want[][2] = {{"/dev/char/1:3", "rwm"}, {"/dev/char/5:0", "rw"},
                                         {"/dev/block/8:0", "rwm"}, {"char-*", "m"},
                                         {"block-*", "m"}};
    /* "c 136:* rwm" (a major, any minor): no character major 136 in /proc/devices, no
     * DeviceAllow form: the eBPF filter / devices.allow the cgroupfs driver writes carry it */
    assert_int_equal(a->npairs, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(a->pairs[2 * i], want[i][0]);
        assert_string_equal(a->pairs[2 * i + 1], want[i][1]);
    }
    cg_sd_props_free(&p);
    /* with its name: "char-pts", as runc's findDeviceGroup (the first name of the major) */
    cg_sd_set_proc_devices("Character devices:\n  1 mem\n136 pts\n136 pts2\n\nBlock devices:\n"
                           "  8 sd\n");
    d[6].type = 'c';
    assert_int_equal(cg_sd_resource_props(&r, false, &p, &e), 0);
    a = cg_sd_props_get(&p, "DeviceAllow");
    assert_int_equal(a->npairs, 6);
    assert_string_equal(a->pairs[10], "char-pts");
    assert_string_equal(a->pairs[11], "rwm");
    cg_sd_props_free(&p);
    d[6].type = 'b';
    d[6].major = 8;
    assert_int_equal(cg_sd_resource_props(&r, false, &p, &e), 0);
    assert_string_equal(cg_sd_props_get(&p, "DeviceAllow")->pairs[10], "block-sd");
    cg_sd_props_free(&p);
    cg_sd_set_proc_devices(NULL);

    /* not deny-all first, or a deny later: no device properties (the files decide) */
    spec_dev_rule d2[] = {{.allow = true, .type = 'a', .access = "rwm"}};
    spec_resources r2 = {.devices = d2, .n_devices = 1};
    assert_int_equal(cg_sd_resource_props(&r2, false, &p, &e), 0);
    assert_int_equal(p.n, 0);
    spec_dev_rule d3[] = {{.allow = false, .type = 'a'},
                          {.allow = true, .type = 'c', .access = "rwm"},
                          {.allow = false, .type = 'c', .has_major = true, .major = 1,
                           .has_minor = true, .minor = 3, .access = "rwm"}};
    spec_resources r3 = {.devices = d3, .n_devices = 3};
    assert_int_equal(cg_sd_resource_props(&r3, false, &p, &e), 0);
    assert_int_equal(p.n, 0);
}

static const cg_sd_prop *ann_one(cg_sd_props *p, const char *key, const char *value)
{
    spec_kv kv[] = {{"io.other", "x"}, {(char *)key, (char *)value}};
    spec_map m = {kv, 2};
    capsa_err e;
    cg_sd_props_free(p);
    if (cg_sd_annotation_props(&m, p, &e) < 0)
        fail_msg("%s=%s refused: %s", key, value, e.msg);
    assert_int_equal(p->n, 1);
    return &p->v[0];
}

static void ann_bad(const char *key, const char *value, const char *word)
{
    spec_kv kv[] = {{(char *)key, (char *)value}};
    spec_map m = {kv, 1};
    cg_sd_props p = {0};
    capsa_err e;
    if (cg_sd_annotation_props(&m, &p, &e) == 0)
        fail_msg("%s=%s accepted", key, value);
    if (!strstr(e.msg, word))
        fail_msg("%s=%s: \"%s\" does not say %s", key, value, e.msg, word);
    assert_non_null(strstr(e.msg, key));
    cg_sd_props_free(&p);
}

static void test_annotation_props(void **st)
{
    (void)st;
    cg_sd_props p = {0};
    const cg_sd_prop *q;
    q = ann_one(&p, "org.systemd.property.TimeoutStopUSec", "uint64 123456789");
    assert_string_equal(q->name, "TimeoutStopUSec");
    assert_int_equal(q->type, 't');
    assert_int_equal(q->u, 123456789);
    q = ann_one(&p, "org.systemd.property.CollectMode", "'inactive-or-failed'");
    assert_string_equal(q->name, "CollectMode");
    assert_int_equal(q->type, 's');
    assert_string_equal(q->s, "inactive-or-failed");
    q = ann_one(&p, "org.systemd.property.CollectMode", "\"inactive\"");
    assert_string_equal(q->s, "inactive");
    q = ann_one(&p, "org.systemd.property.SendSIGHUP", "true");
    assert_int_equal(q->type, 'b');
    assert_true(q->b);
    q = ann_one(&p, "org.systemd.property.CPUWeight", "@t 20");
    assert_int_equal(q->type, 't');
    assert_int_equal(q->u, 20);
    q = ann_one(&p, "org.systemd.property.Nice", "-5");   /* bare: int32, as GVariant */
    assert_int_equal(q->type, 'i');
    assert_int_equal(q->i, -5);
    q = ann_one(&p, "org.systemd.property.OOMScoreAdjust", "int32 100");
    assert_int_equal(q->type, 'i');
    assert_int_equal(q->i, 100);
    /* runc: NAMESec -> NAMEUSec, the value in microseconds */
    q = ann_one(&p, "org.systemd.property.TimeoutStopSec", "uint64 4");
    assert_string_equal(q->name, "TimeoutStopUSec");
    assert_int_equal(q->u, 4000000);
    q = ann_one(&p, "org.systemd.property.RuntimeMaxSec", "double 1.5");
    assert_string_equal(q->name, "RuntimeMaxUSec");
    assert_int_equal(q->type, 't');
    assert_int_equal(q->u, 1500000);
    cg_sd_props_free(&p);

    /* in the order given, after the resources': a later one wins (systemd applies in order) */
    spec_kv kv[] = {{"org.systemd.property.TasksMax", "uint64 9"}};
    spec_map m = {kv, 1};
    spec_resources r = {.has_pids = true, .pids_limit = 5};
    capsa_err e;
    assert_int_equal(cg_sd_resource_props(&r, false, &p, &e), 0);
    assert_int_equal(cg_sd_annotation_props(&m, &p, &e), 0);
    assert_int_equal(u64(&p, "TasksMax"), 9);
    cg_sd_props_free(&p);
    assert_int_equal(cg_sd_annotation_props(NULL, &p, &e), 0);
    assert_int_equal(p.n, 0);

    /* runc's checkPropertyName: >= 3 ASCII letters only */
    ann_bad("org.systemd.property.Ab", "true", "property name");
    ann_bad("org.systemd.property.Foo_Bar", "true", "property name");
    ann_bad("org.systemd.property.Foo9", "true", "property name");
    ann_bad("org.systemd.property.", "true", "property name");
    /* values that are not a GVariant capsa reads */
    ann_bad("org.systemd.property.TimeoutStopUSec", "uint64 -1", "GVariant");
    ann_bad("org.systemd.property.TimeoutStopUSec", "uint64 12x", "GVariant");
    ann_bad("org.systemd.property.TimeoutStopUSec", "", "GVariant");
    ann_bad("org.systemd.property.CollectMode", "inactive", "GVariant");
    ann_bad("org.systemd.property.CollectMode", "'it's'", "GVariant");
    ann_bad("org.systemd.property.Nice", "int32 3000000000", "GVariant");
    ann_bad("org.systemd.property.TimeoutStopSec", "'long'", "needs a number");
    /* what capsa relies on cannot be replaced (Description marks capsa's scopes) */
    ann_bad("org.systemd.property.Description", "'mine'", "capsa sets");
    ann_bad("org.systemd.property.Slice", "'x.slice'", "capsa sets");
    ann_bad("org.systemd.property.PIDs", "'1'", "capsa sets");
    ann_bad("org.systemd.property.Delegate", "false", "capsa sets");
}

/* One a(st) entry of an 'A' property. */
static void dev_is(const cg_sd_props *p, const char *name, size_t idx, const char *dev,
                   uint64_t val)
{
    const cg_sd_prop *q = cg_sd_props_get(p, name);
    if (!q)
        fail_msg("no property %s", name);
    assert_int_equal(q->type, 'A');
    assert_true(idx < q->npairs);
    assert_string_equal(q->pairs[2 * idx], dev);
    assert_int_equal(q->vals[idx], val);
}

static spec_resources io_res(spec_blkio_weight_dev *wd, spec_blkio_throttle *t)
{
    spec_resources r = {0};
    r.blkio.has_weight = true;
    r.blkio.weight = 500;
    wd[0] = (spec_blkio_weight_dev){.major = 8, .minor = 0, .has_weight = true, .weight = 1000};
    wd[1] = (spec_blkio_weight_dev){.major = 8, .minor = 16, .has_weight = true, .weight = 0};
    wd[2] = (spec_blkio_weight_dev){.major = 8, .minor = 32, .has_weight = true, .weight = 10};
    r.blkio.weight_device = wd;
    r.blkio.n_weight_device = 3;
    t[0] = (spec_blkio_throttle){.major = 7, .minor = 0, .rate = 1048576};
    t[1] = (spec_blkio_throttle){.major = 7, .minor = 1, .rate = 2097152};
    t[2] = (spec_blkio_throttle){.major = 7, .minor = 0, .rate = 100};
    t[3] = (spec_blkio_throttle){.major = 7, .minor = 0, .rate = 200};
    r.blkio.read_bps = (spec_blkio_throttles){&t[0], 2};
    r.blkio.write_bps = (spec_blkio_throttles){&t[1], 1};
    r.blkio.read_iops = (spec_blkio_throttles){&t[2], 1};
    r.blkio.write_iops = (spec_blkio_throttles){&t[3], 1};
    return r;
}

static void test_io_props(void **st)
{
    (void)st;
    spec_blkio_weight_dev wd[3];
    spec_blkio_throttle t[4];
    spec_resources r = io_res(wd, t);
    cg_sd_props p = {0};
    capsa_err e;
    /* unified: runc's fs2 io.weight formula 1 + (w - 10) * 9999 / 990 */
    assert_int_equal(cg_sd_resource_props(&r, false, &p, &e), 0);
    assert_int_equal(u64(&p, "IOWeight"), 1 + (500 - 10) * 9999 / 990);   /* 4950 */
    dev_is(&p, "IODeviceWeight", 0, "/dev/block/8:0", 10000);
    dev_is(&p, "IODeviceWeight", 1, "/dev/block/8:32", 1);   /* weight 0: unset, left out */
    assert_int_equal(cg_sd_props_get(&p, "IODeviceWeight")->npairs, 2);
    dev_is(&p, "IOReadBandwidthMax", 0, "/dev/block/7:0", 1048576);
    dev_is(&p, "IOReadBandwidthMax", 1, "/dev/block/7:1", 2097152);
    dev_is(&p, "IOWriteBandwidthMax", 0, "/dev/block/7:1", 2097152);
    dev_is(&p, "IOReadIOPSMax", 0, "/dev/block/7:0", 100);
    dev_is(&p, "IOWriteIOPSMax", 0, "/dev/block/7:0", 200);
    assert_null(cg_sd_props_get(&p, "BlockIOWeight"));
    cg_sd_props_free(&p);
    /* legacy: the v1 names, weights as given (10..1000), no IOPS property */
    assert_int_equal(cg_sd_resource_props(&r, true, &p, &e), 0);
    assert_int_equal(u64(&p, "BlockIOWeight"), 500);
    dev_is(&p, "BlockIODeviceWeight", 0, "/dev/block/8:0", 1000);
    dev_is(&p, "BlockIODeviceWeight", 1, "/dev/block/8:32", 10);
    dev_is(&p, "BlockIOReadBandwidth", 1, "/dev/block/7:1", 2097152);
    dev_is(&p, "BlockIOWriteBandwidth", 0, "/dev/block/7:1", 2097152);
    assert_null(cg_sd_props_get(&p, "IOWeight"));
    assert_null(cg_sd_props_get(&p, "IOReadIOPSMax"));
    assert_null(cg_sd_props_get(&p, "BlockIOReadIOPS"));
    cg_sd_props_free(&p);
    /* the ends of the range; weight 0 (Docker's default blockIO) is unset */
    spec_resources w = {0};
    w.blkio.has_weight = true;
    w.blkio.weight = 10;
    assert_int_equal(cg_sd_resource_props(&w, false, &p, &e), 0);
    assert_int_equal(u64(&p, "IOWeight"), 1);
    cg_sd_props_free(&p);
    w.blkio.weight = 1000;
    assert_int_equal(cg_sd_resource_props(&w, false, &p, &e), 0);
    assert_int_equal(u64(&p, "IOWeight"), 10000);
    cg_sd_props_free(&p);
    w.blkio.weight = 100;
    assert_int_equal(cg_sd_resource_props(&w, false, &p, &e), 0);
    assert_int_equal(u64(&p, "IOWeight"), 1 + 90 * 9999 / 990);   /* 910 */
    cg_sd_props_free(&p);
    w.blkio.weight = 0;
    assert_int_equal(cg_sd_resource_props(&w, false, &p, &e), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(cg_sd_resource_props(&w, true, &p, &e), 0);
    assert_int_equal(p.n, 0);
}

static void ct_ann(const char *const *kv, bool systemd, bool unified, const char *sub,
                   const char *del, const char *why_word)
{
    spec_map m = {0};
    spec_kv ent[4];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        ent[n].key = (char *)kv[2 * n];
        ent[n].value = (char *)kv[2 * n + 1];
    }
    m.v = ent;
    m.n = n;
    char *s = NULL, *d = NULL, *why = NULL;
    int r = cg_sd_ct_annotations(&m, systemd, unified, &s, &d, &why);
    if (why_word) {
        assert_int_equal(r, -1);
        assert_non_null(why);
        if (!strstr(why, why_word))
            fail_msg("\"%s\" does not say \"%s\"", why, why_word);
        assert_null(strchr(why, '\n'));
        assert_null(s);
        assert_null(d);
    } else {
        if (r)
            fail_msg("refused: %s", why);
        if (sub)
            assert_string_equal(s, sub);
        else
            assert_null(s);
        if (del)
            assert_string_equal(d, del);
        else
            assert_null(d);
    }
    free(s);
    free(d);
    free(why);
}

#define KV(...) ((const char *const[]){__VA_ARGS__, NULL, NULL})

static void test_ct_annotations(void **st)
{
    (void)st;
    const char *none[] = {NULL, NULL};
    ct_ann(none, true, true, NULL, NULL, NULL);           /* runc's default: no subgroup */
    ct_ann(KV("run.oci.systemd.subgroup", "container"), true, true, "container", NULL, NULL);
    ct_ann(KV("run.oci.systemd.subgroup", "payload"), true, false, "payload", NULL, NULL);
    ct_ann(KV("run.oci.systemd.subgroup", ""), true, true, NULL, NULL, NULL);   /* crun: none */
    ct_ann(KV("run.oci.systemd.subgroup", "x"), false, true, NULL, NULL, NULL); /* cgroupfs */
    ct_ann(KV("run.oci.systemd.subgroup", "c", "run.oci.delegate-cgroup", "d"), true, true, "c",
           "d", NULL);
    ct_ann(KV("run.oci.delegate-cgroup", "d"), true, true, NULL, "d", NULL);
    ct_ann(KV("run.oci.delegate-cgroup", ""), true, false, NULL, NULL, NULL);
    /* refused, one line naming the annotation */
    ct_ann(KV("run.oci.systemd.subgroup", "a/b"), true, true, NULL, NULL,
           "run.oci.systemd.subgroup=a/b");
    ct_ann(KV("run.oci.systemd.subgroup", ".."), true, true, NULL, NULL, "run.oci.systemd.subgroup");
    ct_ann(KV("run.oci.systemd.subgroup", "."), true, true, NULL, NULL, "\".\" or \"..\"");
    ct_ann(KV("run.oci.systemd.subgroup", "cgroup.procs"), true, true, NULL, NULL,
           "interface file");
    ct_ann(KV("run.oci.systemd.subgroup", "memory.max"), true, true, NULL, NULL, "interface file");
    ct_ann(KV("run.oci.systemd.subgroup", "a\nb"), true, true, NULL, NULL, "control character");
    ct_ann(KV("run.oci.systemd.subgroup", "my.group"), true, true, "my.group", NULL, NULL);
    ct_ann(KV("run.oci.delegate-cgroup", "../x"), true, true, NULL, NULL,
           "run.oci.delegate-cgroup");
    ct_ann(KV("run.oci.delegate-cgroup", "d"), true, false, NULL, NULL, "cgroup v2");
    ct_ann(KV("run.oci.delegate-cgroup", "d"), false, true, NULL, NULL, "--systemd-cgroup");
    ct_ann(KV("run.oci.systemd.subgroup", "c", "run.oci.delegate-cgroup", "a/b"), true, true, NULL,
           NULL, "run.oci.delegate-cgroup");
    ct_ann(KV("run.oci.systemd.force_cgroup_v1", "/sys/fs/cgroup/systemd"), true, true, NULL, NULL,
           "run.oci.systemd.force_cgroup_v1");
    ct_ann(KV("run.oci.systemd.force_cgroup_v1", "/x"), false, true, NULL, NULL,
           "not supported");
}

static void scope_is(const char *path, const char *want)
{
    char *got = cg_sd_scope_of(path);
    if (!want) {
        if (got)
            fail_msg("%s: scope %s, want none", path ? path : "(null)", got);
        return;
    }
    if (!got)
        fail_msg("%s: no scope, want %s", path, want);
    assert_string_equal(got, want);
    free(got);
}

static void test_scope_of(void **st)
{
    (void)st;
    scope_is("/system.slice/capsa-a.scope", "/system.slice/capsa-a.scope");
    scope_is("/system.slice/capsa-a.scope/container", "/system.slice/capsa-a.scope");
    scope_is("/system.slice/capsa-a.scope/c/d", "/system.slice/capsa-a.scope");
    scope_is("/system.slice/capsa-a.scope/c/d/e", NULL);
    scope_is("/a.slice/x.scope/y.scope", "/a.slice/x.scope/y.scope");
    scope_is("/system.slice/capsa-a", NULL);
    scope_is("capsa/x", NULL);
    scope_is("/.scope", NULL);
    scope_is(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_slice),
        cmocka_unit_test(test_path_for),
        cmocka_unit_test(test_path_for_root_in_userns),
        cmocka_unit_test(test_resource_props_v2),
        cmocka_unit_test(test_resource_props_unified),
        cmocka_unit_test(test_resource_props_legacy),
        cmocka_unit_test(test_device_props),
        cmocka_unit_test(test_annotation_props),
        cmocka_unit_test(test_io_props),
        cmocka_unit_test(test_ct_annotations),
        cmocka_unit_test(test_scope_of),
    };
    return cmocka_run_group_tests_name("systemd", tests, NULL, NULL);
}
