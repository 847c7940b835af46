"""Resource limits (issue 4): every linux.resources knob lands in the cgroup files,
and the failure modes are visible: OOM kills reported, fork bombs contained, CPU
throttled, devices denied. Runs on hybrid hosts and (tests/vm) on pure cgroup v2."""
import json
import os
import re
import select
import time

import pytest

from capsatest import CGROUP_PARENT, error_lines, wait_for
from cgroupfs import Cgroup, a_block_device, hugepage_sizes, is_v1, shares_to_weight

MiB = 1024 * 1024


def resources(**r):
    """A tweak setting linux.resources."""
    def tweak(cfg):
        cfg["linux"]["resources"] = r
    return tweak


def init_pid(ct, cid):
    return ct.state(cid)["pid"]


def stats(ct, cid):
    r = ct.capsa("events", "--stats", cid, check=True)
    ev = json.loads(r.stdout)
    assert ev["type"] == "stats" and ev["id"] == cid
    return ev["data"]


# --- every knob, read back ------------------------------------------------------

def test_memory_cpu_pids_knobs(ct):
    swap_v1 = is_v1("memory") and os.path.exists("/sys/fs/cgroup/memory/memory.memsw.usage_in_bytes")
    mem = {"limit": 64 * MiB, "reservation": 32 * MiB}
    if swap_v1 or not is_v1("memory"):
        mem["swap"] = 96 * MiB
    b = ct.running(tweak=resources(
        memory=mem,
        cpu={"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        pids={"limit": 64}))
    cg = Cgroup(init_pid(ct, b.id))
    assert cg.read("memory", "memory.limit_in_bytes", "memory.max") == str(64 * MiB)
    assert cg.read("memory", "memory.soft_limit_in_bytes", "memory.low") == str(32 * MiB)
    if "swap" in mem and cg.has("memory", "memory.memsw.limit_in_bytes", "memory.swap.max"):
        # OCI swap is memory+swap: v1 memsw as is, v2 swap.max the difference
        want = 96 * MiB if not cg.v2("memory") else 32 * MiB
        assert cg.read("memory", "memory.memsw.limit_in_bytes", "memory.swap.max") == str(want)
    if cg.v2("cpu"):
        assert cg.read("cpu", "", "cpu.max") == "50000 100000"
        assert cg.read("cpu", "", "cpu.weight") == str(shares_to_weight(512))
    else:
        assert cg.read("cpu", "cpu.cfs_quota_us") == "50000"
        assert cg.read("cpu", "cpu.cfs_period_us") == "100000"
        assert cg.read("cpu", "cpu.shares") == "512"
    assert cg.read("cpuset", "cpuset.cpus") == "0"
    assert cg.read("cpuset", "cpuset.mems") == "0"
    assert cg.read("pids", "pids.max") == "64"
    # what events --stats reports is what the files say
    d = stats(ct, b.id)
    assert d["memory"]["usage"]["limit"] == 64 * MiB
    assert d["pids"]["limit"] == 64 and d["pids"]["current"] == 1


@pytest.mark.skipif(not is_v1("memory"), reason="memory.swappiness and disableOOMKiller are cgroup v1")
def test_memory_v1_only_knobs(ct):
    b = ct.running(tweak=resources(memory={"limit": 64 * MiB, "swappiness": 17,
                                           "disableOOMKiller": True}))
    cg = Cgroup(init_pid(ct, b.id))
    assert cg.read("memory", "memory.swappiness") == "17"
    assert cg.read_kv("memory", "memory.oom_control")["oom_kill_disable"] == 1


def test_blkio_knobs(ct):
    dev = a_block_device()
    tweak_res = {"blockIO": {"weight": 300}}
    if dev:
        tweak_res["blockIO"]["throttleReadBpsDevice"] = [
            {"major": dev[0], "minor": dev[1], "rate": 1048576}]
        tweak_res["blockIO"]["throttleWriteIOPSDevice"] = [
            {"major": dev[0], "minor": dev[1], "rate": 100}]
    b = ct.bundle(args=["sleep", "1000"], tweak=resources(**tweak_res))
    r = ct.create(b, check=False)
    if r.returncode != 0 and "not supported" in r.stderr:
        pytest.skip(f"this kernel has no blkio weight: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    ct.start(b.id)
    cg = Cgroup(init_pid(ct, b.id))
    if cg.v2("blkio"):
        if cg.has("io", "", "io.bfq.weight"):
            assert cg.read("io", "", "io.bfq.weight").split()[-1] == "300"
        else:  # 1 + (300 - 10) * 9999 / 990
            assert cg.read("io", "", "io.weight").split()[-1] == str(1 + 290 * 9999 // 990)
        if dev:
            assert f"{dev[0]}:{dev[1]} rbps=1048576 wbps=max riops=max wiops=100" in \
                cg.read("io", "", "io.max")
    else:
        wf = "blkio.weight" if cg.has("blkio", "blkio.weight", "") else "blkio.bfq.weight"
        assert cg.read("blkio", wf).split()[-1] == "300"
        if dev:
            assert cg.read("blkio", "blkio.throttle.read_bps_device") == f"{dev[0]}:{dev[1]} 1048576"
            assert cg.read("blkio", "blkio.throttle.write_iops_device") == f"{dev[0]}:{dev[1]} 100"


@pytest.mark.skipif(not hugepage_sizes(), reason="no huge pages on this kernel")
def test_hugetlb_knob(ct):
    size = hugepage_sizes()[0]
    b = ct.bundle(args=["sleep", "1000"],
                  tweak=resources(hugepageLimits=[{"pageSize": size, "limit": 4 * MiB}]))
    r = ct.create(b, check=False)
    if r.returncode != 0 and "hugetlb" in r.stderr and "not" in r.stderr:
        pytest.skip(f"no hugetlb controller: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    ct.start(b.id)
    cg = Cgroup(init_pid(ct, b.id))
    assert cg.read("hugetlb", f"hugetlb.{size}.limit_in_bytes", f"hugetlb.{size}.max") == str(4 * MiB)


# --- invalid values: clear errors, nothing created -------------------------------

@pytest.mark.capsa_only("located messages for resource values")
@pytest.mark.parametrize("res,where,what", [
    ({"memory": {"limit": 64 * MiB, "swap": 32 * MiB}}, r"linux\.resources\.memory\.swap",
     "below memory.limit"),
    ({"memory": {"swap": 32 * MiB}}, r"linux\.resources\.memory\.swap", "needs memory.limit"),
    ({"memory": {"limit": -5}}, r"linux\.resources\.memory\.limit", "negative"),
    ({"cpu": {"quota": 50000, "period": 0}}, r"linux\.resources\.cpu\.period", "quota"),
    ({"cpu": {"quota": -7}}, r"linux\.resources\.cpu\.quota", "negative"),
    ({"cpu": {"shares": 1}}, r"linux\.resources\.cpu\.shares", "2\\.\\.262144"),
    ({"cpu": {"cpus": "0-"}}, r"linux\.resources\.cpu\.cpus", "CPU list"),
    ({"pids": {"limit": -3}}, r"linux\.resources\.pids\.limit", "negative"),
], ids=["swap-below-limit", "swap-without-limit", "negative-memory", "quota-period-0",
        "negative-quota", "shares-range", "bad-cpus", "negative-pids"])
def test_invalid_resources_rejected_before_create(ct, res, where, what):
    b = ct.bundle(tweak=resources(**res))
    r = ct.create(b, check=False)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    assert re.search(r"config\.json:\d+:\d+: " + where + ": ", lines[0]), lines[0]
    assert re.search(what, lines[0]), lines[0]
    ct.assert_nothing_created(b.id, b)


# --- failures made visible --------------------------------------------------------

@pytest.mark.capsa_only("capsa reports OOM kills; runc exits 137 silently")
def test_oom_kill_reported(ct):
    # tail on /dev/zero never sees a newline: it grows until the limit.
    b = ct.bundle(args=["sh", "-c", "tail /dev/zero"],
                  tweak=resources(memory={"limit": 64 * MiB, "swap": 64 * MiB}))
    r = ct.capsa("run", "--bundle", b.path, b.id, timeout=60)
    assert r.returncode == 137, (r.returncode, r.stderr)
    assert re.search(rf"^capsa: container {b.id}: killed by the OOM killer "
                     r"\(memory limit 64 MiB, peak \d+(\.\d)? MiB\)$", r.stderr, re.M), r.stderr


@pytest.mark.capsa_only("no OOM line without an OOM kill")
def test_no_oom_line_without_oom(ct):
    b = ct.bundle(args=["sh", "-c", "exit 137"], tweak=resources(memory={"limit": 64 * MiB}))
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 137
    assert "OOM" not in r.stderr


def read_event(p, timeout=15):
    """The next JSON line of a streaming `capsa events`, or fail after timeout."""
    r, _, _ = select.select([p.stdout], [], [], timeout)
    assert r, f"no event within {timeout}s"
    line = p.stdout.readline()
    assert line, f"events ended: {p.stderr.read()}"
    return json.loads(line)


def test_oom_event_streamed(ct):
    b = ct.running(args=["sh", "-c", "while [ ! -e /dev/shm/go ]; do sleep 0.05; done; "
                         "tail /dev/zero; exec sleep 1000"],
                   tweak=resources(memory={"limit": 32 * MiB, "swap": 32 * MiB}))
    pid = init_pid(ct, b.id)
    ev = ct.popen("events", "--interval", "30s", b.id)
    assert read_event(ev)["type"] == "stats"  # right away: the OOM watch is set up
    open(f"/proc/{pid}/root/dev/shm/go", "w").close()
    assert read_event(ev) == {"type": "oom", "id": b.id}
    d = stats(ct, b.id)
    assert d["oom"]["kills"] >= 1 and d["memory"]["usage"]["max"] > 24 * MiB
    ct.capsa("kill", b.id, "KILL", check=True)
    ev.wait(timeout=10)  # the stream ends with the container
    assert ev.returncode == 0, ev.stderr.read()
    ct.wait_status(b.id, "stopped")
    r = ct.capsa("events", "--stats", b.id)
    assert r.returncode != 0 and "not running" in r.stderr


def test_fork_bomb_contained(ct):
    # init survives the bomb: it execs (no fork) once the bomb is lit
    b = ct.running(args=["sh", "-c", "b() { b | b & }; b; exec sleep 1000"],
                   tweak=resources(pids={"limit": 64}))
    cg = Cgroup(init_pid(ct, b.id))
    peak = 0
    end = time.monotonic() + 2
    while time.monotonic() < end:
        peak = max(peak, cg.pids_current())
        time.sleep(0.05)
    assert 0 < peak <= 64
    if cg.has("pids", "pids.events", "pids.events"):
        assert cg.read_kv("pids", "pids.events")["max"] > 0, "no fork was refused"
    ct.capsa("delete", "--force", b.id, check=True, timeout=20)


def test_cpu_quota_throttles(ct):
    b = ct.running(args=["sh", "-c", "while :; do :; done"],
                   tweak=resources(cpu={"quota": 50000, "period": 100000}))
    s0, t0 = stats(ct, b.id), time.monotonic()
    time.sleep(2)
    s1, t1 = stats(ct, b.id), time.monotonic()
    thr = s1["cpu"]["throttling"]
    assert thr.get("throttledPeriods", 0) > 0, thr
    used = (s1["cpu"]["usage"].get("total", 0) - s0["cpu"]["usage"].get("total", 0)) / 1e9 / (t1 - t0)
    # 50% of one CPU at most; a loaded host may give less.
    assert 0.3 <= used <= 0.6, f"busy loop used {used:.2f} CPUs under a 0.5 CPU quota"


# --- devices ----------------------------------------------------------------------

OPEN_TUN = "mknod /dev/t c 10 200 && exec 3<>/dev/t && echo opened"


def test_devices_default_denies(ct):
    out = ct.sh("echo x > /dev/null && cat /dev/null && head -c 3 /dev/zero | wc -c")
    assert out.split() == ["3"]
    r = ct.run(["sh", "-c", OPEN_TUN])
    assert r.returncode != 0
    assert "Operation not permitted" in r.stderr, r.stderr


def test_devices_allowed_rule(ct):
    # the control: with the device allowed, open gets past the devices cgroup
    # (it may still fail with ENODEV where the tun driver is missing)
    r = ct.run(["sh", "-c", OPEN_TUN], tweak=resources(devices=[
        {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"}]))
    assert "Operation not permitted" not in r.stderr, r.stderr
    assert r.returncode == 0 or "No such device" in r.stderr, r.stderr


# --- the runtime's own footprint ----------------------------------------------------

@pytest.mark.capsa_only("runc needs several MiB for itself")
@pytest.mark.skipif("build-san" in os.environ.get("CAPSA", ""),
                    reason="an ASan build's shadow memory is charged to the container")
def test_runs_under_1mib_memory_limit(ct):
    r = ct.run(["true"], tweak=resources(memory={"limit": MiB, "swap": MiB}))
    assert r.returncode == 0, r.stderr


# --- capsa spec resource flags -------------------------------------------------------

def _spec(ct, *flags):
    d = os.path.join(ct.tmp, f"spec-{len(os.listdir(ct.tmp))}")
    os.makedirs(d)
    r = ct.capsa("spec", "--bundle", d, *flags)
    path = os.path.join(d, "config.json")
    return r, (json.load(open(path)) if os.path.exists(path) else None)


@pytest.mark.capsa_only("capsa spec resource flags")
def test_spec_resource_flags(ct):
    r, cfg = _spec(ct, "--memory", "64m", "--memory-swap", "1g", "--cpus", "0.5",
                   "--cpu-shares", "512", "--pids", "64", "--cpuset", "0-1", "--io-weight", "100")
    assert r.returncode == 0, r.stderr
    res = cfg["linux"]["resources"]
    assert res["memory"] == {"limit": 64 * MiB, "swap": 1024 * MiB}
    assert res["cpu"] == {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1"}
    assert res["pids"] == {"limit": 64}
    assert res["blockIO"] == {"weight": 100}
    assert any(not d["allow"] for d in res["devices"]), "the deny-all device rule is kept"
    r, cfg = _spec(ct, "--rootless", "--memory", "512k")
    assert r.returncode == 0, r.stderr
    assert cfg["linux"]["resources"] == {"memory": {"limit": 512 * 1024}}


@pytest.mark.capsa_only("capsa spec resource flags")
@pytest.mark.parametrize("flags,flag", [
    (["--memory", "12q"], "--memory"),
    (["--memory", "0"], "--memory"),
    (["--memory-swap", "1x"], "--memory-swap"),
    (["--memory", "2m", "--memory-swap", "1m"], "--memory-swap"),
    (["--memory-swap", "1g"], "--memory-swap"),
    (["--cpus", "half"], "--cpus"),
    (["--cpus", "0.001"], "--cpus"),
    (["--cpu-shares", "1"], "--cpu-shares"),
    (["--pids", "-5"], "--pids"),
    (["--cpuset", "1-0"], "--cpuset"),
    (["--io-weight", "5"], "--io-weight"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_spec_resource_flag_errors(ct, flags, flag):
    r, cfg = _spec(ct, *flags)
    assert r.returncode != 0
    assert cfg is None, "nothing is written on a bad flag"
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and flag in lines[0], r.stderr


# --- parents of the container's cgroup ----------------------------------------

def _parents(ct, cid, leaf):
    """The parent directory of the container's cgroup (named leaf) in every
    hierarchy capsa placed it in (not a named one such as name=systemd)."""
    return {os.path.dirname(d) for d in Cgroup(init_pid(ct, cid)).dirs.values()
            if os.path.basename(d) == leaf}


def _with_path(path):
    def tweak(cfg):
        cfg["linux"]["cgroupsPath"] = path
    return tweak


def test_delete_removes_the_parents_its_create_made(ct):
    """cgroupsPath with a parent that does not exist: create makes it, delete
    removes it again (nothing left behind)."""
    cid = ct.new_id()
    b = ct.bundle(["sleep", "60"], cid=cid, tweak=_with_path(f"{CGROUP_PARENT}/made-{cid}/leaf"))
    ct.create(b)
    parents = _parents(ct, cid, "leaf")
    odd = [p for p in parents if os.path.basename(p) != f"made-{cid}"]
    assert parents and not odd, odd
    ct.capsa("delete", "--force", cid, check=True)
    assert [p for p in parents if os.path.isdir(p)] == []


def test_delete_keeps_a_parent_it_did_not_make(ct):
    """A parent that was there before the container (a kubelet pod cgroup; here
    made by another container's create) stays after delete, even when it is left
    empty. (Before, delete removed every empty parent up the path.)"""
    a, b = ct.new_id(), ct.new_id()
    shared = f"{CGROUP_PARENT}/shared-{a}"
    ct.create(ct.bundle(["sleep", "60"], cid=a, tweak=_with_path(f"{shared}/a")))
    ct.create(ct.bundle(["sleep", "60"], cid=b, tweak=_with_path(f"{shared}/b")))
    parents = _parents(ct, b, "b")
    assert parents and parents == _parents(ct, a, "a")
    try:
        ct.capsa("delete", "--force", a, check=True)   # made it, but b is inside
        assert all(os.path.isdir(p) for p in parents)
        ct.capsa("delete", "--force", b, check=True)   # did not make it
        assert all(os.path.isdir(p) for p in parents), \
            "delete removed a parent cgroup its create did not make"
    finally:
        for p in parents:
            try:
                os.rmdir(p)
            except OSError:
                pass
