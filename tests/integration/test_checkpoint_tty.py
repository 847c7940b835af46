"""capsa checkpoint / capsa restore of terminal containers (process.terminal with
--console-socket; issue 19, docs/checkpoint.md): the slave is dumped alone, the
restore hands CRIU's new pty master to --console-socket or proxies it in the
foreground. SKIPPED with one line without a working CRIU (test_checkpoint.py's
criu_ok); the runc comparison is skipped without runc."""
import json
import os
import signal
import socket
import subprocess

import pytest

from capsatest import CAPSA, wait_for
from test_checkpoint import RUNC, _criu_binary, _quiet, _userns, cr, criu_ok  # noqa: F401

pytestmark = pytest.mark.capsa_only


class _Receiver:
    """A console socket: accepts pty masters (runc's recvtty, kept open) and reads
    what comes out of them."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(30)
        self.master = None

    def accept(self):
        c, _ = self.sock.accept()
        with c:
            msg, fds, _, _ = socket.recv_fds(c, 4096, 1)
        self.master = fds[0]
        return msg.decode()

    def say(self, line):
        os.write(self.master, line.encode() + b"\n")

    def expect(self, text):
        """Read from the master until text shows up (the test's watchdog bounds it)."""
        out = b""
        while text.encode() not in out:
            b = os.read(self.master, 4096)
            assert b, f"the terminal closed before {text!r}: {out!r}"
            out += b
        return out

    def close(self):
        if self.master is not None:
            os.close(self.master)
        self.sock.close()


ECHO = "echo ready; while read l; do echo got:$l; done"


@pytest.mark.parametrize("userns", [False, True], ids=["plain", "userns"])
def test_terminal_roundtrip(cr, userns):
    """process.terminal with --console-socket: checkpoint, then restore with
    --console-socket to a new receiver, which gets a new pty master; what is
    written to it reaches the program and its answer comes back. Also in a user
    namespace."""
    def tweak(c):
        c["process"]["terminal"] = True
        if userns:
            _userns(c)
    b = cr.bundle(args=["sh", "-c", ECHO], tweak=tweak, base=cr.world_dir() if userns else None)
    r1 = _Receiver(os.path.join(cr.tmp, "console1.sock"))
    r2 = _Receiver(os.path.join(cr.tmp, "console2.sock"))
    try:
        p = cr.popen("create", "--console-socket", r1.path, "--bundle", b.path, b.id)
        assert r1.accept() == "/dev/ptmx"
        assert p.wait(timeout=30) == 0, p.stderr.read()
        cr.start(b.id)
        r1.expect("ready")
        r1.say("one")
        r1.expect("got:one")
        tty_before = cr.capsa("exec", b.id, "readlink", "/proc/1/fd/0", check=True).stdout
        img = os.path.join(cr.tmp, "img")
        r = cr.capsa("checkpoint", "--image-path", img, b.id)
        assert r.returncode == 0, r.stderr
        assert cr.capsa("state", b.id).returncode != 0
        # a detached restore without a console socket: one line, nothing made
        r = _quiet(cr, "restore", "-d", "--image-path", img, "-b", b.path, b.id)
        assert r.returncode == 1 and "needs --console-socket" in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
        cr.assert_nothing_created(b.id, b)
        # a console socket nobody listens on: the restore fails, nothing is left
        gone = os.path.join(cr.tmp, "nobody.sock")
        r = _quiet(cr, "restore", "-d", "--console-socket", gone, "--image-path", img,
                   "-b", b.path, b.id)
        assert r.returncode == 1 and "console socket" in r.stderr and gone in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1
        cr.assert_nothing_created(b.id, b)
        p = cr.popen("restore", "-d", "--console-socket", r2.path, "--image-path", img,
                     "-b", b.path, b.id)
        assert r2.accept() == "/dev/ptmx"
        assert p.wait(timeout=30) == 0, p.stderr.read()
        assert cr.status(b.id) == "running"
        r2.say("two")
        r2.expect("got:two")
        assert cr.capsa("exec", b.id, "readlink", "/proc/1/fd/0",
                        check=True).stdout == tty_before
        assert cr.capsa("delete", "--force", b.id).returncode == 0
        cr.assert_nothing_created(b.id, b)
    finally:
        r1.close()
        r2.close()


def test_terminal_foreground_restore(cr):
    """A foreground restore without --console-socket keeps the new master and
    proxies it to its own stdin/stdout (as runc and capsa run do); its exit status
    is the container's."""
    b = cr.bundle(args=["sh", "-c", ECHO], tweak=lambda c: c["process"].update(terminal=True))
    r1 = _Receiver(os.path.join(cr.tmp, "console1.sock"))
    try:
        p = cr.popen("create", "--console-socket", r1.path, "--bundle", b.path, b.id)
        r1.accept()
        assert p.wait(timeout=30) == 0, p.stderr.read()
        cr.start(b.id)
        r1.expect("ready")
        img = os.path.join(cr.tmp, "img")
        r = cr.capsa("checkpoint", "--image-path", img, b.id)
        assert r.returncode == 0, r.stderr
    finally:
        r1.close()
    p = subprocess.Popen([CAPSA, "--root", cr.root, "restore", "--image-path", img, "-b",
                          b.path, b.id], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    cr.popens.append(p)
    p.stdin.write(b"three\n")
    p.stdin.flush()
    out = b""
    while b"got:three" not in out:
        chunk = os.read(p.stdout.fileno(), 4096)
        assert chunk, (out, p.stderr.read())
        out += chunk
    assert cr.capsa("kill", b.id, "KILL").returncode == 0
    assert p.wait(timeout=30) == 128 + 9, p.stderr.read()
    assert cr.capsa("state", b.id).returncode != 0   # deleted, as runc restore does
    cr.assert_nothing_created(b.id, b)


def _tty_cycle(cr, argv, b, tag):
    """run -d with a console socket, checkpoint, restore -d with another: what the
    program answers through the first and through the new master."""
    r1 = _Receiver(os.path.join(cr.tmp, f"{tag}-1.sock"))
    r2 = _Receiver(os.path.join(cr.tmp, f"{tag}-2.sock"))
    out = []
    try:
        def bg(*a):
            p = subprocess.Popen([*argv, *a], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            cr.popens.append(p)
            return p
        p = bg("run", "-d", "--console-socket", r1.path, "--bundle", b.path, b.id)
        r1.accept()
        assert p.wait(timeout=30) == 0, (tag, p.stderr.read())
        r1.expect("ready")
        r1.say("one")
        out.append(b"got:one" in r1.expect("got:one"))
        img = os.path.join(cr.tmp, f"img-{tag}")
        r = subprocess.run([*argv, "checkpoint", "--image-path", img, b.id],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (tag, r.stderr)
        p = bg("restore", "-d", "--console-socket", r2.path, "--image-path", img,
               "--bundle", b.path, b.id)
        r2.accept()
        assert p.wait(timeout=30) == 0, (tag, p.stderr.read())
        r2.say("two")
        out.append(b"got:two" in r2.expect("got:two"))
        st = json.loads(subprocess.run([*argv, "state", b.id], capture_output=True,
                                       text=True, check=True).stdout)
        out.append(st["status"])
        os.kill(st["pid"], signal.SIGKILL)
        wait_for(lambda: json.loads(subprocess.run(
            [*argv, "state", b.id], capture_output=True, text=True).stdout)["status"] ==
            "stopped", what="stopped")
        assert subprocess.run([*argv, "delete", b.id]).returncode == 0
    finally:
        r1.close()
        r2.close()
    return out


def test_terminal_runc(cr):
    """runc 1.1.5 with the same CRIU on the same terminal container: the same
    answers through the old and the new master."""
    criu = _criu_binary()
    if not os.access(RUNC, os.X_OK) or not criu:
        pytest.skip("SKIPPED: runc or a criu binary is absent")
    tty = lambda c: c["process"].update(terminal=True)  # noqa: E731
    got = {}
    for rt, argv in (("capsa", [CAPSA, "--root", cr.root]),
                     ("runc", [RUNC, "--root", os.path.join(cr.tmp, "runc-root"),
                               "--criu", criu])):
        b = cr.bundle(args=["sh", "-c", ECHO], tweak=tty)
        got[rt] = _tty_cycle(cr, argv, b, rt)
        cr.assert_nothing_created(b.id, b)
    assert got["capsa"] == got["runc"] == [True, True, "running"]
