"""Fixtures for the capsa integration tests.

Every test gets (autouse) a `ct` context: a unique --root dir under tmp_path, unique
container ids, bundles built from a session busybox-static rootfs, and a leftover
check: after the test, any container left in the root is `delete --force`d, then the
test FAILS (error at teardown) if a new mount, a new capsa cgroup, a process of this
test or anything in its --root dir remains.
"""
import collections
import errno
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import capsatest
import sanitizer
from capsatest import (CAPSA, CGROUP_PARENT, IS_CAPSA, SESSION_PID, build_rootfs,
                       capsa, copy_rootfs, default_config, dump_json, host_end, links,
                       wait_for)

_ids = itertools.count(1)

# A suite started in the background by a non-interactive shell (`make integration &`,
# a CI script) inherits SIGINT and SIGQUIT ignored (POSIX), and so would every capsa
# and container it starts: a container's `trap ... INT` would then do nothing
# (test_run_forwards_signal[INT]). Children get the default again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGQUIT) == signal.SIG_IGN:
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
# In CI nothing else runs on the machine: any new mount or capsa* cgroup is a leftover.
# Elsewhere (a shared dev machine) only those naming this test's dirs/ids count.
STRICT = os.environ.get("CI") == "true" or \
    os.environ.get("CAPSA_TEST_STRICT") == "1"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "capsa_only(reason): tests capsa-specific behaviour (message format, "
        "features content, time namespace, ...); expected to fail (xfail) when $CAPSA "
        "is another runtime such as runc")


def pytest_collection_modifyitems(config, items):
    if IS_CAPSA:
        return
    for item in items:
        m = item.get_closest_marker("capsa_only")
        if m is not None:
            why = m.args[0] if m.args else "capsa-only behaviour"
            item.add_marker(pytest.mark.xfail(reason=f"capsa-only: {why}", strict=False))


def pytest_report_header(config):
    return [f"runtime under test: {CAPSA} ({'capsa' if IS_CAPSA else 'not capsa: capsa_only tests xfail'})",
            f"sanitizer reports: {_reports.dir or 'not an instrumented build'}",
            f"cgroup parent: {CGROUP_PARENT} (relative to the runtime's own cgroup); "
            f"strict leftover check (any new mount/capsa cgroup): {STRICT} (CI=true)"]


# --- host snapshots -------------------------------------------------------------

def _mountinfo():
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()


def _mount_points():
    c = collections.Counter()
    for line in _mountinfo():
        f = line.split()
        c[f[4]] += 1
    return c


def _cgroup_roots():
    roots, seen = [], set()
    for line in _mountinfo():
        pre, _, post = line.partition(" - ")
        if post.split()[0] in ("cgroup", "cgroup2"):
            mp = pre.split()[4]
            try:
                dev = os.stat(mp).st_dev
            except OSError:
                continue
            if dev not in seen:
                seen.add(dev)
                roots.append(mp)
    return roots


def _cgroup_dirs(pred):
    out = set()
    for r in _cgroup_roots():
        for dirpath, dirnames, _ in os.walk(r):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if pred(p):
                    out.add(p)
    return out


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def _processes():
    """{pid: dict(start, ppid, zombie, cmdline, environ, cgroup)}"""
    procs = {}
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        pid = int(name)
        st = _read(f"/proc/{pid}/stat")
        if st is None:
            continue
        rest = st[st.rindex(")") + 2:].split()
        procs[pid] = {
            "state": rest[0], "ppid": int(rest[1]), "start": rest[19],
            "comm": st[st.index("(") + 1:st.rindex(")")],
            "cmdline": (_read(f"/proc/{pid}/cmdline", "rb") or b"").replace(b"\0", b" ")
            .decode(errors="replace"),
            "environ": (_read(f"/proc/{pid}/environ", "rb") or b"").decode(errors="replace"),
            "cgroup": _read(f"/proc/{pid}/cgroup") or "",
        }
    return procs


def _descendants(procs, ancestor):
    out = set()
    for pid in procs:
        p, seen = pid, 0
        while p in procs and seen < 64:
            p = procs[p]["ppid"]
            seen += 1
            if p == ancestor:
                out.add(pid)
                break
    return out


class Leftovers:
    def __init__(self, ctx):
        self.ctx = ctx

    def _cgroup_pred(self, path):
        if CGROUP_PARENT in path:
            return os.path.basename(path) != CGROUP_PARENT
        if any(i in path for i in self.ctx.ids):
            return True
        if "capsa-test-" in path:  # another test session's cgroups
            return False
        # Any new cgroup named capsa*: only where nothing else runs capsa at the same
        # time (CI), or other sessions' containers would be blamed on this test.
        return STRICT and "capsa" in path

    def _proc_reason(self, pid, p, desc):
        if pid in desc:
            return "descendant of pytest"
        if p["state"] in "ZX":
            return None
        for d in self.ctx.dirs:
            if d in p["cmdline"]:
                return f"cmdline mentions {d}"
            if d in p["environ"]:
                return f"environ mentions {d}"
        if f"/{CGROUP_PARENT}/" in p["cgroup"]:
            return "in a test cgroup"
        return None

    def snapshot(self):
        procs = _processes()
        desc = _descendants(procs, os.getpid())
        matched = {}
        for pid, p in procs.items():
            why = self._proc_reason(pid, p, desc)
            if why:
                matched[(pid, p["start"])] = f"pid {pid} ({p['comm']}: {p['cmdline'][:120]!r}) {why}"
        root = self.ctx.root
        entries = set()
        if os.path.isdir(root):
            for dirpath, dirnames, filenames in os.walk(root):
                for n in dirnames + filenames:
                    entries.add(os.path.relpath(os.path.join(dirpath, n), root))
        return {"mounts": _mount_points(), "cgroups": _cgroup_dirs(self._cgroup_pred),
                "procs": matched, "root": entries, "veths": self._veths()}

    def _veths(self):
        """Host ends of this test's containers' veth pairs (named from the id); in
        CI any capsa-named link (cv*)."""
        mine = {host_end(i) for i in self.ctx.ids}
        return {l for l in links() if l in mine or (STRICT and l.startswith("cv"))}

    def _mount_is_ours(self, mp, basetemp):
        if STRICT:
            # Mounts made by another concurrently running test session are not ours.
            return not ("/pytest-of-" in mp and not mp.startswith(basetemp))
        return any(mp.startswith(d) for d in self.ctx.dirs) or \
            any(i in mp for i in self.ctx.ids) or f"-{SESSION_PID}-" in mp

    def diff(self, before, after):
        new = {}
        m = after["mounts"] - before["mounts"]
        basetemp = os.path.dirname(self.ctx.tmp)
        mounts = [mp for mp in m.elements() if self._mount_is_ours(mp, basetemp)]
        if mounts:
            new["mounts"] = sorted(mounts)
        cg = after["cgroups"] - before["cgroups"]
        if cg:
            new["cgroups"] = sorted(cg)
        pr = {k: v for k, v in after["procs"].items() if k not in before["procs"]}
        if pr:
            new["processes"] = pr
        rt = after["root"] - before["root"]
        if rt:
            new["root dir entries"] = sorted(rt)
        veths = after["veths"] - before["veths"]
        if veths:
            new["veths"] = sorted(veths)
        return new


# --- per-test context -----------------------------------------------------------

class Bundle:
    def __init__(self, ctx, cid, path, config):
        self.ctx, self.id, self.path, self.config = ctx, cid, str(path), config

    @property
    def rootfs(self):
        r = self.config["root"]["path"]
        return r if os.path.isabs(r) else os.path.join(self.path, r)

    @property
    def config_path(self):
        return os.path.join(self.path, "config.json")

    def write(self):
        with open(self.config_path, "w") as f:
            f.write(dump_json(self.config))
        return self


class Ctx:
    """Per-test helper: ids, bundles, and the capsa CLI bound to this test's --root."""

    def __init__(self, tmp_path, template):
        self.tmp = str(tmp_path)
        self.root = os.path.join(self.tmp, "root")
        os.makedirs(self.root)
        self.template = template
        self.ids = []
        self.dirs = [self.tmp]
        self.popens = []
        self.extra_dirs = []
        self.delete_log = []

    # ids and bundles
    def new_id(self):
        cid = f"t{SESSION_PID}-{next(_ids)}"
        self.ids.append(cid)
        return cid

    def cgroups_path(self, cid):
        return f"{CGROUP_PARENT}/{cid}"

    def world_dir(self):
        """A directory every uid can traverse (tmp_path is 0700 under
        /tmp/pytest-of-root): for bundles used with a user namespace."""
        d = tempfile.mkdtemp(prefix=f"capsa-it-{SESSION_PID}-", dir="/tmp")
        os.chmod(d, 0o755)
        self.extra_dirs.append(d)
        self.dirs.append(d)
        return d

    def bundle(self, args=("true",), tweak=None, cid=None, base=None, rootfs="rootfs",
               write=True):
        cid = cid or self.new_id()
        path = os.path.join(base or self.tmp, f"bundle-{cid}")
        os.makedirs(path)
        os.chmod(path, 0o755)
        cfg = default_config(args=args, marker=path, cgroups_path=self.cgroups_path(cid),
                             rootfs=rootfs)
        b = Bundle(self, cid, path, cfg)
        if not os.path.isabs(rootfs):
            copy_rootfs(self.template, os.path.join(path, rootfs))
        if tweak:
            r = tweak(cfg)
            if r is not None:
                b.config = r
        return b.write() if write else b

    # the CLI
    def capsa(self, *args, **kw):
        kw.setdefault("root", self.root)
        return capsa(*args, **kw)

    def popen(self, *args, stdout=subprocess.PIPE, global_args=(), env=None):
        p = subprocess.Popen([CAPSA, "--root", self.root, *global_args, *map(str, args)],
                             stdin=subprocess.DEVNULL, stdout=stdout,
                             stderr=subprocess.PIPE, text=True,
                             env=None if env is None else {**os.environ, **env})
        self.popens.append(p)
        return p

    def run(self, args=("true",), tweak=None, opts=(), bundle=None, **kw):
        b = bundle or self.bundle(args=args, tweak=tweak)
        r = self.capsa("run", *opts, "--bundle", b.path, b.id, **kw)
        r.bundle = b
        return r

    def run_ok(self, args=("true",), tweak=None, opts=(), **kw):
        r = self.run(args, tweak=tweak, opts=opts, **kw)
        assert r.returncode == 0, (f"run {args} exited {r.returncode}\n"
                                   f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r.stdout

    def sh(self, script, tweak=None, opts=()):
        return self.run_ok(["sh", "-c", script], tweak=tweak, opts=opts)

    def create(self, b, *opts, check=True):
        return self.capsa("create", *opts, "--bundle", b.path, b.id, check=check)

    def start(self, cid, check=True):
        return self.capsa("start", cid, check=check)

    def state(self, cid):
        r = self.capsa("state", cid, check=True)
        return json.loads(r.stdout)

    def status(self, cid):
        r = self.capsa("state", cid)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)["status"]

    def wait_status(self, cid, status, timeout=10):
        wait_for(lambda: self.status(cid) == status, timeout=timeout,
                 what=f"container {cid} to be {status}")

    def running(self, args=("sleep", "1000"), tweak=None):
        """create + start a long-running container; returns the bundle."""
        b = self.bundle(args=args, tweak=tweak)
        self.create(b)
        self.start(b.id)
        return b

    def assert_nothing_created(self, cid, bundle=None):
        """No state, cgroup or process exists for cid (checked before teardown)."""
        assert not os.path.exists(os.path.join(self.root, cid)), f"state dir of {cid} exists"
        assert self.capsa("state", cid).returncode != 0, f"state {cid} succeeds"
        cgs = _cgroup_dirs(lambda p: os.path.basename(p) == cid)
        assert not cgs, f"cgroups left: {sorted(cgs)}"
        if bundle is not None:
            mark = f"CAPSA_TEST_MARK={bundle.path}\0"
            left = [pid for pid, p in _processes().items()
                    if p["state"] not in "ZX" and mark in p["environ"] + "\0"]
            assert not left, f"processes left: {left}"
        mounts = [l for l in _mountinfo() if self.tmp in l]
        assert not mounts, f"mounts left: {mounts}"

    # teardown
    def cleanup_containers(self):
        for p in self.popens:
            if p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=10)
            except Exception:
                pass
        if not os.path.isdir(self.root):
            return
        for name in sorted(os.listdir(self.root)):
            if os.path.isdir(os.path.join(self.root, name)):
                try:
                    args = ("--", name) if name.startswith("-") else (name,)
                    r = self.capsa("delete", "--force", *args, timeout=10)
                    if r.returncode != 0:
                        self.delete_log.append(f"delete --force {name}: {r.stderr.strip()}")
                except AssertionError as e:
                    self.delete_log.append(str(e))


def _clean_up(new, ctx):
    """Undo what a failing test left behind, so one failure does not cascade."""
    for (pid, start), _ in new.get("processes", {}).items():
        st = _read(f"/proc/{pid}/stat")
        if st and st[st.rindex(")") + 2:].split()[19] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for mp in reversed(new.get("mounts", [])):
        if mp.startswith("/sys/fs/cgroup"):
            continue
        ours = any(mp.startswith(d) for d in ctx.dirs) or CGROUP_PARENT in mp or \
            any(i in mp for i in ctx.ids) or "capsa" in mp
        if ours:
            subprocess.run(["umount", "-l", mp], capture_output=True)
    for dev in new.get("veths", []):
        subprocess.run(["ip", "link", "del", dev], capture_output=True)
    cgs = sorted(new.get("cgroups", []), key=lambda p: -p.count("/"))
    for p in cgs:
        if CGROUP_PARENT in p or any(i in p for i in ctx.ids):
            for _ in range(50):
                try:
                    os.rmdir(p)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory):
    if not os.path.exists(CAPSA):
        pytest.exit(f"runtime binary not found: {CAPSA} (build it, or set CAPSA=)", 2)
    if os.geteuid() != 0:
        pytest.exit("the integration tests must run as root", 2)
    d = tmp_path_factory.mktemp("template") / "rootfs"
    build_rootfs(str(d))
    return str(d)


@pytest.fixture(scope="session", autouse=True)
def _remove_cgroup_parents():
    yield
    # rmdir only, children first, and only below dirs named capsa-test-<our pid>;
    # processes still in them (an interrupted session) were started by this session.
    parents = []
    for r in _cgroup_roots():
        for dirpath, dirnames, _ in os.walk(r):
            if os.path.basename(dirpath) == CGROUP_PARENT:
                parents.append(dirpath)
                dirnames[:] = []
    for parent in parents:
        for sub, _, _ in os.walk(parent):
            for pid in (_read(os.path.join(sub, "cgroup.procs")) or "").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
    for parent in parents:
        for sub, _, _ in sorted(os.walk(parent), key=lambda t: -t[0].count("/")):
            for _ in range(50):
                try:
                    os.rmdir(sub)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        print(f"warning: cannot remove {sub}: {e}")
                        break
                    time.sleep(0.02)
            else:
                print(f"warning: cannot remove {sub}: still busy")


# A watchdog for the whole test body (no pytest-timeout plugin on Debian 12): a test
# blocked anywhere (a pipe read, a wait without timeout) fails with its traceback
# instead of hanging the session.
PER_TEST_TIMEOUT = float(os.environ.get("CAPSA_TEST_PER_TEST_TIMEOUT", "120"))


class PerTestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise PerTestTimeout(f"test still running after {PER_TEST_TIMEOUT:g}s "
                         "(CAPSA_TEST_PER_TEST_TIMEOUT)")


_reports = sanitizer.Reports(CAPSA)


@pytest.fixture(scope="session", autouse=True)
def _sanitizer_dir():
    yield
    if _reports.dir and not os.listdir(_reports.dir):
        os.rmdir(_reports.dir)


@pytest.fixture(autouse=True)
def ct(tmp_path, rootfs_template):
    t = capsatest._timeouts
    if len(t) >= capsatest.MAX_TIMEOUTS:
        pytest.skip(f"the runtime timed out {len(t)} times; skipping the rest. "
                    f"Last: {t[-1]}")
    ctx = Ctx(tmp_path, rootfs_template)
    lo = Leftovers(ctx)
    before = lo.snapshot()
    reports_before = _reports.snapshot()
    old_handler = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, PER_TEST_TIMEOUT)
    try:
        yield ctx
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
    ctx.cleanup_containers()
    after = lo.snapshot()
    new = lo.diff(before, after)
    if new.get("processes") or new.get("cgroups") or new.get("veths"):
        # Processes being killed by delete may take a moment to be reaped, and
        # the kernel removes a veth pair with its network namespace a bit later.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and (new.get("processes") or new.get("cgroups")
                                               or new.get("veths")):
            time.sleep(0.05)
            after = lo.snapshot()
            new = lo.diff(before, after)
    if new:
        _clean_up(new, ctx)
    for d in ctx.extra_dirs:
        if not any(mp.startswith(d) for mp in _mount_points()):
            shutil.rmtree(d, ignore_errors=True)
    reports = _reports.new_since(reports_before)
    if reports:
        pytest.fail("sanitizer report from the runtime:\n" + "\n".join(reports), pytrace=False)
    if new:
        lines = ["the test left things behind:"]
        for k, v in new.items():
            if isinstance(v, dict):
                v = list(v.values())
            lines.append(f"  {k}: " + "; ".join(map(str, v)))
        lines += [f"  ({l})" for l in ctx.delete_log]
        pytest.fail("\n".join(lines), pytrace=False)
