"""An unprivileged user runs `capsa spec --rootless && capsa run` (issue 6)."""
import json
import os
import shutil
import subprocess

import pytest

from capsatest import CAPSA, copy_rootfs

NOBODY = 65534


def _as_nobody(args, cwd, env_extra=None):
    env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": os.path.join(cwd, "xdg")}
    env.update(env_extra or {})
    return subprocess.run(["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                           "--clear-groups", CAPSA, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def rootless_bundle(ct):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) not installed")
    d = ct.world_dir()
    copy_rootfs(ct.template, os.path.join(d, "rootfs"))
    os.makedirs(os.path.join(d, "xdg"), mode=0o700)
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), NOBODY, NOBODY)
    os.chown(d, NOBODY, NOBODY)
    yield d
    # whatever the run left in the user's state dir is removed by capsa itself;
    # the leftover checker of the ct fixture verifies mounts/processes.
    assert os.listdir(os.path.join(d, "xdg", "capsa")) == [] if os.path.exists(
        os.path.join(d, "xdg", "capsa")) else True


def _spec(d, *flags, cmd):
    r = _as_nobody(["spec", "--rootless", *flags, "--", *cmd], d)
    assert r.returncode == 0, r.stderr
    return json.load(open(os.path.join(d, "config.json")))


def test_rootless_run_maps_root_to_the_user(ct, rootless_bundle):
    d = rootless_bundle
    cfg = _spec(d, cmd=["sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/x 2>&1 | "
                        "head -c0; hostname"])
    assert {"containerID": 0, "hostID": NOBODY, "size": 1} in cfg["linux"]["uidMappings"]
    r = _as_nobody(["run", "r1"], d)
    assert r.returncode == 0, r.stderr
    out = r.stdout.split("\n")
    assert out[0] == "0"                               # root inside ...
    assert out[1].split() == ["0", str(NOBODY), "1"]   # ... is nobody outside
    # state lived in $XDG_RUNTIME_DIR/capsa and is gone after the foreground run
    assert os.listdir(os.path.join(d, "xdg", "capsa")) == []


def test_rootless_limits_not_applied_are_named(ct, rootless_bundle):
    """No delegated cgroup on this host: capsa runs anyway and says which limits
    it could not apply, instead of pretending."""
    d = rootless_bundle
    _spec(d, "--memory", "64m", "--pids", "50", cmd=["true"])
    r = _as_nobody(["run", "r2"], d)
    assert r.returncode == 0, r.stderr
    assert "limits NOT applied: memory, pids" in r.stderr, r.stderr


def test_rootless_files_belong_to_the_user(ct, rootless_bundle):
    """A file created by container root in a bind mount belongs to the mapped host uid."""
    d = rootless_bundle
    share = os.path.join(d, "share")
    os.makedirs(share)
    os.chown(share, NOBODY, NOBODY)
    _spec(d, "--rw", "--mount", f"{share}:/share", cmd=["touch", "/share/made-inside"])
    r = _as_nobody(["run", "r3"], d)
    assert r.returncode == 0, r.stderr
    st = os.stat(os.path.join(share, "made-inside"))
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)


def test_rootless_cannot_map_other_ids(ct, rootless_bundle):
    """Mapping ids the user does not own (no /etc/subuid range) is refused clearly."""
    d = rootless_bundle
    cfg = _spec(d, cmd=["true"])
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    path = os.path.join(d, "config.json")
    json.dump(cfg, open(path, "w"))
    r = _as_nobody(["run", "r4"], d)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines and "newuidmap" in lines[-1], r.stderr


@pytest.fixture
def subid_user(ct):
    """An unprivileged user with /etc/subuid and /etc/subgid ranges, made for the
    test and removed after it (useradd assigns the ranges from login.defs)."""
    if not shutil.which("useradd") or not shutil.which("newuidmap"):
        pytest.skip("useradd or newuidmap (uidmap) not installed")
    name = f"capsat{os.getpid() % 100000}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/false", name], check=True,
                   capture_output=True)
    try:
        import pwd
        pw = pwd.getpwnam(name)
        sub = [l.split(":") for l in open("/etc/subuid") if l.startswith(name + ":")]
        subg = [l.split(":") for l in open("/etc/subgid") if l.startswith(name + ":")]
        if not sub or not subg:
            pytest.skip("useradd assigned no subuid/subgid range")
        d = ct.world_dir()
        copy_rootfs(ct.template, os.path.join(d, "rootfs"))
        os.makedirs(os.path.join(d, "xdg"), mode=0o700)
        for root, dirs, files in os.walk(d):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
        os.chown(d, pw.pw_uid, pw.pw_gid)
        yield pw, int(sub[0][1]), int(subg[0][1]), d
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def _as(pw, args, cwd):
    env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": os.path.join(cwd, "xdg")}
    return subprocess.run(["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                           "--clear-groups", CAPSA, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=30)


def test_rootless_full_range_via_newuidmap(ct, subid_user):
    """root -> the user, 1..65536 -> the user's subuid range, written by newuidmap."""
    pw, subuid, subgid, d = subid_user
    r = _as(pw, ["spec", "--rootless", "--", "sh", "-c",
                 "cat /proc/self/uid_map; id -u; ls -ln /proc/self/status"], d)
    assert r.returncode == 0, r.stderr
    path = os.path.join(d, "config.json")
    cfg = json.load(open(path))
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": pw.pw_uid, "size": 1},
                                   {"containerID": 1, "hostID": subuid, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": pw.pw_gid, "size": 1},
                                   {"containerID": 1, "hostID": subgid, "size": 65536}]
    json.dump(cfg, open(path, "w"))
    r = _as(pw, ["run", "full"], d)
    assert r.returncode == 0, r.stderr
    lines = [l.split() for l in r.stdout.strip().split("\n")]
    assert lines[0] == ["0", str(pw.pw_uid), "1"]
    assert lines[1] == ["1", str(subuid), "65536"]
    assert lines[2] == ["0"]


def test_rootless_range_outside_subuid_fails_cleanly(ct, subid_user):
    pw, subuid, subgid, d = subid_user
    r = _as(pw, ["spec", "--rootless", "--", "true"], d)
    assert r.returncode == 0, r.stderr
    path = os.path.join(d, "config.json")
    cfg = json.load(open(path))
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": pw.pw_uid, "size": 1},
                                   {"containerID": 1, "hostID": subuid + 70000, "size": 10}]
    json.dump(cfg, open(path, "w"))
    r = _as(pw, ["run", "bad"], d)
    assert r.returncode == 1
    assert "newuidmap refused the mapping" in r.stderr and "/etc/subuid" in r.stderr, r.stderr
    assert os.listdir(os.path.join(d, "xdg", "capsa")) == []


def test_root_userns_host_sees_100000_and_root_cannot_read_host_file(ct):
    """A root-run container mapping root to 100000: the host sees uid 100000, and
    even CAP_SYS_ADMIN inside cannot read a 0600 host file bind-mounted in."""
    d = ct.world_dir()
    secret = os.path.join(d, "secret")
    open(secret, "w").write("host-only\n")
    os.chmod(secret, 0o600)

    def tweak(c, userns=True):
        c["mounts"].append({"destination": "/secret", "type": "bind", "source": secret,
                            "options": ["bind", "ro"]})
        caps = c["process"]["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k] = sorted(set(caps.get(k, [])) | {"CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"})
        if userns:
            c["linux"]["namespaces"].append({"type": "user"})
            c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    # the container's root must reach its rootfs: a world-traversable base
    b = ct.bundle(args=["sleep", "1000"], tweak=tweak, base=ct.world_dir())
    open(os.path.join(b.rootfs, "secret"), "w").close()   # the mount point, made by host root
    ct.create(b)
    ct.start(b.id)
    pid = ct.state(b.id)["pid"]
    uid = [l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("Uid:")][0]
    assert uid == "100000"
    ct.capsa("delete", "--force", b.id, check=True)
    b2 = ct.bundle(args=["cat", "/secret"], tweak=tweak, base=ct.world_dir())
    open(os.path.join(b2.rootfs, "secret"), "w").close()
    r = ct.run(bundle=b2)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    # control: the same container without the user namespace reads it
    r = ct.run(args=["cat", "/secret"], tweak=lambda c: tweak(c, userns=False))
    assert r.returncode == 0 and r.stdout == "host-only\n", r.stderr


def test_rootless_exec_into_rootless_container(ct, rootless_bundle):
    """An unprivileged `capsa exec` cannot swap itself onto a sealed copy in place, so it
    re-executes from one: that copy must be whole. It used to be made from the source's
    file position after a first copy, and every such exec died of SIGSEGV."""
    d = rootless_bundle
    _spec(d, cmd=["sleep", "1000"])
    cid = f"rx{os.getpid()}"
    # detached: the container keeps the command's stdio, so files, not pipes
    with open(os.path.join(d, "run.out"), "w+") as out:
        r = subprocess.run(["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY),
                            "--clear-groups", CAPSA, "run", "-d", cid], cwd=d,
                           env={"PATH": "/usr/bin:/bin",
                                "XDG_RUNTIME_DIR": os.path.join(d, "xdg")},
                           stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=30)
        out.seek(0)
        assert r.returncode == 0, out.read()
    try:
        r = _as_nobody(["exec", cid, "sh", "-c", "echo in-$(id -u)"], d)
        assert (r.returncode, r.stdout.strip()) == (0, "in-0"), (r.returncode, r.stderr)
        r = _as_nobody(["exec", "no-such-" + cid, "true"], d)
        assert r.returncode > 0 and "does not exist" in r.stderr, (r.returncode, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    finally:
        r = _as_nobody(["delete", "--force", cid], d)
    assert r.returncode == 0, r.stderr
