"""`capsa features` claims only what works: each claim is exercised here."""
import json

import pytest

from capsatest import CAP_NUMBERS, apparmor_enabled, cap_mask, status_caps
from conf import create_refused
from mounts_opts import option_mounts
from test_config_linux import NS_FILES, new_ns_differs
from test_hooks import KINDS


def _features(ct):
    return json.loads(ct.capsa("features", check=True).stdout)


def test_features_namespaces_can_be_created(ct):
    claimed = _features(ct)["linux"]["namespaces"]
    assert set(claimed) <= set(NS_FILES), claimed
    for t in claimed:
        new_ns_differs(ct, t)


def _host_bounding():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return 0


def test_features_capabilities_are_granted(ct):
    """Every capability features lists is granted, as far as the runtime holds it
    itself; one this host's bounding set lacks is refused by name."""
    caps = _features(ct)["linux"]["capabilities"]
    bnd = _host_bounding()
    held = [c for c in caps if bnd >> CAP_NUMBERS[c] & 1]
    missing = [c for c in caps if c not in held]

    def tweak_for(lst):
        def tweak(c):
            c["process"]["capabilities"] = {k: list(lst) for k in
                                            ("bounding", "effective", "permitted")}
            c["process"]["noNewPrivileges"] = False
        return tweak
    got = status_caps(ct.sh("cat /proc/self/status", tweak=tweak_for(held)))
    assert got["CapEff"] == cap_mask(held), hex(got["CapEff"])
    for c in missing:
        r = ct.run(tweak=tweak_for(held + [c]))
        assert r.returncode != 0 and c in r.stderr, r.stderr


def test_features_mount_options_accepted(ct):
    opts = _features(ct)["mountOptions"]
    tweak, where = option_mounts(ct, [o for o in opts if o != "tmpcopyup"])
    out = ct.sh("cat /proc/self/mountinfo", tweak=tweak)
    for o, dst in where.items():
        assert f" {dst} " in out, f"{o}: not mounted at {dst}"
    ct.run_ok(tweak=lambda c: c["mounts"].append(
        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup"]}))


def test_features_hooks_are_the_tested_kinds(ct):
    assert sorted(_features(ct)["hooks"]) == sorted(KINDS)


def test_features_seccomp_values_accepted(ct):
    sc = _features(ct)["linux"]["seccomp"]
    assert sc["enabled"]
    rules = [{"names": ["acct"], "action": a} for a in sc["actions"]
             if a not in ("SCMP_ACT_NOTIFY",)]
    rules += [{"names": ["swapon"], "action": "SCMP_ACT_ERRNO",
               "args": [{"index": 1, "value": 7, "valueTwo": 7, "op": op}]}
              for op in sc["operators"]]
    for flag in sc["supportedFlags"]:
        ct.run_ok(tweak=lambda c: c["linux"].update(seccomp={
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": sc["archs"],
            "flags": [flag], "syscalls": rules}))
    # and the filter acts: ERRNO on getcwd
    out = ct.sh("pwd 2>&1; cd /tmp && /bin/pwd 2>&1 || echo failed", tweak=lambda c: c[
        "linux"].update(seccomp={"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    assert "failed" in out or "not permitted" in out.lower(), out


def test_features_disabled_lsms_and_rdt_are_refused(ct):
    f = _features(ct)["linux"]
    # AppArmor is supported (applied where the host has it on, tests/integration/
    # test_apparmor.py); SELinux, Intel RDT and rdma are not
    assert f["apparmor"]["enabled"] and not f["selinux"]["enabled"]
    assert not f["intelRdt"]["enabled"] and not f["cgroup"]["rdma"]
    if not apparmor_enabled():   # no AppArmor on this host: a profile cannot be applied
        create_refused(ct, lambda c: c["process"].update(apparmorProfile="p"),
                       "apparmorProfile")
    create_refused(ct, lambda c: c["process"].update(selinuxLabel="l"), "selinuxLabel")
    create_refused(ct, lambda c: c["linux"].update(resources={"rdma": {"x": {"hcaHandles": 1}}}),
                   "rdma")


def test_features_cgroup_v1_used_on_this_host(ct):
    assert _features(ct)["linux"]["cgroup"]["v1"]
    b = ct.running(tweak=lambda c: c["linux"].update(resources={"pids": {"limit": 9}}))
    pid = ct.state(b.id)["pid"]
    lines = open(f"/proc/{pid}/cgroup").read().splitlines()
    assert any(l.split(":")[1] == "pids" and b.id in l for l in lines), lines
