"""/dev set up the way runc does it, for configs that engines produce:

- a /dev tmpfs with the `ro` option (runc issue 3248): /dev is filled first (device
  nodes, the /dev/pts, /dev/shm, /dev/mqueue mount points) and made read-only after;
  the same for any other read-only tmpfs (its mode is still applied);
- a privileged pod (containerd lists every host device in linux.devices, /dev/ptmx
  c 5:2 among them): /dev/ptmx stays the link to the container's own devpts.

Each config also runs with runc when it is installed, and both must agree."""
import os
import shutil

import pytest

from capsatest import mount_at, parse_mountinfo

RUNC = shutil.which("runc")


def _ro_dev(c):
    for m in c["mounts"]:
        if m["destination"] == "/dev":
            m["options"] = m["options"] + ["ro"]


def _ro_tmp(c):
    c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                        "options": ["nosuid", "nodev", "mode=1777", "ro"]})


# Prints, one per line: the mountinfo, then markers for what can be done in /dev.
SCRIPT = ("cat /proc/self/mountinfo; echo ===; "
          "ls -l /dev/null /dev/zero /dev/tty /dev/full >/dev/null && echo DEVS_OK; "
          "echo x > /dev/null && echo NULL_WRITABLE; "
          "touch /dev/newfile 2>/dev/null && echo DEV_WRITABLE; "
          "touch /dev/shm/f && echo SHM_WRITABLE; "
          "stat -c 'TMPMODE %a' /tmp; "
          "touch /tmp/f 2>/dev/null && echo TMP_WRITABLE; true")


def _run(ct, tweak, binary=None):
    b = ct.bundle(args=["sh", "-c", SCRIPT], tweak=tweak)
    if binary:
        r = ct.capsa("run", "--bundle", b.path, b.id, binary=binary,
                     root=os.path.join(ct.tmp, "runc-root"))
    else:
        r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, f"{binary or 'capsa'}: exit {r.returncode}: {r.stderr}"
    info, _, marks = r.stdout.partition("===\n")
    return parse_mountinfo(info), set(marks.split("\n"))


def _both(ct, tweak):
    out = {"capsa": _run(ct, tweak)}
    if RUNC:
        out["runc"] = _run(ct, tweak, binary=RUNC)
    return out


def test_control_rw_dev_is_writable(ct):
    """Control: without `ro`, /dev takes a new file (so the test below can see a
    difference)."""
    for who, (mounts, marks) in _both(ct, None).items():
        assert "rw" in mount_at(mounts, "/dev")["opts"], who
        assert "DEV_WRITABLE" in marks, who


def test_dev_tmpfs_ro(ct):
    """/dev with `ro`: the container starts, its devices and submounts are there and
    usable, and /dev itself is read-only."""
    for who, (mounts, marks) in _both(ct, _ro_dev).items():
        dev = mount_at(mounts, "/dev")
        assert dev and dev["fstype"] == "tmpfs" and "ro" in dev["opts"], (who, dev)
        for sub in ("/dev/pts", "/dev/shm", "/dev/mqueue"):
            assert mount_at(mounts, sub), (who, sub)
        assert "rw" in mount_at(mounts, "/dev/shm")["opts"], who
        assert {"DEVS_OK", "NULL_WRITABLE", "SHM_WRITABLE"} <= marks, (who, marks)
        assert "DEV_WRITABLE" not in marks, who


def test_tmpfs_ro_keeps_mode(ct):
    """Any read-only tmpfs: its mode= is applied and it is read-only."""
    for who, (mounts, marks) in _both(ct, _ro_tmp).items():
        t = mount_at(mounts, "/tmp")
        assert t and t["fstype"] == "tmpfs" and "ro" in t["opts"], (who, t)
        assert "TMPMODE 1777" in marks, (who, marks)
        assert "TMP_WRITABLE" not in marks, who


def _host_devices(c):
    """What containerd puts in linux.devices for a privileged pod (the part that
    matters: /dev/ptmx and defaults that capsa also makes itself)."""
    c["linux"]["devices"] = [
        {"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2, "fileMode": 0o666,
         "uid": 0, "gid": 5},
        {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666,
         "uid": 0, "gid": 0},
        {"path": "/dev/tty", "type": "c", "major": 5, "minor": 0, "fileMode": 0o666,
         "uid": 0, "gid": 5},
    ]
    # and, as for a privileged pod, every device allowed in the cgroup
    c["linux"].setdefault("resources", {})["devices"] = [{"allow": True, "access": "rwm"}]


def test_privileged_devices_keep_ptmx_link(ct):
    """linux.devices with /dev/ptmx (privileged pods): the container starts and
    /dev/ptmx is still the link to its own devpts instance."""
    script = "readlink /dev/ptmx; stat -c '%t:%T' /dev/null"
    outs = {"capsa": None}
    if RUNC:
        outs["runc"] = RUNC
    for who, binary in outs.items():
        b = ct.bundle(args=["sh", "-c", script], tweak=_host_devices)
        kw = {"binary": binary, "root": os.path.join(ct.tmp, "runc-root")} if binary else {}
        r = ct.capsa("run", "--bundle", b.path, b.id, **kw)
        assert r.returncode == 0, f"{who}: exit {r.returncode}: {r.stderr}"
        assert r.stdout.split() == ["pts/ptmx", "1:3"], (who, r.stdout)


def test_device_over_image_file_still_refused(ct):
    """Control for the /dev/ptmx exception: a linux.devices entry over a file of the
    image that is not that device is still refused (the image's file is kept)."""
    def tweak(c):
        c["linux"]["devices"] = [{"path": "/etc/passwd", "type": "c", "major": 1,
                                  "minor": 3, "fileMode": 0o666}]
    r = ct.run(["true"], tweak=tweak)
    assert r.returncode != 0
    assert "/etc/passwd" in r.stderr and "already exists" in r.stderr, r.stderr


if not RUNC:
    def test_runc_comparison_skipped():
        pytest.skip("runc is not installed: the runc side of these tests was skipped")
