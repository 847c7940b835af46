"""The systemd driver's IO unit properties and crun's sub-cgroup annotations, in the systemd
guest (tests/vm/systemd/run.py; helpers from test_systemd.py).

- linux.resources.blockIO becomes IOWeight / IO{Read,Write}{Bandwidth,IOPS}Max (legacy:
  BlockIOWeight / BlockIO{Read,Write}Bandwidth) on the scope, so a `systemctl
  daemon-reload` (systemd re-applies its unit's settings to the cgroup) keeps the
  container's io.weight / io.max (blkio.* on v1). runc 1.1.5 sends none of them on v2:
  after a daemon-reload its io.weight is systemd's default again (measured here).
- run.oci.systemd.subgroup=NAME: the container's cgroup is SCOPE/NAME (crun's annotation);
  run.oci.delegate-cgroup=NAME: its processes one level further down. Every command sees the
  right cgroup; delete leaves nothing; bad values are one line naming the annotation.

Outside that guest every test is skipped with one line.
"""
import json
import os
import subprocess

import pytest

import test_systemd as T

pytestmark = T.pytestmark
rootfs = T.rootfs
ctr = T.ctr
CAPSA, RUNC, CG, V2, MIB = T.CAPSA, T.RUNC, T.CG, T.V2, T.MIB
rt, show, unit_state, cg_exists = T.rt, T.show, T.unit_state, T.cg_exists
RUNTIMES = T.RUNTIMES


def _read(path):
    with open(path) as f:
        return f.read().strip()


def _disk():
    """MAJ:MIN of the guest's virtio disk (io.max needs a real block device)."""
    for name in sorted(os.listdir("/sys/block")) if os.path.isdir("/sys/block") else ():
        if name.startswith(("vd", "sd")):
            return tuple(int(x) for x in _read(f"/sys/block/{name}/dev").split(":")), name
    return None, None


def show_all(unit, *props):
    """systemctl show, every line kept (a(st) properties print one line per device)."""
    r = subprocess.run(["systemctl", "show", unit, *[f"--property={p}" for p in props]],
                       capture_output=True, text=True, check=True)
    out = {}
    for line in r.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def v1_weight_available():
    """Does a v1 blkio cgroup have a weight file (BFQ, or the old CFQ)? Only non-root
    cgroups have one: look in a probe cgroup made (and removed) here."""
    d = f"{CG}/blkio/capsa-io-probe-{os.getpid()}"
    os.mkdir(d)
    try:
        return v1_weight_file(d) is not None
    finally:
        os.rmdir(d)


def blkio_dir(path):
    return f"{CG}{path}" if V2 else f"{CG}/blkio{path}"


@pytest.fixture(scope="module")
def disk():
    (dev, name) = _disk()
    if not dev:
        pytest.skip("no block device in this guest: io.max needs one")
    if not V2 and not v1_weight_available():
        # v1 has a weight file only with BFQ (CFQ is gone): give the disk BFQ in the guest
        subprocess.run(["modprobe", "bfq"], capture_output=True)
        try:
            with open(f"/sys/block/{name}/queue/scheduler", "w") as f:
                f.write("bfq")
        except OSError:
            pass
        if "[bfq]" in _read(f"/sys/block/{name}/queue/scheduler"):
            assert v1_weight_available(), "BFQ is on but blkio has no weight file"
    return dev


def io_resources(dev, weight=True):
    maj, mnr = dev
    b = {"throttleReadBpsDevice": [{"major": maj, "minor": mnr, "rate": MIB}],
         "throttleWriteBpsDevice": [{"major": maj, "minor": mnr, "rate": 2 * MIB}],
         "throttleReadIOPSDevice": [{"major": maj, "minor": mnr, "rate": 200}],
         "throttleWriteIOPSDevice": [{"major": maj, "minor": mnr, "rate": 300}]}
    if weight:
        b["weight"] = 500
    return {"blockIO": b}


def v1_weight_file(d):
    for f in ("blkio.bfq.weight", "blkio.weight"):
        if os.path.exists(f"{d}/{f}"):
            return f
    return None


def io_files(path, dev):
    """The container's IO limits as the kernel has them: {weight, rbps, wbps, riops, wiops}."""
    d, key = blkio_dir(path), "%d:%d" % dev
    if V2:
        w = _read(f"{d}/io.weight").splitlines()[0]           # "default N"
        line = [l for l in _read(f"{d}/io.max").splitlines() if l.startswith(key + " ")]
        kv = dict(x.split("=") for x in line[0].split()[1:]) if line else {}
        return {"weight": w, **kv}
    wf = v1_weight_file(d)
    out = {"weight": _read(f"{d}/{wf}").splitlines()[0] if wf else None}
    for k, f in (("rbps", "read_bps_device"), ("wbps", "write_bps_device"),
                 ("riops", "read_iops_device"), ("wiops", "write_iops_device")):
        lines = [l.split()[1] for l in _read(f"{d}/blkio.throttle.{f}").splitlines()
                 if l.startswith(key + " ")]
        out[k] = lines[0] if lines else "max"
    return out


IO_PROPS = ("IOWeight", "IOReadBandwidthMax", "IOWriteBandwidthMax", "IOReadIOPSMax",
            "IOWriteIOPSMax", "BlockIOWeight", "BlockIOReadBandwidth", "BlockIOWriteBandwidth")


@pytest.mark.parametrize("binary", RUNTIMES)
def test_io_properties_survive_daemon_reload(ctr, disk, binary):
    configure, root, cid, made = ctr
    made.append(binary)
    unit = f"libpod-{cid}.scope"
    cg = f"/machine.slice/{unit}"
    weight = V2 or v1_weight_available()
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}",
                       io_resources(disk, weight))
    rt(binary, root, "create", "--bundle", bundle, cid)
    node = "/dev/block/%d:%d" % disk
    want_files = {"rbps": str(MIB), "wbps": str(2 * MIB), "riops": "200", "wiops": "300"}
    if V2:
        want_files["weight"] = "default 4950"      # 500 -> 1 + 490*9999/990 (runc's fs2)
    elif weight:
        want_files["weight"] = "500"
    got = io_files(cg, disk)
    if not weight:
        got.pop("weight")
    assert got == want_files, got
    props = show_all(unit, *IO_PROPS)
    if binary == CAPSA:
        if V2:
            assert props["IOWeight"] == ["4950"], props
            assert props.get("IOReadBandwidthMax") == [f"{node} {MIB}"], props
            assert props.get("IOWriteBandwidthMax") == [f"{node} {2 * MIB}"], props
            assert props.get("IOReadIOPSMax") == [f"{node} 200"], props
            assert props.get("IOWriteIOPSMax") == [f"{node} 300"], props
        else:
            if weight:
                assert props["BlockIOWeight"] == ["500"], props
            assert props.get("BlockIOReadBandwidth") == [f"{node} {MIB}"], props
            assert props.get("BlockIOWriteBandwidth") == [f"{node} {2 * MIB}"], props
    elif V2:
        # runc 1.1.5's v2 driver maps no blockIO to properties
        assert props["IOWeight"] == ["[not set]"], props
        assert "IOReadBandwidthMax" not in props and "IOReadIOPSMax" not in props, props
    elif weight:
        assert props["BlockIOWeight"] == ["500"], props   # runc's v1 driver: the weight only
        assert "BlockIOReadBandwidth" not in props, props

    subprocess.run(["systemctl", "daemon-reload"], check=True)
    after = io_files(cg, disk)
    if not weight:
        after.pop("weight")
    if not V2 and weight:
        # systemd 252 on v1 with BFQ writes blkio.bfq.weight = BFQ_WEIGHT(BlockIOWeight), its
        # io.weight -> bfq mapping applied to a blkio weight: 100 + (500-100)*900/9900 = 136,
        # for runc's BlockIOWeight as for capsa's (no BlockIOWeight value gives 500 back);
        # the throttles stay
        assert after == dict(want_files, weight=str(100 + (500 - 100) * 900 // 9900)), after
    elif binary == CAPSA or not V2:
        assert after == want_files, after
    else:
        # what runc 1.1.5 gets: systemd rewrites io.weight with its default (IOAccounting
        # without IOWeight), io.max of a device it has no setting for stays
        assert after == dict(want_files, weight="default 100"), after
    rt(binary, root, "delete", "--force", cid)
    assert unit_state(unit) == ("not-found", "inactive")
    assert not cg_exists(cg)


def procs(path):
    """Pids of cgroup path (the pids hierarchy on v1)."""
    d = f"{CG}{path}" if V2 else f"{CG}/pids{path}"
    return [int(p) for p in _read(f"{d}/cgroup.procs").split()]


def cgroup_of(pid, ctrl="pids"):
    for line in _read(f"/proc/{pid}/cgroup").splitlines():
        _, ctrls, path = line.split(":", 2)
        if (V2 and ctrls == "") or (not V2 and ctrl in ctrls.split(",")):
            return path
    return None


def assert_nothing_left(root, cid, unit, cg):
    assert unit_state(unit) == ("not-found", "inactive")
    assert not cg_exists(cg), f"left {cg}"
    assert not os.path.exists(os.path.join(root, cid))
    left = subprocess.run(["pgrep", "-f", "^sleep 1000$"], capture_output=True, text=True)
    assert not left.stdout.strip(), f"left processes: {left.stdout}"


SUB_LIMITS = {"memory": {"limit": 64 * MIB}, "pids": {"limit": 40}}


def test_subgroup(ctr):
    configure, root, cid, made = ctr
    made.append(CAPSA)
    unit = f"libpod-{cid}.scope"
    scope = f"/machine.slice/{unit}"
    sub = f"{scope}/container"
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", SUB_LIMITS,
                       {"run.oci.systemd.subgroup": "container"})
    rt(CAPSA, root, "run", "-d", "--bundle", bundle, cid)
    pid = json.loads(rt(CAPSA, root, "state", cid).stdout)["pid"]
    assert cgroup_of(pid) == sub and cgroup_of(pid, "memory") == sub, _read(f"/proc/{pid}/cgroup")
    props = show(unit, "TasksMax", T.MEM_PROP, "ControlGroup", "ActiveState")
    assert props == {"TasksMax": "40", T.MEM_PROP: str(64 * MIB), "ControlGroup": scope,
                     "ActiveState": "active"}, props
    assert (T.cg_file(sub, "pids.max"), T.cg_file(sub, "memory.max")) == ("40", str(64 * MIB))
    assert procs(scope) == [], "the scope itself holds no process"
    # exec lands in the subgroup
    rt(CAPSA, root, "exec", "-d", cid, "sleep", "1000")
    ps = procs(sub)
    assert len(ps) == 2 and pid in ps, ps
    assert all(cgroup_of(p) == sub for p in ps)
    (s,) = json.loads(rt(CAPSA, root, "stats", "--format", "json", "--interval", "0",
                         cid).stdout)
    assert s["cgroup"] == sub and s["pids"]["limit"] == 40 and s["pids"]["current"] >= 2, s
    assert s["memory"]["limit"] == 64 * MIB, s["memory"]
    r = rt(CAPSA, root, "audit", "--format", "json", cid, check=False)
    (t,) = json.loads(r.stdout)["targets"]
    res = {f["check"]: f["result"] for f in t["findings"]}
    assert (res["cgroup.memory"], res["cgroup.pids"]) == ("PASS", "PASS"), t["findings"]
    # update: the scope's properties and the subgroup's files
    rt(CAPSA, root, "update", "--pids-limit", "45", cid)
    assert show(unit, "TasksMax") == {"TasksMax": "45"}
    assert T.cg_file(sub, "pids.max") == "45"
    rt(CAPSA, root, "pause", cid)
    assert T.cg_file(sub, "cgroup.freeze") == "1"
    rt(CAPSA, root, "resume", cid)
    assert T.cg_file(sub, "cgroup.freeze") == "0"
    rt(CAPSA, root, "kill", "--all", cid, "KILL")
    rt(CAPSA, root, "delete", "--force", cid)
    assert_nothing_left(root, cid, unit, scope)


@pytest.mark.skipif(not RUNC, reason="runc not installed: no comparison")
def test_runc_ignores_subgroup(ctr):
    """runc 1.1.5 does not read crun's annotation: its init stays in the scope."""
    configure, root, cid, made = ctr
    made.append(RUNC)
    unit = f"libpod-{cid}.scope"
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", SUB_LIMITS,
                       {"run.oci.systemd.subgroup": "container"})
    rt(RUNC, root, "run", "-d", "--bundle", bundle, cid)
    pid = json.loads(rt(RUNC, root, "state", cid).stdout)["pid"]
    assert cgroup_of(pid) == f"/machine.slice/{unit}"
    rt(RUNC, root, "delete", "--force", cid)
    assert unit_state(unit) == ("not-found", "inactive")


@pytest.mark.skipif(not V2, reason="run.oci.delegate-cgroup needs the unified hierarchy "
                    "(refused on v1: test_bad_annotations)")
@pytest.mark.parametrize("sub", ["container", None])
def test_delegate_cgroup(ctr, sub):
    configure, root, cid, made = ctr
    made.append(CAPSA)
    unit = f"libpod-{cid}.scope"
    scope = f"/machine.slice/{unit}"
    limits_cg = f"{scope}/{sub}" if sub else scope
    payload = f"{limits_cg}/payload"
    ann = {"run.oci.delegate-cgroup": "payload"}
    if sub:
        ann["run.oci.systemd.subgroup"] = sub
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", SUB_LIMITS, ann)
    rt(CAPSA, root, "run", "-d", "--bundle", bundle, cid)
    pid = json.loads(rt(CAPSA, root, "state", cid).stdout)["pid"]
    assert cgroup_of(pid) == payload, _read(f"/proc/{pid}/cgroup")
    # the limits on the runtime's cgroup (and the scope), none on the payload's own
    assert _read(f"{CG}{limits_cg}/pids.max") == "40"
    assert _read(f"{CG}{payload}/pids.max") == "max"
    # the payload's cgroup has the controllers: the container may manage it
    ctrls = _read(f"{CG}{payload}/cgroup.controllers").split()
    assert "memory" in ctrls and "pids" in ctrls, ctrls
    rt(CAPSA, root, "exec", "-d", cid, "sleep", "1000")
    ps = procs(payload)
    assert len(ps) == 2 and pid in ps, ps
    (s,) = json.loads(rt(CAPSA, root, "stats", "--format", "json", "--interval", "0",
                         cid).stdout)
    assert s["cgroup"] == limits_cg and s["pids"]["limit"] == 40 and s["pids"]["current"] >= 2
    rt(CAPSA, root, "update", "--pids-limit", "45", cid)
    assert show(unit, "TasksMax") == {"TasksMax": "45"}
    assert _read(f"{CG}{limits_cg}/pids.max") == "45"
    rt(CAPSA, root, "pause", cid)
    assert _read(f"{CG}{payload}/cgroup.events").find("frozen 1") >= 0
    rt(CAPSA, root, "resume", cid)
    rt(CAPSA, root, "delete", "--force", cid)
    assert_nothing_left(root, cid, unit, scope)


def test_bad_annotations(ctr):
    configure, root, cid, made = ctr
    made.append(CAPSA)
    unit = f"libpod-{cid}.scope"
    cases = [({"run.oci.systemd.subgroup": "a/b"}, "run.oci.systemd.subgroup=a/b"),
             ({"run.oci.systemd.subgroup": ".."}, "run.oci.systemd.subgroup=.."),
             ({"run.oci.systemd.subgroup": "cgroup.procs"}, "run.oci.systemd.subgroup"),
             ({"run.oci.delegate-cgroup": "../x"}, "run.oci.delegate-cgroup"),
             ({"run.oci.systemd.force_cgroup_v1": "/sys/fs/cgroup/systemd"},
              "run.oci.systemd.force_cgroup_v1")]
    if not V2:
        cases.append(({"run.oci.delegate-cgroup": "payload"}, "cgroup v2"))
    for ann, word in cases:
        bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", SUB_LIMITS, ann)
        r = rt(CAPSA, root, "create", "--bundle", bundle, cid, check=False)
        assert r.returncode != 0 and word in r.stderr, (ann, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert_nothing_left(root, cid, unit, f"/machine.slice/{unit}")
