"""Docker Engine (Debian docker.io 20.10) driving capsa: what Docker users do.

A private dockerd (tests/clients/dockerd.py: own data/exec root, socket, containerd
namespace, cgroup parent, no bridge/iptables, private mount namespace) has capsa
registered as runtime "capsa" (daemon.json "runtimes"), and Docker's own "runc".
Every check runs once per runtime (test ids [capsa] and [runc]), so a check that fails
for capsa and passes for runc is capsa's, one that fails for both is the machine's.
The image is busybox-static, built here and `docker import`ed. Containers run with
--network none, or --network host with servers bound to 127.0.0.1 only.

test_userns_remap starts a second daemon with --userns-remap (and the --add-runtime
form of registration); the remap user and its /etc/subuid and /etc/subgid lines are
made by the test and removed again.

At the end the module asserts that nothing is left: no process, mount, cgroup or
network interface.

    CAPSA=/work/main/build/capsa python3 -m pytest -q -p no:cacheprovider \
        tests/clients/test_docker.py
"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from dockerd import DOCKER, IMAGE, Dockerd, build_image_tar, have_docker, ptyrun

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CAPSA = os.path.abspath(os.environ.get("CAPSA", os.path.join(REPO, "build", "capsa")))
RUNC = shutil.which("runc", path="/usr/sbin:/usr/bin:/sbin:/bin")
LABEL = "capsa-docker-test=1"

_skip = have_docker()
pytestmark = pytest.mark.skipif(_skip is not None, reason=_skip or "")

RUNTIMES = ["capsa"] + (["runc"] if RUNC else [])


def _links():
    return set(os.listdir("/sys/class/net"))


def _docker_links(before):
    """Interfaces Docker could have made (a bridge, its veths) that were not there."""
    return {x for x in _links() - before if x.startswith(("docker", "veth", "br-"))}


@pytest.fixture(scope="module")
def daemon():
    if not os.access(CAPSA, os.X_OK):
        pytest.skip(f"capsa binary {CAPSA} not built")
    links = _links()
    base = tempfile.mkdtemp(prefix="capsa-docker-")
    d = Dockerd(base, "main", runtimes={"capsa": CAPSA})
    tar = os.path.join(base, "image.tar")
    try:
        d.start()
        d.import_image(build_image_tar(tar))
        d.image_tar = tar
        yield d
    finally:
        left = d.stop()
        new_links = _docker_links(links)
        assert not left, f"left behind: {left}"
        assert "docker0" not in _links()
        assert not new_links, f"network interfaces left: {new_links}"


class Ctx:
    """One runtime on the shared daemon."""

    def __init__(self, d, rt):
        self.d, self.rt = d, rt
        self.tmp = tempfile.mkdtemp(prefix=f"t-{rt}-", dir=d.base)

    def n(self, name):
        return f"{name}-{self.rt}"

    def docker(self, *a, **kw):
        return self.d.docker(*a, **kw)

    def run(self, *args, net="none", check=True, timeout=60, input=None):
        return self.d.docker("run", "--runtime", self.rt, "--network", net, "--label", LABEL,
                             "--pull", "never", *args, check=check, timeout=timeout, input=input)

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout.strip()

    def detach(self, name, *args, **kw):
        self.run("-d", "--name", self.n(name), *args, **kw)
        self.waitfor(lambda: self.inspect(self.n(name), "{{.State.Running}}") == "true",
                     f"{name} running")
        return self.n(name)

    def inspect(self, name, fmt):
        return self.d.inspect(name, fmt)

    def waitfor(self, pred, what, timeout=30):
        end = time.monotonic() + timeout
        while True:
            try:
                if pred():
                    return
            except AssertionError:
                pass
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)

    def exec(self, name, *args, check=True):
        return self.d.docker("exec", name, *args, check=check)

    def cgdir(self, name, ctrl):
        pid = int(self.inspect(name, "{{.State.Pid}}"))
        assert pid > 0, f"no pid for {name}"
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                if ctrl in ctrls.split(","):
                    return f"/sys/fs/cgroup/{ctrls}{path}"
        raise AssertionError(f"{name}: no {ctrl} cgroup")


@pytest.fixture(params=RUNTIMES)
def c(request, daemon):
    ctx = Ctx(daemon, request.param)
    yield ctx
    ids = daemon.docker("ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.split()
    if ids:
        daemon.docker("rm", "-f", *ids, check=False, timeout=120)


def read(path):
    with open(path) as f:
        return f.read().strip()


# ---------------------------------------------------------------- run, exec, stdio
def test_run_rm_echo(c):
    assert c.out("--rm", IMAGE, "echo", "hello-docker") == "hello-docker"


def test_exit_code(c):
    assert c.run("--rm", IMAGE, "sh", "-c", "exit 7", check=False).returncode == 7
    c.run("-d", "--name", c.n("exit"), IMAGE, "sh", "-c", "exit 7")
    assert c.docker("wait", c.n("exit")).stdout.strip() == "7"
    assert c.inspect(c.n("exit"), "{{.State.ExitCode}}") == "7"


def test_run_stdin_pipe(c):
    assert c.out("-i", "--rm", IMAGE, "cat", input="piped-in\n") == "piped-in"


def test_network_none(c):
    assert c.out("--rm", IMAGE, "ls", "/sys/class/net") == "lo"


def test_run_d_exec(c):
    n = c.detach("exec", IMAGE, "sleep", "300")
    assert c.exec(n, "echo", "hi-from-exec").stdout.strip() == "hi-from-exec"
    assert c.exec(n, "cat", "/proc/1/cmdline").stdout == "sleep\0" "300\0"
    assert c.exec(n, "sh", "-c", "exit 3", check=False).returncode == 3
    out = c.docker("exec", "-u", "1000:1000", "-e", "FOO=bar", "-w", "/tmp", n, "sh", "-c",
                   'echo $(id -u):$(id -g) $FOO $(pwd)').stdout.strip()
    assert out == "1000:1000 bar /tmp"
    c.docker("exec", "-d", n, "sh", "-c", "echo detached > /tmp/d.txt")
    c.waitfor(lambda: c.exec(n, "test", "-s", "/tmp/d.txt", check=False).returncode == 0,
              "exec -d output")


def test_exec_it_tty(c):
    n = c.detach("execit", IMAGE, "sleep", "300")
    # Docker 20.10 (API 1.41) sets an exec's tty size only after the process started:
    # poll for it inside.
    rc, out = ptyrun([DOCKER, "exec", "-it", n, "sh", "-c",
                      'tty; for i in $(seq 50); do s=$(stty size 2>/dev/null); '
                      '[ -n "$s" ] && [ "$s" != "0 0" ] && break; sleep 0.1; done; '
                      'echo "size=$s"; exit 4'], c.d.env, size=(40, 120))
    assert rc == 4, out
    assert re.search(r"/dev/pts/\d+", out), out
    assert "size=40 120" in out, out
    rc, out = ptyrun([DOCKER, "exec", "-it", n, "sh"], c.d.env, wait_for=b"# ",
                     send=b"echo $((6*7))\nexit 6\n")
    assert rc == 6, out
    assert re.search(r"^42\r?$", out, re.M), out


def test_run_it_tty(c):
    rc, out = ptyrun([DOCKER, "run", "-it", "--rm", "--runtime", c.rt, "--network", "none",
                      "--label", LABEL, "--pull", "never", IMAGE, "sh"], c.d.env,
                     size=(40, 120), wait_for=b"# ",
                     send=b"echo $((6*7)); tty; stty size\nexit 5\n")
    assert rc == 5, out
    assert re.search(r"^42\r?$", out, re.M), out
    assert "/dev/pts/0" in out, out
    assert "40 120" in out, out


def test_logs(c):
    c.run("-d", "--name", c.n("logs"), IMAGE, "sh", "-c", "echo out-line; echo err-line >&2")
    c.docker("wait", c.n("logs"))
    p = c.docker("logs", c.n("logs"))
    assert (p.stdout.strip(), p.stderr.strip()) == ("out-line", "err-line")
    c.run("-d", "--name", c.n("logsf"), IMAGE, "sh", "-c",
          "for i in 1 2 3; do echo tick$i; sleep 0.2; done")
    assert c.docker("logs", "-f", c.n("logsf")).stdout.split() == ["tick1", "tick2", "tick3"]


def test_cp_into_running(c):
    n = c.detach("cp", IMAGE, "sleep", "300")
    src = os.path.join(c.tmp, "cpfile.txt")
    with open(src, "w") as f:
        f.write("cp-payload\n")
    c.docker("cp", src, f"{n}:/tmp/cpfile.txt")
    assert c.exec(n, "cat", "/tmp/cpfile.txt").stdout == "cp-payload\n"
    c.exec(n, "sh", "-c", "echo back-out > /tmp/back.txt")
    c.docker("cp", f"{n}:/tmp/back.txt", os.path.join(c.tmp, "back.txt"))
    assert read(os.path.join(c.tmp, "back.txt")) == "back-out"


# ---------------------------------------------------------------- cgroups
def test_oom_kill(c):
    p = c.run("--name", c.n("oom"), "--memory", "32m", IMAGE, "dd", "if=/dev/zero",
              "of=/dev/null", "bs=64M", "count=1", check=False)
    assert p.returncode == 137, p.stderr
    # The shim's OOM event reaches dockerd on its own path, apart from the exit
    # event: under load it may land a moment after `docker run` returned.
    end, got = time.monotonic() + 10, None
    while time.monotonic() < end:
        got = c.inspect(c.n("oom"), "{{.State.OOMKilled}} {{.State.ExitCode}}")
        if got == "true 137":
            break
        time.sleep(0.2)
    assert got == "true 137"


def test_pids_limit_forkbomb(c):
    n = c.detach("pids", "--pids-limit", "20", "--cpus", "1", IMAGE, "sleep", "300")
    d = c.cgdir(n, "pids")
    assert read(f"{d}/pids.max") == "20"
    c.docker("exec", "-d", n, "sh", "-c", "b(){ b|b& }; b")
    c.waitfor(lambda: re.match(r"max [1-9]", read(f"{d}/pids.events")), "fork failures")
    assert int(read(f"{d}/pids.current")) <= 20
    assert c.inspect(n, "{{.State.Running}}") == "true"
    c.docker("rm", "-f", n, timeout=60)
    assert c.docker("inspect", n, check=False).returncode != 0
    assert not os.path.isdir(d)


def test_cpus_quota(c):
    n = c.detach("cpu", "--cpus", "0.5", IMAGE, "sleep", "300")
    d = c.cgdir(n, "cpu")
    assert (read(f"{d}/cpu.cfs_quota_us"), read(f"{d}/cpu.cfs_period_us")) == ("50000",
                                                                               "100000")
    assert c.exec(n, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us").stdout.strip() == "50000"


def test_update_memory(c):
    n = c.detach("upd", "--memory", "64m", IMAGE, "sleep", "300")
    d = c.cgdir(n, "memory")
    assert read(f"{d}/memory.limit_in_bytes") == str(64 << 20)
    c.docker("update", "--memory", "48m", n)
    assert read(f"{d}/memory.limit_in_bytes") == str(48 << 20)
    # raising memory and memory+swap together: memsw must go first
    c.docker("update", "--memory", "100m", "--memory-swap", "200m", n)
    assert read(f"{d}/memory.limit_in_bytes") == str(100 << 20)
    if os.path.exists(f"{d}/memory.memsw.limit_in_bytes"):
        assert read(f"{d}/memory.memsw.limit_in_bytes") == str(200 << 20)
    assert c.inspect(n, "{{.HostConfig.Memory}}") == str(100 << 20)


def test_update_cpus_pids(c):
    n = c.detach("upd2", "--cpus", "1", "--pids-limit", "50", IMAGE, "sleep", "300")
    c.docker("update", "--cpus", "0.25", "--pids-limit", "33", n)
    assert read(f"{c.cgdir(n, 'cpu')}/cpu.cfs_quota_us") == "25000"
    assert read(f"{c.cgdir(n, 'pids')}/pids.max") == "33"


def test_pause_unpause(c):
    n = c.detach("pause", IMAGE, "sleep", "300")
    f = f"{c.cgdir(n, 'freezer')}/freezer.state"
    c.docker("pause", n)
    assert c.inspect(n, "{{.State.Status}} {{.State.Paused}}") == "paused true"
    assert read(f) == "FROZEN"
    c.docker("unpause", n)
    assert c.inspect(n, "{{.State.Status}} {{.State.Paused}}") == "running false"
    assert read(f) == "THAWED"
    assert c.exec(n, "echo", "alive").stdout.strip() == "alive"


def test_commit_running(c):
    n = c.n("commit")
    c.run("-d", "--name", n, IMAGE, "sh", "-c", "echo committed > /marker; sleep 300")
    c.waitfor(lambda: c.exec(n, "test", "-s", "/marker", check=False).returncode == 0,
              "marker")
    img = f"capsabusybox:commit-{c.rt}"
    c.docker("commit", n, img)     # pauses and resumes the container through the runtime
    try:
        assert c.out("--rm", img, "cat", "/marker") == "committed"
    finally:
        c.docker("rmi", img, check=False)
    assert c.inspect(n, "{{.State.Status}}") == "running"


def test_stats_no_stream(c):
    n = c.detach("stats", IMAGE, "sleep", "300")
    out = c.docker("stats", "--no-stream", "--format",
                   "{{.Name}}|{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}", n).stdout.strip()
    assert re.match(rf"^{n}\|[0-9.]+[KMG]?i?B / [0-9.]+[KMGT]i?B\|1\|[0-9.]+%$", out), out
    assert "|0B / 0B|" not in out, out


def test_top(c):
    n = c.detach("top", IMAGE, "sleep", "300")
    assert "sleep 300" in c.docker("top", n).stdout
    out = c.docker("top", n, "-o", "pid,comm").stdout
    assert re.search(r"sleep$", out, re.M), out


def test_rm_f_running(c):
    n = c.detach("rmf", IMAGE, "sleep", "300")
    dirs = [c.cgdir(n, k) for k in ("memory", "pids", "cpu")]
    c.docker("rm", "-f", n)
    assert c.docker("inspect", n, check=False).returncode != 0
    assert [d for d in dirs if os.path.isdir(d)] == []


def test_resources_misc(c):
    out = c.out("--rm", "--cpuset-cpus", "0", "--ulimit", "nofile=512:1024", "--shm-size", "8m",
                "--sysctl", "kernel.shmmax=123456789", "--oom-score-adj", "500", IMAGE, "sh",
                "-c", "grep ^Cpus_allowed_list /proc/self/status; "
                "echo nofile=$(ulimit -n)/$(ulimit -Hn); df -k /dev/shm | tail -1; "
                "echo shmmax=$(cat /proc/sys/kernel/shmmax); "
                "echo oom=$(cat /proc/self/oom_score_adj)")
    assert re.search(r"Cpus_allowed_list:\s+0$", out, re.M), out
    assert "nofile=512/1024" in out, out
    assert re.search(r"^shm\s+8192\s", out, re.M), out
    assert "shmmax=123456789" in out, out
    assert "oom=500" in out, out


def test_device_and_devcgroup(c):
    out = c.out("--rm", "--device", "/dev/null:/dev/mynull", IMAGE, "sh", "-c",
                "echo x > /dev/mynull && echo dev-ok; mknod /tmp/mem c 1 1 && "
                "head -c1 /tmp/mem 2>&1; echo mem_rc=$?")
    assert "dev-ok" in out, out
    assert "Operation not permitted" in out and "mem_rc=1" in out, out


# ---------------------------------------------------------------- signals, stop, restart
def test_kill_signal(c):
    n = c.n("kill")
    c.run("-d", "--name", n, IMAGE, "sh", "-c",
          'trap "echo got-USR1; exit 3" USR1; echo ready; while :; do sleep 0.1; done')
    c.waitfor(lambda: "ready" in c.docker("logs", n).stdout, "ready")
    c.docker("kill", "-s", "USR1", n)
    assert c.docker("wait", n).stdout.strip() == "3"
    assert "got-USR1" in c.docker("logs", n).stdout
    n9 = c.detach("kill9", IMAGE, "sleep", "300")
    c.docker("kill", n9)
    assert c.docker("wait", n9).stdout.strip() == "137"


def test_stop_graceful(c):
    n = c.n("stop")
    c.run("-d", "--name", n, IMAGE, "sh", "-c",
          'trap "echo got-TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done')
    c.waitfor(lambda: "ready" in c.docker("logs", n).stdout, "ready")
    c.docker("stop", "-t", "60", n)
    assert c.inspect(n, "{{.State.ExitCode}}") == "0"
    assert "got-TERM" in c.docker("logs", n).stdout


def test_stop_timeout_kill(c):
    n = c.detach("stopk", IMAGE, "sleep", "300")     # pid 1 ignores SIGTERM
    c.docker("stop", "-t", "1", n)
    assert c.inspect(n, "{{.State.ExitCode}}") == "137"


def test_restart_cmd(c):
    n = c.detach("rs", IMAGE, "sleep", "300")
    before = c.inspect(n, "{{.State.StartedAt}} {{.State.Pid}}").split()
    c.docker("restart", "-t", "1", n)
    c.waitfor(lambda: c.inspect(n, "{{.State.Running}}") == "true", "restarted")
    after = c.inspect(n, "{{.State.StartedAt}} {{.State.Pid}}").split()
    assert before[0] != after[0] and before[1] != after[1], (before, after)
    assert c.exec(n, "echo", "alive").stdout.strip() == "alive"


def test_restart_on_failure(c):
    n = c.n("rof")
    c.run("-d", "--name", n, "--restart", "on-failure:2", IMAGE, "sh", "-c", "echo run; exit 1")
    fmt = "{{.RestartCount}} {{.State.Running}} {{.State.Restarting}} {{.State.ExitCode}}"
    c.waitfor(lambda: c.inspect(n, fmt) == "2 false false 1", "two restarts, then stopped")
    c.docker("wait", n)
    assert c.inspect(n, fmt) == "2 false false 1"
    assert c.docker("logs", n).stdout.split() == ["run"] * 3


# ---------------------------------------------------------------- security
def test_read_only(c):
    p = c.run("--rm", "--read-only", IMAGE, "touch", "/x", check=False)
    assert p.returncode == 1 and "Read-only file system" in p.stderr, p.stderr
    assert c.out("--rm", "--read-only", "--tmpfs", "/tmp", IMAGE, "sh", "-c",
                 "touch /tmp/x && echo tmp-writable") == "tmp-writable"


def caps(out):
    return dict(re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", out, re.M))


def test_caps_drop_add(c):
    out = c.out("--rm", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", IMAGE, "sh", "-c",
                "grep ^Cap /proc/self/status; chown 1000 /tmp 2>&1; echo chown_rc=$?")
    cp = caps(out)
    assert (cp["CapPrm"], cp["CapEff"], cp["CapBnd"]) == ("0000000000000400",) * 3, out
    assert "chown_rc=1" in out, out


def test_caps_default(c):
    cp = caps(c.out("--rm", IMAGE, "grep", "^Cap", "/proc/self/status"))
    assert (cp["CapEff"], cp["CapBnd"]) == ("00000000a80425fb",) * 2


DOCKER_CAPS = ("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
               "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK "
               "IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN "
               "SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE "
               "AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND "
               "AUDIT_READ").split()     # Docker 20.10's "ALL": capabilities 0..37


def test_caps_all(c):
    bnd = int(caps(read("/proc/self/status"))["CapBnd"], 16)
    missing = [x for i, x in enumerate(DOCKER_CAPS) if not bnd >> i & 1]
    drop = ["--cap-drop", ",".join(missing)] if missing else []
    cp = caps(c.out("--rm", "--cap-add", "ALL", *drop, IMAGE, "grep", "^Cap",
                    "/proc/self/status"))
    want = "%016x" % (bnd & (1 << len(DOCKER_CAPS)) - 1)
    assert (cp["CapPrm"], cp["CapEff"], cp["CapBnd"]) == (want,) * 3, cp


def test_seccomp_default(c):
    assert re.search(r"Seccomp:\s+2", c.out("--rm", IMAGE, "grep", "^Seccomp:",
                                            "/proc/self/status"))


def test_seccomp_unconfined(c):
    assert re.search(r"Seccomp:\s+0", c.out("--rm", "--security-opt", "seccomp=unconfined",
                                            IMAGE, "grep", "^Seccomp:", "/proc/self/status"))


def test_seccomp_custom(c):
    prof = os.path.join(c.tmp, "nomkdir.json")
    with open(prof, "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                 "errnoRet": 13}]}, f)
    out = c.out("--rm", "--security-opt", f"seccomp={prof}", IMAGE, "sh", "-c",
                "grep ^Seccomp: /proc/self/status; touch /tmp/f && echo touch-ok; "
                "mkdir /tmp/d 2>&1; echo mkdir_rc=$?")
    assert re.search(r"Seccomp:\s+2", out) and "touch-ok" in out, out
    assert "Permission denied" in out and "mkdir_rc=1" in out, out    # errnoRet 13


def test_no_new_privileges(c):
    out = c.out("--rm", "--security-opt", "no-new-privileges", IMAGE, "grep", "^NoNewPrivs:",
                "/proc/self/status")
    assert re.search(r"NoNewPrivs:\s+1", out), out


def test_user_1000(c):
    out = c.out("--rm", "--user", "1000:1000", IMAGE, "sh", "-c",
                "echo $(id -u):$(id -g); grep ^CapEff /proc/self/status")
    assert re.search(r"^1000:1000$", out, re.M), out
    assert caps(out)["CapEff"] == "0" * 16, out


def test_masked_readonly_paths(c):
    out = c.out("--rm", IMAGE, "sh", "-c",
                "echo timer_list=$(wc -c < /proc/timer_list) firmware=$(ls /sys/firmware | wc -l);"
                " (echo 1 > /proc/sys/kernel/domainname) 2>&1; echo ro_rc=$?")
    assert "timer_list=0 firmware=0" in out, out
    assert "Read-only file system" in out and "ro_rc=1" in out, out


# ---------------------------------------------------------------- mounts
def test_tmpfs(c):
    out = c.out("--rm", "--tmpfs", "/tmp:rw,size=2m,mode=1777", IMAGE, "sh", "-c",
                'grep " /tmp " /proc/mounts; touch /tmp/x && echo w-ok')
    assert re.search(r"^tmpfs /tmp tmpfs rw,.*size=2048k", out, re.M), out
    assert "w-ok" in out, out


def test_bind_ro(c):
    h = os.path.join(c.tmp, "ro")
    os.mkdir(h)
    with open(os.path.join(h, "hello.txt"), "w") as f:
        f.write("hello-from-host\n")
    out = c.out("--rm", "-v", f"{h}:/data:ro", IMAGE, "sh", "-c",
                "cat /data/hello.txt; touch /data/x 2>&1; echo rc=$?")
    assert "hello-from-host" in out and "Read-only file system" in out and "rc=1" in out, out
    assert not os.path.exists(os.path.join(h, "x"))


def test_bind_rw(c):
    h = os.path.join(c.tmp, "rw")
    os.mkdir(h)
    c.run("--rm", "-v", f"{h}:/data", IMAGE, "sh", "-c", "echo written > /data/out.txt")
    assert read(os.path.join(h, "out.txt")) == "written"


# ---------------------------------------------------------------- process setup
def test_init(c):
    out = c.out("--rm", "--init", IMAGE, "sh", "-c", "cat /proc/1/comm; echo mypid=$$")
    assert re.search(r"^docker-init$", out, re.M), out
    assert "mypid=1\n" not in out + "\n", out


def test_env_workdir_hostname(c):
    assert c.out("--rm", "--hostname", "dkrhost", "-e", "FOO=bar", "-w", "/tmp", IMAGE, "sh",
                 "-c", "echo $(hostname) $FOO $(pwd)") == "dkrhost bar /tmp"


def test_healthcheck(c):
    n = c.detach("hc", "--health-cmd", "true", "--health-interval", "1s", IMAGE, "sleep", "300")
    c.waitfor(lambda: c.inspect(n, "{{.State.Health.Status}}") == "healthy", "healthy")


def test_healthcheck_unhealthy(c):
    n = c.detach("hcu", "--health-cmd", "exit 1", "--health-interval", "1s",
                 "--health-retries", "1", IMAGE, "sleep", "300")
    c.waitfor(lambda: c.inspect(n, "{{.State.Health.Status}}") == "unhealthy", "unhealthy")


# ---------------------------------------------------------------- namespaces
def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _http_get(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/index.html")
        return conn.getresponse().read().decode()
    finally:
        conn.close()


def test_network_host_httpd(c):
    port = _free_port()
    c.run("-d", "--name", c.n("httpd"), IMAGE, "httpd", "-f", "-p", f"127.0.0.1:{port}",
          "-h", "/www", net="host")
    c.waitfor(lambda: "capsa-httpd-ok" in _http_get(port), "httpd on the host's 127.0.0.1")
    out = c.out("--rm", IMAGE, "sh", "-c",
                f"printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 127.0.0.1 {port}",
                net="host")
    assert "200 OK" in out and "capsa-httpd-ok" in out, out
    inside = set(c.out("--rm", IMAGE, "ls", "/sys/class/net", net="host").split())
    assert len(inside) > 1 and inside - {"lo"} <= _links(), inside   # the host's interfaces


def test_pid_ipc_net_container(c):
    a = c.detach("nsA", "--ipc", "shareable", IMAGE, "sleep", "300")
    assert "sleep 300" in c.out("--rm", "--pid", f"container:{a}", IMAGE, "ps")
    # the same IPC namespace as A (and, as a control, not so without --ipc)
    ipc = ["readlink", "/proc/self/ns/ipc"]
    a_ipc = c.exec(a, *ipc).stdout.strip()
    assert c.out("--rm", "--ipc", f"container:{a}", IMAGE, *ipc) == a_ipc
    assert c.out("--rm", IMAGE, *ipc) != a_ipc
    c.docker("exec", "-d", a, "sh", "-c", "nc -l -p 7777 -e echo via-shared-netns")
    c.waitfor(lambda: ":1E61 " in c.exec(a, "cat", "/proc/net/tcp", "/proc/net/tcp6").stdout,
              "nc listening on 7777")
    assert c.out("--rm", IMAGE, "nc", "-w", "2", "127.0.0.1", "7777",
                 net=f"container:{a}") == "via-shared-netns"


# ---------------------------------------------------------------- userns-remap
def _free_subid_base():
    top = 100000
    for f in ("/etc/subuid", "/etc/subgid"):
        try:
            with open(f) as fh:
                for line in fh:
                    parts = line.strip().split(":")
                    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                        top = max(top, int(parts[1]) + int(parts[2]))
        except FileNotFoundError:
            pass
    return (top + 65535) // 65536 * 65536


def _remove_line(path, line):
    with open(path) as f:
        lines = f.readlines()
    if line in lines:
        lines.remove(line)
        with open(path + ".capsa-tmp", "w") as f:
            f.writelines(lines)
        os.chmod(path + ".capsa-tmp", os.stat(path).st_mode & 0o7777)
        os.replace(path + ".capsa-tmp", path)


@pytest.fixture(scope="module")
def remap(daemon):
    """A second daemon with --userns-remap, capsa registered by --add-runtime. The remap
    user (a system user made here) and its subordinate id lines are undone after."""
    user = "capsa-remap"
    made_user = False
    added = []
    snapshot = {f: open(f).read() if os.path.exists(f) else None
                for f in ("/etc/subuid", "/etc/subgid")}
    base = tempfile.mkdtemp(prefix="capsa-docker-userns-")
    d = Dockerd(base, "userns", add_runtime={"capsa": CAPSA},
                extra=["--userns-remap", f"{user}:{user}"])
    links = _links()
    try:
        if subprocess.run(["id", user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                            "--shell", "/usr/sbin/nologin", user], check=True,
                           capture_output=True)
            made_user = True
        d.subid = _free_subid_base()
        for f in ("/etc/subuid", "/etc/subgid"):
            line = f"{user}:{d.subid}:65536\n"
            with open(f, "a") as fh:
                fh.write(line)
            added.append((f, line))
        d.start()
        d.import_image(daemon.image_tar)
        yield d
    finally:
        left = d.stop()
        for f, line in added:
            _remove_line(f, line)
        if made_user:
            subprocess.run(["userdel", user], capture_output=True)
        assert not left, f"left behind: {left}"
        assert not _docker_links(links)
        for f, text in snapshot.items():
            assert (open(f).read() if os.path.exists(f) else None) == text, f"{f} changed"
        if made_user:
            assert subprocess.run(["id", user], capture_output=True).returncode != 0


@pytest.mark.parametrize("rt", RUNTIMES)
def test_userns_remap(remap, rt):
    d, sub = remap, remap.subid
    run = ["run", "--runtime", rt, "--network", "none", "--pull", "never"]
    out = d.docker(*run, "--rm", IMAGE, "sh", "-c",
                   "cat /proc/self/uid_map /proc/self/gid_map; echo uid=$(id -u)").stdout
    maps = [line.split() for line in out.splitlines()[:2]]
    assert maps == [["0", str(sub), "65536"]] * 2, out
    assert "uid=0" in out, out
    n = f"remapped-{rt}"
    d.docker(*run, "-d", "--name", n, IMAGE, "sleep", "300")
    try:
        st = os.stat(f"/proc/{d.inspect(n, '{{.State.Pid}}')}")
        assert (st.st_uid, st.st_gid) == (sub, sub)
        assert d.docker("exec", n, "id", "-u").stdout.strip() == "0"
    finally:
        d.docker("rm", "-f", n, check=False)
