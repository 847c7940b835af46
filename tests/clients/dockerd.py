"""A private, throw-away Docker Engine for tests/clients/test_docker.py.

Dockerd (Debian's docker.io 20.10) runs with all of its state under one temp dir:
--data-root, --exec-root, a unix socket, --pidfile, its own containerd namespace,
--cgroup-parent /capsa-docker-<pid>[-suffix], no bridge, no iptables, no forwarding
(Docker's default bridge would be 172.17.0.0/16). It runs in a private mount namespace
(`unshare -m --propagation private`) with a tmpfs on /run, so the host paths dockerd and
containerd 1.6 hard-code (/run/docker/plugins, /run/containerd/s) and every mount they
make (overlay rootfs, netns files, shm) stay out of the host's mount table and go away
with the namespace. daemon.json's "deprecated-key-path" keeps /etc/docker/key.json
unwritten.

Everything started is stopped by pid: dockerd (which stops its containerd), then any
containerd, shim or container process still found (by exec-root in the command line or
by membership of our cgroups). stop() returns a list of what was left behind, for the
test to assert on.
"""
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
from capsatest import cgroup_copies, cgroup_procs  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "compat"))
from sanitize import sanitize  # noqa: E402

DOCKER = "/usr/bin/docker"      # Debian's 20.10 client; /usr/local/bin/docker may be newer
DOCKERD = "/usr/sbin/dockerd"
CG_ROOT = "/sys/fs/cgroup"
IMAGE = "capsabusybox:latest"
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def have_docker():
    """None if usable, else the one-line reason to skip."""
    for b in (DOCKER, DOCKERD, "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2"):
        if not os.access(b, os.X_OK):
            return f"docker.io is not installed ({b} missing; scripts/deps.sh installs it)"
    if not os.access("/bin/busybox", os.X_OK):
        return "busybox-static is not installed (/bin/busybox)"
    if os.geteuid() != 0:
        return "needs root"
    return None


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of ours is dead too
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _stop_pid(pid, grace):
    if not pid or not _alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + grace
    while time.monotonic() < end and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        end = time.monotonic() + 5
        while time.monotonic() < end and _alive(pid):
            time.sleep(0.05)


def build_image_tar(dest):
    """A busybox-static rootfs as a tarball for `docker import`."""
    root = os.path.join(os.path.dirname(dest), "rootfs")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "etc", "tmp", "root", "home/user", "proc", "sys", "dev", "www"):
        os.makedirs(os.path.join(root, d))
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    shutil.copy2("/bin/busybox", os.path.join(root, "bin/busybox"))
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(root, "bin", a))
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n")
    os.chown(os.path.join(root, "home/user"), 1000, 1000)
    with open(os.path.join(root, "www/index.html"), "w") as f:
        f.write("capsa-httpd-ok\n")
    subprocess.run(["tar", "--numeric-owner", "-C", root, "-cf", dest, "."], check=True)
    shutil.rmtree(root)
    return dest


class Dockerd:
    def __init__(self, base, name, runtimes=None, add_runtime=None, extra=(), ready=60,
                 systemd=False):
        """runtimes: {name: path} for daemon.json; add_runtime: {name: path} for
        --add-runtime flags (the two registration forms; do not mix one name).
        systemd: on a host whose PID 1 is systemd (tests/vm/systemd), Docker's systemd
        cgroup driver (native.cgroupdriver=systemd: the containers' scopes in
        system.slice), vfs storage (the guest's root is an overlay), and the host's /run
        left visible (the runtime needs systemd's bus)."""
        self.base = base
        self.name = name
        self.systemd = systemd
        self.ns = f"capsa-docker-{os.getpid()}-{name}"
        self.cg_parent = None if systemd else f"/capsa-docker-{os.getpid()}-{name}"
        self.sock = os.path.join(base, "docker.sock")
        self.data = os.path.join(base, "data")
        self.exec_root = os.path.join(base, "exec")
        self.log = os.path.join(base, "dockerd.log")
        self.runtimes = runtimes or {}
        self.add_runtime = add_runtime or {}
        self.extra = list(extra)
        self.ready = ready
        self.proc = None
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}",
                        DOCKER_CONFIG=os.path.join(base, "cli"), PATH=PATH)
        for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
            self.env.pop(k, None)

    # ---------------------------------------------------------------- lifecycle
    def start(self):
        os.makedirs(os.path.join(self.base, "cli"), exist_ok=True)
        os.chmod(self.base, 0o755)
        with open(os.path.join(self.base, "cli", "config.json"), "w") as f:
            f.write("{}")
        conf = {"deprecated-key-path": os.path.join(self.base, "key.json")}
        if self.runtimes:
            conf["runtimes"] = {k: {"path": v} for k, v in self.runtimes.items()}
        self.config_file = os.path.join(self.base, "daemon.json")
        with open(self.config_file, "w") as f:
            json.dump(conf, f)
        argv = [DOCKERD, "--config-file", self.config_file, "--data-root", self.data,
                "--exec-root", self.exec_root, "--pidfile", os.path.join(self.base, "docker.pid"),
                "-H", f"unix://{self.sock}", "--containerd-namespace", self.ns,
                "--containerd-plugins-namespace", self.ns + "-plugins",
                "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                "--ip-masq=false"]
        if self.systemd:
            argv += ["--exec-opt", "native.cgroupdriver=systemd", "--storage-driver", "vfs"]
        else:
            argv += ["--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent",
                     self.cg_parent, "--storage-driver", "overlay2"]
        for k, v in self.add_runtime.items():
            argv += ["--add-runtime", f"{k}={v}"]
        argv += self.extra
        # sh execs dockerd: the pid we hold is dockerd's.
        script = ('exec "$@"' if self.systemd else
                  'mount -t tmpfs -o mode=755 capsa-docker-run /run && exec "$@"')
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh"]
            + argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=self.env,
            start_new_session=True)
        logf.close()
        end = time.monotonic() + self.ready
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited ({self.proc.returncode}): {self.log_tail()}")
            if os.path.exists(self.sock):
                p = subprocess.run([DOCKER, "version", "-f", "{{.Server.Version}}"],
                                   capture_output=True, text=True, env=self.env, timeout=10)
                if p.returncode == 0:
                    self.version = p.stdout.strip()
                    break
            if time.monotonic() > end:
                raise RuntimeError(f"dockerd not ready after {self.ready}s: {self.log_tail()}")
            time.sleep(0.1)
        return self

    def log_tail(self, n=15):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def import_image(self, tar):
        self.docker("import", "--change", 'CMD ["sh"]', "--change", f"ENV PATH={PATH}",
                    tar, IMAGE, timeout=60)

    def containerd_pid(self):
        try:
            with open(os.path.join(self.exec_root, "containerd", "containerd.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def cgroup_dirs(self):
        return cgroup_copies(self.cg_parent, CG_ROOT) if self.cg_parent else []

    def our_pids(self):
        """Processes that belong to this daemon: command line naming our base dir or
        namespace, or sitting in our cgroups."""
        pids = set()
        me = os.getpid()
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) == me:
                continue
            c = _cmdline(p)
            if self.base in c or f"-namespace {self.ns} " in c + " ":
                pids.add(int(p))
        for d in self.cgroup_dirs():
            pids.update(cgroup_procs(d))
        return pids

    def stop(self):
        """Stop everything, remove the state. Returns a list of leftovers (strings)."""
        left = []
        cpid = self.containerd_pid()
        if self.proc and self.proc.poll() is None:
            p = subprocess.run([DOCKER, "ps", "-aq"], capture_output=True, text=True,
                               env=self.env, timeout=30)
            ids = p.stdout.split()
            if ids:
                subprocess.run([DOCKER, "rm", "-f"] + ids, capture_output=True, env=self.env,
                               timeout=120)
            _stop_pid(self.proc.pid, 30)
            self.proc.wait()
        if cpid and _alive(cpid) and self.exec_root in _cmdline(cpid):
            _stop_pid(cpid, 10)
        for _ in range(3):
            pids = self.our_pids()
            if not pids:
                break
            for p in pids:
                left.append(f"process {p} still running: {_cmdline(p)[:120]}")
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.3)
        # The mount namespace died with its last process; nothing of ours may be in the
        # host's mount table.
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if mp == self.base or mp.startswith(self.base + "/"):
                    left.append(f"mount {mp}")
                    subprocess.run(["umount", "-l", mp], capture_output=True)
        for d in self.cgroup_dirs():
            for root, dirs, _ in os.walk(d, topdown=False):
                for x in dirs:
                    try:
                        os.rmdir(os.path.join(root, x))
                        # a container's cgroup is the runtime's to remove
                        left.append(f"cgroup {os.path.join(root, x)}")
                    except OSError as e:
                        left.append(f"cgroup {os.path.join(root, x)}: {e}")
            try:
                os.rmdir(d)    # the parent is dockerd's making: ours to remove
            except OSError as e:
                left.append(f"cgroup {d}: {e}")
        shutil.rmtree(self.base, ignore_errors=True)
        return left

    # ---------------------------------------------------------------- client
    def docker(self, *args, check=True, timeout=60, input=None):
        p = subprocess.run([DOCKER, *args], capture_output=True, text=True, env=self.env,
                           timeout=timeout, input=input)
        if check and p.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} -> {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def inspect(self, name, fmt):
        return self.docker("inspect", "-f", fmt, name).stdout.strip()


def ptyrun(argv, env, size=(40, 120), wait_for=None, send=None, timeout=30):
    """Run argv on a new pseudo-terminal of the given size; once wait_for (bytes)
    shows up in the output, type send (bytes). Returns (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    out = b""
    sent = send is None
    status = None
    end = time.monotonic() + timeout
    while True:
        if time.monotonic() > end:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(fd)
            return 124, out.decode(errors="replace")
        if not sent and (wait_for is None or wait_for in out):
            time.sleep(0.2)
            os.write(fd, send)
            sent = True
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            out += data
        if status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = st
    if status is None:
        _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


# ---------------------------------------------------------------- corpus capture
# `python3 tests/clients/dockerd.py OUTDIR [CAPSA]`: run Docker's typical configs once
# (runtime runc, or CAPSA if given) and save the config.json dockerd wrote, sanitized
# the way tests/compat/refresh-corpus.sh does (placeholders, see
# tests/compat/corpus/SOURCES.md), as OUTDIR/docker-NAME.json.
CORPUS_RUNS = {
    "run": [],
    "options": ["--memory", "64m", "--memory-swap", "128m", "--memory-reservation", "32m",
                "--cpus", "0.5", "--cpu-shares", "512", "--cpuset-cpus", "0",
                "--pids-limit", "50", "--blkio-weight", "300", "--oom-score-adj", "500",
                "--ulimit", "nofile=512:1024", "--shm-size", "8m",
                "--sysctl", "kernel.shmmax=123456789", "--cap-drop", "ALL",
                "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges",
                "--read-only", "--tmpfs", "/tmp:rw,size=2m,mode=1777", "--user", "1000:1000",
                "--init", "--hostname", "capsahost", "-e", "FOO=bar", "-w", "/tmp",
                "--device", "/dev/null:/dev/mynull", "--ipc", "shareable"],
    "tty": ["-t", "-i"],
    # its netns path (exec-root/netns/default) becomes an @NS:network@ placeholder that
    # tests/compat/conftest.py fills with a namespace the test makes
    "nethost": ["--network", "host"],
    # ALL but SYS_RESOURCE, which this sandbox's bounding set lacks
    "unconfined": ["--security-opt", "seccomp=unconfined", "--cap-add", "ALL",
                   "--cap-drop", "SYS_RESOURCE"],
}


def _sanitize(c, base):
    # Docker's prestart hook is libnetwork-setkey run as /proc/<dockerd pid>/exe: it
    # reports to the dockerd that wrote the config. Elsewhere /bin/true stands in.
    for hooks in c.get("hooks", {}).values():
        for h in hooks:
            if re.fullmatch(r"/proc/\d+/exe", h.get("path", "")):
                h["path"] = "/bin/true"
    return sanitize(c, base)


def capture(outdir, runtime_path=None):
    import tempfile
    base = tempfile.mkdtemp(prefix="capsa-docker-corpus-")
    d = Dockerd(base, "corpus", runtimes={"rt": runtime_path or shutil.which("runc")})
    try:
        d.start()
        d.import_image(build_image_tar(os.path.join(base, "image.tar")))
        for name, opts in CORPUS_RUNS.items():
            net = [] if "--network" in opts else ["--network", "none"]
            cid = d.docker("run", "-d", "--runtime", "rt", *net, "--pull", "never", *opts,
                           IMAGE, "sleep", "300").stdout.strip()
            task = os.path.join(d.exec_root, "containerd", "daemon",
                                "io.containerd.runtime.v2.task", d.ns, cid, "config.json")
            with open(task) as f:
                c = json.load(f)
            c = _sanitize(c, base)
            with open(os.path.join(outdir, f"docker-{name}.json"), "w") as f:
                json.dump(c, f, indent=2, sort_keys=True)
                f.write("\n")
            d.docker("rm", "-f", cid)
        return d.version
    finally:
        left = d.stop()
        if left:
            raise RuntimeError(f"left behind: {left}")


if __name__ == "__main__":
    import sys
    print(capture(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
