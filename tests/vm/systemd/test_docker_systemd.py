"""Docker with its systemd cgroup driver (dockerd --exec-opt native.cgroupdriver=systemd,
what Docker uses on systemd hosts) driving capsa, and runc beside it, in the systemd
guest (tests/vm/systemd/run.py, make vm-systemd).

Docker sends cgroupsPath "system.slice:docker:ID": the container runs in the transient
scope docker-ID.scope of system.slice, its limits are unit properties and cgroup files,
`docker update` changes both, an OOM kill shows in `docker inspect`, and `docker rm`
leaves no unit and no cgroup.

Outside that guest every test is skipped with one line.
"""
import os
import sys
import tempfile

import pytest

from test_systemd import (CAPSA, MEM_PROP, MIB, RUNTIMES, assert_in_cgroup, cg_exists,
                          cg_file, show, unit_state)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients"))
from dockerd import Dockerd, build_image_tar, have_docker  # noqa: E402

pytestmark = pytest.mark.skipif(
    os.environ.get("CAPSA_VM_GUEST") != "1" or not os.path.isdir("/run/systemd/system"),
    reason="runs in the systemd guest (tests/vm/systemd/run.py, make vm-systemd)")


@pytest.fixture(scope="module")
def daemon():
    why = have_docker()
    if why:
        pytest.skip(why)
    base = tempfile.mkdtemp(prefix="capsa-docker-sd-")
    runtimes = {"capsa": CAPSA}
    if RUNTIMES[1].values[0]:
        runtimes["runc-anchor"] = RUNTIMES[1].values[0]
    d = Dockerd(base, "sd", runtimes=runtimes, systemd=True, ready=180)
    try:
        d.start()
        d.import_image(build_image_tar(os.path.join(base, "image.tar")))
        yield d
    finally:
        left = d.stop()
        assert not left, f"left behind: {left}"


# The guest's Debian kernel has AppArmor on, as a stock Debian 12 host: with
# apparmor_parser (scripts/deps.sh installs apparmor) dockerd loads docker-default and
# every container runs under it, as on such a host; without it dockerd refuses to run
# containers, so they run unconfined.
PARSER = os.path.exists("/sbin/apparmor_parser") or os.path.exists("/usr/sbin/apparmor_parser")
UNCONFINED = [] if PARSER else ["--security-opt", "apparmor=unconfined"]


def _runtime_name(binary):
    return "capsa" if binary == CAPSA else "runc-anchor"


@pytest.mark.parametrize("binary", RUNTIMES)
def test_docker_systemd_cgroup_driver(daemon, binary):
    """docker run with limits lands in system.slice/docker-ID.scope with the limits as
    properties and files; exec works; update changes both; rm leaves nothing."""
    rt = ["--runtime", _runtime_name(binary), *UNCONFINED]
    cid = daemon.docker("run", "-d", *rt, "--network", "none", "--memory", "64m",
                        "--pids-limit", "33", "--cpus", "0.5", "capsabusybox:latest",
                        "sleep", "1000", timeout=120).stdout.strip()
    unit = f"docker-{cid}.scope"
    cg = f"/system.slice/{unit}"
    try:
        assert daemon.inspect(cid, "{{.HostConfig.Runtime}}") == _runtime_name(binary)
        props = show(unit, "ActiveState", "Slice", "Delegate", MEM_PROP, "TasksMax",
                     "CPUQuotaPerSecUSec", "ControlGroup")
        assert props == {"ActiveState": "active", "Slice": "system.slice", "Delegate": "yes",
                         MEM_PROP: str(64 * MIB), "TasksMax": "33",
                         "CPUQuotaPerSecUSec": "500ms", "ControlGroup": cg}, props
        got = {f: cg_file(cg, f) for f in ("memory.max", "pids.max", "cpu.max")}
        assert got == {"memory.max": str(64 * MIB), "pids.max": "33",
                       "cpu.max": "50000 100000"}, got
        pid = daemon.inspect(cid, "{{.State.Pid}}")
        # every hierarchy systemd manages (runc 1.1.5 leaves misc/rdma at the root)
        assert_in_cgroup(pid, cg)
        r = daemon.docker("exec", cid, "cat", "/proc/self/attr/current", timeout=60)
        if PARSER:   # the runtime put the process (and the exec) under Docker's profile
            assert r.stdout.strip() == "docker-default (enforce)", r.stdout
            with open(f"/proc/{pid}/attr/current") as f:
                assert f.read().strip() == "docker-default (enforce)"
        daemon.docker("update", "--memory", "96m", "--memory-swap", "-1",
                      "--pids-limit", "44", cid, timeout=60)
        props = show(unit, MEM_PROP, "TasksMax")
        assert props == {MEM_PROP: str(96 * MIB), "TasksMax": "44"}, props
        assert (cg_file(cg, "memory.max"), cg_file(cg, "pids.max")) == (str(96 * MIB), "44")
        daemon.docker("stop", "-t", "0", cid, timeout=60)
    finally:
        daemon.docker("rm", "-f", cid, check=False, timeout=60)
    assert unit_state(unit) == ("not-found", "inactive")
    assert not cg_exists(cg), f"docker rm left {cg}"


@pytest.mark.parametrize("binary", RUNTIMES)
def test_docker_systemd_oom_kill(daemon, binary):
    """Past its memory limit the container is OOM-killed: exit 137, as with runc; its
    scope is gone after rm. (Docker 20.10 says OOMKilled false here with runc too: its
    shim reads the scope's memory.events, which systemd has removed by then.)"""
    name = f"sdoom-{_runtime_name(binary)}-{os.getpid()}"
    r = daemon.docker("run", "--name", name, "--runtime", _runtime_name(binary), *UNCONFINED,
                      "--network", "none", "--memory", "32m", "--memory-swap", "32m",
                      "capsabusybox:latest", "sh", "-c", "x=a; while true; do x=$x$x; done",
                      check=False, timeout=120)
    try:
        cid = daemon.inspect(name, "{{.Id}}")
        assert r.returncode == 137, (r.returncode, r.stderr)
    finally:
        daemon.docker("rm", "-f", name, check=False, timeout=60)
    assert unit_state(f"docker-{cid}.scope") == ("not-found", "inactive")
    assert not cg_exists(f"/system.slice/docker-{cid}.scope")
