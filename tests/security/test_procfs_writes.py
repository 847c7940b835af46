"""Writes capsa makes to /proc (CVE-2025-52881 class): linux.sysctl, oomScoreAdj,
uid/gid maps, time offsets. runc wrote through the container's /proc, where a
mount or symlink could redirect the write to another file. capsa writes through a
private procfs instance (fsopen + fsmount, checked to be procfs) with no symlink
and no mount crossing allowed, and refuses sysctls that are not namespaced."""
import os
import subprocess

import pytest

SHM = "/proc/sys/kernel/shm_rmid_forced"   # an ipc-namespaced sysctl


def _fake_sys(sec):
    d = os.path.join(sec.ct.tmp, "fake-sys")
    os.makedirs(os.path.join(d, "kernel"))
    with open(os.path.join(d, "kernel", "shm_rmid_forced"), "w") as f:
        f.write("0\n")
    return d


def _ipc_sysctl(pid):
    r = subprocess.run(["nsenter", f"--ipc=/proc/{pid}/ns/ipc", "cat", SHM],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def test_sysctl_write_not_redirected(sec):
    """A mount over /proc/sys (a directory with a look-alike file) must not catch
    the sysctl write: the real, namespaced sysctl is set and the file is untouched."""
    fake = _fake_sys(sec)

    def tweak(cfg):
        cfg["mounts"].append({"destination": "/proc/sys", "type": "bind", "source": fake,
                              "options": ["rbind", "rw"]})
        cfg["linux"]["sysctl"] = {"kernel.shm_rmid_forced": "1"}
    b = sec.bundle(["cat", SHM], tweak=tweak)
    sec.ct.create(b)
    try:
        assert _ipc_sysctl(sec.ct.state(b.id)["pid"]) == "1"
    finally:
        sec.ct.capsa("delete", "--force", b.id)
    with open(os.path.join(fake, "kernel", "shm_rmid_forced")) as f:
        assert f.read() == "0\n", "the sysctl write went into the look-alike file"
    # control: the trap is armed — through the container's /proc, that path is the
    # look-alike file, which a path-based write would have hit
    b = sec.bundle(["cat", SHM], tweak=tweak)
    r = sec.ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0 and r.stdout.strip() == "0", r


@pytest.mark.parametrize("key,note", [
    ("kernel.core_pattern", "not in a separate kernel namespace"),
    ("net.ipv4.ip_forward", "host's network namespace"),
])
def test_sysctl_not_namespaced_refused(sec, key, note):
    """A sysctl outside the container's own namespaces would change the host: refused
    before the container runs (runc refuses the same). Host value unchanged."""
    path = "/proc/sys/" + key.replace(".", "/")
    with open(path) as f:
        before = f.read()

    def tweak(cfg):
        cfg["linux"]["sysctl"] = {key: before.strip()}
        if key.startswith("net."):
            cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                          if n["type"] != "network"]
    r = sec.run(["true"], tweak=tweak)
    assert r.rc != 0 and key in r.stderr and note in r.stderr, r
    with open(path) as f:
        assert f.read() == before
    # control: a namespaced sysctl is applied
    r = sec.run(["cat", SHM], tweak=lambda c: c["linux"].update(
        sysctl={"kernel.shm_rmid_forced": "1"}))
    assert r.rc == 0 and r.stdout.strip() == "1", r


def test_exec_oom_score_adj_not_redirected(sec):
    """capsa exec writes oomScoreAdj after joining the container's mount namespace.
    A container that may mount (here: seccomp off, CAP_SYS_ADMIN) covers /proc
    with a tmpfs holding a look-alike self/oom_score_adj. The write must reach the
    real process, not the file."""
    def tweak(cfg):
        cfg["process"]["oomScoreAdj"] = 123
    script = ("mount -t tmpfs t /proc && mkdir -p /proc/self && echo 0 > "
              "/proc/self/oom_score_adj && echo ready && exec sleep 1000")
    b = sec.bundle(["sh", "-c", script], off=["seccomp", "cap:CAP_SYS_ADMIN"], tweak=tweak)
    sec.ct.create(b)
    sec.ct.start(b.id)
    pidfile = os.path.join(b.path, "exec.pid")
    r = sec.ct.capsa("exec", "--detach", "--pid-file", pidfile, b.id, "sleep", "1000")
    assert r.returncode == 0, r.stderr
    with open(pidfile) as f:
        pid = int(f.read())
    with open(f"/proc/{pid}/oom_score_adj") as f:
        real = f.read().strip()
    look = sec.ct.capsa("exec", b.id, "cat", "/proc/self/oom_score_adj").stdout.strip()
    assert real == "123", f"the exec'd process has oom_score_adj {real}"
    assert look == "0", f"the look-alike file was written: {look!r}"
