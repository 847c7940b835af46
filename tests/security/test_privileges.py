"""Privileges inside the container: device nodes, setuid binaries, the session
keyring, the capabilities of `capsa exec`, and the root a chroot can reach."""
import os
import stat
import tempfile

import pytest

from sectest import run_raw


def _host_block_device():
    """The host's root disk, or (where the host itself may not open it, as in some
    VMs) the first block device the host can open: (major, minor)."""
    st = os.stat("/")
    cands = [(os.major(st.st_dev), os.minor(st.st_dev))]
    for name in sorted(os.listdir("/sys/block")):
        with open(f"/sys/block/{name}/dev") as f:
            cands.append(tuple(int(x) for x in f.read().split(":")))
    with tempfile.TemporaryDirectory() as d:
        for maj, mnr in cands:
            node = os.path.join(d, f"{maj}-{mnr}")
            os.mknod(node, 0o600 | stat.S_IFBLK, os.makedev(maj, mnr))
            try:
                os.close(os.open(node, os.O_RDONLY))
                return maj, mnr
            except OSError:
                continue
    pytest.skip("no block device the host itself can open")


def test_mknod_raw_block_device(sec):
    """CAP_MKNOD is in the default set and, as with runc, the devices cgroup allows
    "m" (mknod) for any device: what keeps the host's disks out of reach is that it
    allows read/write only for the standard character devices ("deny all")."""
    maj, mnr = _host_block_device()
    sec.attack("mknod_blk", maj, mnr).assert_blocked("EPERM", step="open")
    sec.attack("mknod_blk", maj, mnr, off=["devices"]).assert_ok()


def _setuid_helper(rootfs):
    p = os.path.join(rootfs, "bin", "attack-suid")
    with open(os.path.join(rootfs, "bin", "attack"), "rb") as src, open(p, "wb") as dst:
        dst.write(src.read())
    os.chown(p, 0, 0)
    os.chmod(p, 0o4755)


def _as_user(cfg):
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}


def test_setuid_binary_with_no_new_privs(sec):
    """A setuid-root program in the image: with no_new_privs the kernel ignores the
    setuid bit, so a non-root container user cannot become root through it."""
    args = ["/bin/attack-suid", "whoami"]
    r = sec.run(args, tweak=_as_user, image=_setuid_helper).assert_ok()
    assert "euid=1000" in r.detail, r
    r = sec.run(args, off=["nnp"], tweak=_as_user, image=_setuid_helper).assert_ok()
    assert "euid=0" in r.detail, f"control: without no_new_privs setuid works: {r!r}"


def _host_keyring(attack_bin):
    r = run_raw(["keyring"], binary=attack_bin)
    return r.stdout.split()[2]


def test_session_keyring_is_new(sec, attack_bin):
    """Keys are not namespaced: a container sharing the caller's session keyring can
    read and use its keys. capsa gives init a new anonymous session keyring
    (seccomp is off here so that keyctl can look; it blocks keyctl by default)."""
    host = _host_keyring(attack_bin)
    r = sec.attack("keyring", off=["seccomp"]).assert_ok()
    assert r.detail.split()[0] != host, f"the container shares the host's keyring: {r!r}"
    assert "_ses" in r.detail
    r = sec.attack("keyring", off=["seccomp"], opts=["--no-new-keyring"]).assert_ok()
    assert r.detail.split()[0] == host, f"control: --no-new-keyring shares it: {r!r}"


def _cap_line(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1], 16)
    raise AssertionError(f"{field} missing in {text!r}")


def test_exec_sets_no_inheritable_caps(sec):
    """CVE-2022-27650 (crun): exec gave the process inheritable capabilities, which
    survive an execve of a file with inheritable file caps. capsa exec leaves the
    inheritable and ambient sets empty unless the config asks for them."""
    def run_exec(tweak=None):
        b = sec.bundle(["sleep", "1000"], tweak=tweak)
        sec.ct.create(b)
        sec.ct.start(b.id)
        r = sec.ct.capsa("exec", "--cap", "CAP_NET_ADMIN", b.id, "cat", "/proc/self/status",
                         check=True)
        sec.ct.capsa("delete", "--force", b.id, check=True)
        return r.stdout

    out = run_exec()
    assert _cap_line(out, "CapInh") == 0 and _cap_line(out, "CapAmb") == 0, out

    def inheritable(cfg):
        cfg["process"]["capabilities"]["inheritable"] = ["CAP_CHOWN"]
    assert _cap_line(run_exec(inheritable), "CapInh") == 1, \
        "control: inheritable caps the config asks for must show"


def test_chroot_escape(sec):
    """chroot into a subdirectory, keep the working directory outside, climb with
    "..", chroot("."): the classic break-out. It leaves the attacker's own chroot
    but stops at the container's root, a mount whose parent pivot_root detached
    (even --no-pivot keeps a mount root there: ".." from it lands back on it).
    The control aims the same climb at the container's root itself, which it
    reaches: the technique works on this kernel, so a runtime whose root were a
    plain directory of the host would fail this test."""
    host = os.stat("/")
    sec.attack("chroot_escape", host.st_dev, host.st_ino).assert_blocked(step="still-inside")
    r = sec.attack("chroot_escape", host.st_dev, host.st_ino, opts=["--no-pivot"])
    r.assert_blocked(step="still-inside")
    b = sec.bundle(["true"])
    root = os.stat(b.rootfs)
    r = sec.run_bundle(b, ["/bin/attack", "chroot_escape", root.st_dev, root.st_ino])
    assert r.ok, f"control: the climb should reach the container's root: {r!r}"


def _lsm_enabled(name):
    try:
        with open("/sys/kernel/security/lsm") as f:
            return name in f.read().split(",")
    except OSError:
        return os.path.exists(f"/sys/module/{name}")


@pytest.mark.parametrize("field,value,lsm", [
    ("apparmorProfile", "docker-default", "apparmor"),
    ("selinuxLabel", "system_u:system_r:container_t:s0", "selinux"),
])
def test_lsm_confinement_never_silently_dropped(sec, field, value, lsm):
    """A config asking for AppArmor/SELinux confinement that capsa cannot apply must
    not run unconfined: refused before anything is created, saying why."""
    if _lsm_enabled(lsm):
        pytest.skip(f"{lsm} is enabled here: the wording differs")
    r = sec.run(["true"], tweak=lambda c: c["process"].update({field: value}))
    assert r.rc != 0 and field in r.stderr, r
    assert "not enabled on this host" in r.stderr, f"say that the LSM is not enabled: {r!r}"
    # control: the same config without the field runs
    assert sec.run(["true"]).rc == 0
