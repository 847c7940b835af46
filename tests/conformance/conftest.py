"""The conformance suite runs on the integration fixtures (tests/integration/conftest.py):
the same `ct` context, bundles, cgroup parent and leftover check after every test.

The integration conftest is loaded under its own module name, so that both suites can
be collected in one pytest session without two modules called `conftest`."""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(HERE, "..", "integration")
if INTEGRATION not in sys.path:
    sys.path.insert(0, INTEGRATION)


def _load(name, path):
    mod = sys.modules.get(name)
    if mod is None:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return mod


_it = _load("capsa_integration_conftest", os.path.join(INTEGRATION, "conftest.py"))

# Fixtures and hooks pytest must see in this conftest's namespace.
ct = _it.ct
rootfs_template = _it.rootfs_template
_remove_cgroup_parents = _it._remove_cgroup_parents
pytest_configure = _it.pytest_configure
pytest_collection_modifyitems = _it.pytest_collection_modifyitems
pytest_report_header = _it.pytest_report_header
