"""System calls the default spec refuses.

Each case runs the attack three ways, all from `capsa spec`:
  1. the default spec: refused with the expected errno;
  2. for each protection layer, only that layer left on: still refused — each layer
     holds on its own (seccomp, and a capability the default set leaves out);
  3. every layer switched off: the attack succeeds (or, for calls that would change
     the host if they succeeded, gets past the permission checks to the kernel code
     they guard and fails there on purpose-made bad arguments), which shows that
     the test can fail.
"""
import os

import pytest

from sectest import run_raw

NO_MODULES = not os.path.exists("/proc/modules")      # CONFIG_MODULES=n
NO_KEXEC = not os.path.exists("/sys/kernel/kexec_loaded")


class Case:
    def __init__(self, name, args=(), layers=("seccomp",), blocked="EPERM", reached=None,
                 layer_only=True, why=""):
        self.name, self.args, self.layers = name, list(args), list(layers)
        self.blocked = blocked
        # errnos that mean "got past every permission check" (None: must succeed)
        self.reached = reached
        self.layer_only = layer_only
        self.why = why


CASES = [
    Case("mount", ["/mnt"], ["seccomp", "cap:CAP_SYS_ADMIN"],
         why="a new mount can uncover masked or read-only paths"),
    Case("unshare_user", why="user namespaces open root-only kernel code to the container"),
    Case("unshare_mnt", layers=["seccomp", "cap:CAP_SYS_ADMIN"]),
    Case("clone_user", why="clone(CLONE_NEWUSER): the flag rules on clone"),
    Case("clone3_user", blocked="ENOSYS",
         why="clone3 flags are out of seccomp's reach: ENOSYS makes libc fall back to clone"),
    Case("add_key", why="keyrings are not namespaced"),
    Case("keyctl"),
    Case("bpf", layers=["seccomp", "cap:CAP_BPF"],
         why="kernel.unprivileged_bpf_disabled leaves BPF to CAP_BPF; seccomp refuses it too"),
    Case("init_module", layers=["seccomp", "cap:CAP_SYS_MODULE"],
         reached=("ENOEXEC", "ENOSYS", "EINVAL", "ENOKEY", "EBADMSG"),
         layer_only=not NO_MODULES),
    Case("finit_module", layers=["seccomp", "cap:CAP_SYS_MODULE"],
         reached=("ENOEXEC", "ENOSYS", "EINVAL", "ENOKEY", "EBADMSG"),
         layer_only=not NO_MODULES,
         why="a module is code in the one kernel all containers share"),
    Case("kexec_load", layers=["seccomp", "cap:CAP_SYS_BOOT"], reached=("EINVAL", "ENOSYS"),
         layer_only=not NO_KEXEC, why="replaces the host kernel"),
    Case("perf", why="kernel information leaks, a large attack surface"),
    Case("userfaultfd", why="stalls page faults: the classic way to win kernel races"),
    Case("io_uring", why="a large, often exploited surface that bypasses syscall filtering"),
    Case("reboot", layers=["seccomp", "cap:CAP_SYS_BOOT"], reached=("EINVAL",)),
    Case("swapon", layers=["seccomp", "cap:CAP_SYS_ADMIN"], reached=("ENOENT",)),
    Case("syslog", layers=["seccomp", "cap:CAP_SYSLOG"],
         why="the kernel log leaks kernel addresses and host activity"),
    Case("ptrace_child", why="ptrace could bypass seccomp before Linux 4.8"),
    Case("vm_readv", why="process_vm_readv reads another process's memory"),
]


def _succeeded(r, case):
    if case.reached is None:
        return r.ok
    return r.ok or (r.outcome == "fail" and r.errno in case.reached)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_syscall_refused(sec, case):
    # 1. the default spec
    sec.attack(case.name, *case.args).assert_blocked(case.blocked)
    # 2. each layer on its own
    if len(case.layers) > 1 and case.layer_only:
        for keep in case.layers:
            off = [l for l in case.layers if l != keep]
            r = sec.attack(case.name, *case.args, off=off)
            r.assert_blocked(case.blocked if keep == "seccomp" else "EPERM")
    # 3. every layer off: the control
    r = sec.attack(case.name, *case.args, off=case.layers)
    assert _succeeded(r, case), f"control run: the attack should get through: {r!r}"


def test_open_by_handle_at_shocker(sec, attack_bin):
    """"shocker" (2014): a file handle names an inode of a file system, and
    open_by_handle_at() opens it relative to *any* fd on that file system — around
    the mount namespace and pivot_root. The container's root sits on the host's
    disk; the handle is that of a host file outside the root. seccomp and the
    missing CAP_DAC_READ_SEARCH each stop it; with both off it reads the file."""
    secret = os.path.join(sec.ct.tmp, "host-secret.txt")
    with open(secret, "w") as f:
        f.write("a file outside the container\n")
    r = run_raw(["gethandle", secret], binary=attack_bin)
    _, _, htype, handle = r.stdout.split()
    layers = ["seccomp", "cap:CAP_DAC_READ_SEARCH"]
    sec.attack("shocker", htype, handle).assert_blocked("EPERM", step="open_by_handle_at")
    for keep in layers:
        sec.attack("shocker", htype, handle, off=[l for l in layers if l != keep]) \
            .assert_blocked("EPERM", step="open_by_handle_at")
    r = sec.attack("shocker", htype, handle, off=layers).assert_ok()
    assert "outside the container" in r.detail
