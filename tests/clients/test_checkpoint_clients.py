"""Engines driving capsa checkpoint/restore (issue 19, docs/checkpoint.md):
podman (`podman container checkpoint/restore`, also --export/--import) and
containerd's runc shim (`ctr task checkpoint`, `ctr c checkpoint`/`ctr c restore`),
each compared with runc 1.1.5 driving the same CRIU where runc is installed.

Engines look for `criu` on PATH (podman asks its version through go-criu before it
calls the runtime; runc runs it): the tests put the directory of the criu capsa
uses first on PATH. Without a working CRIU they skip with one line."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import CAPSA, CG_PARENT, CTR_IMAGE, IMAGE, _run

RUNC = shutil.which("runc")
# The counter lives in the shell's memory (i): after a restore it continues from
# where it was, after a restart it would begin again at 1.
COUNTER = "i=0; while :; do i=$((i+1)); echo $i > /tmp/c; sleep 0.1; done"


def _criu_dir():
    """The directory of the criu binary capsa uses (found as capsa finds it)."""
    for p in (os.environ.get("CAPSA_CRIU"),
              os.path.join(os.path.dirname(CAPSA), "criu", "sbin", "criu"),
              shutil.which("criu")):
        if p and os.access(p, os.X_OK):
            return os.path.dirname(os.path.abspath(p))
    return None


@pytest.fixture(scope="module")
def criu_path():
    """PATH with capsa's criu first; skip when capsa has no working CRIU."""
    p = subprocess.run([CAPSA, "features"], capture_output=True, text=True, timeout=30)
    ann = json.loads(p.stdout).get("annotations", {}) if p.returncode == 0 else {}
    if ann.get("org.opencontainers.runc.checkpoint.enabled") != "true" or not _criu_dir():
        pytest.skip("SKIPPED: no working CRIU for capsa: " +
                    ann.get("io.capsa.criu", "capsa features failed"))
    return _criu_dir() + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")


def _runtimes():
    return [CAPSA] + ([RUNC] if RUNC and os.path.realpath(RUNC) != os.path.realpath(CAPSA)
                      else [])


def _wait(what, fn, timeout=20):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# --- podman ---------------------------------------------------------------------

def _pm(podman, rt, criu_path, *args, check=True, timeout=60):
    env = dict(podman.env, PATH=criu_path)
    return _run(["podman", "--runtime", rt] + [str(a) for a in args], check=check,
                timeout=timeout, env=env, cwd=podman.cwd)


def _pm_counter(podman, rt, criu_path, name):
    p = _pm(podman, rt, criu_path, "exec", name, "cat", "/tmp/c", check=False)
    return int(p.stdout.strip()) if p.returncode == 0 and p.stdout.strip() else 0


def _pm_roundtrip(podman, rt, criu_path, tmp):
    """podman run, checkpoint, restore, then --export and --import (as another
    container): the counter continues each time. Returns what a comparison needs."""
    pm = lambda *a, **kw: _pm(podman, rt, criu_path, *a, **kw)   # noqa: E731
    n = podman.name("ck")
    pm("run", "-d", "--cgroup-parent", CG_PARENT, "--memory", "64m", "--name", n, IMAGE,
       "sh", "-c", COUNTER)
    try:
        _wait("counter > 5", lambda: _pm_counter(podman, rt, criu_path, n) > 5)
        cid = podman.inspect(n, "{{.Id}}")
        pm("container", "checkpoint", n)
        assert podman.inspect(n, "{{.State.Status}}") == "exited"
        assert podman.inspect(n, "{{.State.Checkpointed}}") == "true"
        before = int(open(os.path.join(podman.base, "graph", "overlay", podman.inspect(
            n, "{{.GraphDriver.Data.UpperDir}}").split("/overlay/")[1].split("/")[0],
            "diff", "tmp", "c")).read())
        pm("container", "restore", n)
        assert podman.inspect(n, "{{.State.Status}}") == "running"
        assert podman.inspect(n, "{{.State.Restored}}") == "true"
        after = _pm_counter(podman, rt, criu_path, n)
        assert after >= before, (after, before)     # from memory, not from 1 again
        _wait("counter to advance", lambda: _pm_counter(podman, rt, criu_path, n) > after)
        # the memory limit as before: on the host, and as the container sees it
        limit = _host_limit(int(podman.inspect(n, "{{.State.Pid}}")))
        inside = pm("exec", n, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                    check=False).stdout.strip()
        top = pm("top", n, "args").stdout
        # export, remove, import as a new container
        tar = os.path.join(tmp, f"export-{os.path.basename(rt)}.tar.gz")
        pm("container", "checkpoint", "--export", tar, n)
        before2 = int(pm("logs", n, check=False).stdout.strip() or 0) or after
        pm("rm", "-f", "-t", "0", n)
        n2 = podman.name("imp")
        pm("container", "restore", "--import", tar, "--name", n2)
        try:
            assert podman.inspect(n2, "{{.State.Status}}") == "running"
            c2 = _pm_counter(podman, rt, criu_path, n2)
            assert c2 > after and c2 >= before2, (c2, after)
            _wait("imported counter to advance",
                  lambda: _pm_counter(podman, rt, criu_path, n2) > c2)
            cid2 = podman.inspect(n2, "{{.Id}}")
        finally:
            pm("rm", "-f", "-t", "0", n2)
        return {"limit": limit, "inside": inside, "top": "sh -c" in top,
                "new_id": cid2 != cid}
    finally:
        pm("rm", "-f", "-t", "0", n, check=False)


def _host_limit(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "memory" in ctrls.split(","):
                with open(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes") as g:
                    return g.read().strip()
            if ctrls == "" and os.path.exists(f"/sys/fs/cgroup/memory.max"):
                with open(f"/sys/fs/cgroup{path}/memory.max") as g:
                    return g.read().strip()
    return None


def _leftovers(cid_prefix):
    """capsa/runc state dirs, processes of our containers."""
    left = []
    for root in ("/run/capsa", "/run/runc"):
        if os.path.isdir(root):
            left += [os.path.join(root, x) for x in os.listdir(root)
                     if x.startswith(cid_prefix)]
    return left


def test_podman_checkpoint_restore_export_import(podman, criu_path, tmp_path):
    """podman 4.3 accepts capsa as a checkpointing runtime (it runs `RUNTIME
    checkpoint --help` and asks criu its version), and its round trips work."""
    results = {}
    for rt in _runtimes():
        results[os.path.basename(rt)] = _pm_roundtrip(podman, rt, criu_path, str(tmp_path))
    ours = results[os.path.basename(CAPSA)]
    assert ours["limit"] == str(64 << 20) and ours["top"] and ours["new_id"], ours
    # inside, /sys/fs/cgroup/memory is the container's own cgroup after the restore
    assert ours["inside"] == ours["limit"], ours
    if len(results) == 2:
        theirs = results["runc"]
        assert {k: v for k, v in ours.items() if k != "inside"} == \
            {k: v for k, v in theirs.items() if k != "inside"}, results
        print("podman: capsa", ours, "runc", theirs)
    ids = [podman.inspect(n, "{{.Id}}") for n in podman.names
           if podman("container", "exists", n, check=False).returncode == 0]
    assert not ids, f"podman containers left: {ids}"
    assert not [d for d in _leftovers("") if os.path.basename(d) in ids]


def test_podman_refuses_without_criu_on_path(podman, criu_path):
    """Control: podman's own check fails when it cannot find criu, whatever the
    runtime says; with capsa's criu on PATH the same checkpoint passes (above)."""
    n = podman.name("nocriu")
    podman.run("-d", "--name", n, IMAGE, "sleep", "60")
    try:
        env = dict(podman.env, PATH="/nonexistent")
        p = subprocess.run(["/usr/bin/podman", "--runtime", CAPSA, "container", "checkpoint",
                            n], capture_output=True, text=True, env=env, cwd=podman.cwd,
                           timeout=60)
        assert p.returncode != 0 and "CRIU" in p.stderr, p.stderr
        assert podman.inspect(n, "{{.State.Status}}") == "running"
    finally:
        podman("rm", "-f", "-t", "0", n)


# --- containerd (ctr, io.containerd.runc.v2 shim) --------------------------------

def _holder():
    """A process in a network namespace of its own: the container joins it by path
    (`ctr run --with-ns network:PATH`), as a CRI sandbox's containers do."""
    p = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up; echo ok; exec sleep 1000"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ok\n"
    return p


def _ctr_counter(ctrd, cid, n=[0]):
    n[0] += 1
    p = ctrd("task", "exec", "--exec-id", f"ck{n[0]}", cid, "cat", "/tmp/c", check=False)
    return int(p.stdout.strip()) if p.returncode == 0 and p.stdout.strip() else 0


def _ctr_status(ctrd, cid):
    for line in ctrd("task", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return f[1], f[2]
    return None, None


def _ctr_gone(ctrd, cid):
    ctrd("task", "kill", "-s", "SIGKILL", cid, check=False)
    _wait(f"{cid} stopped", lambda: _ctr_status(ctrd, cid)[1] in (None, "STOPPED"))
    ctrd("task", "delete", cid, check=False)
    ctrd("container", "delete", cid, check=False)


def _ctr_roundtrip(ctrd, rt, tmp):
    cid = ctrd.id("ck")
    ref = f"localhost/capsa-checkpoint/{cid}:1"
    binary = rt
    if rt != CAPSA:
        # runc runs `criu` from PATH, the shim's (containerd's): a wrapper gives it
        # the same criu capsa uses (capsa finds it next to itself)
        binary = os.path.join(tmp, "runc-with-criu")
        with open(binary, "w") as f:
            f.write(f'#!/bin/sh\nPATH="{_criu_dir()}:$PATH" exec "{rt}" "$@"\n')
        os.chmod(binary, 0o755)
    holder = _holder()
    netns = f"/proc/{holder.pid}/ns/net"
    try:
        ctrd("run", "--runc-binary", binary, "--cgroup", f"{CG_PARENT}/{cid}",
             "--with-ns", f"network:{netns}", "-d", CTR_IMAGE, cid, "sh", "-c", COUNTER)
        _wait("counter > 5", lambda: _ctr_counter(ctrd, cid) > 5)
        # ctr task checkpoint: raw CRIU images into a directory; the task keeps running
        img = os.path.join(tmp, f"img-{cid}")
        ctrd("task", "checkpoint", "--image-path", img, cid)
        assert os.path.exists(os.path.join(img, "inventory.img"))
        assert _ctr_status(ctrd, cid)[1] == "RUNNING"
        c0 = _ctr_counter(ctrd, cid)
        _wait("counter to advance after task checkpoint", lambda: _ctr_counter(ctrd, cid) > c0)
        # ctr c checkpoint (an image with the task and the rw layer), then gone,
        # then ctr c restore --live
        # read before the dump: the dumped counter is at least this (read after it,
        # the running task could tick on past what the image holds)
        before = _ctr_counter(ctrd, cid)
        ctrd("container", "checkpoint", "--task", "--rw", cid, ref)
        _ctr_gone(ctrd, cid)
        ctrd("container", "restore", "--live", "--rw", cid, ref)
        pid, status = _ctr_status(ctrd, cid)
        after = _ctr_counter(ctrd, cid)
        continued = after >= before and after > 5    # from memory, not from 1
        _wait("restored counter to advance", lambda: _ctr_counter(ctrd, cid) > after)
        same_netns = os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(netns).st_ino
        # the shim drove this runtime: its state answers `RUNTIME state`
        root = os.path.join(ctrd.base, "run", "containerd", "runc", "default")
        st = subprocess.run([rt, "--root", root, "state", cid], capture_output=True, text=True,
                            timeout=30)
        by_rt = st.returncode == 0 and json.loads(st.stdout)["pid"] == int(pid)
        _ctr_gone(ctrd, cid)
        ctrd("images", "rm", ref, check=False)
        return {"status": status, "continued": continued, "netns": same_netns, "by_rt": by_rt}
    finally:
        _ctr_gone(ctrd, cid)
        holder.kill()
        holder.wait()


def test_containerd_checkpoint_restore(containerd, criu_path, tmp_path):
    results = {}
    for rt in _runtimes():
        results[os.path.basename(rt)] = _ctr_roundtrip(containerd, rt, str(tmp_path))
    ours = results[os.path.basename(CAPSA)]
    assert ours == {"status": "RUNNING", "continued": True, "netns": True, "by_rt": True}, \
        results
    if len(results) == 2:
        print("containerd: capsa", ours, "runc", results["runc"])
        assert results["runc"] == ours, results
    root = os.path.join(containerd.base, "run", "containerd", "runc", "default")
    left = [x for x in (os.listdir(root) if os.path.isdir(root) else [])
            if x in containerd.ids]
    assert not left, f"runtime state left: {left}"


# --- Docker (experimental daemon) ------------------------------------------------

def test_docker_checkpoint_start(criu_path, tmp_path):
    """`docker checkpoint create` / `docker start --checkpoint` on a private
    experimental dockerd (tests/clients/dockerd.py), --network none: Docker hands the
    container its sandbox's network namespace by path, and a new one at the restore."""
    from dockerd import Dockerd, build_image_tar, have_docker
    from dockerd import IMAGE as DIMAGE
    why = have_docker()
    if why:
        pytest.skip(why)
    base = tempfile.mkdtemp(prefix="capsa-docker-ck-")
    runtimes = {"capsa": CAPSA}
    if RUNC:
        wrapper = os.path.join(base, "runc-with-criu")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nPATH="{_criu_dir()}:$PATH" exec "{RUNC}" "$@"\n')
        os.chmod(wrapper, 0o755)
        runtimes["runc-criu"] = wrapper     # "runc" is a reserved name
    d = Dockerd(base, "ck", runtimes=runtimes, extra=["--experimental"])
    results = {}
    try:
        d.start()
        d.import_image(build_image_tar(os.path.join(base, "image.tar")))
        for rt in runtimes:
            n = f"ck-{rt}"
            d.docker("run", "-d", "--runtime", rt, "--network", "none", "--name", n,
                     "--pull", "never", DIMAGE, "sh", "-c", COUNTER)

            def count():
                p = d.docker("exec", n, "cat", "/tmp/c", check=False)
                return int(p.stdout.strip()) if p.returncode == 0 and p.stdout.strip() else 0
            _wait("counter > 5", lambda: count() > 5)
            d.docker("checkpoint", "create", n, "ck1")
            assert d.inspect(n, "{{.State.Running}}") == "false"
            p = d.docker("start", "--checkpoint", "ck1", n, check=False)
            if p.returncode and "already exists" in p.stderr:
                # Docker 20.10's own occasional failure to upload the checkpoint into
                # containerd's content store (moby/moby#42900), seen with either runtime
                p = d.docker("start", "--checkpoint", "ck1", n, check=False)
            assert p.returncode == 0, (rt, p.stderr)
            running = d.inspect(n, "{{.State.Running}}") == "true"
            c1 = count()
            _wait("restored counter to advance", lambda: count() > c1)
            pid = int(d.inspect(n, "{{.State.Pid}}"))
            sandbox = d.inspect(n, "{{.NetworkSettings.SandboxKey}}")
            results[rt] = {"running": running, "continued": c1 > 5,
                           "ls": d.docker("checkpoint", "ls", n).stdout.split()[-1],
                           "netns_path": bool(sandbox)}
            with open(f"/proc/{pid}/cgroup") as f:
                assert d.cg_parent in f.read()
            d.docker("rm", "-f", n)
    finally:
        left = d.stop()
    assert not left, f"left behind: {left}"
    ours = results["capsa"]
    assert ours == {"running": True, "continued": True, "ls": "ck1", "netns_path": True}, \
        results
    if "runc-criu" in results:
        print("docker: capsa", ours, "runc", results["runc-criu"])
        assert results["runc-criu"] == ours, results
