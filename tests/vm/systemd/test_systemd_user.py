"""Rootless --systemd-cgroup (systemdUser): the user's own systemd, over the user bus,
makes the container's scope, in the systemd guest (tests/vm/systemd/run.py).

The guest masks logind: a throw-away user (uid 1500, made in the overlay's /etc with
/etc/subuid and /etc/subgid ranges) gets a user manager by `systemctl start
user@1500.service` (which pulls user-runtime-dir@1500: /run/user/1500), the closest
thing to a logind session; dbus-user-session's dbus.socket gives it /run/user/1500/bus.
A drop-in delegates pids, memory, cpu and io to user@.service (Debian's user@.service
delegates pids memory cpu). Every command of the container side runs as that user with
XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS set, as in a login session.

capsa directly, rootless (a `capsa spec --rootless` config: a user namespace), and rootless
podman 4.3 with --cgroup-manager systemd driving capsa; runc 1.1.5 side by side (the
anchor, skipped when absent). On the legacy layout (run.py --layout legacy) there is no
rootless systemd driver (runc refuses it: "cannot use rootless systemd cgroups manager on
cgroup v1"): capsa refuses it with one line too, and rootless podman runs its containers
without limits there, with capsa as with runc. Every test checks for leftovers: units,
cgroups, processes, state.
"""
import itertools
import json
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

import test_systemd as T   # the guest suite's shared helpers
import test_systemd_props as P   # its IO helpers

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CAPSA = os.environ.get("CAPSA", os.path.join(CHECKOUT, "build", "capsa"))
RUNC = shutil.which("runc")
PODMAN = shutil.which("podman")
MIB = 1 << 20
CG = "/sys/fs/cgroup"
UID = 1500
USER = "capsasd"
RUN = f"/run/user/{UID}"
MGR = f"/user.slice/user-{UID}.slice/user@{UID}.service"   # the user manager's cgroup
V2 = os.path.exists(f"{CG}/cgroup.controllers")
_ids = itertools.count(1)

pytestmark = T.pytestmark   # the systemd guest only
RUNTIMES = T.RUNTIMES
rootfs = T.rootfs           # the busybox template (a module fixture)


def _read(path):
    with open(path) as f:
        return f.read().strip()


def user_env():
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": HOME, "USER": USER, "LOGNAME": USER, "XDG_RUNTIME_DIR": RUN,
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={RUN}/bus"}


def as_user(argv, check=True, timeout=120, cwd=None):
    """argv as the throw-away user, in its session's environment. Output through files: a
    created container inherits them and would hold a pipe open."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.run(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                           timeout=timeout, env=user_env(), user=UID, group=UID,
                           extra_groups=[], cwd=cwd or HOME)
        out.seek(0)
        err.seek(0)
        r = subprocess.CompletedProcess(argv, p.returncode, out.read(), err.read())
    assert not check or r.returncode == 0, f"{argv} exited {r.returncode}: {r.stderr}"
    return r


def user_show(unit, *props):
    r = as_user(["systemctl", "--user", "show", unit, *[f"--property={p}" for p in props]])
    return dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)


def user_unit_state(unit):
    s = user_show(unit, "LoadState", "ActiveState")
    return s.get("LoadState"), s.get("ActiveState")


def user_pids():
    """Processes of the user other than its systemd --user and its dbus-daemon."""
    out = subprocess.run(["ps", "-u", str(UID), "-o", "pid=,args="], capture_output=True,
                         text=True).stdout
    return [l.strip() for l in out.splitlines()
            if l.strip() and "systemd --user" not in l and "dbus-daemon" not in l
            and "(sd-pam)" not in l]


HOME = f"/tmp/capsa-sduser-home-{UID}"


def _ensure_user():
    try:
        pwd.getpwuid(UID)
        return
    except KeyError:
        pass
    # the guest's /etc is the overlay's (a tmpfs): gone with the guest
    with open("/etc/passwd", "a") as f:
        f.write(f"{USER}:x:{UID}:{UID}:capsa systemdUser test:{HOME}:/bin/sh\n")
    with open("/etc/group", "a") as f:
        f.write(f"{USER}:x:{UID}:\n")
    with open("/etc/shadow", "a") as f:
        f.write(f"{USER}:!:19000::::::\n")
    for m in ("/etc/subuid", "/etc/subgid"):
        with open(m, "a") as f:
            f.write(f"{USER}:300000:65536\n")


DROPIN = "/etc/systemd/system/user@.service.d/capsa-test.conf"


@pytest.fixture(scope="module")
def session():
    """The user's systemd (user@1500.service) and its bus; stopped after, nothing left."""
    if not shutil.which("newuidmap"):
        pytest.skip("no newuidmap (apt-get install uidmap): no rootless user namespace")
    if not os.path.exists("/usr/lib/systemd/user/dbus.socket"):
        pytest.skip("no dbus-user-session (its user dbus.socket): no user bus")
    _ensure_user()
    os.makedirs(HOME, exist_ok=True)
    os.chown(HOME, UID, UID)
    os.makedirs(os.path.dirname(DROPIN), exist_ok=True)
    # The guest has no logind and no pam_systemd: the user manager's session environment
    # comes from the unit (as pam_systemd would set it), and io is delegated beside
    # Debian's pids memory cpu.
    with open(DROPIN, "w") as f:
        f.write("[Service]\nPAMName=\nDelegate=pids memory cpu io\n"
                "Environment=XDG_RUNTIME_DIR=/run/user/%i "
                "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/%i/bus\n")
    subprocess.run(["systemctl", "daemon-reload"], check=True)
    subprocess.run(["systemctl", "start", f"user@{UID}.service"], check=True)
    try:
        # the user bus is socket-activated: a first call starts dbus-daemon
        mgr = as_user(["systemctl", "--user", "show", "--property=ControlGroup"]).stdout
        assert mgr.strip() == f"ControlGroup={MGR}", mgr
        yield
    finally:
        subprocess.run(["systemctl", "stop", f"user@{UID}.service"], check=False)
        subprocess.run(["systemctl", "stop", f"user-{UID}.slice"], check=False)
        os.unlink(DROPIN)
        subprocess.run(["systemctl", "daemon-reload"], check=False)
    assert not user_pids(), f"the user's processes outlived its manager: {user_pids()}"
    assert not os.path.exists(CG + MGR)


@pytest.fixture
def ctr(session, rootfs):
    """(bundle, root, id) of a rootless container of the user; deleted after."""
    work = tempfile.mkdtemp(prefix="ctr-", dir=HOME)
    os.chown(work, UID, UID)
    b = os.path.join(work, "bundle")
    os.mkdir(b)
    os.chown(b, UID, UID)
    subprocess.run(["cp", "-a", str(rootfs), os.path.join(b, "rootfs")], check=True)
    as_user([CAPSA, "spec", "--rootless", "--bundle", b])
    root = os.path.join(work, "state")
    cid = f"sdu{os.getpid()}x{next(_ids)}"
    made = []

    def configure(args, cgroups_path, resources=None):
        with open(os.path.join(b, "config.json")) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        cfg["linux"]["cgroupsPath"] = cgroups_path
        cfg["linux"]["resources"] = resources or {}
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        return b

    yield configure, root, cid, made
    for binary in made:
        rt(binary, root, "delete", "--force", cid, check=False)
    shutil.rmtree(work, ignore_errors=True)


def rt(binary, root, *args, check=True):
    return as_user([binary, "--root", root, "--systemd-cgroup", *args], check=check)


LIMITS = {"memory": {"limit": 64 * MIB}, "pids": {"limit": 50}}


@pytest.mark.skipif(not V2, reason="cgroup v2 only: no rootless systemd driver on v1 "
                    "(test_v1_refused_as_runc)")
@pytest.mark.parametrize("binary", RUNTIMES)
def test_rootless_scope_in_user_manager(ctr, binary):
    """A rootless create: the scope is the user manager's, below its cgroup, with the
    limits as unit properties and in the files; update, pause; delete leaves nothing."""
    configure, root, cid, made = ctr
    made.append(binary)
    unit = f"capsa-{cid}.scope"
    cg = f"{MGR}/user.slice/{unit}"
    bundle = configure(["sleep", "1000"], f"user.slice:capsa:{cid}", LIMITS)
    rt(binary, root, "create", "--bundle", bundle, cid)
    pid = json.loads(rt(binary, root, "state", cid).stdout)["pid"]
    assert _read(f"/proc/{pid}/cgroup") == "0::" + cg
    props = user_show(unit, "ActiveState", "Slice", "Delegate", "MemoryMax", "TasksMax",
                      "ControlGroup")
    assert props == {"ActiveState": "active", "Slice": "user.slice", "Delegate": "yes",
                     "MemoryMax": str(64 * MIB), "TasksMax": "50", "ControlGroup": cg}, props
    # not the system manager's: it has no such unit
    sys_state = subprocess.run(["systemctl", "show", unit, "--property=LoadState"],
                               capture_output=True, text=True).stdout.strip()
    assert sys_state == "LoadState=not-found", sys_state
    assert (_read(f"{CG}{cg}/memory.max"), _read(f"{CG}{cg}/pids.max")) == \
        (str(64 * MIB), "50")

    rt(binary, root, "update", "--memory", str(128 * MIB), "--pids-limit", "70", cid)
    props = user_show(unit, "MemoryMax", "TasksMax")
    assert props == {"MemoryMax": str(128 * MIB), "TasksMax": "70"}, props
    assert (_read(f"{CG}{cg}/memory.max"), _read(f"{CG}{cg}/pids.max")) == \
        (str(128 * MIB), "70")

    rt(binary, root, "start", cid)
    # A rootless exec (it re-executes from a sealed copy; capsa's used to die of
    # SIGSEGV). Its caller here is the test, in system.slice/capsa-vm.service: the user
    # may not move a process from there into the scope (cgroup v2 wants write access to
    # the common ancestor, the root cgroup). runc leaves the process in the caller's
    # cgroup without a word; capsa does the same.
    r = rt(binary, root, "exec", cid, "cat", "/proc/self/cgroup")
    assert r.stdout.strip().endswith("/system.slice/capsa-vm.service"), r.stdout
    rt(binary, root, "pause", cid)
    assert _read(f"{CG}{cg}/cgroup.freeze") == "1"
    rt(binary, root, "resume", cid)
    assert _read(f"{CG}{cg}/cgroup.freeze") == "0"
    if binary == CAPSA:   # stats and audit read the recorded (full) path
        (s,) = json.loads(rt(CAPSA, root, "stats", "--format", "json", "--interval", "0",
                             cid).stdout)
        assert s["cgroup"] == cg and s["memory"]["limit"] == 128 * MIB, s
        assert s["pids"]["limit"] == 70, s
        r = rt(CAPSA, root, "audit", "--format", "json", cid, check=False)
        (t,) = json.loads(r.stdout)["targets"]
        res = {f["check"]: f["result"] for f in t["findings"]}
        assert (res["cgroup.memory"], res["cgroup.pids"]) == ("PASS", "PASS"), t["findings"]

    rt(binary, root, "delete", "--force", cid)
    assert user_unit_state(unit) == ("not-found", "inactive")
    assert not os.path.exists(CG + cg), f"delete left {cg}"
    assert not os.path.exists(os.path.join(root, cid))
    assert not os.path.exists(f"/proc/{pid}")


@pytest.mark.skipif(not V2, reason="cgroup v2 only")
def test_rootless_default_path_and_bad_input(ctr):
    """No cgroupsPath: capsa-ID.scope in the user manager's user.slice (runc: user.slice
    too, rootless). A bad cgroupsPath: one line, nothing left."""
    configure, root, cid, made = ctr
    made.append(CAPSA)
    bundle = configure(["sleep", "1000"], "", {"pids": {"limit": 20}})
    rt(CAPSA, root, "run", "-d", "--bundle", bundle, cid)
    pid = json.loads(rt(CAPSA, root, "state", cid).stdout)["pid"]
    cg = f"{MGR}/user.slice/capsa-{cid}.scope"
    assert _read(f"/proc/{pid}/cgroup") == "0::" + cg
    assert user_show(f"capsa-{cid}.scope", "TasksMax") == {"TasksMax": "20"}
    rt(CAPSA, root, "delete", "--force", cid)
    assert not os.path.exists(CG + cg)

    bundle = configure(["sleep", "1000"], "not-a-slice:capsa:" + cid, LIMITS)
    r = rt(CAPSA, root, "create", "--bundle", bundle, cid, check=False)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "not-a-slice" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(root, cid))
    assert user_unit_state(f"capsa-{cid}.scope") == ("not-found", "inactive")
    assert not user_pids(), user_pids()


@pytest.mark.skipif(not V2, reason="cgroup v2 only")
@pytest.mark.parametrize("binary", RUNTIMES)
def test_rootless_undelegated_controller_as_runc(ctr, binary):
    """cpuset is not delegated to the user manager: a cpuset limit fails with one line,
    leaving nothing, as runc (which cannot write cpuset.cpus there either)."""
    configure, root, cid, made = ctr
    made.append(binary)
    assert "cpuset" not in _read(f"{CG}{MGR}/cgroup.controllers")
    bundle = configure(["sleep", "1000"], f"user.slice:capsa:{cid}",
                       {"cpu": {"cpus": "0"}, "pids": {"limit": 20}})
    r = rt(binary, root, "run", "-d", "--bundle", bundle, cid, check=False)
    assert r.returncode != 0, f"{binary} ran with an undelegated cpuset: {r.stdout}"
    if binary == CAPSA:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "cpuset" in r.stderr, r.stderr
    rt(binary, root, "delete", "--force", cid, check=False)
    assert user_unit_state(f"capsa-{cid}.scope") == ("not-found", "inactive")
    assert not os.path.exists(f"{CG}{MGR}/user.slice/capsa-{cid}.scope")
    assert not user_pids(), user_pids()


@pytest.mark.skipif(not V2, reason="cgroup v2 only: no rootless systemd driver on v1")
@pytest.mark.parametrize("stage", ["namespaces", "created"])
def test_rootless_killed_create_is_cleaned_by_delete_force(ctr, stage):
    """SIGKILL of a rootless `create` at a fault point (test_systemd.py's test, as the
    user): at "namespaces" the init dies with the runtime and the user manager drops the
    emptied scope; at "created" the init lives on in its scope until delete --force."""
    configure, root, cid, made = ctr
    made.append(CAPSA)
    unit = f"capsa-{cid}.scope"
    cg = f"{MGR}/user.slice/{unit}"
    bundle = configure(["sleep", "1000"], f"user.slice:capsa:{cid}", LIMITS)
    T.kill_at_fault([CAPSA, "--root", root, "--systemd-cgroup", "create", "--bundle", bundle,
                     cid], stage, user_env(), user=UID, group=UID, extra_groups=[], cwd=HOME)
    if stage == "created":
        assert user_unit_state(unit) == ("loaded", "active")
        assert os.path.exists(CG + cg)
    rt(CAPSA, root, "delete", "--force", cid)
    assert user_unit_state(unit) == ("not-found", "inactive")
    assert not os.path.exists(CG + cg), f"delete left {cg}"
    assert not os.path.exists(os.path.join(root, cid))
    assert not user_pids(), user_pids()


@pytest.mark.skipif(not V2, reason="cgroup v2 only: no rootless systemd driver on v1")
@pytest.mark.parametrize("binary", RUNTIMES)
def test_rootless_io_limits(ctr, binary):
    """blockIO through the user manager (io delegated by the drop-in): the files in the
    scope for both runtimes; capsa also sets them as the scope's IO*Max properties
    (runc 1.1.5 maps no blockIO to properties on v2)."""
    dev, _ = P._disk()
    if not dev:
        pytest.skip("no block device in this guest: io.max needs one")
    configure, root, cid, made = ctr
    made.append(binary)
    assert "io" in _read(f"{CG}{MGR}/cgroup.controllers").split()
    unit = f"capsa-{cid}.scope"
    cg = f"{MGR}/user.slice/{unit}"
    bundle = configure(["sleep", "1000"], f"user.slice:capsa:{cid}",
                       dict(P.io_resources(dev, weight=False), pids={"limit": 20}))
    rt(binary, root, "create", "--bundle", bundle, cid)
    assert P.io_files(cg, dev) == {"weight": "default 100", "rbps": str(MIB),
                                   "wbps": str(2 * MIB), "riops": "200", "wiops": "300"}
    node = "/dev/block/%d:%d" % dev
    props = user_show(unit, "IOReadBandwidthMax", "IOWriteIOPSMax")
    if binary == CAPSA:
        assert props == {"IOReadBandwidthMax": f"{node} {MIB}",
                         "IOWriteIOPSMax": f"{node} 300"}, props
    else:
        assert props == {}, props
    rt(binary, root, "delete", "--force", cid)
    assert user_unit_state(unit) == ("not-found", "inactive")
    assert not os.path.exists(CG + cg), f"delete left {cg}"
    assert not user_pids(), user_pids()


@pytest.mark.skipif(V2, reason="the legacy layout's refusal")
@pytest.mark.parametrize("binary", RUNTIMES)
def test_v1_refused_as_runc(ctr, binary):
    """On cgroup v1 a user's systemd is delegated no controllers: runc refuses a rootless
    --systemd-cgroup, capsa too, with one line; nothing is left."""
    configure, root, cid, made = ctr
    made.append(binary)
    bundle = configure(["sleep", "1000"], f"user.slice:capsa:{cid}", LIMITS)
    r = rt(binary, root, "run", "-d", "--bundle", bundle, cid, check=False)
    assert r.returncode != 0, r.stdout
    if binary == CAPSA:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "cgroup v1" in r.stderr, r.stderr
    rt(binary, root, "delete", "--force", cid, check=False)
    assert not os.path.exists(os.path.join(root, cid))
    assert user_unit_state(f"capsa-{cid}.scope") == ("not-found", "inactive")
    assert not user_pids(), user_pids()


def test_features_and_check(session):
    """features: systemdUser true (built in) and whether it can be used for this user;
    check's cgroup.systemd line says whether the user driver works."""
    f = json.loads(as_user([CAPSA, "features"]).stdout)
    assert f["linux"]["cgroup"]["systemdUser"] is True
    note = f["annotations"]["io.capsa.systemdUser"]
    r = as_user([CAPSA, "check", "--format", "json"], check=False)
    line = [c for c in json.loads(r.stdout)["findings"] if c["check"] == "cgroup.systemd"]
    assert len(line) == 1, r.stdout
    if V2:
        assert note.startswith("usable") and MGR in note, note
        assert line[0]["result"] == "PASS" and "systemdUser" in line[0]["summary"], line
    else:
        assert note.startswith("not usable here") and "cgroup v1" in note, note
        assert line[0]["result"] == "SKIP" and "cgroup v1" in line[0]["summary"], line


# ---- rootless podman ------------------------------------------------------------------

@pytest.fixture(scope="module")
def podman(session, rootfs):
    """Rootless podman of the user: vfs storage in its home, an image of the test rootfs."""
    if not PODMAN:
        pytest.skip("podman not installed: no engine test")
    store = tempfile.mkdtemp(prefix="podman-", dir=HOME)
    os.chown(store, UID, UID)
    base = [PODMAN, "--storage-driver", "vfs", "--root", f"{store}/store", "--runroot",
            f"{RUN}/capsa-podman", "--tmpdir", f"{RUN}/capsa-podman-tmp", "--events-backend",
            "file", "--cgroup-manager", "systemd"]
    tar = os.path.join(store, "rootfs.tar")
    subprocess.run(["tar", "-C", str(rootfs), "-cf", tar, "."], check=True)
    os.chmod(tar, 0o644)
    as_user(base + ["import", tar, "localhost/capsa-sdu:1"])
    yield base
    as_user(base + ["rm", "-a", "-f"], check=False)
    as_user(base + ["system", "reset", "-f"], check=False)
    shutil.rmtree(store, ignore_errors=True)


def pm(base, binary, *args, check=True):
    # cwd: conmon leaves an "oom" marker in its working directory
    return as_user(base + ["--runtime", binary, *args], check=check, cwd=HOME)


def podman_left(base, binary, name):
    r = pm(base, binary, "ps", "-a", "--format", "{{.Names}}")
    return name in r.stdout.split()


@pytest.mark.skipif(not V2, reason="cgroup v2 only (test_podman_rootless_v1 for legacy)")
@pytest.mark.parametrize("binary", RUNTIMES)
def test_podman_rootless_systemd(podman, binary):
    """Rootless podman, --cgroup-manager systemd: run --memory/--pids-limit lands in the user
    manager's libpod-ID.scope with the limits; exec, stop, rm leave nothing."""
    name = f"sdupm{os.getpid()}{next(_ids)}"
    cid = pm(podman, binary, "run", "-d", "--name", name, "--memory", "64m", "--pids-limit",
             "33", "--network", "none", "localhost/capsa-sdu:1", "sleep", "1000").stdout.strip()
    unit = f"libpod-{cid}.scope"
    cg = f"{MGR}/user.slice/{unit}"
    try:
        props = user_show(unit, "ActiveState", "Slice", "MemoryMax", "TasksMax",
                          "ControlGroup")
        assert props == {"ActiveState": "active", "Slice": "user.slice",
                         "MemoryMax": str(64 * MIB), "TasksMax": "33", "ControlGroup": cg}, props
        assert (_read(f"{CG}{cg}/memory.max"), _read(f"{CG}{cg}/pids.max")) == \
            (str(64 * MIB), "33")
        pid = int(pm(podman, binary, "inspect", "-f", "{{.State.Pid}}", name).stdout)
        assert _read(f"/proc/{pid}/cgroup") == "0::" + cg
        assert pm(podman, binary, "exec", name, "echo", "in-scope").stdout.strip() == "in-scope"
        pm(podman, binary, "stop", "-t", "0", name)
    finally:
        pm(podman, binary, "rm", "-f", name, check=False)
    assert user_unit_state(unit) == ("not-found", "inactive")
    assert not os.path.exists(CG + cg), f"rm left {cg}"
    assert not os.path.exists(f"/proc/{pid}")
    assert not podman_left(podman, binary, name)


@pytest.mark.skipif(V2, reason="the legacy layout")
@pytest.mark.parametrize("binary", RUNTIMES)
def test_podman_rootless_v1_systemd_refused(podman, binary):
    """Rootless podman 4.3 on cgroup v1 still passes --systemd-cgroup: runc refuses it
    ("cannot use rootless systemd cgroups manager on cgroup v1"), capsa too; nothing is
    left (no container, unit or process)."""
    name = f"sdupm{os.getpid()}{next(_ids)}"
    r = pm(podman, binary, "run", "-d", "--name", name, "--network", "none",
           "localhost/capsa-sdu:1", "sleep", "1000", check=False)
    assert r.returncode != 0, r.stdout
    assert "cgroup v1" in r.stderr, r.stderr
    pm(podman, binary, "rm", "-f", name, check=False)
    assert not podman_left(podman, binary, name)
    units = as_user(["systemctl", "--user", "list-units", "--all", "--plain", "--no-legend",
                     "libpod-*"]).stdout
    assert not units.strip(), units
    assert not [p for p in user_pids() if "sleep 1000" in p], user_pids()


@pytest.mark.skipif(V2, reason="the legacy layout")
@pytest.mark.parametrize("binary", RUNTIMES)
def test_podman_rootless_v1_cgroupfs(podman, binary):
    """Rootless podman on cgroup v1 with its cgroupfs manager: no cgroup for the container
    (v1 delegates nothing to a user), so no limits; it runs, exec works, rm leaves
    nothing; capsa as runc."""
    base = [a if a != "systemd" else "cgroupfs" for a in podman]
    name = f"sdupm{os.getpid()}{next(_ids)}"
    cid = pm(base, binary, "run", "-d", "--name", name, "--network", "none",
             "localhost/capsa-sdu:1", "sleep", "1000").stdout.strip()
    try:
        pid = int(pm(base, binary, "inspect", "-f", "{{.State.Pid}}", name).stdout)
        assert pid > 0
        assert pm(base, binary, "exec", name, "echo", "in-v1").stdout.strip() == "in-v1"
        pm(base, binary, "stop", "-t", "0", name)
    finally:
        pm(base, binary, "rm", "-f", name, check=False)
    assert not os.path.exists(f"/proc/{pid}")
    assert not podman_left(base, binary, name)
    for c in ("memory", "pids", "systemd"):
        assert not any(cid in d for _, ds, _ in os.walk(f"{CG}/{c}/user.slice") for d in ds)
