"""oomScoreAdj with a user namespace (Docker --userns-remap writes oomScoreAdj into
every config): set before the namespace is entered, for run and exec, as runc does.
Inside the user namespace a non-dumpable process's /proc/self files belong to the
host's root, which is not mapped there, so writing it afterwards is refused."""
import pytest

from capsatest import set_namespace

USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def userns_oom(value):
    def tweak(cfg):
        set_namespace(cfg, "user")
        cfg["linux"]["uidMappings"] = USERNS_MAP
        cfg["linux"]["gidMappings"] = USERNS_MAP
        cfg["process"]["oomScoreAdj"] = value
    return tweak


@pytest.mark.parametrize("value", [0, 500])
def test_run_and_exec_with_userns_and_oom_score_adj(ct, value):
    b = ct.bundle(args=["sleep", "1000"], tweak=userns_oom(value), base=ct.world_dir())
    ct.create(b)
    ct.start(b.id)
    r = ct.capsa("exec", b.id, "cat", "/proc/self/oom_score_adj")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(value)
    init = ct.state(b.id)["pid"]
    with open(f"/proc/{init}/oom_score_adj") as f:
        assert f.read().strip() == str(value)
    ct.capsa("kill", b.id, "KILL", check=True)
    ct.wait_status(b.id, "stopped")
    ct.capsa("delete", b.id, check=True)
