"""State files under stress (issue 11): a full filesystem under --root, and a
missing, empty, truncated or corrupt state.json. Errors are one clear line, a
half-written state.json is never read back, and `delete --force ID` still removes
everything (the cgroup is found from <root>/<id>/cgroup.path)."""
import contextlib
import errno
import json
import os
import subprocess
import tempfile

import pytest

from capsatest import SESSION_PID, error_lines

pytestmark = pytest.mark.capsa_only("capsa's state directory layout and messages")


@contextlib.contextmanager
def tiny_tmpfs(size="256k"):
    """A small tmpfs on a new temp dir (outside the test's dirs, which
    assert_nothing_created checks for mounts), unmounted and removed afterwards."""
    path = tempfile.mkdtemp(prefix=f"capsa-tiny-{SESSION_PID}-")
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0711", "tmpfs",
                        path], check=True)
        try:
            yield path
        finally:
            subprocess.run(["umount", path], check=True)
    finally:
        os.rmdir(path)


def fill(path, leave_pages=0):
    """Fill the filesystem at path, then free leave_pages pages; the filler's name."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"x" * 4096) > 0:
            pass
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    if leave_pages:
        size = os.path.getsize(filler)
        os.truncate(filler, max(0, size - leave_pages * 4096))
    return filler


def assert_left_only(path, names):
    assert sorted(os.listdir(path)) == sorted(names), os.listdir(path)


@pytest.mark.parametrize("leave_pages", [0, 2], ids=["full", "room-for-part"])
def test_create_on_a_full_state_filesystem(ct, leave_pages):
    """No room (or room for part of a large state.json): one clear line, nothing
    left in the root, no cgroup, no process; with room again the same create works."""
    big = "x" * 40000   # state.json takes ~10 pages: only part of it fits

    def tweak(cfg):
        cfg["annotations"] = {"big": big}
    b = ct.bundle(args=("sleep", "1000"), tweak=tweak)
    with tiny_tmpfs() as root:
        filler = fill(root, leave_pages)
        r = ct.capsa("create", "--bundle", b.path, b.id, root=root)
        assert r.returncode != 0
        lines = error_lines(r.stderr)
        assert len(lines) == 1 and "No space left on device" in lines[0], r.stderr
        assert_left_only(root, ["filler"])
        assert ct.capsa("state", b.id, root=root).returncode != 0
        ct.assert_nothing_created(b.id, bundle=b)
        os.unlink(filler)   # control: the same create with room
        r = ct.capsa("create", "--bundle", b.path, b.id, root=root)
        assert r.returncode == 0, r.stderr
        st = json.loads(ct.capsa("state", b.id, root=root, check=True).stdout)
        assert st["annotations"]["big"] == big
        ct.capsa("delete", "--force", b.id, root=root, check=True)
        assert_left_only(root, [])
    ct.assert_nothing_created(b.id, bundle=b)


DAMAGE = {
    "missing": None,
    "empty": "",
    "truncated": lambda text: text[:len(text) // 2],
    "not-json": "garbage{",
    "not-an-object": "[]",
    "no-id": '{"pid": 1}',
    "bad-pid": lambda text: json.dumps({**json.loads(text), "pid": "x"}),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_state_json(ct, kind):
    b = ct.running()
    d = os.path.join(ct.root, b.id)
    path = os.path.join(d, "state.json")
    text = open(path).read()
    damage = DAMAGE[kind]
    if damage is None:
        os.unlink(path)
    else:
        with open(path, "w") as f:
            f.write(damage(text) if callable(damage) else damage)
    r = ct.capsa("state", b.id)
    assert r.returncode != 0 and r.stdout == ""
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and f"capsa: state {b.id}: " in lines[0], r.stderr
    assert "state.json" in lines[0] and "delete --force" in lines[0]
    # list still works and shows it, honestly
    r = ct.capsa("list", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [(c["id"], c["status"]) for c in json.loads(r.stdout)] == [(b.id, "unknown")]
    for verb in (("kill", b.id, "KILL"), ("delete", b.id), ("start", b.id)):
        r = ct.capsa(*verb)
        assert r.returncode != 0 and len(error_lines(r.stderr)) == 1, (verb, r.stderr)
    # the container still runs; delete --force kills it through its recorded cgroup
    r = ct.capsa("delete", "--force", b.id)
    assert r.returncode == 0, r.stderr
    ct.assert_nothing_created(b.id, bundle=b)


def test_stale_claim_of_a_killed_create_is_removed(ct):
    """<root>/.create-PID of a create killed before its rename (PID gone): list
    removes it; a live one's is kept."""
    os.makedirs(ct.root, exist_ok=True)
    with open("/proc/sys/kernel/pid_max") as f:
        dead = int(f.read()) + 1   # never a live pid
    stale = os.path.join(ct.root, f".create-{dead}")
    live = os.path.join(ct.root, f".create-{os.getpid()}")
    os.makedirs(stale)
    open(os.path.join(stale, "state.json"), "w").close()
    os.makedirs(live)
    try:
        r = ct.capsa("list", "-q")
        assert r.returncode == 0 and r.stdout == "", r.stderr
        assert not os.path.exists(stale)
        assert os.path.exists(live)
    finally:
        os.rmdir(live)
