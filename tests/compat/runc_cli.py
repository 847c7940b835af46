#!/usr/bin/env python3
"""Run the runc-vs-capsa command-line comparison over every verb and print the
differences as a table: case/step, runc's result, capsa's, and whether
docs/compat.md ("## Command line and exit codes") lists it.

  python3 tests/compat/runc_cli.py [CASE-PREFIX...]     (root; runc at $RUNC or on PATH)

Exit status: 0 no unlisted difference, 1 some, 2 runc missing.
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_helpers as h  # noqa: E402


def main(argv):
    if not os.path.exists(h.RUNC):
        print(f"runc not found ({h.RUNC}): nothing to compare with", file=sys.stderr)
        return 2
    prefixes = argv[1:]
    ids = [c for c in h.CASES if not prefixes or any(c.startswith(p) for p in prefixes)]
    listed = h.listed_differences()
    base = tempfile.mkdtemp(prefix="capsa-cli-cmp-", dir="/tmp")
    rows = []
    try:
        for cid in ids:
            print(f"... {cid}", file=sys.stderr, flush=True)
            for step, a, b in h.diff(cid, h.run_case(cid, base)):
                rows.append((cid.split(".")[0], step, repr(a), repr(b),
                             "yes" if h.is_listed(step, listed) else "NO"))
        left = h.leftovers(base)
    finally:
        h.remove_roots(base)
        shutil.rmtree(base, ignore_errors=True)
    hdr = ("verb", "case/step", "runc", "capsa", "listed in compat.md")
    w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(5)]
    w = [min(x, 60) for x in w]
    print("  ".join(str(hdr[i]).ljust(w[i]) for i in range(5)))
    for r in rows:
        print("  ".join(str(r[i])[:60].ljust(w[i]) for i in range(5)))
    unlisted = [r for r in rows if r[4] == "NO"]
    print(f"\n{len(ids)} cases, {len(rows)} differences, {len(unlisted)} not listed in "
          f"docs/compat.md")
    if left:
        print("left behind: " + "; ".join(left))
    return 1 if unlisted or left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
