"""Reading a container's cgroup files from the host, on v1, hybrid and v2 hosts.

The container's directories come from /proc/<init pid>/cgroup (paths relative to
our own cgroup namespace) joined to the mount points in /proc/self/mountinfo; a
knob is read from its v1 controller directory when that controller is mounted as
v1 (hybrid hosts), else from the cgroup2 directory.
"""
import os

from capsatest import parse_mountinfo


def _mounts():
    with open("/proc/self/mountinfo") as f:
        return [m for m in parse_mountinfo(f.read()) if m["fstype"] in ("cgroup", "cgroup2")]


def v1_controllers():
    """Controllers mounted as cgroup v1 on this host."""
    out = set()
    for m in _mounts():
        if m["fstype"] == "cgroup":
            out |= m["super_opts"]
    return out


def is_v1(ctrl):
    return ctrl in v1_controllers()


def cgroup_dirs(pid):
    """{controller: dir} for v1 controllers of pid, plus "" for its cgroup2 dir."""
    mounts = _mounts()
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        lines = f.read().splitlines()
    for line in lines:
        hid, ctrls, path = line.split(":", 2)
        names = [""] if hid == "0" else [c for c in ctrls.split(",") if c]
        for name in names:
            for m in mounts:
                if (name == "" and m["fstype"] == "cgroup2") or \
                        (name and m["fstype"] == "cgroup" and name in m["super_opts"]):
                    root = m["root"]
                    rel = path[len(root):] if root != "/" and path.startswith(root) else path
                    out[name] = os.path.join(m["mount_point"], rel.lstrip("/"))
                    break
    return out


class Cgroup:
    """The cgroup files of a running container (by its init pid)."""

    def __init__(self, pid):
        self.pid = pid
        self.dirs = cgroup_dirs(pid)

    def dir(self, ctrl):
        """The directory holding ctrl's files: its v1 dir, else the cgroup2 one."""
        return self.dirs.get(ctrl) or self.dirs[""]

    def v2(self, ctrl):
        return ctrl not in self.dirs

    def path(self, ctrl, v1_file, v2_file):
        return os.path.join(self.dir(ctrl), v2_file if self.v2(ctrl) else v1_file)

    def has(self, ctrl, v1_file, v2_file):
        return os.path.exists(self.path(ctrl, v1_file, v2_file))

    def read(self, ctrl, v1_file, v2_file=None):
        with open(self.path(ctrl, v1_file, v2_file or v1_file)) as f:
            return f.read().strip()

    def read_kv(self, ctrl, v1_file, v2_file=None):
        """A flat keyed file ("key value" lines) as a dict of ints."""
        out = {}
        for line in self.read(ctrl, v1_file, v2_file).splitlines():
            k, _, v = line.partition(" ")
            try:
                out[k] = int(v)
            except ValueError:
                pass
        return out

    def frozen(self):
        if self.v2("freezer"):
            return "frozen 1" in self.read("", "cgroup.events")
        return self.read("freezer", "freezer.state") == "FROZEN"

    def pids_current(self):
        return int(self.read("pids", "pids.current"))


def shares_to_weight(shares):
    """The v1 cpu.shares -> v2 cpu.weight conversion (runc, crun, capsa)."""
    return 1 + ((shares - 2) * 9999) // 262142


def a_block_device():
    """MAJ:MIN of a real block device of this host (not loop/ram/zram), or None."""
    try:
        names = sorted(os.listdir("/sys/block"))
    except OSError:
        return None
    for n in names:
        if n.startswith(("loop", "ram", "zram", "nbd")):
            continue
        try:
            with open(f"/sys/block/{n}/dev") as f:
                return tuple(int(x) for x in f.read().strip().split(":"))
        except OSError:
            continue
    return None


def hugepage_sizes():
    """Huge page sizes as cgroup names, smallest first ("2MB", "1GB")."""
    kbs = []
    try:
        for d in os.listdir("/sys/kernel/mm/hugepages"):
            kbs.append(int(d.split("-")[1].rstrip("kB")))
    except OSError:
        pass
    return [f"{kb // 1024}MB" if kb < 1024 * 1024 else f"{kb // (1024 * 1024)}GB"
            for kb in sorted(kbs)]
