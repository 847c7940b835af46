"""The systemd cgroup driver (--systemd-cgroup) on a host whose PID 1 is systemd: the
guest of tests/vm/systemd/run.py (`make vm-systemd`).

A container's cgroup is the transient scope prefix-name.scope of cgroupsPath
"slice:prefix:name": its limits are unit properties (systemctl show) and cgroup files;
update changes both; pause freezes it; delete leaves no unit, scope or cgroup, also after a
killed create. runc runs the same checks where it is installed (the anchor).

Outside that guest (no systemd as PID 1) every test is skipped with one line.
"""
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CAPSA = os.environ.get("CAPSA", os.path.join(CHECKOUT, "build", "capsa"))
RUNC = shutil.which("runc")
MIB = 1 << 20
CG = "/sys/fs/cgroup"
_ids = itertools.count(1)

pytestmark = pytest.mark.skipif(
    os.environ.get("CAPSA_VM_GUEST") != "1" or not os.path.isdir("/run/systemd/system"),
    reason="runs in the systemd guest (tests/vm/systemd/run.py, make vm-systemd)")

RUNTIMES = [pytest.param(CAPSA, id="capsa"),
            pytest.param(RUNC, id="runc", marks=pytest.mark.skipif(
                not RUNC, reason="runc not installed: no comparison"))]


def _read(path):
    with open(path) as f:
        return f.read().strip()


# systemd's unified layout, or (run.py --legacy) its legacy one: v1 controllers, each its own
# hierarchy; the limits are then MemoryLimit/CPUShares (runc's v1 properties) and v1 files.
V2 = os.path.exists(f"{CG}/cgroup.controllers")
MEM_PROP = "MemoryMax" if V2 else "MemoryLimit"
V1_FILES = {"memory.max": ("memory", "memory.limit_in_bytes"), "pids.max": ("pids", "pids.max"),
            "cpu.weight": ("cpu,cpuacct", "cpu.shares"),
            "cgroup.freeze": ("freezer", "freezer.state")}
V1_CTRLS = ("name=systemd", "memory", "pids", "cpu,cpuacct", "devices", "freezer")
HYBRID = not V2 and os.path.isdir(f"{CG}/unified")   # run.py --layout hybrid


def cg_file(path, name):
    """The v2 file `name` of cgroup `path`, or on v1 its counterpart in v2 terms (cpu.weight
    is cpu.shares there)."""
    if V2:
        return _read(f"{CG}{path}/{name}")
    if name == "cpu.max":
        q = _read(f"{CG}/cpu,cpuacct{path}/cpu.cfs_quota_us")
        return f"{'max' if q == '-1' else q} {_read(f'{CG}/cpu,cpuacct{path}/cpu.cfs_period_us')}"
    ctrl, f = V1_FILES[name]
    v = _read(f"{CG}/{ctrl}{path}/{f}")
    if name == "cgroup.freeze":
        return {"FROZEN": "1", "THAWED": "0"}.get(v, v)
    return v


def cg_exists(path):
    if V2:
        return os.path.exists(CG + path)
    return any(os.path.exists(f"{CG}/{c.replace('name=', '')}{path}")
               for c in V1_CTRLS + (("unified",) if HYBRID else ()))


def assert_in_cgroup(pid, path):
    lines = _read(f"/proc/{pid}/cgroup").splitlines()
    if V2:
        assert lines == ["0::" + path], lines
        return
    got = dict(l.split(":", 2)[1:] for l in lines)
    assert all(got.get(c) == path for c in V1_CTRLS), (path, lines)
    if HYBRID:   # systemd's own cgroup2 tree at /sys/fs/cgroup/unified
        assert got.get("") == path, (path, lines)


def rt(binary, root, *args, check=True, timeout=60, env=None):
    # Output through files: a created container inherits them, and would hold a pipe open.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.run([binary, "--root", root, "--systemd-cgroup", *args], stdout=out,
                           stderr=err, timeout=timeout, stdin=subprocess.DEVNULL, env=env)
        out.seek(0)
        err.seek(0)
        r = subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())
    if check:
        assert r.returncode == 0, f"{binary} {' '.join(args)} exited {r.returncode}: {r.stderr}"
    return r


def show(unit, *props):
    r = subprocess.run(["systemctl", "show", unit, *[f"--property={p}" for p in props]],
                       capture_output=True, text=True, check=True)
    return dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)


def unit_state(unit):
    """LoadState/ActiveState: ("not-found", "inactive") once systemd forgot it."""
    s = show(unit, "LoadState", "ActiveState")
    return s.get("LoadState"), s.get("ActiveState")


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    d = tmp_path_factory.mktemp("template") / "rootfs"
    subprocess.run([os.path.join(CHECKOUT, "scripts", "mkrootfs.sh"), str(d)], check=True)
    return d


@pytest.fixture
def ctr(tmp_path, rootfs):
    """configure(args, cgroups_path, resources) -> bundle; root; id. Deletes it after."""
    b = tmp_path / "bundle"
    b.mkdir()
    subprocess.run(["cp", "-a", str(rootfs), str(b / "rootfs")], check=True)
    subprocess.run([CAPSA, "spec", "--bundle", str(b)], check=True)
    root = str(tmp_path / "state")
    cid = f"sd{os.getpid()}x{next(_ids)}"
    made = []

    def configure(args, cgroups_path, resources=None, annotations=None):
        cfg = json.loads((b / "config.json").read_text())
        cfg["annotations"] = annotations or {}
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        cfg["linux"]["cgroupsPath"] = cgroups_path
        cfg["linux"].setdefault("resources", {}).update(resources or {})
        (b / "config.json").write_text(json.dumps(cfg, indent=2))
        return str(b)

    yield configure, root, cid, made
    for binary in made:
        rt(binary, root, "delete", "--force", cid, check=False)


LIMITS = {"memory": {"limit": 64 * MIB}, "pids": {"limit": 50},
          "cpu": {"quota": 50000, "period": 100000, "shares": 1024}}


@pytest.mark.parametrize("binary", RUNTIMES)
def test_scope_with_limits_update_pause_delete(ctr, binary):
    configure, root, cid, made = ctr
    made.append(binary)
    unit = f"libpod-{cid}.scope"
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", LIMITS)
    rt(binary, root, "create", "--bundle", bundle, cid)
    pid = json.loads(rt(binary, root, "state", cid).stdout)["pid"]
    cg = f"/machine.slice/{unit}"
    assert_in_cgroup(pid, cg)
    props = show(unit, "ActiveState", "Slice", "Delegate", MEM_PROP, "TasksMax",
                 "CPUQuotaPerSecUSec", "CPUWeight", "CPUShares", "ControlGroup")
    assert props["ActiveState"] == "active" and props["Slice"] == "machine.slice", props
    assert props["Delegate"] == "yes" and props["ControlGroup"] == f"/machine.slice/{unit}"
    assert (props[MEM_PROP], props["TasksMax"], props["CPUQuotaPerSecUSec"]) == \
        (str(64 * MIB), "50", "500ms"), props
    if V2:
        assert props["CPUWeight"] == "39", props    # shares 1024 -> weight 39 (runc's formula)
    else:
        assert props["CPUShares"] == "1024", props  # runc's v1 property
    got = {f: cg_file(cg, f) for f in ("memory.max", "pids.max", "cpu.max", "cpu.weight")}
    assert got == {"memory.max": str(64 * MIB), "pids.max": "50", "cpu.max": "50000 100000",
                   "cpu.weight": "39" if V2 else "1024"}, got

    rt(binary, root, "update", "--memory", str(128 * MIB), "--pids-limit", "70", cid)
    props = show(unit, MEM_PROP, "TasksMax")
    assert props == {MEM_PROP: str(128 * MIB), "TasksMax": "70"}, props
    assert (cg_file(cg, "memory.max"), cg_file(cg, "pids.max")) == (str(128 * MIB), "70")

    rt(binary, root, "start", cid)
    rt(binary, root, "pause", cid)
    assert cg_file(cg, "cgroup.freeze") == "1"
    assert json.loads(rt(binary, root, "state", cid).stdout)["status"] == "paused"
    rt(binary, root, "resume", cid)
    assert cg_file(cg, "cgroup.freeze") == "0"

    rt(binary, root, "delete", "--force", cid)
    assert unit_state(unit) == ("not-found", "inactive")
    assert not cg_exists(cg), f"delete left {cg}"
    assert not os.path.exists(os.path.join(root, cid))


def test_nested_slice_and_default_path(ctr):
    configure, root, cid, made = ctr
    made.append(CAPSA)
    # containerd with SystemdCgroup = true (kubelet's pod slice, made by systemd here)
    bundle = configure(["sleep", "1000"], f"kubepods-burstable-pod12_ab.slice:cri-containerd:{cid}",
                       {"pids": {"limit": 20}})
    rt(CAPSA, root, "run", "-d", "--bundle", bundle, cid)
    pid = json.loads(rt(CAPSA, root, "state", cid).stdout)["pid"]
    want = (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_ab.slice/"
            f"cri-containerd-{cid}.scope")
    assert_in_cgroup(pid, want)
    assert cg_file(want, "pids.max") == "20"
    rt(CAPSA, root, "delete", "--force", cid)
    assert unit_state(f"cri-containerd-{cid}.scope") == ("not-found", "inactive")
    assert not cg_exists(want)
    # no cgroupsPath: system.slice:capsa:<id>, as runc's system.slice:runc:<id>
    bundle = configure(["sleep", "1000"], "")
    rt(CAPSA, root, "run", "-d", "--bundle", bundle, cid)
    pid = json.loads(rt(CAPSA, root, "state", cid).stdout)["pid"]
    assert_in_cgroup(pid, f"/system.slice/capsa-{cid}.scope")
    rt(CAPSA, root, "delete", "--force", cid)
    assert unit_state(f"capsa-{cid}.scope") == ("not-found", "inactive")


@pytest.mark.parametrize("binary", RUNTIMES)
def test_exec_joins_the_scope_everywhere(ctr, binary):
    """An exec'd process is in the container's scope in every hierarchy systemd manages
    (on the legacy layout name=systemd too, where systemd counts a unit's processes);
    `exec --cgroup SUB` (runc 1.1) lands in SUB where it exists, in the scope elsewhere."""
    configure, root, cid, made = ctr
    made.append(binary)
    unit = f"libpod-{cid}.scope"
    cg = f"/machine.slice/{unit}"
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", {"pids": {"limit": 40}})
    rt(binary, root, "run", "-d", "--bundle", bundle, cid)
    pidfile = os.path.join(os.path.dirname(root), "exec.pid")

    def exec_cgroups(*flags):
        """/proc/PID/cgroup, seen from the host (the container has its own cgroup
        namespace), of a process exec'd with flags."""
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        rt(binary, root, "exec", "-d", "--pid-file", pidfile, *flags, cid, "sleep", "100")
        with open(pidfile) as f:
            pid = int(f.read())
        with open(f"/proc/{pid}/cgroup") as f:
            text = f.read()
        os.kill(pid, signal.SIGKILL)
        return text, dict(l.split(":", 2)[1:] for l in text.splitlines())

    out, got = exec_cgroups()
    if V2:
        assert got == {"": cg}, out
    else:
        assert all(got.get(c) == cg for c in V1_CTRLS), out
    # a sub-cgroup in the pids hierarchy (v2: the one hierarchy)
    sub_dir = f"{CG}{cg}/sub" if V2 else f"{CG}/pids{cg}/sub"
    os.mkdir(sub_dir)
    try:
        out, got = exec_cgroups("--cgroup", "sub" if V2 else "pids:sub")
        if V2:
            assert got == {"": cg + "/sub"}, out
        else:
            assert got.get("pids") == cg + "/sub", out
            assert all(got.get(c) == cg for c in V1_CTRLS if c != "pids"), out
    finally:
        rt(binary, root, "delete", "--force", cid, check=False)
    assert unit_state(unit) == ("not-found", "inactive")
    assert not cg_exists(cg)


def test_bad_cgroups_path_is_one_line_and_leaves_nothing(ctr):
    configure, root, cid, made = ctr
    for path, word in (("/machine.slice/x", "slice:prefix:name"),
                       ("bad--name.slice:p:x", "slice name")):
        bundle = configure(["true"], path)
        r = rt(CAPSA, root, "create", "--bundle", bundle, cid, check=False)
        assert r.returncode != 0 and word in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not os.path.exists(os.path.join(root, cid))


def kill_at_fault(argv, stage, env, **popen):
    """Run argv (a `create`) with CAPSA_FAULT=stage until it says it stopped there, then
    SIGKILL it: the runtime dies, what it made so far stays (test_robust.py's way)."""
    with tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=err, env=dict(env, CAPSA_FAULT=stage), **popen)
        try:
            deadline = time.monotonic() + 60
            while f"fault: stopped at {stage}" not in (err.seek(0) or err.read()):
                assert p.poll() is None, f"create ended first: {err.read()}"
                assert time.monotonic() < deadline, "create never reached the fault point"
                time.sleep(0.1)
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait()


@pytest.mark.parametrize("stage", ["namespaces", "created"])
def test_killed_create_is_cleaned_by_delete_force(ctr, stage):
    """SIGKILL of `create` at a fault point. At "namespaces" the init dies with it (its
    parent-death signal), the scope empties and systemd drops it by itself; at "created"
    the init lives on in its scope, which only delete --force removes."""
    configure, root, cid, made = ctr
    made.append(CAPSA)
    unit = f"libpod-{cid}.scope"
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", LIMITS)
    kill_at_fault([CAPSA, "--root", root, "--systemd-cgroup", "create", "--bundle", bundle,
                   cid], stage, os.environ)
    if stage == "created":
        assert unit_state(unit) == ("loaded", "active")
    rt(CAPSA, root, "delete", "--force", cid)
    assert unit_state(unit) == ("not-found", "inactive")
    assert not cg_exists(f"/machine.slice/{unit}")
    assert not os.path.exists(os.path.join(root, cid))


# src/runtime/create.c hands the annotations to the driver (cgroup_set_systemd_annotations)
ANNOTATIONS_WIRED = os.environ.get("CAPSA_SD_ANNOTATIONS") == "1" or \
    "cgroup_set_systemd_annotations" in _read(os.path.join(CHECKOUT, "src/runtime/create.c"))
NOT_WIRED = "src/runtime/create.c does not call cgroup_set_systemd_annotations yet"


@pytest.mark.parametrize("binary", RUNTIMES)
def test_systemd_property_annotations(ctr, binary):
    """org.systemd.property.NAME=VALUE (GVariant text) become scope properties (runc's
    initSystemdProps); NAMESec is NAMEUSec in microseconds."""
    if binary == CAPSA and not ANNOTATIONS_WIRED:
        pytest.skip(NOT_WIRED)
    configure, root, cid, made = ctr
    made.append(binary)
    unit = f"libpod-{cid}.scope"
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", {"pids": {"limit": 30}},
                       {"org.systemd.property.TimeoutStopUSec": "uint64 123456789",
                        "org.systemd.property.CollectMode": "'inactive-or-failed'",
                        "org.systemd.property.RuntimeMaxSec": "uint64 3600",
                        "io.other.annotation": "not for systemd"})
    rt(binary, root, "create", "--bundle", bundle, cid)
    props = show(unit, "TimeoutStopUSec", "CollectMode", "RuntimeMaxUSec", "TasksMax")
    assert props == {"TimeoutStopUSec": "2min 3.456789s", "CollectMode": "inactive-or-failed",
                     "RuntimeMaxUSec": "1h", "TasksMax": "30"}, props
    rt(binary, root, "delete", "--force", cid)
    assert unit_state(unit) == ("not-found", "inactive")


def test_bad_systemd_property_annotation_leaves_nothing(ctr):
    if not ANNOTATIONS_WIRED:
        pytest.skip(NOT_WIRED)
    configure, root, cid, made = ctr
    made.append(CAPSA)
    unit = f"libpod-{cid}.scope"
    for ann, word in ((("org.systemd.property.Description", "'mine'"), "capsa sets Description"),
                      (("org.systemd.property.TimeoutStopUSec", "soon"), "GVariant"),
                      (("org.systemd.property.NoSuchProperty", "true"), "NoSuchProperty")):
        bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", LIMITS,
                           dict([ann]))
        r = rt(CAPSA, root, "create", "--bundle", bundle, cid, check=False)
        assert r.returncode != 0 and word in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not os.path.exists(os.path.join(root, cid))
        assert unit_state(unit) == ("not-found", "inactive")
        assert not cg_exists(f"/machine.slice/{unit}")
        left = subprocess.run(["pgrep", "-f", "^sleep 1000$"], capture_output=True, text=True)
        assert not left.stdout.strip(), f"create left processes: {left.stdout}"


def test_audit_and_stats_on_a_scope(ctr):
    """capsa stats / audit read the container's scope: its limits, usage and findings."""
    configure, root, cid, made = ctr
    made.append(CAPSA)
    unit = f"libpod-{cid}.scope"
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}", LIMITS)
    rt(CAPSA, root, "run", "-d", "--bundle", bundle, cid)
    out = rt(CAPSA, root, "stats", "--format", "json", "--interval", "0", cid).stdout
    (s,) = json.loads(out)
    assert "error" not in s, s
    assert s["cgroup"] == f"/machine.slice/{unit}" and s["status"] == "running", s
    assert s["memory"]["limit"] == 64 * MIB and s["memory"]["usage"] > 0, s["memory"]
    assert s["pids"]["limit"] == 50 and s["pids"]["current"] >= 1, s["pids"]
    assert (s["cpu"]["quota_us"], s["cpu"]["period_us"]) == (50000, 100000), s["cpu"]
    r = rt(CAPSA, root, "audit", "--format", "json", cid, check=False)
    assert r.returncode in (0, 1, 2), r.stderr
    (t,) = json.loads(r.stdout)["targets"]
    assert t["target"]["id"] == cid
    res = {f["check"]: f["result"] for f in t["findings"]}
    assert (res["cgroup.memory"], res["cgroup.pids"], res["cgroup.cpu"]) == \
        ("PASS", "PASS", "PASS"), t["findings"]
    # the control: the same checks WARN on a scope without limits
    rt(CAPSA, root, "delete", "--force", cid)
    bundle = configure(["sleep", "1000"], f"machine.slice:libpod:{cid}",
                       {"memory": {}, "pids": {"limit": -1}, "cpu": {}})
    rt(CAPSA, root, "run", "-d", "--bundle", bundle, cid)
    (t,) = json.loads(rt(CAPSA, root, "audit", "--format", "json", cid, check=False).stdout)[
        "targets"]
    res = {f["check"]: f["result"] for f in t["findings"]}
    assert (res["cgroup.memory"], res["cgroup.pids"]) == ("WARN", "WARN"), t["findings"]
    (s,) = json.loads(rt(CAPSA, root, "stats", "--format", "json", "--interval", "0",
                         cid).stdout)
    assert s["memory"]["limit"] is None and s["pids"]["limit"] is None, s
    rt(CAPSA, root, "delete", "--force", cid)
    assert unit_state(unit) == ("not-found", "inactive")


PODMAN = shutil.which("podman")


@pytest.fixture(scope="module")
def podman_image(tmp_path_factory, rootfs):
    if not PODMAN:
        pytest.skip("podman not installed: no engine test")
    d = tmp_path_factory.mktemp("podman")
    base = [PODMAN, "--storage-driver", "vfs", "--root", str(d / "store"), "--runroot",
            str(d / "run"), "--events-backend", "file", "--cgroup-manager", "systemd"]
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(d / "rootfs.tar"), "."], check=True)
    subprocess.run(base + ["import", str(d / "rootfs.tar"), "localhost/capsa-sd:1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return base


@pytest.mark.parametrize("binary", RUNTIMES)
def test_podman_cgroup_manager_systemd(podman_image, binary):
    """podman with --cgroup-manager=systemd (its default on systemd hosts) driving the
    runtime: run with limits in libpod-ID.scope, exec, stop, rm leaves no unit; OOM 137."""
    p = podman_image + ["--runtime", binary]

    def pm(*args, check=True):
        # cwd /tmp: conmon leaves an "oom" marker in its working directory, which
        # would otherwise be the checkout
        r = subprocess.run(p + list(args), capture_output=True, text=True, timeout=120,
                           stdin=subprocess.DEVNULL, cwd="/tmp")
        assert not check or r.returncode == 0, f"podman {args}: {r.returncode} {r.stderr}"
        return r

    name = f"sdpm{os.getpid()}{next(_ids)}"
    cid = pm("run", "-d", "--name", name, "--memory", "64m", "--pids-limit", "33",
             "--network", "none", "localhost/capsa-sd:1", "sleep", "1000").stdout.strip()
    unit = f"libpod-{cid}.scope"
    try:
        props = show(unit, "ActiveState", "Slice", MEM_PROP, "TasksMax", "ControlGroup")
        assert props == {"ActiveState": "active", "Slice": "machine.slice",
                         MEM_PROP: str(64 * MIB), "TasksMax": "33",
                         "ControlGroup": f"/machine.slice/{unit}"}, props
        assert cg_file(f"/machine.slice/{unit}", "memory.max") == str(64 * MIB)
        assert pm("exec", name, "echo", "in-scope").stdout.strip() == "in-scope"
        pm("stop", "-t", "0", name)
    finally:
        pm("rm", "-f", name, check=False)
    assert unit_state(unit) == ("not-found", "inactive")
    assert not cg_exists(f"/machine.slice/{unit}")
    r = pm("run", "--rm", "--memory", "32m", "--memory-swap", "32m", "--network", "none",
           "localhost/capsa-sd:1", "sh", "-c", "x=a; while true; do x=$x$x; done", check=False)
    assert r.returncode == 137, (r.returncode, r.stderr)


CONTAINERD, CTR = shutil.which("containerd"), shutil.which("ctr")


@pytest.fixture(scope="module")
def containerd(tmp_path_factory):
    """A containerd of our own (its root, state and socket in a temporary directory)."""
    if not (CONTAINERD and CTR):
        pytest.skip("containerd/ctr not installed: no engine test")
    d = tmp_path_factory.mktemp("containerd")
    (d / "config.toml").write_text(
        f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
        f'[grpc]\n  address = "{d}/sock"\n')
    with open(d / "log", "w") as log:
        p = subprocess.Popen([CONTAINERD, "--config", str(d / "config.toml")], stdout=log,
                             stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(d / "sock"):
            assert p.poll() is None, (d / "log").read_text()
            assert time.monotonic() < deadline, "containerd did not start"
            time.sleep(0.1)
        yield str(d / "sock")
    finally:
        p.terminate()
        p.wait(timeout=30)


@pytest.mark.parametrize("binary", RUNTIMES)
def test_containerd_systemd_cgroup(containerd, rootfs, binary):
    """containerd's runc shim (io.containerd.runc.v2) with SystemdCgroup (ctr
    --runc-systemd-cgroup) and the runtime as its binary, a kubelet-style cgroupsPath:
    the task runs in its scope with the limit, exec works, kill + rm leave nothing."""
    name = f"sdctr{os.getpid()}x{next(_ids)}"
    unit = f"cri-containerd-{name}.scope"
    path = (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc7.slice/{unit}")

    def ctr(*args, check=True):
        r = subprocess.run([CTR, "-a", containerd, *args], capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        assert not check or r.returncode == 0, f"ctr {args}: {r.returncode} {r.stderr}"
        return r

    ctr("run", "-d", "--runc-binary", binary, "--runc-systemd-cgroup", "--cgroup",
        f"kubepods-burstable-podc7.slice:cri-containerd:{name}", "--memory-limit",
        str(64 * MIB), "--env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "--rootfs", str(rootfs),
        name, "sleep", "1000")
    try:
        props = show(unit, "ActiveState", MEM_PROP, "ControlGroup")
        assert props == {"ActiveState": "active", MEM_PROP: str(64 * MIB),
                         "ControlGroup": path}, props
        assert cg_file(path, "memory.max") == str(64 * MIB)
        assert ctr("task", "exec", "--exec-id", "e1", name, "echo", "in-scope").stdout.strip() \
            == "in-scope"
        ctr("task", "kill", "-s", "KILL", name)
        deadline = time.monotonic() + 60
        while "STOPPED" not in ctr("task", "ls").stdout:
            assert time.monotonic() < deadline, ctr("task", "ls").stdout
            time.sleep(0.2)
    finally:
        ctr("task", "rm", "-f", name, check=False)
        ctr("container", "rm", name, check=False)
    assert unit_state(unit) == ("not-found", "inactive")
    assert not cg_exists(path)
