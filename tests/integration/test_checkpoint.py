"""capsa checkpoint / capsa restore with CRIU (issue 19, docs/checkpoint.md).

SKIPPED with one line when no working CRIU >= 4.1 can be had (scripts/build-criu.sh
builds one into build/criu from the vendored tarball). The runc comparison is skipped
without runc."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from capsatest import CAPSA, IS_CAPSA, capsa, set_namespace, wait_for

pytestmark = pytest.mark.capsa_only

COUNTER = ("i=0; (while true; do sleep 1000; done) & "
           "while true; do i=$((i+1)); echo $i > /dev/shm/c; sleep 0.1; done")
RUNC = shutil.which("runc") or "/usr/sbin/runc"


def _criu_binary():
    here = os.path.dirname(CAPSA)
    for p in (os.environ.get("CAPSA_CRIU"), os.path.join(here, "criu", "sbin", "criu"),
              shutil.which("criu")):
        if p and os.access(p, os.X_OK):
            return p
    return None


@pytest.fixture(scope="module")
def criu_ok(tmp_path_factory):
    if not IS_CAPSA:
        pytest.skip("capsa checkpoint/restore tests")
    root = tmp_path_factory.mktemp("criu-probe")
    r = capsa("checkpoint", "--image-path", str(root / "img"), "no-such-container", root=root)
    if "needs CRIU" in r.stderr:
        pytest.skip("SKIPPED: no working CRIU: " + r.stderr.strip().split("needs CRIU: ")[-1])
    return True


@pytest.fixture
def cr(criu_ok, ct):
    return ct


_n = iter(range(1 << 30))


def _quiet(ctx, *args, binary=None, global_args=(), root=None):
    """capsa with /dev/null as stdin/stdout and a fresh named file as stderr: a
    container created or restored by it inherits them (CRIU cannot reopen the
    capsa() helper's unlinked temporary files, and a pipe would never close).
    The error text is read back from the file, writable by all: CRIU reopens it in
    a restored user namespace as the container's root (docs/checkpoint.md)."""
    path = os.path.join(ctx.tmp, f"stderr-{next(_n)}")
    with open(path, "w") as err:
        os.fchmod(err.fileno(), 0o666)
        p = subprocess.run([binary or CAPSA, "--root", root or ctx.root, *global_args, *args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                           timeout=60)
    with open(path) as f:
        return subprocess.CompletedProcess(p.args, p.returncode, "", f.read())


def _start(ctx, b):
    r = _quiet(ctx, "create", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    ctx.start(b.id)


def _pid(ctx, cid):
    return ctx.state(cid)["pid"]


def _status_lines(pid, keys=("CapEff", "CapBnd", "CapPrm", "NoNewPrivs", "Seccomp")):
    with open(f"/proc/{pid}/status") as f:
        return {l.split(":")[0]: l.split(":", 1)[1].strip() for l in f
                if l.split(":")[0] in keys}


def _session_leader_inside(pid):
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("NSsid:"):
                return l.split()[-1] != "0"
    return True


_WRAP = {}


def _workload(ctx):
    """The counter, wrapped in busybox setsid while capsa's init makes no session of
    its own (then CRIU cannot dump it; test_plain_init_session checks which)."""
    if "wrap" not in _WRAP:
        b = ctx.bundle(args=["sleep", "1000"])
        _start(ctx, b)
        _WRAP["wrap"] = not _session_leader_inside(_pid(ctx, b.id))
        ctx.capsa("delete", "--force", b.id, check=True)
    return (["/bin/busybox", "setsid"] if _WRAP["wrap"] else []) + ["sh", "-c", COUNTER]


def _limits(cfg):
    cfg["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}
    cfg["root"]["readonly"] = True


def _counter(ctx, cid):
    # `echo $i > /dev/shm/c` truncates before it writes: a read in between sees an
    # empty file, so read again
    for _ in range(20):
        r = ctx.capsa("exec", cid, "cat", "/dev/shm/c", check=True)
        if r.stdout.strip():
            return int(r.stdout.strip())
    raise AssertionError(f"{cid}: /dev/shm/c stays empty")


def _cgroup_file(pid, ctrl, v1file, v2file):
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [l.strip().split(":", 2) for l in f]
    for _, ctrls, path in lines:
        if ctrl in ctrls.split(","):
            p = f"/sys/fs/cgroup/{ctrl}{path}/{v1file}"
            if os.path.exists(p):
                return open(p).read().strip()
    for _, ctrls, path in lines:
        if ctrls == "":
            for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                p = f"{base}{path}/{v2file}"
                if os.path.exists(p):
                    return open(p).read().strip()
    return None


def _limits_of(pid):
    return (_cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max"),
            _cgroup_file(pid, "pids", "pids.max", "pids.max"))


def _procs_inside(ctx, cid):
    """The container's long-lived processes as it sees them (pid, command)."""
    r = ctx.capsa("exec", cid, "ps", "-o", "pid,args", check=True)
    out = set()
    for l in r.stdout.splitlines()[1:]:
        pid, _, args = l.strip().partition(" ")
        if "sleep 1000" in args or args.startswith("sh -c"):
            if "ps -o" not in args:
                out.add((pid, args.strip()))
    return out


def _advancing(ctx, cid, than):
    wait_for(lambda: _counter(ctx, cid) > than, what=f"{cid}'s counter to pass {than}")


def test_roundtrip_keeps_limits_tree_and_counter(cr):
    b = cr.bundle(args=_workload(cr), tweak=_limits)
    _start(cr, b)
    _advancing(cr, b.id, 3)
    pid = _pid(cr, b.id)
    before_limits, before_status = _limits_of(pid), _status_lines(pid)
    before_procs = _procs_inside(cr, b.id)
    assert before_limits == (str(64 << 20), "50") or before_limits == ("67108864", "50")
    img = os.path.join(cr.tmp, "img")
    r = cr.capsa("checkpoint", "--image-path", img, b.id)
    assert r.returncode == 0, r.stderr
    # as runc: without --leave-running the container is gone
    assert cr.capsa("state", b.id).returncode != 0
    with open(os.path.join(img, "inventory.img"), "rb"):
        pass
    r = _quiet(cr, "restore", "--detach", "--image-path", img, "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    st = cr.state(b.id)
    assert st["status"] == "running" and st["bundle"] == b.path
    if os.path.exists("/proc/self/ns/time"):
        # CRIU restores into a new time namespace even without one in config.json,
        # its offsets minus the time spent checkpointed (docs/checkpoint.md); exec
        # joins it
        assert os.readlink(f"/proc/{st['pid']}/ns/time") != os.readlink("/proc/self/ns/time")
        assert all(_ns(v) <= 0 for v in _offsets(st["pid"]).values())
        r = cr.capsa("exec", b.id, "readlink", "/proc/self/ns/time", check=True)
        assert r.stdout.strip() == os.readlink(f"/proc/{st['pid']}/ns/time")
    c0 = _counter(cr, b.id)
    _advancing(cr, b.id, c0)
    pid = st["pid"]
    assert _limits_of(pid) == before_limits
    assert _status_lines(pid) == before_status
    assert _procs_inside(cr, b.id) == before_procs
    # the other verbs work on the restored container
    assert cr.capsa("pause", b.id).returncode == 0
    assert cr.status(b.id) == "paused"
    assert cr.capsa("resume", b.id).returncode == 0
    assert cr.capsa("kill", b.id, "KILL").returncode == 0
    cr.wait_status(b.id, "stopped")
    assert cr.capsa("delete", b.id).returncode == 0
    cr.assert_nothing_created(b.id, b)


def test_restore_other_id_into_new_bundle(cr):
    b = cr.bundle(args=_workload(cr), tweak=_limits)
    _start(cr, b)
    _advancing(cr, b.id, 2)
    img = os.path.join(cr.tmp, "img")
    r = cr.capsa("checkpoint", "--leave-running", "--image-path", img, b.id)
    assert r.returncode == 0, r.stderr
    assert cr.status(b.id) == "running"
    c0 = _counter(cr, b.id)
    _advancing(cr, b.id, c0)          # --leave-running: it keeps counting
    # a second bundle: its own copy of the rootfs and config, another path
    nb = cr.bundle(args=_workload(cr), tweak=_limits)
    new_id = nb.id
    r = _quiet(cr, "restore", "-d", "--image-path", img, "--work-path",
                 os.path.join(cr.tmp, "work"), "-b", nb.path, new_id)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(cr.tmp, "work", "restore.log"))
    st = cr.state(new_id)
    assert st["status"] == "running" and st["bundle"] == nb.path
    _advancing(cr, new_id, 1)
    assert _limits_of(st["pid"]) == _limits_of(_pid(cr, b.id))
    # its cgroup is the new id's, not the original's
    with open(f"/proc/{st['pid']}/cgroup") as f:
        assert new_id in f.read()
    for cid in (b.id, new_id):
        assert cr.capsa("delete", "--force", cid).returncode == 0
    cr.assert_nothing_created(new_id, nb)


def test_foreground_restore_returns_exit_status(cr):
    b = cr.bundle(args=_workload(cr)[:-1] + [
        "while [ ! -e /dev/shm/stop ]; do sleep 0.1; done; exit 7"])
    _start(cr, b)
    img = os.path.join(cr.tmp, "img")
    assert cr.capsa("checkpoint", "--image-path", img, b.id).returncode == 0
    errpath = os.path.join(cr.tmp, "restore-stderr")
    with open(errpath, "w") as errf:
        os.fchmod(errf.fileno(), 0o666)   # as _quiet's: CRIU checks the mode
        p = subprocess.Popen([CAPSA, "--root", cr.root, "restore", "--image-path", img, "-b",
                              b.path, b.id], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=errf)
    cr.popens.append(p)
    wait_for(lambda: cr.status(b.id) == "running" or p.poll() is not None,
             what="restored container")
    cr.capsa("exec", b.id, "touch", "/dev/shm/stop")
    p.wait(timeout=30)
    assert p.returncode == 7, open(errpath).read()
    assert cr.capsa("state", b.id).returncode != 0   # deleted, as runc restore does
    cr.assert_nothing_created(b.id, b)


def test_plain_init_session(cr):
    """A container whose program is not wrapped: checkpointed when capsa's init makes
    its own session (as runc's), else refused with a line that says why."""
    b = cr.bundle(args=["sh", "-c", COUNTER])
    _start(cr, b)
    pid = _pid(cr, b.id)
    img = os.path.join(cr.tmp, "img")
    r = cr.capsa("checkpoint", "--leave-running", "--image-path", img, b.id)
    if _session_leader_inside(pid):
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 1
        assert "not in a session of its own" in r.stderr and r.stderr.count("\n") == 1
    assert cr.status(b.id) == "running" and _pid(cr, b.id) == pid


def test_external_unix_socket_fails_and_leaves_container_running(cr):
    b = cr.bundle(args=_workload(cr), tweak=_limits)
    outer, inner = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        errpath = os.path.join(cr.tmp, "create-stderr")
        with open(errpath, "w") as errf:
            p = subprocess.run([CAPSA, "--root", cr.root, "create", "--bundle", b.path, b.id],
                               stdin=subprocess.DEVNULL, stdout=inner, stderr=errf, timeout=30)
        assert p.returncode == 0, open(errpath).read()
        cr.start(b.id)
        _advancing(cr, b.id, 2)
        pid = _pid(cr, b.id)
        before = _status_lines(pid)
        img = os.path.join(cr.tmp, "img")
        r = cr.capsa("checkpoint", "--image-path", img, b.id)
        assert r.returncode == 1
        assert "criu dump failed" in r.stderr and "sock" in r.stderr.lower(), r.stderr
        assert r.stderr.count("\n") == 1, r.stderr
        # unchanged and still running
        st = cr.state(b.id)
        assert st["status"] == "running" and st["pid"] == pid
        assert _status_lines(pid) == before
        c0 = _counter(cr, b.id)
        _advancing(cr, b.id, c0)
    finally:
        outer.close()
        inner.close()


def test_missing_or_corrupt_image_leaves_nothing(cr):
    b = cr.bundle(args=_workload(cr), tweak=_limits)
    missing = os.path.join(cr.tmp, "nope")
    r = _quiet(cr, "restore", "-d", "--image-path", missing, "-b", b.path, b.id)
    assert r.returncode == 1 and "--image-path" in r.stderr and "nope" in r.stderr
    assert r.stderr.count("\n") == 1
    cr.assert_nothing_created(b.id, b)
    empty = os.path.join(cr.tmp, "empty")
    os.makedirs(empty)
    r = _quiet(cr, "restore", "-d", "--image-path", empty, "-b", b.path, b.id)
    assert r.returncode == 1 and "no checkpoint" in r.stderr, r.stderr
    cr.assert_nothing_created(b.id, b)
    # a real checkpoint, then damaged
    _start(cr, b)
    img = os.path.join(cr.tmp, "img")
    assert cr.capsa("checkpoint", "--image-path", img, b.id).returncode == 0
    for name in os.listdir(img):
        if name.startswith("pstree") or name.startswith("core-"):
            with open(os.path.join(img, name), "r+b") as f:
                f.truncate(3)
    r = _quiet(cr, "restore", "-d", "--image-path", img, "-b", b.path, b.id)
    assert r.returncode == 1 and "criu restore failed" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1
    cr.assert_nothing_created(b.id, b)


def test_flags_refused_with_reason(cr):
    b = cr.bundle(args=["sleep", "1000"])
    _start(cr, b)
    for flags, words in ((["--lazy-pages"], "not supported"),
                         (["--manage-cgroups-mode", "bogus"], "soft, full, strict or ignore"),
                         (["--bundle", "x"], "unknown flag")):
        r = cr.capsa("checkpoint", *flags, "--image-path", os.path.join(cr.tmp, "i"), b.id)
        assert r.returncode == 1 and words in r.stderr, (flags, r.stderr)
        assert r.stderr.count("\n") == 1
    r = _quiet(cr, "restore", "--leave-running", b.id)
    assert r.returncode == 1 and "unknown flag" in r.stderr
    r = cr.capsa("checkpoint", "--pre-dump", "--image-path", os.path.join(cr.tmp, "pre"), b.id)
    if r.returncode != 0:   # kernels without CONFIG_MEM_SOFT_DIRTY (this one)
        assert "soft-dirty" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert cr.status(b.id) == "running"


def _holder(cr, name):
    """A process in a new network + uts namespace (loopback up, hostname NAME), as
    an engine's netns/pod sandbox: the container joins them by path."""
    p = subprocess.Popen(["unshare", "-n", "-u", "sh", "-c",
                          f"hostname {name} && ip link set lo up && echo ok && exec sleep 1000"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    cr.popens.append(p)
    assert p.stdout.readline() == "ok\n"
    return p.pid


def _ns_ino(pid, ns):
    return os.stat(f"/proc/{pid}/ns/{ns}").st_ino


def test_joined_namespaces_external_and_rejoined(cr):
    """network and uts namespaces joined by path (podman's netns, a CRI sandbox's):
    the network namespace is external to the checkpoint, the restore joins the one
    the restore bundle names (an engine makes a new one); the uts one is joined again.
    A joined mount namespace is refused with a line saying why (control)."""
    h1, h2 = _holder(cr, "holder-one"), _holder(cr, "holder-two")

    def joined(holder):
        def tweak(cfg):
            _limits(cfg)
            set_namespace(cfg, "network", f"/proc/{holder}/ns/net")
            set_namespace(cfg, "uts", f"/proc/{holder}/ns/uts")
            cfg.pop("hostname", None)
        return tweak
    b = cr.bundle(args=_workload(cr), tweak=joined(h1))
    _start(cr, b)
    _advancing(cr, b.id, 2)
    pid = _pid(cr, b.id)
    assert (_ns_ino(pid, "net"), _ns_ino(pid, "uts")) == (_ns_ino(h1, "net"), _ns_ino(h1, "uts"))
    img = os.path.join(cr.tmp, "img")
    r = cr.capsa("checkpoint", "--image-path", img, b.id)
    assert r.returncode == 0, r.stderr
    # a bundle naming a namespace of the wrong type: one line, nothing left
    bad = cr.bundle(args=_workload(cr), tweak=lambda c: set_namespace(
        c, "network", f"/proc/{h2}/ns/uts"))
    r = _quiet(cr, "restore", "-d", "--image-path", img, "-b", bad.path, bad.id)
    assert r.returncode == 1 and "is not a network namespace" in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1
    cr.assert_nothing_created(bad.id, bad)
    # restored into the second holder's namespaces (another id, another bundle)
    nb = cr.bundle(args=_workload(cr), tweak=joined(h2))
    r = _quiet(cr, "restore", "-d", "--image-path", img, "-b", nb.path, nb.id)
    assert r.returncode == 0, r.stderr
    npid = _pid(cr, nb.id)
    assert (_ns_ino(npid, "net"), _ns_ino(npid, "uts")) == \
        (_ns_ino(h2, "net"), _ns_ino(h2, "uts"))
    c0 = _counter(cr, nb.id)
    _advancing(cr, nb.id, c0)
    # CRIU restores the checkpointed hostname, into the joined namespace too
    # (docs/checkpoint.md, limits)
    assert cr.capsa("exec", nb.id, "hostname", check=True).stdout == "holder-one\n"
    assert cr.capsa("exec", nb.id, "cat", "/sys/class/net/lo/flags", check=True).stdout == "0x9\n"
    assert cr.capsa("delete", "--force", nb.id).returncode == 0
    cr.assert_nothing_created(nb.id, nb)
    mb = cr.bundle(args=_workload(cr), tweak=lambda c: set_namespace(
        c, "mount", f"/proc/{h2}/ns/mnt"))
    r = _quiet(cr, "restore", "-d", "--image-path", img, "-b", mb.path, mb.id)
    assert r.returncode == 1 and "joined mount namespace" in r.stderr, r.stderr
    cr.assert_nothing_created(mb.id, mb)


def test_runc_same_criu_same_container(cr):
    """runc 1.1.5 driving the same CRIU on the same kind of container: both round
    trips keep the limits and the counter."""
    results = _both_roundtrips(cr, _limits)
    assert results["capsa"] == results["runc"] == ("running", True)


def _both_roundtrips(cr, tweak, base=None, rts=("capsa", "runc"), before_restore=None):
    """Run, checkpoint and restore the same kind of container with capsa and with
    runc 1.1.5 on the same CRIU: {runtime: (status, same limits)} or, where a step
    fails, {runtime: ("failed", step, error)}."""
    criu = _criu_binary()
    if not os.access(RUNC, os.X_OK) or not criu:
        pytest.skip("SKIPPED: runc or a criu binary is absent")
    results = {}
    for rt in rts:
        # runc's init makes its own session; busybox setsid would fork away from it
        b = cr.bundle(args=_workload(cr) if rt == "capsa" else ["sh", "-c", COUNTER],
                      tweak=tweak, base=base)
        img = os.path.join(cr.tmp, f"img-{rt}")
        if rt == "capsa":
            def run(*a):
                if a[0] in ("run", "restore"):
                    return _quiet(cr, *a)
                return cr.capsa(*a)
        else:
            rroot = os.path.join(cr.tmp, "runc-root")

            def run(*a):
                if a[0] in ("run", "restore"):
                    # runc cannot dump a host file as stdio: all /dev/null, errors to --log
                    log = os.path.join(cr.tmp, "runc.log")
                    p = subprocess.run([RUNC, "--root", rroot, "--log", log, "--criu", criu,
                                        *a], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       timeout=60)
                    text = open(log).read() if os.path.exists(log) else ""
                    return subprocess.CompletedProcess(p.args, p.returncode, "", text)
                return capsa(*a, root=rroot, binary=RUNC, global_args=("--criu", criu))
        assert run("run", "-d", "--bundle", b.path, b.id).returncode == 0
        pid = json.loads(run("state", b.id).stdout)["pid"]
        wait_for(lambda: os.path.exists(f"/proc/{pid}/root/dev/shm/c"), what="counter")
        lim = _limits_of(pid)
        r = run("checkpoint", "--image-path", img, b.id)
        if r.returncode != 0:
            results[rt] = ("failed", "checkpoint", r.stderr)
            run("delete", "--force", b.id)
            continue
        if before_restore:
            before_restore(img)
        r = run("restore", "-d", "--image-path", img, "--bundle", b.path, b.id)
        if r.returncode != 0:
            results[rt] = ("failed", "restore", r.stderr)
            run("delete", "--force", b.id)
            continue
        st = json.loads(run("state", b.id).stdout)
        npid = st["pid"]

        def count():
            with open(f"/proc/{npid}/root/dev/shm/c") as f:
                return int(f.read().strip() or 0)
        c0 = count()
        wait_for(lambda: count() > c0, what=f"{rt}'s counter after restore")
        results[rt] = (st["status"], lim == _limits_of(npid))
        os.kill(npid, signal.SIGKILL)
        wait_for(lambda: json.loads(run("state", b.id).stdout)["status"] == "stopped",
                 what="stopped")
        assert run("delete", b.id).returncode == 0
    return results


# --- user namespace, time namespace, terminals (issue 19) -------------------------

USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def _userns(cfg):
    _limits(cfg)
    set_namespace(cfg, "user")
    cfg["linux"]["uidMappings"] = USERNS_MAP
    cfg["linux"]["gidMappings"] = USERNS_MAP


def _ids_inside(ctx, cid):
    r = ctx.capsa("exec", cid, "sh", "-c",
                  "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; "
                  "stat -c %u:%g /dev/shm/c", check=True)
    return [l.split() for l in r.stdout.splitlines()]


def _host_ids(pid):
    with open(f"/proc/{pid}/status") as f:
        return [l.split()[1:] for l in f if l.startswith(("Uid:", "Gid:"))]


def test_user_namespace_roundtrip(cr):
    """A container with its own user namespace (uid/gid 0 -> host 100000): the
    counter continues, exec works, the ids are the same inside and from the host."""
    base = cr.world_dir()
    b = cr.bundle(args=_workload(cr), tweak=_userns, base=base)
    _start(cr, b)
    _advancing(cr, b.id, 2)
    pid = _pid(cr, b.id)
    before_ids, before_host = _ids_inside(cr, b.id), _host_ids(pid)
    assert before_ids[:2] == [["0"], ["0"]] and before_ids[2] == ["0", "100000", "65536"]
    assert before_host == [["100000"] * 4] * 2
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    img = os.path.join(cr.tmp, "img")
    r = cr.capsa("checkpoint", "--image-path", img, b.id)
    assert r.returncode == 0, r.stderr
    r = _quiet(cr, "restore", "-d", "--image-path", img, "-b", b.path, b.id)
    assert r.returncode == 0, r.stderr
    npid = _pid(cr, b.id)
    c0 = _counter(cr, b.id)
    _advancing(cr, b.id, c0)
    assert _ids_inside(cr, b.id) == before_ids
    assert _host_ids(npid) == before_host
    # (not compared with the old one's: a freed namespace's inode number is reused)
    assert os.readlink(f"/proc/{npid}/ns/user") != os.readlink("/proc/self/ns/user")
    assert _limits_of(npid) == (str(64 << 20), "50")
    # the image dir is as it was (0700, no directory of links left)
    assert oct(os.stat(img).st_mode & 0o777) == "0o700"
    assert not [n for n in os.listdir(img) if n.startswith(".")]
    assert cr.capsa("delete", "--force", b.id).returncode == 0
    cr.assert_nothing_created(b.id, b)


def test_user_namespace_runc(cr):
    """runc 1.1.5 with the same CRIU on the same user namespace container: runc's
    restore fails while its image dir is 0700 (CRIU opens images as the container's
    root, host uid 100000); capsa's works, and so does runc's once the image dir is
    searchable by all, with the same result."""
    base = cr.world_dir()
    res = _both_roundtrips(cr, _userns, base=base)
    assert res["capsa"] == ("running", True), res["capsa"]
    assert res["runc"][:2] == ("failed", "restore"), res["runc"]
    log = open(os.path.join(cr.tmp, "img-runc", "restore.log")).read()
    assert "Permission denied" in log
    res = _both_roundtrips(cr, _userns, base=base, rts=("runc",),
                           before_restore=lambda img: os.chmod(img, 0o711))
    assert res["runc"] == ("running", True), res["runc"]


TIME_OFFSETS = {"monotonic": {"secs": 864000, "nanosecs": 0},
                "boottime": {"secs": 1728000, "nanosecs": 500}}


def _timens(cfg):
    _limits(cfg)
    set_namespace(cfg, "time")
    cfg["linux"]["timeOffsets"] = TIME_OFFSETS


def _offsets(pid):
    with open(f"/proc/{pid}/timens_offsets") as f:
        return {l.split()[0]: (int(l.split()[1]), int(l.split()[2])) for l in f}


def _ns(sec_nsec):
    return sec_nsec[0] * 10**9 + sec_nsec[1]


def test_time_namespace_offsets_roundtrip(cr):
    """A time namespace with linux.timeOffsets: restored into a new time namespace
    whose offsets are the config's less the time the container spent checkpointed
    (CRIU keeps the container's clocks continuous: its monotonic and boot time go
    on from their values at the dump), so the offsets after a quick round trip lie
    between the config's minus the host time between dump and restore, and the
    config's. exec joins the restored namespace. (runc 1.1.5 has no time namespace.)"""
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("SKIPPED: this kernel has no time namespaces")
    b = cr.bundle(args=_workload(cr), tweak=_timens)
    _start(cr, b)
    _advancing(cr, b.id, 2)
    pid = _pid(cr, b.id)
    want = {k: (v["secs"], v["nanosecs"]) for k, v in TIME_OFFSETS.items()}
    assert _offsets(pid) == want
    assert os.readlink(f"/proc/{pid}/ns/time") != os.readlink("/proc/self/ns/time")
    img = os.path.join(cr.tmp, "img")
    t0 = {"monotonic": time.clock_gettime_ns(time.CLOCK_MONOTONIC),
          "boottime": time.clock_gettime_ns(time.CLOCK_BOOTTIME)}
    r = cr.capsa("checkpoint", "--image-path", img, b.id)
    assert r.returncode == 0, r.stderr
    r = _quiet(cr, "restore", "-d", "--image-path", img, "-b", b.path, b.id)
    assert r.returncode == 0, r.stderr
    t1 = {"monotonic": time.clock_gettime_ns(time.CLOCK_MONOTONIC),
          "boottime": time.clock_gettime_ns(time.CLOCK_BOOTTIME)}
    npid = _pid(cr, b.id)
    got = _offsets(npid)
    for clock in ("monotonic", "boottime"):
        assert _ns(want[clock]) - (t1[clock] - t0[clock]) <= _ns(got[clock]) <= \
            _ns(want[clock]), (clock, got, want)
    ns_now = os.readlink(f"/proc/{npid}/ns/time")
    assert ns_now != os.readlink("/proc/self/ns/time")   # (inode numbers are reused)
    before = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    r = cr.capsa("exec", b.id, "sh", "-c", "cat /proc/uptime; readlink /proc/self/ns/time",
                 check=True)
    after = time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    uptime, exec_ns = r.stdout.split("\n")[:2]
    assert exec_ns == ns_now
    # the container's boot time is the host's plus the restored offset
    # (/proc/uptime has two decimals)
    inside = int(float(uptime.split()[0]) * 10**9)
    off = _ns(got["boottime"])
    assert before + off - 10**7 <= inside <= after + off + 10**7, (before, inside, after, off)
    c0 = _counter(cr, b.id)
    _advancing(cr, b.id, c0)
    assert cr.capsa("delete", "--force", b.id).returncode == 0
    cr.assert_nothing_created(b.id, b)
