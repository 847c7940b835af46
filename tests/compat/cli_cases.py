"""The cases of the runc-vs-capsa command-line comparison (cli_helpers.py has the
machinery: Workspace, the registry, diffs and the docs/compat.md listing). Each
case runs the same commands on one runtime; values recorded are compared exactly
(Phrases: capsa's must include runc's)."""
import json
import os
import re
import signal
import subprocess

from cli_helpers import case


def _created(w, args=("sleep", "1000"), tweak=None, tag="c", opts=()):
    cid = w.new_id(tag)
    b = w.bundle(args=args, tweak=tweak, cid=cid, name=tag)
    r = w("create", "--bundle", b, *opts, cid)
    w.obs(f"{tag}.create/rc", r.rc)
    return cid, b


def _running(w, tag="c", tweak=None, args=("sleep", "1000")):
    cid, b = _created(w, args=args, tweak=tweak, tag=tag)
    w.obs(f"{tag}.start/rc", w("start", cid).rc)
    return cid, b


def _stopped(w, tag="c"):
    cid, b = _created(w, args=("true",), tag=tag)
    w.obs(f"{tag}.start/rc", w("start", cid).rc)
    w.obs(f"{tag}.stopped", w.wait_status(cid, "stopped"))
    return cid, b


def _paused(w, tag="c"):
    cid, b = _running(w, tag=tag)
    w.obs(f"{tag}.pause/rc", w("pause", cid).rc)
    return cid, b


def _terminal(cfg):
    cfg["process"]["terminal"] = True


STATES = {"created": _created, "running": _running, "paused": _paused, "stopped": _stopped}


# --- command line ---------------------------------------------------------------

@case("cli.no-args")
def _(w):
    w.obs("rc", w().rc)


@case("cli.help")
def _(w):
    w.obs("rc", w("--help").rc)
    w.obs("help-verb/rc", w("help").rc)
    w.obs("state-help/rc", w("state", "--help").rc)


@case("cli.version")
def _(w):
    r = w("--version")
    w.obs("rc", r.rc)
    w.obs("mentions-spec", "spec" in r.out)


@case("cli.unknown-command")
def _(w):
    w.obs_result("bogus", w("bogus-verb", "x"))


@case("cli.unknown-global-flag")
def _(w):
    w.obs_result("flag", w("--bogus-flag", "list"))


@case("cli.unknown-flag")
def _(w):
    for verb in ("create", "start", "state", "kill", "delete", "exec", "list", "pause", "ps",
                 "update", "events", "spec"):
        w.obs_result(verb, w(verb, "--bogus-flag", "x"))


@case("cli.missing-id")
def _(w):
    for verb in ("create", "start", "state", "kill", "delete", "exec", "pause", "resume", "ps",
                 "update", "events"):
        w.obs_result(verb, w(verb))


@case("cli.missing-container")
def _(w):
    cid = w.prefix + "-none"
    for verb, extra in (("start", ()), ("state", ()), ("kill", ()), ("delete", ()),
                        ("pause", ()), ("resume", ()), ("ps", ()), ("exec", ("true",)),
                        ("update", ("--pids-limit", "10")), ("events", ("--stats",))):
        w.obs_result(verb, w(verb, cid, *extra))
    w.obs_result("delete-force", w("delete", "--force", cid))
    w.obs_result("kill-all", w("kill", "--all", cid, "KILL"))


# --- create / start / run --------------------------------------------------------

@case("create.basic")
def _(w):
    cid, b = _created(w)
    w.obs_state("state-created", cid, b)
    w.obs_result("create-again", w("create", "--bundle", b, cid))
    w.obs_result("start", w("start", cid))
    w.obs_state("state-running", cid, b)
    w.obs_result("start-again", w("start", cid))
    w.obs_result("kill", w("kill", cid, "KILL"))
    w.obs("stopped", w.wait_status(cid, "stopped"))
    w.obs_state("state-stopped", cid, b)
    w.obs_result("start-stopped", w("start", cid))
    w.obs_result("delete", w("delete", cid))
    w.obs_result("state-deleted", w("state", cid))
    w.obs_result("delete-again", w("delete", cid))


@case("create.pid-file")
def _(w):
    cid = w.new_id()
    b = w.bundle(cid=cid)
    pf = os.path.join(w.tmp, "pid")
    w.obs_result("create", w("create", "--bundle", b, "--pid-file", pf, cid))
    s = w.state(cid)
    w.obs("pid-file-matches", bool(s) and open(pf).read().strip() == str(s["pid"]))


@case("create.annotations")
def _(w):
    def tw(c):
        c["annotations"] = {"org.example.a": "1", "b": "two"}
    cid, b = _created(w, tweak=tw)
    w.obs_state("state", cid, b)


@case("create.bad-bundle")
def _(w):
    cid = w.new_id()
    w.obs_result("no-config", w("create", "--bundle", w.tmp, cid))
    w.obs_result("state", w("state", cid))
    w.obs_result("no-dir", w("create", "--bundle", os.path.join(w.tmp, "nope"), cid))


@case("start.init-died")
def _(w):
    cid, b = _created(w)
    s = w.state(cid)
    os.kill(s["pid"], signal.SIGKILL)
    w.obs("gone", w.wait_gone(s["pid"]))
    w.obs_state("state", cid, b)
    w.obs_result("start", w("start", cid))
    w.obs_result("delete", w("delete", cid))


@case("create.console-socket")
def _(w):
    """create --console-socket with terminal: created, then running (runc's recvtty)."""
    rcv = w.receiver()
    cid = w.new_id()
    b = w.bundle(args=("sh", "-c", "echo hello-tty; sleep 1000"), tweak=_terminal, cid=cid)
    w.obs_result("create", w("create", "--bundle", b, "--console-socket", rcv.path, cid))
    w.obs("master-received", rcv.wait_masters(1))
    w.obs("name", rcv.names[:1])
    w.obs_state("state-created", cid, b)
    w.obs_result("start", w("start", cid))
    w.obs_state("state-running", cid, b)
    w.obs("tty-output", rcv.wait_output("hello-tty"))
    w.obs_result("exec", w("exec", cid, "true"))
    w.obs_result("pause", w("pause", cid))
    w.obs_result("resume", w("resume", cid))
    w.obs_result("update", w("update", "--pids-limit", "50", cid))
    w.obs_result("events", w("events", "--stats", cid))
    w.obs_result("delete", w("delete", "--force", cid))


@case("create.terminal-no-socket")
def _(w):
    cid = w.new_id()
    b = w.bundle(tweak=_terminal, cid=cid)
    w.obs_result("create", w("create", "--bundle", b, cid))
    w.obs_result("state", w("state", cid))


@case("create.console-socket-no-terminal")
def _(w):
    rcv = w.receiver()
    cid = w.new_id()
    b = w.bundle(cid=cid)
    w.obs_result("create", w("create", "--bundle", b, "--console-socket", rcv.path, cid))
    w.obs_state("state", cid, b)


@case("create.console-socket-missing")
def _(w):
    cid = w.new_id()
    b = w.bundle(tweak=_terminal, cid=cid)
    w.obs_result("create", w("create", "--bundle", b, "--console-socket",
                             os.path.join(w.tmp, "nope.sock"), cid))
    w.obs_result("state", w("state", cid))


@case("run.foreground")
def _(w):
    cid = w.new_id()
    b = w.bundle(args=("sh", "-c", "echo out; echo err >&2; exit 3"), cid=cid)
    r = w("run", "--bundle", b, cid, stdin=subprocess.DEVNULL)
    w.obs("rc", r.rc)
    w.obs("stdout", r.out)
    w.obs("stderr-has-err", "err" in r.err)
    w.obs_result("state-after", w("state", cid))


@case("run.foreground-stdin")
def _(w):
    cid = w.new_id()
    b = w.bundle(args=("cat",), cid=cid)
    r = w("run", "--bundle", b, cid, input="piped-in\n")
    w.obs("rc", r.rc)
    w.obs("stdout", r.out)


@case("run.foreground-terminal")
def _(w):
    """terminal: true in the foreground without a console socket: the runtime
    proxies; its own stdio is not a terminal here."""
    cid = w.new_id()
    b = w.bundle(args=("sh", "-c", "echo tty-out; exit 4"), tweak=_terminal, cid=cid)
    r = w("run", "--bundle", b, cid, stdin=subprocess.DEVNULL)
    w.obs("rc", r.rc)
    w.obs("stdout", r.out.replace("\r", "").strip())


@case("run.detach")
def _(w):
    cid = w.new_id()
    b = w.bundle(cid=cid)
    w.obs_result("run", w("run", "--detach", "--bundle", b, cid))
    w.obs_state("state", cid, b)
    w.obs_result("delete", w("delete", cid))
    w.obs_result("delete-force", w("delete", "--force", cid))
    w.obs_result("state-after", w("state", cid))


@case("run.detach-terminal-no-socket")
def _(w):
    cid = w.new_id()
    b = w.bundle(tweak=_terminal, cid=cid)
    w.obs_result("run", w("run", "-d", "--bundle", b, cid))
    w.obs_result("state", w("state", cid))


@case("run.detach-console-socket")
def _(w):
    rcv = w.receiver()
    cid = w.new_id()
    b = w.bundle(args=("sh", "-c", "echo hello-run; sleep 1000"), tweak=_terminal, cid=cid)
    w.obs_result("run", w("run", "-d", "--console-socket", rcv.path, "--bundle", b, cid))
    w.obs("master-received", rcv.wait_masters(1))
    w.obs_state("state", cid, b)
    w.obs("tty-output", rcv.wait_output("hello-run"))
    w.obs_result("delete", w("delete", "--force", cid))


@case("run.pid-file")
def _(w):
    cid = w.new_id()
    b = w.bundle(cid=cid)
    pf = os.path.join(w.tmp, "pid")
    w.obs_result("run", w("run", "-d", "--pid-file", pf, "--bundle", b, cid))
    s = w.state(cid)
    w.obs("pid-file-matches", bool(s) and open(pf).read().strip() == str(s["pid"]))


@case("run.preserve-fds")
def _(w):
    cid = w.new_id()
    b = w.bundle(args=("cat", "/proc/self/fd/3"), cid=cid)
    data = os.path.join(w.tmp, "data")
    with open(data, "w") as f:
        f.write("fd-three\n")
    r = w("run", "--preserve-fds", "1", "--bundle", b, cid, fd3=data)
    w.obs("rc", r.rc)
    w.obs("stdout", r.out)


# --- kill --------------------------------------------------------------------

for _st in ("created", "running", "paused", "stopped"):
    def _kill_case(w, _st=_st):
        cid, b = STATES[_st](w)
        w.obs_result("kill-0", w("kill", cid, "0"))
        w.obs_result("kill-all-0", w("kill", "--all", cid, "0"))
        w.obs_result("kill-bad-signal", w("kill", cid, "SIGBOGUS"))
        w.obs_result("kill-all-KILL", w("kill", "--all", cid, "KILL"))
        w.obs("status-after-all", w.wait_status(cid, "stopped"))
        w.obs_result("kill-after", w("kill", cid, "KILL"))
        w.obs_result("kill-all-after", w("kill", "-a", cid, "9"))
        w.obs_result("delete", w("delete", cid))
    case(f"kill.{_st}")(_kill_case)

    def _kill_one(w, _st=_st):
        cid, b = STATES[_st](w)
        w.obs_result("kill-KILL", w("kill", cid, "KILL"))
        w.obs("status-after", w.wait_status(cid, "stopped", timeout=5))
    case(f"kill.init-{_st}")(_kill_one)


@case("kill.signal-forms")
def _(w):
    for sig in ("TERM", "SIGTERM", "15", "9", "KILL", "sigkill", "USR1", "0", "-9", "99", "RTMIN+1"):
        cid, b = _running(w, tag="s" + re.sub(r"[^a-zA-Z0-9]", "x", sig))
        w.obs_result(f"kill-{sig}", w("kill", cid, sig))
    cid, b = _running(w, tag="default")
    w.obs_result("kill-default", w("kill", cid))
    w.obs("default-stops", w.wait_status(cid, "stopped"))


# --- delete --------------------------------------------------------------------

for _st in ("created", "running", "paused", "stopped"):
    def _delete_case(w, _st=_st):
        cid, b = STATES[_st](w)
        w.obs_result("delete", w("delete", cid))
        w.obs_result("state", w("state", cid))
        w.obs_result("delete-force", w("delete", "--force", cid))
        w.obs_result("state-after-force", w("state", cid))
    case(f"delete.{_st}")(_delete_case)


# --- pause / resume -----------------------------------------------------------

for _st in ("created", "running", "paused", "stopped"):
    def _pause_case(w, _st=_st):
        cid, b = STATES[_st](w)
        w.obs_result("pause", w("pause", cid))
        w.obs("status-after-pause", w.status(cid))
        w.obs_result("resume", w("resume", cid))
        w.obs("status-after-resume", w.status(cid))
        w.obs_result("resume-again", w("resume", cid))
    case(f"pause.{_st}")(_pause_case)


# --- exec -----------------------------------------------------------------------

@case("exec.basic")
def _(w):
    cid, b = _running(w)
    w.run_step("echo", "exec", cid, "echo", "hi", out=True)
    w.run_step("exit-code", "exec", cid, "sh", "-c", "exit 7")
    w.run_step("dashdash", "exec", cid, "--", "echo", "dd", out=True)
    # runc refuses the long and short form of one flag together ("two forms")
    w.run_step("env", "exec", "--env", "FOO=bar", "--env", "X=1", cid, "sh", "-c", "echo $FOO$X",
               out=True)
    w.run_step("cwd", "exec", "--cwd", "/tmp", cid, "pwd", out=True)
    w.run_step("user", "exec", "--user", "1000:1001", cid, "id", out=True)
    w.run_step("user-gids", "exec", "--user", "1000:1001", "-g", "5", "-g", "6", cid, "id",
               out=True)
    w.run_step("missing-binary", "exec", cid, "/no/such/binary")
    w.run_step("not-executable", "exec", cid, "/etc/passwd")
    w.run_step("no-command", "exec", cid)
    w.run_step("stdin", "exec", cid, "cat", input="to-exec\n", out=True)


@case("exec.process-file")
def _(w):
    cid, b = _running(w)
    pf = os.path.join(w.tmp, "process.json")
    with open(pf, "w") as f:
        json.dump({"args": ["sh", "-c", "echo from-process-json $A; exit 5"],
                   "env": ["PATH=/bin", "A=x"], "cwd": "/", "user": {"uid": 0, "gid": 0}}, f)
    w.run_step("process", "exec", "--process", pf, cid, out=True)
    w.run_step("process-missing", "exec", "--process", os.path.join(w.tmp, "nope.json"), cid)
    with open(pf, "w") as f:
        f.write("{not json")
    w.run_step("process-bad", "exec", "--process", pf, cid)


@case("exec.detach-pid-file")
def _(w):
    cid, b = _running(w)
    pf = os.path.join(w.tmp, "exec.pid")
    w.run_step("detach", "exec", "-d", "--pid-file", pf, cid, "sleep", "1000")
    pid = int(open(pf).read().strip()) if os.path.exists(pf) else 0
    w.obs("pid-alive", pid > 0 and os.path.exists(f"/proc/{pid}"))
    r = w("ps", "--format", "json", cid)
    w.obs("ps-count", len(json.loads(r.out)) if r.rc == 0 else r.rc)


@case("exec.preserve-fds")
def _(w):
    cid, b = _running(w)
    data = os.path.join(w.tmp, "data")
    with open(data, "w") as f:
        f.write("exec-fd-three\n")
    w.run_step("fd3", "exec", "--preserve-fds", "1", cid, "cat", "/proc/self/fd/3", fd3=data,
               out=True)
    w.run_step("fd3-not-passed", "exec", cid, "cat", "/proc/self/fd/3", fd3=data)


@case("exec.tty-console-socket")
def _(w):
    cid, b = _running(w)
    rcv = w.receiver()
    pf = os.path.join(w.tmp, "exec.pid")
    w.run_step("exec", "exec", "-t", "-d", "--console-socket", rcv.path, "--pid-file", pf,
               cid, "sh", "-c", "tty; echo exec-tty; sleep 1000")
    w.obs("master-received", rcv.wait_masters(1))
    w.obs("tty-output", rcv.wait_output("exec-tty"))
    w.obs("is-pts", rcv.wait_output("/dev/pts/"))
    w.run_step("tty-detach-no-socket", "exec", "-t", "-d", cid, "true")


@case("exec.states")
def _(w):
    for st in ("created", "paused", "stopped"):
        cid, b = STATES[st](w, tag=st)
        w.run_step(f"exec-{st}", "exec", cid, "true")


def _cgroup_dirs_of(w, cid):
    """The container's cgroup directories on the host (every hierarchy)."""
    out = []
    rel = w.cgroups_path(cid).lstrip("/")
    for h in sorted(os.listdir("/sys/fs/cgroup")):
        d = os.path.join("/sys/fs/cgroup", h, rel)
        if os.path.isdir(d) and os.path.exists(os.path.join(d, "cgroup.procs")):
            out.append(d)
    return out


def _own_cgroups(text):
    """{controllers: path} from /proc/PID/cgroup text."""
    out = {}
    for line in text.splitlines():
        _, ctrls, path = line.split(":", 2)
        out[ctrls] = path
    return out


@case("exec.cgroup")
def _(w):
    """exec --cgroup SUB and CTRL:SUB join a sub-cgroup of the container's (runc 1.1)."""
    cid, b = _running(w)
    made = []
    for d in _cgroup_dirs_of(w, cid):
        os.mkdir(os.path.join(d, "sub"))
        made.append(os.path.join(d, "sub"))
        for f in ("cpuset.cpus", "cpuset.mems"):  # an empty cpuset takes no process
            if os.path.exists(os.path.join(d, f)):
                with open(os.path.join(d, "sub", f), "w") as fh:
                    fh.write(open(os.path.join(d, f)).read().strip())
    try:
        # the container has a cgroup namespace: /proc/self/cgroup is relative to it
        r = w.run_step("all", "exec", "--cgroup", "sub", cid, "cat", "/proc/self/cgroup")
        cg = _own_cgroups(r.out) if r.rc == 0 else {}
        w.obs("all/in-sub", sorted(k for k, v in cg.items() if v.endswith("/sub")))
        r = w.run_step("memory", "exec", "--cgroup", "memory:sub", cid, "cat", "/proc/self/cgroup")
        cg = _own_cgroups(r.out) if r.rc == 0 else {}
        w.obs("memory/in-sub", sorted(k for k, v in cg.items() if v.endswith("/sub")))
        r = w.run_step("two", "exec", "--cgroup", "memory:sub", "--cgroup", "pids,cpu,cpuacct:/sub",
                       cid, "cat", "/proc/self/cgroup")
        cg = _own_cgroups(r.out) if r.rc == 0 else {}
        w.obs("two/in-sub", sorted(k for k, v in cg.items() if v.endswith("/sub")))
        w.run_step("escape", "exec", "--cgroup", "../..", cid, "true")
        w.run_step("unknown-controller", "exec", "--cgroup", "nosuchctl:sub", cid, "true")
        w.run_step("two-no-prefix", "exec", "--cgroup", "sub", "--cgroup", "sub", cid, "true")
        w.run_step("empty-controller", "exec", "--cgroup", ":sub", cid, "true")
        w.run_step("dup-controller", "exec", "--cgroup", "memory:sub", "--cgroup", "memory:sub",
                   cid, "true")
        w.run_step("three-colons", "exec", "--cgroup", "a:b:c", cid, "true")
        w("kill", cid, "KILL")
        w.wait_status(cid, "stopped")
    finally:
        for d in made:
            try:
                os.rmdir(d)
            except OSError:
                pass


# --- update ---------------------------------------------------------------------

def _cg_read(w, cid, ctrl, name):
    for d in _cgroup_dirs_of(w, cid):
        if os.path.basename(os.path.dirname(d.split(w.cg_parent)[0].rstrip("/")) or "") or True:
            pass
    rel = w.cgroups_path(cid).lstrip("/")
    for h in os.listdir("/sys/fs/cgroup"):
        if ctrl in h.split(","):
            p = os.path.join("/sys/fs/cgroup", h, rel, name)
            if os.path.exists(p):
                return open(p).read().strip()
    return None


@case("update.flags")
def _(w):
    cid, b = _running(w)
    steps = [
        (("--memory", "64m"), "memory", "memory.limit_in_bytes"),
        (("--memory-reservation", "32m"), "memory", "memory.soft_limit_in_bytes"),
        (("--memory-swap", "128m"), "memory", "memory.memsw.limit_in_bytes"),
        (("--cpu-quota", "50000"), "cpu", "cpu.cfs_quota_us"),
        (("--cpu-period", "200000"), "cpu", "cpu.cfs_period_us"),
        (("--cpu-share", "512"), "cpu", "cpu.shares"),
        (("--cpuset-cpus", "0"), "cpuset", "cpuset.cpus"),
        (("--cpuset-mems", "0"), "cpuset", "cpuset.mems"),
        (("--pids-limit", "77"), "pids", "pids.max"),
        (("--blkio-weight", "300"), "blkio", "blkio.weight"),
    ]
    for flags, ctrl, f in steps:
        r = w.run_step("update" + flags[0], "update", *flags, cid)
        w.obs(f"{flags[0]}/{f}", _cg_read(w, cid, ctrl, f))
    w.run_step("bad-value", "update", "--memory", "lots", cid)
    w.run_step("no-flags", "update", cid)


@case("update.resources-file")
def _(w):
    cid, b = _running(w)
    res = {"memory": {"limit": 100 * 1024 * 1024}, "pids": {"limit": 88},
           "cpu": {"shares": 256, "quota": 30000, "period": 100000}}
    f = os.path.join(w.tmp, "res.json")
    with open(f, "w") as fh:
        json.dump(res, fh)
    w.run_step("file", "update", "-r", f, cid)
    w.obs("file/mem", _cg_read(w, cid, "memory", "memory.limit_in_bytes"))
    w.obs("file/pids", _cg_read(w, cid, "pids", "pids.max"))
    w.obs("file/shares", _cg_read(w, cid, "cpu", "cpu.shares"))
    res["pids"]["limit"] = 99
    w.run_step("stdin", "update", "--resources", "-", cid, input=json.dumps(res))
    w.obs("stdin/pids", _cg_read(w, cid, "pids", "pids.max"))
    w.run_step("flag-overrides", "update", "-r", f, "--pids-limit", "55", cid)
    w.obs("flag-overrides/pids", _cg_read(w, cid, "pids", "pids.max"))
    w.run_step("missing-file", "update", "-r", os.path.join(w.tmp, "nope"), cid)
    w.run_step("bad-json", "update", "-r", "-", cid, input="{bad")


@case("update.states")
def _(w):
    for st in ("created", "paused", "stopped"):
        cid, b = STATES[st](w, tag=st)
        w.run_step(f"update-{st}", "update", "--pids-limit", "40", cid)


# --- ps / events / list ------------------------------------------------------------

@case("ps.formats")
def _(w):
    cid, b = _running(w)
    r = w.run_step("table", "ps", cid)
    lines = r.out.strip().splitlines()
    w.obs("table/header-has-PID", bool(lines) and "PID" in lines[0].split())
    w.obs("table/rows", len(lines) - 1)
    r = w.run_step("json", "ps", "--format", "json", cid)
    s = w.state(cid)
    w.obs("json/pids-is-init", r.rc == 0 and json.loads(r.out) == [s["pid"]])
    r = w.run_step("ps-args", "ps", cid, "-o", "pid,comm")
    w.obs("ps-args/has-sleep", "sleep" in r.out)
    w.run_step("bad-format", "ps", "--format", "xml", cid)
    for st in ("created", "stopped"):
        cid2, _b = STATES[st](w, tag=st)
        r = w.run_step(f"json-{st}", "ps", "--format", "json", cid2)
        # runc prints null for no process
        w.obs(f"json-{st}/count", len(json.loads(r.out) or []) if r.rc == 0 else None)


@case("events.stats")
def _(w):
    cid, b = _running(w)
    r = w.run_step("stats", "events", "--stats", cid)
    ev = json.loads(r.out) if r.rc == 0 else {}
    w.obs("stats/type", ev.get("type"))
    w.obs("stats/id", ev.get("id") == cid)
    data = ev.get("data") or {}
    w.obs("stats/sections", sorted(k for k in ("cpu", "memory", "pids", "blkio") if k in data))
    w.obs("stats/pids.current", (data.get("pids") or {}).get("current"))
    p = w.popen("events", "--interval", "1s", cid, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    p.kill()
    p.wait()
    ev = json.loads(line) if line.strip() else {}
    w.obs("stream/type", ev.get("type"))
    w.run_step("bad-interval", "events", "--interval", "soon", cid)
    cid2, _b = _stopped(w, tag="stopped")
    w.run_step("stats-stopped", "events", "--stats", cid2)


@case("list.formats")
def _(w):
    cid, b = _running(w, tag="one")
    cid2, b2 = _created(w, tag="two")
    r = w.run_step("table", "list")
    lines = r.out.strip().splitlines()
    w.obs("table/header", lines[0].split()[:3] if lines else None)
    w.obs("table/ids", sorted(l.split()[0] for l in lines[1:]))
    r = w.run_step("quiet", "list", "-q")
    w.obs("quiet/ids", sorted(r.out.split()))
    r = w.run_step("json", "list", "--format", "json")
    items = json.loads(r.out) if r.rc == 0 and r.out.strip() else []
    w.obs("json/items", sorted((i["id"], i["status"], i["pid"] > 0, i["bundle"] in (b, b2))
                               for i in items))
    w.obs("json/keys", sorted(set().union(*[set(i) for i in items])) if items else [])
    w.run_step("bad-format", "list", "--format", "xml")


@case("list.empty")
def _(w):
    r = w.run_step("json", "list", "--format", "json")
    w.obs("json/out", r.out.strip())
    r = w.run_step("quiet", "list", "-q")
    w.obs("quiet/out", r.out.strip())


# --- features / spec -------------------------------------------------------------

@case("features")
def _(w):
    r = w.run_step("features", "features")
    f = json.loads(r.out) if r.rc == 0 else {}
    w.obs("keys", sorted(f))
    w.obs("ociVersionMin", f.get("ociVersionMin"))
    w.obs("hooks", sorted(f.get("hooks") or []))
    lx = f.get("linux") or {}
    w.obs("linux.keys", sorted(lx))
    w.obs("linux.namespaces", sorted(lx.get("namespaces") or []))


@case("spec.default")
def _(w):
    d = os.path.join(w.tmp, "spec")
    os.makedirs(d)
    r = w.run_step("spec", "spec", "--bundle", d)
    cfg = json.load(open(os.path.join(d, "config.json"))) if r.rc == 0 else {}
    w.obs("root.path", (cfg.get("root") or {}).get("path"))
    w.obs("terminal", (cfg.get("process") or {}).get("terminal"))
    w.obs("namespaces", sorted(n["type"] for n in (cfg.get("linux") or {}).get("namespaces", [])))
    w.run_step("exists", "spec", "--bundle", d)
    w.run_step("no-dir", "spec", "--bundle", os.path.join(w.tmp, "nope"))


@case("spec.rootless")
def _(w):
    d = os.path.join(w.tmp, "spec")
    os.makedirs(d)
    r = w.run_step("spec", "spec", "--rootless", "--bundle", d)
    cfg = json.load(open(os.path.join(d, "config.json"))) if r.rc == 0 else {}
    lx = cfg.get("linux") or {}
    w.obs("namespaces", sorted(n["type"] for n in lx.get("namespaces", [])))
    w.obs("uidMappings", bool(lx.get("uidMappings")))
    w.obs("gidMappings", bool(lx.get("gidMappings")))
