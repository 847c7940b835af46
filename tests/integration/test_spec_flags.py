"""`capsa spec` sandbox flags: one command to a locked-down container (issue 12)."""
import json
import os

import pytest

from capsatest import copy_rootfs


def _sandbox(ct, *flags, cmd=("true",)):
    """capsa spec FLAGS -- CMD in a fresh bundle with a rootfs; returns (dir, config)."""
    d = os.path.join(ct.tmp, f"sb-{ct.new_id()}")
    os.makedirs(d)
    copy_rootfs(ct.template, os.path.join(d, "rootfs"))
    r = ct.capsa("spec", "--bundle", d, *flags, "--", *cmd, cwd=d)
    assert r.returncode == 0, r.stderr
    cfg = json.load(open(os.path.join(d, "config.json")))
    return d, cfg


def _run(ct, d, cfg):
    cid = ct.new_id()
    cfg["process"]["env"].append(f"CAPSA_TEST_MARK={d}")
    cfg["linux"]["cgroupsPath"] = ct.cgroups_path(cid)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    return ct.capsa("run", "--bundle", d, cid)


def test_one_line_sandbox(ct):
    data = os.path.join(ct.tmp, "data")
    os.makedirs(data)
    open(os.path.join(data, "f"), "w").write("hostdata\n")
    d, cfg = _sandbox(ct, "--memory", "256m", "--pids", "100", "--readonly", "--hostname", "box",
                      "--mount", f"{data}:/data:ro", "--tmpfs", "/scratch:size=1m",
                      "--env", "FOO=bar", "--cwd", "/scratch", "--user", "1000:1000",
                      cmd=("sh", "-c", "echo $FOO $(hostname) $(id -u):$(id -g) $(pwd); "
                           "cat /data/f; touch /data/x || echo data-ro; "
                           "touch /x || echo root-ro; touch /scratch/y && echo scratch-rw"))
    assert cfg["linux"]["resources"]["memory"]["limit"] == 256 << 20
    assert cfg["linux"]["resources"]["pids"]["limit"] == 100
    r = _run(ct, d, cfg)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:5] == ["bar box 1000:1000 /scratch", "hostdata", "data-ro",
                                       "root-ro", "scratch-rw"]


def test_rw_root_and_readonly_default(ct):
    _, cfg = _sandbox(ct)
    assert cfg["root"]["readonly"] is True
    d, cfg = _sandbox(ct, "--rw", cmd=("sh", "-c", "touch /x && echo rw"))
    assert cfg["root"]["readonly"] is False
    r = _run(ct, d, cfg)
    assert r.returncode == 0 and r.stdout == "rw\n", r.stderr


def test_cap_drop_all_add_one(ct):
    d, cfg = _sandbox(ct, "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
                      cmd=("grep", "CapEff", "/proc/self/status"))
    assert cfg["process"]["capabilities"]["bounding"] == ["CAP_NET_BIND_SERVICE"]
    r = _run(ct, d, cfg)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[1], 16) == 1 << 10   # CAP_NET_BIND_SERVICE only
    # control: without the drop the default set is much larger
    d, cfg = _sandbox(ct, cmd=("grep", "CapEff", "/proc/self/status"))
    r = _run(ct, d, cfg)
    assert int(r.stdout.split()[1], 16) != 1 << 10


def test_seccomp_unconfined_and_default(ct):
    d, cfg = _sandbox(ct, cmd=("grep", "^Seccomp:", "/proc/self/status"))
    assert "seccomp" in cfg["linux"]
    assert _run(ct, d, cfg).stdout.split() == ["Seccomp:", "2"]
    d, cfg = _sandbox(ct, "--seccomp", "unconfined", cmd=("grep", "^Seccomp:", "/proc/self/status"))
    assert "seccomp" not in cfg["linux"]
    assert _run(ct, d, cfg).stdout.split() == ["Seccomp:", "0"]


def test_seccomp_file(ct):
    prof = os.path.join(ct.tmp, "prof.json")
    json.dump({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]},
        open(prof, "w"))
    d, cfg = _sandbox(ct, "--rw", "--seccomp", prof,
                      cmd=("sh", "-c", "mkdir /newdir 2>/dev/null && echo made || echo denied"))
    r = _run(ct, d, cfg)
    assert r.stdout == "denied\n", r.stderr


def test_net_host_and_none(ct):
    d, cfg = _sandbox(ct, "--net", "host", cmd=("readlink", "/proc/self/ns/net"))
    assert _run(ct, d, cfg).stdout.strip() == os.readlink("/proc/self/ns/net")
    d, cfg = _sandbox(ct, cmd=("readlink", "/proc/self/ns/net"))
    assert _run(ct, d, cfg).stdout.strip() != os.readlink("/proc/self/ns/net")


@pytest.mark.parametrize("flags,needle", [
    (("--memory", "12q"), "--memory"),
    (("--cpus", "-1"), "--cpus"),
    (("--mount", "/no/such/source:/x"), "--mount /no/such/source:/x"),
    (("--mount", "nodest"), "--mount nodest"),
    (("--tmpfs", "relative"), "--tmpfs relative"),
    (("--cap-add", "CAP_FOO"), "--cap-add CAP_FOO"),
    (("--cap-drop", "NOPE"), "--cap-drop NOPE"),
    (("--user", "abc"), "--user abc"),
    (("--env", "NOEQUALS"), "--env NOEQUALS"),
    (("--cwd", "rel"), "--cwd rel"),
    (("--seccomp", "/no/such/profile.json"), "--seccomp /no/such/profile.json"),
])
def test_bad_flag_is_one_line_error_and_writes_nothing(ct, flags, needle):
    d = os.path.join(ct.tmp, "bad")
    os.makedirs(d)
    r = ct.capsa("spec", "--bundle", d, *flags)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert not os.path.exists(os.path.join(d, "config.json"))
