/* The linux.seccomp profile `capsa spec` writes: an allow list, in effect
 * Docker's default. Every syscall not listed fails with EPERM (defaultAction
 * SCMP_ACT_ERRNO, defaultErrnoRet 1); clone only without namespace flags; clone3
 * gets ENOSYS; personality only with the safe values. What is left out, and why
 * (docs/security.md has the long form):
 *   keyrings (add_key keyctl request_key): keys are not namespaced; the host's are reachable.
 *   modules (create_module init_module finit_module delete_module get_kernel_syms
 *     query_module): code loaded into the one kernel all containers share.
 *   kexec (kexec_load kexec_file_load) and reboot: replace or stop the host kernel.
 *   clocks (settimeofday stime clock_settime clock_adjtime): the wall clock is host-wide.
 *   mounts (mount umount umount2 pivot_root mount_setattr move_mount open_tree fsopen
 *     fsconfig fsmount fspick): a new mount can uncover masked or read-only paths.
 *   namespaces (unshare setns; clone with CLONE_NEW* flags): new namespaces, above all
 *     user namespaces, open root-only kernel code to the container.
 *   clone3: its flags sit in memory seccomp cannot read, so it gets ENOSYS and libc
 *     falls back to clone, whose flags are filtered (Docker does the same).
 *   file handles (open_by_handle_at name_to_handle_at): the "shocker" escape opens
 *     host files by handle, around the mount namespace.
 *   other processes (ptrace process_vm_readv process_vm_writev kcmp): read or write
 *     another process's memory; ptrace could bypass seccomp before Linux 4.8.
 *   perf_event_open and bpf: kernel information leaks and a large attack surface.
 *   userfaultfd: stalls kernel page faults, the classic way to win exploit races.
 *   io_uring (io_uring_setup io_uring_enter io_uring_register): a large, often
 *     exploited kernel surface that bypasses per-syscall filtering (Docker denies it).
 *   NUMA policy (get_mempolicy set_mempolicy mbind move_pages): host memory placement.
 *   I/O ports (iopl ioperm): direct hardware access.
 *   swap (swapon swapoff), quotas (quotactl quotactl_fd), acct: host-wide settings.
 *   syslog: the kernel log leaks kernel addresses and host activity.
 *   obsolete (_sysctl ustat uselib nfsservctl lookup_dcookie vm86 vm86old): old
 *     interfaces nothing needs, with a history of bugs.
 *   personality other than 0 (PER_LINUX), 8 (PER_LINUX32), 0x20000 (UNAME26),
 *     0x20008 and 0xffffffff (query): e.g. READ_IMPLIES_EXEC or ADDR_NO_RANDOMIZE
 *     weaken exploit mitigations.
 *   Anything the kernel adds later: not in the list, so denied until reviewed. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "spec/spec.h"

#define EPERM_RET 1
#define ENOSYS_RET 38

static const char *const architectures[] = {
    "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL,
};

/* Syscalls that are never allowed (kept for the docs and the test that checks
 * none of them slipped into the allow list). */
const char *const spec_seccomp_denied[] = {
    "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
    "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick",
    "get_kernel_syms", "get_mempolicy", "init_module", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp", "kexec_file_load",
    "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr",
    "move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
    "open_tree", "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev",
    "ptrace", "query_module", "quotactl", "quotactl_fd", "reboot", "request_key",
    "set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon", "_sysctl",
    "syslog", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86",
    "vm86old", NULL,
};

/* clone(2) is allowed when (flags & these) == 0: no new namespace. */
#define CLONE_NS_MASK 0x7E020000ULL /* NEWNS NEWCGROUP NEWUTS NEWIPC NEWUSER NEWPID NEWNET */

static const char *const allowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk",
    "capget", "capset", "chdir", "chmod", "chown", "chown32", "chroot", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
    "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
    "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
    "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64",
    "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents",
    "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
    "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
    "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
    "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
    "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
    "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc",
    "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
    "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
    "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
    "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat",
    "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt",
    "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause",
    "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
    "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64",
    "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv",
    "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
    "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
    "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop",
    "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
    "setdomainname", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid",
    "setgid32", "setgroups", "setgroups32", "sethostname", "setitimer", "setpgid",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
    "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
    "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "socket", "socketcall", "socketpair", "splice",
    "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
    "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid",
    "write", "writev", NULL,
};

/* personality(2) values that change nothing that matters for security. */
static const uint64_t personality_ok[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

static json_t *strv(const char *const *v)
{
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static json_t *allow(json_t *names)
{
    return json_pack("{s:o, s:s}", "names", names, "action", "SCMP_ACT_ALLOW");
}

static json_t *arg(uint64_t value, uint64_t value_two, const char *op)
{
    return json_pack("{s:i, s:I, s:I, s:s}", "index", 0, "value", (json_int_t)value, "valueTwo",
                     (json_int_t)value_two, "op", op);
}

/* The profile as JSON text (malloc'd; NULL only when out of memory), for
 * spec_default_json to place at linux.seccomp. */
char *spec_default_seccomp_json(void)
{
    json_t *calls = json_array();
    json_array_append_new(calls, allow(strv(allowed)));
    json_t *c = allow(json_pack("[s]", "clone"));
    json_object_set_new(c, "args", json_pack("[o]", arg(CLONE_NS_MASK, 0, "SCMP_CMP_MASKED_EQ")));
    json_array_append_new(calls, c);
    /* Several args on one index are OR-ed: any of the safe values. */
    json_t *p = allow(json_pack("[s]", "personality")), *pa = json_array();
    for (size_t i = 0; i < sizeof personality_ok / sizeof *personality_ok; i++)
        json_array_append_new(pa, arg(personality_ok[i], 0, "SCMP_CMP_EQ"));
    json_object_set_new(p, "args", pa);
    json_array_append_new(calls, p);
    json_array_append_new(calls, json_pack("{s:[s], s:s, s:i}", "names", "clone3", "action",
                                           "SCMP_ACT_ERRNO", "errnoRet", ENOSYS_RET));
    json_t *prof = json_object();
    json_object_set_new(prof, "defaultAction", json_string("SCMP_ACT_ERRNO"));
    json_object_set_new(prof, "defaultErrnoRet", json_integer(EPERM_RET));
    json_object_set_new(prof, "architectures", strv(architectures));
    json_object_set_new(prof, "syscalls", calls);
    char *text = json_dumps(prof, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(prof);
    return text;
}
