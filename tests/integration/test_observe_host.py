"""capsa list/audit/stats --host (issue 22): every container on the host, whoever
started it, found without any engine's socket — capsa's, runc's and crun's (state dirs
under /run), Kubernetes- and Docker-shaped cgroup paths (named from the path), and a
bare `unshare` sandbox ("unknown container"), all running at once. A control: a
process in the host's namespaces is not listed."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid

import pytest

from capsatest import CAPSA, CGROUP_PARENT, SESSION_PID, wait_for
from test_observe_helpers import MiB, resources

pytestmark = pytest.mark.capsa_only("capsa's host-wide observatory")

SLEEP = ["sleep", "1000"]


# A stand-in for conmon as CRI-O runs it: a child subreaper whose argv names the
# container as conmon's does (-c ID -n NAME -b BUNDLE -r RUNTIME --runtime-arg
# --root=DIR, no podman --exit-command); it creates and starts the container, so it is
# the init's parent, says "ready", and ends when the init does.
CONMON = """
import ctypes, os, subprocess, sys
args = sys.argv[1:]
opt = lambda name: args[args.index(name) + 1]
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
root = opt("--runtime-arg").split("=", 1)[1]
for verb in (["create", "--bundle", opt("-b"), opt("-c")], ["start", opt("-c")]):
    subprocess.run([opt("-r"), "--root", root, *verb], check=True, stdin=subprocess.DEVNULL)
print("ready", flush=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
"""

# The annotations CRI-O puts into a pod container's config.json.
def crio_annotations(pod_uid):
    return {"io.kubernetes.container.name": "web", "io.kubernetes.pod.name": "shop-1",
            "io.kubernetes.pod.namespace": "obs-ns", "io.kubernetes.pod.uid": pod_uid}


@pytest.fixture
def cri_o(ct):
    """start(bundle, name): the bundle's container run under the conmon stand-in
    (argv[0] "conmon"); returns the stand-in's pid. The container is deleted and the
    stand-in waited for at the end."""
    procs = []
    script = os.path.join(ct.tmp, "conmon.py")
    with open(script, "w") as f:
        f.write(CONMON)

    def start(bundle, name):
        p = subprocess.Popen(["conmon", script, "-c", bundle.id, "-n", name, "-b", bundle.path,
                              "-r", CAPSA, "--runtime-arg", f"--root={ct.root}"],
                             executable=sys.executable, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append((p, bundle.id))
        line = p.stdout.readline()
        assert line.strip() == "ready", p.stderr.read()
        return p.pid
    yield start
    for p, cid in procs:
        ct.capsa("delete", "--force", cid)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def _ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _host(ct, verb, *args):
    r = ct.capsa(verb, "--host", "--format", "json", *args)
    assert r.returncode in (0, 1, 2), (verb, r.returncode, r.stderr)
    return json.loads(r.stdout)


class OtherRuntime:
    """runc or crun with a state root under /run (where discovery looks), removed at the
    end; every container is deleted by id, whatever happened."""

    def __init__(self, binary, name):
        self.binary = binary
        self.root = f"/run/{name}-observe-{SESSION_PID}"
        self.ids = []

    def run(self, bundle, check=True):
        """run -d; (exit code, stderr), asserted 0 when check."""
        cmd = [self.binary, "--root", self.root, "run", "-d", "--bundle", bundle.path, bundle.id]
        # The container keeps the stdio it is given: a file, not a pipe to wait on.
        with tempfile.TemporaryFile("w+") as err:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=err, text=True, timeout=30)
            self.ids.append(bundle.id)
            err.seek(0)
            msg = err.read().strip()
        assert r.returncode == 0 or not check, (cmd, msg)
        return r.returncode, msg

    def state(self, cid):
        r = subprocess.run([self.binary, "--root", self.root, "state", cid],
                           capture_output=True, text=True, timeout=30, check=True)
        return json.loads(r.stdout)

    def cleanup(self):
        for cid in self.ids:
            subprocess.run([self.binary, "--root", self.root, "delete", "--force", cid],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def others():
    made = []

    def make(binary, name):
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} not installed (scripts/deps.sh)")
        o = OtherRuntime(shutil.which(binary), name)
        made.append(o)
        return o
    yield make
    for o in made:
        o.cleanup()


@pytest.fixture
def sandbox():
    """`unshare --pid --mount --fork sleep`: a private pid and mount ns, no engine."""
    p = subprocess.Popen(["unshare", "--pid", "--mount", "--fork", "--mount-proc", "sleep",
                          "1000"], stdin=subprocess.DEVNULL)

    def child():
        try:
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None
    pid = wait_for(child, timeout=10, what="the unshare'd sleep")
    yield pid
    os.kill(pid, signal.SIGKILL)
    p.wait(timeout=10)


def test_host_lists_every_runtime_with_its_engine(ct, others, sandbox):
    pod_uid = str(uuid.uuid4())
    docker_id = uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex digits, as Docker's
    mine = ct.running(args=SLEEP)
    kube_id = ct.new_id()
    kube = ct.bundle(args=SLEEP, cid=kube_id)
    kube.config["linux"]["cgroupsPath"] = \
        f"{CGROUP_PARENT}/kubepods/burstable/pod{pod_uid}/{kube_id}"
    kube.write()
    ct.create(kube)
    ct.start(kube.id)
    dock = ct.bundle(args=SLEEP)
    dock.config["linux"]["cgroupsPath"] = f"{CGROUP_PARENT}/docker/{docker_id}"
    dock.write()
    ct.create(dock)
    ct.start(dock.id)
    runc = others("runc", "runc")
    rb = ct.bundle(args=SLEEP)
    runc.run(rb)
    pids = {mine.id: ct.state(mine.id)["pid"], kube.id: ct.state(kube.id)["pid"],
            dock.id: ct.state(dock.id)["pid"], rb.id: runc.state(rb.id)["pid"]}

    found = {c["pid"]: c for c in _host(ct, "list")}
    assert found[pids[mine.id]]["engine"] == "capsa"
    assert found[pids[mine.id]]["id"] == mine.id
    assert found[pids[mine.id]]["state_root"] == ct.root
    assert found[pids[rb.id]]["engine"] == "runc" and found[pids[rb.id]]["id"] == rb.id
    assert found[pids[rb.id]]["state_root"] == runc.root
    k = found[pids[kube.id]]
    assert (k["engine"], k["id"], k["runtime"]) == ("kubernetes", kube.id, "capsa")
    assert k["pod"]["uid"] == pod_uid and k["pod"]["qos"] == "burstable"
    assert k["pod"]["cgroup"].endswith(f"/kubepods/burstable/pod{pod_uid}")
    d = found[pids[dock.id]]
    assert (d["engine"], d["id"]) == ("docker", docker_id)
    u = found[sandbox]
    assert u["engine"] == "unknown" and u["id"] is None and u["comm"] == "sleep"
    assert u["own_pid_ns"] and u["own_mount_ns"]
    # control: pytest itself (host namespaces) is no container
    assert os.getpid() not in found

    # the table names them too, unknown by pid
    table = ct.capsa("list", "--host", check=True).stdout
    assert re.search(rf"^runc +{re.escape(rb.id)} +{pids[rb.id]} ", table, re.M), table
    assert re.search(rf"^docker +{docker_id[:12]} +{pids[dock.id]} ", table, re.M), table
    assert re.search(rf"^unknown +pid-{sandbox} +{sandbox} ", table, re.M), table

    # audit --host judges each, with its engine
    audited = {t["container"]["pid"]: t for t in _host(ct, "audit")["targets"]}
    for cid, pid in pids.items():
        assert audited[pid]["target"]["pid"] == pid
        assert audited[pid]["container"]["engine"] == found[pid]["engine"]
        checks = {f["check"]: f["result"] for f in audited[pid]["findings"]}
        assert checks["namespace.pid"] == "PASS", (cid, checks)
    assert audited[sandbox]["container"]["engine"] == "unknown"
    # control: the sandbox shares the host's network namespace, the containers do not
    net = {f["check"]: f["result"] for f in audited[sandbox]["findings"]}["namespace.net"]
    assert net == "FAIL"

    # stats --host: every one, and the pod's cgroup in a row of its own
    st = _host(ct, "stats", "--interval", "0")
    by_pid = {e["pid"]: e for e in st if "container" in e}
    for cid, pid in pids.items():
        assert by_pid[pid]["container"]["engine"] == found[pid]["engine"]
        assert by_pid[pid]["memory"] is not None, by_pid[pid]
    pods = [e for e in st if "pod" in e]
    assert [p["pod"]["uid"] for p in pods] == [pod_uid]
    # the table: the pod's row, its container indented below it
    table = ct.capsa("stats", "--host", "--interval", "0", check=True).stdout.splitlines()
    at = [i for i, ln in enumerate(table) if ln.startswith(f"pod/{pod_uid[:8]} ")]
    assert at and table[at[0] + 1].startswith(f"  kubernetes/{kube.id} "), table


def test_cri_o_conmon_names_and_pod(ct, cri_o):
    """A container under conmon without podman's exit command is CRI-O's: conmon's -c
    and -n name it, the bundle's CRI-O annotations its pod. Its pod UID comes with no
    kubepods cgroup: stats --host shows no pod row for it and no indent."""
    pod_uid = str(uuid.uuid4())
    b = ct.bundle(args=SLEEP)
    b.config["annotations"] = crio_annotations(pod_uid)
    b.write()
    conmon = cri_o(b, "k8s_web_shop-1")
    pid = ct.state(b.id)["pid"]
    assert _ppid(pid) == conmon  # the stand-in is the init's parent, as conmon is
    c = {c["pid"]: c for c in _host(ct, "list")}[pid]
    # -n wins over the annotation's container name, as conmon is given the CRI's name
    assert (c["engine"], c["id"], c["name"], c["runtime"]) == \
        ("cri-o", b.id, "k8s_web_shop-1", "capsa"), c
    assert {k: c["pod"][k] for k in ("uid", "name", "namespace", "cgroup")} == \
        {"uid": pod_uid, "name": "shop-1", "namespace": "obs-ns", "cgroup": None}, c
    table = ct.capsa("stats", "--host", "--interval", "0", check=True).stdout.splitlines()
    row = [ln for ln in table if ln.lstrip().startswith(f"cri-o/{b.id} ")]
    assert row and row[0].startswith(f"cri-o/{b.id} "), table
    assert not [ln for ln in table if ln.startswith(f"pod/{pod_uid[:8]}")], table


def test_pod_limits_beside_the_container(ct):
    """A pod cgroup's limits are shown next to its container's own: the container
    has none, the pod has 96 MiB, and the container's effective limit is the pod's."""
    pod_uid = str(uuid.uuid4())
    cid = ct.new_id()
    b = ct.bundle(args=SLEEP, cid=cid)
    pod_path = f"{CGROUP_PARENT}/kubepods/pod{pod_uid}"
    b.config["linux"]["cgroupsPath"] = f"{pod_path}/{cid}"
    b.write()
    ct.create(b)
    # capsa created the pod cgroup (below this test's parent): give it a limit
    pid = ct.state(cid)["pid"]
    with open(f"/proc/{pid}/cgroup") as f:
        mem = next(l.split(":", 2)[2].strip() for l in f if ":memory:" in l)
    pod_dir = "/sys/fs/cgroup/memory" + mem.rsplit("/", 1)[0]
    if not os.path.exists(os.path.join(pod_dir, "memory.limit_in_bytes")):
        pytest.skip("no cgroup v1 memory controller to give the pod a limit")
    with open(os.path.join(pod_dir, "memory.limit_in_bytes"), "w") as f:
        f.write(str(96 * MiB))
    ct.start(cid)
    st = _host(ct, "stats", "--interval", "0")
    row = next(e for e in st if e.get("container", {}).get("pid") == pid)
    pod = next(e for e in st if e.get("pod", {}).get("uid") == pod_uid)
    assert pod["pod"]["qos"] == "guaranteed"  # no qos level in the path
    assert pod["memory"]["limit"] == 96 * MiB
    assert row["memory"]["limit"] == 96 * MiB  # effective: the pod's
    assert row["container"]["pod"]["uid"] == pod_uid
    # the table puts the pod row right before its container
    table = ct.capsa("stats", "--host", "--interval", "0", "--color", "never",
                     check=True).stdout.splitlines()
    i = next(n for n, l in enumerate(table) if l.startswith(f"pod/{pod_uid[:8]}"))
    assert table[i + 1].startswith(f"  kubernetes/{cid}"), table[i:i + 2]


def test_limits_hit_said_in_one_line(ct):
    """Forks refused at the pids limit are told with the number and the limit; a
    container that never hit a limit says nothing (control)."""
    b = ct.running(args=["sh", "-c", "sh -c 'for i in $(seq 20); do sleep 1000 & done' "
                         "2>/dev/null; exec sleep 1000"],
                   tweak=lambda c: resources(c, pids=10))
    control = ct.running(args=SLEEP, tweak=lambda c: resources(c, pids=10))
    pid, cpid = ct.state(b.id)["pid"], ct.state(control.id)["pid"]

    def refused():
        st = {e["pid"]: e for e in _host(ct, "stats", "--interval", "0") if "container" in e}
        return st if st[pid]["pids"]["max_events"] > 0 and st[pid]["pids"]["current"] >= 9 \
            else None
    st = wait_for(refused, timeout=20, what="refused forks")
    n = st[pid]["pids"]["max_events"]
    assert f"fork refused {n} time{'s' if n > 1 else ''} at its pids limit (10): " \
        "refused by pids.max" in st[pid]["warnings"], st[pid]["warnings"]
    assert not [w for w in st[cpid]["warnings"] if "refused" in w or "OOM" in w]


def test_crun_container_named(ct, others):
    crun = others("crun", "crun")
    b = ct.bundle(args=SLEEP)
    b.config["ociVersion"] = "1.0.2"  # Debian 12's crun knows no later one
    b.write()
    rc, msg = crun.run(b, check=False)
    if rc != 0 and "hybrid mode not supported" in msg:
        pytest.skip(f"crun cannot run containers on this host: {msg}")
    assert rc == 0, msg
    pid = crun.state(b.id)["pid"]
    found = {c["pid"]: c for c in _host(ct, "list")}
    assert (found[pid]["engine"], found[pid]["id"], found[pid]["runtime"]) == \
        ("crun", b.id, "crun")
