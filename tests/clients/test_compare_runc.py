"""The same podman and ctr commands on capsa and on runc: same exit code, same
stdout (where the output is deterministic). The issue-8 rule "compared against
runc on the same command"; the per-feature tests in test_podman.py and
test_containerd.py check the behaviour itself."""
import shutil
import subprocess

import pytest

from conftest import CAPSA, CG_PARENT, CTR_IMAGE, IMAGE

RUNC = shutil.which("runc")
pytestmark = pytest.mark.skipif(RUNC is None, reason="runc not installed")

STATUS = "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status"

PODMAN_CASES = {
    "echo": ([], ["echo", "hi"]),
    "exit-code": ([], ["sh", "-c", "exit 7"]),
    "stderr-and-stdout": ([], ["sh", "-c", "echo out; echo err >&2; exit 3"]),
    "id-and-hostname-len": ([], ["sh", "-c", "id; hostname | wc -c"]),
    "read-only": (["--read-only"], ["sh", "-c", "touch /x; echo rc=$?; touch /tmp/y; echo tmp=$?"]),
    "cap-drop-all-add-one": (["--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE"],
                             ["sh", "-c", STATUS]),
    "no-new-privileges": (["--security-opt", "no-new-privileges"], ["sh", "-c", STATUS]),
    "network-none": (["--network", "none"], ["sh", "-c", "ls /sys/class/net"]),
    "userns": (["--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536"],
               ["cat", "/proc/self/uid_map", "/proc/self/gid_map"]),
    "env-and-workdir": (["-e", "FOO=bar", "-w", "/tmp"], ["sh", "-c", "echo $FOO; pwd"]),
    "user": (["--user", "1000:1000"], ["id"]),
    "pids-limit-refuses-forks": (["--pids-limit", "5"],
                                 ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done "
                                  "2>/dev/null; echo done"]),
}


@pytest.mark.parametrize("case", sorted(PODMAN_CASES))
def test_podman_same_as_runc(podman, case):
    opts, cmd = PODMAN_CASES[case]

    def run(runtime):
        argv = ["podman", "--runtime", runtime, "run", "--rm", "--cgroup-parent", CG_PARENT,
                *opts, IMAGE, *cmd]
        return subprocess.run(argv, capture_output=True, text=True, env=podman.env,
                              timeout=60, cwd=podman.cwd)
    ours, theirs = run(CAPSA), run(RUNC)
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), \
        f"capsa: {ours!r}\nrunc: {theirs!r}"


CTR_CASES = {
    "echo": ["echo", "hi"],
    "exit-code": ["sh", "-c", "exit 9"],
    "id": ["id"],
    "caps": ["sh", "-c", STATUS],
}


@pytest.mark.parametrize("case", sorted(CTR_CASES))
def test_ctr_same_as_runc(containerd, case):
    def run(runtime, tag):
        cid = containerd.id(f"cmp-{case}-{tag}")
        return containerd("run", "--runc-binary", runtime, "--cgroup", f"{CG_PARENT}/{cid}",
                          "--rm", CTR_IMAGE, cid, *CTR_CASES[case], check=False)
    ours, theirs = run(CAPSA, "capsa"), run(RUNC, "runc")
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), \
        f"capsa: {ours!r}\nrunc: {theirs!r}"
