"""capsa against runc 1.1 on the same command lines (issue 23).

Each case in cli_helpers.CASES runs the same sequence of commands with runc and
with capsa (separate --root dirs and cgroup parents, busybox bundles made per
case) and compares exit codes, `state` fields, output and the error phrases
clients match on. A difference fails the test unless docs/compat.md lists it in
"## Command line and exit codes" (a table row starting with `case` or
`case/step`). tests/compat/runc_cli.py prints the same comparison as a table.
"""
import os
import shutil
import tempfile

import pytest

import cli_helpers as h

pytestmark = [
    pytest.mark.skipif(not os.path.exists(h.RUNC), reason=f"runc not found at {h.RUNC}"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the comparison runs containers as root"),
    pytest.mark.skipif(not os.path.exists(h.CAPSA), reason=f"capsa not built at {h.CAPSA}"),
]


@pytest.fixture(scope="module")
def base():
    d = tempfile.mkdtemp(prefix="capsa-cli-cmp-", dir="/tmp")
    yield d
    left = h.leftovers(d)
    h.remove_roots(d)
    shutil.rmtree(d, ignore_errors=True)
    assert not left, f"left behind: {left}"


@pytest.fixture(scope="module")
def listed():
    return h.listed_differences()


@pytest.mark.parametrize("cid", list(h.CASES))
def test_same_as_runc(cid, base, listed):
    obs = h.run_case(cid, base)
    unlisted = [d for d in h.diff(cid, obs) if not h.is_listed(d[0], listed)]
    assert not unlisted, "differences from runc not listed in docs/compat.md:\n" + "\n".join(
        f"  {s}: runc {a!r}, capsa {b!r}" for s, a, b in unlisted)
    # every observation of this case leaves nothing behind
    assert not h.leftovers(base), h.leftovers(base)


def test_compat_md_lists_only_known_cases(listed):
    """Every id listed in the section names a case that exists (no stale rows)."""
    stale = [l for l in listed if l.split("/")[0] not in h.CASES]
    assert not stale, f"docs/compat.md lists unknown cases: {stale}"


def test_listing_parser(tmp_path):
    """The listing format: table rows in the section, first cell `id`; other sections
    and prose do not count."""
    md = tmp_path / "compat.md"
    md.write_text("# x\n## Configs\n| `kill.running` | other section |\n"
                  f"{h.SECTION}\n\nprose `cli.help` here\n| case | why |\n|---|---|\n"
                  "| `cli.no-args` | because |\n| `exec.basic/echo/rc` | x |\n## Next\n"
                  "| `pause.running` | y |\n")
    got = h.listed_differences(str(md))
    assert got == {"cli.no-args", "exec.basic/echo/rc"}
    assert h.is_listed("cli.no-args/rc", got)
    assert h.is_listed("exec.basic/echo/rc", got)
    assert not h.is_listed("exec.basic/echo/out", got)
    assert not h.is_listed("kill.running/rc", got)
