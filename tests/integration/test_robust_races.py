"""Races (issue 11): many containers at once, and verbs racing on one id. Every
answer is either a success or a clear one-line error; nothing is left behind."""
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from capsatest import copy_rootfs, error_lines, wait_for

pytestmark = pytest.mark.capsa_only("capsa's one-line messages (already exists, does not exist)")

STATUSES = {"creating", "created", "running", "stopped", "paused"}


def shared_rootfs(ct):
    """One read-only rootfs for many bundles (root.readonly is set)."""
    path = os.path.join(ct.tmp, "shared-rootfs")
    if not os.path.exists(path):
        copy_rootfs(ct.template, path)
    return path


def together(*fns):
    """Run fns in threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def run(i, fn):
        barrier.wait()
        out[i] = fn()
    ts = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def one_line(r, *words):
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    assert any(w in lines[0] for w in words), r.stderr
    return lines[0]


def test_fifty_containers_in_parallel(ct):
    rootfs = shared_rootfs(ct)
    bundles = [ct.bundle(args=("sleep", "1000"), rootfs=rootfs) for _ in range(50)]

    def lifecycle(b):
        steps = []
        for verb in (("create", "--bundle", b.path, b.id), ("start", b.id), ("state", b.id),
                     ("delete", "--force", b.id)):
            r = ct.capsa(*verb, timeout=120)
            steps.append((verb[0], r.returncode, r.stderr.strip()))
            if r.returncode:
                break
            if verb[0] == "state":
                steps[-1] = ("state", 0, json.loads(r.stdout)["status"])
        return steps

    with ThreadPoolExecutor(max_workers=50) as ex:
        results = list(ex.map(lifecycle, bundles))
    bad = [(b.id, s) for b, s in zip(bundles, results)
           if [x[1] for x in s] != [0, 0, 0, 0] or s[2][2] != "running"]
    assert not bad, bad
    assert ct.capsa("list", "-q").stdout.split() == []
    for b in bundles[:3]:
        ct.assert_nothing_created(b.id, bundle=b)


@pytest.mark.parametrize("round_", range(5))
def test_kill_and_delete_force_race(ct, round_):
    b = ct.running()
    kill, delete = together(lambda: ct.capsa("kill", b.id, "KILL"),
                            lambda: ct.capsa("delete", "--force", b.id))
    assert delete.returncode == 0, delete.stderr
    if kill.returncode:
        one_line(kill, "does not exist", "not running")
    ct.assert_nothing_created(b.id, bundle=b)


@pytest.mark.parametrize("round_", range(3))
def test_state_while_delete_runs(ct, round_):
    """Every `state` during a delete says either a valid state or "does not exist"."""
    b = ct.running(args=("sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1000 & done; wait"))
    answers = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            answers.append(ct.capsa("state", b.id))
    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for t in pollers:
        t.start()
    try:
        wait_for(lambda: len(answers) >= 3, what="some state answers")
        r = ct.capsa("delete", "--force", b.id)
        assert r.returncode == 0, r.stderr
        n = len(answers)
        wait_for(lambda: len(answers) >= n + 3, what="state answers after the delete")
    finally:
        stop.set()
        for t in pollers:
            t.join()
    gone = 0
    for a in answers:
        if a.returncode == 0:
            st = json.loads(a.stdout)
            assert st["id"] == b.id and st["status"] in STATUSES, a.stdout
        else:
            one_line(a, f'container "{b.id}" does not exist')
            gone += 1
    assert gone >= 3   # the ones after the delete


@pytest.mark.parametrize("round_", range(5))
def test_two_creates_of_one_id(ct, round_):
    cid = ct.new_id()
    rootfs = shared_rootfs(ct)
    bundles = []
    for name in ("a", "b"):
        base = os.path.join(ct.tmp, f"{name}{round_}")
        os.makedirs(base)
        bundles.append(ct.bundle(args=("sleep", "1000"), cid=cid, base=base, rootfs=rootfs))
    results = together(*[lambda b=b: ct.create(b, check=False) for b in bundles])
    ok = [i for i, r in enumerate(results) if r.returncode == 0]
    assert len(ok) == 1, [(r.returncode, r.stderr) for r in results]
    winner, loser = bundles[ok[0]], bundles[1 - ok[0]]
    one_line(results[1 - ok[0]], f'container "{cid}" already exists')
    # The winner is whole: its state, its bundle, and it starts.
    st = ct.state(cid)
    assert st["status"] == "created" and st["bundle"] == winner.path
    ct.start(cid)
    assert ct.state(cid)["status"] == "running"
    assert [e for e in os.listdir(ct.root) if e.startswith(".")] == []
    ct.capsa("delete", "--force", cid, check=True)
    ct.assert_nothing_created(cid, bundle=loser)
    ct.assert_nothing_created(cid, bundle=winner)
