"""An unprivileged user runs `capsa spec --rootless && capsa run` (issue 6)."""
import json
import os
import shutil
import subprocess

import pytest

from capsatest import CAPSA, copy_rootfs

NOBODY = 65534


def _as_nobody(args, cwd, env_extra=None):
    env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": os.path.join(cwd, "xdg")}
    env.update(env_extra or {})
    return subprocess.run(["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                           "--clear-groups", CAPSA, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def rootless_bundle(ct):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) not installed")
    d = ct.world_dir()
    copy_rootfs(ct.template, os.path.join(d, "rootfs"))
    os.makedirs(os.path.join(d, "xdg"), mode=0o700)
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), NOBODY, NOBODY)
    os.chown(d, NOBODY, NOBODY)
    yield d
    # whatever the run left in the user's state dir is removed by capsa itself;
    # the leftover checker of the ct fixture verifies mounts/processes.
    assert os.listdir(os.path.join(d, "xdg", "capsa")) == [] if os.path.exists(
        os.path.join(d, "xdg", "capsa")) else True


def _spec(d, *flags, cmd):
    r = _as_nobody(["spec", "--rootless", *flags, "--", *cmd], d)
    assert r.returncode == 0, r.stderr
    return json.load(open(os.path.join(d, "config.json")))


def test_rootless_run_maps_root_to_the_user(ct, rootless_bundle):
    d = rootless_bundle
    cfg = _spec(d, cmd=["sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/x 2>&1 | "
                        "head -c0; hostname"])
    assert {"containerID": 0, "hostID": NOBODY, "size": 1} in cfg["linux"]["uidMappings"]
    r = _as_nobody(["run", "r1"], d)
    assert r.returncode == 0, r.stderr
    out = r.stdout.split("\n")
    assert out[0] == "0"                               # root inside ...
    assert out[1].split() == ["0", str(NOBODY), "1"]   # ... is nobody outside
    # state lived in $XDG_RUNTIME_DIR/capsa and is gone after the foreground run
    assert os.listdir(os.path.join(d, "xdg", "capsa")) == []


def test_rootless_limits_not_applied_are_named(ct, rootless_bundle):
    """No delegated cgroup on this host: capsa runs anyway and says which limits
    it could not apply, instead of pretending."""
    d = rootless_bundle
    _spec(d, "--memory", "64m", "--pids", "50", cmd=["true"])
    r = _as_nobody(["run", "r2"], d)
    assert r.returncode == 0, r.stderr
    assert "limits NOT applied: memory, pids" in r.stderr, r.stderr


def test_rootless_files_belong_to_the_user(ct, rootless_bundle):
    """A file created by container root in a bind mount belongs to the mapped host uid."""
    d = rootless_bundle
    share = os.path.join(d, "share")
    os.makedirs(share)
    os.chown(share, NOBODY, NOBODY)
    _spec(d, "--rw", "--mount", f"{share}:/share", cmd=["touch", "/share/made-inside"])
    r = _as_nobody(["run", "r3"], d)
    assert r.returncode == 0, r.stderr
    st = os.stat(os.path.join(share, "made-inside"))
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)


def test_rootless_cannot_map_other_ids(ct, rootless_bundle):
    """Mapping ids the user does not own (no /etc/subuid range) is refused clearly."""
    d = rootless_bundle
    cfg = _spec(d, cmd=["true"])
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    path = os.path.join(d, "config.json")
    json.dump(cfg, open(path, "w"))
    r = _as_nobody(["run", "r4"], d)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines and "newuidmap" in lines[-1], r.stderr
