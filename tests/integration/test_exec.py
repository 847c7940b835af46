"""capsa exec: the new process joins every namespace and the cgroup of the running
container, gets its capabilities / no_new_privs / seccomp filter, honours
env/cwd/user flags and process.json, and reports exit codes; foreground run and exec
forward signals and leave no zombies."""
import json
import os
import select
import signal
import subprocess
import time

import pytest

from capsatest import (CAPSA, CGROUP_PARENT, DEFAULT_CAPS, HERE, IS_CAPSA, cap_mask, capsa,
                       error_lines, pid_alive, set_namespace, status_caps, wait_for)

ALL_NS = ("pid", "net", "mnt", "ipc", "uts", "cgroup", "user", "time")
USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]
NS_SCRIPT = "for n in $(ls /proc/self/ns); do echo $n $(readlink /proc/self/ns/$n); done"


def _exec(ct, cid, *args, opts=(), **kw):
    return ct.capsa("exec", *opts, cid, *args, **kw)


def _exec_ok(ct, cid, *args, opts=()):
    r = _exec(ct, cid, *args, opts=opts)
    assert r.returncode == 0, f"exec {args} exited {r.returncode}\nstdout: {r.stdout}\n" \
                              f"stderr: {r.stderr}"
    return r.stdout


def _sh_ok(ct, cid, script, opts=()):
    return _exec_ok(ct, cid, "sh", "-c", script, opts=opts)


def _init_pid(ct, cid):
    return ct.state(cid)["pid"]


def _status_fields(text):
    return {l.split(":", 1)[0]: l.split(":", 1)[1].strip()
            for l in text.splitlines() if ":" in l}


def _host_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return f.read()


def _add_applet(b, name):
    p = os.path.join(b.rootfs, "bin", name)
    if not os.path.lexists(p):
        os.symlink("busybox", p)


def _one_error_line(r):
    lines = error_lines(r.stderr)
    assert len(lines) == 1, f"expected one error line, got: {r.stderr!r}"
    if IS_CAPSA:
        assert lines[0].startswith("capsa"), lines
    return lines[0]


def _spec_seccomp(ct):
    """linux.seccomp of `capsa spec` (the default profile; from the capsa build
    even when the runtime under test is another one)."""
    binary = CAPSA if IS_CAPSA else os.path.join(HERE, "..", "..", "build", "capsa")
    if not os.path.exists(binary):
        pytest.skip("no capsa binary to generate the default seccomp profile")
    d = os.path.join(ct.tmp, "specgen")
    os.makedirs(d)
    r = capsa("spec", "--bundle", d, root=ct.root, binary=binary, check=True)
    with open(os.path.join(d, "config.json")) as f:
        sc = json.load(f)["linux"].get("seccomp")
    assert sc, f"capsa spec has no linux.seccomp: {r.stdout}"
    return sc


# --- namespaces and cgroup ------------------------------------------------------

def _userns_time(c):
    set_namespace(c, "user")
    set_namespace(c, "time")
    c["linux"]["uidMappings"] = USERNS_MAP
    c["linux"]["gidMappings"] = USERNS_MAP


@pytest.mark.parametrize("variant", ["default", pytest.param(
    "user+time", marks=pytest.mark.capsa_only("time namespace (runc 1.1 lacks it)"))])
def test_exec_joins_every_namespace(ct, variant):
    if variant == "default":
        b = ct.running()
    else:
        b = ct.bundle(args=["sleep", "1000"], tweak=_userns_time, base=ct.world_dir())
        ct.create(b)
        ct.start(b.id)
    init = _init_pid(ct, b.id)
    inside = dict(l.split(None, 1) for l in _sh_ok(ct, b.id, NS_SCRIPT).splitlines())
    expected = {n: os.readlink(f"/proc/{init}/ns/{n}") for n in os.listdir(f"/proc/{init}/ns")}
    assert set(inside) == set(expected)
    for n in expected:
        assert inside[n] == expected[n], f"exec's {n} namespace is not the init's"
    # The comparison means something: the container's namespaces are not ours.
    new = {"pid", "net", "mnt", "ipc", "uts", "cgroup"}
    if variant != "default":
        new |= {"user", "time"}
    for n in new:
        assert expected[n] != os.readlink(f"/proc/self/ns/{n}"), f"init shares host {n} ns"


def test_exec_joins_cgroup(ct):
    b = ct.running()
    init = _init_pid(ct, b.id)
    out = _sh_ok(ct, b.id, "cat /proc/self/cgroup; echo ==; cat /proc/1/cgroup")
    mine, pid1 = out.split("==\n")
    assert mine == pid1
    # Host view, through a detached exec whose pid we know.
    pidfile = os.path.join(ct.tmp, "exec.pid")
    _exec_ok(ct, b.id, "sleep", "1000", opts=("--detach", "--pid-file", pidfile))
    pid = int(open(pidfile).read())
    with open(f"/proc/{pid}/cgroup") as f:
        exec_cg = f.read()
    with open(f"/proc/{init}/cgroup") as f:
        init_cg = f.read()
    assert exec_cg == init_cg
    assert f"{CGROUP_PARENT}/{b.id}" in init_cg
    with open("/proc/self/cgroup") as f:
        assert f.read() != exec_cg


# --- capabilities, no_new_privs, seccomp -------------------------------------------

def test_exec_capabilities_are_the_configs(ct):
    b = ct.running()
    caps = status_caps(_exec_ok(ct, b.id, "cat", "/proc/self/status"))
    m = cap_mask(DEFAULT_CAPS)
    assert caps["CapEff"] == m
    assert caps["CapPrm"] == m
    assert caps["CapBnd"] == m
    assert caps["CapInh"] == 0
    assert caps["CapAmb"] == 0


def test_exec_cap_flag_adds_to_effective_and_bounding_only(ct):
    b = ct.running()
    bit = cap_mask(["CAP_SYS_ADMIN"])
    init_caps = status_caps(_host_status(_init_pid(ct, b.id)))
    assert not init_caps["CapBnd"] & bit  # control: the container lacks it
    caps = status_caps(_exec_ok(ct, b.id, "cat", "/proc/self/status",
                                opts=("--cap", "CAP_SYS_ADMIN")))
    m = cap_mask(DEFAULT_CAPS) | bit
    assert caps["CapEff"] == m
    assert caps["CapPrm"] == m
    assert caps["CapBnd"] == m
    assert caps["CapInh"] == 0
    assert caps["CapAmb"] == 0
    # and nothing sticks: the next exec is back to the config's set
    caps = status_caps(_exec_ok(ct, b.id, "cat", "/proc/self/status"))
    assert caps["CapEff"] == cap_mask(DEFAULT_CAPS)


@pytest.mark.capsa_only("runc warns and ignores unknown capabilities")
def test_exec_unknown_cap_rejected(ct):
    b = ct.running()
    r = _exec(ct, b.id, "echo", "RAN", opts=("--cap", "CAP_NOT_A_CAP"))
    assert r.returncode != 0
    assert "RAN" not in r.stdout
    assert "CAP_NOT_A_CAP" in _one_error_line(r)


def test_exec_no_new_privs(ct):
    b = ct.running()  # config: noNewPrivileges true
    st = _status_fields(_exec_ok(ct, b.id, "cat", "/proc/self/status"))
    assert st["NoNewPrivs"] == "1"


def test_exec_no_new_privs_flag(ct):
    b = ct.running(tweak=lambda c: c["process"].update(noNewPrivileges=False))
    st = _status_fields(_exec_ok(ct, b.id, "cat", "/proc/self/status"))
    assert st["NoNewPrivs"] == "0"  # control
    st = _status_fields(_exec_ok(ct, b.id, "cat", "/proc/self/status",
                                 opts=("--no-new-privs",)))
    assert st["NoNewPrivs"] == "1"


@pytest.mark.parametrize("with_seccomp", [True, False], ids=["seccomp", "control"])
def test_exec_seccomp(ct, with_seccomp):
    if _status_fields(_host_status("self"))["Seccomp"] != "0":
        pytest.skip("the test runner itself is under seccomp")
    sc = _spec_seccomp(ct) if with_seccomp else None

    def tweak(c):
        if sc:
            c["linux"]["seccomp"] = sc
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak)
    _add_applet(b, "unshare")
    ct.create(b)
    ct.start(b.id)
    st = _status_fields(_exec_ok(ct, b.id, "cat", "/proc/self/status"))
    r = _exec(ct, b.id, "unshare", "-U", "true")
    if with_seccomp:
        assert st["Seccomp"] == "2"
        assert r.returncode != 0, "unshare -U succeeded under the default seccomp profile"
    else:
        assert st["Seccomp"] == "0"
        assert r.returncode == 0, r.stderr


# --- env, cwd, user ----------------------------------------------------------------

def test_exec_env_is_the_configs(ct):
    b = ct.running(tweak=lambda c: c["process"]["env"].append("FROM_CONFIG=yes"))
    env = dict(l.split("=", 1) for l in _exec_ok(ct, b.id, "env").splitlines() if "=" in l)
    assert env["FROM_CONFIG"] == "yes"
    assert env["PATH"].startswith("/usr/local/sbin")
    for host_var in ("PYTEST_CURRENT_TEST", "CAPSA", "PWD", "OLDPWD", "SHLVL"):
        assert host_var not in env, f"host variable {host_var} leaked into exec"


def test_exec_env_override_and_add(ct):
    b = ct.running(tweak=lambda c: c["process"]["env"].append("FOO=config"))
    out = _exec_ok(ct, b.id, "env", opts=("--env", "FOO=flag", "--env", "NEW=v=w",
                                          "--env", "PATH=/bin"))
    lines = out.splitlines()
    env = dict(l.split("=", 1) for l in lines if "=" in l)
    assert env["FOO"] == "flag"
    assert env["NEW"] == "v=w"
    assert env["PATH"] == "/bin"
    assert sum(l.startswith("FOO=") for l in lines) == 1, "FOO appears twice"
    assert sum(l.startswith("PATH=") for l in lines) == 1, "PATH appears twice"


def test_exec_cwd(ct):
    b = ct.running()
    assert _exec_ok(ct, b.id, "pwd") == "/\n"
    assert _exec_ok(ct, b.id, "pwd", opts=("--cwd", "/tmp")) == "/tmp\n"


def test_exec_cwd_symlink_resolved_inside(ct):
    """--cwd through a symlink pointing out of the rootfs lands inside it."""
    b = ct.bundle(args=["sleep", "1000"])
    os.symlink("/etc", os.path.join(b.rootfs, "evil"))
    os.symlink("../../../../../../../../etc", os.path.join(b.rootfs, "evil2"))
    ct.create(b)
    ct.start(b.id)
    for cwd in ("/evil", "/evil2"):
        out = _exec_ok(ct, b.id, "ls", opts=("--cwd", cwd)).split()
        assert "hostname-in-rootfs" in out, (cwd, out)  # the rootfs /etc
        assert "os-release" not in out, (cwd, out)


def test_exec_relative_cwd_rejected(ct):
    b = ct.running()
    r = _exec(ct, b.id, "pwd", opts=("--cwd", "tmp"))
    assert r.returncode != 0
    assert r.stdout == ""
    _one_error_line(r)


def test_exec_missing_cwd_is_one_line_error(ct):
    b = ct.running()  # read-only root: the cwd cannot be made either
    r = _exec(ct, b.id, "echo", "RAN", opts=("--cwd", "/no/such/dir"))
    assert r.returncode != 0
    assert "RAN" not in r.stdout
    assert "/no/such/dir" in _one_error_line(r)


def test_exec_rlimits_are_the_configs(ct):
    def tweak(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 777, "soft": 555}]
    b = ct.running(tweak=tweak)
    assert _sh_ok(ct, b.id, "ulimit -n; ulimit -Hn").split() == ["555", "777"]


def test_exec_user_and_additional_gids(ct):
    b = ct.running()
    # runc's form: --additional-gids is repeated, one gid each
    out = _sh_ok(ct, b.id, "id -u; id -g; grep -E '^(Uid|Gid|Groups):' /proc/self/status",
                 opts=("--user", "1000:1000", "--additional-gids", "2000",
                       "--additional-gids", "2001"))
    lines = out.splitlines()
    assert lines[0] == "1000"
    assert lines[1] == "1000"
    st = {l.split(":")[0]: l.split()[1:] for l in lines[2:]}
    assert st["Uid"] == ["1000"] * 4
    assert st["Gid"] == ["1000"] * 4
    assert sorted(st["Groups"]) == ["2000", "2001"]
    # a non-root exec has no effective capabilities (the kernel clears them on
    # the uid change; the config does not give ambient ones)
    caps = status_caps(_exec_ok(ct, b.id, "cat", "/proc/self/status",
                                opts=("--user", "1000:1000")))
    assert caps["CapEff"] == 0


@pytest.mark.capsa_only("comma-separated --additional-gids (runc takes one gid per flag)")
def test_exec_additional_gids_comma_list(ct):
    b = ct.running()
    out = _exec_ok(ct, b.id, "grep", "^Groups:", "/proc/self/status",
                   opts=("--additional-gids", "2000,2001,2002"))
    assert sorted(out.split()[1:]) == ["2000", "2001", "2002"]


def test_exec_user_uid_only(ct):
    b = ct.running()
    out = _sh_ok(ct, b.id, "id -u; id -g", opts=("--user", "1234"))
    assert out.splitlines() == ["1234", "0"]


TRUNCATED = pytest.mark.capsa_only("runc 1.1 truncates out-of-range ids")


@pytest.mark.parametrize("user", ["abc", "1:x", "-1", "1:-1", "1:", "0 ", "root", "1:2:3",
                                  "0x10", " 1", "1: 2",
                                  pytest.param("99999999999", marks=TRUNCATED),
                                  pytest.param("4294967296", marks=TRUNCATED)])
def test_exec_bad_user_rejected(ct, user):
    b = ct.running()
    r = _exec(ct, b.id, "echo", "RAN", opts=("--user", user))
    assert r.returncode != 0, f"--user {user!r} accepted: {r.stdout!r}"
    assert "RAN" not in r.stdout
    _one_error_line(r)
    assert ct.status(b.id) == "running"


@pytest.mark.parametrize("gids", ["abc", "1,x", "-1", "1,,2x", " 5",
                                  pytest.param("4294967296", marks=TRUNCATED)])
def test_exec_bad_additional_gids_rejected(ct, gids):
    b = ct.running()
    r = _exec(ct, b.id, "echo", "RAN", opts=("--additional-gids", gids))
    assert r.returncode != 0, f"--additional-gids {gids!r} accepted"
    assert "RAN" not in r.stdout
    _one_error_line(r)


# --- exit codes and errors -------------------------------------------------------

@pytest.mark.parametrize("script,code", [("exit 0", 0), ("exit 7", 7), ("exit 255", 255),
                                         ("kill -9 $$", 137), ("kill -TERM $$", 143)])
def test_exec_exit_code(ct, script, code):
    b = ct.running()
    r = _exec(ct, b.id, "sh", "-c", script)
    assert r.returncode == code, r.stderr
    assert ct.status(b.id) == "running"


def test_exec_output_passes_through(ct):
    b = ct.running()
    r = _exec(ct, b.id, "sh", "-c", "echo out; echo err >&2; cat", input="from stdin\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "out\nfrom stdin\n"
    assert r.stderr == "err\n"


def test_exec_into_stopped_container_fails(ct):
    b = ct.bundle(args=["true"])
    ct.create(b)
    ct.start(b.id)
    ct.wait_status(b.id, "stopped")
    r = _exec(ct, b.id, "echo", "RAN")
    assert r.returncode != 0
    assert "RAN" not in r.stdout
    line = _one_error_line(r)
    assert "stopped" in line
    if IS_CAPSA:
        assert b.id in line


def test_exec_into_missing_container_fails(ct):
    r = _exec(ct, "no-such-container", "echo", "RAN")
    assert r.returncode != 0
    line = _one_error_line(r)
    if IS_CAPSA:
        assert "no-such-container" in line


def test_exec_into_paused_container_fails(ct):
    b = ct.running()
    r = ct.capsa("pause", b.id)
    if r.returncode != 0:
        pytest.skip(f"pause unavailable: {r.stderr.strip()}")
    try:
        r = _exec(ct, b.id, "echo", "RAN", timeout=10)
        assert r.returncode != 0
        assert "RAN" not in r.stdout
        assert "paused" in _one_error_line(r)
    finally:
        ct.capsa("resume", b.id)


def test_exec_missing_binary(ct):
    b = ct.running()
    r = _exec(ct, b.id, "/no/such/binary")
    assert r.returncode != 0
    line = _one_error_line(r)
    assert "/no/such/binary" in line
    assert ct.status(b.id) == "running"
    r = _exec(ct, b.id, "not-in-path")
    assert r.returncode != 0
    assert "not-in-path" in _one_error_line(r)


def test_exec_without_command_fails(ct):
    b = ct.running()
    r = _exec(ct, b.id)
    assert r.returncode != 0
    _one_error_line(r)


# --- process.json, detach, pid file ---------------------------------------------------

def test_exec_process_json(ct):
    b = ct.running()
    proc = {
        "terminal": False,
        "user": {"uid": 1001, "gid": 1002, "additionalGids": [3000]},
        "args": ["sh", "-c", "echo $FOO; pwd; id -u; id -g; id -G; "
                 "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status"],
        "env": ["PATH=/bin", "FOO=from-process-json"],
        "cwd": "/etc",
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                         "permitted": ["CAP_KILL"]},
        "noNewPrivileges": True,
    }
    path = os.path.join(ct.tmp, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    out = _exec_ok(ct, b.id, opts=("--process", path)).splitlines()
    assert out[0] == "from-process-json"
    assert out[1] == "/etc"
    assert out[2:4] == ["1001", "1002"]
    assert sorted(out[4].split()) == ["1002", "3000"]
    st = _status_fields("\n".join(out[5:]))
    assert st["NoNewPrivs"] == "1"
    assert int(st["CapEff"], 16) == 0  # non-root: no effective caps


def test_exec_process_json_root_caps(ct):
    b = ct.running()
    proc = {"user": {"uid": 0, "gid": 0}, "args": ["cat", "/proc/self/status"],
            "env": ["PATH=/bin"], "cwd": "/",
            "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"],
                             "effective": ["CAP_KILL", "CAP_CHOWN"],
                             "permitted": ["CAP_KILL", "CAP_CHOWN"]}}
    path = os.path.join(ct.tmp, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    caps = status_caps(_exec_ok(ct, b.id, opts=("--process", path)))
    m = cap_mask(["CAP_KILL", "CAP_CHOWN"])
    assert caps["CapEff"] == m
    assert caps["CapBnd"] == m


def test_exec_process_json_and_command_rejected(ct):
    b = ct.running()
    path = os.path.join(ct.tmp, "process.json")
    with open(path, "w") as f:
        json.dump({"args": ["true"], "cwd": "/", "user": {"uid": 0, "gid": 0}}, f)
    r = _exec(ct, b.id, "echo", "RAN", opts=("--process", path))
    assert r.returncode != 0
    assert "RAN" not in r.stdout
    _one_error_line(r)


def test_exec_bad_process_json(ct):
    b = ct.running()
    path = os.path.join(ct.tmp, "process.json")
    with open(path, "w") as f:
        f.write("{not json")
    r = _exec(ct, b.id, opts=("--process", path))
    assert r.returncode != 0
    line = _one_error_line(r)
    if IS_CAPSA:
        assert "process.json" in line


def test_exec_detach_pid_file(ct):
    b = ct.running()
    init = _init_pid(ct, b.id)
    pidfile = os.path.join(ct.tmp, "exec.pid")
    t0 = time.monotonic()
    r = _exec(ct, b.id, "sleep", "1000", opts=("--detach", "--pid-file", pidfile))
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 5
    pid = int(open(pidfile).read().strip())
    assert pid_alive(pid)
    assert pid != init
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"1000"]
    for n in ("pid", "mnt", "net"):
        assert os.readlink(f"/proc/{pid}/ns/{n}") == os.readlink(f"/proc/{init}/ns/{n}")
    # the pid inside the container's pid namespace: NSpid has two levels
    nspid = _status_fields(_host_status(pid))["NSpid"].split()
    assert len(nspid) == 2 and nspid[0] == str(pid) and nspid[1] != "1"
    ps = _exec_ok(ct, b.id, "ps", "-o", "pid,args")
    assert any(l.split()[0] == nspid[1] and "sleep 1000" in l for l in ps.splitlines()[1:])


def test_kill_all_reaches_exec_processes(ct):
    """exec'd processes are in the container's cgroup: kill --all gets them."""
    b = ct.running()
    pidfile = os.path.join(ct.tmp, "exec.pid")
    _exec_ok(ct, b.id, "sleep", "1000", opts=("--detach", "--pid-file", pidfile))
    pid = int(open(pidfile).read())
    init = _init_pid(ct, b.id)
    ct.capsa("kill", "--all", b.id, "KILL", check=True)
    wait_for(lambda: not pid_alive(pid) and not pid_alive(init), timeout=5,
             what="every container process to die")


def test_exec_pid_file_relative(ct):
    b = ct.running()
    r = ct.capsa("exec", "--detach", "--pid-file", "rel.pid", b.id, "sleep", "1000",
                 cwd=ct.tmp)
    assert r.returncode == 0, r.stderr
    pid = int(open(os.path.join(ct.tmp, "rel.pid")).read())
    assert pid_alive(pid)


def test_exec_foreground_pid_file(ct):
    b = ct.running()
    pidfile = os.path.join(ct.tmp, "fg.pid")
    out = _sh_ok(ct, b.id, "echo $$", opts=("--pid-file", pidfile))
    host_pid = int(open(pidfile).read())
    assert host_pid > 1
    assert out.strip() != "1"


def test_exec_tty_detach_needs_console_socket(ct):
    b = ct.running()
    r = _exec(ct, b.id, "echo", "RAN", opts=("--tty", "--detach"))
    assert r.returncode != 0
    assert "console" in _one_error_line(r)


# --- signals and zombies -----------------------------------------------------------

def _zombie_children(pid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            st = open(f"/proc/{name}/stat").read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if int(rest[1]) == pid and rest[0] in "ZX":
            out.append(int(name))
    return out


def _readline(p, timeout=10):
    deadline = time.monotonic() + timeout
    buf = b""
    fd = p.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no line from {p.args} within {timeout}s (got {buf!r})")
        c = os.read(fd, 1)
        if not c:
            raise AssertionError(f"EOF from {p.args}: {buf!r}; stderr: {_stderr_now(p)!r}")
        buf += c
    return buf.decode()


TRAP = "trap 'exit 42' {sig}; echo ready; while :; do sleep 0.05; done"


def _popen_raw(ct, *args):
    p = subprocess.Popen([CAPSA, "--root", ct.root, *args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ct.popens.append(p)
    return p


def _stderr_now(p):
    """What the process wrote to stderr so far, without blocking (a container that
    outlived capsa may hold the pipe open)."""
    fd = p.stderr.fileno()
    os.set_blocking(fd, False)
    try:
        return (os.read(fd, 65536) or b"").decode(errors="replace")
    except BlockingIOError:
        return ""


def _wait_rc(p, what, timeout=10):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{what}: capsa still running after {timeout}s; "
                             f"stderr: {_stderr_now(p)!r}")


def _expect_rc(ct, p, cid, rc, what):
    """p's exit status is rc; otherwise fail, first removing the container that
    outlived capsa (it holds p's pipes: teardown would wait for them)."""
    got = _wait_rc(p, what)
    if got != rc:
        err = _stderr_now(p)
        left = ct.status(cid)
        ct.capsa("delete", "--force", cid)
        raise AssertionError(f"{what}: capsa exited {got}, not {rc}; container left "
                             f"{left or 'nothing'}; stderr: {err!r}")


@pytest.mark.parametrize("sig", ["TERM", "INT", "HUP"])
def test_run_forwards_signal(ct, sig):
    """The signal is sent as soon as the container's program runs: capsa must be
    forwarding by then (a signal that kills capsa instead orphans the container)."""
    b = ct.bundle(args=["sh", "-c", TRAP.format(sig=sig)])
    p = _popen_raw(ct, "run", "--bundle", b.path, b.id)
    assert _readline(p) == "ready\n"
    p.send_signal(getattr(signal, "SIG" + sig))
    _expect_rc(ct, p, b.id, 42, f"SIG{sig} right after the program started")
    assert not os.path.exists(os.path.join(ct.root, b.id))


def test_run_forwards_signal_settled(ct):
    """Same, once capsa has surely reached its wait loop; and no zombie children."""
    b = ct.bundle(args=["sh", "-c", TRAP.format(sig="TERM")])
    p = _popen_raw(ct, "run", "--bundle", b.path, b.id)
    assert _readline(p) == "ready\n"
    time.sleep(0.3)
    assert _zombie_children(p.pid) == [], "capsa run left a zombie child during the run"
    p.send_signal(signal.SIGTERM)
    _expect_rc(ct, p, b.id, 42, "SIGTERM to a settled run")


def test_run_forwards_signal_during_poststart(ct):
    """The program already runs while poststart hooks run: a signal then must reach
    it too (deterministic version of the start-to-wait window)."""
    def tweak(c):
        c["hooks"] = {"poststart": [{"path": "/bin/sleep", "args": ["sleep", "1"]}]}
    b = ct.bundle(args=["sh", "-c", TRAP.format(sig="TERM")], tweak=tweak)
    p = _popen_raw(ct, "run", "--bundle", b.path, b.id)
    assert _readline(p) == "ready\n"
    p.send_signal(signal.SIGTERM)
    _expect_rc(ct, p, b.id, 42, "SIGTERM while poststart hooks run")


@pytest.mark.parametrize("when", ["immediately", "settled"])
def test_exec_forwards_signal(ct, when):
    b = ct.running()
    p = _popen_raw(ct, "exec", b.id, "sh", "-c", TRAP.format(sig="TERM"))
    assert _readline(p) == "ready\n"
    if when == "settled":
        time.sleep(0.3)
        assert _zombie_children(p.pid) == [], "capsa exec left a zombie child"
    p.send_signal(signal.SIGTERM)
    rc = _wait_rc(p, "SIGTERM not forwarded by exec")
    if rc != 42:
        err = _stderr_now(p)
        ct.capsa("delete", "--force", b.id)  # the orphaned process holds p's pipes
        raise AssertionError(f"capsa exec exited {rc}, not 42; stderr: {err!r}")
    assert ct.status(b.id) == "running"


def test_run_no_zombies_after_children_exit(ct):
    """Processes forked by the container and the setup stages are all reaped."""
    b = ct.bundle(args=["sh", "-c", "for i in 1 2 3; do sleep 0.01 & done; wait; "
                        "echo ready; read x; exit 3"])
    p = subprocess.Popen([CAPSA, "--root", ct.root, "run", "--bundle", b.path, b.id],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ct.popens.append(p)
    assert _readline(p) == "ready\n"
    assert _zombie_children(p.pid) == []
    p.stdin.write(b"go\n")
    p.stdin.close()
    rc = _wait_rc(p, "container did not exit")
    assert rc == 3, _stderr_now(p)
