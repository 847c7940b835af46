/* The compiled-filter cache (src/linux/seccomp_cache.c): keys, the trust checks
 * on cached files, and a filter loaded from the cache that still denies. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "linux/seccomp_cache.h"
#include "linux/seccomp_filter.h"

static char *MKDIR[] = {"mkdir", "mkdirat", NULL};
static char dir[] = "/tmp/capsa-seccomp-cache-XXXXXX";

static spec_seccomp_syscall deny_mkdir(uint32_t err)
{
    return (spec_seccomp_syscall){.names = {.v = MKDIR, .n = 2}, .action = "SCMP_ACT_ERRNO",
                                  .has_errno_ret = true, .errno_ret = err};
}

static spec_seccomp profile(spec_seccomp_syscall *c)
{
    static char *none[] = {NULL};
    return (spec_seccomp){.present = true, .default_action = "SCMP_ACT_ALLOW",
                          .architectures = {.v = none}, .flags = {.v = none},
                          .syscalls = c, .n_syscalls = 1};
}

/* the one cache file, by name */
static int cache_file(char *out, size_t len)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(out, len, "%s/%s", dir, de->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static void empty_dir(void)
{
    char f[320];
    while (cache_file(f, sizeof f) > 0)
        assert_int_equal(unlink(f), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    chmod(dir, 0700);
    setenv("CAPSA_CACHE", dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    empty_dir();
    rmdir(dir);
    return 0;
}

static void test_key_covers_the_profile(void **state)
{
    (void)state;
    spec_seccomp_syscall a = deny_mkdir(EPERM), b = deny_mkdir(EACCES);
    spec_seccomp pa = profile(&a), pb = profile(&b), pa2 = profile(&a);
    seccomp_key ka, kb, ka2;
    seccomp_cache_key(&pa, &ka);
    seccomp_cache_key(&pb, &kb);
    seccomp_cache_key(&pa2, &ka2);
    assert_true(ka.n == ka2.n && !memcmp(ka.v, ka2.v, ka.n));
    assert_false(ka.n == kb.n && !memcmp(ka.v, kb.v, ka.n));
    free(ka.v);
    free(kb.v);
    free(ka2.v);
}

static void test_roundtrip_and_trust(void **state)
{
    (void)state;
    empty_dir();
    spec_seccomp_syscall a = deny_mkdir(EPERM), b = deny_mkdir(EACCES);
    spec_seccomp pa = profile(&a), pb = profile(&b);
    seccomp_key ka, kb;
    seccomp_cache_key(&pa, &ka);
    seccomp_cache_key(&pb, &kb);
    struct sock_filter prog[3] = {{.code = 1}, {.code = 2}, {.code = 3, .k = 7}};
    struct sock_filter *got = NULL;
    size_t n = 0;
    assert_int_equal(seccomp_cache_get(&ka, &got, &n), -1);   /* empty */
    seccomp_cache_put(&ka, prog, 3);
    assert_int_equal(seccomp_cache_get(&ka, &got, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(got, prog, sizeof prog);
    free(got);
    assert_int_equal(seccomp_cache_get(&kb, &got, &n), -1);   /* other profile */

    char f[320];
    assert_int_equal(cache_file(f, sizeof f), 1);
    /* writable by others: never trusted */
    assert_int_equal(chmod(f, 0666), 0);
    assert_int_equal(seccomp_cache_get(&ka, &got, &n), -1);
    assert_int_equal(chmod(f, 0600), 0);
    assert_int_equal(seccomp_cache_get(&ka, &got, &n), 0);
    free(got);
    /* a file under ka's name that holds another key: not ka's program */
    seccomp_cache_put(&kb, prog, 3);
    char other[320];
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && strcmp(strrchr(f, '/') + 1, de->d_name))
            snprintf(other, sizeof other, "%s/%s", dir, de->d_name);
    closedir(d);
    assert_int_equal(rename(other, f), 0);
    assert_int_equal(seccomp_cache_get(&ka, &got, &n), -1);
    /* a directory others may write to: never trusted */
    empty_dir();
    seccomp_cache_put(&ka, prog, 3);
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(seccomp_cache_get(&ka, &got, &n), -1);
    assert_int_equal(chmod(dir, 0700), 0);
    /* off: nothing read, nothing written */
    empty_dir();
    setenv("CAPSA_CACHE", "off", 1);
    seccomp_cache_put(&ka, prog, 3);
    assert_int_equal(seccomp_cache_get(&ka, &got, &n), -1);
    setenv("CAPSA_CACHE", dir, 1);
    assert_int_equal(cache_file(f, sizeof f), 0);
    free(ka.v);
    free(kb.v);
}

/* prepare twice (the second from the cache), then install in a child: mkdir
 * fails with the profile's errno; the control child without a filter works. */
static int child(const spec_seccomp *s)
{
    capsa_err e = {0};
    if (s && seccomp_install(s, &e) < 0)
        return 90;
    char path[300];
    snprintf(path, sizeof path, "%s/.probe", dir);
    int r = mkdir(path, 0700) < 0 ? errno : 0;
    rmdir(path);
    return r;
}

static int run(const spec_seccomp *s)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(child(s));
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
}

static void test_cached_filter_denies(void **state)
{
    (void)state;
    empty_dir();
    spec_seccomp_syscall a = deny_mkdir(EACCES);
    spec_seccomp pa = profile(&a);
    capsa_err e = {0};
    assert_int_equal(seccomp_prepare(&pa, &e), 0);
    char f[320];
    assert_int_equal(cache_file(f, sizeof f), 1);
    struct stat before;
    assert_int_equal(stat(f, &before), 0);
    assert_int_equal(seccomp_prepare(&pa, &e), 0);   /* from the cache */
    struct stat after;
    assert_int_equal(stat(f, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);   /* not rewritten */
    assert_int_equal(run(&pa), EACCES);
    assert_int_equal(run(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_covers_the_profile),
        cmocka_unit_test(test_roundtrip_and_trust),
        cmocka_unit_test(test_cached_filter_denies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
