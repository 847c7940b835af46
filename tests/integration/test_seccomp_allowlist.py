"""Configs other engines write: seccomp allow-lists older than the runtime's own
syscalls, and ambient capabilities the kernel cannot raise (issue 17).

After the container's seccomp filter is loaded the runtime makes no syscall of its
own but execve (crun's and runc's rule; docs/security.md). A profile that allows only
what busybox needs plus execve, with SCMP_ACT_ERRNO or SCMP_ACT_KILL_PROCESS as its
default action, runs `run` and `exec`; the controls show the filter really is in
force (a syscall outside the list is refused / kills, and without execve nothing
runs). A startContainer hook runs under the filter, as with runc 1.1.
"""
import json
import os
import shutil
import subprocess

import pytest

import capsatest
from capsatest import cap_mask, status_caps

RUNC = shutil.which("runc")

# What busybox's sh, echo, cat and sleep call here (strace -f of the static
# binary), and execve. Nothing newer than 2017's engine profiles: no close_range,
# clone3, openat2, pidfd_*, faccessat2, no sendmsg/recvmsg, no fcntl.
BUSYBOX_SYSCALLS = [
    "arch_prctl", "brk", "clone", "close", "execve", "exit", "exit_group", "getpid",
    "getppid", "getrandom", "getuid", "geteuid", "getgid", "getegid", "mprotect",
    "mmap", "munmap", "newfstatat", "fstat", "stat", "lstat", "openat", "read", "write",
    "readlink", "rseq", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sendfile",
    "set_robust_list", "set_tid_address", "uname", "wait4", "prlimit64", "prctl",
    "nanosleep", "clock_nanosleep", "ioctl", "lseek", "getcwd",
]
# All `busybox true` calls (strace -f): the tightest list a program can run
# under. No write, close, openat, fcntl, sendmsg, clone: if the runtime made any
# call of its own after loading the filter, SCMP_ACT_KILL_PROCESS would kill it.
BUSYBOX_TRUE = ["arch_prctl", "brk", "execve", "exit_group", "getrandom", "getuid",
                "mprotect", "prctl", "prlimit64", "readlink", "rseq", "set_robust_list",
                "set_tid_address"]
# What running a hook takes: pipes for its state and stderr, a pidfd to wait on.
HOOK_SYSCALLS = ["pipe2", "dup2", "dup3", "pidfd_open", "poll", "ppoll", "kill", "getppid",
                 "rt_sigprocmask", "fcntl"]
# Without no_new_privs the capabilities are set after the filter (it needs
# CAP_SYS_ADMIN to load): capset is the one call runc and capsa make there.
CAPS_AFTER_FILTER = ["capset"]

ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def allowlist(default, names):
    p = {"defaultAction": default, "architectures": ARCHES,
         "syscalls": [{"names": sorted(set(names)), "action": "SCMP_ACT_ALLOW"}]}
    if default == "SCMP_ACT_ERRNO":
        p["defaultErrnoRet"] = 1  # EPERM
    return p


def seccomp_available():
    with open("/proc/self/status") as f:
        return "Seccomp:\t0" in f.read()


pytestmark = pytest.mark.skipif(not seccomp_available(),
                                reason="the test runner itself is under seccomp")

DEFAULTS = ["SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"]


def with_profile(default, nnp, names=BUSYBOX_SYSCALLS):
    def tweak(cfg):
        extra = [] if nnp else CAPS_AFTER_FILTER
        cfg["linux"]["seccomp"] = allowlist(default, list(names) + extra)
        cfg["process"]["noNewPrivileges"] = nnp
    return tweak


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
@pytest.mark.parametrize("default", DEFAULTS)
def test_run_under_busybox_allowlist(ct, default, nnp):
    out = ct.sh("echo ok; cat /proc/self/status", tweak=with_profile(default, nnp))
    assert out.startswith("ok\n"), out
    # the filter is on the program itself, and no_new_privs as asked
    assert "\nSeccomp:\t2\n" in out, out
    assert f"\nNoNewPrivs:\t{1 if nnp else 0}\n" in out, out


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
@pytest.mark.parametrize("default", DEFAULTS)
def test_exec_under_busybox_allowlist(ct, default, nnp):
    b = ct.running(args=("sleep", "1000"), tweak=with_profile(default, nnp))
    r = ct.capsa("exec", b.id, "sh", "-c", "echo exec-ok; cat /proc/self/status")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("exec-ok\n"), r.stdout
    assert "\nSeccomp:\t2\n" in r.stdout, r.stdout
    ct.capsa("kill", b.id, "KILL", check=True)
    ct.wait_status(b.id, "stopped")
    ct.capsa("delete", b.id, check=True)


def test_nothing_but_execve_after_the_filter(ct):
    """run and exec of `true` under a KILL_PROCESS profile of exactly what
    busybox true calls: the runtime's own steps all come before the filter."""
    tweak = with_profile("SCMP_ACT_KILL_PROCESS", True, BUSYBOX_TRUE)
    r = ct.run(["true"], tweak=tweak)
    assert r.returncode == 0, (r.returncode, r.stderr)
    cfg = {"args": ["true"], "cwd": "/", "env": ["PATH=/bin"], "noNewPrivileges": True,
           "user": {"uid": 0, "gid": 0}}
    proc = os.path.join(ct.tmp, "process.json")
    with open(proc, "w") as f:
        json.dump(cfg, f)
    # exec's --process has no seccomp of its own: it gets the container's, so
    # run a second container with the tight profile and sleep allowed
    names = BUSYBOX_TRUE + ["nanosleep", "clock_nanosleep"]
    b2 = ct.running(args=("sleep", "1000"), tweak=with_profile("SCMP_ACT_KILL_PROCESS", True,
                                                                names))
    r = ct.capsa("exec", "--process", proc, b2.id)
    assert r.returncode == 0, (r.returncode, r.stderr)
    ct.capsa("kill", b2.id, "KILL", check=True)
    ct.wait_status(b2.id, "stopped")
    ct.capsa("delete", b2.id, check=True)


@pytest.mark.parametrize("default", DEFAULTS)
def test_control_syscall_outside_the_list_is_refused(ct, default):
    """The list is what is in force: mkdir (not in it) fails or kills the shell."""
    r = ct.run(["sh", "-c", "mkdir /tmp/x && echo made"], tweak=with_profile(default, True))
    assert "made" not in r.stdout
    if default == "SCMP_ACT_KILL_PROCESS":
        assert r.returncode == 128 + 31 or r.returncode == -31, (r.returncode, r.stderr)
    else:
        assert r.returncode != 0 and "Operation not permitted" in r.stdout + r.stderr, r


@pytest.mark.parametrize("default", DEFAULTS)
def test_control_without_execve_nothing_runs(ct, default):
    """The filter is loaded before the program: take execve out and it cannot start."""
    names = [n for n in BUSYBOX_SYSCALLS if n != "execve"]
    r = ct.run(["echo", "ran"], tweak=with_profile(default, True, names))
    assert r.returncode != 0 and "ran" not in r.stdout, r


def test_start_container_hook_runs_under_the_filter(ct):
    """startContainer hooks run under the container's filter, as in runc 1.1: the
    hook's binary is resolved in the container, so it is the image's code."""
    def tweak(cfg):
        with_profile("SCMP_ACT_ERRNO", True, BUSYBOX_SYSCALLS + HOOK_SYSCALLS)(cfg)
        cfg["root"]["readonly"] = False
        cfg["hooks"] = {"startContainer": [{
            "path": "/bin/sh", "args": ["sh", "-c", "grep Seccomp: /proc/self/status > /tmp/h"]}]}
    b = ct.bundle(args=("cat", "/tmp/h"), tweak=tweak)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Seccomp:\t2\n", r.stdout


def test_start_container_hook_refused_by_the_filter_fails_start(ct):
    """A hook that needs a syscall the profile refuses (fork) fails `start` with an
    error naming the hook; the program never runs."""
    names = [n for n in BUSYBOX_SYSCALLS + HOOK_SYSCALLS if n not in ("clone", "wait4")]

    def tweak(cfg):
        with_profile("SCMP_ACT_ERRNO", True, names)(cfg)
        cfg["hooks"] = {"startContainer": [{"path": "/bin/sh",
                                            "args": ["sh", "-c", "/bin/true"]}]}
    b = ct.bundle(args=("echo", "program ran"), tweak=tweak)
    ct.create(b)
    r = ct.start(b.id, check=False)
    assert r.returncode != 0, r
    assert "startContainer" in r.stderr, r.stderr
    assert "program ran" not in r.stdout
    ct.capsa("delete", "--force", b.id, check=True)


def test_control_fork_is_killed_under_that_profile(ct):
    """Control for the allow-lists above: the same profile does kill a fork."""
    names = [n for n in BUSYBOX_SYSCALLS if n not in ("clone", "wait4")]
    r = ct.run(["sh", "-c", "/bin/echo forked; true"],
               tweak=with_profile("SCMP_ACT_KILL_PROCESS", True, names))
    assert "forked" not in r.stdout and r.returncode != 0, r


def test_fds_marked_without_close_range(ct):
    """close_range missing or refused: the runtime walks /proc/self/fd instead
    (CAPSA_FAULT=no-close-range takes the fallback); nothing leaks either way."""
    leak = os.open("/dev/null", os.O_RDONLY)  # inheritable: not close-on-exec
    try:
        b = ct.bundle(args=("ls", "/proc/self/fd"))
        p = subprocess.run([capsatest.CAPSA, "--root", ct.root, "run", "--bundle", b.path,
                            b.id], capture_output=True, text=True, pass_fds=(leak,),
                           env={**os.environ, "CAPSA_FAULT": "no-close-range"}, timeout=30)
        assert p.returncode == 0, p.stderr
        assert sorted(p.stdout.split()) == ["0", "1", "2", "3"], p.stdout
    finally:
        os.close(leak)


# --- ambient capabilities (runc spec, crun spec) -----------------------------------

def runc_spec_caps(cfg):
    """`runc spec`'s capability sets: ambient listed, inheritable not."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    cfg["process"]["capabilities"] = {"bounding": caps, "effective": caps,
                                      "permitted": caps, "ambient": caps}
    cfg["process"]["noNewPrivileges"] = True


def test_ambient_without_inheritable_is_left_out(ct):
    b = ct.bundle(args=("cat", "/proc/self/status"), tweak=runc_spec_caps)
    r = ct.capsa("run", "--bundle", b.path, b.id, global_args=("--debug",))
    assert r.returncode == 0, r.stderr
    caps = status_caps(r.stdout)
    assert caps["CapAmb"] == 0, hex(caps["CapAmb"])
    want = cap_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert caps["CapBnd"] == want and caps["CapEff"] == want, caps
    # --debug names the ones left out
    assert "ambient capabilities left out" in r.stderr, r.stderr
    assert "CAP_KILL" in r.stderr.split("ambient capabilities left out")[1], r.stderr


def test_ambient_with_inheritable_is_raised(ct):
    """Control: in permitted and inheritable, the ambient set is raised (a non-root
    user keeps it across execve)."""
    def tweak(cfg):
        runc_spec_caps(cfg)
        cfg["process"]["capabilities"]["inheritable"] = ["CAP_KILL"]
        cfg["process"]["user"] = {"uid": 65534, "gid": 65534}
    b = ct.bundle(args=("cat", "/proc/self/status"), tweak=tweak)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    caps = status_caps(r.stdout)
    assert caps["CapAmb"] == cap_mask(["CAP_KILL"]), hex(caps["CapAmb"])
    assert caps["CapEff"] & cap_mask(["CAP_KILL"]), hex(caps["CapEff"])


@pytest.mark.skipif(not RUNC, reason="runc not installed: no comparison")
def test_ambient_same_as_runc(ct):
    """runc on the same config: the same five sets."""
    def tweak(cfg):
        runc_spec_caps(cfg)
        cfg["process"]["capabilities"]["inheritable"] = ["CAP_NET_BIND_SERVICE"]
        cfg["process"]["user"] = {"uid": 65534, "gid": 65534}
    got = {}
    for name, binary in (("capsa", capsatest.CAPSA), ("runc", RUNC)):
        b = ct.bundle(args=("cat", "/proc/self/status"), tweak=tweak)
        r = capsatest.capsa("run", "--bundle", b.path, b.id, binary=binary,
                            root=os.path.join(ct.tmp, f"root-{name}"))
        assert r.returncode == 0, (name, r.stderr)
        got[name] = {k: v for k, v in status_caps(r.stdout).items()}
    assert got["capsa"] == got["runc"], got
