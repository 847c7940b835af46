"""Idmapped bind mounts (runtime-spec 1.1 mounts[].uidMappings/gidMappings, kernel
MOUNT_ATTR_IDMAP): files owned by a host uid appear owned by container root."""
import os


def _share(ct, owner):
    d = os.path.join(ct.world_dir(), "share")
    os.makedirs(d)
    f = os.path.join(d, "f")
    open(f, "w").write("x\n")
    os.chown(f, owner, owner)
    # the directory too: through the mount an unmapped owner (host root here)
    # is nobody, and even container root may not write there
    os.chown(d, owner, owner)
    return d


def _mount(share, idmapped):
    def tweak(c):
        m = {"destination": "/share", "type": "bind", "source": share,
             "options": ["rbind", "rw"]}
        if idmapped:
            m["uidMappings"] = [{"containerID": 0, "hostID": 1234, "size": 1}]
            m["gidMappings"] = [{"containerID": 0, "hostID": 1234, "size": 1}]
        c["mounts"].append(m)
    return tweak


def test_idmapped_bind_mount_shows_container_root(ct):
    share = _share(ct, 1234)
    r = ct.run(args=["sh", "-c", "stat -c '%u:%g' /share/f; touch /share/new; "
                     "stat -c '%u:%g' /share/new"], tweak=_mount(share, True))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0:0", "0:0"]
    # what container root created belongs to the mapped host id
    st = os.stat(os.path.join(share, "new"))
    assert (st.st_uid, st.st_gid) == (1234, 1234)


def test_plain_bind_mount_control(ct):
    share = _share(ct, 1234)
    r = ct.run(args=["stat", "-c", "%u:%g", "/share/f"], tweak=_mount(share, False))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1234:1234"]


def test_idmapped_mount_needs_both_maps(ct):
    share = _share(ct, 1234)

    def tweak(c):
        _mount(share, True)(c)
        del c["mounts"][-1]["gidMappings"]
    b = ct.bundle(args=["true"], tweak=tweak)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 1
    assert "needs both uidMappings and gidMappings" in r.stderr
    ct.assert_nothing_created(b.id)
