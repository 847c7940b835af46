"""Rootless on pure cgroup v2 with a delegated subtree (issue 6): capsa uses it and
the limits apply. Runs where / is cgroup2 (the qemu guest of tests/vm)."""
import json
import os
import shutil
import subprocess

import pytest

from capsatest import CAPSA, copy_rootfs

NOBODY = 65534
pytestmark = pytest.mark.skipif(
    not os.path.exists("/sys/fs/cgroup/cgroup.subtree_control"),
    reason="needs a pure cgroup v2 host (make vm)")


@pytest.fixture
def delegated(ct):
    """/sys/fs/cgroup/capsa-deleg-<pid> owned by nobody, controllers enabled, with
    a leaf the runtime starts in — what systemd's Delegate=yes gives a user."""
    base = f"/sys/fs/cgroup/capsa-deleg-{os.getpid()}"
    os.mkdir(base)
    try:
        ctrls = open("/sys/fs/cgroup/cgroup.subtree_control").read().split()
        want = [c for c in ("memory", "pids", "cpu") if c in ctrls]
        open(f"{base}/cgroup.subtree_control", "w").write(" ".join("+" + c for c in want))
        os.mkdir(f"{base}/leaf")
        for p in (base, f"{base}/leaf"):
            os.chown(p, NOBODY, NOBODY)
            for f in ("cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
                os.chown(os.path.join(p, f), NOBODY, NOBODY)
        yield base
    finally:
        for d in sorted((os.path.join(r, n) for r, ds, _ in os.walk(base) for n in ds),
                        key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass
        try:
            os.rmdir(base)
        except OSError:
            pass


def test_rootless_uses_delegated_v2_subtree(ct, delegated):
    d = ct.world_dir()
    copy_rootfs(ct.template, os.path.join(d, "rootfs"))
    os.makedirs(os.path.join(d, "xdg"), mode=0o700)
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), NOBODY, NOBODY)
    os.chown(d, NOBODY, NOBODY)
    env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": os.path.join(d, "xdg")}
    nobody = ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"]
    r = subprocess.run(nobody + [CAPSA, "spec", "--rootless", "--memory", "48m", "--pids", "17",
                                 "--", "sh", "-c", "cat /proc/self/cgroup"],
                       cwd=d, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # start inside the delegated leaf, as systemd would
    script = f'echo $$ > {delegated}/leaf/cgroup.procs && exec "$@"'
    r = subprocess.run(["sh", "-c", script, "sh"] + nobody + [CAPSA, "run", "--keep", "v2"],
                       cwd=d, env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "NOT applied" not in r.stderr, r.stderr
    leafs = [os.path.join(rt, n) for rt, ds, _ in os.walk(delegated) for n in ds
             if n == "v2"]
    assert leafs, f"no container cgroup under {delegated}"
    assert open(os.path.join(leafs[0], "memory.max")).read().strip() == str(48 << 20)
    assert open(os.path.join(leafs[0], "pids.max")).read().strip() == "17"
    # the user's later commands run in the user's delegated cgroup too (relative
    # cgroup paths are resolved from the runtime's own cgroup)
    r = subprocess.run(["sh", "-c", script, "sh"] + nobody + [CAPSA, "delete", "v2"], cwd=d,
                       env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(leafs[0])
