"""Smoke test of the cgroup v2 guest (tests/vm/run.py runs it first): the guest is a
faithful pure v2 host, and capsa's limits land in the container's cgroup files, and an
allocation beyond memory.max is OOM-killed (exit 137).

Outside the guest (CAPSA_VM_GUEST unset) every test is skipped: the development hosts
are hybrid.
"""
import itertools
import json
import os
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(HERE))
CAPSA = os.environ.get("CAPSA", os.path.join(CHECKOUT, "build", "capsa"))
MIB = 1 << 20
_ids = itertools.count(1)

pytestmark = pytest.mark.skipif(os.environ.get("CAPSA_VM_GUEST") != "1",
                                reason="runs inside the cgroup v2 guest (tests/vm/run.py)")


def _read(path):
    with open(path) as f:
        return f.read()


def capsa(root, *args, check=True, timeout=60):
    # Output through files: a created container inherits them, and would hold a pipe open.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.run([CAPSA, "--root", root, *args], stdout=out, stderr=err,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        r = subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())
    if check:
        assert r.returncode == 0, f"capsa {' '.join(args)} exited {r.returncode}: {r.stderr}"
    return r


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    d = tmp_path_factory.mktemp("template") / "rootfs"
    subprocess.run([os.path.join(CHECKOUT, "scripts", "mkrootfs.sh"), str(d)], check=True)
    return d


@pytest.fixture
def bundle(tmp_path, rootfs):
    """A busybox bundle (scripts/mkrootfs.sh + `capsa spec`) with memory 64 MiB,
    pids 50 and cpu 0.5 (quota 50000/100000), in a cgroup named after the test."""
    b = tmp_path / "bundle"
    b.mkdir()
    subprocess.run(["cp", "-a", str(rootfs), str(b / "rootfs")], check=True)
    subprocess.run([CAPSA, "spec", "--bundle", str(b)], check=True)
    root = str(tmp_path / "state")
    cid = f"smoke-{os.getpid()}-{next(_ids)}"
    cgpath = f"capsa-smoke/{cid}"

    def configure(args):
        cfg = json.loads((b / "config.json").read_text())
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        cfg["linux"]["cgroupsPath"] = cgpath
        cfg["linux"].setdefault("resources", {}).update({
            "memory": {"limit": 64 * MIB},
            "pids": {"limit": 50},
            "cpu": {"quota": 50000, "period": 100000},
        })
        (b / "config.json").write_text(json.dumps(cfg, indent=2))
        return str(b)

    yield configure, root, cid
    capsa(root, "delete", "--force", cid, check=False)
    parent = "/sys/fs/cgroup/capsa-smoke"
    for d in (os.path.join(parent, cid), parent):
        try:
            os.rmdir(d)
        except OSError:
            pass


def test_guest_is_pure_cgroup_v2():
    mounts = [l.split() for l in _read("/proc/mounts").splitlines()]
    cg = [m for m in mounts if m[2] in ("cgroup", "cgroup2")]
    assert [(m[1], m[2]) for m in cg] == [("/sys/fs/cgroup", "cgroup2")], cg
    assert "cgroup_no_v1=all" in _read("/proc/cmdline")
    enabled = _read("/sys/fs/cgroup/cgroup.subtree_control").split()
    for c in ("cpu", "memory", "pids", "io", "cpuset"):
        assert c in enabled, f"controller {c} not enabled at the root: {enabled}"
    # No v1 hierarchy can be mounted at all.
    d = "/run/capsa-smoke-v1"
    os.makedirs(d, exist_ok=True)
    r = subprocess.run(["mount", "-t", "cgroup", "-o", "memory", "none", d],
                       capture_output=True, text=True)
    if r.returncode == 0:
        subprocess.run(["umount", d])
    os.rmdir(d)
    assert r.returncode != 0, "a cgroup v1 memory hierarchy could be mounted"


def test_limits_land_in_the_cgroup(bundle):
    configure, root, cid = bundle
    path = configure(["sleep", "1000"])
    capsa(root, "create", "--bundle", path, cid)
    pid = json.loads(capsa(root, "state", cid).stdout)["pid"]
    line = _read(f"/proc/{pid}/cgroup").strip()
    assert line.startswith("0::/"), line
    cg = "/sys/fs/cgroup" + line[3:]
    assert cg.endswith(f"/capsa-smoke/{cid}"), cg
    got = {k: _read(os.path.join(cg, k)).strip()
           for k in ("memory.max", "pids.max", "cpu.max")}
    assert got == {"memory.max": str(64 * MIB), "pids.max": "50", "cpu.max": "50000 100000"}
    assert str(pid) in _read(os.path.join(cg, "cgroup.procs")).split()
    capsa(root, "start", cid)
    capsa(root, "kill", cid, "KILL")
    deadline = time.monotonic() + 20
    while json.loads(capsa(root, "state", cid).stdout)["status"] != "stopped":
        assert time.monotonic() < deadline, "container did not stop after SIGKILL"
        time.sleep(0.1)
    capsa(root, "delete", cid)
    assert not os.path.exists(cg), f"delete left {cg}"


def test_oom_kill_under_64mib(bundle):
    configure, root, cid = bundle
    # busybox dd allocates its 200 MiB buffer and fills it from /dev/zero.
    path = configure(["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"])
    r = capsa(root, "run", "--bundle", path, cid, check=False, timeout=120)
    assert r.returncode == 137, f"exit {r.returncode}, stderr: {r.stderr}"
