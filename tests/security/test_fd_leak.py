"""CVE-2024-21626 (runc): a descriptor of a host directory, open in the runtime,
reached the container; with process.cwd = /proc/self/fd/N the container started
*in* the host's file system. capsa closes every descriptor but stdio and the
--preserve-fds range before the container runs, and resolves cwd inside the
root without magic links.

Here the caller (like an engine would by mistake) runs capsa with an extra,
inheritable descriptor of a host directory holding a marker file."""
import os

from sectest import Result, run_raw

MARKER = "host-only-marker"


def _host_dir(sec):
    d = os.path.join(sec.ct.tmp, "hostdir")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, MARKER), "w") as f:
        f.write("this file is on the host\n")
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    os.set_inheritable(fd, True)
    return fd


def _capsa(sec, *args, fd):
    r = run_raw(["--root", sec.ct.root, *args], pass_fds=(fd,))
    return Result(r.returncode, r.stdout, r.stderr, " ".join(map(str, args)))


def test_host_fd_not_inherited_by_run(sec):
    fd = _host_dir(sec)
    try:
        b = sec.bundle(["/bin/attack", "fds", MARKER])
        _capsa(sec, "run", "--bundle", b.path, b.id, fd=fd).assert_blocked(step="no-descriptor")
        # control: handing the descriptor over on purpose is an escape
        b = sec.bundle(["/bin/attack", "fds", MARKER])
        r = _capsa(sec, "run", "--preserve-fds", fd - 2, "--bundle", b.path, b.id, fd=fd)
        assert r.ok and "reaches the host" in r.detail, r
        # the holes below it (3..fd-1 were not open in the caller) must not carry
        # any of capsa's own descriptors (state directory, lock, log) inside
        b = sec.bundle(["/bin/attack", "fds"])
        r = _capsa(sec, "run", "--preserve-fds", fd - 2, "--bundle", b.path, b.id, fd=fd)
        assert r.ok, r
        leaked = [d for d in r.detail.split()[2:] if not d.endswith((":/dev/null", "hostdir"))]
        assert not leaked, f"capsa's own descriptors reached the container: {leaked}"
    finally:
        os.close(fd)


def test_host_fd_not_inherited_by_exec(sec):
    fd = _host_dir(sec)
    try:
        b = sec.bundle(["sleep", "1000"])
        sec.ct.create(b)
        sec.ct.start(b.id)
        exe = ["/bin/attack", "fds", MARKER]
        _capsa(sec, "exec", b.id, *exe, fd=fd).assert_blocked(step="no-descriptor")
        r = _capsa(sec, "exec", "--preserve-fds", fd - 2, b.id, *exe, fd=fd)
        assert r.ok and "reaches the host" in r.detail, r
    finally:
        os.close(fd)


def test_cwd_through_proc_self_fd_rejected(sec):
    """cwd=/proc/self/fd/N with N a preserved host directory: refused (a magic link
    is never followed while resolving cwd), for run and for exec. The control
    shows what the path is: from inside, cd /proc/self/fd/N lands on the host."""
    fd = _host_dir(sec)
    try:
        cwd = f"/proc/self/fd/{fd}"

        def tweak(cfg):
            cfg["process"]["cwd"] = cwd
        b = sec.bundle(["cat", MARKER], tweak=tweak)
        r = _capsa(sec, "run", "--preserve-fds", fd - 2, "--bundle", b.path, b.id, fd=fd)
        assert r.rc != 0 and "cwd" in r.stderr and "host" not in r.stdout, r

        b = sec.bundle(["sleep", "1000"])
        sec.ct.create(b)
        sec.ct.start(b.id)
        r = _capsa(sec, "exec", "--preserve-fds", fd - 2, "--cwd", cwd, b.id, "cat", MARKER,
                   fd=fd)
        assert r.rc != 0 and "cwd" in r.stderr and "host" not in r.stdout, r

        # control: the same path, followed by a shell inside, is the host directory
        r = _capsa(sec, "exec", "--preserve-fds", fd - 2, b.id, "sh", "-c",
                   f"cd {cwd} && cat {MARKER}", fd=fd)
        assert r.rc == 0 and "on the host" in r.stdout, r
    finally:
        os.close(fd)
