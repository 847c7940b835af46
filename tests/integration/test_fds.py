"""File descriptors: --preserve-fds N passes exactly fds 3..3+N-1, socket activation
(LISTEN_FDS) passes through like runc, stdio pipes stay the caller's pipes, and
nothing else the caller (or capsa) has open reaches the container (CVE-2024-21626)."""
import os
import re
import subprocess
import tempfile

import pytest

from capsatest import CAPSA, DEFAULT_TIMEOUT, error_lines, wait_for

# The shell's own fds, listed by a child (ls -l /proc/self/fd would list ls's
# opendir fd too, and fail to read its link).
LS_FDS = "ls -l /proc/$$/fd; :"  # "; :" so that sh does not exec ls itself
# "lr-x------ 1 0 0 64 Jan 1 00:00 3 -> /data" (the target may be missing)
FD_LINE = re.compile(r"^l\S+\s.*?\s(\d+)(?: -> (.*))?$")


def _fds_from_ls(out):
    """{fd: target or None} from LS_FDS output."""
    fds = {}
    for line in out.splitlines():
        m = FD_LINE.match(line)
        if m:
            fds[int(m.group(1))] = m.group(2)
    return fds


def _capsa_with_fds(ct, args, fds, env=None, stdin=subprocess.DEVNULL, timeout=None,
                    listen_pid=False):
    """Run capsa with the given {target_fd: source_fd} open (and inheritable) in it,
    on top of stdio. Output through files, as capsatest.capsa does. listen_pid:
    LISTEN_PID is capsa's own pid (as systemd sets it; set through a shell that
    execs capsa)."""
    high = {}
    for target, src in fds.items():
        high[target] = os.dup(src)  # out of the way of the targets

    def place():
        for target, src in high.items():
            os.dup2(src, target, inheritable=True)

    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            cmd = [CAPSA, "--root", ct.root, *map(str, args)]
            if listen_pid:
                cmd = ["/bin/sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', *cmd]
            p = subprocess.Popen(cmd, stdin=stdin,
                                 stdout=out, stderr=err, preexec_fn=place,
                                 pass_fds=tuple(fds), env=env)
            try:
                p.wait(timeout=timeout or DEFAULT_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError(f"timeout: {args}")
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(args, p.returncode, out.read().decode(),
                                               err.read().decode())
    finally:
        for fd in high.values():
            os.close(fd)


def _data_file(ct, name, content):
    path = os.path.join(ct.tmp, name)
    with open(path, "w") as f:
        f.write(content)
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def _run_fds(ct, script, fds, opts=(), env=None, listen_pid=False):
    b = ct.bundle(args=["sh", "-c", script])
    r = _capsa_with_fds(ct, ["run", *opts, "--bundle", b.path, b.id], fds, env=env,
                        listen_pid=listen_pid)
    assert r.returncode == 0, f"run exited {r.returncode}: {r.stderr}"
    return r.stdout


def test_preserve_fds_passes_fd3(ct):
    fd = _data_file(ct, "payload", "secret-payload\n")
    try:
        out = _run_fds(ct, f"cat <&3; echo ==; cat /proc/self/fd/3; echo ==; {LS_FDS}",
                       {3: fd}, opts=("--preserve-fds", "1"))
    finally:
        os.close(fd)
    first, second, ls = out.split("==\n")
    assert first == "secret-payload\n"
    assert second == "secret-payload\n"
    fds = _fds_from_ls(ls)
    assert sorted(fds) == [0, 1, 2, 3], fds
    # the container sees its own path for it: the host path is not in the rootfs
    assert fds[3].endswith("/payload")


def test_fds_not_preserved_do_not_leak(ct):
    """The caller's fds 3, 4, 5 without --preserve-fds: only stdio inside."""
    fds_open = [_data_file(ct, f"f{i}", f"content {i}\n") for i in range(3)]
    try:
        out = _run_fds(ct, LS_FDS, {3: fds_open[0], 4: fds_open[1], 5: fds_open[2]})
    finally:
        for fd in fds_open:
            os.close(fd)
    assert sorted(_fds_from_ls(out)) == [0, 1, 2], out


def test_fds_beyond_preserved_do_not_leak(ct):
    """--preserve-fds 1 with fds 3, 4, 5 open: 3 only."""
    fds_open = [_data_file(ct, f"f{i}", f"content {i}\n") for i in range(3)]
    try:
        out = _run_fds(ct, LS_FDS, {3: fds_open[0], 4: fds_open[1], 5: fds_open[2]},
                       opts=("--preserve-fds", "1"))
    finally:
        for fd in fds_open:
            os.close(fd)
    fds = _fds_from_ls(out)
    assert sorted(fds) == [0, 1, 2, 3], out
    assert fds[3].endswith("/f0")


def test_preserve_fds_control_all_three(ct):
    """Control for the two tests above: the test's fds do reach capsa, and
    --preserve-fds 3 shows them all, in order."""
    fds_open = [_data_file(ct, f"f{i}", f"content {i}\n") for i in range(3)]
    try:
        out = _run_fds(ct, f"cat <&3; cat <&4; cat <&5; {LS_FDS}",
                       {3: fds_open[0], 4: fds_open[1], 5: fds_open[2]},
                       opts=("--preserve-fds", "3"))
    finally:
        for fd in fds_open:
            os.close(fd)
    lines = out.splitlines()
    assert lines[:3] == ["content 0", "content 1", "content 2"], out
    fds = _fds_from_ls("\n".join(lines[3:]))
    assert sorted(fds) == [0, 1, 2, 3, 4, 5]
    assert [os.path.basename(fds[i]) for i in (3, 4, 5)] == ["f0", "f1", "f2"]


O_CLOEXEC = 0o2000000


def _host_fds(pid):
    """{fd: (target, close_on_exec)} of a process, seen from the host."""
    out = {}
    for f in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{f}")
            with open(f"/proc/{pid}/fdinfo/{f}") as fi:
                flags = int(fi.read().split("flags:")[1].split()[0], 8)
        except (FileNotFoundError, IndexError):
            continue
        out[int(f)] = (target, bool(flags & O_CLOEXEC))
    return out


def _inheritable(fds):
    return {fd: t for fd, (t, cloexec) in fds.items() if not cloexec}


def _kill(pid):
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass


def test_created_init_fds_host_view(ct):
    """While `created`, the init may hold capsa's own fds only close-on-exec (the
    exec fifo's directory); after start the program has fds 0-2 and nothing else.
    An fd the caller passed to create without --preserve-fds is not among them."""
    fd = _data_file(ct, "payload", "x\n")
    b = ct.bundle(args=["sleep", "1000"])
    try:
        r = _capsa_with_fds(ct, ["create", "--bundle", b.path, b.id], {3: fd, 4: fd})
        assert r.returncode == 0, r.stderr
    finally:
        os.close(fd)
    pid = ct.state(b.id)["pid"]
    fds = _host_fds(pid)
    assert sorted(_inheritable(fds)) == [0, 1, 2], fds
    assert not any(t.endswith("/payload") for t, _ in fds.values()), fds
    ct.start(b.id)
    wait_for(lambda: "sleep" in open(f"/proc/{pid}/cmdline").read(), what="program exec")
    fds = _host_fds(pid)
    assert sorted(fds) == [0, 1, 2], fds


@pytest.mark.capsa_only("runc 1.1 leaks its own fds (cgroup dir, epoll) into the range")
def test_preserve_fds_more_than_open_create(ct):
    """--preserve-fds 3 while the caller has only fd 3 open: the range 3..5 must not
    pick up capsa's own descriptors (its flock'd state directory: a host directory
    in the container, and a lock held for the container's lifetime)."""
    fd = _data_file(ct, "payload", "x\n")
    b = ct.bundle(args=["sleep", "1000"])
    pidfile = os.path.join(ct.tmp, "init.pid")
    try:
        r = _capsa_with_fds(ct, ["create", "--preserve-fds", "3", "--pid-file", pidfile,
                                 "--bundle", b.path, b.id], {3: fd})
        assert r.returncode == 0, r.stderr
    finally:
        os.close(fd)
    pid = int(open(pidfile).read())  # not `state`: it would wait for a leaked lock
    try:
        inh = _inheritable(_host_fds(pid))
        assert sorted(inh) == [0, 1, 2, 3], f"the container program would inherit {inh}"
        assert inh[3].endswith("/payload")
    except AssertionError:
        _kill(pid)  # or teardown's delete blocks on the leaked lock
        raise


@pytest.mark.capsa_only("runc 1.1 leaks its own fds (cgroup dir, epoll) into the range")
def test_preserve_fds_more_than_open_exec(ct):
    """Same for exec: capsa's fds must not land in the preserved range."""
    b = ct.running()
    fd = _data_file(ct, "payload", "x\n")
    pidfile = os.path.join(ct.tmp, "exec.pid")
    try:
        r = _capsa_with_fds(ct, ["exec", "--detach", "--pid-file", pidfile, "--preserve-fds",
                                 "3", b.id, "sleep", "1000"], {3: fd})
        assert r.returncode == 0, r.stderr
    finally:
        os.close(fd)
    pid = int(open(pidfile).read())
    try:
        fds = _host_fds(pid)
        assert sorted(fds) == [0, 1, 2, 3], \
            f"the exec'd process holds {fds} (the state directory is a host path)"
    finally:
        _kill(pid)


@pytest.mark.capsa_only("runc 1.1 leaks its own fds (cgroup dir, epoll) into the range")
def test_run_preserve_fds_more_than_open_does_not_hang(ct):
    """The end-to-end symptom: `run --preserve-fds 3` with only fd 3 open."""
    fd = _data_file(ct, "payload", "x\n")
    b = ct.bundle(args=["sh", "-c", LS_FDS])
    try:
        r = _capsa_with_fds(ct, ["run", "--preserve-fds", "3", "--bundle", b.path, b.id],
                            {3: fd}, timeout=5)
    except AssertionError:
        for pid in _pids_mentioning(b.path):
            _kill(pid)
        raise
    finally:
        os.close(fd)
    assert r.returncode == 0, r.stderr
    assert sorted(_fds_from_ls(r.stdout)) == [0, 1, 2, 3], r.stdout


def _pids_mentioning(path):
    """Processes whose cmdline or environ names path (a container init still
    waiting for start carries capsa's command line)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                blob = open(f"/proc/{name}/cmdline", "rb").read() + \
                    open(f"/proc/{name}/environ", "rb").read()
            except OSError:
                continue
            if path.encode() in blob:
                out.append(int(name))
    return out


@pytest.mark.capsa_only("runc accepts --preserve-fds -1")
def test_preserve_fds_bad_values(ct):
    b = ct.bundle(args=["echo", "RAN"])
    for v in ("x", "-1", "1x"):
        r = ct.capsa("run", "--preserve-fds", v, "--bundle", b.path, b.id)
        assert r.returncode != 0, f"--preserve-fds {v} accepted"
        assert "RAN" not in r.stdout
        assert len(error_lines(r.stderr)) == 1, r.stderr


# --- exec ---------------------------------------------------------------------------

def test_exec_preserve_fds(ct):
    b = ct.running()
    fd = _data_file(ct, "payload", "exec-payload\n")
    fd2 = _data_file(ct, "other", "other\n")
    try:
        r = _capsa_with_fds(ct, ["exec", "--preserve-fds", "1", b.id, "sh", "-c",
                                 f"cat <&3; {LS_FDS}"], {3: fd, 4: fd2})
    finally:
        os.close(fd)
        os.close(fd2)
    assert r.returncode == 0, r.stderr
    first, _, rest = r.stdout.partition("\n")
    assert first == "exec-payload"
    fds = _fds_from_ls(rest)
    assert sorted(fds) == [0, 1, 2, 3], rest


def test_exec_fds_do_not_leak(ct):
    b = ct.running()
    fd = _data_file(ct, "payload", "x\n")
    try:
        r = _capsa_with_fds(ct, ["exec", b.id, "sh", "-c", LS_FDS], {3: fd, 4: fd, 7: fd})
    finally:
        os.close(fd)
    assert r.returncode == 0, r.stderr
    assert sorted(_fds_from_ls(r.stdout)) == [0, 1, 2], r.stdout


@pytest.mark.capsa_only("runc 1.1 leaks its own fds (cgroup dir, epoll) into the range")
def test_exec_fds_control(ct):
    """Control for the test above: with --preserve-fds 5 the same fds arrive."""
    b = ct.running()
    fd = _data_file(ct, "payload", "x\n")
    try:
        r = _capsa_with_fds(ct, ["exec", "--preserve-fds", "5", b.id, "sh", "-c", LS_FDS],
                            {3: fd, 4: fd, 7: fd})
    finally:
        os.close(fd)
    assert r.returncode == 0, r.stderr
    assert sorted(_fds_from_ls(r.stdout)) == [0, 1, 2, 3, 4, 7], r.stdout


# --- socket activation -------------------------------------------------------------

def _env_without_listen():
    return {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}


def test_listen_fds_passes_fd3(ct):
    fd = _data_file(ct, "sock", "activation\n")
    fd2 = _data_file(ct, "extra", "extra\n")
    env = _env_without_listen()
    env["LISTEN_FDS"] = "1"
    try:
        out = _run_fds(ct, f"cat <&3; env | grep ^LISTEN_ | sort; {LS_FDS}", {3: fd, 4: fd2},
                       env=env, listen_pid=True)
    finally:
        os.close(fd)
        os.close(fd2)
    lines = out.splitlines()
    assert lines[0] == "activation"
    assert lines[1:3] == ["LISTEN_FDS=1", "LISTEN_PID=1"]
    assert sorted(_fds_from_ls("\n".join(lines[3:]))) == [0, 1, 2, 3], out


def test_listen_fds_control(ct):
    """Without LISTEN_FDS the same fd 3 does not arrive and no LISTEN_ variable is set."""
    fd = _data_file(ct, "sock", "activation\n")
    try:
        out = _run_fds(ct, f"env | grep ^LISTEN_; {LS_FDS}", {3: fd},
                       env=_env_without_listen())
    finally:
        os.close(fd)
    assert "LISTEN_" not in out
    assert sorted(_fds_from_ls(out)) == [0, 1, 2], out


def test_listen_fds_for_another_pid_ignored(ct):
    """LISTEN_FDS meant for another process (LISTEN_PID is not capsa's, as when a
    socket-activated service's child runs capsa): nothing is passed, as
    sd_listen_fds(3) and runc do."""
    fd = _data_file(ct, "sock", "activation\n")
    env = _env_without_listen()
    env.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    try:
        out = _run_fds(ct, f"env | grep ^LISTEN_; {LS_FDS}", {3: fd}, env=env)
    finally:
        os.close(fd)
    assert "LISTEN_" not in out
    assert sorted(_fds_from_ls(out)) == [0, 1, 2], out


def test_listen_fds_with_preserve_fds(ct):
    """LISTEN_FDS=1 plus --preserve-fds 1: fds 3 and 4 (runc adds them up)."""
    fd = _data_file(ct, "a", "a\n")
    fd2 = _data_file(ct, "b", "b\n")
    env = _env_without_listen()
    env["LISTEN_FDS"] = "1"
    try:
        out = _run_fds(ct, LS_FDS, {3: fd, 4: fd2, 5: fd2}, env=env,
                       opts=("--preserve-fds", "1"), listen_pid=True)
    finally:
        os.close(fd)
        os.close(fd2)
    assert sorted(_fds_from_ls(out)) == [0, 1, 2, 3, 4], out


# --- stdio ---------------------------------------------------------------------------

@pytest.mark.capsa_only("runc interposes its own pipes")
def test_stdio_pipes_passed_untouched(ct):
    """Without a terminal the container's stdio are the caller's own pipes."""
    b = ct.bundle(args=["sh", "-c", "for i in 0 1 2; do readlink /proc/self/fd/$i; done; cat"])
    p = subprocess.Popen([CAPSA, "--root", ct.root, "run", "--bundle", b.path, b.id],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ct.popens.append(p)
    ino = {i: os.fstat(f.fileno()).st_ino for i, f in ((0, p.stdin), (1, p.stdout),
                                                       (2, p.stderr))}
    out, err = p.communicate(b"through stdin\n", timeout=DEFAULT_TIMEOUT)
    assert p.returncode == 0, err
    lines = out.decode().splitlines()
    assert lines[:3] == [f"pipe:[{ino[i]}]" for i in range(3)], (lines, ino)
    assert lines[3] == "through stdin"


@pytest.mark.capsa_only("runc interposes its own pipes")
def test_exec_stdio_pipes_passed_untouched(ct):
    b = ct.running()
    p = subprocess.Popen([CAPSA, "--root", ct.root, "exec", b.id, "sh", "-c",
                          "for i in 0 1 2; do readlink /proc/self/fd/$i; done; cat"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ct.popens.append(p)
    ino = {i: os.fstat(f.fileno()).st_ino for i, f in ((0, p.stdin), (1, p.stdout),
                                                       (2, p.stderr))}
    out, err = p.communicate(b"through stdin\n", timeout=DEFAULT_TIMEOUT)
    assert p.returncode == 0, err
    lines = out.decode().splitlines()
    assert lines[:3] == [f"pipe:[{ino[i]}]" for i in range(3)], (lines, ino)
    assert lines[3] == "through stdin"
