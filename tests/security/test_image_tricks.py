"""The root filesystem belongs to the attacker: symlinks planted in the image (or
swapped in during setup) must never send a mount, a device node or a bind of
/dev/null to the host.

capsa resolves every path in the root with openat2(RESOLVE_IN_ROOT |
RESOLVE_NO_MAGICLINKS) and mounts onto the resolved fd, so a symlink — absolute or
relative — is followed *inside* the root. These protections cannot be switched off
by configuration; each control instead shows that the trap is armed: the same path
resolved on the host (as mount *sources* are) does reach the host, and an attacker
could use what it reaches."""
import ctypes
import os
import threading

import pytest

from sectest import Result


def _host_dir(sec, name):
    d = os.path.join(sec.ct.tmp, name)
    os.makedirs(d)
    return d


def _bind_source_control(sec, image, through, host_dir, tweak=None):
    """Control: bind-mount rootfs/`through` (a path through the planted symlink,
    resolved on the host as every mount source is) at /mnt/x and write through it:
    the file lands in host_dir."""
    b = sec.bundle(["sh", "-c", "echo escaped > /mnt/x/proof"], image=image, tweak=tweak)
    b.config["mounts"].append({"destination": "/mnt/x", "type": "bind",
                               "source": os.path.join(b.rootfs, through),
                               "options": ["rbind", "rw"]})
    b.write()
    r = sec.ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(host_dir, "proof")), \
        "control: the symlinked path should lead to the host directory"


# --- CVE-2021-30465: mount targets through symlinks ----------------------------------

def _mounts_in(text):
    return [l.split(" - ")[0].split()[4] for l in text.splitlines() if " - " in l]


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_mount_target_symlink_stays_inside(sec, relative):
    """The image's /vol is a symlink to a host directory; the config mounts a tmpfs
    at /vol/sub/target. The mount lands inside the root; the host directory stays
    empty (no directory created there, nothing mounted on it)."""
    host = _host_dir(sec, "host-target")

    def image(rootfs):
        vol = os.path.join(rootfs, "vol")
        os.symlink(os.path.relpath(host, rootfs) if relative else host, vol)

    def tweak(cfg):
        cfg["mounts"].append({"destination": "/vol/sub/target", "type": "tmpfs",
                              "source": "tmpfs", "options": ["size=16k"]})
    b = sec.bundle(["cat", "/proc/self/mountinfo"], image=image, tweak=tweak)
    r = sec.ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert any(m.endswith("/sub/target") for m in _mounts_in(r.stdout)), \
        f"the tmpfs is not visible inside the container:\n{r.stdout}"
    assert os.listdir(host) == [], f"capsa created {os.listdir(host)} in the host directory"
    with open("/proc/self/mountinfo") as f:
        assert host not in f.read()
    # control
    _bind_source_control(sec, image, "vol", host)


def _renameat2_exchange():
    libc = ctypes.CDLL(None, use_errno=True)
    f = libc.renameat2
    f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    AT_FDCWD, RENAME_EXCHANGE = -100, 2

    def exchange(a, b):
        if f(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE) != 0:
            raise OSError(ctypes.get_errno(), "renameat2")
    return exchange


def test_mount_target_symlink_race(sec):
    """CVE-2021-30465 itself is a race: /vol flips between a directory and a symlink
    to the host while the runtime sets up mounts. A thread swaps them as fast as it
    can (renameat2 RENAME_EXCHANGE) during 30 container starts; the host directory
    must stay empty whatever the timing."""
    host = _host_dir(sec, "host-race")
    exchange = _renameat2_exchange()

    def image(rootfs):
        os.makedirs(os.path.join(rootfs, "vol"))
        os.symlink(host, os.path.join(rootfs, "vol.alt"))

    def tweak(cfg):
        cfg["mounts"].append({"destination": "/vol/sub/target", "type": "tmpfs",
                              "source": "tmpfs", "options": ["size=16k"]})
    b = sec.bundle(["true"], image=image, tweak=tweak)
    vol, alt = os.path.join(b.rootfs, "vol"), os.path.join(b.rootfs, "vol.alt")
    stop = threading.Event()
    swaps = [0]

    def racer():
        while not stop.is_set():
            exchange(vol, alt)
            swaps[0] += 1
    t = threading.Thread(target=racer, daemon=True)
    t.start()
    rcs = []
    try:
        for _ in range(30):
            cid = sec.ct.new_id()
            b.config["linux"]["cgroupsPath"] = sec.ct.cgroups_path(cid)
            b.write()
            r = sec.ct.capsa("run", "--bundle", b.path, cid)
            rcs.append(r.returncode)
            assert os.listdir(host) == [], f"a start reached the host: {os.listdir(host)}"
    finally:
        stop.set()
        t.join()
    assert swaps[0] > 100, "the racer did not run"
    assert 0 in rcs, "no start succeeded at all"


# --- CVE-2026-41579: /dev is a symlink to the host -------------------------------------

@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_dev_symlink_to_host(sec, relative):
    """The image's /dev points at a host directory. /dev setup (tmpfs, device nodes,
    /dev/pts, /dev/shm, symlinks) happens inside the root; the host directory gets
    nothing, and the container has a working /dev/null."""
    host = _host_dir(sec, "host-dev")

    def image(rootfs):
        dev = os.path.join(rootfs, "dev")
        os.rmdir(dev)
        os.symlink(os.path.relpath(host, rootfs) if relative else host, dev)
    r = sec.run(["/bin/attack", "stat", "/dev/null"], image=image).assert_ok()
    assert r.detail.startswith("chr 1:3"), r
    assert os.listdir(host) == [], f"/dev setup wrote into the host: {os.listdir(host)}"
    _bind_source_control(sec, image, "dev", host)


# --- CVE-2025-31133: /dev/null is a symlink to a procfs file ------------------------------

CORE = "/proc/sys/kernel/core_pattern"


def _no_dev_tmpfs(cfg):
    cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/dev"]


def _null_to_core_pattern(rootfs):
    os.symlink(CORE, os.path.join(rootfs, "dev", "null"))


def test_dev_null_symlink_not_used_for_masking(sec):
    """Without a /dev tmpfs the image's /dev is used as is, and its /dev/null points
    at core_pattern. maskedPaths are masked with the host's /dev/null, opened
    O_PATH|O_NOFOLLOW and checked to be 1:3 — never the image's. A masked file is
    then the null device, not a writable core_pattern."""
    with open(CORE, "rb") as f:
        before = f.read()
    r = sec.run(["/bin/attack", "stat", "/proc/keys"], tweak=_no_dev_tmpfs,
                image=_null_to_core_pattern).assert_ok()
    assert r.detail.startswith("chr 1:3"), f"/proc/keys is not masked by the null device: {r!r}"

    # control: mask /proc/keys with the image's /dev/null (what runc did): the
    # container can then write the host's core_pattern through it.
    b = sec.bundle(["/bin/attack", "write_same", "/proc/keys"], tweak=_no_dev_tmpfs,
                   image=_null_to_core_pattern)
    b.config["linux"]["maskedPaths"].remove("/proc/keys")
    b.config["mounts"].append({"destination": "/proc/keys", "type": "bind",
                               "source": os.path.join(b.rootfs, "dev", "null"),
                               "options": ["bind"]})
    b.write()
    sec.run_bundle(b).assert_ok()
    with open(CORE, "rb") as f:
        assert f.read() == before


# --- CVE-2025-52565: /dev/console ---------------------------------------------------------

class Console:
    """--console-socket receiver: accept, take the pty master, read all output."""

    def __init__(self, path):
        import socket
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(path)
        self.s.listen(1)
        self.s.settimeout(10)
        self.path = path

    def master(self):
        import socket
        conn, _ = self.s.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        return fds[0]

    @staticmethod
    def read_all(fd, timeout=10):
        import select
        import time
        out, deadline = b"", time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 0.2)[0]:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        return out.decode(errors="replace")


CONSOLE_SCRIPT = ("/bin/attack stat /dev/console; /bin/attack stat /proc/self/fd/0; "
                  f"/bin/attack stat {CORE}")


def _console_run(sec, tweak=None, image=None):
    def term(cfg):
        cfg["process"]["terminal"] = True
        if tweak:
            tweak(cfg)
    b = sec.bundle(["sh", "-c", CONSOLE_SCRIPT], tweak=term, image=image)
    c = Console(os.path.join(b.path, "console.sock"))
    r = sec.ct.create(b, "--console-socket", c.path, check=False)
    if r.returncode != 0:
        return r
    fd = c.master()
    try:
        sec.ct.start(b.id)
        out = Console.read_all(fd)
    finally:
        os.close(fd)
    sec.ct.wait_status(b.id, "stopped")
    return [Result(0, line, "", "console") for line in out.splitlines() if "RESULT" in line]


def _plant_console(rootfs):
    os.symlink(CORE, os.path.join(rootfs, "dev", "console"))
    os.symlink("pts/ptmx", os.path.join(rootfs, "dev", "ptmx"))


def _rw_root(cfg):
    _no_dev_tmpfs(cfg)
    cfg["root"]["readonly"] = False


@pytest.mark.parametrize("variant", ["default", "planted-rw-root", "planted-ro-root"])
def test_dev_console_is_the_verified_pty(sec, variant):
    """process.terminal: /dev/console is the container's pty (bound from the fd
    after checking it is a devpts terminal), the same device as stdin. With the
    image's /dev used as is and /dev/console a symlink to core_pattern, the symlink
    is replaced, never followed — or, on a read-only root where it cannot be
    replaced, the container is refused. core_pattern stays a procfs file."""
    kw = {"default": {},
          "planted-rw-root": dict(tweak=_rw_root, image=_plant_console),
          "planted-ro-root": dict(tweak=_no_dev_tmpfs, image=_plant_console)}[variant]
    with open(CORE, "rb") as f:
        before = f.read()
    res = _console_run(sec, **kw)
    if variant == "planted-ro-root":
        assert res.returncode != 0 and "/dev/console" in res.stderr, res
        return
    console, stdin, core = res
    console.assert_ok()
    stdin.assert_ok()
    assert console.detail.split()[:2] == stdin.detail.split()[:2], (console, stdin)
    assert console.detail.startswith("chr 136:"), console
    assert core.assert_ok().detail.startswith("reg"), core
    with open(CORE, "rb") as f:
        assert f.read() == before
