"""SCMP_ACT_NOTIFY round trip: capsa hands the seccomp listener fd to the agent at
linux.seccomp.listenerPath (with the container process state, as the runtime-spec
describes); the agent answers the container's notified syscall. The container's
getppid() returns what the agent says, not what the kernel would."""
import array
import fcntl
import json
import os
import select
import socket
import struct
import threading

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100   # _IOWR('!', 0, struct seccomp_notif): 80 bytes
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101   # _IOWR('!', 1, struct seccomp_notif_resp): 24 bytes
SYS_getppid = 110                        # x86_64
ANSWER = 4242


class Agent(threading.Thread):
    """Accepts one connection, takes the notify fd, answers one syscall."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(10)
        self.state, self.nr, self.error = None, None, None

    def run(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(10)
                payload, fds = b"", array.array("i")
                while True:
                    data, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4))
                    for level, typ, d in anc:
                        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                            fds.frombytes(d[:4])
                    if not data:
                        break
                    payload += data
            self.state = json.loads(payload)
            fd = fds[0]
            try:
                if not select.select([fd], [], [], 10)[0]:
                    raise TimeoutError("no notification")
                req = bytearray(80)
                fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req)
                nid, _pid, _flags, self.nr = struct.unpack_from("=QIIi", req)
                resp = bytearray(struct.pack("=QqiI", nid, ANSWER, 0, 0))
                fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp)
            finally:
                os.close(fd)
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.sock.close()


def _notify_getppid(cfg, path):
    sc = cfg["linux"]["seccomp"]
    sc["listenerPath"] = path
    sc["listenerMetadata"] = "capsa-security-test"
    # The default profile is an allow list: take getppid out of it, then notify on it.
    for rule in sc["syscalls"]:
        if "getppid" in rule["names"]:
            rule["names"].remove("getppid")
    sc["syscalls"].append({"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"})


def test_seccomp_notify_round_trip(sec):
    path = os.path.join(sec.ct.tmp, "agent.sock")
    agent = Agent(path)
    agent.start()
    r = sec.attack("getppid", tweak=lambda c: _notify_getppid(c, path)).assert_ok()
    agent.join(15)
    assert agent.error is None, agent.error
    assert r.detail == str(ANSWER), f"the agent's answer did not arrive: {r!r}"
    assert agent.nr == SYS_getppid
    st = agent.state
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "capsa-security-test", st
    assert st["state"]["id"] == r.bundle.id and st["pid"] > 0, st
    # control: without the notify rule the kernel answers (init's parent: 0)
    r = sec.attack("getppid").assert_ok()
    assert r.detail == "0", r
