"""`state` records an OOM kill while the container's cgroup still exists (issue 4)."""


def _limit(mib):
    def tweak(c):
        c["linux"].setdefault("resources", {})["memory"] = {"limit": mib << 20}
    return tweak


def test_state_records_oom_kill(ct):
    b = ct.bundle(args=["sh", "-c", "head -c 200000000 /dev/zero | tail > /dev/null"],
                  tweak=_limit(32))
    r = ct.capsa("run", "--keep", "--bundle", b.path, b.id)
    assert r.returncode == 137, r.stderr
    assert "killed by the OOM killer" in r.stderr
    st = ct.state(b.id)
    assert st["status"] == "stopped" and st.get("oomKilled") is True and st["oomKills"] >= 1
    ct.capsa("delete", b.id, check=True)


def test_state_without_oom_has_no_flag(ct):
    # control: the same container under a limit it never reaches
    b = ct.bundle(args=["sh", "-c", "head -c 1000000 /dev/zero | tail > /dev/null"],
                  tweak=_limit(64))
    r = ct.capsa("run", "--keep", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    st = ct.state(b.id)
    assert st["status"] == "stopped" and "oomKilled" not in st
    ct.capsa("delete", b.id, check=True)
