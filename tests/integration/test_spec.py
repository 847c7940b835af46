"""`capsa spec`: the generated config.json is valid, locked down, and runs."""
import json
import os

import pytest

from capsatest import DEFAULT_CAPS, copy_rootfs


def _spec(ct, *flags):
    d = os.path.join(ct.tmp, "spec-bundle")
    os.makedirs(d, exist_ok=True)
    r = ct.capsa("spec", "--bundle", d, *flags)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "config.json")) as f:
        return d, json.load(f)


def test_spec_writes_config(ct):
    _, cfg = _spec(ct)
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"]["path"] == "rootfs"
    assert cfg["process"]["args"]
    assert cfg["process"]["cwd"] == "/"
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= types
    assert "user" not in types
    assert "/proc/kcore" in cfg["linux"]["maskedPaths"]
    assert "/proc/sys" in cfg["linux"]["readonlyPaths"]
    dests = [m["destination"] for m in cfg["mounts"]]
    for d in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"):
        assert d in dests


def test_spec_in_cwd(ct):
    d = os.path.join(ct.tmp, "cwd-bundle")
    os.makedirs(d)
    r = ct.capsa("spec", cwd=d)
    assert r.returncode == 0, r.stderr
    json.load(open(os.path.join(d, "config.json")))


def test_spec_does_not_overwrite(ct):
    d, _ = _spec(ct)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write("{}")
    r = ct.capsa("spec", "--bundle", d)
    assert r.returncode != 0
    assert open(os.path.join(d, "config.json")).read() == "{}"


def test_spec_rootless(ct):
    _, cfg = _spec(ct, "--rootless")
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert "user" in types
    assert cfg["linux"]["uidMappings"] and cfg["linux"]["gidMappings"]
    assert cfg["linux"]["uidMappings"][0]["containerID"] == 0


def test_spec_runs(ct):
    """capsa spec && capsa run — with the rootfs next to it, made non-interactive."""
    d, cfg = _spec(ct)
    copy_rootfs(ct.template, os.path.join(d, "rootfs"))
    cid = ct.new_id()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", "hostname; id -u"]
    cfg["process"]["env"] = cfg["process"].get("env", []) + [f"CAPSA_TEST_MARK={d}"]
    # relative: under the runtime's own cgroup, never the machine's root cgroup
    cfg["linux"]["cgroupsPath"] = ct.cgroups_path(cid)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    r = ct.capsa("run", "--bundle", d, cid)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[-1] == "0"


@pytest.mark.capsa_only("capsa's locked-down defaults (DESIGN.md)")
def test_spec_capsa_defaults(ct):
    _, cfg = _spec(ct)
    p = cfg["process"]
    assert p.get("terminal") in (False, None), "no terminals in this issue"
    assert p["noNewPrivileges"] is True
    assert cfg["root"]["readonly"] is True
    assert sorted(p["capabilities"]["bounding"]) == sorted(DEFAULT_CAPS)
    assert not p["capabilities"].get("ambient")
    assert not p["capabilities"].get("inheritable")
    types = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount", "cgroup"} <= types
    cg = [m for m in cfg["mounts"] if m["destination"] == "/sys/fs/cgroup"]
    assert cg and "ro" in cg[0].get("options", [])
    assert {"RLIMIT_NOFILE"} <= {r["type"] for r in p.get("rlimits", [])}
