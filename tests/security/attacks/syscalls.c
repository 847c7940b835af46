/* Attacks that are one system call the default seccomp profile (and usually a
 * missing capability) refuses. Where a successful call would change the host,
 * the arguments are chosen so that the kernel rejects them only *after* its
 * permission checks: EPERM then means "stopped by a protection", any other
 * errno means "reached the kernel code the protection guards". */
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "common.h"

int attack_mount(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/mnt";
    TRY("mount", mount("capsa-attack", dir, "tmpfs", 0, "size=16k"));
    umount2(dir, MNT_DETACH);
    ok("mounted a tmpfs on %s", dir);
}

int attack_unshare_user(int argc, char **argv)
{
    (void)argc, (void)argv;
    TRY("unshare", unshare(CLONE_NEWUSER));
    ok("new user namespace");
}

int attack_unshare_mnt(int argc, char **argv)
{
    (void)argc, (void)argv;
    TRY("unshare", unshare(CLONE_NEWNS));
    ok("new mount namespace");
}

static void reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

int attack_clone_user(int argc, char **argv)
{
    (void)argc, (void)argv;
    /* The raw syscall: glibc's clone() may go through clone3. */
    long pid = TRY("clone", syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0));
    if (pid == 0)
        _exit(0);
    reap((pid_t)pid);
    ok("child in a new user namespace");
}

int attack_clone3_user(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct clone_args ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
    long pid = TRY("clone3", syscall(SYS_clone3, &ca, sizeof ca));
    if (pid == 0)
        _exit(0);
    reap((pid_t)pid);
    ok("child in a new user namespace");
}

int attack_add_key(int argc, char **argv)
{
    (void)argc, (void)argv;
    long k = TRY("add_key", syscall(SYS_add_key, "user", "capsa-attack", "x", 1,
                                    KEY_SPEC_SESSION_KEYRING));
    syscall(SYS_keyctl, KEYCTL_INVALIDATE, k);
    ok("key %ld added to the session keyring", k);
}

/* Not an attack by itself: which session keyring the process has. */
int attack_keyring(int argc, char **argv)
{
    (void)argc, (void)argv;
    long id = TRY("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
                                    KEY_SPEC_SESSION_KEYRING, 0));
    char desc[256] = "";
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, desc, sizeof desc - 1);
    if (n < 0)
        snprintf(desc, sizeof desc, "?");
    ok("%ld %s", id, desc);
}

int attack_bpf(int argc, char **argv)
{
    (void)argc, (void)argv;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 1;
    long fd = TRY("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a));
    close((int)fd);
    ok("created a BPF map");
}

/* The "module" is this program: not a module, so a kernel that gets past the
 * permission checks answers ENOEXEC (or ENOSYS without module support). */
int attack_finit_module(int argc, char **argv)
{
    (void)argc, (void)argv;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open", errno);
    if (syscall(SYS_finit_module, fd, "", 0) < 0)
        fail("finit_module", errno);
    ok("module loaded (!)");
}

int attack_init_module(int argc, char **argv)
{
    (void)argc, (void)argv;
    static const char not_elf[64] = "not a module";
    if (syscall(SYS_init_module, not_elf, sizeof not_elf, "") < 0)
        fail("init_module", errno);
    ok("module loaded (!)");
}

int attack_keyctl(int argc, char **argv)
{
    (void)argc, (void)argv;
    long id = TRY("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
                                    KEY_SPEC_USER_KEYRING, 0));
    ok("user keyring %ld", id);
}

/* More segments than KEXEC_SEGMENT_MAX: EINVAL after the permission checks. */
int attack_kexec_load(int argc, char **argv)
{
    (void)argc, (void)argv;
    if (syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0UL) < 0)
        fail("kexec_load", errno);
    ok("kexec image loaded (!)");
}

int attack_perf(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = TRY("perf_event_open", syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
    close((int)fd);
    ok("perf event opened");
}

int attack_userfaultfd(int argc, char **argv)
{
    (void)argc, (void)argv;
    long fd = TRY("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
    close((int)fd);
    ok("userfaultfd created");
}

int attack_io_uring(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    long fd = TRY("io_uring_setup", syscall(SYS_io_uring_setup, 1, &p));
    close((int)fd);
    ok("io_uring created");
}

/* Wrong magic numbers: EINVAL once CAP_SYS_BOOT is granted, nothing reboots. */
int attack_reboot(int argc, char **argv)
{
    (void)argc, (void)argv;
    if (syscall(SYS_reboot, 0, 0, 0, NULL) < 0)
        fail("reboot", errno);
    ok("reboot accepted (!)");
}

/* A swap file that does not exist: ENOENT once CAP_SYS_ADMIN is granted. */
int attack_swapon(int argc, char **argv)
{
    (void)argc, (void)argv;
    if (syscall(SYS_swapon, "/capsa-attack-no-such-swapfile", 0) < 0)
        fail("swapon", errno);
    ok("swap enabled (!)");
}

/* The size of the kernel log buffer: read only, but kernel.dmesg_restrict=1
 * reserves it to CAP_SYSLOG. */
int attack_syslog(int argc, char **argv)
{
    (void)argc, (void)argv;
    long n = TRY("syslog", syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
    ok("kernel log buffer is %ld bytes", n);
}

static pid_t sleeping_child(void)
{
    pid_t pid = fork();
    if (pid < 0)
        usage_error("fork: %s", strerror(errno));
    if (pid == 0) {
        pause();
        _exit(0);
    }
    return pid;
}

int attack_ptrace_child(int argc, char **argv)
{
    (void)argc, (void)argv;
    pid_t pid = sleeping_child();
    long r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);
    int err = errno;
    if (r == 0) {
        int st;
        waitpid(pid, &st, 0);
        ptrace(PTRACE_DETACH, pid, NULL, NULL);
    }
    kill(pid, SIGKILL);
    reap(pid);
    if (r < 0)
        fail("ptrace", err);
    ok("attached to pid %d", (int)pid);
}

static volatile char secret[16] = "child-secret";

int attack_vm_readv(int argc, char **argv)
{
    (void)argc, (void)argv;
    pid_t pid = sleeping_child();
    char buf[16] = "";
    struct iovec local = {buf, sizeof buf}, remote = {(void *)secret, sizeof buf};
    long n = syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0);
    int err = errno;
    kill(pid, SIGKILL);
    reap(pid);
    if (n < 0)
        fail("process_vm_readv", err);
    ok("read \"%.*s\" from pid %d", (int)sizeof buf, buf, (int)pid);
}

/* For the seccomp notify round trip: the listener decides what this returns. */
int attack_getppid(int argc, char **argv)
{
    (void)argc, (void)argv;
    long r = TRY("getppid", syscall(SYS_getppid));
    ok("%ld", r);
}
