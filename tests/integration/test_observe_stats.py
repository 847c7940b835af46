"""capsa stats (issue 9): limits and usage, CPU throttling, OOM kills and pids near the
limit are shown, each next to a control container where they are not."""
import json
import os
import time

import pytest

from capsatest import wait_for
from test_observe_helpers import MiB, check_stats_schema, resources, stats

pytestmark = pytest.mark.capsa_only("capsa stats is capsa's own")

BUSY = ["sh", "-c", "while :; do :; done"]


def test_stats_shows_limits_and_usage(ct):
    b = ct.running(tweak=lambda c: resources(c, memory=64 * MiB, pids=32, cpus=0.5))
    e = stats(ct, b.id, interval=0.1)[b.id]
    assert e["pid"] == ct.state(b.id)["pid"] and e["status"] == "running"
    assert e["interval_s"] == pytest.approx(0.1, abs=0.09)
    assert e["memory"]["limit"] == 64 * MiB
    assert 0 < e["memory"]["usage"] < 64 * MiB
    assert e["memory"]["percent"] == pytest.approx(100 * e["memory"]["usage"] / (64 * MiB))
    assert e["pids"] == {"current": 1, "limit": 32, "percent": pytest.approx(100 / 32),
                         "max_events": 0}
    assert e["cpu"]["quota_us"] == 50000 and e["cpu"]["period_us"] == 100000
    assert e["cpu"]["limit_cpus"] == pytest.approx(0.5)
    assert e["cpu"]["percent_host"] is not None and e["cpu"]["percent_host"] < 50
    # An idle container: nothing near a limit. (Its start-up may just have been
    # throttled under a slow emulated CPU: that warning is the throttling test's job.)
    assert [w for w in e["warnings"] if not w.startswith("cpu throttled")] == []
    if os.path.exists("/proc/pressure/cpu"):  # PSI: cgroup2 files, hybrid hosts too
        assert e["psi"]["cpu_some"]["total_us"] >= 0
    # control: no limits set -> none shown
    free = ct.running()
    f = stats(ct, free.id, interval=0)[free.id]
    assert f["memory"]["limit"] is None and f["pids"]["limit"] is None
    assert f["cpu"]["quota_us"] is None and f["interval_s"] is None
    assert f["cpu"]["percent_host"] is None  # one sample: no rate
    # the table shows the same
    r = ct.capsa("stats", "--interval", "0", "--color", "never", b.id, free.id, check=True)
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["ID", "CPU%"]
    row = next(l for l in lines if l.startswith(b.id))
    assert "/ 64.0 MiB" in row and "1 / 32" in row
    row = next(l for l in lines if l.startswith(free.id))
    assert "/ none" in row


def test_busy_loop_under_quota_is_throttled(ct):
    busy = ct.running(args=BUSY, tweak=lambda c: resources(c, cpus=0.5))
    idle = ct.running(tweak=lambda c: resources(c, cpus=0.5))
    # A loaded host may starve the loop below its quota for a while: a few tries.
    s = wait_for(lambda: (lambda s: s if s[busy.id]["cpu"]["interval_throttled"] else None)(
        stats(ct, busy.id, idle.id, interval=0.6)), timeout=10, interval=0,
        what="a throttled interval")
    cpu = s[busy.id]["cpu"]
    assert cpu["nr_throttled"] >= cpu["interval_throttled"] > 0
    assert cpu["interval_throttled_ns"] > 0
    # at most its 0.5 CPU: percent_limit up to (never much above) 100
    assert 5 < cpu["percent_limit"] <= 115, cpu
    assert any("throttled" in w for w in s[busy.id]["warnings"]), s[busy.id]["warnings"]
    assert s[idle.id]["cpu"]["interval_throttled"] == 0
    assert not any("throttled" in w for w in s[idle.id]["warnings"])
    wait_for(lambda: f"! {busy.id}: cpu throttled in" in ct.capsa(
        "stats", "--interval", "0.3", "--color", "never", busy.id, check=True).stdout,
        timeout=10, interval=0, what="the throttling warning in the table")


def test_oom_kill_counted(ct):
    # tail on /dev/zero never sees a newline: it grows until the OOM killer stops it,
    # then init goes on sleeping.
    b = ct.running(args=["sh", "-c", "tail /dev/zero; exec sleep 1000"],
                   tweak=lambda c: resources(c, memory=32 * MiB, swap=32 * MiB))
    control = ct.running(tweak=lambda c: resources(c, memory=32 * MiB, swap=32 * MiB))

    def killed():
        e = stats(ct, b.id, interval=0)[b.id]
        return e if e["memory"]["oom_kill"] >= 1 else None
    e = wait_for(killed, timeout=20, what="an OOM kill in the stats")
    assert e["memory"]["peak"] > 24 * MiB
    assert any("OOM kill" in w for w in e["warnings"]), e["warnings"]
    c = stats(ct, control.id, interval=0)[control.id]
    assert c["memory"]["oom_kill"] == 0 and not c["warnings"]


def test_pids_near_limit(ct):
    # A child shell forks sleeps until pids.max refuses (a failed fork ends that
    # shell); init then execs: init + 8 sleeps = 9 of 10 remain.
    b = ct.running(args=["sh", "-c", "sh -c 'for i in $(seq 20); do sleep 1000 & done' "
                         "2>/dev/null; exec sleep 1000"],
                   tweak=lambda c: resources(c, pids=10))
    control = ct.running(tweak=lambda c: resources(c, pids=10))

    def full():
        e = stats(ct, b.id, interval=0)[b.id]
        return e if e["pids"]["current"] >= 9 else None
    e = wait_for(full, timeout=10, what="pids near the limit")
    assert e["pids"]["limit"] == 10 and e["pids"]["percent"] >= 90
    assert e["pids"]["max_events"] > 0  # the forks beyond the limit were refused
    assert any("pids at" in w for w in e["warnings"]), e["warnings"]
    assert any("refused by pids.max" in w for w in e["warnings"])
    c = stats(ct, control.id, interval=0)[control.id]
    assert c["pids"]["current"] == 1 and c["warnings"] == []


def test_watch_all_json_lines(ct):
    a = ct.running()
    b = ct.running(tweak=lambda c: resources(c, memory=48 * MiB))
    stopped = ct.bundle(args=["true"])
    ct.create(stopped)
    ct.start(stopped.id)
    ct.wait_status(stopped.id, "stopped")
    t0 = time.monotonic()
    r = ct.capsa("stats", "--all", "--watch", "0.2", "--count", "3", "--format", "json",
                 check=True)
    assert time.monotonic() - t0 >= 0.5
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    for line in lines:
        doc = json.loads(line)
        for e in doc:
            check_stats_schema(e)
        assert sorted(e["id"] for e in doc) == sorted([a.id, b.id])  # not the stopped one
        assert all(e["interval_s"] == pytest.approx(0.2, abs=0.15) for e in doc)
    mem = {e["id"]: e["memory"]["limit"] for e in json.loads(lines[-1])}
    assert mem == {a.id: None, b.id: 48 * MiB}
    # not on a terminal: plain lines, no screen clearing
    r = ct.capsa("stats", "--all", "--watch", "0.1", "--count", "2", check=True)
    assert "\033[2J" not in r.stdout and r.stdout.count("ID ") == 2


def test_stats_errors(ct):
    r = ct.capsa("stats", "nosuch")
    assert r.returncode == 1 and 'container "nosuch" does not exist' in r.stderr
    r = ct.capsa("stats")
    assert r.returncode == 1 and "give container ids or --all" in r.stderr
    r = ct.capsa("stats", "--watch", "abc", "--all")
    assert r.returncode == 1 and "--watch: not a number of seconds" in r.stderr
    r = ct.capsa("stats", "--all", "--interval", "0", check=True)
    assert "(no running containers)" in r.stdout
    # a stopped container keeps its state: stats says so instead of failing
    b = ct.bundle(args=["true"])
    ct.create(b)
    ct.start(b.id)
    ct.wait_status(b.id, "stopped")
    e = stats(ct, b.id, interval=0)[b.id]
    assert e["status"] == "stopped"
