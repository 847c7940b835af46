"""config-linux.md: namespaces, id mappings, devices, cgroups, unified, seccomp, paths."""
import array
import json
import os
import socket
import subprocess
import threading

from capsatest import set_namespace
from clauses import clause
from conf import bind, create_refused, init_pid, ns_of, out_dir, wait_for

NS_FILES = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts",
            "user": "user", "cgroup": "cgroup", "time": "time"}
USERNS_MAPS = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
               "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}


def new_ns_differs(ct, ns_type):
    """A container with a new namespace of ns_type: its ns differs from the host's."""
    def tweak(c):
        set_namespace(c, ns_type)
        if ns_type == "user":
            c["linux"].update(USERNS_MAPS)
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak, base=ct.world_dir())
    ct.create(b)
    f = NS_FILES[ns_type]
    assert ns_of(init_pid(ct, b.id), f) != ns_of("self", f), ns_type
    ct.capsa("delete", "--force", b.id, check=True)


class Holder:
    """A process in new network and uts namespaces, for containers to join."""

    def __init__(self):
        self.p = subprocess.Popen(["unshare", "--net", "--uts", "sleep", "1000"])
        wait_for(lambda: ns_of(self.p.pid, "net") != ns_of("self", "net"),
                 what="the namespace holder")

    def ns(self, f):
        return f"/proc/{self.p.pid}/ns/{f}"

    def close(self):
        self.p.kill()
        self.p.wait()


@clause
def test_linux_ns_path_absolute(ct):
    create_refused(ct, lambda c: set_namespace(c, "network", path="proc/1/ns/net"),
                   "must be an absolute path")


@clause
def test_linux_ns_path_joined(ct):
    h = Holder()
    try:
        def tweak(c):
            set_namespace(c, "network", path=h.ns("net"))
            set_namespace(c, "uts", path=h.ns("uts"))
            c.pop("hostname")
        b = ct.running(tweak=tweak)
        pid = init_pid(ct, b.id)
        assert ns_of(pid, "net") == os.readlink(h.ns("net"))
        assert ns_of(pid, "uts") == os.readlink(h.ns("uts"))
    finally:
        ct.cleanup_containers()
        h.close()


@clause
def test_linux_ns_path_wrong_type_errors(ct):
    h = Holder()
    try:
        create_refused(ct, lambda c: set_namespace(c, "ipc", path=h.ns("net")), "ipc")
    finally:
        h.close()


@clause
def test_linux_ns_without_path_is_new(ct):
    for t in NS_FILES:
        new_ns_differs(ct, t)


@clause
def test_linux_ns_absent_type_inherited(ct):
    def tweak(c):
        for t in ("network", "ipc", "uts", "cgroup"):
            set_namespace(c, t, present=False)
        c.pop("hostname")
    b = ct.running(tweak=tweak)
    pid = init_pid(ct, b.id)
    for f in ("net", "ipc", "uts", "cgroup", "user", "time"):
        assert ns_of(pid, f) == ns_of("self", f), f
    assert ns_of(pid, "mnt") != ns_of("self", "mnt")


@clause
def test_linux_ns_duplicate_type_errors(ct):
    create_refused(ct, lambda c: c["linux"]["namespaces"].append({"type": "ipc"}),
                   "duplicate namespace")


@clause
def test_linux_id_mappings_applied(ct):
    def tweak(c):
        set_namespace(c, "user")
        c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 100000, "size": 1000}],
                          gidMappings=[{"containerID": 0, "hostID": 200000, "size": 2000}])
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak, base=ct.world_dir())
    ct.create(b)
    pid = init_pid(ct, b.id)
    assert open(f"/proc/{pid}/uid_map").read().split() == ["0", "100000", "1000"]
    assert open(f"/proc/{pid}/gid_map").read().split() == ["0", "200000", "2000"]
    st = os.stat(f"/proc/{pid}")
    assert (st.st_uid, st.st_gid) == (100000, 200000)


def _devices(c, devs, allow=()):
    c["linux"]["devices"] = devs
    c["linux"].setdefault("resources", {})["devices"] = \
        [{"allow": False, "access": "rwm"}] + list(allow)


@clause
def test_linux_devices_available(ct):
    def tweak(c):
        _devices(c, [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                      "fileMode": 0o640}, {"path": "/opt/pipe", "type": "p"}],
                 [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}])
        c["root"]["readonly"] = False
    out = ct.sh("stat -c '%F %t:%T %a' /dev/mynull /opt/pipe; echo data > /dev/mynull && "
                "echo wrote", tweak=tweak)
    lines = out.splitlines()
    assert lines[0] == "character special file 1:3 640", lines
    assert lines[1].startswith("fifo"), lines
    assert lines[2] == "wrote"


@clause
def test_linux_devices_existing_mismatch_errors(ct):
    def tweak(c):
        c["linux"]["devices"] = [{"path": "/etc/passwd", "type": "c", "major": 1, "minor": 3}]
        c["root"]["readonly"] = False
    b = ct.bundle(tweak=tweak)
    before = open(os.path.join(b.rootfs, "etc", "passwd")).read()
    from conf import refused
    refused(ct, ct.create(b, check=False), "/etc/passwd", cid=b.id, bundle=b)
    p = os.path.join(b.rootfs, "etc", "passwd")
    assert os.path.isfile(p) and open(p).read() == before


@clause
def test_linux_devices_major_minor_required(ct):
    for missing in ("major", "minor"):
        d = {"path": "/dev/x", "type": "c", "major": 1, "minor": 3}
        d.pop(missing)
        create_refused(ct, lambda c: c["linux"].update(devices=[d]), missing)


@clause
def test_linux_default_devices(ct):
    out = ct.sh("for d in null zero full random urandom tty; do "
                "stat -c \"$d %F %t:%T\" /dev/$d; done; "
                "ls -l /dev/ptmx; stat -Lc '%t:%T' /dev/ptmx; echo x > /dev/null && echo ok")
    lines = out.splitlines()
    want = {"null": "1:3", "zero": "1:5", "full": "1:7", "random": "1:8", "urandom": "1:9",
            "tty": "5:2" if False else "5:0"}
    for line in lines[:6]:
        name, rest = line.split(" ", 1)
        assert rest == f"character special file {want[name]}", line
    assert "pts/ptmx" in lines[6] or lines[6].startswith("c"), lines[6]
    assert lines[7] == "5:2" and lines[8] == "ok", lines


@clause
def test_linux_default_devices_console_with_terminal(ct):
    out = out_dir(ct)
    sock_path = os.path.join(ct.tmp, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(10)
    b = ct.bundle(args=["sh", "-c", "stat -c %t:%T /dev/console > /out/console; "
                                    "stat -Lc %t:%T /proc/self/fd/0 > /out/stdin"],
                  tweak=lambda c: (c["process"].update(terminal=True), bind(c, out, "/out"))
                  and None)
    ct.create(b, "--console-socket", sock_path)
    conn, _ = srv.accept()
    fds = array.array("i")
    _, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(4))
    for _, _, data in anc:
        fds.frombytes(data[:4])
    try:
        ct.start(b.id)
        ct.wait_status(b.id, "stopped")
        console = open(os.path.join(out, "console")).read().strip()
        assert console == open(os.path.join(out, "stdin")).read().strip()
        assert console.split(":")[0] == "88", console     # 136 (pts) in hex
    finally:
        for fd in fds:
            os.close(fd)
        conn.close()
        srv.close()


def _pids_dir(path):
    return "/sys/fs/cgroup/pids" + (path if path.startswith("/") else "/" + path)


@clause
def test_linux_cgroups_path_absolute_from_mount_point(ct):
    cid = ct.new_id()
    path = f"/{ct.cgroups_path(cid)}"
    b = ct.bundle(args=["sleep", "1000"], cid=cid,
                  tweak=lambda c: c["linux"].update(cgroupsPath=path))
    ct.create(b)
    pid = init_pid(ct, b.id)
    assert str(pid) in open(os.path.join(_pids_dir(path), "cgroup.procs")).read().split()


@clause
def test_linux_cgroups_path_consistent(ct):
    path = f"/{ct.cgroups_path('consistent')}"
    for _ in range(2):
        b = ct.bundle(args=["sleep", "1000"], tweak=lambda c: c["linux"].update(cgroupsPath=path))
        ct.create(b)
        pid = init_pid(ct, b.id)
        assert str(pid) in open(os.path.join(_pids_dir(path), "cgroup.procs")).read().split()
        ct.capsa("delete", "--force", b.id, check=True)


@clause
def test_linux_device_allowlist_in_order(ct):
    """Opening /dev/fuse (10:229, not among the devices every container gets) is
    allowed only when the allow entry comes after the deny-all."""
    allow = {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}
    deny = {"allow": False, "access": "rwm"}
    # the node is made in the container (linux.devices entries are allowed on top)
    probe = "mknod /dev/f c 10 229 && (: < /dev/f) 2>/dev/null && echo allowed || echo denied"

    def order(entries):
        return lambda c: c["linux"].update(resources={"devices": entries})
    assert ct.sh(probe, tweak=order([deny, allow])).strip() == "allowed"
    assert ct.sh(probe, tweak=order([allow, deny])).strip() == "denied"


@clause
def test_linux_memory_check_before_update(ct):
    out = out_dir(ct)
    b = ct.bundle(args=["sh", "-c", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 "
                        "2>/dev/null; touch /out/full; exec sleep 1000"],
                  tweak=lambda c: (bind(c, out, "/out"), c["linux"].update(
                      resources={"memory": {"limit": 256 << 20}})) and None)
    ct.create(b)
    ct.start(b.id)
    wait_for(lambda: os.path.exists(os.path.join(out, "full")), what="memory use")
    res = os.path.join(ct.tmp, "res.json")
    with open(res, "w") as f:
        json.dump({"memory": {"limit": 8 << 20, "checkBeforeUpdate": True}}, f)
    r = ct.capsa("update", "-r", res, b.id)
    assert r.returncode != 0 and "checkBeforeUpdate" in r.stderr, r.stderr
    assert ct.state(b.id)["status"] == "running"


def _unified(ct, unified):
    return lambda c: c["linux"].update(resources={"unified": unified})


@clause
def test_linux_unified_unknown_keys_written(ct):
    b = ct.running(tweak=_unified(ct, {"cgroup.max.depth": "7"}))
    d = f"/sys/fs/cgroup/unified/{ct.cgroups_path(b.id)}"
    assert open(os.path.join(d, "cgroup.max.depth")).read().strip() == "7"


@clause
def test_linux_unified_missing_controller_errors(ct):
    create_refused(ct, _unified(ct, {"nosuchctl.max": "1"}), "nosuchctl")


@clause
def test_linux_unified_failed_conversion_errors(ct):
    """memory is a v1 controller on this hybrid host: a v2 memory key cannot be
    applied (nor converted), an error."""
    create_refused(ct, _unified(ct, {"memory.max": "100000000"}), "memory")


@clause
def test_linux_intelrdt_refused(ct):
    create_refused(ct, lambda c: c["linux"].update(intelRdt={"closID": "x"}),
                   "linux.intelRdt")


def _seccomp(c, **kw):
    c["linux"]["seccomp"] = dict({"defaultAction": "SCMP_ACT_ALLOW"}, **kw)


@clause
def test_linux_seccomp_default_errno_needs_errno_action(ct):
    create_refused(ct, lambda c: _seccomp(c, defaultErrnoRet=1), "defaultErrnoRet")


@clause
def test_linux_seccomp_errno_ret_needs_errno_action(ct):
    create_refused(ct, lambda c: _seccomp(c, syscalls=[
        {"names": ["getcwd"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]), "errnoRet")


class Agent(threading.Thread):
    """A seccomp agent: records each connection's messages and fds."""

    def __init__(self, path, kind=socket.SOCK_STREAM):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, kind)
        self.sock.bind(path)
        if kind == socket.SOCK_STREAM:
            self.sock.listen(4)
        self.sock.settimeout(10)
        self.conns, self.error = [], None

    def run(self):
        try:
            conn, _ = self.sock.accept()
            msgs = []
            with conn:
                conn.settimeout(10)
                while True:
                    data, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16))
                    fds = array.array("i")
                    for _, _, d in anc:
                        fds.frombytes(d[:len(d) - len(d) % 4])
                    for fd in fds:
                        os.close(fd)
                    if not data:
                        break       # the runtime closed the connection
                    msgs.append((data, len(fds)))
            self.conns.append(msgs)
            self.sock.settimeout(1)
            try:
                extra, _ = self.sock.accept()      # a second connection would be reuse
                extra.close()
                self.conns.append("second connection")
            except socket.timeout:
                pass
        except Exception as e:
            self.error = e
        finally:
            self.sock.close()


def _notify(path):
    return lambda c: _seccomp(c, listenerPath=path, syscalls=[
        {"names": ["acct"], "action": "SCMP_ACT_NOTIFY"}])


def _agent_run(ct):
    path = os.path.join(ct.tmp, "agent.sock")
    agent = Agent(path)
    agent.start()
    ct.run_ok(tweak=_notify(path))
    agent.join(15)
    assert agent.error is None, agent.error
    return agent


@clause
def test_linux_seccomp_listener_unix_stream(ct):
    assert len(_agent_run(ct).conns[0]) >= 1
    # control: a datagram socket at the path is not a stream listener: an error
    path = os.path.join(ct.tmp, "dgram.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    try:
        create_refused(ct, _notify(path), "seccomp")
    finally:
        s.close()


@clause
def test_linux_seccomp_listener_one_state_per_connection(ct):
    agent = _agent_run(ct)
    assert len(agent.conns) == 1, agent.conns
    payload = b"".join(d for d, _ in agent.conns[0])
    json.loads(payload)                       # exactly one JSON document, then EOF


@clause
def test_linux_seccomp_listener_send_failure_errors(ct):
    create_refused(ct, _notify(os.path.join(ct.tmp, "nobody-listens.sock")),
                   "nobody-listens.sock")


@clause
def test_linux_seccomp_metadata_needs_listener(ct):
    create_refused(ct, lambda c: _seccomp(c, listenerMetadata="m"), "listenerMetadata")


@clause
def test_linux_seccomp_names_not_empty(ct):
    create_refused(ct, lambda c: _seccomp(c, syscalls=[
        {"names": [], "action": "SCMP_ACT_ERRNO"}]), "names")


@clause
def test_linux_seccomp_state_json_and_scm_rights(ct):
    agent = _agent_run(ct)
    msgs = agent.conns[0]
    st = json.loads(b"".join(d for d, _ in msgs))
    assert st["fds"] == ["seccompFd"] and st["state"]["status"] in ("creating", "created")
    assert sum(n for _, n in msgs) == len(st["fds"]) == 1


@clause
def test_linux_seccomp_fds_in_first_sendmsg(ct):
    msgs = _agent_run(ct).conns[0]
    assert msgs[0][1] == 1 and all(n == 0 for _, n in msgs[1:]), msgs


@clause
def test_linux_masked_paths_absolute(ct):
    create_refused(ct, lambda c: c["linux"]["maskedPaths"].append("proc/kcore"),
                   "maskedPaths")


@clause
def test_linux_readonly_paths_absolute(ct):
    create_refused(ct, lambda c: c["linux"]["readonlyPaths"].append("proc/sys"),
                   "readonlyPaths")
