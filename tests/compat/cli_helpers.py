"""The runc-vs-capsa command-line comparison (issue 23): the same sequence of
commands against runc 1.1 and against capsa, each recorded as observations
(exit codes, `state` fields, output, the phrases clients match in errors), and
the differences between the two runs.

A case is a function `case(w)` over a Workspace `w` bound to one runtime; it
records observations with `w.obs(step, value)`. Cases are registered with
@case("verb.name"). Accepted differences are listed in docs/compat.md, section
"## Command line and exit codes", as table rows whose first cell is
`case-id` or `case-id/step` in backquotes.

Used by tests/compat/test_runc_cli.py (pytest) and tests/compat/runc_cli.py
(prints the table of differences).
"""
import array
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import capsatest  # noqa: E402  (build_rootfs, default_config)

CAPSA = os.path.abspath(os.environ.get("CAPSA", os.path.join(REPO, "build", "capsa")))
RUNC = os.environ.get("RUNC", shutil.which("runc") or "/usr/sbin/runc")
COMPAT_MD = os.path.join(REPO, "docs", "compat.md")
SECTION = "## Command line and exit codes"

# Error phrases that engines match in a runtime's error text (containerd
# pkg/process/utils.go checkKillError and init.go delete; podman's
# UpdateContainerStatus and stop; Docker/podman exec exit codes 126/127).
PHRASES = ["does not exist", "container not running", "not running", "no such process",
           "executable file not found", "no such file or directory", "permission denied",
           "failed to connect with seccomp agent", "not paused", "is paused"]

CASES = {}


def case(cid):
    def deco(fn):
        CASES[cid] = fn
        fn.case_id = cid
        return fn
    return deco


class Phrases(frozenset):
    """The client-matched phrases in an error: capsa must carry every one runc's has
    (it may say more)."""

    def matches(self, runc_value):
        return runc_value <= self

    def __repr__(self):
        return "phrases{" + ",".join(sorted(self)) + "}"


def phrases(text):
    t = text.lower()
    return Phrases(p for p in PHRASES if p in t)


def same(a, b):
    """b (capsa's) matches a (runc's)?"""
    if isinstance(b, Phrases) and isinstance(a, Phrases):
        return b.matches(a)
    return a == b


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"rc={self.rc} out={self.out[:200]!r} err={self.err[:300]!r}"


# --- console socket receiver (runc's recvtty pattern) -----------------------------------

class Receiver:
    """Accepts pty masters on a unix socket and keeps them open (runc's
    contrib/cmd/recvtty in "null" mode, in a thread). Reads what the container
    writes into self.output."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.masters = []
        self.names = []
        self.output = b""
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                msg, anc, _, _ = c.recvmsg(4096, socket.CMSG_SPACE(4 * 4))
                fds = array.array("i")
                for level, typ, data in anc:
                    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                        fds.frombytes(data[:len(data) - len(data) % 4])
                with self.lock:
                    self.names.append(msg.decode(errors="replace"))
                    self.masters.extend(fds)
                for fd in fds:
                    threading.Thread(target=self._drain, args=(fd,), daemon=True).start()

    def _drain(self, fd):
        while True:
            try:
                b = os.read(fd, 4096)
            except OSError:
                return
            if not b:
                return
            with self.lock:
                self.output += b

    def wait_masters(self, n, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.masters) >= n:
                    return True
            time.sleep(0.02)
        return False

    def wait_output(self, text, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if text.encode() in self.output:
                    return True
            time.sleep(0.02)
        return False

    def close(self):
        self.stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for fd in self.masters:
            try:
                os.close(fd)
            except OSError:
                pass
        self.masters = []


# --- one runtime's workspace ----------------------------------------------------------

_ROOTFS = {}


def shared_rootfs(base):
    """One busybox rootfs per session (containers mount it read-only)."""
    if base not in _ROOTFS:
        path = os.path.join(base, "rootfs")
        if not os.path.isdir(path):
            capsatest.build_rootfs(path)
        _ROOTFS[base] = path
    return _ROOTFS[base]


class Workspace:
    """One case against one runtime: its own --root, bundles, cgroup parent."""

    def __init__(self, name, binary, base, case_id):
        self.name = name          # "runc" or "capsa"
        self.binary = binary
        self.case_id = case_id
        safe = re.sub(r"[^a-z0-9]+", "-", case_id.lower())
        self.root = f"/run/{name}-cli-{os.getpid()}"
        self.cg_parent = f"capsa-cli-{name}-{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix=f"{safe}-{name}-", dir=base)
        self.rootfs = shared_rootfs(base)
        self.prefix = f"cli{os.getpid()}-{safe}"
        self.observations = []
        self.ids = []
        self.receivers = []
        self.procs = []

    # observations
    def obs(self, step, value):
        self.observations.append((step, value))

    def obs_result(self, step, r, out=False):
        self.obs(step + "/rc", r.rc)
        if r.rc != 0:
            self.obs(step + "/err", phrases(r.err))
        if out:
            self.obs(step + "/out", r.out.strip())

    # commands
    def __call__(self, *args, input=None, timeout=60, global_args=(), fd3=None,
                 stdin=subprocess.DEVNULL):
        """Run the runtime; stdout/stderr go to files, not pipes: a container made by
        create or run -d keeps the caller's stdio (runc), and a pipe would not end
        until the container does."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                cmd = [self.binary, "--root", self.root, *global_args, *args]
                if fd3:  # the file open as fd 3 of the runtime (for --preserve-fds 1)
                    cmd = ["sh", "-c", 'exec "$@" 3<"$FD3"', "sh", *cmd]
                p = subprocess.run(cmd, input=input.encode() if input is not None else None,
                                   stdin=stdin if input is None else None,
                                   stdout=out, stderr=err, timeout=timeout,
                                   env=dict(os.environ, FD3=fd3 or ""))
                rc = p.returncode
            except subprocess.TimeoutExpired:
                rc = -999
            out.seek(0)
            err.seek(0)
            return Result(rc, out.read().decode(errors="replace"),
                          err.read().decode(errors="replace"))

    def run_step(self, step, *args, out=False, **kw):
        r = self(*args, **kw)
        self.obs_result(step, r, out=out)
        return r

    # ids, bundles
    def new_id(self, tag="c"):
        cid = f"{self.prefix}-{tag}"
        self.ids.append(cid)
        return cid

    def cgroups_path(self, cid):
        return f"/{self.cg_parent}/{cid}"

    def bundle(self, args=("sleep", "1000"), tweak=None, cid=None, name="b"):
        path = os.path.join(self.tmp, name)
        os.makedirs(path, exist_ok=True)
        cfg = capsatest.default_config(args=args, marker=self.prefix,
                                       cgroups_path=self.cgroups_path(cid or name),
                                       rootfs=self.rootfs)
        if tweak:
            tweak(cfg)
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        return path

    def receiver(self):
        path = os.path.join(self.tmp, f"console{len(self.receivers)}.sock")
        r = Receiver(path)
        self.receivers.append(r)
        return r

    def state(self, cid):
        r = self("state", cid)
        if r.rc != 0:
            return None
        return json.loads(r.out)

    def status(self, cid):
        s = self.state(cid)
        return s["status"] if s else None

    def obs_state(self, step, cid, bundle=None):
        """The state fields clients read: status, pid set or not, bundle, id, annotations."""
        r = self("state", cid)
        self.obs(step + "/rc", r.rc)
        if r.rc != 0:
            self.obs(step + "/err", phrases(r.err))
            return None
        s = json.loads(r.out)
        self.obs(step + "/status", s.get("status"))
        self.obs(step + "/pid>0", bool(s.get("pid")))
        self.obs(step + "/id", s.get("id") == cid)
        if bundle:
            self.obs(step + "/bundle", s.get("bundle") == bundle)
        self.obs(step + "/ociVersion", bool(s.get("ociVersion")))
        self.obs(step + "/annotations", s.get("annotations") or {})
        return s

    def wait_status(self, cid, want, timeout=20):
        end = time.monotonic() + timeout
        st = None
        while time.monotonic() < end:
            st = self.status(cid)
            if st == want:
                return st
            time.sleep(0.05)
        return st

    def wait_gone(self, pid, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not os.path.exists(f"/proc/{pid}") or _zombie(pid):
                return True
            time.sleep(0.05)
        return False

    def popen(self, *args, **kw):
        p = subprocess.Popen([self.binary, "--root", self.root, *args], **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        for cid in self.ids:
            try:
                self("delete", "--force", cid, timeout=30)
            except OSError:
                pass
        for r in self.receivers:
            r.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


# --- running the comparison --------------------------------------------------------

def runtimes():
    return [("runc", RUNC), ("capsa", CAPSA)]


def run_case(cid, base):
    """{runtime name: [(step, value), ...]} and any exception text per runtime."""
    out = {}
    for name, binary in runtimes():
        w = Workspace(name, binary, base, cid)
        try:
            CASES[cid](w)
        except Exception as ex:  # a case that breaks is a difference too
            w.obs("exception", f"{type(ex).__name__}: {ex}")
        finally:
            w.cleanup()
        out[name] = w.observations
    return out


def diff(cid, obs):
    """[(case/step, runc value, capsa value)] where capsa differs from runc."""
    a = dict(obs["runc"])
    b = dict(obs["capsa"])
    rows = []
    for step in list(dict.fromkeys([s for s, _ in obs["runc"]] + [s for s, _ in obs["capsa"]])):
        va, vb = a.get(step, "<absent>"), b.get(step, "<absent>")
        if not same(va, vb):
            rows.append((f"{cid}/{step}", va, vb))
    return rows


def listed_differences(path=COMPAT_MD):
    """Case ids (or case/step) listed in docs/compat.md's command-line section:
    table rows whose first cell is `id` in backquotes."""
    ids = set()
    try:
        text = open(path).read()
    except OSError:
        return ids
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line.strip() == SECTION
            continue
        if inside:
            m = re.match(r"\|\s*`([^`]+)`\s*\|", line)
            if m:
                ids.add(m.group(1))
    return ids


def is_listed(step_id, listed):
    """A listed `case` covers all its steps; `case/step` covers that step and its
    sub-steps."""
    for l in listed:
        if step_id == l or step_id.startswith(l + "/"):
            return True
    return False


def leftovers(base):
    """What a comparison left behind: state dirs, cgroups, processes, mounts."""
    found = []
    pid = os.getpid()
    for name in ("runc", "capsa"):
        root = f"/run/{name}-cli-{pid}"
        if os.path.isdir(root) and os.listdir(root):
            found.append(f"state dir {root}: {os.listdir(root)}")
        parent = f"capsa-cli-{name}-{pid}"
        for d in _cgroup_dirs(parent):
            subs = [x for x in os.listdir(d) if os.path.isdir(os.path.join(d, x))]
            if subs:
                found.append(f"cgroup {d}: {subs}")
    mark = f"CAPSA_TEST_MARK=cli{pid}-".encode()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                if mark in f.read():
                    if not _zombie(int(p)):
                        found.append(f"process {p}")
        except OSError:
            pass
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp.startswith(base):
                found.append(f"mount {mp}")
    return found


def _cgroup_dirs(parent):
    out = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(root) == parent:
            out.append(root)
            dirs[:] = []
            continue
        if root.count("/") > 5:
            dirs[:] = []
    return out


def remove_roots(base):
    """The per-session state roots and cgroup parents (ours only, when empty)."""
    pid = os.getpid()
    for name in ("runc", "capsa"):
        shutil.rmtree(f"/run/{name}-cli-{pid}", ignore_errors=True)
        for d in sorted(_cgroup_dirs(f"capsa-cli-{name}-{pid}"), key=len, reverse=True):
            for root, dirs, _ in sorted(os.walk(d, topdown=False), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(root)
                except OSError:
                    pass




# The cases register themselves in CASES when imported.
import cli_cases  # noqa: E402,F401
import cli_cases_hooks  # noqa: E402,F401
