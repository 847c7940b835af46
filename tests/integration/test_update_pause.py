"""Live resource management (issue 4): update, pause/resume, ps, events --stats."""
import json
import os
import re
import time

import pytest

from capsatest import error_lines, pid_alive, wait_for
from cgroupfs import Cgroup, shares_to_weight

MiB = 1024 * 1024
# Counts in the container's /dev/shm (a tmpfs: the root is read-only).
COUNTER = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /dev/shm/n; sleep 0.02; done"]


def init_pid(ct, cid):
    return ct.state(cid)["pid"]


def counter(pid):
    with open(f"/proc/{pid}/root/dev/shm/n") as f:
        s = f.read().strip()
    return int(s) if s else 0


def with_limits(cfg):
    cfg["linux"]["resources"] = {"memory": {"limit": 64 * MiB},
                                 "cpu": {"shares": 1024, "quota": 50000, "period": 100000},
                                 "pids": {"limit": 100}}


# --- update -----------------------------------------------------------------------

def test_update_flags_change_files_live(ct):
    b = ct.running(tweak=with_limits)
    cg = Cgroup(init_pid(ct, b.id))
    ct.capsa("update", "--memory", "128m", "--memory-reservation", "16m", "--cpu-quota", "20000",
             "--cpu-period", "50000", "--cpu-share", "300", "--pids-limit", "42",
             "--cpuset-cpus", "0", b.id, check=True)
    assert cg.read("memory", "memory.limit_in_bytes", "memory.max") == str(128 * MiB)
    assert cg.read("memory", "memory.soft_limit_in_bytes", "memory.low") == str(16 * MiB)
    if cg.v2("cpu"):
        assert cg.read("cpu", "", "cpu.max") == "20000 50000"
        assert cg.read("cpu", "", "cpu.weight") == str(shares_to_weight(300))
    else:
        assert cg.read("cpu", "cpu.cfs_quota_us") == "20000"
        assert cg.read("cpu", "cpu.cfs_period_us") == "50000"
        assert cg.read("cpu", "cpu.shares") == "300"
    assert cg.read("pids", "pids.max") == "42"
    assert cg.read("cpuset", "cpuset.cpus") == "0"
    # only what was given changed; the container kept running throughout
    ct.capsa("update", "--pids-limit", "-1", b.id, check=True)
    assert cg.read("pids", "pids.max") == "max"
    assert cg.read("memory", "memory.limit_in_bytes", "memory.max") == str(128 * MiB)
    assert ct.status(b.id) == "running"
    # events --stats sees the files, not a record of the update
    d = json.loads(ct.capsa("events", "--stats", b.id, check=True).stdout)["data"]
    assert d["memory"]["usage"]["limit"] == 128 * MiB
    assert "limit" not in d["pids"]


def test_update_resources_file_and_stdin(ct):
    b = ct.running(tweak=with_limits)
    cg = Cgroup(init_pid(ct, b.id))
    path = os.path.join(ct.tmp, "r.json")
    with open(path, "w") as f:
        json.dump({"memory": {"limit": 96 * MiB}, "pids": {"limit": 33},
                   "devices": [{"allow": False, "access": "rwm"}]}, f)
    ct.capsa("update", "-r", path, b.id, check=True)
    assert cg.read("memory", "memory.limit_in_bytes", "memory.max") == str(96 * MiB)
    assert cg.read("pids", "pids.max") == "33"
    ct.capsa("update", "-r", "-", b.id, input=json.dumps({"pids": {"limit": 12}}), check=True)
    assert cg.read("pids", "pids.max") == "12"
    # a flag given with -r wins over the file
    ct.capsa("update", "-r", path, "--pids-limit", "20", b.id, check=True)
    assert cg.read("pids", "pids.max") == "20"


def test_update_keeps_devices(ct):
    b = ct.running(args=["sh", "-c", "while [ ! -e /dev/shm/go ]; do sleep 0.02; done; "
                         "echo x > /dev/null && echo ok > /dev/shm/done; exec sleep 1000"])
    pid = init_pid(ct, b.id)
    ct.capsa("update", "-r", "-", b.id, check=True,
             input=json.dumps({"devices": [{"allow": False, "access": "rwm"}],
                               "pids": {"limit": 50}}))
    open(f"/proc/{pid}/root/dev/shm/go", "w").close()
    wait_for(lambda: os.path.exists(f"/proc/{pid}/root/dev/shm/done"),
             what="/dev/null to be writable after update")


@pytest.mark.capsa_only("capsa's messages")
@pytest.mark.parametrize("args,what", [
    (["--memory", "12q"], r"--memory: \"12q\" is not a size"),
    (["--memory", "64m", "--memory-swap", "32m"], r"memory\.swap: .* below memory\.limit"),
    (["--cpu-quota", "5000", "--cpu-period", "0"], r"cpu\.period: is 0 while cpu\.quota"),
    (["--cpu-quota", "-2"], r"cpu\.quota: -2 is negative"),
    (["--pids-limit", "lots"], r"--pids-limit: \"lots\" is not a number"),
    (["--blkio-weight", "5"], r"--blkio-weight: 5 is out of range"),
    ([], r"nothing to change"),
], ids=["size", "swap-below-limit", "period-0", "negative-quota", "pids-nan", "blkio-range",
        "nothing"])
def test_update_rejects_bad_values(ct, args, what):
    b = ct.running(tweak=with_limits)
    cg = Cgroup(init_pid(ct, b.id))
    r = ct.capsa("update", *args, b.id)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and re.search(what, lines[0]), r.stderr
    assert cg.read("memory", "memory.limit_in_bytes", "memory.max") == str(64 * MiB)


@pytest.mark.capsa_only("capsa's messages")
def test_update_bad_json_is_located(ct):
    b = ct.running(tweak=with_limits)
    r = ct.capsa("update", "-r", "-", b.id, input='{\n  "memory": {"limit": "lots"}\n}')
    assert r.returncode != 0
    assert re.search(r"stdin:2:\d+: memory\.limit: expected an integer", r.stderr), r.stderr


def test_update_stopped_container_fails(ct):
    b = ct.bundle(args=["true"])
    ct.create(b)
    ct.start(b.id)
    ct.wait_status(b.id, "stopped")
    r = ct.capsa("update", "--memory", "64m", b.id)
    assert r.returncode != 0
    assert ct.capsa("update", "--memory", "64m", "nosuch").returncode != 0


# --- pause / resume -------------------------------------------------------------------

def test_pause_resume_freezes(ct):
    b = ct.running(args=COUNTER)
    pid = init_pid(ct, b.id)
    wait_for(lambda: os.path.exists(f"/proc/{pid}/root/dev/shm/n") and counter(pid) > 2,
             what="the counter to start")
    ct.capsa("pause", b.id, check=True)
    assert ct.status(b.id) == "paused"
    assert Cgroup(pid).frozen()
    n = counter(pid)
    time.sleep(0.4)
    assert counter(pid) == n, "the counter advanced while paused"
    assert ct.capsa("pause", b.id).returncode != 0  # already paused
    ct.capsa("resume", b.id, check=True)
    assert ct.status(b.id) == "running"
    wait_for(lambda: counter(pid) > n + 2, timeout=5, what="the counter to advance after resume")
    assert ct.capsa("resume", b.id).returncode != 0  # not paused


@pytest.mark.capsa_only("capsa's messages")
def test_pause_not_running_is_an_error(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    r = ct.capsa("pause", b.id)
    assert r.returncode != 0
    assert re.search(r"cannot pause container \"[^\"]+\": it is created, not running", r.stderr)
    assert ct.status(b.id) == "created"
    r = ct.capsa("resume", b.id)
    assert r.returncode != 0 and "not paused" in r.stderr
    assert ct.capsa("pause", "nosuch").returncode != 0


def test_delete_force_paused_container(ct):
    b = ct.running(args=COUNTER)
    pid = init_pid(ct, b.id)
    ct.capsa("pause", b.id, check=True)
    ct.capsa("delete", "--force", b.id, check=True)
    assert not pid_alive(pid)


# --- ps ---------------------------------------------------------------------------------

def test_ps_json_and_table(ct):
    b = ct.running(args=["sh", "-c", "sleep 1000 & exec sleep 999"])
    pid = init_pid(ct, b.id)
    wait_for(lambda: len(json.loads(ct.capsa("ps", "--format", "json", b.id).stdout)) == 2,
             what="two processes")
    pids = json.loads(ct.capsa("ps", "--format", "json", b.id, check=True).stdout)
    assert pid in pids and all(isinstance(p, int) for p in pids)
    lines = ct.capsa("ps", b.id, check=True).stdout.splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"]
    assert sorted(int(l.split()[1]) for l in lines[1:]) == sorted(pids)
    # ps arguments after the id go to ps
    lines = ct.capsa("ps", b.id, "-o", "pid,args", check=True).stdout.splitlines()
    assert lines[0].split() == ["PID", "COMMAND"]
    assert {l.split(None, 1)[1] for l in lines[1:]} == {"sleep 1000", "sleep 999"}


@pytest.mark.capsa_only("capsa's messages")
def test_ps_errors(ct):
    b = ct.running()
    r = ct.capsa("ps", b.id, "-o", "args")
    assert r.returncode != 0 and "PID" in r.stderr
    r = ct.capsa("ps", "--format", "yaml", b.id)
    assert r.returncode != 0 and "--format" in r.stderr


# --- events --stats --------------------------------------------------------------------------

def test_events_stats_shape(ct):
    b = ct.running(tweak=with_limits)
    r = ct.capsa("events", "--stats", b.id, check=True)
    assert len(r.stdout.splitlines()) == 1
    ev = json.loads(r.stdout)
    assert ev["type"] == "stats" and ev["id"] == b.id
    d = ev["data"]
    assert set(d) >= {"cpu", "memory", "pids", "blkio", "hugetlb"}
    assert d["cpu"]["usage"]["total"] > 0
    assert {"kernel", "user"} <= set(d["cpu"]["usage"])
    assert set(d["memory"]["usage"]) >= {"limit", "usage", "failcnt"}
    assert d["memory"]["usage"]["limit"] == 64 * MiB
    assert 0 < d["memory"]["usage"]["usage"] <= 64 * MiB
    assert "swap" in d["memory"]
    raw = d["memory"]["raw"]  # memory.stat as is
    assert "cache" in raw or "file" in raw
    if "percpu" in d["cpu"]["usage"]:  # cgroup v1 cpuacct
        assert len(d["cpu"]["usage"]["percpu"]) >= 1
        assert sum(d["cpu"]["usage"]["percpu"]) == d["cpu"]["usage"]["total"]
    assert d["pids"] == {"current": 1, "limit": 100}


@pytest.mark.capsa_only("capsa's additions to runc's stats")
def test_events_stats_capsa_extras(ct):
    b = ct.running(tweak=with_limits)
    d = json.loads(ct.capsa("events", "--stats", b.id, check=True).stdout)["data"]
    assert d["oom"] == {"events": 0, "kills": 0}
    if os.path.exists("/proc/pressure/cpu"):
        assert "some" in d["psi"]["cpu"]


def test_events_stream_ends_with_container(ct):
    b = ct.running()
    p = ct.popen("events", "--interval", "200ms", b.id)
    time.sleep(0.7)
    ct.capsa("kill", b.id, "KILL", check=True)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    lines = [json.loads(l) for l in out.splitlines()]
    assert len(lines) >= 3 and all(l["type"] == "stats" for l in lines)


@pytest.mark.capsa_only("capsa's messages")
def test_events_bad_interval(ct):
    b = ct.running()
    for v in ("0s", "5", "fast", "-1s"):
        r = ct.capsa("events", "--interval", v, b.id)
        assert r.returncode != 0 and "--interval" in r.stderr, (v, r.stderr)
