"""docs/conformance.md is generated from this suite and must be current; every clause
has exactly one test or a reason."""
import importlib.util
import os

GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                   "gen-conformance.py")


def _gen():
    spec = importlib.util.spec_from_file_location("capsa_gen_conformance", GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_clause_has_a_test_or_a_reason():
    g = _gen()
    assert g.problems(g.load_clauses(), g.clause_tests()) == []


def test_conformance_doc_is_current():
    g = _gen()
    with open(g.DOC) as f:
        on_disk = f.read()
    assert on_disk == g.render(g.load_clauses(), g.clause_tests()), \
        "docs/conformance.md is stale: run scripts/gen-conformance.py"


def test_problems_are_found():
    """Control: the checker does see a missing test, a stray @clause and a clash."""
    g = _gen()
    C = g.load_clauses()[0].__class__
    clauses = [C("a", "runtime.md", "s", "t", None), C("b", "runtime.md", "s", "t", "why")]
    out = g.problems(clauses, {"b": [("f.py", "test_b")], "zz": [("f.py", "test_zz")]})
    assert any(p.startswith("a: has neither") for p in out)
    assert any(p.startswith("b: has both") for p in out)
    assert any("test_zz" in p for p in out)
