"""Host-wide discovery against real engines (issue 22): `capsa list/audit/stats --host`.

At once, the session runs:
  - podman 4.3 (netns none, cgroupfs, --cgroup-parent, private storage: conftest.py)
    with runtime runc, capsa ($CAPSA), and one in a pod (--infra=false); (crun 1.8
    refuses hybrid cgroups, so podman cannot run it here);
  - containerd 1.6 in its private mount namespace (conftest.py): two `ctr run -d`
    with the default shim (io.containerd.runc.v2), namespace "default": one with runc,
    one with --runc-binary $CAPSA and the annotations containerd's CRI gives a pod's
    container (container and pod names, pod namespace and UID);
  - a private dockerd (dockerd.py) with `--runtime runc` and `--runtime capsa`, when
    docker.io is installed;
  - a plain `runc run -d` and a `capsa run -d` under their own --root in /run.
Every container's cgroup lies under a parent of this session (never an engine's usual
`docker/`, `k8s.io/` or `system.slice` path), and containerd's and dockerd's /run are
private: discovery must identify them from the processes (conmon, the shim) and the
state each engine leaves, without any engine's socket.

Then `capsa list --host`, `capsa audit --host` and `capsa stats --host` (JSON, and
`--format openmetrics`) must list each with its engine (podman / containerd with its
namespace / docker / runc / capsa), the id that engine uses and its init pid; the audit
has findings for each: ctr's containers (no seccomp profile unless asked) fail the
seccomp check where podman's and Docker's pass it, and one podman container run with
--cap-add SYS_ADMIN (the control) is the only one whose CAP_SYS_ADMIN check fails. The
podman and Docker containers carry their engine's name, the annotated one its CRI names. Everything is stopped at the
end and the fixtures check for leftovers.

    CAPSA=/work/main/build/capsa python3 -m pytest -q -p no:cacheprovider \
        tests/clients/test_observe_clients.py
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import CAPSA, CG_PARENT, CTR_IMAGE, IMAGE, PID, _run
from dockerd import IMAGE as DOCKER_IMAGE, Dockerd, build_image_tar, have_docker

RUNC = shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin")
ROOT_RUNC = f"/run/capsa-obs-{PID}-runc"
ROOT_CAPSA = f"/run/capsa-obs-{PID}-capsa"
POD_UID = f"0b5e7c1e-0000-4000-8000-{PID:012d}"
SKIPPED = []     # engines not available: told once each


def _capsa(*args, check=True, timeout=60):
    return _run([CAPSA, *[str(a) for a in args]], check=check, timeout=timeout)


def _bundle(base, rootfs, name, cmd):
    """An OCI bundle on the shared read-only busybox rootfs."""
    b = os.path.join(base, name)
    os.makedirs(b)
    _capsa("spec", "--bundle", b)
    with open(os.path.join(b, "config.json")) as f:
        spec = json.load(f)
    spec["root"] = {"path": rootfs, "readonly": True}
    spec["process"]["terminal"] = False
    spec["process"]["args"] = cmd
    spec["linux"]["cgroupsPath"] = f"{CG_PARENT}/{name}"
    spec["hostname"] = name
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(spec, f)
    return b


def _detach(argv, bundle):
    """`run -d`: the container keeps its stdio, so it goes to a file, not a pipe."""
    log = os.path.join(bundle, "stdio.log")
    with open(log, "w") as f:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f, timeout=30)
    if p.returncode:
        with open(log) as f:
            raise AssertionError(f"{' '.join(argv)} -> {p.returncode}: {f.read()}")


def _fixture(request, name):
    """A conftest fixture, or None (its skip reason noted) when it skips."""
    try:
        return request.getfixturevalue(name)
    except pytest.skip.Exception as e:
        SKIPPED.append(f"{name}: {e.msg}")
        return None


def _wait(pred, what, timeout=30):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.1)


def _ctr_pid(ctrd, cid):
    for line in ctrd("task", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid and f[2] == "RUNNING":
            return int(f[1])
    return None


@pytest.fixture(scope="module")
def zoo(request, session_tmp, rootfs_tar):
    """Start every engine's container; yields {key: expected}. Each expected is a dict
    with engine, id, pid and (optionally) runtime, namespace, cap_sys_admin."""
    want = {}
    stops = []
    base = tempfile.mkdtemp(prefix="obs-", dir=session_tmp)
    try:
        # podman: runtime runc and runtime capsa (+ the control with CAP_SYS_ADMIN)
        pm = ctrd = None
        if shutil.which("podman") is None:
            SKIPPED.append("podman: not installed (scripts/deps.sh)")
        else:
            pm = _fixture(request, "podman")
        if pm:
            runtimes = [("podman-capsa", CAPSA, "capsa", ()),
                        ("podman-capsa-sysadmin", CAPSA, "capsa", ("--cap-add", "SYS_ADMIN"))]
            if RUNC:
                runtimes.insert(0, ("podman-runc", RUNC, "runc", ()))
            # a pod without infra container (no catatonit here): podman 4.3 gives the
            # member no pod cgroup, --cgroup-parent still counts
            pod = pm.name("pod")
            stops.append(lambda: _run(["podman", "pod", "rm", "-f", "-t", "0", pod],
                                      check=False, env=pm.env, cwd=pm.cwd))
            _run(["podman", "pod", "create", "--infra=false", "--cgroup-parent", CG_PARENT,
                  "--name", pod], env=pm.env, cwd=pm.cwd)
            runtimes.append(("podman-pod", CAPSA, "capsa", ("--pod", pod)))
            for key, rt, rtname, extra in runtimes:
                n = pm.name(key)
                stops.append(lambda n=n, rt=rt: _run(
                    ["podman", "--runtime", rt, "rm", "-f", "-t", "0", n], check=False,
                    env=pm.env, cwd=pm.cwd))
                _run(["podman", "--runtime", rt, "run", "-d", "--cgroup-parent", CG_PARENT,
                      "--name", n, *extra,
                      IMAGE, "sleep", "300"], env=pm.env, cwd=pm.cwd)
                cid = pm.inspect(n, "{{.Id}}")
                pid = int(pm.inspect(n, "{{.State.Pid}}"))
                want[key] = dict(engine="podman", id=cid, pid=pid, runtime=rtname, name=n,
                                 cap_sys_admin="SYS_ADMIN" in extra, seccomp="PASS",
                                 cgroup=f"{CG_PARENT}/libpod-{cid}")

        # containerd: ctr run -d with the default runc shim
        if shutil.which("containerd") is None or shutil.which("ctr") is None or not RUNC:
            SKIPPED.append("containerd: containerd, ctr or runc not installed (scripts/deps.sh)")
        else:
            ctrd = _fixture(request, "containerd")
        if ctrd:
            # the second carries the annotations containerd's CRI gives a pod's container
            cri = {"io.kubernetes.cri.container-name": "web",
                   "io.kubernetes.cri.sandbox-name": f"pod-{PID}",
                   "io.kubernetes.cri.sandbox-namespace": "obs-ns",
                   "io.kubernetes.cri.sandbox-uid": POD_UID}
            ann = [a for k, v in cri.items() for a in ("--annotation", f"{k}={v}")]
            for key, extra, rtname in (("containerd", (), "runc"),
                                       ("containerd-capsa", ("--runc-binary", CAPSA, *ann),
                                        "capsa")):
                cid = ctrd.id(key)
                stops.append(lambda cid=cid: (
                    ctrd("task", "kill", "-s", "SIGKILL", cid, check=False),
                    _wait(lambda: _ctr_pid(ctrd, cid) is None, "ctr task dead"),
                    ctrd("task", "delete", cid, check=False),
                    ctrd("container", "delete", cid, check=False)))
                ctrd("run", "-d", *extra, "--cgroup", f"{CG_PARENT}/{cid}", CTR_IMAGE, cid,
                     "sleep", "300")
                pid = _wait(lambda: _ctr_pid(ctrd, cid), f"ctr task {cid} running")
                # ctr run gives no seccomp profile unless asked (--seccomp): a FAIL
                want[key] = dict(engine="containerd", id=cid, pid=pid, runtime=rtname,
                                 namespace="default", seccomp="FAIL")
                if extra:
                    want[key].update(name="web", pod={"uid": POD_UID, "name": f"pod-{PID}",
                                                      "namespace": "obs-ns"})

        # docker: a private dockerd, Docker's own runc
        why = have_docker()
        if why:
            SKIPPED.append(f"docker: {why}")
        elif not RUNC:
            SKIPPED.append("docker: runc not installed")
        else:
            dbase = tempfile.mkdtemp(prefix="capsa-docker-obs-")
            d = Dockerd(dbase, "obs", runtimes={"capsa": CAPSA})
            left = []

            def stop_docker():
                left.extend(d.stop())
                assert not left, f"dockerd left behind: {left}"
            stops.append(stop_docker)
            d.start()
            d.import_image(build_image_tar(os.path.join(dbase, "image.tar")))
            for rt in ("runc", "capsa"):
                n = f"obs-{PID}-{rt}"
                d.docker("run", "-d", "--runtime", rt, "--network", "none", "--pull", "never",
                         "--name", n, DOCKER_IMAGE, "sleep", "300")
                cid = d.inspect(n, "{{.Id}}")
                pid = int(d.inspect(n, "{{.State.Pid}}"))
                want["docker" if rt == "runc" else "docker-capsa"] = dict(
                    engine="docker", id=cid, pid=pid, runtime=rt, namespace=d.ns, name=n,
                    seccomp="PASS")

        rootfs = rootfs_tar[0]
        # plain runc
        if RUNC:
            cid = f"obs-{PID}-runc"
            b = _bundle(base, rootfs, cid, ["sleep", "300"])
            stops.append(lambda cid=cid: (_run([RUNC, "--root", ROOT_RUNC, "delete", "-f", cid],
                                       check=False),
                                  shutil.rmtree(ROOT_RUNC, ignore_errors=True)))
            _detach([RUNC, "--root", ROOT_RUNC, "run", "-d", "--bundle", b, cid], b)
            with open(os.path.join(ROOT_RUNC, cid, "state.json")) as f:
                pid = json.load(f)["init_process_pid"]
            want["runc"] = dict(engine="runc", id=cid, pid=pid, runtime="runc")
        else:
            SKIPPED.append("runc: not installed")

        # capsa itself
        cid = f"obs-{PID}-capsa"
        b = _bundle(base, rootfs, cid, ["sleep", "300"])
        stops.append(lambda cid=cid: (_capsa("--root", ROOT_CAPSA, "delete", "-f", cid,
                                             check=False),
                              shutil.rmtree(ROOT_CAPSA, ignore_errors=True)))
        _detach([CAPSA, "--root", ROOT_CAPSA, "run", "-d", "--bundle", b, cid], b)
        st = json.loads(_capsa("--root", ROOT_CAPSA, "state", cid).stdout)
        want["capsa"] = dict(engine="capsa", id=cid, pid=st["pid"], runtime="capsa")

        for why in SKIPPED:
            print(f"test_observe_clients: skipped an engine: {why}")
        print("test_observe_clients: " + ", ".join(f"{k} pid {w['pid']}" for k, w in want.items()))
        yield want
    finally:
        errs = []
        for stop in reversed(stops):
            try:
                stop()
            except Exception as e:   # stop the rest, then tell
                errs.append(repr(e))
        shutil.rmtree(base, ignore_errors=True)
        for r in (ROOT_RUNC, ROOT_CAPSA):
            assert not os.path.exists(r) or not os.listdir(r), f"state left in {r}"
        assert not errs, f"stopping the containers failed: {errs}"


def _by_pid(entries, get):
    out = {}
    for e in entries:
        c = get(e)
        if c:
            out[c["pid"]] = (c, e)
    return out


def _check_ct(key, w, c):
    assert c["engine"] == w["engine"], f"{key}: engine {c['engine']}, wanted {w['engine']}"
    assert c["id"] == w["id"], f"{key}: id {c['id']}, wanted {w['id']}"
    if "runtime" in w:
        assert c["runtime"] == w["runtime"], f"{key}: runtime {c['runtime']}"
    if "namespace" in w:
        assert c["namespace"] == w["namespace"], f"{key}: namespace {c['namespace']}"
    if "name" in w:
        assert c["name"] == w["name"], f"{key}: name {c['name']}, wanted {w['name']}"
    if "cgroup" in w:
        assert c["cgroup"] == w["cgroup"], f"{key}: cgroup {c['cgroup']}"
    pod = c["pod"] and {k: c["pod"].get(k) for k in ("uid", "name", "namespace")}
    assert pod == w.get("pod"), f"{key}: pod {c['pod']}, wanted {w.get('pod')}"
    assert c["own_pid_ns"] and c["own_mount_ns"], f"{key}: {c}"


def _dump(entries):
    return json.dumps(entries, indent=1)[:6000]


@pytest.mark.parametrize("engine", ["podman", "containerd", "docker", "runc", "capsa"])
def test_engine_started(zoo, engine):
    """One line per engine that could not be tried; the others are in every test."""
    why = [w for w in SKIPPED if w.startswith(engine + ":")]
    if why:
        pytest.skip(why[0])
    assert any(w["engine"] == engine for w in zoo.values()), f"no {engine} container"


def test_list_host(zoo):
    out = json.loads(_capsa("list", "--host", "--format", "json").stdout)
    got = _by_pid(out, lambda e: e)
    for key, w in zoo.items():
        assert w["pid"] in got, f"{key} (pid {w['pid']}) not listed:\n{_dump(out)}"
        _check_ct(key, w, got[w["pid"]][0])
    # and the table names each by engine and short id
    table = _capsa("list", "--host").stdout
    for key, w in zoo.items():
        short = w["id"][:12] if len(w["id"]) == 64 else w["id"]
        row = [line.split() for line in table.splitlines()
               if line.split()[:3] == [w["engine"], short, str(w["pid"])]]
        assert row, f"{key} not in table:\n{table}"
        assert row[0][5] == w.get("name", "-"), f"{key}: NAME column {row[0]}"


def test_audit_host(zoo):
    p = _capsa("audit", "--host", "--format", "json", check=False)
    assert p.returncode in (0, 1, 2, 3), p.stderr
    out = json.loads(p.stdout)
    got = _by_pid(out["targets"], lambda e: e.get("container"))
    for key, w in zoo.items():
        assert w["pid"] in got, f"{key} (pid {w['pid']}) not audited"
        c, t = got[w["pid"]]
        _check_ct(key, w, c)
        res = {f["check"]: f["result"] for f in t["findings"]}
        assert res.get("namespace.pid") == "PASS", f"{key}: {res}"
        assert res.get("namespace.mnt") == "PASS", f"{key}: {res}"
        if "seccomp" in w:
            assert res.get("seccomp") == w["seccomp"], f"{key}: seccomp {res.get('seccomp')}"
        if "cap_sys_admin" in w:
            # the control: only the container given CAP_SYS_ADMIN fails that check
            failed = res.get("cap.CAP_SYS_ADMIN") == "FAIL"
            assert failed == w["cap_sys_admin"], f"{key}: CAP_SYS_ADMIN {res}"


def test_audit_host_text(zoo):
    text = _capsa("audit", "--host", check=False).stdout
    for key, w in zoo.items():
        short = w["id"][:12] if len(w["id"]) == 64 else w["id"]
        name = f' "{w["name"]}"' if "name" in w else ""
        head = f'{w["engine"]} {short}{name} (pid {w["pid"]}, sleep, runtime {w["runtime"]})'
        assert head in text.splitlines(), f"{key}: no line {head!r}"


def test_stats_host(zoo):
    out = json.loads(_capsa("stats", "--host", "--interval", "0", "--format", "json").stdout)
    rows = out if isinstance(out, list) else out.get("containers", out)
    got = _by_pid(rows, lambda e: e.get("container"))
    for key, w in zoo.items():
        assert w["pid"] in got, f"{key} (pid {w['pid']}) not in stats:\n{_dump(rows)}"
        c, row = got[w["pid"]]
        _check_ct(key, w, c)
    # The table: a container is indented under a pod/UID row only when it lives in a
    # Kubernetes pod cgroup; the annotated one has a pod UID but no such cgroup.
    lines = _capsa("stats", "--host", "--interval", "0").stdout.splitlines()
    assert not [ln for ln in lines if ln.startswith("pod/")], "\n".join(lines)
    for key, w in zoo.items():
        short = w["id"][:12] if len(w["id"]) == 64 else w["id"]
        row = [ln for ln in lines if ln.lstrip().startswith(f'{w["engine"]}/{short}')]
        assert row and row[0].startswith(f'{w["engine"]}/{short}'), \
            f"{key}: row {row} not at the start of a line:\n" + "\n".join(lines)


def test_stats_openmetrics(zoo):
    text = _capsa("stats", "--host", "--format", "openmetrics").stdout
    assert text.rstrip().endswith("# EOF")
    for key, w in zoo.items():
        lab = f'id="{w["id"]}",engine="{w["engine"]}",scope="container"'
        info = [ln for ln in text.splitlines()
                if ln.startswith("capsa_container_info{" + lab) and f'pid="{w["pid"]}"' in ln]
        assert info, f"{key}: no capsa_container_info{{{lab}}}"
        usage = [ln for ln in text.splitlines()
                 if ln.startswith("container_cpu_usage_seconds_total{" + lab)]
        assert usage, f"{key}: no container_cpu_usage_seconds_total{{{lab}}}"
