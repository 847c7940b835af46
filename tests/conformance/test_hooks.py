"""Hooks: runtime.md lifecycle steps 3-13 and config.md POSIX-platform Hooks."""
import json
import os

from clauses import clause
from conf import bind, init_pid, load, ns_of, out_dir, refused, script, wait_for

KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop")

# $1 = kind. Records the state from stdin, the hook's mount namespace, the container
# process's root as the hook sees it (before pivot_root it is the host's /), whether
# the program already runs (its cmdline), and the order of the calls.
RECORDER = r"""#!/bin/sh
kind=$1
state=$(cat)
printf '%s' "$state" > "$OUT/$kind.json"
readlink /proc/self/ns/mnt > "$OUT/$kind.mnt"
pid=$(printf '%s' "$state" | sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p')
readlink "/proc/$pid/root" > "$OUT/$kind.root" 2>/dev/null
tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" > "$OUT/$kind.cmdline"
m=out/hook.sh.mark
[ -n "$ROOTFS" ] && { [ -e "$ROOTFS/$m" ] || [ -e "/proc/$pid/root$ROOTFS/$m" ] &&
    echo yes || echo no; } > "$OUT/$kind.mounted"
[ -n "$CG" ] && { [ -d "$CG" ] && echo present || echo gone; } > "$OUT/$kind.cgroup"
echo "$kind" >> "$OUT/order"
exit ${FAIL:-0}
"""


class Hooked:
    """A bundle whose hooks (all kinds, or `kinds`) run RECORDER, writing to `out`
    (the host directory, bind-mounted at /out for the container-side hooks)."""

    def __init__(self, ct, kinds=KINDS, args=None, fail=(), extra=None):
        self.ct = ct
        self.out = out_dir(ct)
        host_hook = script(os.path.join(ct.tmp, "hook.sh"), RECORDER)
        args = args or ["sh", "-c", "echo program >> /out/order; exec sleep 1000"]

        def tweak(c):
            bind(c, self.out, "/out")
            hooks = {}
            for k in kinds:
                if k == "startContainer":   # resolved in the container: in the rootfs
                    h = {"path": "/bin/hook.sh", "env": ["OUT=/out", "PATH=/bin"]}
                else:
                    h = {"path": host_hook, "env": ["OUT=" + self.out, "PATH=/usr/bin:/bin"]}
                h["args"] = ["hook.sh", k]
                if k in fail:
                    h["env"].append("FAIL=1")
                hooks.setdefault(k, []).append(h)
            c["hooks"] = hooks
            if extra:
                extra(c)
        self.b = ct.bundle(args=args, tweak=tweak)
        os.makedirs(os.path.join(self.b.rootfs, "out"), exist_ok=True)
        script(os.path.join(self.b.rootfs, "bin", "hook.sh"), RECORDER)

    def path(self, name):
        return os.path.join(self.out, name)

    def read(self, kind, what):
        with open(self.path(f"{kind}.{what}")) as f:
            return f.read().strip()

    def state(self, kind):
        return load(self.path(f"{kind}.json"))

    def order(self):
        if not os.path.exists(self.path("order")):
            return []
        with open(self.path("order")) as f:
            return f.read().split()

    def create(self):
        self.ct.create(self.b)
        return self

    def start(self):
        self.ct.start(self.b.id)
        wait_for(lambda: "program" in self.order(), what="the program")
        return self

    def stop_and_delete(self):
        self.ct.capsa("kill", self.b.id, "KILL", check=True)
        self.ct.wait_status(self.b.id, "stopped")
        return self.ct.capsa("delete", self.b.id)


def _through(ct, **kw):
    h = Hooked(ct, **kw).create().start()
    r = h.stop_and_delete()
    assert r.returncode == 0, r.stderr
    return h


def _host_mnt():
    return ns_of("self", "mnt")


# ---- lifecycle ----------------------------------------------------------------------

def _invoked(ct, kind):
    h = _through(ct, kinds=(kind,))
    assert h.order().count(kind) == 1, h.order()


@clause
def test_lifecycle_prestart_hooks_invoked(ct):
    _invoked(ct, "prestart")


@clause
def test_lifecycle_createruntime_hooks_invoked(ct):
    _invoked(ct, "createRuntime")


@clause
def test_lifecycle_createcontainer_hooks_invoked(ct):
    _invoked(ct, "createContainer")


@clause
def test_lifecycle_startcontainer_hooks_invoked(ct):
    _invoked(ct, "startContainer")


@clause
def test_lifecycle_poststart_hooks_invoked(ct):
    _invoked(ct, "poststart")


@clause
def test_lifecycle_poststop_hooks_invoked(ct):
    _invoked(ct, "poststop")


def _create_hook_fails(ct, kind):
    """create errors, nothing of the container is left, the program never ran, and
    the poststop hooks ran (step 12, then 13)."""
    h = Hooked(ct, kinds=(kind, "poststop"), fail=(kind,))
    r = ct.create(h.b, check=False)
    refused(ct, r, kind, cid=h.b.id, bundle=h.b)
    assert "program" not in h.order()
    assert h.order() == [kind, "poststop"], h.order()


@clause
def test_lifecycle_prestart_hook_failure(ct):
    _create_hook_fails(ct, "prestart")


@clause
def test_lifecycle_createruntime_hook_failure(ct):
    _create_hook_fails(ct, "createRuntime")


@clause
def test_lifecycle_createcontainer_hook_failure(ct):
    _create_hook_fails(ct, "createContainer")


@clause
def test_lifecycle_startcontainer_hook_failure(ct):
    h = Hooked(ct, kinds=("startContainer",), fail=("startContainer",)).create()
    r = ct.start(h.b.id, check=False)
    refused(ct, r, "startContainer")
    assert ct.status(h.b.id) in ("stopped", None)
    assert "program" not in h.order()


def _warns(ct, kind):
    """A failing hook of `kind` is a warning; the next hook of that kind still runs
    and the operation succeeds."""
    def second(c):
        c["hooks"][kind].append(dict(c["hooks"][kind][0], args=["hook.sh", kind + "2"],
                                     env=[e for e in c["hooks"][kind][0]["env"]
                                          if e != "FAIL=1"]))
    h = Hooked(ct, kinds=(kind,), fail=(kind,), extra=second).create()
    r = ct.start(h.b.id, check=False)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "program" in h.order(), what="the program")
    if kind == "poststart":
        assert "warning" in r.stderr and ct.status(h.b.id) == "running"
    ct.capsa("kill", h.b.id, "KILL", check=True)
    ct.wait_status(h.b.id, "stopped")
    r = ct.capsa("delete", h.b.id)
    assert r.returncode == 0, r.stderr
    if kind == "poststop":
        assert "warning" in r.stderr
        ct.assert_nothing_created(h.b.id, h.b)
    assert h.order().count(kind) == 1 and h.order().count(kind + "2") == 1, h.order()


@clause
def test_lifecycle_poststart_hook_failure_warns(ct):
    _warns(ct, "poststart")


@clause
def test_lifecycle_poststop_hook_failure_warns(ct):
    _warns(ct, "poststop")


# ---- config.md hooks ----------------------------------------------------------------

@clause
def test_config_hooks_path_absolute(ct):
    b = ct.bundle(tweak=lambda c: c.update(hooks={"poststart": [{"path": "bin/true"}]}))
    refused(ct, ct.create(b, check=False), "hooks.poststart[0].path", cid=b.id)


@clause
def test_config_hooks_timeout_positive(ct):
    for t in (0, -1):
        b = ct.bundle(tweak=lambda c: c.update(
            hooks={"poststart": [{"path": "/bin/true", "timeout": t}]}))
        refused(ct, ct.create(b, check=False), "timeout", cid=b.id)


@clause
def test_config_hooks_called_in_listed_order(ct):
    def more(c):
        for k in KINDS:
            first = c["hooks"][k][0]
            c["hooks"][k] = [dict(first, args=["hook.sh", f"{k}{i}"]) for i in (1, 2, 3)]
    h = Hooked(ct, extra=more).create().start()
    assert h.stop_and_delete().returncode == 0
    order = h.order()
    for k in KINDS:
        mine = [o for o in order if o.startswith(k) and o != k]
        assert mine == [f"{k}1", f"{k}2", f"{k}3"], order


@clause
def test_config_hooks_state_on_stdin(ct):
    h = _through(ct)
    want = {"prestart": "created", "createRuntime": "creating",
            "createContainer": "creating", "startContainer": "created",
            "poststart": "running", "poststop": "stopped"}
    for k in KINDS:
        st = h.state(k)
        assert st["id"] == h.b.id and st["bundle"] == os.path.realpath(h.b.path), st
        assert st["ociVersion"].startswith("1."), st
        # the spec fixes no status per hook; each must be one of the state values
        assert st["status"] in ("creating", "created", "running", "stopped"), (k, st)
        assert k == "poststop" or st["pid"] > 0, (k, st)
    assert set(want) == set(KINDS)


def _before_pivot_root(ct, kind):
    """Called during create (the program has not run), after the container's mounts
    exist (the bind mount of `out` is seen at <rootfs>/out), before pivot_root (the
    hook's host-only path still resolved; in the runtime namespace, the container
    process's root is still the host's /)."""
    def env(c):
        c["hooks"][kind][0]["env"].append("ROOTFS=" + os.path.join(
            os.path.dirname(c["mounts"][-1]["source"]), f"bundle-{ct.ids[-1]}", "rootfs"))
    h = Hooked(ct, kinds=(kind,), extra=env)
    open(h.path("hook.sh.mark"), "w").close()
    h.create()
    assert h.order() == [kind]
    assert h.read(kind, "mounted") == "yes"
    if kind != "createContainer":
        assert h.read(kind, "root") == "/", h.read(kind, "root")
    h.start()


@clause
def test_config_hooks_prestart_during_create_before_pivot_root(ct):
    _before_pivot_root(ct, "prestart")


@clause
def test_config_hooks_createruntime_during_create_before_pivot_root(ct):
    _before_pivot_root(ct, "createRuntime")


@clause
def test_config_hooks_createcontainer_during_create_before_pivot_root(ct):
    _before_pivot_root(ct, "createContainer")


@clause
def test_config_hooks_prestart_before_createruntime(ct):
    h = Hooked(ct, kinds=("createRuntime", "prestart")).create()
    assert h.order() == ["prestart", "createRuntime"]


@clause
def test_config_hooks_createcontainer_after_createruntime(ct):
    h = Hooked(ct, kinds=("createContainer", "createRuntime")).create()
    assert h.order() == ["createRuntime", "createContainer"]


def _path_in_runtime_ns(ct, kind):
    """The hook script exists only on the host (not in the rootfs): it ran."""
    h = Hooked(ct, kinds=(kind,))
    assert not os.path.exists(os.path.join(h.b.rootfs, os.path.relpath(
        os.path.join(ct.tmp, "hook.sh"), "/")))
    h.create().start()
    assert h.stop_and_delete().returncode == 0
    assert kind in h.order()


def _run_in_runtime_ns(ct, kind):
    h = _through(ct, kinds=(kind,))
    assert h.read(kind, "mnt") == _host_mnt()


def _run_in_container_ns(ct, kind):
    h = Hooked(ct, kinds=(kind,)).create().start()
    container = ns_of(init_pid(ct, h.b.id), "mnt")
    assert h.read(kind, "mnt") == container != _host_mnt()


@clause
def test_config_hooks_prestart_path_in_runtime_ns(ct):
    _path_in_runtime_ns(ct, "prestart")


@clause
def test_config_hooks_prestart_run_in_runtime_ns(ct):
    _run_in_runtime_ns(ct, "prestart")


@clause
def test_config_hooks_createruntime_path_in_runtime_ns(ct):
    _path_in_runtime_ns(ct, "createRuntime")


@clause
def test_config_hooks_createruntime_run_in_runtime_ns(ct):
    _run_in_runtime_ns(ct, "createRuntime")


@clause
def test_config_hooks_createcontainer_path_in_runtime_ns(ct):
    _path_in_runtime_ns(ct, "createContainer")


@clause
def test_config_hooks_createcontainer_run_in_container_ns(ct):
    _run_in_container_ns(ct, "createContainer")


@clause
def test_config_hooks_startcontainer_before_user_process(ct):
    h = Hooked(ct, kinds=("startContainer",)).create()
    assert h.order() == []
    h.start()
    assert h.order() == ["startContainer", "program"]


@clause
def test_config_hooks_startcontainer_path_in_container_ns(ct):
    """/bin/hook.sh exists in the rootfs only (the host has no /bin/hook.sh)."""
    assert not os.path.exists("/bin/hook.sh")
    h = Hooked(ct, kinds=("startContainer",)).create().start()
    assert "startContainer" in h.order()


@clause
def test_config_hooks_startcontainer_run_in_container_ns(ct):
    _run_in_container_ns(ct, "startContainer")


@clause
def test_config_hooks_poststart_after_process_before_start_returns(ct):
    h = Hooked(ct, kinds=("poststart",)).create()
    ct.start(h.b.id)
    # already recorded when start returned, and the program was exec'd by then
    assert "poststart" in h.order()
    assert h.read("poststart", "cmdline").startswith("sh -c") or \
        h.read("poststart", "cmdline").startswith("sleep")


@clause
def test_config_hooks_poststart_path_in_runtime_ns(ct):
    _path_in_runtime_ns(ct, "poststart")


@clause
def test_config_hooks_poststart_run_in_runtime_ns(ct):
    _run_in_runtime_ns(ct, "poststart")


@clause
def test_config_hooks_poststop_after_delete_before_return(ct):
    cg = {}

    def env(c):
        c["hooks"]["poststop"][0]["env"].append(f"CG=/sys/fs/cgroup/pids/{ct.cgroups_path(ct.ids[-1])}")
    h = Hooked(ct, kinds=("poststop",), extra=env).create().start()
    cg["dir"] = f"/sys/fs/cgroup/pids/{ct.cgroups_path(h.b.id)}"
    r = h.stop_and_delete()
    assert r.returncode == 0
    # recorded before delete returned; the container's cgroup was already gone
    assert "poststop" in h.order()
    assert h.read("poststop", "cgroup") == "gone"


@clause
def test_config_hooks_poststop_path_in_runtime_ns(ct):
    _path_in_runtime_ns(ct, "poststop")


@clause
def test_config_hooks_poststop_run_in_runtime_ns(ct):
    _run_in_runtime_ns(ct, "poststop")


def test_poststart_poststop_hooks_from_create_not_later_edits(ct):
    """runtime.md lifecycle step 2 ("Any updates to config.json after this step MUST
    NOT affect the container") for the hooks run by start and delete: create keeps
    a copy. Control: the edited config would run no hooks at all."""
    h = Hooked(ct, kinds=("poststart", "poststop")).create()
    h.b.config["hooks"] = {}
    h.b.write()
    h.start()
    r = h.stop_and_delete()
    assert r.returncode == 0, r.stderr
    assert h.order().count("poststart") == 1 and h.order().count("poststop") == 1, h.order()
    # control: a container created from the edited config runs none
    h2 = Hooked(ct, kinds=("poststart", "poststop"), extra=lambda c: c.update(hooks={}))
    h2.create().start()
    assert h2.stop_and_delete().returncode == 0
    # (the same out dir: the first container's hooks are the only ones in it)
    assert h2.order().count("program") == 2, h2.order()
    assert h2.order().count("poststart") == 1 and h2.order().count("poststop") == 1, h2.order()
