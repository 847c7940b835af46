"""Limits a container hit, told in one line with the number like the OOM kill
(issue 22): at `run` exit on stderr, and as {"type":"limit"} lines of `events`."""
import json
import re

import pytest


def pids(limit):
    def tweak(cfg):
        cfg["linux"].setdefault("resources", {})["pids"] = {"limit": limit}
    return tweak


FORKS = "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait; true"


@pytest.mark.capsa_only("the limit-hit line is capsa's")
def test_run_exit_says_forks_were_refused(ct):
    r = ct.run(["sh", "-c", FORKS], tweak=pids(4))
    m = re.search(r"capsa: container \S+: fork refused (\d+) times? at its pids limit \(4\)",
                  r.stderr)
    assert m and int(m.group(1)) >= 1, r.stderr


def test_control_no_line_without_a_hit(ct):
    r = ct.run(["sh", "-c", FORKS], tweak=pids(100))
    assert r.returncode == 0, r.stderr
    assert "fork refused" not in r.stderr, r.stderr


@pytest.mark.capsa_only("limit events are capsa's")
def test_events_stream_tells_refused_forks(ct):
    b = ct.running(args=("sleep", "1000"), tweak=pids(3))
    ev = ct.popen("events", "--interval", "100ms", b.id)
    r = ct.capsa("exec", b.id, "sh", "-c", FORKS)
    assert "can't fork" in r.stderr or r.returncode != 0, (r.returncode, r.stderr)
    limit = None
    for line in ev.stdout:
        o = json.loads(line)
        if o["type"] == "limit":
            limit = o
            break
    ct.capsa("kill", b.id, "KILL", check=True)
    ev.communicate(timeout=10)
    assert limit and limit["id"] == b.id, limit
    assert re.search(r"fork refused \d+ times? at its pids limit \(3\)",
                     limit["data"]["message"]), limit
    ct.wait_status(b.id, "stopped")
    ct.capsa("delete", b.id, check=True)
