"""--net veth: `capsa net-hook` as createRuntime/poststop hooks (issue 12, Networking).

Only link-local addresses (169.254.0.0/16) on interfaces these tests create; every
test checks that no veth, bridge or address is left, and removes them even on failure.
"""
import ipaddress
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from capsatest import SESSION_PID, copy_rootfs, fnv, host_end, links, wait_for

pytestmark = pytest.mark.capsa_only("capsa net-hook and --net veth")

NET_APPLETS = ("nc", "ip", "ifconfig", "ping", "route")
BRIDGE = f"cbt{SESSION_PID % 1000000}"   # never the user's capsa0


def ipv4_of(dev):
    out = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", dev], check=True,
                         capture_output=True, text=True).stdout
    a = json.loads(out)[0]["addr_info"][0]
    return ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}")


@pytest.fixture
def net(ct):
    """Tracks the ids of veth containers; afterwards nothing of them may remain."""
    before = links()
    made = []
    yield made
    ct.cleanup_containers()   # delete --force: poststop runs `net-hook down`
    left = sorted((links() - before) | {host_end(c) for c in made if host_end(c) in links()})
    for dev in left:   # undo, so that one failure does not cascade
        if dev.startswith("cv") or dev == BRIDGE:
            subprocess.run(["ip", "link", "del", dev], capture_output=True)
    assert not left, f"interfaces left behind: {left}"


def bundle(ct, netflag, cmd, made=None):
    """`capsa spec --net NETFLAG -- CMD` in a new bundle; returns (id, dir)."""
    cid = ct.new_id()
    d = os.path.join(ct.tmp, f"net-{cid}")
    os.makedirs(d)
    rootfs = os.path.join(d, "rootfs")
    copy_rootfs(ct.template, rootfs)
    for a in NET_APPLETS:
        os.symlink("busybox", os.path.join(rootfs, "bin", a))
    r = ct.capsa("spec", "--bundle", d, "--net", netflag, "--", *cmd, cwd=d)
    assert r.returncode == 0, r.stderr
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg["process"]["env"].append(f"CAPSA_TEST_MARK={d}")
    cfg["linux"]["cgroupsPath"] = ct.cgroups_path(cid)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    if made is not None:
        made.append(cid)
    return cid, d


def start(ct, cid, d):
    r = ct.capsa("create", "--bundle", d, cid)
    assert r.returncode == 0, r.stderr
    r = ct.capsa("start", cid)
    assert r.returncode == 0, r.stderr


def fetch(addr, port=8080, timeout=10):
    """Connect (retrying until the server listens) and read all it sends."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((str(addr), port), timeout=2) as s:
                data = b""
                while chunk := s.recv(4096):
                    data += chunk
                return data.decode()
        except (ConnectionRefusedError, ConnectionResetError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


SERVER = ("sh", "-c", "echo hello-from-$(hostname) | nc -l -p 8080")
# ... and stays (its port on the bridge with it) after it served once
SERVER_STAYS = ("sh", "-c", "echo hello-from-$(hostname) | nc -l -p 8080; exec sleep 1000")


def test_spec_writes_hooks(ct):
    _, d = bundle(ct, "veth,bridge=br9,subnet=169.254.64.0/20", ("true",))
    cfg = json.load(open(os.path.join(d, "config.json")))
    up, = cfg["hooks"]["createRuntime"]
    down, = cfg["hooks"]["poststop"]
    assert os.path.isabs(up["path"]) and up["path"] == down["path"]
    assert up["args"] == ["capsa", "net-hook", "--bridge", "br9", "--subnet",
                          "169.254.64.0/20", "up"]
    assert down["args"][-1] == "down"
    r = ct.capsa("spec", "--bundle", d, "--net", "veth,nope=1")
    assert r.returncode != 0 and "nope=1" in r.stderr


def test_veth_server_reachable_from_host(ct, net):
    cid, d = bundle(ct, "veth", SERVER, net)
    start(ct, cid, d)
    dev = host_end(cid)
    assert dev in links()
    host = ipv4_of(dev)
    assert host.network.prefixlen == 30
    assert host.ip in ipaddress.ip_network("169.254.0.0/16")
    assert host.ip not in ipaddress.ip_network("169.254.0.0/24")
    assert fetch(host.ip + 1) == "hello-from-capsa\n"
    ct.wait_status(cid, "stopped")
    r = ct.capsa("delete", cid)
    assert r.returncode == 0, r.stderr
    assert dev not in links()
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    assert str(host.network.network_address) not in routes


def test_container_sees_eth0_and_route(ct, net):
    cid, d = bundle(ct, "veth", ("sh", "-c", "ip -4 -o addr show eth0; ip route"), net)
    r = ct.capsa("run", "--bundle", d, cid)
    assert r.returncode == 0, r.stderr
    assert "eth0" in r.stdout and "inet 169.254." in r.stdout
    assert "default via 169.254." in r.stdout
    assert host_end(cid) not in links()   # run deleted it: poststop ran


def test_delete_force_running(ct, net):
    cid, d = bundle(ct, "veth", ("sleep", "1000"), net)
    start(ct, cid, d)
    assert host_end(cid) in links()
    r = ct.capsa("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert host_end(cid) not in links()


def test_failed_create_leaves_nothing(ct, net):
    cid, d = bundle(ct, "veth", ("true",), net)
    cfg = json.load(open(os.path.join(d, "config.json")))
    # net-hook up succeeds, then the next createRuntime hook fails the create.
    cfg["hooks"]["createRuntime"].append({"path": "/bin/false"})
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    before = links()
    r = ct.capsa("create", "--bundle", d, cid)
    assert r.returncode != 0
    assert "/bin/false" in r.stderr
    assert links() - before == set()
    ct.assert_nothing_created(cid)


def test_veth_needs_netns(ct, net):
    cid, d = bundle(ct, "veth", ("true",), net)
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "network"]
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    r = ct.capsa("create", "--bundle", d, cid)
    assert r.returncode != 0
    assert host_end(cid) not in links()


def test_bridge_containers_reach_each_other(ct, net):
    flag = f"veth,bridge={BRIDGE}"
    assert BRIDGE not in links()
    a, da = bundle(ct, flag, SERVER_STAYS, net)
    addr_a = ipaddress.ip_address("169.254.100.2") + fnv(a) % 253
    start(ct, a, da)
    wait_for(lambda: BRIDGE in links(), timeout=5, what="the bridge")
    assert ipv4_of(BRIDGE) == ipaddress.ip_interface("169.254.100.1/24")
    assert os.listdir(f"/sys/class/net/{BRIDGE}/brif") == [host_end(a)]
    b, db = bundle(ct, flag, ("sh", "-c", f"for i in $(seq 50); do nc {addr_a} 8080 && exit; "
                              "sleep 0.1; done; exit 1"), net)
    if fnv(b) % 253 == fnv(a) % 253:
        pytest.skip("the two ids hash to the same bridge address")
    r = ct.capsa("run", "--bundle", db, b)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello-from-capsa\n"
    assert BRIDGE in links()   # a still holds a port
    r = ct.capsa("delete", "--force", a)
    assert r.returncode == 0, r.stderr
    assert BRIDGE not in links() and host_end(a) not in links()


def test_none_cannot_reach_host_end(ct, net):
    cid, d = bundle(ct, "veth", ("sleep", "1000"), net)
    start(ct, cid, d)
    host = ipv4_of(host_end(cid))
    srv = socket.socket()
    srv.bind((str(host.ip), 0))
    srv.listen(4)
    port = srv.getsockname()[1]

    def serve():   # accept and hang up, so that a client which got through ends
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    try:
        probe = f"nc -w 2 {host.ip} {port} </dev/null && echo reached || echo unreachable"
        nid, dn = bundle(ct, "none", ("sh", "-c", probe))
        r = ct.capsa("run", "--bundle", dn, nid)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "unreachable"
        # control: the veth container itself reaches it
        r = ct.capsa("exec", cid, "sh", "-c", probe)
        assert r.stdout.strip() == "reached", r.stderr
    finally:
        srv.shutdown(socket.SHUT_RDWR)
        srv.close()


def test_host_sees_host_interfaces(ct):
    cid, d = bundle(ct, "host", ("cat", "/proc/net/dev"))
    r = ct.capsa("run", "--bundle", d, cid)
    assert r.returncode == 0, r.stderr
    names = {l.split(":")[0].strip() for l in r.stdout.splitlines()[2:]}
    assert names == set(l.split(":")[0].strip() for l in
                        open("/proc/net/dev").read().splitlines()[2:])


def test_nethook_down_is_idempotent(ct):
    st = json.dumps({"ociVersion": "1.2.0", "id": "never-created", "pid": 0,
                     "status": "stopped", "bundle": "/"})
    for _ in range(2):
        r = ct.capsa("net-hook", "down", input=st)
        assert r.returncode == 0, r.stderr
    r = ct.capsa("net-hook", "sideways", input=st)
    assert r.returncode != 0 and "up or down" in r.stderr


def test_subnet_option(ct, net):
    cid, d = bundle(ct, "veth,subnet=169.254.64.0/20", ("ip", "-4", "-o", "addr", "show", "eth0"),
                    net)
    r = ct.capsa("run", "--bundle", d, cid)
    assert r.returncode == 0, r.stderr
    addr = ipaddress.ip_interface(r.stdout.split()[3])
    assert addr.network.prefixlen == 30
    assert addr.ip in ipaddress.ip_network("169.254.64.0/20")


def test_sigkill_of_capsa_mid_create_then_delete_force(ct, net):
    """capsa killed with SIGKILL after the veth exists (while a later createRuntime
    hook runs): the container's processes die with it (parent-death signal), the
    kernel removes the pair with the network namespace, and `delete --force`
    removes the half-made container's state and cgroup."""
    import signal
    cid, d = bundle(ct, "veth", ("true",), net)
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg["hooks"]["createRuntime"].append({"path": "/bin/sleep", "args": ["sleep", "30"]})
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    p = ct.popen("create", "--bundle", d, cid, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: host_end(cid) in links(), timeout=10, what="the host end")
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        wait_for(lambda: host_end(cid) not in links(), timeout=10, what="the pair to go")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert ct.capsa("list", "-q").stdout.split() == [cid]   # the half-made one is visible
    r = ct.capsa("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert host_end(cid) not in links()
    ct.assert_nothing_created(cid)
