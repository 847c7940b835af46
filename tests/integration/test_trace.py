"""CAPSA_TRACE=1: the time of each setup phase on stderr (docs/performance.md)."""
import os
import re
import subprocess

from capsatest import CAPSA

LINE = re.compile(r"^capsa: trace \+ *([0-9.]+) ms  \[pid (\d+)\] (.+)$")
# (the cgroup is made before init when init is cloned in one go, as here)
PHASES = ["main", "parse config.json", "state dir", "cgroup", "seccomp filter", "namespaces",
          "init forked", "mounts", "process (rlimits, user, caps)", "created",
          "started", "exited", "deleted"]


def _run(ct, env_extra):
    b = ct.bundle(("true",))
    env = dict(os.environ, **env_extra)
    return subprocess.run([CAPSA, "--root", ct.root, "run", "--bundle", b.path, b.id],
                          capture_output=True, text=True, env=env, timeout=60)


def test_trace_prints_every_phase_in_order(ct):
    r = _run(ct, {"CAPSA_TRACE": "1"})
    assert r.returncode == 0, r.stderr
    marks = [LINE.match(l) for l in r.stderr.splitlines() if l.startswith("capsa: trace")]
    assert all(marks), r.stderr
    names = [m[3] for m in marks]
    # every phase once (exec's mark may land before or after "created")
    for p in PHASES + ["exec"]:
        assert names.count(p) == 1, (p, names)
    times = {m[3]: float(m[1]) for m in marks}
    ordered = [times[p] for p in PHASES]
    assert ordered == sorted(ordered), list(zip(PHASES, ordered))
    # the setup spans processes: the runtime and the container's init (pid 1 inside)
    pids = {m[3]: int(m[2]) for m in marks}
    assert pids["mounts"] == 1 and pids["parse config.json"] != 1


def test_no_trace_without_the_variable(ct):
    r = _run(ct, {"CAPSA_TRACE": "0"})
    assert r.returncode == 0, r.stderr
    assert "trace" not in r.stderr
