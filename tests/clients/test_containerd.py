"""containerd 1.6 (io.containerd.runc.v2 shim) driving capsa: `ctr run --runc-binary`."""
import json
import os
import subprocess
import time

from conftest import CAPSA, CG_PARENT, CG_ROOT, CTR_IMAGE


def _status(ctrd, cid):
    for line in ctrd("task", "ls").stdout.splitlines()[1:]:
        f = line.split()
        if f and f[0] == cid:
            return f[2]
    return None


def _wait_status(ctrd, cid, want, timeout=10):
    deadline = time.time() + timeout
    while True:
        st = _status(ctrd, cid)
        if st == want:
            return
        assert time.time() < deadline, f"{cid}: status {st}, wanted {want}"
        time.sleep(0.1)


def _cleanup(ctrd, cid):
    ctrd("task", "kill", "-s", "SIGKILL", cid, check=False)
    for _ in range(50):
        if ctrd("task", "delete", cid, check=False).returncode == 0 or \
                _status(ctrd, cid) is None:
            break
        time.sleep(0.1)
    ctrd("container", "delete", cid, check=False)


def _start(ctrd, tag, *cmd):
    cid = ctrd.id(tag)
    ctrd(*ctrd.run_args(cid), "-d", CTR_IMAGE, cid, *(cmd or ("sleep", "60")))
    _wait_status(ctrd, cid, "RUNNING")
    return cid


def test_run_rm(containerd):
    cid = containerd.id("rm")
    p = containerd(*containerd.run_args(cid), "--rm", CTR_IMAGE, cid, "echo", "hi")
    assert p.stdout == "hi\n"
    assert containerd("container", "info", cid, check=False).returncode != 0


def test_run_exit_code(containerd):
    cid = containerd.id("exit")
    p = containerd(*containerd.run_args(cid), "--rm", CTR_IMAGE, cid, "sh", "-c", "exit 9",
                   check=False)
    assert p.returncode == 9


def test_task_exec(containerd):
    cid = _start(containerd, "exec")
    try:
        p = containerd("task", "exec", "--exec-id", "e1", cid, "sh", "-c",
                       "echo from-exec; cat /proc/1/cmdline | tr '\\0' ' '")
        assert p.stdout.split("\n")[:2] == ["from-exec", "sleep 60 "]
        p = containerd("task", "exec", "--exec-id", "e2", cid, "sh", "-c", "exit 6",
                       check=False)
        assert p.returncode == 6
        ps = containerd("task", "ps", cid)
        assert len(ps.stdout.splitlines()) >= 2
    finally:
        _cleanup(containerd, cid)


def test_task_kill(containerd):
    cid = _start(containerd, "kill", "sh", "-c",
                 "trap 'exit 12' TERM; while :; do sleep 0.1; done")
    try:
        time.sleep(0.3)
        containerd("task", "kill", cid)   # SIGTERM
        _wait_status(containerd, cid, "STOPPED")
        p = containerd("task", "delete", cid)
        assert "12" in p.stdout or p.returncode == 0
    finally:
        _cleanup(containerd, cid)


def test_task_pause_resume(containerd):
    cid = _start(containerd, "pause")
    try:
        containerd("task", "pause", cid)
        _wait_status(containerd, cid, "PAUSED")
        with open(os.path.join(CG_ROOT, "freezer", CG_PARENT.lstrip("/"), cid,
                               "freezer.state")) as f:
            assert f.read().strip() == "FROZEN"
        containerd("task", "resume", cid)
        _wait_status(containerd, cid, "RUNNING")
        p = containerd("task", "exec", "--exec-id", "e1", cid, "echo", "alive")
        assert p.stdout == "alive\n"
    finally:
        _cleanup(containerd, cid)


def test_task_metrics(containerd):
    cid = containerd.id("metrics")
    containerd(*containerd.run_args(cid), "-d", "--memory-limit", str(64 << 20),
               CTR_IMAGE, cid, "sleep", "60")
    try:
        _wait_status(containerd, cid, "RUNNING")
        p = containerd("task", "metrics", "--format", "json", cid)
        m = json.loads(p.stdout)
        assert m["memory"]["usage"]["limit"] == 64 << 20, p.stdout[:500]
        assert m["pids"]["current"] >= 1
    finally:
        _cleanup(containerd, cid)


def test_run_t_terminal(containerd):
    cid = containerd.id("tty")
    argv = containerd.argv(*containerd.run_args(cid), "--rm", "-t", CTR_IMAGE, cid,
                           "sh", "-c", "tty; echo ok")
    cmd = " ".join("'" + a + "'" for a in argv)
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    out = p.stdout.replace("\r", "")
    assert "/dev/pts/0\n" in out and "ok\n" in out, out + p.stderr
    assert p.returncode == 0
