/* The linux.seccomp profile `capsa spec` writes: a deny list. Everything is
 * allowed except the syscalls below, which fail with EPERM (clone3: ENOSYS).
 * Why each group is denied (docs/security.md has the long form):
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
 * personality stays allowed: the safe-values-only rule Docker uses needs an
 * allow list (one comparison per argument is all a deny rule can express). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "spec/spec.h"

#define EPERM_RET 1
#define ENOSYS_RET 38

static const char *const architectures[] = {
    "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL,
};

static const char *const denied[] = {
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

/* clone(2) flags that create a namespace. libseccomp cannot test "flags & mask
 * != 0", so each gets its own rule: (flags & F) == F. */
static const uint64_t clone_ns_flags[] = {
    0x00020000, /* CLONE_NEWNS */
    0x02000000, /* CLONE_NEWCGROUP */
    0x04000000, /* CLONE_NEWUTS */
    0x08000000, /* CLONE_NEWIPC */
    0x10000000, /* CLONE_NEWUSER */
    0x20000000, /* CLONE_NEWPID */
    0x40000000, /* CLONE_NEWNET */
};

static json_t *strv(const char *const *v)
{
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static json_t *rule(json_t *names, int errno_ret)
{
    return json_pack("{s:o, s:s, s:i}", "names", names, "action", "SCMP_ACT_ERRNO",
                     "errnoRet", errno_ret);
}

/* The profile as JSON text (malloc'd; NULL only when out of memory), for
 * spec_default_json to place at linux.seccomp. */
char *spec_default_seccomp_json(void)
{
    json_t *calls = json_array();
    json_array_append_new(calls, rule(strv(denied), EPERM_RET));
    json_array_append_new(calls, rule(json_pack("[s]", "clone3"), ENOSYS_RET));
    for (size_t i = 0; i < sizeof clone_ns_flags / sizeof *clone_ns_flags; i++) {
        json_t *r = rule(json_pack("[s]", "clone"), EPERM_RET);
        json_object_set_new(r, "args",
                            json_pack("[{s:i, s:I, s:I, s:s}]", "index", 0, "value",
                                      (json_int_t)clone_ns_flags[i], "valueTwo",
                                      (json_int_t)clone_ns_flags[i], "op",
                                      "SCMP_CMP_MASKED_EQ"));
        json_array_append_new(calls, r);
    }
    json_t *p = json_object();
    json_object_set_new(p, "defaultAction", json_string("SCMP_ACT_ALLOW"));
    json_object_set_new(p, "architectures", strv(architectures));
    json_object_set_new(p, "syscalls", calls);
    char *text = json_dumps(p, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(p);
    return text;
}
