/* selfexe_swap (src/linux/selfexe.c): the running process moved onto a sealed
 * copy of its binary without an exec. Each case runs in a child, which is the
 * process that swaps. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "linux/selfexe.h"

#define SKIP 77

static int marker = 1;   /* data written before the swap, read after */

/* Lines of /proc/self/maps that map the file (dev, ino). */
static int maps_of(const struct stat *st)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned maj, min;
        unsigned long long ino;
        if (sscanf(line, "%*x-%*x %*s %*x %x:%x %llu", &maj, &min, &ino) == 3 &&
            ino == st->st_ino && makedev(maj, min) == st->st_dev)
            n++;
    }
    fclose(f);
    return n;
}

/* Run fn in a child; its exit status (SKIP: skip the test). */
static void in_child(int (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn());
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == SKIP)
        skip();
    assert_int_equal(WEXITSTATUS(st), 0);
}

static int swap_and_check(void)
{
    struct stat st;
    if (stat("/proc/self/exe", &st) < 0 || maps_of(&st) < 1)
        return 2;   /* control: before the swap the binary is mapped */
    marker = 42;
    int r = selfexe_swap();
    if (r == -ENOTSUP)
        return SKIP;   /* sanitizer build: the exec is kept */
    if (r < 0) {
        fprintf(stderr, "selfexe_swap: %s\n", strerror(-r));
        return 3;
    }
    char exe[256] = "";
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0 || strncmp(exe, "/memfd:capsa", 12)) {
        fprintf(stderr, "exe is %s\n", exe);
        return 4;
    }
    if (maps_of(&st) != 0)
        return 5;   /* a mapping of the binary is left */
    if (marker != 42)
        return 6;   /* written data lost */
    if (!selfexe_sealed() || selfexe_swap() != 0)
        return 7;   /* a second call has nothing to do */
    /* the copy cannot be written */
    int fd = open("/proc/self/exe", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "x", 1) >= 0 || errno != EPERM)
            return 8;
        close(fd);
    }
    return 0;
}

static void test_swap(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    in_child(swap_and_check);
}

static int swap_refused(void)
{
    setenv("CAPSA_FAULT", "no-swap", 1);
    struct stat st;
    if (stat("/proc/self/exe", &st) < 0)
        return 2;
    if (selfexe_swap() != -ENOTSUP || selfexe_sealed() || maps_of(&st) < 1)
        return 3;
    return 0;
}

static void test_no_swap_switch(void **state)
{
    (void)state;
    in_child(swap_refused);
}

/* Without CAP_SYS_RESOURCE, CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE the exe
 * file cannot be set: the swap is not tried, the binary stays mapped. */
static int swap_without_caps(void)
{
    struct stat st;
    if (stat("/proc/self/exe", &st) < 0 || maps_of(&st) < 1)
        return 2;
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {{0}};
    if (syscall(SYS_capget, &h, d) < 0)
        return 3;
    d[0].effective = d[1].effective = 0;
    if (syscall(SYS_capset, &h, d) < 0)
        return 4;
    int r = selfexe_swap();
    if (r == -ENOTSUP)
        return SKIP;   /* sanitizer build: no swap at all */
    if (r != -EPERM || selfexe_sealed() || maps_of(&st) < 1)
        return 5;
    return 0;
}

static void test_swap_needs_caps(void **state)
{
    (void)state;
    in_child(swap_without_caps);
}

/* The copy starts with the running image's header and program headers; one
 * that lost them (CAPSA_FAULT=lose-phdrs: what a copy that started at the wrong
 * offset kept) is refused with ENOEXEC, not handed to fexecve. */
static int sealed_copy_checked(void)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph;
    int fd = selfexe_sealed_fd();
    if (fd < 0)
        return 2;
    if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
        pread(fd, &ph, sizeof ph, (off_t)eh.e_phoff) != sizeof ph || ph.p_type == PT_NULL)
        return 3;
    close(fd);
    setenv("CAPSA_FAULT", "lose-phdrs", 1);
    fd = selfexe_sealed_fd();
    return fd == -ENOEXEC ? 0 : 4;
}

static void test_sealed_copy_checked(void **state)
{
    (void)state;
    in_child(sealed_copy_checked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_no_swap_switch),
        cmocka_unit_test(test_swap_needs_caps),
        cmocka_unit_test(test_sealed_copy_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
