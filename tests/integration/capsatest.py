"""Plain helpers shared by the integration tests (fixtures live in conftest.py).

The binary under test is $CAPSA (default /work/main/build/capsa); the suite is
runc-compatible so it can be pointed at runc (CAPSA=/usr/sbin/runc) to validate the
tests themselves. Tests of capsa-only behaviour carry @pytest.mark.capsa_only and are
expected to fail (xfail) against another runtime.
"""
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CAPSA = os.path.abspath(os.environ.get(
    "CAPSA", os.path.join(HERE, "..", "..", "build", "capsa")))
IS_CAPSA = os.path.basename(CAPSA).startswith("capsa")
SESSION_PID = os.getpid()
CGROUP_PARENT = f"capsa-test-{SESSION_PID}"
BUSYBOX = "/bin/busybox"

# --- capabilities -------------------------------------------------------------

CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}

# The 14 capabilities runc/containerd/docker give a container by default.
DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]


def cap_mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_NUMBERS[n]
    return m


def status_caps(status_text):
    """{'CapInh': int, 'CapPrm': ..., 'CapEff': ..., 'CapBnd': ..., 'CapAmb': ...}"""
    caps = {}
    for line in status_text.splitlines():
        k, _, v = line.partition(":")
        if k.startswith("Cap"):
            caps[k] = int(v.strip(), 16)
    return caps


# --- mountinfo ----------------------------------------------------------------

def _unescape(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def parse_mountinfo(text):
    """List of dicts: id, parent, root, mount_point, opts (set), optional (list),
    fstype, source, super_opts (set)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        pre, _, post = line.partition(" - ")
        f = pre.split()
        p = post.split()
        out.append({
            "id": int(f[0]), "parent": int(f[1]), "devno": f[2],
            "root": _unescape(f[3]), "mount_point": _unescape(f[4]),
            "opts": set(f[5].split(",")), "optional": f[6:],
            "fstype": p[0] if p else "", "source": p[1] if len(p) > 1 else "",
            "super_opts": set(p[2].split(",")) if len(p) > 2 else set(),
        })
    return out


def mount_at(mounts, mount_point):
    """The top-most (last) mount at mount_point, or None."""
    found = [m for m in mounts if m["mount_point"] == mount_point]
    return found[-1] if found else None


# --- config.json --------------------------------------------------------------

DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "TERM=xterm"]

DEFAULT_MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
]

MASKED_PATHS = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def default_config(args=("true",), marker="", cgroups_path=None, rootfs="rootfs"):
    """A config.json dict mirroring `runc spec` defaults (plus a cgroup namespace,
    the 14 default capabilities, terminal off)."""
    env = list(DEFAULT_ENV)
    if marker:
        # Lets the leftover check find this test's container processes by environ.
        env.append(f"CAPSA_TEST_MARK={marker}")
    cfg = {
        "ociVersion": "1.2.0",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": env,
            "cwd": "/",
            "capabilities": {
                "bounding": list(DEFAULT_CAPS),
                "effective": list(DEFAULT_CAPS),
                "permitted": list(DEFAULT_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": True},
        "hostname": "capsa-test",
        "mounts": copy.deepcopy(DEFAULT_MOUNTS),
        "linux": {
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }
    if cgroups_path:
        cfg["linux"]["cgroupsPath"] = cgroups_path
    return cfg


def set_namespace(cfg, ns_type, path=None, present=True):
    """Add/replace (or remove with present=False) one linux.namespaces entry."""
    nss = [n for n in cfg["linux"]["namespaces"] if n["type"] != ns_type]
    if present:
        e = {"type": ns_type}
        if path:
            e["path"] = path
        nss.append(e)
    cfg["linux"]["namespaces"] = nss


# --- root filesystem ----------------------------------------------------------

APPLETS = """sh ash echo cat ls id hostname ps sleep mount readlink true false stat touch
mkdir grep env pwd head tail wc ln rm test [ uname printf kill tr cut sed awk od
dd chmod umount mknod find sort uniq seq basename dirname xargs nproc df tee date
rmdir mv cp expr which dmesg yes""".split()


def build_rootfs(path):
    """A busybox-static root filesystem: /bin/busybox + applet symlinks, the usual
    empty mount points, /etc/passwd and /etc/group with root and nobody."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc", "root", "mnt"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
        os.chmod(os.path.join(path, d), 0o755)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(path, "bin", "busybox"))
    os.chmod(os.path.join(path, "bin", "busybox"), 0o755)
    for a in APPLETS:
        os.symlink("busybox", os.path.join(path, "bin", a))
    os.symlink("bin", os.path.join(path, "sbin"))
    os.makedirs(os.path.join(path, "usr"), exist_ok=True)
    os.symlink("../bin", os.path.join(path, "usr", "bin"))
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnobody:x:65534:\n")
    with open(os.path.join(path, "etc", "hostname-in-rootfs"), "w") as f:
        f.write("this file exists only in the test rootfs\n")


def copy_rootfs(template, dest):
    shutil.copytree(template, dest, symlinks=True)


# --- network interfaces -------------------------------------------------------

def fnv(s):
    """FNV-1a, as `capsa net-hook` hashes a container id."""
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def host_end(cid):
    """The host end of a container's veth pair (capsa net-hook names it from the id)."""
    return f"cv{fnv(cid):08x}"


def links():
    return set(os.listdir("/sys/class/net"))


# --- running the binary -------------------------------------------------------

# A runtime that hangs must not make the suite hang: every call has a timeout, and
# after a few timeouts the rest of the session uses a short one; after many, the
# `ct` fixture stops the session (MAX_TIMEOUTS).
DEFAULT_TIMEOUT = float(os.environ.get("CAPSA_TEST_TIMEOUT", "30"))
_timeouts = []
MAX_TIMEOUTS = int(os.environ.get("CAPSA_TEST_MAX_TIMEOUTS", "15"))


def _effective_timeout(timeout):
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    return min(timeout, 5) if len(_timeouts) >= 3 else timeout


def capsa(*args, root, check=False, input=None, timeout=None, global_args=(), binary=None,
          cwd=None):
    """Run [CAPSA, --root, root, *global_args, *args]; CompletedProcess with text
    stdout/stderr. Output goes through temporary files, not pipes: a container created
    by `create`/`run --detach` inherits them and would otherwise keep a pipe open.
    timeout defaults to 30s ($CAPSA_TEST_TIMEOUT)."""
    timeout = _effective_timeout(timeout)
    cmd = [binary or CAPSA, "--root", str(root), *map(str, global_args), *map(str, args)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(
            cmd, stdout=out, stderr=err, cwd=cwd,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
        try:
            p.communicate(input=input.encode() if isinstance(input, str) else input,
                          timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            out.seek(0)
            err.seek(0)
            _timeouts.append(" ".join(cmd))
            raise AssertionError(
                f"timeout after {timeout}s: {' '.join(cmd)}\nstdout: "
                f"{out.read().decode(errors='replace')}\nstderr: "
                f"{err.read().decode(errors='replace')}")
        out.seek(0)
        err.seek(0)
        r = subprocess.CompletedProcess(cmd, p.returncode,
                                        out.read().decode(errors="replace"),
                                        err.read().decode(errors="replace"))
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\n"
                             f"stdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def wait_for(cond, timeout=10.0, interval=0.02, what="condition"):
    """Poll cond() until it returns a truthy value; return it, or raise."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return st[st.rindex(")") + 2] not in "ZX"


# --- leftovers: shared by the suites' session checks (compat, clients) ---------------

def cgroup_copies(rel, root="/sys/fs/cgroup"):
    """Every hierarchy's copy of cgroup path rel that exists (each v1 controller mount,
    the cgroup2 mount)."""
    out = []
    for ctrl in sorted(os.listdir(root)):
        d = os.path.join(root, ctrl, rel.lstrip("/"))
        if os.path.isdir(d):
            out.append(d)
    return out


def cgroup_procs(d):
    """The pids in cgroup dir d and every cgroup below it."""
    pids = []
    for top, _, files in os.walk(d):
        if "cgroup.procs" in files:
            try:
                with open(os.path.join(top, "cgroup.procs")) as f:
                    pids += [int(x) for x in f.read().split()]
            except OSError:
                pass
    return pids


def remove_cgroup_tree(d):
    """rmdir a cgroup dir we created, children first. Returns what could not go."""
    left = []
    for top, dirs, _ in os.walk(d, topdown=False):
        for x in dirs:
            try:
                os.rmdir(os.path.join(top, x))
            except OSError:
                left.append(os.path.join(top, x))
    try:
        os.rmdir(d)
    except OSError:
        left.append(d)
    return left


def procs_mentioning(s):
    """[(pid, cmdline)] of the processes (but this one) whose command line contains s."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if s in cmd:
            pids.append((int(p), cmd))
    return pids


def apparmor_enabled():
    """AppArmor is on (runc's test: its module parameter says Y)."""
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().startswith("Y")
    except OSError:
        return False


def host_ns(name, pid="self"):
    return os.readlink(f"/proc/{pid}/ns/{name}")


def error_lines(stderr):
    return [l for l in stderr.splitlines() if l.strip()]


def dump_json(cfg):
    return json.dumps(cfg, indent=2)
