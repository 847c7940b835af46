"""Fixtures for the real-client tests: podman and containerd (ctr) driving capsa.

Everything lives under one temp dir per session (CAPSA_CLIENTS_TMP or mkdtemp):
podman's storage (graphroot/runroot), its tmp_dir and events log, containerd's
root/state/socket and a private /run for containerd's mount namespace. All container
cgroups go below /capsa-clients-<pytest pid> (podman --cgroup-parent, ctr --cgroup),
which this session creates and removes. Podman runs with netns = "none": it must never
create its 10.88.0.0/16 bridge.

The runtime under test is $CAPSA (default build/capsa); CAPSA=/usr/sbin/runc runs the
same tests against runc. capsa is driven with its default --root (/run/capsa): podman's
cleanup process (`podman container cleanup`, started by conmon) does not pass
--runtime-flag on, so a custom --root would leave state behind.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from capsatest import cgroup_copies, cgroup_procs, procs_mentioning, remove_cgroup_tree  # noqa: E402
CAPSA = os.path.abspath(os.environ.get("CAPSA", os.path.join(REPO, "build", "capsa")))
PID = os.getpid()
CG_PARENT = f"/capsa-clients-{PID}"
CG_ROOT = "/sys/fs/cgroup"
TIMEOUT = float(os.environ.get("CAPSA_CLIENTS_TIMEOUT", "30"))
IMAGE = "localhost/busybox:latest"
CTR_IMAGE = "docker.io/library/busybox:latest"


def pytest_report_header(config):
    return [f"clients: runtime {CAPSA}, cgroup parent {CG_PARENT}"]


def _run(argv, check=True, timeout=TIMEOUT, env=None, input=None, cwd=None):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                       input=input, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} -> {p.returncode}\nstdout: {p.stdout}\n"
                             f"stderr: {p.stderr}")
    return p


def _mounts_under(prefix):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == prefix or mp.startswith(prefix + "/"):
                out.append(mp)
    return out



def _on_term(signum, frame):
    """SIGTERM/SIGHUP (a `timeout` around pytest, a closed terminal) end the run as
    Ctrl-C does: pytest then still tears the session fixtures down, so containerd,
    dockerd, their shims and containers are stopped (left running otherwise)."""
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGHUP, _on_term)


def _dead_sessions_engines():
    """Engine processes (containerd, its shims, dockerd) of an earlier clients
    session that died before its teardown (SIGKILL): their command lines name that
    session's /tmp/capsa-clients-PID- directory, and PID is gone."""
    found = []
    for pid, cmd in procs_mentioning("/tmp/capsa-clients-"):
        tail = cmd.split("/tmp/capsa-clients-", 1)[1]
        owner = tail.split("-", 1)[0]
        if owner.isdigit() and int(owner) != PID and not os.path.exists(f"/proc/{owner}"):
            found.append((pid, cmd))
    return found


@pytest.fixture(scope="session")
def session_tmp():
    if not os.path.exists(CAPSA):
        pytest.skip(f"{CAPSA} missing (make)")
    # A clients session killed before its teardown left its engines running: they
    # are this suite's (by their directory), so stop them by pid and say so.
    for pid, cmd in _dead_sessions_engines():
        print(f"\nclients: stopping pid {pid} left by a dead test session: {cmd[:160]}")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    base = tempfile.mkdtemp(prefix=f"capsa-clients-{PID}-")
    os.chmod(base, 0o755)
    existed = {d: os.path.isdir(d) for d in ("/run/capsa", "/run/runc")}
    yield base
    problems = []
    # Processes still in our cgroups (containers, conmon) are ours: kill by pid.
    for d in cgroup_copies(CG_PARENT):
        for pid in cgroup_procs(d):
            problems.append(f"process {pid} left in {d}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.2)
    for mp in reversed(_mounts_under(base)):
        problems.append(f"mount left: {mp}")
        subprocess.run(["umount", "-l", mp], capture_output=True)
    for d in cgroup_copies(CG_PARENT):
        left = remove_cgroup_tree(d)
        if left:
            problems.append(f"cgroups that could not be removed: {left}")
    shutil.rmtree(base, ignore_errors=True)
    for d, was in existed.items():   # the runtimes' default roots, if we made them
        if not was and os.path.isdir(d):
            try:
                os.rmdir(d)
            except OSError:
                problems.append(f"{d} not empty: {os.listdir(d)}")
    if problems:
        raise AssertionError("clients session left things behind:\n" + "\n".join(problems))


@pytest.fixture(scope="session")
def rootfs_tar(session_tmp):
    rootfs = os.path.join(session_tmp, "rootfs")
    _run([os.path.join(REPO, "scripts", "mkrootfs.sh"), rootfs])
    tar = os.path.join(session_tmp, "busybox.tar")
    _run(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", rootfs, "-cf", tar, "."])
    return rootfs, tar


# --- podman --------------------------------------------------------------------

class Podman:
    def __init__(self, base):
        self.base = base
        self.env = dict(os.environ,
                        CONTAINERS_CONF=os.path.join(base, "containers.conf"),
                        CONTAINERS_STORAGE_CONF=os.path.join(base, "storage.conf"),
                        CONTAINERS_REGISTRIES_CONF=os.path.join(base, "registries.conf"))
        self.names = []
        # conmon (cgroup v1) writes an "oom" file into its cwd: keep it in our tmp
        self.cwd = base

    def argv(self, *args):
        return ["podman", "--runtime", CAPSA] + [str(a) for a in args]

    def __call__(self, *args, check=True, timeout=TIMEOUT, input=None):
        return _run(self.argv(*args), check=check, timeout=timeout, env=self.env,
                    input=input, cwd=self.cwd)

    def name(self, tag):
        n = f"cc{PID}-{tag}-{len(self.names)}"
        self.names.append(n)
        return n

    def run(self, *args, **kw):
        """`podman run` with the session's cgroup parent; args are options + image + cmd."""
        return self("run", "--cgroup-parent", CG_PARENT, *args, **kw)

    def inspect(self, name, fmt):
        return self("inspect", "-f", fmt, name).stdout.strip()


@pytest.fixture(scope="session")
def podman(session_tmp, rootfs_tar):
    if shutil.which("podman") is None:
        pytest.skip("podman not installed (scripts/deps.sh)")
    base = os.path.join(session_tmp, "podman")
    os.makedirs(os.path.join(base, "net"))
    with open(os.path.join(base, "containers.conf"), "w") as f:
        f.write(f"""[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"

[network]
network_config_dir = "{base}/net"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/events.log"
tmp_dir = "{base}/libpod-tmp"
volume_path = "{base}/volumes"

[engine.runtimes]
capsa = ["{CAPSA}"]
""")
    with open(os.path.join(base, "storage.conf"), "w") as f:
        f.write(f'[storage]\ndriver = "overlay"\ngraphroot = "{base}/graph"\n'
                f'runroot = "{base}/run"\n')
    with open(os.path.join(base, "registries.conf"), "w") as f:
        f.write("unqualified-search-registries = []\n")
    pm = Podman(base)
    pm("import", "--change", 'CMD ["/bin/sh"]', "--change", "ENV PATH=/bin",
       rootfs_tar[1], IMAGE)
    yield pm
    pm("rm", "-a", "-f", "-t", "0", check=False, timeout=60)
    pm("rmi", "-a", "-f", check=False)
    # podman's storage keeps the overlay home mounted (private bind) until unmounted
    subprocess.run(["umount", "-R", os.path.join(base, "graph", "overlay")],
                   capture_output=True)
    for n in ("cni-podman0", "podman0"):
        assert not os.path.exists(f"/sys/class/net/{n}"), f"podman created bridge {n}"
    leftovers = [x for x in (os.listdir("/run/capsa") if os.path.isdir("/run/capsa") else [])
                 if os.path.exists(os.path.join(base, "graph", "overlay-containers", x))]
    assert not leftovers, f"capsa state left in /run/capsa: {leftovers}"


# --- containerd ----------------------------------------------------------------

class Containerd:
    def __init__(self, base, proc):
        self.base = base
        self.proc = proc
        self.sock = os.path.join(base, "containerd.sock")
        self.ids = []

    def argv(self, *args):
        # ctr must share containerd's mount namespace: the stdio fifos live in its
        # private /run/containerd/fifo.
        return ["nsenter", "-t", str(self.proc.pid), "-m", "--", "ctr", "--address",
                self.sock] + [str(a) for a in args]

    def __call__(self, *args, check=True, timeout=TIMEOUT):
        return _run(self.argv(*args), check=check, timeout=timeout)

    def id(self, tag):
        i = f"cc{PID}-{tag}-{len(self.ids)}"
        self.ids.append(i)
        return i

    def run_args(self, cid):
        return ["run", "--runc-binary", CAPSA, "--cgroup", f"{CG_PARENT}/{cid}"]


@pytest.fixture(scope="session")
def containerd(session_tmp, rootfs_tar):
    for tool in ("containerd", "ctr", "umoci", "unshare", "nsenter"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/deps.sh)")
    base = os.path.join(session_tmp, "containerd")
    for d in ("root", "state", "run", "opt"):
        os.makedirs(os.path.join(base, d))
    sock = os.path.join(base, "containerd.sock")
    conf = os.path.join(base, "config.toml")
    with open(conf, "w") as f:
        f.write(f"""version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
""")
    log = open(os.path.join(base, "containerd.log"), "w")
    proc = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         f'mount --bind "{base}/run" /run && exec containerd --config "{conf}"'],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ctrd = Containerd(base, proc)
    try:
        deadline = time.time() + 20
        while True:
            if proc.poll() is not None:
                raise AssertionError("containerd exited:\n" +
                                     open(os.path.join(base, "containerd.log")).read())
            if os.path.exists(sock) and ctrd("version", check=False).returncode == 0:
                break
            if time.time() > deadline:
                raise AssertionError("containerd did not come up")
            time.sleep(0.1)
        # OCI image layout via umoci, then ctr images import
        lay = os.path.join(base, "oci")
        bun = os.path.join(base, "bundle")
        _run(["umoci", "init", "--layout", lay])
        _run(["umoci", "new", "--image", f"{lay}:latest"])
        _run(["umoci", "unpack", "--image", f"{lay}:latest", bun])
        _run(["cp", "-a", rootfs_tar[0] + "/.", os.path.join(bun, "rootfs")])
        _run(["umoci", "repack", "--image", f"{lay}:latest", bun])
        _run(["umoci", "config", "--image", f"{lay}:latest", "--config.cmd", "/bin/sh",
              "--config.env", "PATH=/bin"])
        tar = os.path.join(base, "oci.tar")
        _run(["tar", "-C", lay, "-cf", tar, "."])
        ctrd("images", "import", "--base-name", "docker.io/library/busybox", tar)
        yield ctrd
    finally:
        # kill and delete every task/container we made, then stop containerd by pid
        for cid in ctrd.ids:
            ctrd("task", "kill", "-s", "SIGKILL", cid, check=False)
        for cid in ctrd.ids:
            for _ in range(20):
                if ctrd("task", "delete", "-f", cid, check=False).returncode != 0:
                    break
                time.sleep(0.1)
            ctrd("container", "delete", cid, check=False)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        # shims started by this containerd name its socket in their cmdline
        time.sleep(0.2)
        shims = procs_mentioning(sock)
        for pid, _ in shims:
            os.kill(pid, signal.SIGKILL)
        assert not shims, f"containerd shims left running: {shims}"
