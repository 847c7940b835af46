"""runtime.md: state, lifecycle, errors and the operations, through the capsa CLI."""
import json
import os
import re
import subprocess

from capsatest import CGROUP_PARENT, set_namespace
from clauses import clause
from conf import (bind, create_refused, in_root, init_pid, marker_program, ns_of, out_dir,
                  pid_alive, refused, wait_for)


def _cgroup_dirs(cid):
    """The container's cgroup directories on this host (every hierarchy)."""
    found = []
    for dirpath, dirnames, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(dirpath) == cid and CGROUP_PARENT in dirpath:
            found.append(dirpath)
    return found


def _full_cycle(ct):
    """create, state, start, kill, wait, delete: each operation succeeds."""
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    assert ct.state(b.id)["status"] == "created"
    ct.start(b.id)
    assert ct.state(b.id)["status"] == "running"
    ct.capsa("kill", b.id, "KILL", check=True)
    ct.wait_status(b.id, "stopped")
    ct.capsa("delete", b.id, check=True)
    assert ct.capsa("state", b.id).returncode != 0


# ---- scope and state ----------------------------------------------------------------

@clause
def test_runtime_scope_creator_can_operate(ct):
    _full_cycle(ct)


@clause
def test_operations_supported(ct):
    _full_cycle(ct)


@clause
def test_state_ociversion_required(ct):
    b = ct.running()
    v = ct.state(b.id)["ociVersion"]
    assert re.fullmatch(r"1\.\d+\.\d+(-[0-9A-Za-z.-]+)?", v), v


@clause
def test_state_id_required_and_unique(ct):
    b = ct.running()
    assert ct.state(b.id)["id"] == b.id
    pid = init_pid(ct, b.id)
    other = ct.bundle(cid=None)
    other_dir = other.path
    again = ct.bundle(cid=b.id + "-x")
    # the same id again, from another bundle
    again.id = b.id
    r = ct.capsa("create", "--bundle", again.path, b.id)
    refused(ct, r, b.id)
    assert ct.state(b.id)["pid"] == pid and ct.state(b.id)["status"] == "running"
    assert os.path.isdir(other_dir)


@clause
def test_state_status_required(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    seen = [ct.state(b.id)["status"]]
    ct.start(b.id)
    seen.append(ct.state(b.id)["status"])
    ct.capsa("kill", b.id, "KILL", check=True)
    ct.wait_status(b.id, "stopped")
    seen.append(ct.state(b.id)["status"])
    assert seen == ["created", "running", "stopped"]


@clause
def test_state_additional_status_values_are_new_states(ct):
    """capsa adds `paused` (frozen cgroup), which none of created/running/stopped is."""
    b = ct.running()
    pid = init_pid(ct, b.id)
    ct.capsa("pause", b.id, check=True)
    assert ct.state(b.id)["status"] == "paused"
    with open(f"/proc/{pid}/cgroup") as f:
        freezer = [l.split(":")[2] for l in f.read().splitlines() if ":freezer:" in l]
    if freezer:
        with open(f"/sys/fs/cgroup/freezer{freezer[0]}/freezer.state") as f:
            assert f.read().strip() == "FROZEN"
    ct.capsa("resume", b.id, check=True)
    assert ct.state(b.id)["status"] == "running"


@clause
def test_state_pid_required_when_created_or_running(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    created = ct.state(b.id)["pid"]
    assert isinstance(created, int) and created > 0 and pid_alive(created)
    ct.start(b.id)
    running = ct.state(b.id)["pid"]
    assert running == created and pid_alive(running)
    with open(f"/proc/{running}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"


@clause
def test_state_bundle_required_absolute(ct):
    b = ct.bundle(args=["sleep", "1000"])
    # given as a relative path: the state still has the absolute one
    r = ct.capsa("create", "--bundle", os.path.basename(b.path), b.id, cwd=ct.tmp)
    assert r.returncode == 0, r.stderr
    st = ct.state(b.id)
    assert st["bundle"] == os.path.realpath(b.path) and os.path.isabs(st["bundle"])


@clause
def test_state_json_format(ct):
    b = ct.bundle(args=["sleep", "1000"],
                  tweak=lambda c: c.update(annotations={"myKey": "myValue"}))
    ct.create(b)
    r = ct.capsa("state", b.id, check=True)
    st = json.loads(r.stdout)
    assert isinstance(st, dict)
    for key, typ in (("ociVersion", str), ("id", str), ("status", str), ("pid", int),
                     ("bundle", str), ("annotations", dict)):
        assert isinstance(st.get(key), typ), (key, st)
    assert st["annotations"] == {"myKey": "myValue"}


# ---- lifecycle ----------------------------------------------------------------------

@clause
def test_lifecycle_create_environment_from_config(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    pid = init_pid(ct, b.id)
    for ns in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
        assert ns_of(pid, ns) != ns_of("self", ns), ns
    r = subprocess.run(["nsenter", "-t", str(pid), "-u", "hostname"], capture_output=True,
                       text=True, check=True)
    assert r.stdout.strip() == "capsa-test"
    assert any(str(pid) in open(os.path.join(d, "cgroup.procs")).read().split()
               for d in _cgroup_dirs(b.id))


@clause
def test_lifecycle_create_error_when_environment_cannot_be_created(ct):
    missing = os.path.join(ct.tmp, "no-such-dir")
    create_refused(ct, lambda c: bind(c, missing, "/mnt"), "no-such-dir")


@clause
def test_lifecycle_create_does_not_run_user_program(ct):
    out = out_dir(ct)
    b = ct.bundle(args=marker_program("/out/ran"), tweak=lambda c: bind(c, out, "/out"))
    ct.create(b)
    assert not os.path.exists(os.path.join(out, "ran"))
    ct.start(b.id)
    wait_for(lambda: os.path.exists(os.path.join(out, "ran")), what="the program to run")


@clause
def test_lifecycle_config_updates_after_create_do_not_affect_container(ct):
    out = out_dir(ct)
    b = ct.bundle(args=["sh", "-c", "hostname > /out/seen; exec sleep 1000"],
                  tweak=lambda c: bind(c, out, "/out"))
    ct.create(b)
    b.config["process"]["args"] = ["sh", "-c", "echo changed > /out/seen"]
    b.config["hostname"] = "changed"
    b.write()
    ct.start(b.id)
    seen = os.path.join(out, "seen")
    wait_for(lambda: os.path.exists(seen) and open(seen).read(), what="the program")
    assert open(seen).read().strip() == "capsa-test"


@clause
def test_lifecycle_start_runs_user_program(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    ct.start(b.id)
    pid = init_pid(ct, b.id)
    assert ct.state(b.id)["status"] == "running"
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().rstrip(b"\0").split(b"\0") == [b"sleep", b"1000"]


@clause
def test_lifecycle_delete_undoes_create(ct):
    b = ct.running(tweak=lambda c: c["mounts"].append(
        {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs"}))
    pid = init_pid(ct, b.id)
    ct.capsa("kill", b.id, "KILL", check=True)
    ct.wait_status(b.id, "stopped")
    ct.capsa("delete", b.id, check=True)
    assert not pid_alive(pid)
    # no state, cgroup, container process or mount (under the bundle) is left
    ct.assert_nothing_created(b.id, b)


def _readlink(p):
    try:
        return os.readlink(p)
    except OSError:
        return None


# ---- errors and warnings ------------------------------------------------------------

@clause
def test_errors_leave_environment_unchanged(ct):
    # a failing create leaves nothing
    create_refused(ct, lambda c: bind(c, os.path.join(ct.tmp, "absent"), "/mnt"), "absent")
    # a failing start leaves the running container as it was
    b = ct.running()
    pid = init_pid(ct, b.id)
    assert ct.start(b.id, check=False).returncode != 0
    assert ct.state(b.id)["status"] == "running" and init_pid(ct, b.id) == pid
    assert pid_alive(pid)


@clause
def test_warnings_do_not_change_flow(ct):
    """A failing poststop hook is a warning: delete still removes everything."""
    b = ct.bundle(tweak=lambda c: c.update(hooks={"poststop": [{"path": "/bin/false"}]}))
    ct.create(b)
    ct.start(b.id)
    ct.wait_status(b.id, "stopped")
    r = ct.capsa("delete", b.id)
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr
    ct.assert_nothing_created(b.id, b)


# ---- operations ---------------------------------------------------------------------

@clause
def test_state_op_error_without_id(ct):
    refused(ct, ct.capsa("state"))


@clause
def test_state_op_error_for_unknown_container(ct):
    refused(ct, ct.capsa("state", "no-such-container"), "no-such-container")


@clause
def test_state_op_returns_state(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    pid = init_pid(ct, b.id)
    st = ct.state(b.id)
    assert (st["id"], st["status"], st["pid"], st["bundle"]) == \
        (b.id, "created", pid, os.path.realpath(b.path))
    ct.start(b.id)
    assert ct.state(b.id)["status"] == "running"


@clause
def test_create_error_without_bundle_or_id(ct):
    refused(ct, ct.capsa("create"))
    # no --bundle and no config.json in the working directory
    empty = out_dir(ct, "empty")
    r = ct.capsa("create", "lonely", cwd=empty)
    refused(ct, r, "config.json", cid="lonely")


@clause
def test_create_error_for_duplicate_or_invalid_id(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b)
    other = ct.bundle()
    refused(ct, ct.capsa("create", "--bundle", other.path, b.id), b.id)
    assert ct.state(b.id)["status"] == "created"
    for bad in ("../escape", "a/b", ".", "..", "x" * 1024):
        r = ct.capsa("create", "--bundle", other.path, "--", bad)
        refused(ct, r)
    assert sorted(os.listdir(ct.root)) == [b.id]
    assert not os.path.exists(os.path.join(os.path.dirname(ct.root), "escape"))


@clause
def test_create_creates_new_container(ct):
    b = ct.bundle()
    ct.create(b)
    assert ct.state(b.id)["status"] == "created"
    r = ct.capsa("list", "-q", check=True)
    assert r.stdout.split() == [b.id]


@clause
def test_create_applies_all_properties_but_process(ct):
    def tweak(c):
        c["hostname"] = "applied"
        c["mounts"].append({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
                            "options": ["size=1m"]})
        c["linux"]["sysctl"] = {"kernel.shmmni": "1234"}
        c["linux"]["resources"] = {"pids": {"limit": 42}}
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak)
    ct.create(b)
    pid = init_pid(ct, b.id)
    nsenter = ["nsenter", "-t", str(pid), "-u", "-i", "-m"]
    r = subprocess.run(nsenter + ["cat", "/proc/sys/kernel/hostname",
                                  "/proc/sys/kernel/shmmni"],
                       capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["applied", "1234"]
    with open(f"/proc/{pid}/mountinfo") as f:
        assert any(l.split()[4] == "/mnt" and "tmpfs" in l for l in f)
    limits = [open(os.path.join(d, "pids.max")).read().strip() for d in _cgroup_dirs(b.id)
              if os.path.exists(os.path.join(d, "pids.max"))]
    assert limits == ["42"]
    # root.readonly
    assert not os.access(in_root(pid, "/"), os.W_OK) or \
        subprocess.run(nsenter + ["touch", "/probe"], capture_output=True).returncode != 0


@clause
def test_create_does_not_apply_process_args(ct):
    out = out_dir(ct)
    b = ct.bundle(args=marker_program("/out/ran"), tweak=lambda c: bind(c, out, "/out"))
    ct.create(b)
    pid = init_pid(ct, b.id)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert not f.read().startswith(b"sh\0")
    assert not os.path.exists(os.path.join(out, "ran"))


@clause
def test_create_error_when_property_cannot_be_applied(ct):
    create_refused(ct, lambda c: c["linux"].update(sysctl={"kernel.no_such_knob": "1"}),
                   "kernel.no_such_knob")


@clause
def test_start_error_without_id(ct):
    refused(ct, ct.capsa("start"))


@clause
def test_start_not_created_container_errors_without_effect(ct):
    out = out_dir(ct)
    b = ct.bundle(args=["sh", "-c", "echo x >> /out/runs; exec sleep 1000"],
                  tweak=lambda c: bind(c, out, "/out"))
    ct.create(b)
    ct.start(b.id)
    runs = os.path.join(out, "runs")
    wait_for(lambda: os.path.exists(runs), what="the program")
    pid = init_pid(ct, b.id)
    refused(ct, ct.start(b.id, check=False), b.id)
    assert ct.state(b.id)["status"] == "running" and init_pid(ct, b.id) == pid
    ct.capsa("kill", b.id, "KILL", check=True)
    ct.wait_status(b.id, "stopped")
    refused(ct, ct.start(b.id, check=False), b.id)
    assert ct.state(b.id)["status"] == "stopped"
    assert open(runs).read() == "x\n"


@clause
def test_start_runs_user_program_as_process_says(ct):
    def tweak(c):
        c["process"].update(cwd="/tmp", user={"uid": 1000, "gid": 1001})
        c["process"]["env"].append("GREETING=hello")
    out = ct.run_ok(["sh", "-c", 'echo "$0 $1 $(id -u):$(id -g) $(pwd) $GREETING"',
                     "arg0", "arg1"], tweak=tweak)
    assert out.strip() == "arg0 arg1 1000:1001 /tmp hello"


@clause
def test_start_error_when_process_not_set(ct):
    """capsa refuses a config without `process` already at create (nothing to start
    could ever exist); start of that id errors too."""
    b = ct.bundle(tweak=lambda c: c.pop("process") and None)
    refused(ct, ct.create(b, check=False), "process", cid=b.id, bundle=b)
    refused(ct, ct.start(b.id, check=False), b.id)


@clause
def test_kill_error_without_id(ct):
    refused(ct, ct.capsa("kill"))


@clause
def test_kill_not_created_or_running_errors_without_effect(ct):
    b = ct.bundle()
    ct.create(b)
    ct.start(b.id)
    ct.wait_status(b.id, "stopped")
    refused(ct, ct.capsa("kill", b.id, "TERM"), b.id)
    assert ct.state(b.id)["status"] == "stopped"


@clause
def test_kill_sends_signal(ct):
    out = out_dir(ct)
    script = "trap 'echo got-usr1 > /out/sig; exit 0' USR1; touch /out/ready; " \
             "while :; do sleep 0.1; done"
    b = ct.bundle(args=["sh", "-c", script], tweak=lambda c: bind(c, out, "/out"))
    ct.create(b)
    ct.start(b.id)
    wait_for(lambda: os.path.exists(os.path.join(out, "ready")), what="the trap")
    ct.capsa("kill", b.id, "USR1", check=True)
    ct.wait_status(b.id, "stopped")
    assert open(os.path.join(out, "sig")).read() == "got-usr1\n"


@clause
def test_delete_error_without_id(ct):
    refused(ct, ct.capsa("delete"))


@clause
def test_delete_not_stopped_container_errors_without_effect(ct):
    """(capsa, like runc, lets `delete` remove a `created` container: see the report
    in docs/conformance.md; the running case is checked here.)"""
    b = ct.running()
    pid = init_pid(ct, b.id)
    refused(ct, ct.capsa("delete", b.id), b.id)
    assert ct.state(b.id)["status"] == "running" and pid_alive(pid)
    assert _cgroup_dirs(b.id)


@clause
def test_delete_removes_created_resources(ct):
    b = ct.running()
    assert _cgroup_dirs(b.id)
    assert os.path.isdir(os.path.join(ct.root, b.id))
    ct.capsa("kill", b.id, "KILL", check=True)
    ct.wait_status(b.id, "stopped")
    ct.capsa("delete", b.id, check=True)
    assert _cgroup_dirs(b.id) == []
    assert not os.path.exists(os.path.join(ct.root, b.id))


@clause
def test_delete_keeps_resources_not_created_by_container(ct):
    holder = subprocess.Popen(["unshare", "--net", "sleep", "1000"])
    try:
        wait_for(lambda: _readlink(f"/proc/{holder.pid}/ns/net") != ns_of("self", "net"),
                 what="the netns holder")
        netns = f"/proc/{holder.pid}/ns/net"
        shared = out_dir(ct, "shared")
        open(os.path.join(shared, "keep"), "w").write("data")

        def tweak(c):
            set_namespace(c, "network", path=netns)
            bind(c, shared, "/shared")
        b = ct.bundle(args=["sleep", "1000"], tweak=tweak)
        ct.create(b)
        ct.start(b.id)
        assert ns_of(init_pid(ct, b.id), "net") == os.readlink(netns)
        ct.capsa("delete", "--force", b.id, check=True)
        assert pid_alive(holder.pid) and os.readlink(netns) != ns_of("self", "net")
        assert open(os.path.join(shared, "keep")).read() == "data"
    finally:
        holder.kill()
        holder.wait()
