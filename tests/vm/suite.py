"""Inside the cgroup v2 guest: the smoke test, then the given pytest files; one
pytest-style summary line for both; exit 0 only if both passed.

    python3 tests/vm/suite.py [TEST_FILE...]     (cwd: the checkout; run by tests/vm/run.py)
"""
import os
import re
import subprocess
import sys
import time

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs"]
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)")


def pytest(files, extra=()):
    """(exit status, {outcome: count}) of one pytest run; its output goes to the console."""
    p = subprocess.Popen(PYTEST + list(extra) + list(files), stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    counts = {}
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if re.search(r" in [\d.]+s", line) and COUNT.search(line):
            counts = {}
            for n, what in COUNT.findall(line):
                what = "error" if what.startswith("error") else what
                counts[what] = counts.get(what, 0) + int(n)
    return p.wait(), counts


def main():
    t0 = time.monotonic()
    kernel = os.uname().release
    print(f"--- cgroup v2 guest: kernel {kernel}, smoke test", flush=True)
    smoke_rc, total = pytest(["tests/vm/test_smoke.py"])
    files = sys.argv[1:]
    rc = 0
    if files:
        print(f"--- cgroup v2 guest: {' '.join(files)}", flush=True)
        rc, counts = pytest(files)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        if rc == 5:  # nothing collected
            rc = 0
    else:
        print("--- cgroup v2 guest: no cgroup test files given or found", flush=True)
    order = ["failed", "passed", "skipped", "deselected", "xfailed", "xpassed", "error"]
    parts = [f"{total[k]} {k if k != 'error' or total[k] == 1 else 'errors'}"
             for k in order if total.get(k)]
    if rc not in (0, 1):  # usage error, interrupted, internal error
        parts.append(f"pytest exited {rc}")
    status = "smoke ok" if smoke_rc == 0 else "SMOKE FAILED"
    summary = f"{', '.join(parts) or 'no tests ran'} in {time.monotonic() - t0:.1f}s " \
              f"(cgroup v2 guest, {status})"
    print(f"{'=' * 10} {summary} {'=' * 10}", flush=True)
    return 1 if smoke_rc or rc else 0


if __name__ == "__main__":
    sys.exit(main())
