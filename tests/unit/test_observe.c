/* The observatory's pure parts: /proc parsing, capability names and risks,
 * mountinfo lookups, the devices.list rules, stats rates and warnings,
 * report exit codes and JSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/capability.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "observe/audit_int.h"
#include "observe/caps.h"
#include "observe/check.h"
#include "observe/limits.h"
#include "util/mountinfo.h"
#include "observe/observe_stats.h"
#include "observe/procinfo.h"
#include "observe/report.h"

static void test_status(void **st)
{
    (void)st;
    const char *t = "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\n"
                    "Uid:\t0\t0\t0\t0\nGid:\t100\t101\t102\t103\n"
                    "CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\n"
                    "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n"
                    "CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"
                    "Seccomp_filters:\t3\n";
    obs_proc p = {0};
    obs_status_parse(t, &p);
    assert_string_equal(p.comm, "sleep");
    assert_true(p.has_caps);
    assert_true(p.has_ids);
    assert_int_equal(p.uid[1], 0);
    assert_int_equal(p.gid[1], 101);
    assert_int_equal(p.cap_eff, 0xa80425fbULL);
    assert_int_equal(p.no_new_privs, 1);
    assert_int_equal(p.seccomp, 2);
    assert_int_equal(p.seccomp_filters, 3);
    obs_proc q = {0};
    obs_status_parse("Name:\tx\n", &q);  /* an old kernel: nothing reported */
    assert_false(q.has_caps);
    assert_int_equal(q.no_new_privs, -1);
    assert_int_equal(q.seccomp, -1);
}

static void test_idmap(void **st)
{
    (void)st;
    assert_true(obs_idmap_is_identity("         0          0 4294967295\n"));
    assert_false(obs_idmap_is_identity("0 100000 65536\n"));
    assert_int_equal(obs_idmap_lookup("0 100000 65536\n", 0), 100000);
    assert_int_equal(obs_idmap_lookup("0 100000 65536\n", 1000), 101000);
    assert_int_equal(obs_idmap_lookup("0 100000 65536\n", 65536), -1);
    assert_int_equal(obs_idmap_lookup("0 1000 1\n1 100000 65535\n", 5), 100004);
    assert_int_equal(obs_idmap_lookup("", 0), -1);
}

static void test_ns_self(void **st)
{
    (void)st;
    obs_proc p;
    capsa_err e = {0};
    if (obs_proc_read(getpid(), &p, &e) < 0)
        fail_msg("%s", e.msg);
    obs_ns_host h;
    obs_ns_host_load(&h);
    /* The test runs on the host: its user namespace is the initial one
     * (the fixed inode PROC_USER_INIT_INO). */
    assert_int_equal(obs_ns_shared(&h, OBS_NS_USER, p.ns[OBS_NS_USER]),
                     p.ns[OBS_NS_USER] == 0xEFFFFFFDULL);
    assert_int_equal(obs_ns_shared(&h, OBS_NS_PID, 0), -1);
    assert_int_equal(obs_ns_shared(&h, OBS_NS_IPC, 0xF0001234ULL), 0);
    obs_proc_free(&p);
    assert_int_equal(obs_proc_read(0x7ffffff0, &p, &e), -ESRCH);
    assert_string_equal(e.msg, "no process 2147483632");
}

static void test_caps(void **st)
{
    (void)st;
    const char *why;
    assert_int_equal(obs_cap_risk_of(CAP_SYS_ADMIN, &why), OBS_CAP_DANGEROUS);
    assert_non_null(why);
    assert_int_equal(obs_cap_risk_of(CAP_DAC_READ_SEARCH, NULL), OBS_CAP_DANGEROUS);
    assert_int_equal(obs_cap_risk_of(CAP_SYS_RESOURCE, NULL), OBS_CAP_RISKY);
    assert_int_equal(obs_cap_risk_of(CAP_CHOWN, &why), OBS_CAP_OK);
    assert_null(why);
    /* none of runc's 14 default capabilities is flagged */
    uint64_t def = 0xa80425fbULL;
    for (int c = 0; c < 64; c++)
        if (def & (1ULL << c))
            assert_int_equal(obs_cap_risk_of(c, NULL), OBS_CAP_OK);
    char b[1024];
    obs_caps_names(0, b, sizeof b);
    assert_string_equal(b, "none");
    obs_caps_names((1ULL << CAP_CHOWN) | (1ULL << CAP_KILL), b, sizeof b);
    assert_string_equal(b, "CAP_CHOWN,CAP_KILL");
    uint64_t all = obs_caps_all();
    obs_caps_names(all, b, sizeof b);
    assert_non_null(strstr(b, "ALL ("));
    obs_caps_names(all & ~(1ULL << CAP_SYS_RESOURCE), b, sizeof b);
    assert_non_null(strstr(b, "except CAP_SYS_RESOURCE"));
    obs_caps_names((1ULL << CAP_CHOWN), b, 5);  /* truncates, never overflows */
    assert_int_equal(strlen(b), 4);
}

static void test_mountinfo(void **st)
{
    (void)st;
    const char *t =
        "92 43 254:0 /tmp/b/rootfs / ro,relatime - ext4 /dev/vda rw\n"
        "93 92 0:49 / /proc rw,relatime - proc proc rw\n"
        "117 93 0:49 /sys /proc/sys ro,nosuid - proc proc rw\n"
        "111 93 0:6 /null /proc/keys rw,relatime - devtmpfs devtmpfs rw\n"
        "120 92 0:60 / /mnt/with\\040space rw - tmpfs tmpfs rw\n"
        "121 92 0:61 / /proc rw - tmpfs over rw\n"
        "garbage line\n";
    mountinfo m;
    mountinfo_parse(t, &m);
    assert_int_equal(m.n, 6);
    assert_int_equal(m.v[0].major, 254);
    assert_string_equal(m.v[0].root, "/tmp/b/rootfs");
    assert_string_equal(m.v[0].fstype, "ext4");
    assert_string_equal(m.v[4].mnt, "/mnt/with space");
    assert_true(mountinfo_ro(&m.v[0]));
    assert_false(mountinfo_ro(&m.v[1]));
    const mount_entry *c = mountinfo_covering(&m, "/proc/sys/kernel/core_pattern");
    assert_non_null(c);
    assert_string_equal(c->mnt, "/proc/sys");
    c = mountinfo_covering(&m, "/procfoo");  /* a prefix is not a parent dir */
    assert_string_equal(c->mnt, "/");
    c = mountinfo_covering(&m, "/proc/self");  /* stacked: the last one is on top */
    assert_string_equal(c->fstype, "tmpfs");
    assert_non_null(mountinfo_at(&m, "/proc/keys"));
    assert_null(mountinfo_at(&m, "/proc/kcore"));
    assert_true(mountinfo_opt_has("ro,nosuid", "nosuid"));
    assert_false(mountinfo_opt_has("ro,nosuidx", "nosuid"));
    mountinfo_free(&m);
}

static void test_devices_list(void **st)
{
    (void)st;
    char why[512];
    assert_int_equal(audit_devices_list("c 1:3 rwm\nc 1:5 rwm\nc 136:* rwm\n", why, sizeof why),
                     OBS_PASS);
    assert_non_null(strstr(why, "3 rules"));
    assert_int_equal(audit_devices_list("a *:* rwm\n", why, sizeof why), OBS_FAIL);
    assert_non_null(strstr(why, "every device"));
    assert_int_equal(audit_devices_list("c 1:3 rwm\nb 8:* rw\n", why, sizeof why), OBS_FAIL);
    assert_non_null(strstr(why, "b 8:* rw"));
    assert_int_equal(audit_devices_list("c 1:1 r\n", why, sizeof why), OBS_FAIL);
    assert_int_equal(audit_devices_list("b *:* m\n", why, sizeof why), OBS_PASS); /* mknod only */
    assert_int_equal(audit_devices_list("c *:* rw\n", why, sizeof why), OBS_FAIL);
}

static void test_stats_derive(void **st)
{
    (void)st;
    obs_stats_entry en = {0};
    en.ok = en.have_prev = true;
    en.prev_ns = 1000000000ull;
    en.cur_ns = 1500000000ull;  /* 0.5 s */
    cgroup_stats *p = &en.prev, *c = &en.cur;
    p->has_cpu = c->has_cpu = true;
    p->cpu_usage_ns = 0;
    c->cpu_usage_ns = 250000000;  /* 0.25 s of CPU in 0.5 s */
    c->cpu_limit_eff = 0.5;
    p->nr_periods = 10, c->nr_periods = 15;
    p->nr_throttled = 2, c->nr_throttled = 7;
    c->throttled_ns = 200000000;
    c->has_memory = true;
    c->mem_usage = 95, c->mem_limit_eff = 100;
    c->has_pids = true;
    c->pids_current = 3, c->pids_limit_eff = CG_UNLIMITED;
    p->oom_kill = 1, c->oom_kill = 2;
    obs_stats_derived d;
    obs_stats_derive(&en, 4, &d);
    assert_true(d.interval_s > 0.49 && d.interval_s < 0.51);
    assert_true(d.limit_cpus > 0.49 && d.limit_cpus < 0.51);
    assert_true(d.cpu_pct_host > 12.4 && d.cpu_pct_host < 12.6);    /* of 4 CPUs */
    assert_true(d.cpu_pct_limit > 99.9 && d.cpu_pct_limit < 100.1);  /* of 0.5 CPU */
    assert_int_equal(d.d_periods, 5);
    assert_int_equal(d.d_throttled, 5);
    assert_int_equal(d.d_oom_kill, 1);
    assert_true(d.mem_pct > 94.9 && d.mem_pct < 95.1);
    assert_true(d.pids_pct < 0);
    assert_int_equal(d.n_warn, 3);  /* memory, throttled, OOM */
    assert_non_null(strstr(d.warn[0], "memory at 95%"));
    assert_non_null(strstr(d.warn[1], "throttled in 5 of 5"));
    assert_non_null(strstr(d.warn[2], "OOM-killed"));
    /* One sample: no rates, no interval warnings. */
    en.have_prev = false;
    c->mem_usage = 10;
    obs_stats_derive(&en, 4, &d);
    assert_true(d.cpu_pct_host < 0);
    assert_int_equal(d.d_throttled, 0);
    assert_int_equal(d.n_warn, 1);  /* the OOM kill count so far */
    assert_non_null(strstr(d.warn[0], "2 OOM kills at its memory limit"));
}

static void test_report(void **st)
{
    (void)st;
    obs_report r = {0};
    assert_int_equal(obs_worst(&r), OBS_PASS);
    assert_int_equal(obs_exit_code(OBS_PASS, true), 0);
    obs_add(&r, OBS_PASS, "cat", "a.b", "ignored-fix", "x=%d", 1);
    obs_add(&r, OBS_SKIP, "cat", "a.c", NULL, "unreadable");
    assert_int_equal(obs_exit_code(obs_worst(&r), false), 1);
    obs_add(&r, OBS_WARN, "cat", "a.d", "do this", "warned");
    assert_int_equal(obs_exit_code(obs_worst(&r), false), 1);
    assert_int_equal(obs_exit_code(obs_worst(&r), true), 2);
    obs_add(&r, OBS_FAIL, "cat", "a.e", "", "failed");
    assert_int_equal(obs_exit_code(obs_worst(&r), false), 2);
    assert_null(r.v[3].fix);  /* "" is no fix */
    json_t *j = obs_report_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "worst")), "FAIL");
    json_t *f = json_object_get(j, "findings");
    assert_int_equal(json_array_size(f), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(f, 0), "summary")),
                        "x=1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "counts"), "SKIP")), 1);
    assert_true(json_is_null(json_object_get(json_array_get(f, 3), "fix")));
    json_decref(j);
    char b[32];
    obs_fmt_bytes(b, sizeof b, 512);
    assert_string_equal(b, "512 B");
    obs_fmt_bytes(b, sizeof b, 1536);
    assert_string_equal(b, "1.5 KiB");
    obs_fmt_bytes(b, sizeof b, 100000000);
    assert_string_equal(b, "95.4 MiB");
    obs_report_free(&r);
}

static void test_check_helpers(void **st)
{
    (void)st;
    unsigned a, b;
    assert_true(obs_kernel_version("6.1.0-21-amd64", &a, &b));
    assert_int_equal(a, 6);
    assert_int_equal(b, 1);
    assert_false(obs_kernel_version("weird", &a, &b));
    char r[128];
    const char *sub = "alice:100000:65536\nbob:165536:65536\n1001:300000:10\n";
    assert_true(obs_subid_ranges(sub, "alice", 1000, r, sizeof r));
    assert_string_equal(r, "100000-165535 (65536)");
    assert_true(obs_subid_ranges(sub, "carol", 1001, r, sizeof r));  /* by uid */
    assert_string_equal(r, "300000-300009 (10)");
    assert_false(obs_subid_ranges(sub, "al", 5, r, sizeof r));
    assert_true(obs_effective_cpus(0.5, 4, 8, 16) == 0.5);
    assert_true(obs_effective_cpus(0, 4, 8, 16) == 4);
    assert_true(obs_effective_cpus(0, 0, 2, 16) == 2);
    assert_true(obs_effective_cpus(0, 0, 0, 16) == 16);
    assert_true(obs_effective_cpus(8, 0, 0, 4) == 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_idmap),
        cmocka_unit_test(test_ns_self),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_mountinfo),
        cmocka_unit_test(test_devices_list),
        cmocka_unit_test(test_stats_derive),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_check_helpers),
    };
    return cmocka_run_group_tests_name("observe", tests, NULL, NULL);
}
