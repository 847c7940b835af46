"""Each namespace is really new (inode differs from the host's) or really joined."""
import os

import pytest

from capsatest import host_ns, set_namespace

# linux.namespaces type -> /proc/self/ns name
NS_FILE = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
           "cgroup": "cgroup", "user": "user", "time": "time"}

USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def _ns_inside(ct, tweak=None, base=None):
    script = "for n in pid net mnt ipc uts cgroup user time; do " \
             "echo $n $(readlink /proc/self/ns/$n); done"
    b = ct.bundle(args=["sh", "-c", script], tweak=tweak, base=base)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    return dict(l.split(None, 1) for l in r.stdout.splitlines())


def _userns(cfg):
    set_namespace(cfg, "user")
    cfg["linux"]["uidMappings"] = USERNS_MAP
    cfg["linux"]["gidMappings"] = USERNS_MAP


@pytest.mark.parametrize("ns", ["pid", "network", "mount", "ipc", "uts", "cgroup"])
def test_default_namespaces_are_new(ct, ns):
    inside = _ns_inside(ct)
    f = NS_FILE[ns]
    assert inside[f].startswith(f + ":[")
    assert inside[f] != host_ns(f), f"{ns} namespace is the host's"


@pytest.mark.parametrize("ns", ["network", "uts", "ipc", "cgroup"])
def test_namespace_not_listed_is_shared(ct, ns):
    def tweak(c):
        set_namespace(c, ns, present=False)
        if ns == "uts":
            c.pop("hostname")
    inside = _ns_inside(ct, tweak=tweak)
    assert inside[NS_FILE[ns]] == host_ns(NS_FILE[ns])


def test_default_keeps_host_user_and_time_ns(ct):
    inside = _ns_inside(ct)
    assert inside["user"] == host_ns("user")
    assert inside["time"] == host_ns("time")


def test_user_namespace(ct):
    base = ct.world_dir()
    inside = _ns_inside(ct, tweak=_userns, base=base)
    assert inside["user"] != host_ns("user")
    b = ct.bundle(args=["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g"],
                  tweak=_userns, base=base)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    lines = [l.split() for l in r.stdout.splitlines()]
    assert lines[0] == ["0", "100000", "65536"]
    assert lines[1] == ["0", "100000", "65536"]
    assert lines[2:] == [["0"], ["0"]]


def test_user_namespace_host_view(ct):
    """The container's uid 0 is host uid 100000, seen from the host."""
    base = ct.world_dir()
    b = ct.bundle(args=["sleep", "1000"], tweak=_userns, base=base)
    ct.create(b)
    ct.start(b.id)
    pid = ct.state(b.id)["pid"]
    status = open(f"/proc/{pid}/status").read()
    uid = [l.split()[1:] for l in status.splitlines() if l.startswith("Uid:")][0]
    gid = [l.split()[1:] for l in status.splitlines() if l.startswith("Gid:")][0]
    assert uid == ["100000"] * 4
    assert gid == ["100000"] * 4
    assert open(f"/proc/{pid}/uid_map").read().split() == ["0", "100000", "65536"]


@pytest.mark.capsa_only("time namespace (runtime-spec 1.2; runc 1.1 lacks it)")
def test_time_namespace(ct):
    off_mono, off_boot = 7 * 86400, 1000000

    def tweak(c):
        set_namespace(c, "time")
        c["linux"]["timeOffsets"] = {"monotonic": {"secs": off_mono, "nanosecs": 0},
                                     "boottime": {"secs": off_boot, "nanosecs": 0}}
    inside = _ns_inside(ct, tweak=tweak)
    assert inside["time"] != host_ns("time")

    before = float(open("/proc/uptime").read().split()[0])
    out = ct.sh("cat /proc/self/timens_offsets; cat /proc/uptime", tweak=tweak)
    after = float(open("/proc/uptime").read().split()[0])
    lines = out.splitlines()
    offsets = {l.split()[0]: l.split()[1:] for l in lines[:2]}
    assert offsets["monotonic"] == [str(off_mono), "0"]
    assert offsets["boottime"] == [str(off_boot), "0"]
    up = float(lines[2].split()[0])
    assert before + off_boot - 1 <= up <= after + off_boot + 1


def test_join_network_and_ipc_namespaces(ct):
    first = ct.running()
    pid1 = ct.state(first.id)["pid"]

    def tweak(c):
        set_namespace(c, "network", path=f"/proc/{pid1}/ns/net")
        set_namespace(c, "ipc", path=f"/proc/{pid1}/ns/ipc")
        set_namespace(c, "uts", path=f"/proc/{pid1}/ns/uts")
        c.pop("hostname", None)
    inside = _ns_inside(ct, tweak=tweak)
    for f in ("net", "ipc", "uts"):
        assert inside[f] == host_ns(f, pid1), f"{f} not joined"
        assert inside[f] != host_ns(f)
    # the ones not joined are new, and not the first container's
    for f in ("mnt", "pid"):
        assert inside[f] != host_ns(f, pid1)
        assert inside[f] != host_ns(f)


def test_join_sees_first_containers_hostname(ct):
    first = ct.running(tweak=lambda c: c.update(hostname="first-box"))
    pid1 = ct.state(first.id)["pid"]

    def tweak(c):
        set_namespace(c, "uts", path=f"/proc/{pid1}/ns/uts")
        c.pop("hostname", None)
    assert ct.sh("hostname", tweak=tweak).strip() == "first-box"


def test_join_bad_namespace_path_errors(ct):
    def tweak(c):
        set_namespace(c, "network", path=os.path.join(ct.tmp, "no-such-ns"))
    r = ct.run(["true"], tweak=tweak)
    assert r.returncode != 0
    assert "no-such-ns" in r.stderr
    assert os.listdir(ct.root) == []


def test_hostname(ct):
    out = ct.sh("hostname; cat /proc/sys/kernel/hostname",
                tweak=lambda c: c.update(hostname="box-1"))
    assert out.split() == ["box-1", "box-1"]
    assert os.uname().nodename != "box-1"


@pytest.mark.capsa_only("domainname (runtime-spec 1.1; runc 1.1 ignores it)")
def test_domainname(ct):
    def tweak(c):
        c["hostname"] = "box-1"
        c["domainname"] = "example.test"
    out = ct.sh("cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname", tweak=tweak)
    assert out.split() == ["box-1", "example.test"]
    assert open("/proc/sys/kernel/domainname").read().strip() != "example.test"


def test_loopback_up_in_new_netns(ct):
    out = ct.sh("ls /sys/class/net; cat /sys/class/net/lo/flags /sys/class/net/lo/operstate")
    lines = out.split()
    assert lines[0] == "lo", f"only lo expected in a new network namespace: {out}"
    flags = int(lines[1], 16)
    assert flags & 0x1, f"lo is not up (flags {lines[1]})"
    assert flags & 0x8, "lo is not a loopback?"
    assert lines[2] == "unknown"


def test_loopback_usable(ct):
    # the kernel only installs the local 127.0.0.0/8 routes once lo is up
    out = ct.sh("grep -c 127.0.0.1 /proc/net/fib_trie")
    assert int(out) >= 1, out


def test_pid1_is_the_process(ct):
    out = ct.sh("echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'")
    lines = out.splitlines()
    assert lines[0] == "1"
    assert lines[1].startswith("sh -c echo $$")
    # sh, and the pipeline's ls + grep: nothing from the host
    assert int(lines[2]) <= 4


def test_process_ids_hidden_from_host_view(ct):
    b = ct.running()
    pid = ct.state(b.id)["pid"]
    status = open(f"/proc/{pid}/status").read()
    nspid = [l.split()[1:] for l in status.splitlines() if l.startswith("NSpid:")][0]
    assert nspid[-1] == "1" and nspid[0] == str(pid)
