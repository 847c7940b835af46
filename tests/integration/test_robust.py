"""Crash recovery (issue 11): `capsa create` stopped at each stage by the test-only
CAPSA_FAULT=<stage> and then SIGKILLed (the runtime, or the child that is doing the
work), and a container's init that dies on its own or is killed from the host.

Afterwards `list` and `state` describe the half-made container honestly, `delete
--force` removes all of it, and the `ct` fixture checks that no mount, cgroup (both
hierarchies), process, state dir or veth is left.
"""
import json
import os
import signal
import subprocess

import pytest

from capsatest import error_lines, host_end, links, pid_alive, wait_for
from conftest import _cgroup_dirs

pytestmark = pytest.mark.capsa_only("CAPSA_FAULT is capsa's test-only fault injection")

# In the order create reaches them (docs/capsa.md, "CAPSA_FAULT").
STAGES = ["statedir", "cgroup", "namespaces", "hooks", "mounts", "exec", "created"]
# Stages where the process that stops is a child of capsa (stage1, or init).
CHILD_STAGES = ["namespaces", "mounts", "exec"]


def create_until(ct, b, stage):
    """Start `capsa create` with CAPSA_FAULT=stage; return it once stopped there."""
    p = ct.popen("create", "--bundle", b.path, b.id, stdout=subprocess.DEVNULL,
                 env={"CAPSA_FAULT": stage})
    seen = []
    for line in p.stderr:
        seen.append(line)
        if f"fault: stopped at {stage}" in line:
            return p
    p.wait()
    raise AssertionError(f"create never reached {stage} (exit {p.returncode}): {seen}")


def children(pid):
    """Live (not zombie) children of pid."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += [int(c) for c in f.read().split()]
    return [c for c in out if pid_alive(c)]


def cgroups_of(cid):
    return _cgroup_dirs(lambda p: os.path.basename(p) == cid)


def listed(ct, cid):
    r = ct.capsa("list", "--format", "json")
    assert r.returncode == 0, r.stderr
    entries = [c for c in json.loads(r.stdout) if c["id"] == cid]
    assert len(entries) == 1, r.stdout
    return entries[0]


def with_hook_marker(ct):
    """A createRuntime hook that leaves a file: proof the hooks stage was reached."""
    mark = os.path.join(ct.tmp, "hook-ran")

    def tweak(cfg):
        cfg["hooks"] = {"createRuntime": [{"path": "/bin/sh",
                                           "args": ["sh", "-c", f"touch {mark}"]}]}
    return mark, tweak


def assert_stage_reached(ct, b, stage, p, mark):
    """What exists when create stops at `stage` (so the fault point is where it says)."""
    assert os.path.exists(os.path.join(ct.root, b.id, "state.json"))
    if stage == "statedir":
        assert not cgroups_of(b.id)
        return
    assert cgroups_of(b.id), f"no cgroup at stage {stage}"
    if stage in CHILD_STAGES:
        kids = children(p.pid)
        assert kids, f"capsa has no child at stage {stage}"
        ns = "net" if stage == "namespaces" else "mnt"
        assert any(os.readlink(f"/proc/{k}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")
                   for k in kids), f"no child in a new {ns} namespace"
    if stage in ("hooks", "mounts", "exec", "created"):
        assert os.path.exists(mark)


@pytest.mark.parametrize("stage", STAGES)
def test_sigkill_of_capsa_at_each_stage(ct, stage):
    mark, tweak = with_hook_marker(ct)
    b = ct.bundle(args=("sleep", "1000"), tweak=tweak)
    p = create_until(ct, b, stage)
    assert_stage_reached(ct, b, stage, p, mark)
    # While create is stuck, state and list answer at once (they do not wait for its lock).
    want_during = "created" if stage == "created" else "creating"
    assert ct.state(b.id)["status"] == want_during
    assert listed(ct, b.id)["status"] == want_during

    p.kill()
    p.wait(timeout=10)
    # A create that died before naming init never finishes: stopped, with no pid.
    want = "created" if stage == "created" else "stopped"
    entry = listed(ct, b.id)
    assert entry["status"] == want, entry
    st = ct.state(b.id)
    assert st["id"] == b.id and st["status"] == want and st["bundle"] == b.path
    assert (st["pid"] > 0) == (want == "created")
    # the observatory agrees with state (one status function for both)
    stats = json.loads(ct.capsa("stats", "--format", "json", b.id, check=True).stdout)
    assert stats[0]["status"] == want, stats
    r = ct.capsa("delete", "--force", b.id)
    assert r.returncode == 0, r.stderr
    ct.assert_nothing_created(b.id, bundle=b)


def test_created_stage_survivor_can_still_start(ct):
    """Killed after the final state.json: the container is complete and starts."""
    b = ct.bundle(args=("sh", "-c", "echo started > /tmp/x; sleep 1000"))
    p = create_until(ct, b, "created")
    p.kill()
    p.wait(timeout=10)
    assert ct.start(b.id).returncode == 0
    assert ct.state(b.id)["status"] == "running"
    ct.capsa("delete", "--force", b.id, check=True)
    ct.assert_nothing_created(b.id, bundle=b)


@pytest.mark.parametrize("stage", CHILD_STAGES)
def test_sigkill_of_the_child_at_each_stage(ct, stage):
    """The runtime lives on and the process doing the setup dies: create fails with
    one line and removes everything itself."""
    b = ct.bundle(args=("sleep", "1000"))
    p = create_until(ct, b, stage)
    kids = children(p.pid)
    assert kids
    for k in kids:
        os.kill(k, signal.SIGKILL)
    err = p.stderr.read()
    assert p.wait(timeout=30) != 0
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith(f"capsa: create {b.id}: "), err
    ct.assert_nothing_created(b.id, bundle=b)


def test_state_says_creating_only_while_create_lives(ct):
    """Control for the "stopped" above: the same half-made state is "creating" as
    long as its create is alive, however long that takes."""
    b = ct.bundle(args=("sleep", "1000"))
    p = create_until(ct, b, "cgroup")
    for _ in range(3):
        assert ct.state(b.id)["status"] == "creating"
    p.kill()
    p.wait(timeout=10)
    assert ct.state(b.id)["status"] == "stopped"
    ct.capsa("delete", b.id, check=True)   # stopped: no --force needed
    ct.assert_nothing_created(b.id, bundle=b)


def test_veth_of_a_killed_create_goes(ct):
    """The net hook ran (createRuntime), then capsa died: the pair goes with the
    container's network namespace and delete --force leaves no veth."""
    import test_net
    cid, d = test_net.bundle(ct, "veth", ("sleep", "1000"))
    p = ct.popen("create", "--bundle", d, cid, stdout=subprocess.DEVNULL,
                 env={"CAPSA_FAULT": "hooks"})
    for line in p.stderr:
        if "fault: stopped at hooks" in line:
            break
    assert host_end(cid) in links()
    p.kill()
    p.wait(timeout=10)
    assert ct.state(cid)["status"] == "stopped"
    r = ct.capsa("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: host_end(cid) not in links(), what="the veth pair to go")
    ct.assert_nothing_created(cid)


# --- init dies ----------------------------------------------------------------

def test_init_exits_on_its_own(ct):
    b = ct.bundle(args=("true",))
    ct.create(b)
    ct.start(b.id)
    ct.wait_status(b.id, "stopped")
    st = ct.state(b.id)
    assert st["pid"] == 0
    assert listed(ct, b.id)["status"] == "stopped"
    assert ct.capsa("kill", b.id, "KILL").returncode != 0
    ct.capsa("delete", b.id, check=True)
    ct.assert_nothing_created(b.id, bundle=b)


@pytest.mark.parametrize("started", [False, True], ids=["created", "running"])
def test_init_killed_from_the_host(ct, started):
    b = ct.bundle(args=("sleep", "1000"))
    ct.create(b)
    if started:
        ct.start(b.id)
    pid = ct.state(b.id)["pid"]
    os.kill(pid, signal.SIGKILL)
    ct.wait_status(b.id, "stopped")
    assert ct.start(b.id, check=False).returncode != 0
    ct.capsa("delete", b.id, check=True)
    ct.assert_nothing_created(b.id, bundle=b)


def test_recycled_pid_is_never_signalled(ct):
    """state.json names a pid that now belongs to another process (a different start
    time): the container reads as stopped, and delete --force kills the container
    through its cgroup but leaves that process alone. Control: with the real start
    time the same container is running."""
    b = ct.running()
    assert ct.state(b.id)["status"] == "running"   # control
    other = subprocess.Popen(["sleep", "1000"])
    try:
        path = os.path.join(ct.root, b.id, "state.json")
        st = json.load(open(path))
        st["pid"] = other.pid
        with open(path, "w") as f:
            json.dump(st, f)
        assert ct.state(b.id)["status"] == "stopped"
        r = ct.capsa("delete", "--force", b.id)
        assert r.returncode == 0, r.stderr
        assert pid_alive(other.pid)
        ct.assert_nothing_created(b.id, bundle=b)
    finally:
        other.kill()
        other.wait()
