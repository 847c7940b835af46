/* cgroup: pure conversions, path handling, the v2 device filter (run in a tiny
 * BPF interpreter) and the drivers on fake directories. The real-host tests
 * (root) are in test_cgroup_host.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/convert.h"
#include "cgroup/internal.h"

/* ---------- pure conversions ---------- */

static void test_shares_to_weight(void **st)
{
    (void)st;
    assert_int_equal(cg_shares_to_weight(0), 0);
    assert_int_equal(cg_shares_to_weight(2), 1);
    assert_int_equal(cg_shares_to_weight(1024), 39);
    assert_int_equal(cg_shares_to_weight(262144), 10000);
    assert_int_equal(cg_shares_to_weight(1), 1);          /* clamped, no underflow */
    assert_int_equal(cg_shares_to_weight(1u << 30), 10000);
    assert_int_equal(cg_shares_to_weight(512), 1 + (510 * 9999) / 262142);
}

static void test_blkio_weight(void **st)
{
    (void)st;
    assert_int_equal(cg_blkio_to_io_weight(0), 0);
    assert_int_equal(cg_blkio_to_io_weight(10), 1);
    assert_int_equal(cg_blkio_to_io_weight(1000), 10000);
    assert_int_equal(cg_blkio_to_io_weight(500), 4950);
    assert_int_equal(cg_blkio_to_io_weight(5), 1);
}

static void test_cpu_max(void **st)
{
    (void)st;
    char b[64];
    cg_cpu_max(b, sizeof b, true, 50000, true, 100000);
    assert_string_equal(b, "50000 100000");
    cg_cpu_max(b, sizeof b, true, -1, true, 100000);
    assert_string_equal(b, "max 100000");
    cg_cpu_max(b, sizeof b, true, 20000, false, 0);
    assert_string_equal(b, "20000");
    cg_cpu_max(b, sizeof b, false, 0, true, 250000);
    assert_string_equal(b, "max 250000");
    cg_cpu_max(b, sizeof b, false, 0, false, 0);
    assert_string_equal(b, "");
    cg_cpu_max(b, sizeof b, true, 0, true, 0);  /* 0 is unset, like runc */
    assert_string_equal(b, "");
}

static void test_swap_v2(void **st)
{
    (void)st;
    char b[32];
    capsa_err e = {0};
    const int64_t M = 1 << 20;
    assert_int_equal(cg_swap_v2(64 * M, 128 * M, b, sizeof b, &e), 0);
    assert_string_equal(b, "67108864");
    assert_int_equal(cg_swap_v2(64 * M, 64 * M, b, sizeof b, &e), 0);
    assert_string_equal(b, "0");
    assert_int_equal(cg_swap_v2(64 * M, -1, b, sizeof b, &e), 0);
    assert_string_equal(b, "max");
    assert_int_equal(cg_swap_v2(-1, 0, b, sizeof b, &e), 0);
    assert_string_equal(b, "max");
    assert_int_equal(cg_swap_v2(64 * M, 0, b, sizeof b, &e), 0);
    assert_string_equal(b, "");
    assert_int_equal(cg_swap_v2(0, 128 * M, b, sizeof b, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "needs a memory limit"));
    assert_int_equal(cg_swap_v2(128 * M, 64 * M, b, sizeof b, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "below memory.limit"));

    cg_mem_v2(0, b, sizeof b);
    assert_string_equal(b, "");
    cg_mem_v2(-1, b, sizeof b);
    assert_string_equal(b, "max");
    cg_mem_v2(4096, b, sizeof b);
    assert_string_equal(b, "4096");
    cg_pids_max(0, b, sizeof b);
    assert_string_equal(b, "max");
    cg_pids_max(-1, b, sizeof b);
    assert_string_equal(b, "max");
    cg_pids_max(20, b, sizeof b);
    assert_string_equal(b, "20");
}

static void test_dev_rule_v1(void **st)
{
    (void)st;
    char b[96];
    capsa_err e = {0};
    spec_dev_rule r = {.allow = true, .type = 'c', .has_major = true, .major = 1,
                       .has_minor = true, .minor = 3, .access = "rwm"};
    assert_int_equal(cg_dev_rule_v1(&r, b, sizeof b, &e), 0);
    assert_string_equal(b, "c 1:3 rwm");
    spec_dev_rule all = {.allow = false};
    assert_int_equal(cg_dev_rule_v1(&all, b, sizeof b, &e), 0);
    assert_string_equal(b, "a *:* rwm");
    spec_dev_rule blk = {.allow = true, .type = 'b', .has_major = true, .major = 8,
                         .access = "r"};
    assert_int_equal(cg_dev_rule_v1(&blk, b, sizeof b, &e), 0);
    assert_string_equal(b, "b 8:* r");
    spec_dev_rule bad = {.type = 'x'};
    assert_int_equal(cg_dev_rule_v1(&bad, b, sizeof b, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "invalid type"));
    spec_dev_rule bada = {.type = 'c', .access = "rwx"};
    assert_int_equal(cg_dev_rule_v1(&bada, b, sizeof b, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "rwx"));
}

static void test_io_max_line(void **st)
{
    (void)st;
    char b[160];
    cg_io_max_line(b, sizeof b, 8, 0, 1048576, CG_IO_UNSET, CG_IO_UNSET, 100);
    assert_string_equal(b, "8:0 rbps=1048576 wiops=100");
    cg_io_max_line(b, sizeof b, 8, 16, 1, 2, 3, 0);
    assert_string_equal(b, "8:16 rbps=1 wbps=2 riops=3 wiops=max");
}

/* ---------- paths ---------- */

static void test_path_for(void **st)
{
    (void)st;
    const struct {
        const char *in, *id, *out;
    } c[] = {
        {NULL, "abc", "capsa/abc"},   {"", "abc", "capsa/abc"},
        {"/a/b", "x", "/a/b"},        {"a//b/./../c/", "x", "a/c"},
        {"/../../x", "x", "/x"},      {"../x", "x", "x"},
        {"/", "x", "/"},              {"machine/ctr", "x", "machine/ctr"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *p = cgroup_path_for(c[i].in, c[i].id);
        assert_string_equal(p, c[i].out);
        free(p);
    }
    capsa_err e = {0};
    assert_int_equal(cg_check_path("/", &e), -EINVAL);
    assert_int_equal(cg_check_path("", &e), -EINVAL);
    assert_int_equal(cg_check_path("a/../b", &e), -EINVAL);
    assert_int_equal(cg_check_path("capsa/x", &e), 0);
    assert_int_equal(cg_check_path("/capsa/x", &e), 0);
    assert_string_equal(cgroup_mode_name(CG_UNIFIED), "v2");
    assert_string_equal(cgroup_mode_name(CG_LEGACY), "v1");
    assert_string_equal(cgroup_mode_name(CG_HYBRID), "hybrid");
}

static const char mountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:1 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
    "50 31 0:39 /sub /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
    "60 20 0:40 / /other/cg rw - cgroup cgroup rw,freezer\n";
static const char self_cgroup[] =
    "9:name=systemd:/\n8:pids:/sub/x\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n"
    "0::/user.slice/sess.scope\n";

static void test_mountinfo_resolve(void **st)
{
    (void)st;
    cg_host h;
    memset(&h, 0, sizeof h);
    h.v2 = -1;
    h.mode = CG_HYBRID;
    capsa_err e = {0};
    assert_int_equal(cg_parse_mountinfo(mountinfo, "/sys/fs/cgroup", CG_HYBRID, &h, &e), 0);
    assert_int_equal(h.n, 4);
    h.self_cgroup = strdup(self_cgroup);
    h.v2_ctrls = strdup("hugetlb");
    const cg_hier *cpu = cg_host_v1(&h, "cpuacct"), *mem = cg_host_v1(&h, "memory");
    const cg_hier *pids = cg_host_v1(&h, "pids"), *v2 = cg_host_v2(&h);
    assert_non_null(cpu);
    assert_non_null(mem);
    assert_non_null(pids);
    assert_non_null(v2);
    assert_null(cg_host_v1(&h, "freezer"));  /* mounted outside the root */
    assert_string_equal(cpu->ctrls, "cpu,cpuacct");
    assert_true(cg_hier_has(cpu, "cpu"));
    assert_string_equal(v2->mount, "/sys/fs/cgroup/unified");

    char *base, *rel, *dir;
    assert_int_equal(cg_resolve(&h, mem, "capsa/id", &base, &rel, &dir, &e), 0);
    assert_string_equal(base, "/sys/fs/cgroup/memory/process_api/abc");
    assert_string_equal(rel, "capsa/id");
    assert_string_equal(dir, "/sys/fs/cgroup/memory/process_api/abc/capsa/id");
    free(base), free(rel), free(dir);
    assert_int_equal(cg_resolve(&h, cpu, "capsa/id", NULL, NULL, &dir, &e), 0);
    assert_string_equal(dir, "/sys/fs/cgroup/cpu,cpuacct/capsa/id");
    free(dir);
    /* cgroup2: under the parent of the own cgroup */
    assert_int_equal(cg_resolve(&h, v2, "capsa/id", NULL, NULL, &dir, &e), 0);
    assert_string_equal(dir, "/sys/fs/cgroup/unified/user.slice/capsa/id");
    free(dir);
    /* a bind-mounted subtree: /proc/self/cgroup is relative to the real root */
    assert_int_equal(cg_resolve(&h, pids, "capsa/id", NULL, NULL, &dir, &e), 0);
    assert_string_equal(dir, "/sys/fs/cgroup/pids/x/capsa/id");
    free(dir);
    assert_int_equal(cg_resolve(&h, mem, "/a/b", &base, &rel, &dir, &e), 0);
    assert_string_equal(base, "/sys/fs/cgroup/memory");
    assert_string_equal(rel, "a/b");
    assert_string_equal(dir, "/sys/fs/cgroup/memory/a/b");
    free(base), free(rel), free(dir);
    assert_int_equal(cg_resolve(&h, mem, "/", NULL, NULL, &dir, &e), -EINVAL);

    char *own = cg_own_path(self_cgroup, "name=systemd", false);
    assert_string_equal(own, "/");
    free(own);
    assert_null(cg_own_path(self_cgroup, "blkio", false));
    cg_host_free(&h);
}

/* ---------- v2 device filter, run in a small interpreter ---------- */

static int run_filter(const struct bpf_insn *p, size_t n, int type, int acc, uint32_t maj,
                      uint32_t min)
{
    uint32_t ctx[3] = {((uint32_t)acc << 16) | (uint32_t)type, maj, min};
    uint64_t r[11] = {0};
    for (size_t pc = 0; pc < n;) {
        const struct bpf_insn *i = &p[pc++];
        uint64_t src = BPF_SRC(i->code) == BPF_X ? r[i->src_reg] : (uint64_t)(int64_t)i->imm;
        switch (i->code) {
        case BPF_LDX | BPF_MEM | BPF_W:
            assert_int_equal(i->src_reg, 1);
            r[i->dst_reg] = ctx[i->off / 4];
            break;
        case BPF_ALU | BPF_AND | BPF_K: r[i->dst_reg] = (uint32_t)(r[i->dst_reg] & src); break;
        case BPF_ALU | BPF_RSH | BPF_K: r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> src; break;
        case BPF_ALU | BPF_MOV | BPF_X:
        case BPF_ALU | BPF_MOV | BPF_K: r[i->dst_reg] = (uint32_t)src; break;
        case BPF_JMP | BPF_JNE | BPF_K:
        case BPF_JMP | BPF_JNE | BPF_X:
            if (r[i->dst_reg] != src)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            if (r[i->dst_reg] == src)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_EXIT: return (int)r[0];
        default: fail_msg("unexpected opcode 0x%x", i->code);
        }
    }
    fail_msg("fell off the program");
    return -1;
}

#define C BPF_DEVCG_DEV_CHAR
#define B BPF_DEVCG_DEV_BLOCK
#define RD BPF_DEVCG_ACC_READ
#define WR BPF_DEVCG_ACC_WRITE
#define MK BPF_DEVCG_ACC_MKNOD

static void test_devfilter(void **st)
{
    (void)st;
    capsa_err e = {0};
    struct bpf_insn *p;
    size_t n;
    /* deny all, then an allowlist */
    spec_dev_rule a[] = {
        {.allow = false, .type = 'a'},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 5, .access = "r"},
        {.allow = true, .type = 'c', .access = "m"},
        {.allow = true, .type = 'b', .has_major = true, .major = 8},
    };
    assert_int_equal(cg_devfilter_build(a, 5, &p, &n, &e), 0);
    assert_int_equal(run_filter(p, n, C, RD | WR, 1, 3), 1);
    assert_int_equal(run_filter(p, n, C, RD, 1, 5), 1);
    assert_int_equal(run_filter(p, n, C, RD | WR, 1, 5), 0);
    assert_int_equal(run_filter(p, n, C, RD, 1, 7), 0);
    assert_int_equal(run_filter(p, n, B, RD, 1, 3), 0);
    assert_int_equal(run_filter(p, n, C, MK, 136, 9), 1);
    assert_int_equal(run_filter(p, n, B, RD | WR, 8, 16), 1);
    assert_int_equal(run_filter(p, n, B, RD, 9, 0), 0);
    free(p);

    /* allow all, then deny one device's write: any request with w is denied */
    spec_dev_rule b[] = {
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 3, .access = "w"},  /* moot: before the allow-all */
        {.allow = true},
        {.allow = false, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 3, .access = "w"},
    };
    assert_int_equal(cg_devfilter_build(b, 3, &p, &n, &e), 0);
    assert_int_equal(n, 6 + 8 + 2);  /* the first rule was dropped */
    assert_int_equal(run_filter(p, n, C, RD, 1, 3), 1);
    assert_int_equal(run_filter(p, n, C, RD | WR, 1, 3), 0);
    assert_int_equal(run_filter(p, n, C, WR, 1, 3), 0);
    assert_int_equal(run_filter(p, n, C, RD | WR, 1, 4), 1);
    assert_int_equal(run_filter(p, n, B, RD | WR | MK, 8, 0), 1);
    free(p);

    /* last matching rule wins */
    spec_dev_rule c[] = {
        {.allow = true, .type = 'c', .has_major = true, .major = 4, .access = "rw"},
        {.allow = false, .type = 'c', .has_major = true, .major = 4, .has_minor = true,
         .minor = 1, .access = "rw"},
    };
    assert_int_equal(cg_devfilter_build(c, 2, &p, &n, &e), 0);
    assert_int_equal(run_filter(p, n, C, RD, 4, 0), 1);
    assert_int_equal(run_filter(p, n, C, RD, 4, 1), 0);
    assert_int_equal(run_filter(p, n, C, MK, 4, 0), 0);
    free(p);

    assert_int_equal(cg_devfilter_build(NULL, 0, &p, &n, &e), 0);  /* default deny */
    assert_int_equal(run_filter(p, n, C, RD, 1, 3), 0);
    free(p);

    spec_dev_rule bad[] = {{.allow = true, .type = 'c', .access = "rx"}};
    assert_int_equal(cg_devfilter_build(bad, 1, &p, &n, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "devices[0]"));
}

/* ---------- drivers on fake directories ---------- */

static char *fake_dir(const char *const *files)
{
    char tmpl[] = "/tmp/capsa-cgtest-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    for (size_t i = 0; files[i]; i += 2) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", d, files[i]);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(files[i + 1], f);
        fclose(f);
    }
    return strdup(d);
}

static void rm_fake(char *d)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

static void expect_file(const char *dir, const char *file, const char *want)
{
    char *got = NULL;
    capsa_err e = {0};
    if (cg_read(dir, file, &got, &e) < 0)
        fail_msg("%s", e.msg);
    if (strcmp(got, want))
        fail_msg("%s/%s: got \"%s\", want \"%s\"", dir, file, got, want);
    free(got);
}

static void test_v2_fake(void **st)
{
    (void)st;
    static const char *const files[] = {
        "memory.max", "max", "memory.swap.max", "max", "memory.low", "0",
        "memory.current", "1000000", "cpu.weight", "100", "cpu.max", "max 100000",
        "cpuset.cpus", "", "pids.max", "max", "io.weight", "default 100", "io.max", "",
        "memory.high", "max", NULL,
    };
    char *d = fake_dir(files);
    const int64_t M = 1 << 20;
    spec_blkio_throttle rb[] = {{8, 0, 1048576}, {8, 16, 0}};
    spec_blkio_throttle wi[] = {{8, 0, 100}};
    spec_kv uni[] = {{"memory.high", "50000000"}};
    spec_resources r = {
        .present = true,
        .memory = {.present = true, .has_limit = true, .limit = 64 * M, .has_swap = true,
                   .swap = 128 * M, .has_reservation = true, .reservation = 32 * M},
        .cpu = {.present = true, .has_shares = true, .shares = 1024, .has_quota = true,
                .quota = 50000, .has_period = true, .period = 100000, .cpus = "0-1"},
        .has_pids = true, .pids_limit = 0,
        .blkio = {.present = true, .has_weight = true, .weight = 500,
                  .read_bps = {rb, 2}, .write_iops = {wi, 1}},
        .unified = {uni, 1},
    };
    capsa_err e = {0};
    unsigned mask = CGC_BIT(CGC_MEMORY) | CGC_BIT(CGC_CPU) | CGC_BIT(CGC_CPUSET) |
                    CGC_BIT(CGC_PIDS) | CGC_BIT(CGC_BLKIO);
    assert_int_equal(cg_needed(&r), mask);
    if (cg2_apply(d, &r, mask, true, false, &e) < 0)
        fail_msg("%s", e.msg);
    expect_file(d, "memory.max", "67108864");
    expect_file(d, "memory.swap.max", "67108864");
    expect_file(d, "memory.low", "33554432");
    expect_file(d, "cpu.weight", "39");
    expect_file(d, "cpu.max", "50000 100000");
    expect_file(d, "cpuset.cpus", "0-1");
    expect_file(d, "pids.max", "max");
    expect_file(d, "io.weight", "4950");
    expect_file(d, "io.max", "8:16 rbps=max");  /* the last device's line */
    expect_file(d, "memory.high", "50000000");

    cg_strv need = {0};
    cg2_needed_names(&r, mask, true, &need);
    assert_true(cg_strv_has(&need, "io"));
    assert_true(cg_strv_has(&need, "memory"));
    assert_false(cg_strv_has(&need, "blkio"));
    cg_strv_free(&need);

    /* checkBeforeUpdate refuses a limit below memory.current */
    spec_resources low = {.memory = {.present = true, .has_limit = true, .limit = 4096,
                                     .has_check_before_update = true,
                                     .check_before_update = true}};
    assert_int_equal(cg2_apply(d, &low, CGC_BIT(CGC_MEMORY), false, true, &e), -EBUSY);
    assert_non_null(strstr(e.msg, "below the current usage 1000000"));
    assert_int_equal(cg2_apply(d, &low, CGC_BIT(CGC_MEMORY), false, false, &e), 0);

    /* what v2 cannot do is an error, not silently dropped */
    spec_resources sw = {.memory = {.present = true, .has_swappiness = true, .swappiness = 10}};
    assert_int_equal(cg2_apply(d, &sw, CGC_BIT(CGC_MEMORY), false, false, &e), -EOPNOTSUPP);
    assert_non_null(strstr(e.msg, "memory.swappiness is not supported on cgroup v2"));
    spec_resources rt = {.cpu = {.present = true, .has_rt_runtime = true, .rt_runtime = 1000}};
    assert_int_equal(cg2_apply(d, &rt, CGC_BIT(CGC_CPU), false, false, &e), -EOPNOTSUPP);
    spec_kv badk[] = {{"../memory.max", "1"}};
    spec_resources bk = {.unified = {badk, 1}};
    assert_int_equal(cg2_apply(d, &bk, 0, true, false, &e), -EINVAL);
    spec_kv procs[] = {{"cgroup.procs", "1"}};
    spec_resources pk = {.unified = {procs, 1}};
    assert_int_equal(cg2_apply(d, &pk, 0, true, false, &e), -EPERM);
    spec_kv missing[] = {{"pids.nope", "1"}};
    spec_resources mk = {.unified = {missing, 1}};
    assert_int_equal(cg2_apply(d, &mk, 0, true, false, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "pids controller"));
    rm_fake(d);
}

static void test_v1_fake(void **st)
{
    (void)st;
    static const char *const files[] = {
        "memory.limit_in_bytes", "9223372036854771712",
        "memory.memsw.limit_in_bytes", "9223372036854771712",
        "memory.soft_limit_in_bytes", "0", "memory.swappiness", "60",
        "memory.usage_in_bytes", "1000000", "memory.oom_control", "0",
        "cpu.shares", "1024", "cpu.cfs_quota_us", "-1", "cpu.cfs_period_us", "100000",
        "pids.max", "max", "devices.allow", "", "devices.deny", "",
        "net_cls.classid", "0", NULL,
    };
    char *d = fake_dir(files);
    const int64_t M = 1 << 20;
    capsa_err e = {0};
    spec_memory m = {.present = true, .has_limit = true, .limit = 64 * M, .has_swap = true,
                     .swap = 128 * M, .has_reservation = true, .reservation = 32 * M,
                     .has_swappiness = true, .swappiness = 10,
                     .has_disable_oom_killer = true, .disable_oom_killer = true};
    if (cg1_memory(d, &m, false, &e) < 0)
        fail_msg("%s", e.msg);
    expect_file(d, "memory.limit_in_bytes", "67108864");
    expect_file(d, "memory.memsw.limit_in_bytes", "134217728");
    expect_file(d, "memory.soft_limit_in_bytes", "33554432");
    expect_file(d, "memory.swappiness", "10");
    expect_file(d, "memory.oom_control", "1");
    spec_memory k = {.present = true, .has_kernel = true, .kernel = 1 << 20};
    assert_int_equal(cg1_memory(d, &k, false, &e), -EOPNOTSUPP);
    assert_non_null(strstr(e.msg, "not supported by this kernel"));
    assert_non_null(strstr(e.msg, "memory.kmem.limit_in_bytes"));
    spec_memory low = {.present = true, .has_limit = true, .limit = 4096,
                       .has_check_before_update = true, .check_before_update = true};
    assert_int_equal(cg1_memory(d, &low, true, &e), -EBUSY);
    spec_memory sw = {.present = true, .has_swappiness = true, .swappiness = 101};
    assert_int_equal(cg1_memory(d, &sw, false, &e), -EINVAL);

    spec_cpu c = {.present = true, .has_shares = true, .shares = 512, .has_quota = true,
                  .quota = 50000, .has_period = true, .period = 100000};
    if (cg1_cpu(d, &c, &e) < 0)
        fail_msg("%s", e.msg);
    expect_file(d, "cpu.shares", "512");
    expect_file(d, "cpu.cfs_quota_us", "50000");
    expect_file(d, "cpu.cfs_period_us", "100000");
    spec_cpu burst = {.present = true, .has_burst = true, .burst = 1000};
    assert_int_equal(cg1_cpu(d, &burst, &e), -EOPNOTSUPP);
    assert_non_null(strstr(e.msg, "cpu.cfs_burst_us"));

    spec_dev_rule rules[] = {{.allow = false},
                             {.allow = true, .type = 'c', .has_major = true, .major = 1,
                              .has_minor = true, .minor = 3, .access = "rwm"}};
    assert_int_equal(cg1_devices(d, rules, 2, &e), 0);
    expect_file(d, "devices.deny", "a *:* rwm");  /* the rule after the initial "a" */
    expect_file(d, "devices.allow", "c 1:3 rwm");
    spec_dev_rule bad[] = {{.allow = true, .type = 'q'}};
    assert_int_equal(cg1_devices(d, bad, 1, &e), -EINVAL);

    spec_blkio b = {.present = true, .has_weight = true, .weight = 500};
    assert_int_equal(cg1_blkio(d, &b, &e), -EOPNOTSUPP);
    assert_non_null(strstr(e.msg, "blkio.bfq.weight"));
    spec_resources nc = {.has_net_class_id = true, .net_class_id = 0x100001};
    assert_int_equal(cg1_net_cls(d, &nc, &e), 0);
    expect_file(d, "net_cls.classid", "1048577");
    rm_fake(d);
}

static void test_write_error_message(void **st)
{
    (void)st;
    capsa_err e = {0};
    assert_int_equal(cg_write("/nonexistent-capsa", "memory.limit_in_bytes", "1048576", &e),
                     -ENOENT);
    assert_string_equal(e.msg, "write memory.limit_in_bytes=1048576 to /nonexistent-capsa: "
                               "No such file or directory");
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares_to_weight),
        cmocka_unit_test(test_blkio_weight),
        cmocka_unit_test(test_cpu_max),
        cmocka_unit_test(test_swap_v2),
        cmocka_unit_test(test_dev_rule_v1),
        cmocka_unit_test(test_io_max_line),
        cmocka_unit_test(test_path_for),
        cmocka_unit_test(test_mountinfo_resolve),
        cmocka_unit_test(test_devfilter),
        cmocka_unit_test(test_v2_fake),
        cmocka_unit_test(test_v1_fake),
        cmocka_unit_test(test_write_error_message),
    };
    return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
