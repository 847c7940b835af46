"""config.md: root, mounts, process, user, annotations, extensibility, valid values."""
import os

from capsatest import parse_mountinfo, mount_at
from clauses import clause
from conf import bind, create_refused, out_dir, refused
from mounts_opts import MUST_OPTIONS, VISIBLE, option_mounts


def _mountinfo_in(ct, tweak):
    out = ct.run_ok(["cat", "/proc/self/mountinfo"], tweak=tweak)
    return parse_mountinfo(out)


@clause
def test_config_ociversion_semver(ct):
    create_refused(ct, lambda c: c.update(ociVersion="not-a-version"), "ociVersion")
    ct.run_ok(tweak=lambda c: c.update(ociVersion="1.2.0-rc.1+build.5"))


@clause
def test_config_root_required(ct):
    create_refused(ct, lambda c: c.pop("root") and None, "root")


@clause
def test_config_root_path_must_exist(ct):
    create_refused(ct, lambda c: c["root"].update(path="/no/such/rootfs"), "/no/such/rootfs")
    f = os.path.join(ct.tmp, "a-file")
    open(f, "w").close()
    create_refused(ct, lambda c: c["root"].update(path=f), "a-file")


@clause
def test_config_root_readonly(ct):
    probe = "touch /probe 2>/dev/null && echo writable || echo readonly"
    assert ct.sh(probe).strip() == "readonly"       # readonly: true
    assert ct.sh(probe, tweak=lambda c: c["root"].pop("readonly") and None).strip() == "writable"


@clause
def test_config_mounts_in_listed_order(ct):
    src = out_dir(ct, "src")
    open(os.path.join(src, "from-bind"), "w").close()
    tmpfs = {"destination": "/mnt", "type": "tmpfs", "source": "tmpfs"}
    bindm = {"destination": "/mnt", "type": "bind", "source": src, "options": ["rbind"]}
    # the later entry is mounted over the earlier one
    assert ct.sh("ls /mnt", tweak=lambda c: c["mounts"].extend([tmpfs, bindm])).split() == \
        ["from-bind"]
    assert ct.sh("ls /mnt", tweak=lambda c: c["mounts"].extend([bindm, tmpfs])).split() == []


@clause
def test_config_mounts_relative_destination_from_root(ct):
    mounts = _mountinfo_in(ct, lambda c: c["mounts"].append(
        {"destination": "mnt/rel", "type": "tmpfs", "source": "tmpfs",
         "options": ["mode=700"]}))
    m = mount_at(mounts, "/mnt/rel")
    assert m is not None and m["fstype"] == "tmpfs"


@clause
def test_config_mount_options_must(ct):
    tweak, where = option_mounts(ct, MUST_OPTIONS)
    mounts = _mountinfo_in(ct, tweak)
    for o in MUST_OPTIONS:
        m = mount_at(mounts, where[o])
        assert m is not None, f"{o}: not mounted"
        if o in VISIBLE:
            assert VISIBLE[o] in m["opts"], (o, m["opts"])
        if o in ("rw", "suid", "dev", "exec"):
            assert {"rw": "ro", "suid": "nosuid", "dev": "nodev", "exec": "noexec"}[o] \
                not in m["opts"], (o, m["opts"])
    for o in ("shared", "rshared"):
        assert any(x.startswith("shared:") for x in mount_at(mounts, where[o])["optional"])
    for o in ("private", "rprivate"):
        assert mount_at(mounts, where[o])["optional"] == []
    for o in ("unbindable", "runbindable"):
        assert "unbindable" in mount_at(mounts, where[o])["optional"]


def _idmap_tweak(src, uid_host=0, container=1000):
    def tweak(c):
        c["mounts"].append({"destination": "/idm", "type": "bind", "source": src,
                            "options": ["bind", "idmap"],
                            "uidMappings": [{"containerID": container, "hostID": uid_host,
                                             "size": 1}],
                            "gidMappings": [{"containerID": container, "hostID": uid_host,
                                             "size": 1}]})
    return tweak


@clause
def test_config_mount_option_idmap_uses_mount_mappings(ct):
    src = out_dir(ct, "idm")
    open(os.path.join(src, "f"), "w").close()          # owned by host root
    out = ct.sh("stat -c %u:%g /idm/f", tweak=_idmap_tweak(src))
    assert out.strip() == "1000:1000"
    # control: the plain bind shows the host owner
    out = ct.sh("stat -c %u:%g /idm/f", tweak=lambda c: bind(c, src, "/idm"))
    assert out.strip() == "0:0"


@clause
def test_config_mount_option_idmap_without_mappings_errors(ct):
    src = out_dir(ct, "idm")
    for o in ("idmap", "ridmap"):
        create_refused(ct, lambda c: c["mounts"].append(
            {"destination": "/idm", "type": "bind", "source": src, "options": ["rbind", o]}),
            o)


@clause
def test_config_mount_uid_gid_mappings_together(ct):
    src = out_dir(ct, "idm")
    for only in ("uidMappings", "gidMappings"):
        def tweak(c):
            _idmap_tweak(src)(c)
            c["mounts"][-1].pop(only)
        create_refused(ct, tweak, "uidMappings and gidMappings")


@clause
def test_config_process_required_for_start(ct):
    b = ct.bundle(tweak=lambda c: c.pop("process") and None)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    refused(ct, r, "process", cid=b.id, bundle=b)


@clause
def test_config_process_console_size_ignored_without_terminal(ct):
    out = ct.sh("test -t 1 && echo tty || echo no-tty", tweak=lambda c: c["process"].update(
        consoleSize={"height": 10, "width": 20}))
    assert out.strip() == "no-tty"


@clause
def test_config_process_cwd_absolute(ct):
    create_refused(ct, lambda c: c["process"].update(cwd="tmp"), "process.cwd")


@clause
def test_config_process_args_required(ct):
    create_refused(ct, lambda c: c["process"].update(args=[]), "process.args")


def _limits(ct, rlimits):
    out = ct.sh("cat /proc/self/limits",
                tweak=lambda c: c["process"].update(rlimits=rlimits))
    got = {}
    for line in out.splitlines()[1:]:
        name = line[:26].strip()
        soft, hard = line[26:].split()[:2]
        got[name] = (soft, hard)
    return got


RLIMITS = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
           {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
           {"type": "RLIMIT_NPROC", "soft": 3000, "hard": 4000}]


@clause
def test_config_rlimits_unknown_type_errors(ct):
    create_refused(ct, lambda c: c["process"]["rlimits"].append(
        {"type": "RLIMIT_NOT_A_LIMIT", "soft": 1, "hard": 1}), "RLIMIT_NOT_A_LIMIT")


@clause
def test_config_rlimits_getrlimit_succeeds(ct):
    got = _limits(ct, RLIMITS)
    for name in ("Max open files", "Max core file size", "Max processes"):
        assert name in got, got


@clause
def test_config_rlimits_soft_matches(ct):
    got = _limits(ct, RLIMITS)
    assert [got["Max open files"][0], got["Max core file size"][0],
            got["Max processes"][0]] == ["512", "0", "3000"]


@clause
def test_config_rlimits_hard_matches(ct):
    got = _limits(ct, RLIMITS)
    assert [got["Max open files"][1], got["Max core file size"][1],
            got["Max processes"][1]] == ["1000", "4096", "4000"]


@clause
def test_config_rlimits_duplicate_errors(ct):
    create_refused(ct, lambda c: c["process"]["rlimits"].append(
        {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 10}), "RLIMIT_NOFILE")


@clause
def test_config_capabilities_unmappable_warns(ct):
    """capsa goes further than the warning: an unknown capability name is refused
    (the spec's "SHOULD NOT fail" allows it), with the name in the message."""
    create_refused(ct, lambda c: c["process"]["capabilities"]["bounding"].append(
        "CAP_NOT_A_CAPABILITY"), "CAP_NOT_A_CAPABILITY")


@clause
def test_config_oom_score_adj_set(ct):
    out = ct.sh("cat /proc/self/oom_score_adj",
                tweak=lambda c: c["process"].update(oomScoreAdj=123))
    assert out.strip() == "123"


@clause
def test_config_oom_score_adj_unset_unchanged(ct):
    with open("/proc/self/oom_score_adj") as f:
        mine = f.read().strip()
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("77")           # inherited by capsa, which must leave it alone
    try:
        out = ct.sh("cat /proc/self/oom_score_adj")
    finally:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(mine)
    assert out.strip() == "77"


@clause
def test_config_user_uid_gid_required(ct):
    create_refused(ct, lambda c: c["process"]["user"].pop("uid") and None, "uid")
    create_refused(ct, lambda c: c["process"]["user"].pop("gid") and None, "gid")
    out = ct.sh("echo $(id -u):$(id -g)",
                tweak=lambda c: c["process"].update(user={"uid": 1234, "gid": 4321}))
    assert out.strip() == "1234:4321"


@clause
def test_config_annotations_string_map(ct):
    create_refused(ct, lambda c: c.update(annotations={"a": 1}), "annotations")
    create_refused(ct, lambda c: c.update(annotations={"": "x"}), "annotations")
    create_refused(ct, lambda c: c.update(annotations=["a"]), "annotations")
    ct.run_ok(tweak=lambda c: c.update(annotations={"com.example.k": ""}))


@clause
def test_config_annotations_unknown_keys_ignored(ct):
    ann = {"com.example.unknown": "x", "org.opencontainers.not.defined": "y"}
    b = ct.bundle(args=["sleep", "1000"], tweak=lambda c: c.update(annotations=ann))
    r = ct.create(b, check=False)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert ct.state(b.id)["annotations"] == ann


@clause
def test_config_unknown_properties_ignored(ct):
    def tweak(c):
        c["com.example.top"] = {"x": [1, 2]}
        c["process"]["com.example.proc"] = True
        c["linux"]["com.example.linux"] = "v"
        c["mounts"][0]["com.example.mount"] = 1
    assert ct.sh("echo ran", tweak=tweak).strip() == "ran"


@clause
def test_config_invalid_or_unsupported_values_error(ct):
    create_refused(ct, lambda c: c["linux"]["namespaces"].append({"type": "bogus"}), "bogus")
    create_refused(ct, lambda c: c["linux"].update(rootfsPropagation="sideways"),
                   "rootfsPropagation")
    create_refused(ct, lambda c: c["process"].update(
        scheduler={"policy": "SCHED_OTHER"}), "process.scheduler")
