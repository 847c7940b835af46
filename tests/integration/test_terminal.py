"""Terminals: process.terminal / exec --tty give the process a pty from the
container's devpts as stdio and controlling terminal. In the foreground capsa proxies
it (tested for real under tmux: typing, window resize, exit status); with
--console-socket the master goes to the caller over SCM_RIGHTS, as runc does."""
import array
import os
import re
import select
import shutil
import socket
import subprocess
import time

import pytest

from capsatest import CAPSA, error_lines, wait_for

TMUX = shutil.which("tmux")
_sessions = iter(range(1, 1 << 30))


# --- tmux --------------------------------------------------------------------------

class Tmux:
    """One private tmux server (own socket) running /bin/sh in a window of a known
    size; killed at the end of the test."""

    def __init__(self, tmp, cols=100, rows=30):
        self.sock = os.path.join(tmp, f"tmux-{os.getpid()}-{next(_sessions)}")
        self.name = "capsa-test"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
               "TERM": "xterm", "PS1": "$ "}
        self._run("-f", "/dev/null", "new-session", "-d", "-s", self.name,
                  "-x", str(cols), "-y", str(rows), "env", "-i",
                  *[f"{k}={v}" for k, v in env.items()], "/bin/sh", env=env)
        self._run("set-option", "-t", self.name, "window-size", "manual")
        self._run("set-option", "-t", self.name, "status", "off")
        # If the pane's shell dies, keep the pane and its screen (and so the server),
        # so a test can tell "the shell died" (with its status) from a missing line.
        self._run("set-option", "-w", "-t", self.name, "remain-on-exit", "on")
        self.resize(cols, rows)

    def size(self):
        """(rows, cols) of the pane."""
        w, h = self._run("display-message", "-p", "-t", self.name,
                         "#{pane_width} #{pane_height}").split()
        return int(h), int(w)

    def _run(self, *args, env=None):
        r = subprocess.run([TMUX, "-S", self.sock, *args], capture_output=True, text=True,
                           env=env, timeout=10)
        assert r.returncode == 0, f"tmux {args}: {r.stderr}"
        return r.stdout

    def send(self, line):
        self._run("send-keys", "-t", self.name, "-l", line)
        self._run("send-keys", "-t", self.name, "Enter")

    def screen(self):
        return self._run("capture-pane", "-p", "-J", "-t", self.name, "-S", "-200")

    def lines(self):
        return [l.rstrip() for l in self.screen().splitlines()]

    def wait_line(self, pattern, timeout=10):
        """Wait for a line fully matching the regex; return the match."""
        rx = re.compile(pattern)

        def find():
            for l in self.lines():
                m = rx.fullmatch(l)
                if m:
                    return m
            return None
        try:
            return wait_for(find, timeout=timeout, interval=0.05, what=f"line {pattern!r}")
        except AssertionError:
            dead = self._run("display-message", "-p", "-t", self.name,
                             "#{pane_dead} #{pane_dead_status}").strip()
            raise AssertionError(f"no line matching {pattern!r} (pane dead, status: {dead}); "
                                 f"screen:\n{self.screen()}")

    def assert_shell_alive(self):
        """The pane's own shell is still running (it must outlive what it ran)."""
        dead, status = self._run("display-message", "-p", "-t", self.name,
                                 "#{pane_dead} #{pane_dead_status}").split(" ", 1)
        assert dead == "0", f"the pane's shell exited (status {status.strip()!r}); " \
                            f"screen:\n{self.screen()}"

    def resize(self, cols, rows):
        self._run("resize-window", "-t", self.name, "-x", str(cols), "-y", str(rows))

    def kill(self):
        subprocess.run([TMUX, "-S", self.sock, "kill-server"], capture_output=True, timeout=10)
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass


@pytest.fixture
def tmux(ct):
    if not TMUX:
        pytest.skip("tmux not installed")
    t = Tmux(ct.tmp)
    yield t
    t.kill()


def _interactive(t, cmd):
    """Run cmd in the pane's sh, followed by its exit status; wait for the
    container's shell to answer."""
    t.send(f"{cmd}; echo rc=$?")
    t.send("echo READY-$((6*7))")
    t.wait_line(r"READY-42")


def _check_shell(t):
    rows, cols = t.size()
    assert (rows, cols) == (30, 100)
    t.send("echo hi")
    t.wait_line(r"hi")
    t.send("echo TTY=$(tty)")
    m = t.wait_line(r"TTY=(\S*)")
    assert re.fullmatch(r"/dev/pts/\d+", m.group(1)), m.group(1)
    t.send("echo SIZE1=$(stty size)")
    m = t.wait_line(r"SIZE1=(\d+) (\d+)")
    assert (int(m.group(1)), int(m.group(2))) == (rows, cols)
    t.resize(120, 40)
    assert t.size() == (40, 120)
    t.send("echo SIZE2=$(stty size)")
    m = t.wait_line(r"SIZE2=(\d+) (\d+)")
    assert (int(m.group(1)), int(m.group(2))) == (40, 120)
    # the shell's stdin is the pty and it is its controlling terminal
    t.send("echo CTTY=$(readlink /proc/self/fd/0) SID=$(cut -d' ' -f6 /proc/$$/stat)"
           " PID=$$")
    m = t.wait_line(r"CTTY=(\S+) SID=(\d+) PID=(\d+)")
    assert re.fullmatch(r"/dev/pts/\d+", m.group(1)), m.group(1)
    assert m.group(2) == m.group(3), "the shell does not lead its own session"


def _cmd(ct, *args):
    return " ".join([CAPSA, "--root", ct.root, *args])


def test_run_terminal_interactive_shell(ct, tmux):
    b = ct.bundle(args=["sh"], tweak=lambda c: c["process"].update(terminal=True))
    _interactive(tmux, _cmd(ct, "run", "--bundle", b.path, b.id))
    _check_shell(tmux)
    tmux.send("exit 3")
    tmux.wait_line(r"rc=3")
    assert ct.status(b.id) is None  # run deleted it


def test_run_terminal_restores_host_terminal(ct, tmux):
    """After capsa exits, the pane's terminal is cooked again (echo, icanon)."""
    tmux.send("stty -g > " + os.path.join(ct.tmp, "before"))
    b = ct.bundle(args=["sh", "-c", "echo INSIDE; exit 0"],
                  tweak=lambda c: c["process"].update(terminal=True))
    tmux.send(_cmd(ct, "run", "--bundle", b.path, b.id) + "; echo rc=$?")
    tmux.wait_line(r"rc=0")
    tmux.send("stty -g > " + os.path.join(ct.tmp, "after") + "; echo SAVED")
    tmux.wait_line(r"SAVED")
    with open(os.path.join(ct.tmp, "before")) as a, open(os.path.join(ct.tmp, "after")) as b:
        assert a.read() == b.read()


def test_run_terminal_exit_code_and_output(ct, tmux):
    b = ct.bundle(args=["sh", "-c", "echo OUT-$(tty); exit 5"],
                  tweak=lambda c: c["process"].update(terminal=True))
    tmux.send(_cmd(ct, "run", "--bundle", b.path, b.id) + "; echo rc=$?")
    tmux.wait_line(r"rc=5")
    assert any(re.fullmatch(r"OUT-/dev/pts/\d+", l) for l in tmux.lines()), tmux.screen()


def test_exec_tty_interactive_shell(ct, tmux):
    b = ct.running()
    _interactive(tmux, _cmd(ct, "exec", "-t", b.id, "sh"))
    _check_shell(tmux)
    tmux.send("exit 4")
    tmux.wait_line(r"rc=4")
    assert ct.status(b.id) == "running"


def test_exec_tty_ctrl_c_reaches_container(ct, tmux):
    """^C typed in the terminal interrupts the process in the container, not capsa:
    the shell survives and tells which signal its child died of."""
    b = ct.running()
    _interactive(tmux, _cmd(ct, "exec", "-t", b.id, "sh"))
    tmux.send("echo SLEEPING; sleep 100")
    tmux.wait_line(r"SLEEPING")
    time.sleep(0.2)
    tmux._run("send-keys", "-t", tmux.name, "C-c")
    tmux.send("echo AFTER=$?")
    tmux.wait_line(r"AFTER=130")
    tmux.send("exit 0")
    tmux.wait_line(r"rc=0")
    tmux.assert_shell_alive()


@pytest.mark.capsa_only("runc wants /dev/tty for a foreground terminal")
def test_run_terminal_without_tty_on_stdin(ct):
    """Foreground run with a terminal but stdin not a tty (a pipe): it still works
    and the output comes through."""
    b = ct.bundle(args=["sh", "-c", "echo TTY=$(tty)"],
                  tweak=lambda c: c["process"].update(terminal=True))
    r = ct.capsa("run", "--bundle", b.path, b.id, input="")
    assert r.returncode == 0, r.stderr
    assert re.search(r"TTY=/dev/pts/\d+", r.stdout), r.stdout


def test_no_terminal_is_not_a_tty(ct):
    out = ct.sh("tty; echo rc=$?")
    assert "rc=1" in out or "not a tty" in out


# --- console socket ------------------------------------------------------------------

class ConsoleReceiver:
    """A listening AF_UNIX socket; receive() accepts one connection and returns
    (payload, master fd) from SCM_RIGHTS."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.sock.settimeout(10)

    def receive(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(10)
            fds = array.array("i")
            msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        assert len(fds) == 1, f"expected one fd, got {list(fds)} with payload {msg!r}"
        return msg, fds[0]

    def close(self):
        self.sock.close()


@pytest.fixture
def receiver(ct):
    path = os.path.join(ct.tmp, "console.sock")
    r = ConsoleReceiver(path)
    yield r
    r.close()


def _read_until(fd, pattern, timeout=10):
    rx = re.compile(pattern)
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        m = rx.search(buf.decode(errors="replace"))
        if m:
            return m, buf
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no {pattern!r} on the terminal; got {buf!r}")
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the slave side is gone
            data = b""
        if not data:
            raise AssertionError(f"terminal closed before {pattern!r}; got {buf!r}")
        buf += data


def _is_pty_master(fd):
    target = os.readlink(f"/proc/self/fd/{fd}")
    return target in ("/dev/ptmx", "/dev/pts/ptmx") or target.endswith("/ptmx")


def test_create_console_socket(ct, receiver):
    b = ct.bundle(args=["sh"], tweak=lambda c: c["process"].update(terminal=True))
    r = ct.create(b, "--console-socket", receiver.path)
    assert r.returncode == 0
    _, master = receiver.receive()
    try:
        assert _is_pty_master(master), os.readlink(f"/proc/self/fd/{master}")
        ct.start(b.id)
        os.write(master, b"echo OUT-$((6*7)) $(tty)\n")
        m, _ = _read_until(master, r"OUT-42 (/dev/pts/\d+)")
        os.write(master, b"exit 9\n")
        ct.wait_status(b.id, "stopped")
    finally:
        os.close(master)
    # the container's shell had the pty as its terminal; create's own stdio did
    # not get it
    assert r.stdout == ""


def test_create_console_socket_size(ct, receiver):
    """process.consoleSize is applied to the pty."""
    def tweak(c):
        c["process"].update(terminal=True, consoleSize={"height": 33, "width": 77})
    b = ct.bundle(args=["sh"], tweak=tweak)
    ct.create(b, "--console-socket", receiver.path)
    _, master = receiver.receive()
    try:
        ct.start(b.id)
        os.write(master, b"echo SIZE=$(stty size)\n")
        m, _ = _read_until(master, r"SIZE=(\d+) (\d+)")
        assert m.groups() == ("33", "77")
    finally:
        os.close(master)


def test_run_detach_console_socket(ct, receiver):
    b = ct.bundle(args=["sh"], tweak=lambda c: c["process"].update(terminal=True))
    r = ct.capsa("run", "--detach", "--console-socket", receiver.path, "--bundle", b.path,
                 b.id)
    assert r.returncode == 0, r.stderr
    _, master = receiver.receive()
    try:
        os.write(master, b"echo DETACHED-$((6*7))\n")
        _read_until(master, r"DETACHED-42")
    finally:
        os.close(master)


def test_exec_tty_detach_console_socket(ct, receiver):
    b = ct.running()
    pidfile = os.path.join(ct.tmp, "exec.pid")
    r = ct.capsa("exec", "-t", "-d", "--console-socket", receiver.path, "--pid-file",
                 pidfile, b.id, "sh")
    assert r.returncode == 0, r.stderr
    _, master = receiver.receive()
    try:
        assert _is_pty_master(master)
        os.write(master, b"echo EXEC-$((6*7)) $(tty); exit 0\n")
        m, _ = _read_until(master, r"EXEC-42 (/dev/pts/\d+)")
    finally:
        os.close(master)
    assert ct.status(b.id) == "running"


@pytest.mark.capsa_only("runc ignores --console-socket in the foreground")
def test_exec_tty_foreground_console_socket(ct, receiver):
    """exec -t --console-socket without -d: the master goes to the socket and capsa
    waits for the process, returning its exit status."""
    b = ct.running()
    p = subprocess.Popen([CAPSA, "--root", ct.root, "exec", "-t", "--console-socket",
                          receiver.path, b.id, "sh"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ct.popens.append(p)
    _, master = receiver.receive()
    try:
        os.write(master, b"echo FG-$((6*7)); exit 6\n")
        _read_until(master, r"FG-42")
        assert p.wait(timeout=10) == 6, p.stderr.read()
    finally:
        os.close(master)


def test_run_detach_terminal_needs_console_socket(ct):
    b = ct.bundle(args=["sh"], tweak=lambda c: c["process"].update(terminal=True))
    r = ct.capsa("run", "--detach", "--bundle", b.path, b.id)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "console" in lines[0], r.stderr
    ct.assert_nothing_created(b.id, bundle=b)


def test_create_terminal_needs_console_socket(ct):
    b = ct.bundle(args=["sh"], tweak=lambda c: c["process"].update(terminal=True))
    r = ct.create(b, check=False)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "console" in lines[0], r.stderr
    ct.assert_nothing_created(b.id, bundle=b)


def test_console_socket_not_listening(ct):
    b = ct.bundle(args=["sh"], tweak=lambda c: c["process"].update(terminal=True))
    r = ct.create(b, "--console-socket", os.path.join(ct.tmp, "nobody-listens"), check=False)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "console" in lines[0], r.stderr
    ct.assert_nothing_created(b.id, bundle=b)


def test_exec_tty_pty_from_container_devpts(ct, receiver):
    """The pty belongs to the container's devpts instance: its number is allocated
    there (the host's /dev/pts has no such slave pointing into the container)."""
    b = ct.running()
    r = ct.capsa("exec", "-t", "-d", "--console-socket", receiver.path, b.id, "sh")
    assert r.returncode == 0, r.stderr
    _, master = receiver.receive()
    try:
        os.write(master, b"echo PTS=$(ls /dev/pts | tr '\\n' ,)\n")
        m, _ = _read_until(master, r"PTS=(\S+),")
        entries = m.group(1).split(",")
        assert "ptmx" in entries
        # a fresh devpts instance: only this one pty (plus ptmx)
        assert [e for e in entries if e != "ptmx"] == ["0"], entries
        os.write(master, b"exit\n")
    finally:
        os.close(master)
