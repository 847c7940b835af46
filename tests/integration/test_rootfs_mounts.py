"""Root filesystem, mounts and their flags (read back from /proc/self/mountinfo inside),
masked and read-only paths, /dev, linux.devices, --no-pivot, root.path."""
import contextlib
import os
import shutil
import subprocess

import pytest

from capsatest import copy_rootfs, mount_at, parse_mountinfo


def _mountinfo_inside(ct, tweak=None, opts=()):
    return parse_mountinfo(ct.sh("cat /proc/self/mountinfo", tweak=tweak, opts=opts))


def _add_mounts(*mounts):
    def tweak(c):
        c["mounts"].extend(mounts)
    return tweak


def _hostdir(ct, name="hostdir", files=None):
    d = os.path.join(ct.tmp, name)
    os.makedirs(d)
    for n, content in (files or {"f": "hello\n"}).items():
        with open(os.path.join(d, n), "w") as f:
            f.write(content)
    return d


@contextlib.contextmanager
def host_mount(*args, target):
    """A mount made on the host by the test itself (under tmp_path), always removed."""
    os.makedirs(target, exist_ok=True)
    subprocess.run(["mount", *args, target], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", target], check=True)


# --- the root -------------------------------------------------------------------

def test_readonly_root(ct):
    r = ct.run(["touch", "/x"])
    assert r.returncode != 0
    assert "Read-only file system" in r.stderr
    assert not os.path.exists(os.path.join(r.bundle.rootfs, "x"))
    root = mount_at(_mountinfo_inside(ct), "/")
    assert "ro" in root["opts"]


def test_readwrite_root(ct):
    def tweak(c):
        c["root"]["readonly"] = False
    r = ct.run(["sh", "-c", "echo data > /x && cat /proc/self/mountinfo"], tweak=tweak)
    assert r.returncode == 0, r.stderr
    assert open(os.path.join(r.bundle.rootfs, "x")).read() == "data\n"
    assert "rw" in mount_at(parse_mountinfo(r.stdout), "/")["opts"]


def test_root_is_the_bundle_rootfs(ct):
    out = ct.sh("cat /etc/hostname-in-rootfs; ls /; [ -e /work ] && echo HOST-WORK-VISIBLE; true")
    assert "exists only in the test rootfs" in out
    assert "HOST-WORK-VISIBLE" not in out


def test_root_path_absolute(ct):
    abs_root = os.path.join(ct.tmp, "elsewhere", "rootfs")
    copy_rootfs(ct.template, abs_root)
    open(os.path.join(abs_root, "marker-abs"), "w").close()
    b = ct.bundle(args=["ls", "/marker-abs"], rootfs=abs_root)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "/marker-abs"


def test_root_path_relative_nested(ct):
    b = ct.bundle(args=["ls", "/marker-rel"], rootfs="sub/dir/rootfs")
    open(os.path.join(b.rootfs, "marker-rel"), "w").close()
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "/marker-rel"


def test_bundle_relative_to_cwd(ct):
    """--bundle given relative to the runtime's cwd; state records an absolute path."""
    b = ct.bundle(args=["sleep", "1000"])
    ct.capsa("create", "--bundle", os.path.basename(b.path), b.id, cwd=ct.tmp, check=True)
    st = ct.state(b.id)
    assert os.path.isabs(st["bundle"])
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)


def test_bundle_defaults_to_cwd(ct):
    b = ct.bundle(args=["true"])
    r = ct.capsa("run", b.id, cwd=b.path)
    assert r.returncode == 0, r.stderr


def test_no_pivot(ct):
    out = ct.sh("cat /etc/hostname-in-rootfs; [ -e /work ] && echo HOST-WORK-VISIBLE; "
                "touch / 2>/dev/null && echo ROOT-WRITABLE; hostname; echo $$",
                opts=["--no-pivot"])
    lines = out.splitlines()
    assert "exists only in the test rootfs" in lines[0]
    assert "HOST-WORK-VISIBLE" not in out
    assert "ROOT-WRITABLE" not in out
    assert lines[-2:] == ["capsa-test", "1"]


def test_no_pivot_create_start(ct):
    b = ct.bundle(args=["sleep", "1000"])
    ct.create(b, "--no-pivot")
    ct.start(b.id)
    pid = ct.state(b.id)["pid"]
    m = parse_mountinfo(open(f"/proc/{pid}/mountinfo").read())
    assert mount_at(m, "/proc") is not None
    assert os.path.exists(f"/proc/{pid}/root/etc/hostname-in-rootfs")


# --- mounts and flags -------------------------------------------------------------

def test_bind_ro(ct):
    src = _hostdir(ct)
    tweak = _add_mounts({"destination": "/mnt/ro", "type": "bind", "source": src,
                         "options": ["rbind", "ro"]})
    r = ct.run(["sh", "-c", "cat /mnt/ro/f; touch /mnt/ro/new; echo rc=$?; "
                "cat /proc/self/mountinfo"], tweak=tweak)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("hello\nrc=1\n")
    m = mount_at(parse_mountinfo(r.stdout.split("rc=1\n", 1)[1]), "/mnt/ro")
    assert m is not None and "ro" in m["opts"]
    assert not os.path.exists(os.path.join(src, "new"))


def test_bind_rw_writes_through(ct):
    src = _hostdir(ct)
    tweak = _add_mounts({"destination": "/mnt/rw", "type": "bind", "source": src,
                         "options": ["bind", "rw"]})
    ct.sh("echo from-container > /mnt/rw/new", tweak=tweak)
    assert open(os.path.join(src, "new")).read() == "from-container\n"


def test_bind_type_none(ct):
    """runc-style bind mounts may say "type": "none" (or omit type) with a bind option."""
    src = _hostdir(ct)
    tweak = _add_mounts({"destination": "/mnt/a", "type": "none", "source": src,
                         "options": ["bind"]},
                        {"destination": "/mnt/b", "source": src, "options": ["rbind"]})
    assert ct.sh("cat /mnt/a/f /mnt/b/f", tweak=tweak) == "hello\nhello\n"


def test_bind_nosuid_nodev_noexec(ct):
    src = _hostdir(ct)
    shutil.copy2("/bin/busybox", os.path.join(src, "bb"))
    tweak = _add_mounts({"destination": "/mnt/x", "type": "bind", "source": src,
                         "options": ["bind", "nosuid", "nodev", "noexec"]})
    r = ct.run(["sh", "-c", "/mnt/x/bb true; echo rc=$?; cat /proc/self/mountinfo"],
               tweak=tweak)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("rc=126\n"), r.stdout[:200]
    m = mount_at(parse_mountinfo(r.stdout.split("\n", 1)[1]), "/mnt/x")
    assert {"nosuid", "nodev", "noexec"} <= m["opts"]


def test_bind_file(ct):
    src = os.path.join(ct.tmp, "extra.conf")
    with open(src, "w") as f:
        f.write("key=value\n")
    tweak = _add_mounts({"destination": "/etc/extra.conf", "type": "bind", "source": src,
                         "options": ["bind", "ro"]})
    assert ct.sh("cat /etc/extra.conf", tweak=tweak) == "key=value\n"


def test_tmpfs_size_mode(ct):
    tweak = _add_mounts({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                         "options": ["size=1m", "mode=0750", "nosuid", "noatime"]})
    r = ct.run(["sh", "-c", "stat -c %a /scratch; cat /proc/self/mountinfo"], tweak=tweak)
    assert r.returncode == 0, r.stderr
    mode, rest = r.stdout.split("\n", 1)
    assert mode == "750"
    m = mount_at(parse_mountinfo(rest), "/scratch")
    assert m["fstype"] == "tmpfs"
    assert "size=1024k" in m["super_opts"]
    assert "mode=750" in m["super_opts"]
    assert {"nosuid", "noatime", "rw"} <= m["opts"]


def test_tmpfs_is_writable_and_sized(ct):
    tweak = _add_mounts({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                         "options": ["size=64k"]})
    r = ct.run(["sh", "-c", "dd if=/dev/zero of=/scratch/big bs=4k count=64 2>&1; echo rc=$?"],
               tweak=tweak)
    assert r.returncode == 0, r.stderr
    assert "No space left on device" in r.stdout


def test_missing_mount_point_created(ct):
    tweak = _add_mounts({"destination": "/new/deep/dir", "type": "tmpfs", "source": "tmpfs",
                         "options": ["size=1m"]})
    r = ct.run(["cat", "/proc/self/mountinfo"], tweak=tweak)
    assert r.returncode == 0, r.stderr
    m = mount_at(parse_mountinfo(r.stdout), "/new/deep/dir")
    assert m is not None and m["fstype"] == "tmpfs"
    assert os.path.isdir(os.path.join(r.bundle.rootfs, "new", "deep", "dir"))


def test_missing_file_mount_point_created(ct):
    src = os.path.join(ct.tmp, "conf")
    with open(src, "w") as f:
        f.write("x\n")
    tweak = _add_mounts({"destination": "/opt/app/app.conf", "type": "bind", "source": src,
                         "options": ["bind"]})
    r = ct.run(["cat", "/opt/app/app.conf"], tweak=tweak)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "x\n"
    assert os.path.isfile(os.path.join(r.bundle.rootfs, "opt", "app", "app.conf"))


def test_rbind_vs_bind(ct):
    src = _hostdir(ct, "tree")
    with host_mount("-t", "tmpfs", "-o", "size=1m", "capsa-test-sub",
                    target=os.path.join(src, "sub")):
        open(os.path.join(src, "sub", "in-submount"), "w").close()
        tweak = _add_mounts(
            {"destination": "/mnt/r", "type": "bind", "source": src, "options": ["rbind"]},
            {"destination": "/mnt/b", "type": "bind", "source": src, "options": ["bind"]})
        r = ct.run(["sh", "-c", "ls /mnt/r/sub /mnt/b/sub; echo --; cat /proc/self/mountinfo"],
                   tweak=tweak)
    assert r.returncode == 0, r.stderr
    listing, mi = r.stdout.split("--\n", 1)
    m = parse_mountinfo(mi)
    assert mount_at(m, "/mnt/r/sub") is not None, "rbind must carry the submount"
    assert mount_at(m, "/mnt/b/sub") is None, "bind must not carry the submount"
    assert "in-submount" in listing


def _opt_fields(m):
    return {f.split(":")[0] for f in m["optional"]}


def test_propagation_private_shared_unbindable(ct):
    tweak = _add_mounts(
        {"destination": "/mnt/shared", "type": "tmpfs", "source": "tmpfs",
         "options": ["shared"]},
        {"destination": "/mnt/private", "type": "tmpfs", "source": "tmpfs",
         "options": ["private"]},
        {"destination": "/mnt/unbindable", "type": "tmpfs", "source": "tmpfs",
         "options": ["unbindable"]})
    m = _mountinfo_inside(ct, tweak=tweak)
    assert _opt_fields(mount_at(m, "/mnt/shared")) == {"shared"}
    assert _opt_fields(mount_at(m, "/mnt/private")) == set()
    assert _opt_fields(mount_at(m, "/mnt/unbindable")) == {"unbindable"}


def test_propagation_slave_receives_host_mounts(ct):
    src = os.path.join(ct.tmp, "shsrc")
    with host_mount("-t", "tmpfs", "-o", "size=1m", "capsa-test-shared", target=src):
        subprocess.run(["mount", "--make-shared", src], check=True)
        host = [m for m in parse_mountinfo(open("/proc/self/mountinfo").read())
                if m["mount_point"] == src][-1]
        peer = [f for f in host["optional"] if f.startswith("shared:")][0].split(":")[1]
        b = ct.running(tweak=_add_mounts(
            {"destination": "/mnt/slave", "type": "bind", "source": src,
             "options": ["rbind", "rslave"]},
            {"destination": "/mnt/private", "type": "bind", "source": src,
             "options": ["rbind", "rprivate"]}))
        pid = ct.state(b.id)["pid"]
        m = parse_mountinfo(open(f"/proc/{pid}/mountinfo").read())
        assert f"master:{peer}" in mount_at(m, "/mnt/slave")["optional"]
        assert _opt_fields(mount_at(m, "/mnt/private")) == set()
        # a mount made on the host afterwards propagates to the slave only
        with host_mount("-t", "tmpfs", "-o", "size=1m", "capsa-test-late",
                        target=os.path.join(src, "late")):
            m = parse_mountinfo(open(f"/proc/{pid}/mountinfo").read())
            assert mount_at(m, "/mnt/slave/late") is not None
            assert mount_at(m, "/mnt/private/late") is None
        ct.capsa("delete", "--force", b.id, check=True)


@pytest.mark.parametrize("prop,expect", [("private", set()), ("rprivate", set()),
                                         ("slave", set()), ("rslave", set())])
def test_rootfs_propagation(ct, prop, expect):
    # the host / is private here, so a slave root has no master to show
    m = _mountinfo_inside(ct, tweak=lambda c: c["linux"].update(rootfsPropagation=prop))
    assert _opt_fields(mount_at(m, "/")) == expect


def test_mount_order_later_covers_earlier(ct):
    src = _hostdir(ct)
    tweak = _add_mounts(
        {"destination": "/mnt/o", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
        {"destination": "/mnt/o/inner", "type": "bind", "source": src, "options": ["bind"]})
    assert ct.sh("cat /mnt/o/inner/f", tweak=tweak) == "hello\n"


def test_proc_sysfs_mqueue_cgroup_types(ct):
    m = _mountinfo_inside(ct)
    assert mount_at(m, "/proc")["fstype"] == "proc"
    assert mount_at(m, "/sys")["fstype"] == "sysfs"
    assert "ro" in mount_at(m, "/sys")["opts"]
    assert mount_at(m, "/dev/mqueue")["fstype"] == "mqueue"
    assert mount_at(m, "/dev/pts")["fstype"] == "devpts"
    assert mount_at(m, "/dev/shm")["fstype"] == "tmpfs"
    cg = [x for x in m if x["mount_point"].startswith("/sys/fs/cgroup")
          and x["fstype"] in ("cgroup", "cgroup2")]
    assert cg, "no cgroup filesystem under /sys/fs/cgroup"
    for x in cg:
        assert "ro" in x["opts"], f"{x['mount_point']} is writable"


def test_cgroup_mount_shows_own_cgroup_as_root(ct):
    """With a cgroup namespace the container sees its own cgroup as / ."""
    out = ct.sh("cat /proc/self/cgroup")
    for line in out.splitlines():
        assert line.split(":", 2)[2] == "/", out


# --- symlinks in the rootfs must not send mounts outside it --------------------------

@pytest.mark.parametrize("link", ["/etc", "../../../../../../../../etc"],
                         ids=["absolute", "relative"])
def test_symlink_mount_target_stays_inside(ct, link):
    name = f"capsa-escape-{os.getpid()}-{'abs' if link.startswith('/') else 'rel'}"
    host_etc_before = sorted(os.listdir("/etc"))
    host_mounts_before = open("/proc/self/mountinfo").read()
    b = ct.bundle(args=["cat", "/proc/self/mountinfo"], tweak=_add_mounts(
        {"destination": f"/evil/{name}", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=1m"]}))
    os.symlink(link, os.path.join(b.rootfs, "evil"))
    try:
        r = ct.capsa("run", "--bundle", b.path, b.id)
        assert not os.path.exists(f"/etc/{name}"), "mount target escaped to the host /etc"
        assert sorted(os.listdir("/etc")) == host_etc_before
        assert name not in open("/proc/self/mountinfo").read()
        assert open("/proc/self/mountinfo").read() == host_mounts_before
        assert r.returncode == 0, r.stderr
        m = parse_mountinfo(r.stdout)
        assert mount_at(m, f"/etc/{name}") is not None, "mount not inside the rootfs"
        assert os.path.isdir(os.path.join(b.rootfs, "etc", name))
    finally:
        if os.path.isdir(f"/etc/{name}"):  # created by a runtime bug: undo it
            subprocess.run(["umount", "-l", f"/etc/{name}"], capture_output=True)
            os.rmdir(f"/etc/{name}")


def test_symlink_bind_source_file_dest(ct):
    """A destination that is a dangling absolute symlink resolves inside the rootfs."""
    src = _hostdir(ct)
    name = f"capsa-escape-{os.getpid()}-file"
    b = ct.bundle(args=["cat", "/link"], tweak=_add_mounts(
        {"destination": "/link", "type": "bind", "source": os.path.join(src, "f"),
         "options": ["bind"]}))
    os.symlink(f"/tmp/{name}", os.path.join(b.rootfs, "link"))
    try:
        r = ct.capsa("run", "--bundle", b.path, b.id)
        assert not os.path.exists(f"/tmp/{name}"), "mount target escaped to the host /tmp"
        assert r.returncode == 0, r.stderr
        assert r.stdout == "hello\n"
    finally:
        if os.path.lexists(f"/tmp/{name}"):
            subprocess.run(["umount", "-l", f"/tmp/{name}"], capture_output=True)
            os.remove(f"/tmp/{name}")


# --- masked and read-only paths ---------------------------------------------------

def test_masked_paths(ct):
    # only the default masked paths this kernel has (e.g. no /proc/kcore in some VMs)
    files = [p for p in ("/proc/kcore", "/proc/keys", "/proc/timer_list",
                         "/proc/latency_stats", "/proc/sched_debug") if os.path.isfile(p)]
    dirs = [p for p in ("/sys/firmware", "/proc/acpi", "/proc/scsi", "/proc/asound")
            if os.path.isdir(p)]
    assert files and dirs
    script = "".join(f"echo {p} $(wc -c < {p}); " for p in files) + \
        "".join(f"echo {p} $(ls -A {p} | wc -l); " for p in dirs)
    out = ct.sh(script)
    assert out.splitlines() == [f"{p} 0" for p in files + dirs]
    assert os.listdir("/sys/firmware"), "host /sys/firmware is not empty"


def test_masked_path_missing_is_ignored(ct):
    def tweak(c):
        c["linux"]["maskedPaths"].append("/proc/does-not-exist")
        c["linux"]["readonlyPaths"].append("/proc/does-not-exist-either")
    assert ct.sh("echo ok", tweak=tweak) == "ok\n"


def test_masked_custom_file_and_dir(ct):
    def tweak(c):
        c["linux"]["maskedPaths"] += ["/opt/secret", "/etc/hostname-in-rootfs"]
    b = ct.bundle(args=["sh", "-c", "ls -A /opt/secret | wc -l; wc -c < /etc/hostname-in-rootfs;"
                        " cat /etc/passwd | wc -l"], tweak=tweak)
    os.makedirs(os.path.join(b.rootfs, "opt", "secret"))
    open(os.path.join(b.rootfs, "opt", "secret", "key"), "w").write("s3cret")
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", "2"]


def test_readonly_paths(ct):
    r = ct.run(["sh", "-c", "echo hacked > /proc/sys/kernel/hostname; echo rc=$?; "
                "hostname; cat /proc/self/mountinfo"])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n", 2)
    assert lines[0] == "rc=1"
    assert lines[1] == "capsa-test"
    assert "Read-only file system" in r.stderr
    m = parse_mountinfo(lines[2])
    for p in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"):
        if os.path.exists(p):
            assert mount_at(m, p) is not None, f"{p} is not a mount point"
            assert "ro" in mount_at(m, p)["opts"], p


def test_readonly_custom_path(ct):
    tweak = _add_mounts({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                         "options": ["size=1m"]})

    def tweak2(c):
        tweak(c)
        c["linux"]["readonlyPaths"].append("/data")
    r = ct.run(["sh", "-c", "touch /data/x"], tweak=tweak2)
    assert r.returncode != 0
    assert "Read-only file system" in r.stderr


# --- /dev -------------------------------------------------------------------------

DEFAULT_DEVICES = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7",
                   "/dev/random": "1:8", "/dev/urandom": "1:9", "/dev/tty": "5:0"}


def test_default_devices(ct):
    names = " ".join(DEFAULT_DEVICES)
    out = ct.sh(f"stat -c '%n %F %t:%T %a' {names}")
    got = {}
    for line in out.splitlines():
        n, rest = line.split(" ", 1)
        got[n] = rest
    for n, mm in DEFAULT_DEVICES.items():
        maj, mi = mm.split(":")
        assert got[n] == f"character special file {int(maj):x}:{int(mi):x} 666", (n, got[n])


def test_default_devices_usable(ct):
    out = ct.sh("echo x > /dev/null && head -c 5 /dev/zero | wc -c && "
                "head -c 7 /dev/urandom | wc -c && head -c 3 /dev/random | wc -c; "
                "echo x > /dev/full; echo full=$?")
    assert out.split() == ["5", "7", "3", "full=1"]


def test_dev_links_and_mounts(ct):
    out = ct.sh("for l in /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx; do "
                "echo $l $(readlink $l); done; [ -d /dev/pts ] && [ -d /dev/shm ] && "
                "[ -d /dev/mqueue ] && echo dirs-ok")
    lines = dict(l.split(" ", 1) if " " in l else (l, "") for l in out.splitlines())
    assert lines["/dev/fd"] == "/proc/self/fd"
    assert lines["/dev/stdin"] == "/proc/self/fd/0"
    assert lines["/dev/stdout"] == "/proc/self/fd/1"
    assert lines["/dev/stderr"] == "/proc/self/fd/2"
    assert lines["/dev/ptmx"] in ("pts/ptmx", "/dev/pts/ptmx")
    assert "dirs-ok" in lines


def test_dev_has_no_host_devices(ct):
    out = ct.sh("ls -A /dev")
    present = set(out.split())
    for host_only in ("vda", "mem", "kmsg", "sda", "port", "loop0", "vsock"):
        assert host_only not in present, f"/dev/{host_only} leaked into the container"


def test_linux_devices(ct):
    def tweak(c):
        c["linux"]["devices"] = [
            {"path": "/dev/kmsg2", "type": "c", "major": 1, "minor": 7, "fileMode": 0o640,
             "uid": 0, "gid": 0},
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666},
            {"path": "/dev/sub/dir/zero2", "type": "c", "major": 1, "minor": 5},
        ]
    out = ct.sh("stat -c '%n %F %t:%T %a %u %g' /dev/kmsg2 /dev/fuse /dev/sub/dir/zero2; "
                "head -c 3 /dev/kmsg2 | wc -c; head -c 4 /dev/sub/dir/zero2 | wc -c",
                tweak=tweak)
    lines = out.splitlines()
    assert lines[0] == "/dev/kmsg2 character special file 1:7 640 0 0"
    assert lines[1] == "/dev/fuse character special file a:e5 666 0 0"
    assert lines[2].startswith("/dev/sub/dir/zero2 character special file 1:5 ")
    assert lines[3:] == ["3", "4"]


def test_linux_devices_block_and_fifo(ct):
    def tweak(c):
        c["linux"]["devices"] = [
            {"path": "/dev/myloop", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600},
            {"path": "/dev/myfifo", "type": "p"},
        ]
    out = ct.sh("stat -c '%n %F %a' /dev/myloop /dev/myfifo", tweak=tweak)
    lines = out.splitlines()
    assert lines[0] == "/dev/myloop block special file 600"
    assert lines[1].startswith("/dev/myfifo fifo")
