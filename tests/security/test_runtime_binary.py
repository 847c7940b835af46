"""The runtime's own process and binary, seen from inside the container.

CVE-2019-5736 (runc): the container makes its /bin/sh "#!/proc/self/exe"; when the
runtime execs /bin/sh in it, the kernel runs the runtime binary itself inside the
container, where the attacker opens /proc/PID/exe and, once that process exits,
reopens it for writing and replaces the host's runtime. capsa's create, run and
exec run from a sealed memfd copy of the binary (src/linux/selfexe.c), so what
/proc/PID/exe leads to cannot be written and is not the host file.

These tests run a *copy* of the binary under test (build/capsa is never exposed),
and check that the copy's bytes are unchanged.

The runtime while it sets a container up is non-dumpable: a process in the
container cannot open its exe or ptrace it (without CAP_SYS_PTRACE)."""
import os
import re
import shutil
import subprocess
import time

import pytest

from sectest import CAPSA, Result, run_raw, sha256, wait_for

SH_SCRIPT = "#!/proc/self/exe\n"


def _add_runtime_libs(rootfs, binary):
    """The shared libraries and loader the (dynamic) runtime needs, so the kernel
    can actually run it inside the container as the attack requires. A static build
    (`make static`) needs none: ldd says "not a dynamic executable" and exits 1."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if r.returncode != 0 and "not a dynamic executable" in r.stdout + r.stderr:
        return
    assert r.returncode == 0, f"ldd {binary}: {r.stderr}"
    out = r.stdout
    for path in re.findall(r"(/\S+) \(0x", out):
        dest = os.path.join(rootfs, path.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(os.path.realpath(path), dest)


def _evil_sh(binary):
    def image(rootfs):
        _add_runtime_libs(rootfs, binary)
        sh = os.path.join(rootfs, "bin", "sh")
        os.unlink(sh)
        with open(sh, "w") as f:
            f.write(SH_SCRIPT)
        os.chmod(sh, 0o755)
    return image


def _result_line(out_path, timeout):
    def read():
        with open(out_path) as f:
            text = f.read()
        return text if "RESULT " in text else None
    return wait_for(read, timeout=timeout, what=f"a RESULT line in {out_path}")


def _exe_overwrite(sec, unsealed, fault=None):
    ct = sec.ct
    copy = os.path.join(ct.tmp, "capsa-copy")
    shutil.copy2(CAPSA, copy)
    before = sha256(copy)
    env = dict(os.environ)
    if unsealed:
        env["CAPSA_UNSAFE_NO_SEALED_EXE"] = "1"
    if fault:
        env["CAPSA_FAULT"] = fault
    b = sec.bundle(["/bin/attack", "exe_overwrite", "15000"], image=_evil_sh(copy))
    out = os.path.join(b.path, "attacker.out")

    def rt(*args, **kw):
        return run_raw(["--root", ct.root, *args], binary=copy, env=env, **kw)

    r = rt("create", "--bundle", b.path, b.id, stdout_path=out)
    assert r.returncode == 0, r.stderr
    assert rt("start", b.id).returncode == 0
    # Each exec runs the runtime binary inside the container for a moment; the
    # attacker polls /proc for it.
    for _ in range(50):
        rt("exec", b.id, "/bin/sh")
        with open(out) as f:
            if "CAUGHT" in f.read():
                break
        time.sleep(0.05)
    text = _result_line(out, timeout=20)
    res = Result(0, text, "", f"exe_overwrite ({'unsealed' if unsealed else 'sealed'})")
    print(res)
    caught = re.search(r"CAUGHT exe=(.*) dev=(\d+):(\d+) ino=(\d+)", text)
    assert caught, f"the attacker never caught the runtime: {res!r}"
    return res, caught, copy, before


@pytest.mark.parametrize("way", ["swap", "no-swap"])
def test_runtime_binary_cannot_be_overwritten(sec, way):
    """`exec` swaps onto a sealed copy without an exec; with that refused
    (CAPSA_FAULT=no-swap) it re-executes from one. Either way the attack fails."""
    build_sha = sha256(CAPSA)
    res, caught, copy, before = _exe_overwrite(sec, unsealed=False,
                                               fault="no-swap" if way == "no-swap" else None)
    st = os.stat(copy)
    assert (int(caught[2]), int(caught[3]), int(caught[4])) != \
        (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino), \
        f"/proc/PID/exe led to the host's binary: {res!r}"
    assert "memfd:" in caught[1], res
    res.assert_blocked(("EPERM", "ETXTBSY", "ETIMEDOUT"))
    assert res.step in ("open-exe-for-write", "write-exe"), res
    assert sha256(copy) == before, "the runtime binary changed"
    assert sha256(CAPSA) == build_sha


def test_runtime_binary_control_without_sealed_copy(sec):
    """Control: CAPSA_UNSAFE_NO_SEALED_EXE=1 runs the copy from its file; the same
    attack then rewrites it (this is why the test uses a copy)."""
    build_sha = sha256(CAPSA)
    res, caught, copy, before = _exe_overwrite(sec, unsealed=True)
    res.assert_ok()
    assert sha256(copy) != before, "control: the attack should have changed the copy"
    with open(copy, "rb") as f:
        assert f.read().endswith(b"CVE-2019-5736 was here\n")
    assert sha256(CAPSA) == build_sha


def _waiting_runtime(sec, attack, off):
    """Container A runs the attacker; container B joins A's pid namespace and is
    created, not started: its init is capsa, waiting on the exec fifo, visible in A."""
    ct = sec.ct
    # --linger: the attacker is pid 1 of the namespace; its exit would kill B.
    a = sec.bundle(["/bin/attack", "--linger", attack, "15000", "/tmp/go"], off=off)
    out = os.path.join(a.path, "attacker.out")
    r = run_raw(["--root", ct.root, "create", "--bundle", a.path, a.id], stdout_path=out)
    assert r.returncode == 0, r.stderr
    ct.start(a.id)
    pid = ct.state(a.id)["pid"]

    def join_a(cfg):
        for ns in cfg["linux"]["namespaces"]:
            if ns["type"] == "pid":
                ns["path"] = f"/proc/{pid}/ns/pid"
    b = sec.bundle(["true"], tweak=join_a)
    ct.create(b)
    # B's init now waits on its exec fifo, with the container's capabilities:
    # only then may the attacker (polling for /tmp/go in its root) look.
    open(os.path.join(a.rootfs, "tmp", "go"), "w").close()
    text = _result_line(out, timeout=15)
    ct.capsa("delete", "--force", b.id, check=True)
    return Result(0, text, "", f"{attack} with {', '.join(off) or 'the default spec'}")


def test_waiting_runtime_exe_not_reachable(sec):
    """/proc/PID/exe of the runtime inside the container: refused (non-dumpable)."""
    _waiting_runtime(sec, "runtime_exe", []).assert_blocked("EACCES", step="open-exe")
    # control: CAP_SYS_PTRACE overrides non-dumpable
    _waiting_runtime(sec, "runtime_exe", ["cap:CAP_SYS_PTRACE"]).assert_ok()


def test_waiting_runtime_cannot_be_ptraced(sec):
    """ptrace of the runtime inside the container: seccomp refuses ptrace; without
    seccomp, non-dumpable still does; with CAP_SYS_PTRACE too it succeeds."""
    _waiting_runtime(sec, "runtime_ptrace", []).assert_blocked("EPERM", step="ptrace-attach")
    _waiting_runtime(sec, "runtime_ptrace", ["seccomp"]) \
        .assert_blocked("EPERM", step="ptrace-attach")
    _waiting_runtime(sec, "runtime_ptrace", ["seccomp", "cap:CAP_SYS_PTRACE"]).assert_ok()


def _host_binary_maps(pid):
    """The lines of /proc/PID/maps that map the host's capsa binary (by dev, inode)."""
    st = os.stat(CAPSA)
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    with open(f"/proc/{pid}/maps") as f:
        return [line for line in f
                if len(line.split()) >= 5 and line.split()[3] == dev and
                int(line.split()[4]) == st.st_ino]


def _created_init_exe(sec, env=None, tweak=None, base=None):
    """/proc/PID/exe of a created container's init, and its mappings of the host binary."""
    ct = sec.ct
    b = sec.bundle(["true"], tweak=tweak, base=base)
    r = run_raw(["--root", ct.root, "create", "--bundle", b.path, b.id], env=env)
    assert r.returncode == 0, r.stderr
    pid = ct.state(b.id)["pid"]
    exe, maps = os.readlink(f"/proc/{pid}/exe"), _host_binary_maps(pid)
    ct.capsa("delete", "--force", b.id, check=True)
    return exe, maps


def _userns(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


@pytest.mark.parametrize("way", ["swap", "no-swap"])
def test_created_init_runs_from_sealed_copy(sec, way):
    """The runtime swaps itself onto a sealed copy without an exec (selfexe_swap)
    before it makes init; with that refused (CAPSA_FAULT=no-swap), init re-executes
    alone from one (src/linux/reinit.c) or the whole command does. Each way, for
    both ways of making init: cloned in one go (default spec) and through stage1
    (a user namespace). Init's exe is the copy and no mapping of the host's
    binary is left in it (/proc/PID/map_files would lead there)."""
    env = dict(os.environ, CAPSA_FAULT=way) if way == "no-swap" else None
    for name, kw in (("one clone", {}),
                     ("two stages", {"tweak": _userns, "base": sec.ct.world_dir()})):
        exe, maps = _created_init_exe(sec, env=env, **kw)
        assert exe.startswith("/memfd:capsa"), f"{name}: {exe}"
        assert maps == [], f"{name}: init still maps the host binary: {maps}"
    # control: without the protection init is the host's binary and maps it
    env = dict(os.environ, CAPSA_UNSAFE_NO_SEALED_EXE="1")
    exe, maps = _created_init_exe(sec, env=env)
    assert os.path.realpath(exe) == os.path.realpath(CAPSA)
    assert maps, "control: the host binary should be mapped"


def _exec_window(sec, enter):
    """A container with CAP_SYS_PTRACE watches for new processes in its pid
    namespace and reads a host-only file through /proc/PID/root, while
    enter(cid, init_pid) puts processes into it from the host."""
    ct = sec.ct
    marker = os.path.join(ct.tmp, f"host-only-{os.getpid()}")
    token = f"HOST-ONLY-{os.getpid()}-{time.monotonic_ns()}"
    with open(marker, "w") as f:
        f.write(token + "\n")
    b = sec.bundle(["/bin/attack", "proc_root_read", "8000", marker], off=["cap:CAP_SYS_PTRACE"])
    out = os.path.join(b.path, "attacker.out")
    r = run_raw(["--root", ct.root, "create", "--bundle", b.path, b.id], stdout_path=out)
    assert r.returncode == 0, r.stderr
    ct.start(b.id)
    pid = ct.state(b.id)["pid"]
    for _ in range(100):
        enter(b.id, pid)
        with open(out) as f:
            if "RESULT" in f.read():
                break
    text = _result_line(out, timeout=15)
    ct.capsa("delete", "--force", b.id, check=True)
    return Result(0, text, "", "proc_root_read"), token


def test_exec_process_never_in_the_container_with_the_host_root(sec):
    """`capsa exec`: the process appears in the container's pid namespace only
    once it is in all the container's namespaces; before that it still has the
    host's root and mounts, and a container process with CAP_SYS_PTRACE could
    read and write host files through /proc/PID/root (no ptrace call needed).
    Control: a process that enters only the pid namespace (nsenter --pid, the
    order a one-fork exec would have) is caught and the host file read."""
    res, token = _exec_window(sec, lambda cid, pid: sec.ct.capsa("exec", cid, "/bin/true"))
    res.assert_blocked("ETIMEDOUT", step="find-host-root")
    assert token not in res.stdout

    def pid_ns_only(cid, pid):
        # (killed with the namespace once the attacker, its pid 1, is done)
        subprocess.run(["nsenter", "-t", str(pid), "--pid", "--", "sleep", "0.05"])
    res, token = _exec_window(sec, pid_ns_only)
    res.assert_ok()
    assert token in res.stdout, res
