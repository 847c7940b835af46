"""containerd's CRI plugin configured as kubeadm does (SystemdCgroup = true, the runc
shim io.containerd.runc.v2 with BinaryName = capsa) driven through crictl as a kubelet
would, in the systemd guest of tests/vm/systemd/run.py:

    flock /tmp/capsa-vm.lock tests/vm/systemd/run.py --layout unified \\
        tests/vm/systemd/test_cri_systemd.py          (then --layout legacy)

A pod (host network: no CNI) whose sandbox has kubelet's systemd cgroup parent
kubepods-burstable-pod<uid>.slice and a container with a memory limit, a CPU quota and
CPU shares: both land in cri-containerd-<id>.scope below
/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice, with the
limits as unit properties and cgroup files (the sandbox: containerd's CPU shares 2); exec
works and the exec'd process is in the container's scope in every hierarchy (on the legacy
layout that includes systemd's name=systemd, where systemd tracks a unit's processes: capsa
fails this until its exec joins name=systemd as runc's does); UpdateContainerResources
(crictl update) changes the unit and the files; stop/rm and stopp/rmp leave no unit,
cgroup, process or runtime state; a container over its memory limit is OOM-killed and
CRI says OOMKilled. runc 1.1.5 runs the same checks as a second handler (the anchor).

The containerd is private (root, state, socket on a tmpfs of its own); its images (the
pause image from tests/cri/src/pause.c and a busybox image from scripts/mkrootfs.sh) are
built in the guest and imported with `ctr -n k8s.io images import`: no registry.
crictl comes from build/cri/bin (tests/cri/build-tools.sh, run on the host).
"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest

from test_systemd import show, unit_state  # noqa: E402  (the guest suite's helpers)

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CAPSA = os.environ.get("CAPSA", os.path.join(CHECKOUT, "build", "capsa"))
RUNC = shutil.which("runc")
CRICTL = os.path.join(CHECKOUT, "build", "cri", "bin", "crictl")
CONTAINERD, CTR = shutil.which("containerd"), shutil.which("ctr")
MIB = 1 << 20
CG = "/sys/fs/cgroup"
PAUSE = "registry.k8s.io/pause:3.6"
IMAGE = "localhost/capsa-cri-sd:1"

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("CAPSA_VM_GUEST") != "1" or not os.path.isdir("/run/systemd/system"),
        reason="runs in the systemd guest (tests/vm/systemd/run.py)"),
    pytest.mark.skipif(not os.access(CRICTL, os.X_OK),
                       reason="no build/cri/bin/crictl: build it on the host first "
                              "(tests/cri/build-tools.sh, as tests/cri/run.py does)"),
    pytest.mark.skipif(not (CONTAINERD and CTR), reason="containerd/ctr not installed"),
]

# handler name -> binary. "runc" is the runtime kubeadm configures; its BinaryName is capsa.
HANDLERS = [pytest.param(("runc", CAPSA), id="capsa"),
            pytest.param(("upstream-runc", RUNC), id="runc", marks=pytest.mark.skipif(
                not RUNC, reason="runc not installed: no comparison"))]

V2 = os.path.exists(f"{CG}/cgroup.controllers")
MEM_PROP = "MemoryMax" if V2 else "MemoryLimit"
V1_CTRLS = ("systemd", "memory", "pids", "cpu,cpuacct", "devices", "freezer")


def _read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        if default is None:
            raise
        return default


def cg_files(path):
    """memory.max, cpu.max, cpu.weight of cgroup path (v1: their counterparts, cpu.shares
    for cpu.weight)."""
    if V2:
        return {f: _read(f"{CG}{path}/{f}") for f in ("memory.max", "cpu.max", "cpu.weight")}
    q = _read(f"{CG}/cpu,cpuacct{path}/cpu.cfs_quota_us")
    return {"memory.max": _read(f"{CG}/memory{path}/memory.limit_in_bytes"),
            "cpu.max": f"{'max' if q == '-1' else q} "
                       f"{_read(f'{CG}/cpu,cpuacct{path}/cpu.cfs_period_us')}",
            "cpu.weight": _read(f"{CG}/cpu,cpuacct{path}/cpu.shares")}


def cg_exists(path):
    if V2:
        return os.path.exists(CG + path)
    return any(os.path.exists(f"{CG}/{c}{path}") for c in V1_CTRLS)


def procs_in(path):
    """Pids of every process whose cgroup (any hierarchy) is path or below it."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        for line in _read(f"/proc/{p}/cgroup", "").splitlines():
            cg = line.split(":", 2)[-1]
            if cg == path or cg.startswith(path + "/"):
                out.append(int(p))
                break
    return out


def not_in_cgroup(pid, path):
    """The hierarchies ("" on v2) in which process pid is not in cgroup path: {name: its
    cgroup there}."""
    lines = _read(f"/proc/{pid}/cgroup").splitlines()
    got = dict(l.split(":", 2)[1:] for l in lines)
    if V2:
        return {} if got == {"": path} else got
    names = [c if c != "systemd" else "name=systemd" for c in V1_CTRLS]
    return {c: got.get(c) for c in names if got.get(c) != path}


def assert_in_scope(pid, path, binary):
    wrong = not_in_cgroup(pid, path)
    if binary != CAPSA and not V2 and list(wrong) == ["devices"] and \
            wrong["devices"] == os.path.dirname(path):
        # runc 1.1.5 on systemd's legacy layout: seen in this guest, its process stays in
        # the pod slice's devices cgroup (every other hierarchy: the scope); capsa's is in
        # the scope everywhere (asserted)
        return
    assert wrong == {}, f"pid {pid} outside {path} in: {wrong}"


def pids_running(*argv):
    want = "\0".join(argv) + "\0"
    return [int(p) for p in os.listdir("/proc")
            if p.isdigit() and _read(f"/proc/{p}/cmdline", "") == want]


def wait_for(what, cond, secs=60):
    deadline = time.monotonic() + secs
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, f"waited {secs}s for {what}"
        time.sleep(0.2)


# --- images: built here, imported with ctr ---------------------------------------------

def _images_module():
    spec = importlib.util.spec_from_file_location(
        "capsa_cri_images", os.path.join(CHECKOUT, "tests", "cri", "images.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def build_oci_archive(work):
    """An OCI image layout tar with the pause image (tests/cri/src/pause.c, static) and a
    busybox image (scripts/mkrootfs.sh), named by io.containerd.image.name."""
    img = _images_module()
    pause = os.path.join(work, "pause-tree")
    os.makedirs(pause)
    img.compile_static(os.path.join(CHECKOUT, "tests", "cri", "src", "pause.c"),
                       os.path.join(pause, "pause"))
    bb = os.path.join(work, "busybox-tree")
    subprocess.run([os.path.join(CHECKOUT, "scripts", "mkrootfs.sh"), bb], check=True)
    layout = os.path.join(work, "layout")
    s = img.Store(layout)
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    s.image([PAUSE], [pause], {"Entrypoint": ["/pause"], "Env": env})
    s.image([IMAGE], [bb], {"Cmd": ["sh"], "Env": env})
    manifests = []
    for line in s.lines:
        ref, digest = line.split()
        manifests.append({
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
            "size": os.path.getsize(os.path.join(s.blobs, digest.split(":", 1)[1])),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": ref,
                            "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]}})
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    tar = os.path.join(work, "images.tar")
    with tarfile.open(tar, "w") as t:
        for n in ("oci-layout", "index.json", "blobs"):
            t.add(os.path.join(layout, n), arcname=n)
    return tar


# --- the containerd ------------------------------------------------------------------

CONFIG = """# containerd's CRI plugin as kubeadm configures it (SystemdCgroup), private paths
version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{pause}"
    disable_cgroup = false
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    disable_apparmor = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
{runtimes}
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "{d}/cni"
"""
RUNTIME = """
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}.options]
          BinaryName = "{binary}"
          Root = "{d}/runtime-root/{name}"
          SystemdCgroup = true
"""


class Cri:
    def __init__(self, d):
        self.d = d
        self.sock = f"{d}/containerd.sock"
        self.roots = {}

    def argv(self, *args):
        return [CRICTL, "--runtime-endpoint", "unix://" + self.sock,
                "--image-endpoint", "unix://" + self.sock, "--timeout", "60s", *args]

    def crictl(self, *args, check=True, timeout=120):
        r = subprocess.run(self.argv(*args), capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        assert not check or r.returncode == 0, \
            f"crictl {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()[-800:]}"
        return r

    def inspect(self, cid):
        return json.loads(self.crictl("inspect", cid).stdout)

    def log_tail(self):
        return _read(f"{self.d}/containerd.log", "")[-3000:]


def shims_of(sock):
    """Pids of the shims serving our containerd (their -address is our socket)."""
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            cmd = _read(f"/proc/{p}/cmdline", "").split("\0")
            if cmd and cmd[0].endswith("containerd-shim-runc-v2") and sock in cmd:
                out.append(int(p))
    return out


@pytest.fixture(scope="module")
def cri():
    d = tempfile.mkdtemp(prefix="capsa-cri-sd-", dir="/tmp")
    # a tmpfs of its own: the guest's / is an overlay, which the overlayfs snapshotter
    # cannot use as its upper layer
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700,size=768m", "capsa-cri-sd", d],
                   check=True)
    proc = None
    c = Cri(d)
    try:
        runtimes = ""
        for name, binary in (("runc", CAPSA), ("upstream-runc", RUNC)):
            if binary:
                runtimes += RUNTIME.format(name=name, binary=binary, d=d)
                c.roots[name] = f"{d}/runtime-root/{name}/k8s.io"
        with open(f"{d}/config.toml", "w") as f:
            f.write(CONFIG.format(d=d, pause=PAUSE, runtimes=runtimes))
        os.makedirs(f"{d}/cni")   # empty: host-network pods only
        os.makedirs(f"{d}/logs")
        with open(f"{d}/containerd.log", "w") as log:
            proc = subprocess.Popen([CONTAINERD, "--config", f"{d}/config.toml"], stdout=log,
                                    stderr=log, stdin=subprocess.DEVNULL,
                                    start_new_session=True)

        def up():
            assert proc.poll() is None, "containerd exited: " + c.log_tail()
            return os.path.exists(c.sock) and \
                c.crictl("version", check=False, timeout=30).returncode == 0
        wait_for("containerd's CRI", up, 120)
        tar = build_oci_archive(os.path.join(d, "images"))
        r = subprocess.run([CTR, "-a", c.sock, "-n", "k8s.io", "images", "import", tar],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"ctr images import: {r.stderr}"
        shutil.rmtree(os.path.join(d, "images"))
        wait_for("the imported images in CRI",
                 lambda: all(ref in c.crictl("images", "-o", "json").stdout
                             for ref in (PAUSE, IMAGE)), 60)
        yield c
    finally:
        if proc is not None:
            c.crictl("rmp", "-fa", check=False, timeout=300)
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for pid in shims_of(c.sock):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        # kubelet removes its pod slices; we are its stand-in
        subprocess.run(["systemctl", "stop", "kubepods.slice"], capture_output=True)
        r = subprocess.run(["umount", "-l", d], capture_output=True, text=True)
        if r.returncode == 0:
            os.rmdir(d)


def pod_config(c, name, uid):
    logs = f"{c.d}/logs/{name}"
    os.makedirs(logs, exist_ok=True)
    return {"metadata": {"name": name, "namespace": "default", "uid": uid, "attempt": 0},
            "log_directory": logs,   # no hostname: host network (as kubelet)
            "linux": {"cgroup_parent": pod_slice(uid),
                      "security_context": {"namespace_options": {"network": 2}}}}


def pod_slice(uid):
    """kubelet's systemd cgroup driver: kubepods-burstable-pod<uid, - as _>.slice"""
    return "kubepods-burstable-pod%s.slice" % uid.replace("-", "_")


def pod_path(uid):
    return "/kubepods.slice/kubepods-burstable.slice/" + pod_slice(uid)


def write_json(c, name, obj):
    p = f"{c.d}/{name}.json"
    with open(p, "w") as f:
        json.dump(obj, f)
    return p


def run_pod(c, handler, name):
    uid = str(uuid.uuid4())
    pod = write_json(c, "pod-" + name, pod_config(c, name, uid))
    podid = c.crictl("runp", "--runtime", handler, pod).stdout.strip()
    return uid, pod, podid


def gone(c, handler, uid, ids):
    """What the pod left after stopp + rmp: units, scopes, cgroups, processes, shims,
    runtime state (an empty list when nothing)."""
    left = []
    for i in ids:
        unit = f"cri-containerd-{i}.scope"
        if unit_state(unit) != ("not-found", "inactive"):
            left.append(f"unit {unit} {unit_state(unit)}")
        if cg_exists(f"{pod_path(uid)}/{unit}"):
            left.append(f"cgroup {pod_path(uid)}/{unit}")
        if os.path.exists(os.path.join(c.roots[handler], i)):
            left.append(f"runtime state {c.roots[handler]}/{i}")
    for pid in procs_in(pod_path(uid)):
        left.append(f"process {pid} ({_read(f'/proc/{pid}/cmdline', '')[:80]!r})")
    return left


RESOURCES = {"memory_limit_in_bytes": 64 * MIB, "cpu_quota": 50000, "cpu_period": 100000,
             "cpu_shares": 512}


@pytest.mark.parametrize("handler", HANDLERS)
def test_pod_and_container_in_kubepods_scopes(cri, handler):
    """runp/create/start as a kubelet with the systemd driver, limits as unit properties
    and cgroup files, exec, update, stop/rm, stopp/rmp: nothing left."""
    handler, binary = handler
    c = cri
    uid, pod, podid = run_pod(c, handler, "sd-" + handler)
    base = pod_path(uid)
    sb_unit = f"cri-containerd-{podid}.scope"
    ctr_json = write_json(c, "ctr-" + handler, {
        "metadata": {"name": "sleeper"}, "image": {"image": IMAGE},
        "command": ["sleep", "1000"], "log_path": "sleeper.log",
        "linux": {"resources": RESOURCES}})
    cid = None
    try:
        # the sandbox (pause) in its scope
        props = show(sb_unit, "ActiveState", "ControlGroup", "Slice", "Delegate")
        assert props == {"ActiveState": "active", "ControlGroup": f"{base}/{sb_unit}",
                         "Slice": pod_slice(uid), "Delegate": "yes"}, props
        sb_pid = json.loads(c.crictl("inspectp", podid).stdout)["info"]["pid"]
        assert_in_scope(sb_pid, f"{base}/{sb_unit}", binary)
        # containerd gives the sandbox CPU shares 2: weight 1 (runc's formula), v1 shares 2
        props = show(sb_unit, "CPUWeight" if V2 else "CPUShares")
        assert props == ({"CPUWeight": "1"} if V2 else {"CPUShares": "2"}), props
        assert cg_files(f"{base}/{sb_unit}")["cpu.weight"] == ("1" if V2 else "2")

        cid = c.crictl("create", podid, ctr_json, pod).stdout.strip()
        c.crictl("start", cid)
        unit = f"cri-containerd-{cid}.scope"
        path = f"{base}/{unit}"
        info = c.inspect(cid)
        assert info["status"]["state"] == "CONTAINER_RUNNING", info["status"]
        pid = info["info"]["pid"]
        assert_in_scope(pid, path, binary)
        props = show(unit, "ActiveState", "ControlGroup", "Delegate", MEM_PROP,
                     "CPUQuotaPerSecUSec", "CPUWeight" if V2 else "CPUShares")
        assert props == {"ActiveState": "active", "ControlGroup": path, "Delegate": "yes",
                         MEM_PROP: str(64 * MIB), "CPUQuotaPerSecUSec": "500ms",
                         # shares 512: weight 20 (runc's formula) / CPUShares 512 on v1
                         **({"CPUWeight": "20"} if V2 else {"CPUShares": "512"})}, props
        assert cg_files(path) == {"memory.max": str(64 * MIB), "cpu.max": "50000 100000",
                                  "cpu.weight": "20" if V2 else "512"}, cg_files(path)

        r = c.crictl("exec", cid, "echo", "in-scope")
        assert r.stdout.strip() == "in-scope", r.stdout
        # an exec'd process joins the container's scope
        ex = subprocess.Popen(c.argv("exec", cid, "sleep", "97"), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            (epid,) = wait_for("the exec'd sleep", lambda: pids_running("sleep", "97"))
            assert_in_scope(epid, path, binary)
            os.kill(epid, signal.SIGKILL)
        finally:
            ex.wait(timeout=120)

        # UpdateContainerResources: the unit's properties and the files
        c.crictl("update", "--memory", str(96 * MIB), "--cpu-quota", "20000", cid)
        props = show(unit, MEM_PROP, "CPUQuotaPerSecUSec")
        assert props == {MEM_PROP: str(96 * MIB), "CPUQuotaPerSecUSec": "200ms"}, props
        got = cg_files(path)
        assert (got["memory.max"], got["cpu.max"]) == (str(96 * MIB), "20000 100000"), got

        c.crictl("stop", "--timeout", "0", cid)
        assert c.inspect(cid)["status"]["state"] == "CONTAINER_EXITED"
        assert not os.path.exists(f"/proc/{pid}")
        c.crictl("rm", cid)
        assert unit_state(unit) == ("not-found", "inactive")
        assert not cg_exists(path), f"rm left {path}"
        assert not os.path.exists(os.path.join(c.roots[handler], cid))
        assert show(sb_unit, "ActiveState")["ActiveState"] == "active"

        c.crictl("stopp", podid)
        c.crictl("rmp", podid)
        assert gone(c, handler, uid, [podid, cid]) == []
        assert wait_for("the pod's shim to exit",
                        lambda: not [p for p in shims_of(c.sock)
                                     if podid in _read(f"/proc/{p}/cmdline", "")] or None)
    finally:
        c.crictl("rmp", "-f", podid, check=False)


@pytest.mark.parametrize("handler", HANDLERS)
def test_container_over_its_memory_limit_is_oom_killed(cri, handler):
    handler, binary = handler
    c = cri
    uid, pod, podid = run_pod(c, handler, "oom-" + handler)
    ctr_json = write_json(c, "oom-" + handler, {
        "metadata": {"name": "hog"}, "image": {"image": IMAGE},
        # The hog is a child: the OOM killer takes it, the shell outlives it for a while
        # and exits with its status. Had the container's only process been killed, the
        # emptied scope could be gone (systemd removes it) before the shim reads the
        # scope's memory.events for the oom_kill (the kernel delays a second notification
        # within 10 ms): containerd then says "Error", seen for runc and capsa alike.
        # (systemd 252, the guest's, has no OOMPolicy for scopes; from 253 on a scope
        # has one, "continue" by default where Delegate=yes, as here: systemd.scope(5).)
        "command": ["sh", "-c", 'sh -c "x=a; while true; do x=\\$x\\$x; done"; st=$?; '
                    "sleep 3; exit $st"], "log_path": "hog.log",
        "linux": {"resources": {"memory_limit_in_bytes": 32 * MIB}}})
    try:
        cid = c.crictl("create", podid, ctr_json, pod).stdout.strip()
        unit = f"cri-containerd-{cid}.scope"
        c.crictl("start", cid)
        st = wait_for("the hog to exit", lambda: (lambda s: s if s["state"] ==
                                                  "CONTAINER_EXITED" else None)(
            c.inspect(cid)["status"]), 120)
        assert (st["exitCode"], st["reason"]) == (137, "OOMKilled"), st
        c.crictl("rm", cid)
        assert unit_state(unit) == ("not-found", "inactive")
        c.crictl("stopp", podid)
        c.crictl("rmp", podid)
        assert gone(c, handler, uid, [podid, cid]) == []
    finally:
        c.crictl("rmp", "-f", podid, check=False)
