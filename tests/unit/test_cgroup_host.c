/* cgroup on this host, as root (skipped otherwise): a container cgroup with
 * limits, devices, freeze, update, kill and destroy; the v2 device filter and
 * freezer on the cgroup2 hierarchy. Everything lives under capsa-test-<pid>
 * and is removed again even when a check fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/internal.h"

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

typedef struct {
    pid_t kids[8];
    size_t n;
    char parent[64], path[96], bad[96], bpf[96];
    cg_host host;
} host_state;

static void child_wait_go(int go)
{
    char c;
    while (read(go, &c, 1) < 0 && errno == EINTR) {
    }
}

/* A child that, once moved in, reports which device opens work: one byte
 * per open, '1' ok, 'P' EPERM, 'E' anything else. Then sleeps. */
static pid_t spawn(host_state *s, bool probe_devices, int *go_w, int *res_r)
{
    int go[2], res[2];
    assert_int_equal(pipe2(go, O_CLOEXEC), 0);
    assert_int_equal(pipe2(res, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        close(go[1]);
        close(res[0]);
        if (probe_devices) {
            child_wait_go(go[0]);
            static const struct { const char *p; int fl; } o[] = {
                {"/dev/null", O_RDWR}, {"/dev/zero", O_RDONLY}, {"/dev/zero", O_RDWR},
                {"/dev/full", O_RDONLY}};
            char out[4];
            for (int i = 0; i < 4; i++) {
                int fd = open(o[i].p, o[i].fl | O_CLOEXEC);
                out[i] = fd >= 0 ? '1' : errno == EPERM ? 'P' : 'E';
                if (fd >= 0)
                    close(fd);
            }
            if (write(res[1], out, 4) != 4)
                _exit(1);
        }
        for (;;)
            pause();
    }
    close(go[0]);
    close(res[1]);
    if (go_w)
        *go_w = go[1];
    else
        close(go[1]);
    if (res_r)
        *res_r = res[0];
    else
        close(res[0]);
    s->kids[s->n++] = pid;
    return pid;
}

static void expect_probe(int go_w, int res_r, const char *want)
{
    char out[5] = {0};
    assert_int_equal(write(go_w, "g", 1), 1);
    assert_int_equal(read(res_r, out, 4), 4);
    close(go_w);
    close(res_r);
    if (strcmp(out, want))
        fail_msg("device opens (null rw, zero r, zero rw, full r): got %s, want %s", out, want);
}

static int reap(host_state *s, pid_t pid)
{
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    for (size_t i = 0; i < s->n; i++)
        if (s->kids[i] == pid)
            s->kids[i] = 0;
    assert_true(WIFSIGNALED(status));
    return WTERMSIG(status);
}

static int host_setup(void **st)
{
    host_state *s = calloc(1, sizeof *s);
    snprintf(s->parent, sizeof s->parent, "capsa-test-%d", (int)getpid());
    snprintf(s->path, sizeof s->path, "%s/leaf", s->parent);
    snprintf(s->bad, sizeof s->bad, "%s/bad", s->parent);
    snprintf(s->bpf, sizeof s->bpf, "%s/bpf", s->parent);
    capsa_err e = {0};
    s->host.v2 = -1;
    if (geteuid() == 0 && cg_host_load(&s->host, &e) < 0)
        fprintf(stderr, "cg_host_load: %s\n", e.msg);
    *st = s;
    return 0;
}

static int host_teardown(void **st)
{
    host_state *s = *st;
    for (size_t i = 0; i < s->n; i++) {
        if (s->kids[i] > 0) {
            kill(s->kids[i], SIGKILL);
            waitpid(s->kids[i], NULL, 0);
        }
    }
    capsa_err e = {0};
    if (geteuid() == 0 && cgroup_destroy(s->parent, NULL, &e) < 0)
        fprintf(stderr, "teardown: %s\n", e.msg);
    cg_host_free(&s->host);
    free(s);
    return 0;
}

/* v1 file where the controller is a v1 one, else the v2 file. */
static void expect_ctl(host_state *s, const char *path, const char *ctl, const char *v1f,
                       const char *v1want, const char *v2f, const char *v2want)
{
    const cg_hier *h = cg_host_v1(&s->host, ctl);
    bool v1 = h && s->host.mode != CG_UNIFIED;
    if (!v1)
        h = cg_host_v2(&s->host);
    assert_non_null(h);
    char *dir = NULL;
    capsa_err e = {0};
    assert_int_equal(cg_resolve(&s->host, h, path, NULL, NULL, &dir, &e), 0);
    if (v1 && v1f)
        expect_file(dir, v1f, v1want);
    else if (!v1 && v2f && cg_has_file(dir, v2f))
        expect_file(dir, v2f, v2want);
    free(dir);
}

static void expect_gone(host_state *s, const char *path)
{
    for (size_t i = 0; i < s->host.n; i++) {
        char *dir = NULL;
        capsa_err e = {0};
        assert_int_equal(cg_resolve(&s->host, &s->host.h[i], path, NULL, NULL, &dir, &e), 0);
        if (cg_dir_exists(dir))
            fail_msg("%s is left behind", dir);
        free(dir);
    }
}

#define OK(call)                                \
    do {                                        \
        capsa_err e_ = {0};                     \
        capsa_err *e = &e_;                     \
        if ((call) < 0)                         \
            fail_msg("%s: %s", #call, e_.msg);  \
    } while (0)

static void test_host_container(void **st)
{
    host_state *s = *st;
    if (geteuid() != 0 || s->host.n == 0)
        skip();
    const int64_t M = 1 << 20;
    bool v1mem = s->host.mode != CG_UNIFIED && cg_host_v1(&s->host, "memory");
    spec_dev_rule rules[] = {
        {.allow = false},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 5, .access = "r"},
        {.allow = true, .type = 'c', .access = "m"},
    };
    spec_resources r = {
        .present = true,
        .memory = {.present = true, .has_limit = true, .limit = 64 * M},
        .cpu = {.present = true, .has_shares = true, .shares = 512, .has_quota = true,
                .quota = 50000, .has_period = true, .period = 100000},
        .has_pids = true, .pids_limit = 20,
        .devices = rules, .n_devices = 4,
    };
    int go, res;
    pid_t a = spawn(s, true, &go, &res);
    char *made = NULL;  /* the parent capsa-test-PID: this setup made it */
    OK(cgroup_setup(s->path, &r, a, &made, e));
    assert_non_null(made);
    expect_probe(go, res, "11PP");

    expect_ctl(s, s->path, "memory", "memory.limit_in_bytes", "67108864", "memory.max",
               "67108864");
    expect_ctl(s, s->path, "pids", "pids.max", "20", "pids.max", "20");
    expect_ctl(s, s->path, "cpu", "cpu.cfs_quota_us", "50000", "cpu.max", "50000 100000");
    expect_ctl(s, s->path, "cpu", "cpu.cfs_period_us", "100000", NULL, NULL);
    expect_ctl(s, s->path, "cpu", "cpu.shares", "512", "cpu.weight", "20");
    expect_ctl(s, s->path, "devices", "devices.list", "c 1:3 rwm\nc 1:5 r\nc *:* m", NULL,
               NULL);
    if (s->host.v2 >= 0) {  /* the 0:: path is the container's own, hybrid too */
        char f[64], *txt = NULL, *own;
        snprintf(f, sizeof f, "/proc/%d/cgroup", (int)a);
        capsa_err e = {0};
        assert_int_equal(cg_read("/", f, &txt, &e), 0);
        own = cg_own_path(txt, "", true);
        assert_non_null(own);
        assert_non_null(strstr(own, s->path));
        free(own);
        free(txt);
    }

    pid_t b = spawn(s, false, NULL, NULL);
    OK(cgroup_enter(s->path, b, e));
    pid_t *pids = NULL;
    size_t n = 0;
    OK(cgroup_pids(s->path, &pids, &n, e));
    assert_int_equal(n, 2);
    assert_true((pids[0] == a && pids[1] == b) || (pids[0] == b && pids[1] == a));
    free(pids);

    OK(cgroup_freeze(s->path, true, e));
    expect_ctl(s, s->path, "freezer", "freezer.state", "FROZEN", NULL, NULL);
    OK(cgroup_is_frozen(s->path, e));
    {
        capsa_err e = {0};
        assert_int_equal(cgroup_is_frozen(s->path, &e), 1);
    }
    OK(cgroup_freeze(s->path, false, e));
    expect_ctl(s, s->path, "freezer", "freezer.state", "THAWED", NULL, NULL);
    {
        capsa_err e = {0};
        assert_int_equal(cgroup_is_frozen(s->path, &e), 0);
    }

    /* v1 needs memsw raised before the limit and lowered after it: the
     * kernel refuses limit > memsw at any step. */
    spec_resources up = {.present = true,
                         .memory = {.present = true, .has_limit = true, .limit = 256 * M,
                                    .has_swap = true, .swap = 512 * M}};
    OK(cgroup_update(s->path, &up, e));
    expect_ctl(s, s->path, "memory", "memory.limit_in_bytes", "268435456", "memory.max",
               "268435456");
    if (v1mem)
        expect_ctl(s, s->path, "memory", "memory.memsw.limit_in_bytes", "536870912", NULL,
                   NULL);
    else
        expect_ctl(s, s->path, "memory", NULL, NULL, "memory.swap.max", "268435456");
    spec_resources down = {.present = true,
                           .memory = {.present = true, .has_limit = true, .limit = 32 * M,
                                      .has_swap = true, .swap = 48 * M}};
    OK(cgroup_update(s->path, &down, e));
    expect_ctl(s, s->path, "memory", "memory.limit_in_bytes", "33554432", "memory.max",
               "33554432");
    if (v1mem)
        expect_ctl(s, s->path, "memory", "memory.memsw.limit_in_bytes", "50331648", NULL,
                   NULL);

    OK(cgroup_kill_all(s->path, SIGTERM, e));
    assert_int_equal(reap(s, a), SIGTERM);
    assert_int_equal(reap(s, b), SIGTERM);

    pid_t c = spawn(s, false, NULL, NULL);
    OK(cgroup_enter(s->path, c, e));
    OK(cgroup_kill_all(s->path, SIGKILL, e));
    assert_int_equal(reap(s, c), SIGKILL);
    OK(cgroup_pids(s->path, &pids, &n, e));
    assert_int_equal(n, 0);
    free(pids);

    /* a failing setup removes what it made (the parent exists: kept) */
    spec_resources bad = {.present = true,
                          .cpu = {.present = true, .has_quota = true, .quota = 500,
                                  .has_period = true, .period = 100000}};
    capsa_err e = {0};
    assert_true(cgroup_setup(s->bad, &bad, 0, NULL, &e) < 0);
    assert_non_null(strstr(e.msg, "cpu"));
    assert_non_null(strstr(e.msg, s->bad));
    expect_gone(s, s->bad);

    OK(cgroup_destroy(s->path, made, e));
    expect_gone(s, s->parent);
    OK(cgroup_destroy(s->path, made, e));  /* idempotent */
    free(made);
}

/* Resources whose controller this host lacks fail with a clear message, and
 * leave nothing behind. */
static void test_host_unavailable(void **st)
{
    host_state *s = *st;
    if (geteuid() != 0 || s->host.n == 0)
        skip();
    capsa_err e = {0};
    spec_resources nc = {.present = true, .has_net_class_id = true, .net_class_id = 1};
    if (!cg_host_v1(&s->host, "net_cls") || s->host.mode == CG_UNIFIED) {
        assert_true(cgroup_setup(s->bad, &nc, 0, NULL, &e) < 0);
        assert_non_null(strstr(e.msg, "net_cls"));
        expect_gone(s, s->parent);
    }
    /* hugetlb on this hybrid host: only on cgroup2, and not delegated by the
     * root (which capsa did not create): the error names the file. */
    const cg_hier *v2 = cg_host_v2(&s->host);
    char *sub = NULL;
    if (s->host.mode == CG_HYBRID && !cg_host_v1(&s->host, "hugetlb") && v2 &&
        cg_word_in(s->host.v2_ctrls, "hugetlb") &&
        cg_read(v2->mount, "cgroup.subtree_control", &sub, &e) == 0 &&
        !cg_word_in(sub, "hugetlb")) {
        spec_hugepage hp = {"2MB", 1 << 21};
        spec_resources h = {.present = true, .hugepages = &hp, .n_hugepages = 1};
        assert_true(cgroup_setup(s->bad, &h, 0, NULL, &e) < 0);
        char want[512];
        snprintf(want, sizeof want, "cgroup v2 controller hugetlb is not enabled in "
                 "%s/cgroup.subtree_control", v2->mount);
        if (!strstr(e.msg, want))
            fail_msg("got: %s", e.msg);
        expect_gone(s, s->parent);
    }
    free(sub);
    spec_kv kv[] = {{"memory.high", "1000000"}};
    spec_resources u = {.present = true, .unified = {kv, 1}};
    if (s->host.mode != CG_UNIFIED && !cg_word_in(s->host.v2_ctrls, "memory")) {
        assert_true(cgroup_setup(s->bad, &u, 0, NULL, &e) < 0);
        assert_non_null(strstr(e.msg, "unified"));
        expect_gone(s, s->parent);
    }
}

/* The cgroup2 directory (the whole cgroup on v2, the 0:: one on hybrid):
 * eBPF device filter, cgroup.freeze, and the kill loop. */
static void test_host_v2_dir(void **st)
{
    host_state *s = *st;
    if (geteuid() != 0 || s->host.v2 < 0)
        skip();
    char *made = NULL;
    OK(cgroup_setup(s->bpf, NULL, 0, &made, e));
    char *dir = NULL;
    OK(cg_resolve(&s->host, cg_host_v2(&s->host), s->bpf, NULL, NULL, &dir, e));
    spec_dev_rule rules[] = {
        {.allow = false},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 3, .access = "rwm"},
        {.allow = true, .type = 'c', .has_major = true, .major = 1, .has_minor = true,
         .minor = 5, .access = "r"},
    };
    OK(cg2_devices(dir, rules, 3, e));
    OK(cg2_devices(dir, rules, 3, e));  /* replaces, does not stack */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    uint32_t ids[8];
    union bpf_attr q;
    memset(&q, 0, sizeof q);
    q.query.target_fd = (uint32_t)dfd;
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = (uint64_t)(uintptr_t)ids;
    q.query.prog_cnt = 8;
    assert_int_equal(syscall(__NR_bpf, BPF_PROG_QUERY, &q, sizeof q), 0);
    assert_int_equal(q.query.prog_cnt, 1);
    close(dfd);

    int go, res;
    pid_t a = spawn(s, true, &go, &res);
    OK(cgroup_enter(s->bpf, a, e));
    expect_probe(go, res, "11PP");

    OK(cg2_freeze(dir, true, e));
    expect_file(dir, "cgroup.freeze", "1");
    {
        capsa_err e = {0};
        assert_int_equal(cg2_is_frozen(dir, &e), 1);
    }
    OK(cg2_freeze(dir, false, e));
    {
        capsa_err e = {0};
        assert_int_equal(cg2_is_frozen(dir, &e), 0);
    }

    /* the loop used without cgroup.kill: freeze, signal, thaw, until empty */
    OK(cg_kill_procs(dir, dir, true, SIGKILL, e));
    assert_int_equal(reap(s, a), SIGKILL);
    free(dir);
    OK(cgroup_destroy(s->bpf, made, e));
    expect_gone(s, s->parent);
    free(made);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_container, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_host_unavailable, host_setup, host_teardown),
        cmocka_unit_test_setup_teardown(test_host_v2_dir, host_setup, host_teardown),
    };
    return cmocka_run_group_tests_name("cgroup-host", tests, NULL, NULL);
}
