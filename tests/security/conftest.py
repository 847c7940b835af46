"""Fixtures for the escape tests (tests/security).

Reuses the integration suite's per-test context (`ct`: unique --root, ids, cgroup
parent, leftover check) by loading tests/integration/conftest.py, and adds:

- `attack_bin`: tests/security/attacks/*.c linked into one static binary (gcc -static);
- `spec_template`: the config.json `capsa spec` writes — every container here starts
  from it, with process.args changed and, for a control run, one protection off;
- `sec`: builds such bundles (the busybox rootfs plus /bin/attack) and runs them.

Each attack prints `RESULT ok <detail>` or `RESULT fail <step> <ERRNO>` (see
attacks/common.h); Result parses that line.
"""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(HERE, "..", "integration")
sys.path.insert(0, INTEGRATION)

from capsatest import CAPSA  # noqa: E402
from sectest import Sec  # noqa: E402

_spec = importlib.util.spec_from_file_location("capsa_integration_conftest",
                                               os.path.join(INTEGRATION, "conftest.py"))
_it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_it)

# The integration fixtures, re-exported so that pytest finds them here.
rootfs_template = _it.rootfs_template
_remove_cgroup_parents = _it._remove_cgroup_parents
ct = _it.ct

ATTACK_SRC = os.path.join(HERE, "attacks")


def pytest_report_header(config):
    return [f"runtime under test: {CAPSA}"]


@pytest.fixture(scope="session")
def attack_bin(tmp_path_factory):
    srcs = sorted(os.path.join(ATTACK_SRC, f) for f in os.listdir(ATTACK_SRC)
                  if f.endswith(".c"))
    out = str(tmp_path_factory.mktemp("attack") / "attack")
    r = subprocess.run(["gcc", "-static", "-O1", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                        "-o", out, *srcs], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.exit(f"cannot build the attack programs:\n{r.stderr}", 2)
    return out


@pytest.fixture(scope="session")
def spec_template(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("spec"))
    r = subprocess.run([CAPSA, "spec", "--bundle", d], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["linux"].get("seccomp"), "capsa spec writes no seccomp profile"
    return cfg


@pytest.fixture
def sec(ct, attack_bin, spec_template):
    return Sec(ct, attack_bin, spec_template)
