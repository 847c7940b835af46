"""podman (with conmon) driving capsa: `podman --runtime $CAPSA ...`."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import CAPSA, CG_PARENT, CG_ROOT, IMAGE

RUNC = shutil.which("runc")


def test_run_rm_echo(podman):
    p = podman.run("--rm", IMAGE, "echo", "hi")
    assert p.stdout == "hi\n"


def test_run_exit_code(podman):
    p = podman.run("--rm", IMAGE, "sh", "-c", "exit 7", check=False)
    assert p.returncode == 7


@pytest.mark.skipif(RUNC is None, reason="runc not installed")
def test_same_as_runc(podman):
    cmd = ["--rm", IMAGE, "sh", "-c", "id; hostname | wc -c; cat /proc/self/status | "
           "grep -E '^(Cap|NoNewPrivs|Seccomp:)'; ls /dev | grep -v '^core$'; echo x >&2; exit 3"]
    ours = podman.run(*cmd, check=False)
    theirs = subprocess.run(["podman", "--runtime", RUNC, "run", "--cgroup-parent",
                             CG_PARENT] + cmd, capture_output=True, text=True,
                            env=podman.env, timeout=30, cwd=podman.cwd)
    assert (ours.returncode, ours.stdout, ours.stderr) == \
        (theirs.returncode, theirs.stdout, theirs.stderr)


def test_run_d_logs_rm_f(podman):
    n = podman.name("logs")
    podman.run("-d", "--name", n, IMAGE, "sh", "-c", "echo one; echo two >&2; sleep 60")
    deadline = time.time() + 10
    while True:
        out = podman("logs", n)
        if "one" in out.stdout and "two" in out.stderr:
            break
        assert time.time() < deadline, f"logs: {out.stdout!r} {out.stderr!r}"
        time.sleep(0.1)
    assert podman.inspect(n, "{{.State.Status}}") == "running"
    podman("rm", "-f", "-t", "0", n)
    assert podman("container", "exists", n, check=False).returncode == 1


def test_exec_and_ps(podman):
    n = podman.name("exec")
    podman.run("-d", "--name", n, IMAGE, "sleep", "60")
    try:
        p = podman("exec", n, "sh", "-c", "echo from-exec; cat /proc/1/cmdline | tr '\\0' ' '")
        assert p.stdout.split("\n")[:2] == ["from-exec", "sleep 60 "]
        p = podman("exec", n, "sh", "-c", "exit 5", check=False)
        assert p.returncode == 5
        p = podman("exec", "-e", "FOO=bar", "-w", "/tmp", n, "sh", "-c", "echo $FOO; pwd")
        assert p.stdout == "bar\n/tmp\n"
        ps = podman("ps", "--format", "{{.Names}} {{.Status}}")
        assert any(l.startswith(n + " Up") for l in ps.stdout.splitlines()), ps.stdout
        top = podman("top", n)
        assert "sleep 60" in top.stdout
    finally:
        podman("rm", "-f", "-t", "0", n)


def test_stop_sigterm_handled(podman):
    n = podman.name("stopterm")
    podman.run("-d", "--name", n, IMAGE, "sh", "-c",
               "trap 'exit 3' TERM; while :; do sleep 0.1; done")
    time.sleep(0.3)
    t = time.time()
    podman("stop", "-t", "10", n)
    assert time.time() - t < 5
    assert podman.inspect(n, "{{.State.ExitCode}}") == "3"
    podman("rm", n)


def test_stop_escalates_to_sigkill(podman):
    n = podman.name("stopkill")
    # pid 1 without a TERM handler ignores SIGTERM: stop must fall back to SIGKILL
    podman.run("-d", "--name", n, IMAGE, "sleep", "60")
    t = time.time()
    podman("stop", "-t", "1", n)
    assert 0.9 < time.time() - t < 10
    assert podman.inspect(n, "{{.State.ExitCode}}") == "137"
    podman("rm", n)


def test_kill(podman):
    n = podman.name("kill")
    podman.run("-d", "--name", n, IMAGE, "sh", "-c",
               "trap 'exit 42' USR1; while :; do sleep 0.1; done")
    time.sleep(0.3)
    podman("kill", "-s", "USR1", n)
    podman("wait", n, timeout=10)
    assert podman.inspect(n, "{{.State.ExitCode}}") == "42"
    podman("rm", n)
    n = podman.name("kill9")
    podman.run("-d", "--name", n, IMAGE, "sleep", "60")
    podman("kill", n)
    podman("wait", n, timeout=10)
    assert podman.inspect(n, "{{.State.ExitCode}}") == "137"
    podman("rm", n)


def test_limits_visible_inside(podman):
    n = podman.name("limits")
    podman.run("-d", "--name", n, "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5",
               IMAGE, "sleep", "60")
    try:
        cid = podman.inspect(n, "{{.Id}}")
        host = os.path.join(CG_ROOT, "{}", CG_PARENT.lstrip("/"), f"libpod-{cid}", "{}")
        with open(host.format("memory", "memory.limit_in_bytes")) as f:
            assert f.read().strip() == "67108864"
        with open(host.format("pids", "pids.max")) as f:
            assert f.read().strip() == "50"
        with open(host.format("cpu", "cpu.cfs_quota_us")) as f:
            assert f.read().strip() == "50000"
        # inside: /sys/fs/cgroup/<ctrl> must be the container's own cgroup (as runc does)
        p = podman("exec", n, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                   "/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                   "/sys/fs/cgroup/cpu/cpu.cfs_period_us", check=False)
        assert p.stdout.split() == ["67108864", "50", "50000", "100000"], \
            p.stdout + p.stderr
    finally:
        podman("rm", "-f", "-t", "0", n)


def test_stats_no_stream(podman):
    n = podman.name("stats")
    podman.run("-d", "--name", n, "--memory", "64m", IMAGE, "sleep", "60")
    try:
        p = podman("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", n)
        assert p.stdout.startswith(n) and "67.11MB" in p.stdout, p.stdout
    finally:
        podman("rm", "-f", "-t", "0", n)


def test_read_only(podman):
    p = podman.run("--rm", "--read-only", IMAGE, "sh", "-c",
                   "touch /x 2>/dev/null && echo wrote || echo ro; touch /tmp/y && echo tmp-ok",
                   check=False)
    assert p.stdout == "ro\ntmp-ok\n", p.stdout + p.stderr


def test_capabilities(podman):
    p = podman.run("--rm", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", IMAGE,
                   "grep", "-E", "^Cap(Eff|Prm|Bnd)", "/proc/self/status")
    assert p.stdout.split() == ["CapPrm:", "0000000000000400", "CapEff:",
                                "0000000000000400", "CapBnd:", "0000000000000400"]


def test_no_new_privileges(podman):
    p = podman.run("--rm", "--security-opt", "no-new-privileges", IMAGE,
                   "grep", "NoNewPrivs", "/proc/self/status")
    assert p.stdout.split() == ["NoNewPrivs:", "1"]


def test_network_none(podman):
    p = podman.run("--rm", "--network", "none", IMAGE, "ls", "/sys/class/net")
    assert p.stdout.split() == ["lo"]


def test_userns_mapping(podman):
    p = podman.run("--rm", "--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536",
                   IMAGE, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u")
    assert p.stdout.split() == ["0", "200000", "65536", "0", "200000", "65536", "0"]


def test_pause_unpause(podman):
    n = podman.name("pause")
    podman.run("-d", "--name", n, IMAGE, "sleep", "60")
    try:
        podman("pause", n)
        assert podman.inspect(n, "{{.State.Status}}") == "paused"
        cid = podman.inspect(n, "{{.Id}}")
        with open(os.path.join(CG_ROOT, "freezer", CG_PARENT.lstrip("/"),
                               f"libpod-{cid}", "freezer.state")) as f:
            assert f.read().strip() == "FROZEN"
        podman("unpause", n)
        assert podman.inspect(n, "{{.State.Status}}") == "running"
        assert podman("exec", n, "echo", "alive").stdout == "alive\n"
    finally:
        podman("rm", "-f", "-t", "0", n)


def _script(argv, env, timeout=30, cwd=None):
    cmd = " ".join("'" + a.replace("'", "'\\''") + "'" for a in argv)
    return subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True,
                          text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL,
                          cwd=cwd)


def test_run_it_terminal(podman):
    # The short sleep: podman 4.3 attaches to conmon's terminal only after `start`
    # returns; a program that prints and exits within that window loses its output
    # with a fast runtime (seen ~1 in 10 with capsa, which execs the program sooner
    # than runc). The terminal itself is what is tested here.
    p = _script(podman.argv("run", "-it", "--rm", "--cgroup-parent", CG_PARENT, IMAGE,
                            "sh", "-c", "sleep 0.3; tty; stty size >/dev/null && echo has-size; "
                            "exit 4"),
                podman.env, cwd=podman.cwd)
    out = p.stdout.replace("\r", "")
    assert "/dev/pts/0\n" in out and "has-size" in out, out
    assert p.returncode == 4


def test_exec_it_terminal(podman):
    n = podman.name("execit")
    podman.run("-d", "--name", n, IMAGE, "sleep", "60")
    try:
        p = _script(podman.argv("exec", "-it", n, "sh", "-c", "tty; echo ok"), podman.env, cwd=podman.cwd)
        out = p.stdout.replace("\r", "")
        assert "/dev/pts/" in out and "ok" in out, out
        assert p.returncode == 0
    finally:
        podman("rm", "-f", "-t", "0", n)


def _oom(podman, runtime):
    n = podman.name("oom")
    argv = ["podman", "--runtime", runtime, "run", "--cgroup-parent", CG_PARENT, "--name", n,
            "--memory", "16m", "--memory-swap", "16m", IMAGE,
            "sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1"]
    subprocess.run(argv, capture_output=True, env=podman.env, timeout=30, cwd=podman.cwd)
    try:
        return (podman.inspect(n, "{{.State.OOMKilled}}"),
                podman.inspect(n, "{{.State.ExitCode}}"))
    finally:
        podman("rm", "-f", n)


def test_oom_killed(podman):
    ours = _oom(podman, CAPSA)
    assert ours[1] == "137"
    if RUNC:
        # podman 4.3 + conmon on this cgroup v1 host reports OOMKilled=false even with
        # runc (measured): require the same answer as runc rather than "true"
        assert ours == _oom(podman, RUNC)
    else:
        assert ours[0] == "true"


def test_named_runtime(podman):
    # the containers.conf names capsa under [engine.runtimes]
    p = subprocess.run(["podman", "--runtime", "capsa", "run", "--rm", "--cgroup-parent",
                        CG_PARENT, IMAGE, "echo", "named"], capture_output=True, text=True,
                       env=podman.env, timeout=30, cwd=podman.cwd)
    assert p.returncode == 0 and p.stdout == "named\n", p.stderr


def test_audit_podman_container(podman):
    """capsa audit --pid works on a container capsa did not make the usual way:
    podman's (run by capsa under conmon, default podman settings), and shows a weak
    one (--network host, --privileged) as FAIL by name — the control."""
    import json as _json
    n = podman.name("audit")
    podman.run("-d", "--name", n, IMAGE, "sleep", "60")
    weak = podman.name("auditweak")
    podman.run("-d", "--name", weak, "--network", "host", "--cap-add", "SYS_ADMIN", IMAGE,
               "sleep", "60")
    try:
        def audit(name):
            pid = podman.inspect(name, "{{.State.Pid}}")
            r = subprocess.run([CAPSA, "audit", "--format", "json", "--pid", pid],
                               capture_output=True, text=True, timeout=30)
            doc = _json.loads(r.stdout)
            rows = {c["check"]: c["result"] for c in doc["targets"][0]["findings"]}
            return r.returncode, rows
        rc, rows = audit(n)
        assert rows["namespace.pid"] == "PASS" and rows["namespace.mnt"] == "PASS", rows
        assert rows["capabilities"] in ("PASS", "WARN"), rows
        rc_weak, weak_rows = audit(weak)
        assert weak_rows["namespace.net"] == "FAIL", weak_rows
        assert weak_rows["capabilities"] == "FAIL", weak_rows
        assert rc_weak == 2
    finally:
        podman("rm", "-f", "-t", "0", n, weak)
