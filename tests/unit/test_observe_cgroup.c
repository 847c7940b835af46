/* cgroup stats (src/cgroup/stats.c) on fake v1 and v2 directories: every
 * number capsa stats/audit/limits shows comes through here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/stats.h"

static char tmpl[] = "/tmp/capsa-unit-stats-XXXXXX";
static char *base;

static void put(const char *dir, const char *file, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *mk(const char *rel)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", base, rel) > 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    assert_int_equal(system(cmd), 0);
    return p;
}

static int setup(void **st)
{
    (void)st;
    base = mkdtemp(tmpl);
    return base ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd);
}

static void test_cpulist(void **st)
{
    (void)st;
    assert_int_equal(cgroup_cpulist_count("0-3"), 4);
    assert_int_equal(cgroup_cpulist_count("0-3,8,10-11\n"), 7);
    assert_int_equal(cgroup_cpulist_count("5"), 1);
    assert_int_equal(cgroup_cpulist_count(""), 0);
    assert_int_equal(cgroup_cpulist_count("3-1"), 0);
    assert_int_equal(cgroup_cpulist_count("x"), 0);
}

static void test_psi(void **st)
{
    (void)st;
    cgroup_psi p = {0};
    const char *t = "some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n"
                    "full avg10=0.10 avg60=0.00 avg300=0.00 total=99\n";
    assert_true(cgroup_psi_parse(t, "some", &p));
    assert_true(p.present);
    assert_true(p.avg10 > 1.49 && p.avg10 < 1.51);
    assert_int_equal(p.total_us, 12345);
    assert_true(cgroup_psi_parse(t, "full", &p));
    assert_int_equal(p.total_us, 99);
    cgroup_psi q = {0};
    assert_false(cgroup_psi_parse("some garbage", "some", &q));
    assert_false(cgroup_psi_parse(t, "none", &q));
    assert_false(q.present);
}

/* A v1 layout: the container dir below a parent with a tighter pids and
 * cpu limit; memory via hierarchical_memory_limit. */
static void test_v1(void **st)
{
    (void)st;
    char *top = mk("v1"), *parent = mk("v1/pod"), *dir = mk("v1/pod/ct");
    put(parent, "pids.max", "20");
    put(parent, "cpu.cfs_quota_us", "25000");
    put(parent, "cpu.cfs_period_us", "100000");
    put(top, "cpu.cfs_quota_us", "-1");
    put(dir, "cpu.cfs_quota_us", "50000");
    put(dir, "cpu.cfs_period_us", "100000");
    put(dir, "cpu.shares", "1024");
    put(dir, "cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 123000000\n");
    put(dir, "cpuacct.usage", "5000000000");
    put(dir, "cpuacct.usage_user", "3000000000");
    put(dir, "cpuacct.usage_sys", "2000000000");
    put(dir, "cpuset.effective_cpus", "0-1\n");
    put(dir, "memory.usage_in_bytes", "104857600");
    put(dir, "memory.limit_in_bytes", "209715200");
    put(dir, "memory.max_usage_in_bytes", "150000000");
    put(dir, "memory.failcnt", "7");
    put(dir, "memory.memsw.usage_in_bytes", "115343360");
    put(dir, "memory.memsw.limit_in_bytes", "9223372036854771712");
    put(dir, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    put(dir, "memory.stat", "cache 10\nrss 20\ntotal_cache 4096\ntotal_rss 8192\n"
                            "hierarchical_memory_limit 157286400\n");
    put(dir, "pids.current", "5");
    put(dir, "pids.max", "max");
    put(dir, "pids.events", "max 2\n");
    put(dir, "blkio.throttle.io_service_bytes", "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\n"
                                                 "Total 12288\n");
    put(dir, "blkio.throttle.io_service_bytes_recursive", "8:0 Read 5000\n8:0 Write 9000\n"
                                                           "Total 14000\n");
    put(dir, "blkio.throttle.io_serviced", "8:0 Read 2\n8:0 Write 3\n");
    put(dir, "blkio.throttle.read_bps_device", "8:0 1048576\n");
    put(dir, "blkio.throttle.write_bps_device", "");
    put(dir, "devices.list", "c 1:3 rwm\nc 1:5 rwm\n");
    char *u = mk("v2u/ct");
    put(u, "cpu.pressure", "some avg10=2.00 avg60=1.00 avg300=0.50 total=777\n"
                           "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    put(u, "memory.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n"
                              "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");

    cgroup_stats_dirs d = {0};
    cgroup_stats_dir v1 = {.dir = dir, .top = top, .v2 = false};
    d.cpu = d.cpuacct = d.cpuset = d.memory = d.pids = d.io = d.devices = v1;
    d.unified = (cgroup_stats_dir){.dir = u, .top = base, .v2 = true};
    cgroup_stats s;
    capsa_err e = {0};
    if (cgroup_stats_read_dirs(&d, &s, &e) < 0)
        fail_msg("%s", e.msg);
    assert_true(s.has_cpu);
    assert_int_equal(s.cpu_usage_ns, 5000000000ull);
    assert_int_equal(s.cpu_user_ns, 3000000000ull);
    assert_int_equal(s.cpu_quota_us, 50000);
    assert_int_equal(s.cpu_period_us, 100000);
    assert_int_equal(s.cpu_weight, 39);  /* shares 1024, converted like runc */
    assert_int_equal(s.nr_throttled, 4);
    assert_int_equal(s.throttled_ns, 123000000);
    assert_true(s.cpu_limit_eff > 0.249 && s.cpu_limit_eff < 0.251);  /* the parent's */
    assert_string_equal(s.cpuset_cpus, "0-1");
    assert_int_equal(s.cpuset_ncpus, 2);

    assert_true(s.has_memory);
    assert_int_equal(s.mem_usage, 104857600);
    assert_int_equal(s.mem_limit, 209715200);
    assert_int_equal(s.mem_limit_eff, 157286400);
    assert_int_equal(s.mem_peak, 150000000);
    assert_int_equal(s.mem_failcnt, 7);
    assert_int_equal(s.swap_usage, 115343360 - 104857600);
    assert_true(s.swap_limit == CG_UNLIMITED);
    assert_int_equal(s.oom_kill, 3);
    assert_int_equal(s.mem_cache, 4096);  /* total_* win: they include children */
    assert_int_equal(s.mem_rss, 8192);

    assert_true(s.has_pids);
    assert_int_equal(s.pids_current, 5);
    assert_true(s.pids_limit == CG_UNLIMITED);
    assert_int_equal(s.pids_limit_eff, 20);
    assert_int_equal(s.pids_max_events, 2);

    assert_true(s.has_io);
    assert_int_equal(s.io_read_bytes, 5000);  /* the _recursive file wins */
    assert_int_equal(s.io_write_bytes, 9000);
    assert_int_equal(s.io_read_ops, 2);
    assert_int_equal(s.io_write_ops, 3);
    assert_true(s.io_throttled);
    assert_string_equal(s.io_max, "8:0 rbps=1048576");

    assert_true(s.has_devices);
    assert_false(s.devices_allow_all);
    assert_int_equal(s.devices_progs, -1);
    assert_string_equal(s.devices_list, "c 1:3 rwm\nc 1:5 rwm");

    assert_true(s.psi_cpu_some.present);
    assert_int_equal(s.psi_cpu_some.total_us, 777);
    assert_true(s.psi_mem_full.present);
    assert_false(s.psi_io_some.present);

    put(dir, "devices.list", "a *:* rwm\n");
    put(dir, "memory.limit_in_bytes", "9223372036854771712");
    put(dir, "memory.stat", "total_cache 1\n");  /* no hierarchical limit: walk */
    assert_int_equal(cgroup_stats_read_dirs(&d, &s, &e), 0);
    assert_true(s.devices_allow_all);
    assert_true(s.mem_limit == CG_UNLIMITED);
    assert_true(s.mem_limit_eff == CG_UNLIMITED);
    free(top);
    free(parent);
    free(dir);
    free(u);
}

static void test_v2(void **st)
{
    (void)st;
    char *top = mk("v2"), *parent = mk("v2/slice"), *dir = mk("v2/slice/ct");
    put(parent, "memory.max", "67108864");
    put(parent, "cpu.max", "max 100000");
    put(dir, "cpu.max", "50000 100000");
    put(dir, "cpu.weight", "100");
    put(dir, "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
                         "nr_periods 30\nnr_throttled 12\nthrottled_usec 600000\n");
    put(dir, "cpuset.cpus.effective", "0-3");
    put(dir, "memory.current", "1048576");
    put(dir, "memory.max", "max");
    put(dir, "memory.peak", "2097152");
    put(dir, "memory.swap.current", "4096");
    put(dir, "memory.swap.max", "0");
    put(dir, "memory.events", "low 0\nhigh 1\nmax 9\noom 2\noom_kill 1\n");
    put(dir, "memory.stat", "anon 300\nfile 700\n");
    put(dir, "pids.current", "3");
    put(dir, "pids.max", "64");
    put(dir, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
                        "8:16 rbytes=1 wbytes=2 rios=3 wios=4\n");
    put(dir, "io.max", "8:0 rbps=max wbps=1048576 riops=max wiops=max\n"
                       "8:16 rbps=max wbps=max riops=max wiops=max\n");
    put(dir, "io.pressure", "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n"
                            "full avg10=0.00 avg60=0.00 avg300=0.00 total=4\n");
    cgroup_stats_dir v2 = {.dir = dir, .top = top, .v2 = true};
    cgroup_stats_dirs d = {.cpu = v2, .cpuset = v2, .memory = v2, .pids = v2, .io = v2,
                           .unified = v2};
    cgroup_stats s;
    capsa_err e = {0};
    if (cgroup_stats_read_dirs(&d, &s, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(s.cpu_usage_ns, 2500000000ull);
    assert_int_equal(s.cpu_system_ns, 500000000ull);
    assert_int_equal(s.cpu_quota_us, 50000);
    assert_int_equal(s.cpu_weight, 100);
    assert_int_equal(s.nr_throttled, 12);
    assert_int_equal(s.throttled_ns, 600000000ull);
    assert_true(s.cpu_limit_eff > 0.49 && s.cpu_limit_eff < 0.51);
    assert_int_equal(s.cpuset_ncpus, 4);
    assert_true(s.mem_limit == CG_UNLIMITED);
    assert_int_equal(s.mem_limit_eff, 67108864);  /* the parent's memory.max */
    assert_int_equal(s.mem_peak, 2097152);
    assert_int_equal(s.swap_usage, 4096);
    assert_int_equal(s.swap_limit, 0);
    assert_int_equal(s.oom_events, 2);
    assert_int_equal(s.oom_kill, 1);
    assert_int_equal(s.mem_high_events, 1);
    assert_int_equal(s.mem_max_events, 9);
    assert_int_equal(s.mem_cache, 700);
    assert_int_equal(s.mem_rss, 300);
    assert_int_equal(s.pids_limit, 64);
    assert_int_equal(s.pids_limit_eff, 64);
    assert_int_equal(s.io_read_bytes, 101);
    assert_int_equal(s.io_write_ops, 6);
    assert_true(s.io_throttled);
    assert_string_equal(s.io_max, "8:0 rbps=max wbps=1048576 riops=max wiops=max");
    assert_true(s.psi_io_full.present);
    assert_int_equal(s.psi_io_full.total_us, 4);
    assert_false(s.has_devices);  /* no devices dir given */

    /* Nothing there at all: an error that names the directory. */
    cgroup_stats_dirs none = {.memory = {.dir = "/nonexistent-capsa-cg", .top = "/"}};
    assert_int_equal(cgroup_stats_read_dirs(&none, &s, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "/nonexistent-capsa-cg"));
    free(top);
    free(parent);
    free(dir);
}

/* The real host: this process's cgroups always read (every mode). */
static void test_self(void **st)
{
    (void)st;
    cgroup_stats s;
    capsa_err e = {0};
    if (cgroup_stats_read_pid(getpid(), &s, &e) < 0)
        fail_msg("%s", e.msg);
    assert_true(s.has_memory || s.has_cpu || s.has_pids);
    assert_true(s.path[0] == '/');
    assert_int_equal(cgroup_stats_read_pid(0x7ffffff0, &s, &e), -ENOENT);
    cgroup_host_info h;
    if (cgroup_host_info_read(&h, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(h.mode, cgroup_mode());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpulist),
        cmocka_unit_test(test_psi),
        cmocka_unit_test(test_v1),
        cmocka_unit_test(test_v2),
        cmocka_unit_test(test_self),
    };
    return cmocka_run_group_tests_name("observe_cgroup", tests, setup, teardown);
}
