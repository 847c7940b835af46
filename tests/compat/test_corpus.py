"""Real configs from other tools and engines (tests/compat/corpus, see SOURCES.md),
each run as is by capsa with only the rootfs, the command, the cgroup path and the
paths of namespaces to join replaced, and compared with runc on the same bundle:
same exit code, same output.
Every run is followed by a check for leftovers (state dir, processes, cgroups,
mounts). Decisions where capsa differs on purpose are in docs/compat.md."""
import json
import os
import re

import pytest

from capsatest import apparmor_enabled
from conftest import CORPUS, RUNC, load_seccomp, ns_placeholders

ENTRIES = sorted(f[:-5] for f in os.listdir(CORPUS) if f.endswith(".json"))
# Configs runc 1.1.5 refuses too (same exit code, nothing left; see SOURCES.md).
REFUSED = sorted(f[:-5] for f in os.listdir(os.path.join(CORPUS, "refused"))
                 if f.endswith(".json"))
PROFILES = sorted(f[:-5] for f in os.listdir(os.path.join(CORPUS, "seccomp"))
                  if f.endswith(".json"))

# What the container prints: the process's credentials and security state, the
# names it got and a few limits. Deterministic for one config on one host.
SCRIPT = ("echo hi; id; grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' "
          "/proc/self/status; hostname; umask; ulimit -n; pwd")
ARGS = ["/bin/sh", "-c", SCRIPT]


def load(name, sub=""):
    with open(os.path.join(CORPUS, sub, name + ".json")) as f:
        return json.load(f)


def with_profile(name):
    cfg = load("runc-spec")
    bounding = cfg["process"]["capabilities"]["bounding"]
    cfg["linux"]["seccomp"] = load_seccomp(os.path.join(CORPUS, "seccomp", name + ".json"),
                                           bounding)
    return cfg


# Namespaces to join (`@NS:TYPE@`, SOURCES.md). A CRI container joins its pod: each
# placeholder of the entry on the left becomes /proc/<pid>/ns/TYPE of a running
# container of the entry on the right (containerd 1.6 gives the pause container's
# pid), started by the same runtime for the run and removed after it. Elsewhere only
# `@NS:network@` occurs: the session's network namespace file (fixture netns).
SANDBOX_OF = {"cri-container": "cri-sandbox"}
PROC_NS = {"network": "net", "mount": "mnt"}   # runtime-spec type -> /proc/PID/ns name


def own_namespaces(request, entry, cfg):
    types = ns_placeholders(cfg)
    assert set(types) <= {"network"}, f"{entry}: no namespace to join for {types}"
    return {"network": request.getfixturevalue("netns")} if types else None


def run_entry(request, rt, entry, cfg, rootfs, args=ARGS, tag=None, seen=None):
    """rt.run_config of an entry, with the namespaces its placeholders name: joined
    from a sandbox container of SANDBOX_OF[entry] that runs meanwhile. seen gets the
    sandbox's namespace links. Returns (CompletedProcess, leftovers of both)."""
    tag = tag or entry
    if entry not in SANDBOX_OF:
        return rt.run_config(tag, cfg, args, rootfs, own_namespaces(request, entry, cfg))
    sb_entry = SANDBOX_OF[entry]
    sb_cfg = load(sb_entry)
    sb = rt.start(tag + "-sandbox", sb_cfg, ["/bin/sleep", "3600"], rootfs,
                  own_namespaces(request, sb_entry, sb_cfg))
    try:
        ns = {t: f"/proc/{sb['pid']}/ns/{PROC_NS.get(t, t)}" for t in ns_placeholders(cfg)}
        if seen is not None:
            seen.update({t: os.readlink(p) for t, p in ns.items()})
            seen["sandbox pid"] = os.readlink(f"/proc/{sb['pid']}/ns/pid")
        r, left = rt.run_config(tag, cfg, args, rootfs, ns)
    finally:
        sb_left = rt.stop(sb)
    return r, left + [f"(sandbox) {x}" for x in sb_left]


def check_ran(rt, r, left):
    assert not left, f"{rt.name} left behind: {left}"
    assert r.returncode == 0, f"{rt.name}: exit {r.returncode}: {r.stderr.strip()}"
    assert r.stdout.startswith("hi\n"), f"{rt.name}: {r.stdout!r}"


def compare(ours, theirs):
    (r1, l1), (r2, l2) = ours, theirs
    assert not l1, f"capsa left behind: {l1}"
    assert not l2, f"runc left behind: {l2}"
    assert (r1.returncode, r1.stdout) == (r2.returncode, r2.stdout), \
        f"\ncapsa: exit {r1.returncode}, stdout {r1.stdout!r}, stderr {r1.stderr.strip()!r}" \
        f"\nrunc:  exit {r2.returncode}, stdout {r2.stdout!r}, stderr {r2.stderr.strip()!r}"


def test_corpus_is_there():
    """The engines' entries are present (tests/compat/refresh-corpus.sh writes them)."""
    for want in ("runc-spec", "runc-spec-rootless", "crun-spec", "podman-run", "ctr-run",
                 "full", "cri-sandbox", "cri-container", "docker-nethost"):
        assert want in ENTRIES, f"corpus/{want}.json missing"
    for want in ("moby-v20.10.24", "moby-v18.09.0", "containerd-default",
                 "podman-containers-common"):
        assert want in PROFILES, f"corpus/seccomp/{want}.json missing"


@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_runs(request, capsa, rootfs, entry):
    r, left = run_entry(request, capsa, entry, load(entry), rootfs)
    check_ran(capsa, r, left)


@pytest.mark.parametrize("entry", ENTRIES)
def test_entry_same_as_runc(request, capsa, runc, rootfs, entry):
    cfg = load(entry)
    compare(run_entry(request, capsa, entry, cfg, rootfs),
            run_entry(request, runc, entry, cfg, rootfs))


@pytest.mark.parametrize("name", ["capsa", "runc"])
def test_cri_container_joins_its_sandbox(request, rootfs, name):
    """The CRI container is in its pod's network, ipc and uts namespaces (the paths
    containerd gave, filled with the sandbox's /proc/PID/ns/*) and in a pid
    namespace of its own (kubelet's default), whichever runtime runs both."""
    rt = request.getfixturevalue(name)
    seen = {}
    cfg = load("cri-container")
    assert sorted(ns_placeholders(cfg)) == ["ipc", "network", "uts"], ns_placeholders(cfg)
    show = ["/bin/sh", "-c", "for t in net ipc uts pid; do echo $t $(readlink /proc/self/ns/$t);"
            " done; hostname"]
    r, left = run_entry(request, rt, "cri-container", cfg, rootfs, args=show, tag="cri-join",
                        seen=seen)
    assert not left, f"{name} left behind: {left}"
    assert r.returncode == 0, f"{name}: exit {r.returncode}: {r.stderr.strip()}"
    got = dict(line.split(" ", 1) for line in r.stdout.splitlines()[:4])
    assert got["net"] == seen["network"] and got["ipc"] == seen["ipc"] and \
        got["uts"] == seen["uts"], (got, seen)
    assert got["pid"] not in (os.readlink("/proc/self/ns/pid"), seen["sandbox pid"]), (got, seen)
    assert r.stdout.splitlines()[4] == load("cri-sandbox")["hostname"], r.stdout


@pytest.mark.parametrize("entry", REFUSED)
def test_refused_entry(request, capsa, rootfs, entry):
    """One line naming the field, exit 1, nothing created; runc refuses it too."""
    cfg = load(entry, "refused")
    ours = capsa.run_config("refused-" + entry, cfg, ARGS, rootfs)
    assert not ours[1], ours[1]
    assert ours[0].returncode == 1 and ours[0].stdout == "", ours[0]
    assert len(ours[0].stderr.strip().splitlines()) == 1, ours[0].stderr
    also_runc(request, "refused-" + entry, cfg, rootfs, ours)


@pytest.mark.parametrize("profile", PROFILES)
def test_seccomp_profile_runs(capsa, rootfs, profile):
    """Each engine's default profile inside `runc spec`'s config."""
    r, left = capsa.run_config("sc-" + profile, with_profile(profile), ARGS, rootfs)
    check_ran(capsa, r, left)
    assert re.search(r"^Seccomp:\s+2$", r.stdout, re.M), r.stdout


@pytest.mark.parametrize("profile", PROFILES)
def test_seccomp_profile_same_as_runc(capsa, runc, rootfs, profile):
    cfg = with_profile(profile)
    compare(capsa.run_config("sc-" + profile, cfg, ARGS, rootfs),
            runc.run_config("sc-" + profile, cfg, ARGS, rootfs))


# --- decisions (docs/compat.md "Configs") ------------------------------------------

def also_runc(request, tag, cfg, rootfs, ours):
    """Compare with runc where it is installed (the capsa half runs regardless)."""
    if RUNC is None:
        return
    runc = request.getfixturevalue("runc")
    compare(ours, runc.run_config(tag, cfg, ARGS, rootfs))


def base():
    """`runc spec` without ambient capabilities: these checks are about other fields."""
    cfg = load("runc-spec")
    cfg["process"]["capabilities"].pop("ambient", None)
    return cfg


VERSIONS = ["1.0.0", "1.0.1", "1.0.2", "1.0.2-dev", "1.1.0-rc.1", "1.1.0", "1.2.0",
            "1.2.0-rc.1", "1.2.1", "1.3.0"]


@pytest.mark.parametrize("version", VERSIONS)
def test_oci_version_accepted(request, capsa, rootfs, version):
    cfg = base()
    cfg["ociVersion"] = version
    ours = capsa.run_config("v" + version, cfg, ARGS, rootfs)
    check_ran(capsa, *ours)
    also_runc(request, "v" + version, cfg, rootfs, ours)


@pytest.mark.parametrize("version", ["0.5.0", "2.0.0", "garbage", ""])
def test_oci_version_other_major_refused(capsa, rootfs, version):
    """runc 1.1.5 takes any string here; capsa reads configs by 1.x rules only."""
    cfg = base()
    cfg["ociVersion"] = version
    r, left = capsa.run_config("vbad", cfg, ARGS, rootfs)
    assert not left, left
    assert r.returncode == 1 and r.stdout == "", r
    assert re.search(r'ociVersion: unsupported version ".*" \(capsa implements runtime-spec '
                     r'1\.x', r.stderr), r.stderr


@pytest.mark.parametrize("kind,ns", [("same", {"type": "ipc"}),
                                     ("cgroup", {"type": "cgroup"}),
                                     ("path", {"type": "network", "path": "/proc/1/ns/net"})])
def test_duplicate_namespace_refused_like_runc(request, capsa, rootfs, kind, ns):
    """issue 23 said runc runs a namespace listed twice: runc 1.1.5 refuses it
    ("malformed spec file: duplicated ns"), with or without a path; capsa too."""
    cfg = base()
    if ns["type"] == "cgroup":
        cfg["linux"]["namespaces"].append({"type": "cgroup"})
    cfg["linux"]["namespaces"].append(ns)
    ours = capsa.run_config("dupns-" + kind, cfg, ARGS, rootfs)
    assert not ours[1], ours[1]
    assert ours[0].returncode == 1 and "duplicate namespace" in ours[0].stderr, ours[0]
    also_runc(request, "dupns-" + kind, cfg, rootfs, ours)


def test_no_mount_namespace_refused(capsa, rootfs):
    """runc 1.1.5 runs it, but mounts /proc, /dev, /sys... of the config in the host's
    mount table, where they stay after delete (docs/container-setup.md): runc is not
    run here for that reason. capsa refuses before creating anything."""
    cfg = base()
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                  if n["type"] != "mount"]
    for k in ("maskedPaths", "readonlyPaths"):
        cfg["linux"].pop(k, None)
    r, left = capsa.run_config("nomnt", cfg, ARGS, rootfs)
    assert not left, left
    assert r.returncode == 1 and r.stdout == "", r
    assert "no mount namespace" in r.stderr and '{"type": "mount"}' in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def _lsm_enabled(name):
    if name == "apparmor":
        return apparmor_enabled()
    return os.path.exists("/sys/fs/selinux/enforce")


@pytest.mark.parametrize("where,key,lsm", [
    ("process", "apparmorProfile", "apparmor"),
    ("process", "selinuxLabel", "selinux"),
    ("linux", "mountLabel", "selinux")])
def test_lsm_field_without_lsm(request, capsa, rootfs, where, key, lsm):
    """On a host without the LSM, runc 1.1.5 fails on each of these (selinuxLabel when
    it validates, apparmorProfile when it writes /proc/self/attr/exec, mountLabel at
    the first mount given context=); capsa refuses them before creating anything."""
    if _lsm_enabled(lsm):
        pytest.skip(f"{lsm} is enabled on this host")
    cfg = base()
    cfg[where][key] = "system_u:system_r:container_t:s0" if lsm == "selinux" else "corpus"
    ours = capsa.run_config("lsm-" + key, cfg, ARGS, rootfs)
    assert not ours[1], ours[1]
    assert ours[0].returncode == 1, ours[0]
    assert f"{where}.{key}: " in ours[0].stderr and "not enabled on this host" in \
        ours[0].stderr, ours[0].stderr
    also_runc(request, "lsm-" + key, cfg, rootfs, ours)
