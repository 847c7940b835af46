"""OCI hooks (runtime-spec config.md, POSIX-platform Hooks): every kind runs at its
moment of the lifecycle, with the state on stdin, in the namespace the spec names
(runtime hooks in capsa's, createContainer/startContainer in the container's); a
failing createRuntime/createContainer hook aborts create and leaves nothing; timeouts
are enforced; poststart/poststop failures only warn."""
import json
import os
import time

import pytest

from capsatest import IS_CAPSA, error_lines, wait_for

KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop")
RUNTIME_NS_KINDS = ("prestart", "createRuntime", "poststart", "poststop")

# $1 = kind; $OUT = where to write. Records the state from stdin, the mount and pid
# namespaces, the environment, the arguments and the order.
RECORDER = """#!/bin/sh
kind=$1
cat > "$OUT/$kind.json"
readlink /proc/self/ns/mnt > "$OUT/$kind.mnt"
env > "$OUT/$kind.env"
echo "$@" > "$OUT/$kind.args"
echo "$kind" >> "$OUT/order"
"""


def _script(path, body):
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)
    return path


def _log(out, what):
    with open(os.path.join(out, "order"), "a") as f:
        f.write(what + "\n")


def _order(out):
    with open(os.path.join(out, "order")) as f:
        return f.read().split()


def _hook_bundle(ct, args=("sleep", "1000"), kinds=KINDS, extra=None):
    """A bundle whose hooks all run RECORDER. The container hooks write to /out, a
    bind mount of the host directory `out` that the runtime hooks write to."""
    out = os.path.join(ct.tmp, "out")
    os.makedirs(out)
    host_hook = _script(os.path.join(ct.tmp, "hook.sh"), RECORDER)

    def tweak(c):
        c["mounts"].append({"destination": "/out", "type": "bind", "source": out,
                            "options": ["rbind", "rw"]})
        hooks = {}
        for k in kinds:
            if k == "startContainer":
                # resolved inside the container: the script is in the rootfs
                h = {"path": "/bin/hook.sh", "args": ["hook.sh", k, "extra-arg"],
                     "env": ["OUT=/out", "HOOK_KIND=" + k, "PATH=/bin"]}
            else:
                h = {"path": host_hook, "args": ["hook.sh", k, "extra-arg"],
                     "env": ["OUT=" + out, "HOOK_KIND=" + k, "PATH=/usr/bin:/bin"]}
            hooks[k] = [h]
        c["hooks"] = hooks
        if extra:
            extra(c)
    b = ct.bundle(args=args, tweak=tweak)
    os.makedirs(os.path.join(b.rootfs, "out"))
    _script(os.path.join(b.rootfs, "bin", "hook.sh"), RECORDER)
    return b, out


def _state(out, kind):
    with open(os.path.join(out, f"{kind}.json")) as f:
        return json.load(f)


def _read(out, kind, what):
    with open(os.path.join(out, f"{kind}.{what}")) as f:
        return f.read()


def _lifecycle(ct, b, out):
    """create, start, kill, delete; returns the init pid and its mount namespace."""
    ct.create(b)
    _log(out, "create-returned")
    pid = ct.state(b.id)["pid"]
    mnt = os.readlink(f"/proc/{pid}/ns/mnt")
    ct.start(b.id)
    _log(out, "start-returned")
    ct.capsa("kill", b.id, "KILL", check=True)
    ct.wait_status(b.id, "stopped")
    _log(out, "stopped")
    ct.capsa("delete", b.id, check=True)
    _log(out, "delete-returned")
    return pid, mnt


@pytest.mark.capsa_only("runc 1.1 runs poststart hooks during create")
def test_every_hook_kind_runs_in_order(ct):
    b, out = _hook_bundle(ct, args=["sh", "-c", "echo program >> /out/order; exec sleep 1000"])
    _lifecycle(ct, b, out)
    order = _order(out)
    for k in KINDS:
        assert order.count(k) == 1, f"{k} ran {order.count(k)} times: {order}"
    idx = {w: order.index(w) for w in order}
    assert idx["prestart"] < idx["createRuntime"] < idx["createContainer"] < \
        idx["create-returned"], order
    assert idx["create-returned"] < idx["startContainer"] < idx["program"], order
    assert idx["create-returned"] < idx["poststart"] < idx["start-returned"], order
    assert idx["stopped"] < idx["poststop"] < idx["delete-returned"], order


@pytest.mark.capsa_only("runc 1.1 runs poststart during create (status created)")
def test_hook_state_on_stdin(ct):
    b, out = _hook_bundle(ct)
    pid, _ = _lifecycle(ct, b, out)
    for k in KINDS:
        st = _state(out, k)
        assert st["id"] == b.id, (k, st)
        assert st["bundle"] == os.path.realpath(b.path), (k, st)
        assert st["ociVersion"], (k, st)
    for k in ("prestart", "createRuntime", "createContainer"):
        st = _state(out, k)
        assert st["status"] == "creating", (k, st)
    # runtime-spec: "For hooks executed in the runtime namespace, it is the pid as
    # seen by the runtime. For hooks executed in the container namespace, it is the
    # pid as seen by the container" (the init is pid 1 of its pid namespace).
    for k in ("prestart", "createRuntime"):
        assert _state(out, k)["pid"] == pid, (k, _state(out, k))
    assert _state(out, "createContainer")["pid"] == 1, _state(out, "createContainer")
    st = _state(out, "poststart")
    assert st["status"] == "running", st
    assert st["pid"] == pid, st
    st = _state(out, "poststop")
    assert st["status"] == "stopped", st


def test_start_container_hook_state(ct):
    """startContainer runs once `start` was called, in the container: the state
    says `created` (as runc has it: create is over, the program not yet run) and
    the pid is the init's as the container sees it (1)."""
    b, out = _hook_bundle(ct, kinds=("startContainer",))
    ct.create(b)
    ct.start(b.id)
    wait_for(lambda: os.path.exists(os.path.join(out, "order")), what="startContainer hook")
    st = _state(out, "startContainer")
    assert st["id"] == b.id
    assert st["status"] == "created", st
    assert st["pid"] == 1, st


def test_hooks_run_in_the_right_mount_namespace(ct):
    b, out = _hook_bundle(ct)
    _, init_mnt = _lifecycle(ct, b, out)
    host_mnt = os.readlink("/proc/self/ns/mnt")
    assert init_mnt != host_mnt
    for k in RUNTIME_NS_KINDS:
        assert _read(out, k, "mnt").strip() == host_mnt, f"{k} hook not in the runtime's mnt ns"
    for k in ("createContainer", "startContainer"):
        assert _read(out, k, "mnt").strip() == init_mnt, f"{k} hook not in the container's"


def test_hook_args_and_env_exactly(ct):
    b, out = _hook_bundle(ct)
    _lifecycle(ct, b, out)
    for k in KINDS:
        # $@ of the script: args[1:] (args[0] is argv[0])
        assert _read(out, k, "args").split() == [k, "extra-arg"], k
        env = dict(l.split("=", 1) for l in _read(out, k, "env").splitlines() if "=" in l)
        assert env.get("HOOK_KIND") == k, (k, env)
        for leak in ("PYTEST_CURRENT_TEST", "CAPSA_TEST_MARK", "TERM"):
            assert leak not in env, f"{k} hook got {leak} from outside its env"


def test_hooks_run_with_capsa_run(ct):
    """The foreground `run` goes through the same lifecycle, poststop included."""
    b, out = _hook_bundle(ct, args=["sh", "-c", "echo program >> /out/order"])
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    order = _order(out)
    assert order[:3] == ["prestart", "createRuntime", "createContainer"], order
    assert set(order) == set(KINDS) | {"program"}, order
    assert order[-1] == "poststop", order
    assert _state(out, "poststop")["status"] == "stopped"


def test_hook_output_does_not_corrupt_state_output(ct):
    """A hook writing to stdout must not end up in `capsa state`/create's stdout."""
    def tweak(c):
        c["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c",
                                                                     "echo HOOK-NOISE"]}]}
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak)
    r = ct.create(b)
    assert "HOOK-NOISE" not in r.stdout
    json.loads(ct.capsa("state", b.id, check=True).stdout)


# --- failures -------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_aborts_create(ct, kind):
    hook = _script(os.path.join(ct.tmp, "fail.sh"), "#!/bin/sh\ncat >/dev/null\nexit 1\n")
    marker = os.path.join(ct.tmp, "later-hook-ran")
    later = _script(os.path.join(ct.tmp, "later.sh"), f"#!/bin/sh\ntouch {marker}\n")

    def tweak(c):
        c["hooks"] = {kind: [{"path": hook}],
                      "poststart": [{"path": later}], "createContainer": [{"path": later}]}
        if kind == "createContainer":
            c["hooks"]["createContainer"] = [{"path": hook}, {"path": later}]
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak)
    r = ct.create(b, check=False)
    assert r.returncode != 0, "create succeeded despite a failing hook"
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    if IS_CAPSA:
        assert kind in lines[0] and hook in lines[0], lines[0]
    assert not os.path.exists(marker), "a hook after the failing one ran"
    ct.assert_nothing_created(b.id, bundle=b)


def test_failing_create_runtime_hook_with_run(ct):
    hook = _script(os.path.join(ct.tmp, "fail.sh"), "#!/bin/sh\nexit 3\n")
    b = ct.bundle(args=["sleep", "1000"],
                  tweak=lambda c: c.update(hooks={"createRuntime": [{"path": hook}]}))
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode != 0
    assert len(error_lines(r.stderr)) == 1, r.stderr
    if IS_CAPSA:
        assert "createRuntime" in r.stderr
    ct.assert_nothing_created(b.id, bundle=b)


def test_failed_create_still_runs_poststop(ct):
    """runtime-spec lifecycle: a failing createRuntime hook "continues the lifecycle
    at step 12" (destroy), and step 13 runs the poststop hooks (runc does too)."""
    hook = _script(os.path.join(ct.tmp, "fail.sh"), "#!/bin/sh\nexit 1\n")
    marker = os.path.join(ct.tmp, "poststop-ran")
    post = _script(os.path.join(ct.tmp, "post.sh"), f"#!/bin/sh\ncat > {marker}\n")
    b = ct.bundle(args=["sleep", "1000"], tweak=lambda c: c.update(
        hooks={"createRuntime": [{"path": hook}], "poststop": [{"path": post}]}))
    r = ct.create(b, check=False)
    assert r.returncode != 0
    ct.assert_nothing_created(b.id, bundle=b)
    assert os.path.exists(marker), "poststop hooks did not run after the failed create"


def test_poststop_runs_on_delete_force_of_running_container(ct):
    b, out = _hook_bundle(ct, kinds=("poststop",))
    ct.create(b)
    ct.start(b.id)
    ct.capsa("delete", "--force", b.id, check=True)
    assert _order(out) == ["poststop"]
    assert _state(out, "poststop")["status"] == "stopped"


def test_missing_hook_binary_aborts_create(ct):
    """One error line naming the hook and why it could not run (not a separate
    line from the forked child plus an \"exit status 127\")."""
    missing = os.path.join(ct.tmp, "no-such-hook")
    b = ct.bundle(args=["sleep", "1000"],
                  tweak=lambda c: c.update(hooks={"createRuntime": [{"path": missing}]}))
    r = ct.create(b, check=False)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    assert missing in lines[0], lines[0]
    assert "no such file" in lines[0].lower(), lines[0]
    if IS_CAPSA:
        assert "createRuntime" in lines[0], lines[0]
    ct.assert_nothing_created(b.id, bundle=b)


@pytest.mark.parametrize("kind", ["createRuntime", "createContainer"])
def test_hook_timeout(ct, kind):
    def tweak(c):
        c["hooks"] = {kind: [{"path": "/bin/sleep", "args": ["sleep", "10"], "timeout": 1}]}
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak)
    t0 = time.monotonic()
    r = ct.create(b, check=False)
    elapsed = time.monotonic() - t0
    assert r.returncode != 0, "create succeeded despite the hook timing out"
    assert elapsed < 3, f"create took {elapsed:.1f}s with a 1s hook timeout"
    assert elapsed >= 0.9, f"the hook was killed before its timeout ({elapsed:.2f}s)"
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    assert "tim" in lines[0].lower(), lines[0]
    if IS_CAPSA:
        assert kind in lines[0], lines[0]
    ct.assert_nothing_created(b.id, bundle=b)


def test_hook_large_timeout_is_not_truncated(ct):
    """A timeout of 4294968 s (~50 days) must not wrap around to under a second
    (seconds * 1000 overflowing a 32-bit millisecond count)."""
    def tweak(c):
        c["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "1.5"],
                                         "timeout": 4294968}]}
    b = ct.bundle(args=["true"], tweak=tweak)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("timeout", [0, -1])
def test_hook_bad_timeout_rejected(ct, timeout):
    def tweak(c):
        c["hooks"] = {"createRuntime": [{"path": "/bin/true", "timeout": timeout}]}
    b = ct.bundle(args=["true"], tweak=tweak)
    r = ct.create(b, check=False)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    if IS_CAPSA:
        assert "timeout" in lines[0], r.stderr
    ct.assert_nothing_created(b.id, bundle=b)


def test_hook_relative_path_rejected(ct):
    b = ct.bundle(args=["true"], tweak=lambda c: c.update(
        hooks={"createRuntime": [{"path": "relative/hook"}]}))
    r = ct.create(b, check=False)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    if IS_CAPSA:
        assert "relative/hook" in lines[0], r.stderr
    ct.assert_nothing_created(b.id, bundle=b)


def test_hook_within_timeout_succeeds(ct):
    def tweak(c):
        c["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "0.2"],
                                         "timeout": 5}]}
    b = ct.bundle(args=["true"], tweak=tweak)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr


@pytest.mark.capsa_only("runc 1.1 runs poststart during create and fails it")
def test_failing_poststart_only_warns(ct):
    hook = _script(os.path.join(ct.tmp, "fail.sh"), "#!/bin/sh\nexit 1\n")
    b = ct.bundle(args=["sleep", "1000"],
                  tweak=lambda c: c.update(hooks={"poststart": [{"path": hook}]}))
    ct.create(b)
    r = ct.start(b.id, check=False)
    assert r.returncode == 0, r.stderr
    if IS_CAPSA:
        assert "poststart" in r.stderr and "warn" in r.stderr.lower(), r.stderr
    assert ct.status(b.id) == "running"


def test_failing_poststop_only_warns(ct):
    hook = _script(os.path.join(ct.tmp, "fail.sh"), "#!/bin/sh\nexit 1\n")
    b = ct.bundle(args=["true"],
                  tweak=lambda c: c.update(hooks={"poststop": [{"path": hook}]}))
    ct.create(b)
    ct.start(b.id)
    ct.wait_status(b.id, "stopped")
    r = ct.capsa("delete", b.id)
    assert r.returncode == 0, r.stderr
    if IS_CAPSA:
        assert "poststop" in r.stderr and "warn" in r.stderr.lower(), r.stderr
    assert ct.status(b.id) is None


def test_failing_start_container_hook_stops_container(ct):
    """runtime-spec: a failing startContainer hook is an error and the container
    is stopped; the program never runs."""
    b = ct.bundle(args=["sh", "-c", "echo PROGRAM-RAN"],
                  tweak=lambda c: c.update(hooks={"startContainer": [
                      {"path": "/bin/false"}]}))
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode != 0
    assert "PROGRAM-RAN" not in r.stdout
    if IS_CAPSA:
        assert "startContainer" in r.stderr, r.stderr
