#!/usr/bin/python3
"""critest (the CRI validation suite, cri-tools v1.26.1) with capsa as a
RuntimeClass handler of containerd's CRI plugin, and runc beside it.

    python3 tests/cri/run.py [--capsa BIN] [--runc BIN|none] [--focus RE] [--skip RE]
                             [--timeout S] [--latency N] [--keep]

1. builds crictl and critest from ../shared/vendor/cri-tools-1.26.1.tar.gz
   ($CRI_TOOLS_TARBALL) with Debian's go, offline, cached in build/cri/bin;
2. builds the test images (tests/cri/images.py, cached in build/cri/registry);
3. starts, in private mount/net/ipc/uts/cgroup namespaces held by one `sleep`,
   the read-only registry on 127.0.0.1 (tests/cri/registry.py) and a containerd
   of its own (root, state, socket under /tmp/capsa-cri-PID) whose CRI plugin
   has two handlers of runtime_type io.containerd.runc.v2: `capsa` (BinaryName:
   a copy of --capsa taken at the start) and `runc`;
4. runs critest with --runtime-handler capsa, then runc (when installed), then
   removes every pod through CRI and reports what the runtime left behind:
   container cgroups, processes, mounts, runtime state dirs (a failure);
5. stops everything it started by pid, removes its cgroups and files, and prints
   runc's result, then capsa's as the closing line: `N passed, M failed, K skipped`
   (a leftover counts as one more failure). Exit status 1 on any failure.

Skips (exit 0, one line) when the cri-tools tarball, go, containerd or the image
sources cannot be had. --latency N measures pod startup instead of critest: runp +
create + start of a busybox pod through crictl, N rounds, handlers interleaved.

Isolation (the machine is shared): the namespaces' cgroup root is
capsa-cri-PID under this process's own cgroup in every hierarchy, and
/sys/fs/cgroup is mounted afresh inside, so containerd's /k8s.io/<id> cgroups are
capsa-cri-PID/k8s.io/<id> on the host; /run and /var/lib are tmpfs inside
(containerd hard-codes /run/containerd/s, libcni /var/lib/cni); the only network
is loopback and a bridge on 169.254.123.0/24 with no gateway, no masquerade and
ip_forward left 0; every registry name resolves to the local registry."""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(REPO, "build", "cri")
TARBALL = os.environ.get("CRI_TOOLS_TARBALL") or os.path.join(
    os.path.dirname(REPO), "shared", "vendor", "cri-tools-1.26.1.tar.gz")
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PORT = 5000
BRIDGE = "cni-capsa0"
PAUSE = "registry.k8s.io/pause:3.6"
BUSYBOX = "registry.k8s.io/e2e-test-images/busybox:1.29-2"
# critest pulls test-image-digest by a fixed upstream manifest digest, which cannot be
# made offline. (runc skips the same spec.)
SKIPS = ["public image with digest should be pulled and removed"]


def log(msg):
    print("cri: " + msg, flush=True)


def skip(msg):
    print("cri: skipped: " + msg, flush=True)
    sys.exit(0)


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# --- cgroups -------------------------------------------------------------------

def hierarchies():
    """[(mount point, fstype, options)] of the host's cgroup mounts at /sys/fs/cgroup
    or directly below it."""
    out = []
    for line in read("/proc/self/mountinfo").splitlines():
        pre, _, post = line.partition(" - ")
        f, p = pre.split(), post.split()
        if len(p) < 3 or p[0] not in ("cgroup", "cgroup2"):
            continue
        mp = f[4]
        if mp != "/sys/fs/cgroup" and os.path.dirname(mp) != "/sys/fs/cgroup":
            continue
        opts = [o for o in p[2].split(",") if o not in ("rw", "ro")]
        out.append((mp, p[0], opts))
    return out


def own_cgroup(fstype, opts):
    want = set(o for o in opts if o in CONTROLLERS or o.startswith("name="))
    for line in read("/proc/self/cgroup").splitlines():
        _, ctrls, path = line.split(":", 2)
        if fstype == "cgroup2" and ctrls == "":
            return path
        if fstype == "cgroup" and ctrls and set(ctrls.split(",")) == want:
            return path
    return "/"


CONTROLLERS = set(l.split()[0] for l in read("/proc/cgroups").splitlines()[1:] if l.strip())


class Cgroups:
    """capsa-cri-PID (the namespaces' cgroup root) and its `daemons` leaf, under
    this process's cgroup in every hierarchy."""

    def __init__(self, name):
        self.hier = hierarchies()
        self.parents = []
        for mp, fstype, opts in self.hier:
            self.parents.append(os.path.normpath(mp + own_cgroup(fstype, opts)) + "/" + name)

    def make(self):
        for p in self.parents:
            for d in (p, p + "/daemons"):
                os.makedirs(d, exist_ok=True)
                for f in ("cpuset.cpus", "cpuset.mems"):  # v1 cpuset starts empty
                    if os.path.exists(os.path.join(d, f)) and not read(os.path.join(d, f)).strip():
                        write(os.path.join(d, f), read(os.path.join(os.path.dirname(d), f)))

    def enter(self, leaf=""):
        pid = str(os.getpid())
        for p in self.parents:
            write(os.path.join(p, leaf, "cgroup.procs"), pid)

    def dirs(self):
        """Every cgroup below the parents, deepest first."""
        out = []
        for p in self.parents:
            for dirpath, dirnames, _ in os.walk(p):
                for d in dirnames:
                    out.append(os.path.join(dirpath, d))
        return sorted(out, key=lambda d: -d.count("/"))

    def container_dirs(self):
        """Every cgroup below the parents but the daemons leaf: the containers'."""
        daemons = tuple(p + "/daemons" for p in self.parents)
        return [d for d in self.dirs() if not d.startswith(daemons)]

    def pids(self, dirs=None):
        out = set()
        for d in (self.dirs() + self.parents if dirs is None else dirs):
            for line in read(os.path.join(d, "cgroup.procs")).split():
                out.add(int(line))
        return out

    def remove(self):
        """Thaw (v1 freezer) and remove every cgroup of ours; the ones that stay."""
        for d in self.dirs() + self.parents:
            if os.path.exists(os.path.join(d, "freezer.state")):
                try:
                    write(os.path.join(d, "freezer.state"), "THAWED")
                except OSError:
                    pass
        left = []
        for d in self.dirs() + self.parents:
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                left.append("%s (%s)" % (d, e.strerror))
        return left


# --- the harness ---------------------------------------------------------------

class Harness:
    def __init__(self, args):
        self.args = args
        self.top = "/tmp/capsa-cri-%d" % os.getpid()
        self.cg = Cgroups("capsa-cri-%d" % os.getpid())
        self.holder = None
        self.procs = {}
        self.sock = self.top + "/containerd.sock"
        self.crictl = [BUILD + "/bin/crictl", "--runtime-endpoint", "unix://" + self.sock,
                       "--image-endpoint", "unix://" + self.sock, "--timeout", "60s"]
        self.handlers = {"capsa": self.top + "/bin/capsa"}
        if args.runc:
            self.handlers["runc"] = args.runc

    # processes
    def env(self):
        return {"PATH": CLEAN_PATH, "HOME": "/root", "TMPDIR": self.top + "/tmp",
                "LANG": "C.UTF-8"}

    def inside(self, cmd):
        return ["nsenter", "-t", str(self.holder), "-m", "-n", "-i", "-u", "-C", "--", *cmd]

    def popen(self, cmd, out, leaf="daemons", **kw):
        cg = self.cg
        return subprocess.Popen(self.inside(cmd), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=self.env(),
                                preexec_fn=lambda: cg.enter(leaf), start_new_session=True, **kw)

    def run_in(self, cmd, timeout=120, check=True):
        r = subprocess.run(self.inside(cmd), stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, env=self.env(), timeout=timeout,
                           preexec_fn=lambda: self.cg.enter("daemons"))
        if check and r.returncode != 0:
            raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd[:3]), r.returncode,
                                                     (r.stderr or r.stdout).strip()[-500:]))
        return r

    def crictl_run(self, *args, timeout=120, check=True):
        return self.run_in(self.crictl + list(args), timeout=timeout, check=check)

    # setup
    def start(self):
        os.makedirs(self.top + "/tmp")
        os.makedirs(self.top + "/bin")
        os.makedirs(self.top + "/logs")
        shutil.copy(self.args.capsa, self.handlers["capsa"])
        self.write_config()
        self.cg.make()
        cg = self.cg
        h = subprocess.Popen(["unshare", "--cgroup", "--mount", "--net", "--ipc", "--uts",
                              "--propagation", "private", "sleep", "infinity"],
                             stdin=subprocess.DEVNULL, preexec_fn=lambda: cg.enter(""),
                             start_new_session=True, env=self.env())
        self.procs["holder"] = h
        mine = os.readlink("/proc/self/ns/mnt")
        for _ in range(200):
            try:
                if os.readlink("/proc/%d/ns/mnt" % h.pid) != mine and \
                        os.readlink("/proc/%d/ns/cgroup" % h.pid) != os.readlink("/proc/self/ns/cgroup"):
                    break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            raise RuntimeError("the namespace holder did not start")
        self.holder = h.pid
        for p in self.cg.parents:
            write(p + "/daemons/cgroup.procs", str(h.pid))
        self.run_in(["sh", "-e", "-c", self.ns_script()])
        reg = open(self.top + "/logs/registry.log", "w")
        self.procs["registry"] = self.popen(
            ["/usr/bin/python3", HERE + "/registry.py", BUILD + "/registry", str(PORT)], reg)
        ctd = open(self.top + "/logs/containerd.log", "w")
        self.procs["containerd"] = self.popen(["containerd", "--config", self.top + "/config.toml"], ctd)
        for _ in range(150):
            if self.procs["containerd"].poll() is not None:
                raise RuntimeError("containerd exited: " + read(self.top + "/logs/containerd.log")[-800:])
            if os.path.exists(self.sock) and \
                    self.crictl_run("version", check=False, timeout=10).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("containerd did not answer on " + self.sock)
        for line in read(BUILD + "/registry/images.txt").splitlines():
            ref = line.split()[0]
            self.crictl_run("pull", ref)

    def ns_script(self):
        lines = ["mount -t tmpfs -o mode=755,size=256m capsa-cri-run /run", "mkdir -p /run/lock",
                 "mount -t tmpfs -o mode=755,size=256m capsa-cri-varlib /var/lib"]
        # the cgroup hierarchies afresh: their root is now the namespace's, capsa-cri-PID
        if len(self.cg.hier) == 1 and self.cg.hier[0][0] == "/sys/fs/cgroup":
            lines.append("mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup")
        else:
            lines.append("mount -t tmpfs -o mode=755 capsa-cri-cgroup /sys/fs/cgroup")
            for mp, fstype, opts in self.cg.hier:
                o = [x for x in opts if x in CONTROLLERS or x.startswith("name=") or x == "none"]
                if fstype == "cgroup" and not any(x in CONTROLLERS for x in o):
                    o = ["none"] + o
                lines.append("mkdir -p %s" % mp)
                lines.append("mount -t %s %s %s %s" % (fstype, "-o " + ",".join(o) if o else "",
                                                       fstype, mp))
            for n in os.listdir("/sys/fs/cgroup"):
                p = "/sys/fs/cgroup/" + n
                if os.path.islink(p):
                    lines.append("ln -s %s %s" % (os.readlink(p), p))
        lines += ["ip link set lo up",
                  "ip link add %s type bridge" % BRIDGE,
                  "ip addr add 169.254.123.1/24 dev %s" % BRIDGE,
                  "ip link set %s up" % BRIDGE,
                  "test \"$(cat /proc/sys/net/ipv4/ip_forward)\" = 0"]
        return "\n".join(lines)

    def write_config(self):
        t = self.top
        runtimes = ""
        for name, binary in self.handlers.items():
            runtimes += """
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{n}]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{n}.options]
          BinaryName = "{b}"
          Root = "{t}/state/runtime-root/{n}"
          SystemdCgroup = false
""".format(n=name, b=binary, t=t)
        write(t + "/config.toml", CONFIG.format(t=t, runtimes=runtimes, pause=PAUSE))
        os.makedirs(t + "/cni")
        write(t + "/cni/10-capsa-cri.conflist", json.dumps({
            "cniVersion": "1.0.0", "name": "capsa-cri",
            "plugins": [
                {"type": "bridge", "bridge": BRIDGE, "isGateway": False,
                 "isDefaultGateway": False, "ipMasq": False, "hairpinMode": True,
                 "ipam": {"type": "host-local", "dataDir": t + "/state/cni-ipam", "routes": [],
                          "ranges": [[{"subnet": "169.254.123.0/24",
                                       "rangeStart": "169.254.123.10",
                                       "rangeEnd": "169.254.123.250",
                                       "gateway": "169.254.123.1"}]]}},
                {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}]},
            indent=1))
        for r in ("_default", "registry.k8s.io", "gcr.io", "k8s.gcr.io", "docker.io"):
            os.makedirs(t + "/certs.d/" + r)
            write(t + "/certs.d/%s/hosts.toml" % r,
                  'server = "http://127.0.0.1:{p}"\n[host."http://127.0.0.1:{p}"]\n'
                  '  capabilities = ["pull", "resolve"]\n'.format(p=PORT))

    # what the runtime leaves
    def mounts_inside(self):
        return [l.split()[4] for l in read("/proc/%d/mountinfo" % self.holder).splitlines()]

    def leftovers(self, handler, mounts_before):
        """After every pod was removed through CRI: what is still there."""
        left = []
        # the containerd namespace's parent (/k8s.io) is shared by every container:
        # runc leaves it, capsa removes it when its create made it; only what is
        # below it (a container's own cgroup) is a leftover
        for d in self.cg.container_dirs():
            if not any(d == p + "/k8s.io" for p in self.cg.parents):
                left.append("cgroup " + d)
        for pid in sorted(self.cg.pids(self.cg.container_dirs())):
            left.append("process %d (%s)" % (pid, read("/proc/%d/cmdline" % pid).replace("\0", " ")[:100]))
        known = {p.pid for p in self.procs.values()}
        for pid in sorted(self.cg.pids([p + "/daemons" for p in self.cg.parents]) - known):
            cmd = read("/proc/%d/cmdline" % pid).replace("\0", " ")
            if cmd and "nsenter" not in cmd and "crictl" not in cmd:
                left.append("process %d (%s)" % (pid, cmd[:100]))
        after = self.mounts_inside()
        for mp in sorted(set(after) - set(mounts_before)):
            left.append("mount " + mp)
        root = "%s/state/runtime-root/%s/k8s.io" % (self.top, handler)  # the shim's --root
        if os.path.isdir(root):
            for n in sorted(os.listdir(root)):
                left.append("runtime state %s/%s" % (root, n))
        return left

    def remove_all_pods(self):
        self.crictl_run("rmp", "-fa", check=False, timeout=300)
        self.crictl_run("rm", "-fa", check=False, timeout=120)

    # critest
    def critest(self, handler):
        out = os.path.join(BUILD, "results", handler)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        mounts_before = self.mounts_inside()
        ctd_log = self.top + "/logs/containerd.log"
        log_from = os.path.getsize(ctd_log)
        cmd = [BUILD + "/bin/critest", "--runtime-endpoint", "unix://" + self.sock,
               "--image-endpoint", "unix://" + self.sock, "--runtime-handler", handler,
               "--ginkgo.no-color", "--ginkgo.timeout=%ds" % self.args.timeout,
               "--ginkgo.json-report=" + out + "/report.json"]
        for s in SKIPS + ([self.args.skip] if self.args.skip else []):
            cmd.append("--ginkgo.skip=" + s)
        if self.args.focus:
            cmd.append("--ginkgo.focus=" + self.args.focus)
        t0 = time.monotonic()
        with open(out + "/critest.log", "w") as f:
            p = self.popen(cmd, f)
            self.procs["critest"] = p
            try:
                p.wait(timeout=self.args.timeout + 60)
            except subprocess.TimeoutExpired:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            del self.procs["critest"]
        secs = time.monotonic() - t0
        self.remove_all_pods()
        left = self.leftovers(handler, mounts_before)
        with open(ctd_log, errors="replace") as f:
            f.seek(log_from)
            write(out + "/containerd.log", f.read())
        res = parse_report(out + "/report.json")
        res.update(secs=secs, left=left, out=out)
        with open(out + "/summary.txt", "w") as f:
            f.write(summary(handler, res))
        return res

    # latency
    def latency(self, rounds):
        d = self.top + "/lat"
        os.makedirs(d + "/logs")
        times = {h: [] for h in self.handlers}
        order = list(self.handlers)
        for i in range(rounds):
            for h in (order if i % 2 == 0 else order[::-1]):
                pod = "%s/pod-%s-%d.json" % (d, h, i)
                ctr = d + "/ctr.json"
                write(pod, json.dumps({"metadata": {"name": "lat-%s-%d" % (h, i),
                                                    "namespace": "default",
                                                    "uid": "lat-%s-%d" % (h, i)},
                                       "log_directory": d + "/logs", "linux": {}}))
                write(ctr, json.dumps({"metadata": {"name": "sleeper"},
                                       "image": {"image": BUSYBOX},
                                       "command": ["sleep", "3600"],
                                       "log_path": "sleeper.log", "linux": {}}))
                t0 = time.monotonic()
                podid = self.crictl_run("runp", "--runtime", h, pod).stdout.strip()
                cid = self.crictl_run("create", podid, ctr, pod).stdout.strip()
                self.crictl_run("start", cid)
                times[h].append(time.monotonic() - t0)
                self.crictl_run("stopp", podid)
                self.crictl_run("rmp", podid)
        return times

    # teardown
    def stop(self):
        problems = []
        c = self.procs.get("containerd")
        if c and c.poll() is None:
            if self.holder:
                try:
                    self.remove_all_pods()
                except Exception as e:
                    problems.append("removing pods: %s" % e)
            c.terminate()
            try:
                c.wait(timeout=15)
            except subprocess.TimeoutExpired:
                c.kill()
                c.wait()
        for name in ("registry", "critest"):
            p = self.procs.get(name)
            if p and p.poll() is None:
                p.terminate()
                p.wait()
        # everything else of ours is in our cgroups (shims, containers, the holder)
        for _ in range(10):
            pids = self.cg.pids() - {os.getpid()}
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.3)
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
        problems += ["cgroup not removed: " + x for x in self.cg.remove()]
        host_mounts = [l.split()[4] for l in read("/proc/self/mountinfo").splitlines()
                       if l.split()[4].startswith(self.top)]
        if host_mounts:
            problems.append("mounts on the host under %s: %s" % (self.top, host_mounts))
        elif os.path.isdir(self.top):
            shutil.rmtree(self.top, ignore_errors=True)
        return problems


CONFIG = """# generated by tests/cri/run.py: a private containerd for critest
version = 2
root = "{t}/root"
state = "{t}/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{t}/containerd.sock"
[ttrpc]
  address = "{t}/containerd.sock.ttrpc"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{pause}"
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    disable_apparmor = true
    netns_mounts_under_state_dir = true
    # these machines drop CAP_SYS_RESOURCE: the pause container's oom_score_adj of
    # -998 cannot be set, so clamp it to containerd's own
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "capsa"
{runtimes}
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "{t}/cni"
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "{t}/certs.d"
"""


def parse_report(path):
    try:
        with open(path) as f:
            rep = json.load(f)
    except (OSError, ValueError):
        return {"passed": [], "failed": [], "skipped": [], "error": "no report (critest crashed?)"}
    res = {"passed": [], "failed": [], "skipped": []}
    for suite in rep:
        for s in suite.get("SpecReports") or []:
            if s.get("LeafNodeType") != "It":
                continue
            texts = (s.get("ContainerHierarchyTexts") or []) + [s.get("LeafNodeText", "")]
            name = " ".join(t for t in texts if t)
            state = s.get("State")
            if state == "passed":
                res["passed"].append(name)
            elif state in ("skipped", "pending"):
                res["skipped"].append(name)
            else:
                msg = (s.get("Failure") or {}).get("Message", "")
                res["failed"].append((name, state, " | ".join(
                    l.strip() for l in msg.splitlines() if l.strip())[:400]))
    return res


def counts(res):
    failed = len(res["failed"]) + (1 if res.get("left") else 0) + (1 if res.get("error") else 0)
    return "%d passed, %d failed, %d skipped" % (len(res["passed"]), failed, len(res["skipped"]))


def summary(handler, res):
    lines = ["%s: critest %.0f s, results in %s" % (handler, res["secs"], res["out"])]
    if res.get("error"):
        lines.append("  ERROR " + res["error"])
    for name, state, msg in sorted(res["failed"]):
        lines.append("  FAILED [%s] %s\n      %s" % (state, name, msg))
    if res["left"]:
        lines.append("  LEFT BEHIND by the runtime after all pods were removed:")
        lines += ["      " + x for x in res["left"]]
    else:
        lines.append("  nothing left behind (cgroups, processes, mounts, runtime state)")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--capsa", default=os.path.join(REPO, "build", "capsa"))
    ap.add_argument("--runc", default=shutil.which("runc"),
                    help="runc for the comparison run ('none': no comparison)")
    ap.add_argument("--focus", default="")
    ap.add_argument("--skip", default="")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("CRI_TIMEOUT", "900")),
                    help="seconds for each critest run (default 900)")
    ap.add_argument("--only", choices=["capsa", "runc"], help="run critest with one handler")
    ap.add_argument("--latency", type=int, default=0, metavar="N",
                    help="measure pod startup (N rounds) instead of running critest")
    args = ap.parse_args()
    if args.runc == "none":
        args.runc = None
    if os.geteuid() != 0:
        skip("needs root")
    if not os.path.isfile(TARBALL):
        skip("no cri-tools source at %s (set CRI_TOOLS_TARBALL)" % TARBALL)
    if not shutil.which("go"):
        skip("no go compiler (Debian: golang-go; scripts/deps.sh installs it)")
    for tool in ("containerd", "unshare", "nsenter", "ip"):
        if not shutil.which(tool):
            skip("%s is not installed" % tool)
    if not os.path.isdir("/usr/lib/cni") or not os.path.exists("/usr/lib/cni/bridge"):
        skip("no CNI plugins in /usr/lib/cni (Debian: containernetworking-plugins)")
    if not os.access(args.capsa, os.X_OK):
        sys.exit("cri: %s is not an executable (make first)" % args.capsa)
    t0 = time.monotonic()
    r = subprocess.run([HERE + "/build-tools.sh", TARBALL, BUILD])
    if r.returncode != 0:
        sys.exit("cri: building crictl and critest failed")
    stamp = BUILD + "/registry/.stamp"
    want = "%s %s" % (os.path.getmtime(HERE + "/images.py"), os.path.getmtime(HERE + "/src/pause.c"))
    if read(stamp) != want:
        r = subprocess.run(["/usr/bin/python3", HERE + "/images.py", BUILD + "/registry",
                            BUILD + "/debs"])
        if r.returncode == 3:
            skip("the test images cannot be built (see the line above)")
        if r.returncode != 0:
            sys.exit("cri: building the test images failed")
        write(stamp, want)
    log("tools and images ready (%.0f s)" % (time.monotonic() - t0))

    h = Harness(args)
    results = {}
    problems = []

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        h.start()
        log("containerd and registry up, %d images pulled (%.0f s)"
            % (len(read(BUILD + "/registry/images.txt").splitlines()), time.monotonic() - t0))
        if args.latency:
            times = h.latency(args.latency)
            for name, ts in times.items():
                log("pod startup with %s (runp + create + start through crictl, %d pods): "
                    "median %.0f ms, min %.0f ms, max %.0f ms"
                    % (name, len(ts), 1000 * statistics.median(ts), 1000 * min(ts), 1000 * max(ts)))
            return 0
        for name in h.handlers:
            if args.only and name != args.only:
                continue
            log("critest with handler %s (%s)" % (name, args.capsa if name == "capsa" else args.runc))
            results[name] = h.critest(name)
            sys.stdout.write(summary(name, results[name]))
    except KeyboardInterrupt:
        problems.append("interrupted")
    except Exception as e:
        problems.append("harness: %s" % e)
    finally:
        problems += h.stop()
    for p in problems:
        log("PROBLEM " + p)
    if "runc" in results:
        print("comparison with runc as the handler: " + counts(results["runc"]))
    if "capsa" in results:
        res = results["capsa"]
        if "runc" in results:
            worse = sorted(set(results["runc"]["passed"]) - set(res["passed"]))
            if worse:
                log("%d specs pass with runc and not with capsa" % len(worse))
        log("total %.0f s" % (time.monotonic() - t0))
        print(counts(res))
        return 1 if (res["failed"] or res["left"] or res.get("error") or problems) else 0
    if problems:
        print("0 passed, 1 failed, 0 skipped")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
