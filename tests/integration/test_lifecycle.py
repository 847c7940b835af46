"""Verbs and state transitions (runtime-spec runtime.md), ids, list/state/features."""
import json
import os
import re
import select
import subprocess
import threading
import time

import pytest

from capsatest import CAPSA, capsa, error_lines, pid_alive, set_namespace, wait_for

# A container that exits when the host creates <rootfs>/tmp/go (no long sleeps).
WAIT_GO = ["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.02; done; exit 0"]


def go(b):
    open(os.path.join(b.rootfs, "tmp", "go"), "w").close()


def test_create_start_stop_delete(ct):
    b = ct.bundle(args=WAIT_GO)
    r = ct.create(b)
    assert r.returncode == 0
    st = ct.state(b.id)
    assert st["status"] == "created"
    assert st["id"] == b.id
    pid = st["pid"]
    assert isinstance(pid, int) and pid > 0
    assert pid_alive(pid), "the created container's process must exist"
    # created: the user program has not run yet
    assert "while" not in open(f"/proc/{pid}/cmdline").read().replace("\0", " ")

    ct.start(b.id)
    st = ct.state(b.id)
    assert st["status"] == "running"
    assert st["pid"] == pid
    wait_for(lambda: "/tmp/go" in open(f"/proc/{pid}/cmdline").read().replace("\0", " "),
             what="the user program to be exec'd")

    go(b)
    ct.wait_status(b.id, "stopped")
    assert not pid_alive(pid)

    ct.capsa("delete", b.id, check=True)
    r = ct.capsa("state", b.id)
    assert r.returncode != 0
    assert not os.path.exists(os.path.join(ct.root, b.id))


def test_create_with_nonexistent_root_dir(ct):
    root = os.path.join(ct.tmp, "not", "yet", "there")
    b = ct.bundle()
    ct.capsa("create", "--bundle", b.path, b.id, root=root, check=True)
    assert capsa("state", b.id, root=root, check=True).returncode == 0
    capsa("delete", "--force", b.id, root=root, check=True)
    assert os.listdir(root) == []


def test_start_twice_errors(ct):
    b = ct.running(args=WAIT_GO)
    r = ct.start(b.id, check=False)
    assert r.returncode != 0
    assert ct.status(b.id) == "running"
    go(b)
    ct.wait_status(b.id, "stopped")
    r = ct.start(b.id, check=False)
    assert r.returncode != 0, "start of a stopped container must fail"
    ct.capsa("delete", b.id, check=True)


def test_start_unknown_id_errors(ct):
    r = ct.capsa("start", ct.new_id())
    assert r.returncode != 0
    assert r.stderr.strip()


def test_delete_running_needs_force(ct):
    b = ct.running()
    pid = ct.state(b.id)["pid"]
    r = ct.capsa("delete", b.id)
    assert r.returncode != 0
    assert ct.status(b.id) == "running"
    assert pid_alive(pid)
    ct.capsa("delete", "--force", b.id, check=True)
    wait_for(lambda: not pid_alive(pid), what="container process to die")
    assert ct.capsa("state", b.id).returncode != 0
    assert os.listdir(ct.root) == []


def test_delete_force_created(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    pid = ct.state(b.id)["pid"]
    ct.capsa("delete", "--force", b.id, check=True)
    wait_for(lambda: not pid_alive(pid), what="container process to die")
    assert ct.capsa("state", b.id).returncode != 0


def test_delete_force_is_idempotent(ct):
    b = ct.running()
    ct.capsa("delete", "--force", b.id, check=True)
    r = ct.capsa("delete", "--force", b.id)
    assert r.returncode == 0, f"second delete --force must succeed: {r.stderr}"


def test_kill_stopped_errors(ct):
    b = ct.running(args=["true"])
    ct.wait_status(b.id, "stopped")
    assert ct.capsa("kill", b.id, "KILL").returncode != 0


# The init shell traps TERM (pid 1 of a pid namespace ignores signals it has no
# handler for), prints "ready" once the trap is set, and exits 42 on TERM.
TRAP_TERM = ["sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done"]


def _run_until_ready(ct, args):
    b = ct.bundle(args=args)
    p = ct.popen("run", "--bundle", b.path, b.id)
    ready, _, _ = select.select([p.stdout], [], [], 15)
    assert ready, "container printed nothing within 15s"
    line = p.stdout.readline()
    assert line.strip() == "ready", f"container did not start: {line!r} {p.stderr.read() if p.poll() is not None else ''}"
    return b, p


@pytest.mark.parametrize("sig,code", [("TERM", 42), ("SIGTERM", 42), ("15", 42),
                                      ("KILL", 137), ("SIGKILL", 137), ("9", 137)])
def test_kill_signal_forms(ct, sig, code):
    b, p = _run_until_ready(ct, TRAP_TERM)
    ct.capsa("kill", b.id, sig, check=True)
    rc = p.wait(timeout=10)
    assert rc == code, f"run exited {rc}, stderr: {p.stderr.read()}"
    # a foreground run (without --keep) removes the container when it exits
    assert ct.capsa("state", b.id).returncode != 0


def test_kill_default_signal_is_term(ct):
    b, p = _run_until_ready(ct, TRAP_TERM)
    ct.capsa("kill", b.id, check=True)
    assert p.wait(timeout=10) == 42


def test_kill_bad_signal_errors(ct):
    b = ct.running()
    r = ct.capsa("kill", b.id, "NOTASIGNAL")
    assert r.returncode != 0
    assert ct.status(b.id) == "running"


def _container_pids(b):
    """Host pids of every process of the container (found by the bundle marker)."""
    pids = []
    for n in os.listdir("/proc"):
        if n.isdigit():
            try:
                env = open(f"/proc/{n}/environ", "rb").read()
            except OSError:
                continue
            if f"CAPSA_TEST_MARK={b.path}".encode() in env:
                pids.append(int(n))
    return pids


def test_kill_all(ct):
    b, p = _run_until_ready(
        ct, ["sh", "-c", "sleep 1000 & sleep 1000 & echo ready; wait"])
    pids = wait_for(lambda: (lambda l: l if len(l) >= 3 else None)(_container_pids(b)),
                    what="three container processes")
    ct.capsa("kill", "--all", b.id, "KILL", check=True)
    assert p.wait(timeout=10) == 137
    wait_for(lambda: not any(pid_alive(x) for x in pids), what="all processes to die")
    assert ct.capsa("state", b.id).returncode != 0


@pytest.mark.parametrize("script,code", [("exit 0", 0), ("exit 3", 3), ("exit 255", 255)])
def test_run_exit_code(ct, script, code):
    r = ct.run(["sh", "-c", script])
    assert r.returncode == code, r.stderr


def test_run_killed_by_signal_is_128_plus_n(ct):
    # Without a pid namespace the shell is not an init and can SIGKILL itself.
    r = ct.run(["sh", "-c", "kill -9 $$"],
               tweak=lambda c: set_namespace(c, "pid", present=False))
    assert r.returncode == 137, r.stderr


def test_run_removes_container(ct):
    r = ct.run(["true"])
    assert r.returncode == 0
    assert ct.capsa("state", r.bundle.id).returncode != 0
    assert os.listdir(ct.root) == []


def test_run_stdout_stderr(ct):
    r = ct.run(["sh", "-c", "echo out; echo err >&2"])
    assert r.returncode == 0
    assert r.stdout == "out\n"
    assert "err" in r.stderr


def test_run_stdin(ct):
    b = ct.bundle(args=["cat"])
    r = ct.capsa("run", "--bundle", b.path, b.id, input="hello stdin\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello stdin\n"


def test_run_detach(ct):
    b = ct.bundle(args=["sleep", "1000"])
    t0 = time.monotonic()
    r = ct.capsa("run", "--detach", "--bundle", b.path, b.id, timeout=15)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 10
    st = ct.state(b.id)
    assert st["status"] == "running"
    assert pid_alive(st["pid"])
    ct.capsa("delete", "--force", b.id, check=True)


def test_run_keep(ct):
    b = ct.bundle(args=["sh", "-c", "exit 0"])
    r = ct.capsa("run", "--keep", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert ct.status(b.id) == "stopped"
    ct.capsa("delete", b.id, check=True)


def test_pid_file_create(ct):
    b = ct.bundle(args=["sleep", "1000"])
    pf = os.path.join(ct.tmp, "create.pid")
    ct.create(b, "--pid-file", pf)
    pid = ct.state(b.id)["pid"]
    assert open(pf).read().strip() == str(pid)


def test_pid_file_run_detach(ct):
    b = ct.bundle(args=["sleep", "1000"])
    pf = os.path.join(ct.tmp, "run.pid")
    ct.capsa("run", "--detach", "--pid-file", pf, "--bundle", b.path, b.id, check=True)
    assert open(pf).read().strip() == str(ct.state(b.id)["pid"])


def test_state_fields(ct):
    def tweak(c):
        c["annotations"] = {"org.example.key": "value", "com.example.other": "2"}
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak)
    ct.create(b)
    st = ct.state(b.id)
    assert isinstance(st["ociVersion"], str) and re.match(r"\d+\.\d+\.\d+", st["ociVersion"])
    assert st["id"] == b.id
    assert st["status"] == "created"
    assert st["pid"] > 0
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)
    assert os.path.isabs(st["bundle"])
    assert st.get("annotations") == {"org.example.key": "value", "com.example.other": "2"}


def test_state_unknown_id_errors(ct):
    cid = ct.new_id()
    r = ct.capsa("state", cid)
    assert r.returncode != 0
    assert r.stderr.strip()


@pytest.mark.capsa_only("one-line error naming the id")
@pytest.mark.parametrize("verb", ["state", "start", "kill", "delete"])
def test_unknown_id_error_names_id(ct, verb):
    cid = ct.new_id()
    r = ct.capsa(verb, cid)
    assert r.returncode == 1
    assert len(error_lines(r.stderr)) == 1, r.stderr
    assert cid in r.stderr


def test_list(ct):
    a = ct.running()
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    r = ct.capsa("list", check=True)
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "PID", "STATUS"]
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert rows[a.id][2] == "running"
    assert rows[b.id][2] == "created"
    assert rows[a.id][1] == str(ct.state(a.id)["pid"])

    r = ct.capsa("list", "--format", "json", check=True)
    items = {i["id"]: i for i in json.loads(r.stdout)}
    assert set(items) == {a.id, b.id}
    assert items[a.id]["status"] == "running"
    assert items[b.id]["status"] == "created"
    assert items[a.id]["pid"] == ct.state(a.id)["pid"]
    assert os.path.realpath(items[a.id]["bundle"]) == os.path.realpath(a.path)

    r = ct.capsa("list", "-q", check=True)
    assert sorted(r.stdout.split()) == sorted([a.id, b.id])


def test_list_empty(ct):
    r = ct.capsa("list", "-q", check=True)
    assert r.stdout.strip() == ""
    r = ct.capsa("list", "--format", "json", check=True)
    assert json.loads(r.stdout) in ([], None)


def _regular_files(d):
    out = {}
    for n in os.listdir(d):
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p):
            out[n] = open(p, "rb").read()
        else:
            out[n] = os.lstat(p).st_mode
    return out


def test_create_existing_id_errors_and_changes_nothing(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    st = ct.state(b.id)
    files = _regular_files(os.path.join(ct.root, b.id))
    b2 = ct.bundle(args=["sleep", "1000"], cid=b.id + "x")
    r = ct.capsa("create", "--bundle", b2.path, b.id)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert ct.state(b.id) == st
    assert pid_alive(st["pid"])
    assert _regular_files(os.path.join(ct.root, b.id)) == files
    assert os.listdir(ct.root) == [b.id]
    # and the original container still works
    ct.start(b.id)
    assert ct.status(b.id) == "running"


@pytest.mark.capsa_only("one-line error naming the id")
def test_create_existing_id_error_names_id(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    r = ct.capsa("create", "--bundle", b.path, b.id)
    assert r.returncode == 1
    assert len(error_lines(r.stderr)) == 1, r.stderr
    assert b.id in r.stderr


@pytest.mark.parametrize("bad", ["../x", "", "/", "a/b", ".", "..", "x" * 1025,
                                 "a b", "a\nb"],
                         ids=["dotdot", "empty", "slash", "a-slash-b", "dot", "dotdot-only",
                              "1025-chars", "space", "newline"])
def test_bad_ids_rejected(ct, bad):
    b = ct.bundle()
    r = ct.capsa("create", "--bundle", b.path, bad)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert os.listdir(ct.root) == []
    assert not os.path.exists(os.path.join(ct.tmp, "x")), "../x must not be created"


@pytest.mark.capsa_only("ids must start with a letter or digit (runc allows '-a', '_a')")
@pytest.mark.parametrize("bad", ["-a", "_a", ".a", "+a"])
def test_ids_must_start_alnum(ct, bad):
    b = ct.bundle()
    r = ct.capsa("create", "--bundle", b.path, "--", bad)
    assert r.returncode != 0
    assert os.listdir(ct.root) == []


@pytest.mark.capsa_only("error message names the rejected id")
@pytest.mark.parametrize("bad", ["../x", "a/b", "x" * 1025, "/"],
                         ids=["dotdot", "a-slash-b", "1025-chars", "slash"])
def test_bad_id_error_names_the_id(ct, bad):
    b = ct.bundle()
    r = ct.capsa("create", "--bundle", b.path, bad)
    assert r.returncode == 1
    assert len(error_lines(r.stderr)) == 1, r.stderr
    assert bad in r.stderr


def test_empty_id_error_mentions_id(ct):
    b = ct.bundle()
    r = ct.capsa("create", "--bundle", b.path, "")
    assert r.returncode != 0
    assert "id" in r.stderr.lower()


@pytest.mark.parametrize("good", ["a", "A.b_c+d-1", "9" * 200])
def test_good_ids_accepted(ct, good):
    b = ct.bundle(cid=good if len(good) > 50 else f"{good}-{os.getpid()}")
    ct.create(b)
    assert ct.state(b.id)["id"] == b.id
    ct.capsa("delete", "--force", b.id, check=True)


def test_features(ct):
    r = ct.capsa("features", check=True)
    f = json.loads(r.stdout)
    assert re.match(r"^1\.\d+\.\d+", f["ociVersionMin"])
    assert re.match(r"^1\.\d+\.\d+", f["ociVersionMax"])
    assert isinstance(f["mountOptions"], list) and f["mountOptions"]
    for opt in ("ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind", "rprivate"):
        assert opt in f["mountOptions"], opt
    nss = f["linux"]["namespaces"]
    for ns in ("pid", "network", "mount", "ipc", "uts", "user", "cgroup"):
        assert ns in nss
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]


@pytest.mark.capsa_only("runtime-spec 1.2 features: time namespace, versions 1.0-1.2")
def test_features_capsa(ct):
    f = json.loads(ct.capsa("features", check=True).stdout)
    assert f["ociVersionMin"].startswith("1.0.")
    assert f["ociVersionMax"].startswith("1.2.")
    assert sorted(f["linux"]["namespaces"]) == sorted(
        ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"])
    for opt in ("shared", "slave", "private", "unbindable", "rshared", "rslave",
                "runbindable"):
        assert opt in f["mountOptions"], opt


def test_version(ct):
    r = subprocess.run([CAPSA, "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    assert re.search(r"spec[^\n]*\d+\.\d+\.\d+", r.stdout), r.stdout


@pytest.mark.capsa_only("capsa implements runtime-spec 1.2")
def test_version_capsa(ct):
    r = subprocess.run([CAPSA, "--version"], capture_output=True, text=True, timeout=10)
    assert r.stdout.lower().startswith("capsa")
    assert re.search(r"spec[^\n]*1\.2\.\d+", r.stdout), r.stdout
    assert "commit" in r.stdout.lower()


def test_help(ct):
    r = subprocess.run([CAPSA, "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    for verb in ("create", "start", "state", "kill", "delete", "run", "list", "spec",
                 "features"):
        assert verb in r.stdout


def test_concurrent_runs(ct):
    bundles = [ct.bundle(args=["sh", "-c", "echo $$; hostname"]) for _ in range(20)]
    procs = [(b, ct.popen("run", "--bundle", b.path, b.id)) for b in bundles]
    for b, p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, f"{b.id}: exit {p.returncode}: {err}"
        assert out.split() == ["1", "capsa-test"], out
    assert os.listdir(ct.root) == []


def test_kill_delete_race(ct):
    for _ in range(5):
        b = ct.running()
        pid = ct.state(b.id)["pid"]
        k = ct.popen("kill", b.id, "KILL", stdout=subprocess.DEVNULL)
        d = ct.popen("delete", "--force", b.id, stdout=subprocess.DEVNULL)
        _, kerr = k.communicate(timeout=20)
        _, derr = d.communicate(timeout=20)
        assert d.returncode == 0, derr
        assert k.returncode in (0, 1), kerr
        assert "panic" not in kerr + derr and "Segmentation" not in kerr + derr
        wait_for(lambda: not pid_alive(pid), what="container process to die")
        assert ct.capsa("state", b.id).returncode != 0
        assert os.listdir(ct.root) == []


def test_state_during_delete(ct):
    for _ in range(3):
        b = ct.running()
        stop = threading.Event()
        results = []

        def poll():
            while not stop.is_set():
                results.append(ct.capsa("state", b.id))
        threads = [threading.Thread(target=poll) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        d = ct.capsa("delete", "--force", b.id)
        time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
        assert d.returncode == 0, d.stderr
        assert results
        for r in results:
            assert r.returncode in (0, 1), f"state exited {r.returncode}: {r.stderr}"
            if r.returncode == 0:
                st = json.loads(r.stdout)
                assert st["id"] == b.id and st["status"] in (
                    "created", "running", "stopped")
            else:
                assert r.stderr.strip(), "a failing state must say why"
                assert "panic" not in r.stderr
