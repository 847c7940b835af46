"""process: args, env, cwd, user, umask, rlimits, oomScoreAdj, noNewPrivileges,
capabilities (all five sets, read from /proc/self/status), exit codes."""
import os

import pytest

from capsatest import (CAP_NUMBERS, DEFAULT_CAPS, cap_mask, error_lines, set_namespace,
                       status_caps)


def _host_bounding():
    with open("/proc/self/status") as f:
        return status_caps(f.read())["CapBnd"]


def _proc(c, **kw):
    c["process"].update(kw)


def test_args(ct):
    assert ct.run_ok(["echo", "hello", "two  words", ""]) == "hello two  words \n"


def test_args_path_lookup(ct):
    """args[0] without a slash is looked up in the container's PATH."""
    assert ct.run_ok(["busybox", "echo", "found"]) == "found\n"


def test_env(ct):
    def tweak(c):
        c["process"]["env"] += ["FOO=bar", "WITH_SPACE=a b", "EMPTY="]
    out = ct.run_ok(["env"], tweak=tweak)
    env = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    assert env["FOO"] == "bar"
    assert env["WITH_SPACE"] == "a b"
    assert env["EMPTY"] == ""
    assert env["PATH"].startswith("/usr/local/sbin")
    for host_var in ("PYTEST_CURRENT_TEST", "CAPSA", "PWD"):
        assert host_var not in env, f"host variable {host_var} leaked"


def test_cwd(ct):
    assert ct.run_ok(["pwd"], tweak=lambda c: _proc(c, cwd="/tmp")) == "/tmp\n"


def test_cwd_created_if_missing(ct):
    r = ct.run(["pwd"], tweak=lambda c: _proc(c, cwd="/work/dir"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "/work/dir\n"
    assert os.path.isdir(os.path.join(r.bundle.rootfs, "work", "dir"))


def test_cwd_resolved_inside_rootfs(ct):
    """A cwd through a symlink pointing outside lands inside the rootfs."""
    b = ct.bundle(args=["sh", "-c", "pwd; ls"], tweak=lambda c: _proc(c, cwd="/evil"))
    os.symlink("/etc", os.path.join(b.rootfs, "evil"))
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert "hostname-in-rootfs" in r.stdout.split()  # the rootfs /etc, not the host's
    assert "os-release" not in r.stdout.split()


def test_user_uid_gid_additional_gids(ct):
    def tweak(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [2000, 2001]}
    out = ct.run_ok(["sh", "-c", "id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' "
                     "/proc/self/status"], tweak=tweak)
    lines = out.splitlines()
    assert lines[0] == "1000"
    assert lines[1] == "1001"
    assert sorted(lines[2].split()) == ["1001", "2000", "2001"]
    st = {l.split(":")[0]: l.split()[1:] for l in lines[3:]}
    assert st["Uid"] == ["1000"] * 4
    assert st["Gid"] == ["1001"] * 4
    assert sorted(st["Groups"]) == ["2000", "2001"]


def test_user_root_has_no_supplementary_groups(ct):
    out = ct.run_ok(["grep", "^Groups:", "/proc/self/status"])
    assert out.split()[1:] in ([], ["0"])


def test_user_nobody(ct):
    def tweak(c):
        c["process"]["user"] = {"uid": 65534, "gid": 65534}
    r = ct.run(["sh", "-c", "id; touch /tmp/x"], tweak=tweak)
    assert r.stdout.startswith("uid=65534(nobody) gid=65534(nobody)")
    assert r.returncode != 0  # read-only root


def test_umask(ct):
    def tweak(c):
        c["process"]["user"]["umask"] = 0o027
        c["mounts"].append({"destination": "/w", "type": "tmpfs", "source": "tmpfs"})
    out = ct.run_ok(["sh", "-c", "umask; touch /w/f; mkdir /w/d; stat -c %a /w/f /w/d"],
                    tweak=tweak)
    assert out.split() == ["0027", "640", "750"]


def test_default_umask(ct):
    assert ct.run_ok(["sh", "-c", "umask"]).strip() == "0022"


def test_rlimits(ct):
    def tweak(c):
        c["process"]["rlimits"] = [
            {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
            {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
            {"type": "RLIMIT_STACK", "soft": 4194304, "hard": 8388608},
        ]
    out = ct.run_ok(["sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/self/limits"],
                    tweak=tweak)
    lines = out.splitlines()
    assert lines[:2] == ["512", "1024"]
    limits = {}
    for l in lines[3:]:
        name = l[:26].strip()
        limits[name] = l[26:].split()[:2]
    assert limits["Max open files"] == ["512", "1024"]
    assert limits["Max processes"] == ["300", "400"]
    assert limits["Max core file size"] == ["0", "0"]
    assert limits["Max stack size"] == ["4194304", "8388608"]


def test_default_rlimit_nofile(ct):
    assert ct.run_ok(["sh", "-c", "ulimit -n; ulimit -Hn"]).split() == ["1024", "1024"]


def test_rlimit_unknown_type_errors(ct):
    def tweak(c):
        c["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1})
    r = ct.run(["true"], tweak=tweak)
    assert r.returncode != 0
    assert "RLIMIT_BOGUS" in r.stderr
    assert os.listdir(ct.root) == []


def _host_has(cap):
    return bool(_host_bounding() & (1 << CAP_NUMBERS[cap]))


@pytest.mark.parametrize("adj", [500, 0, pytest.param(-100, marks=pytest.mark.skipif(
    not _host_has("CAP_SYS_RESOURCE"), reason="host lacks CAP_SYS_RESOURCE"))])
def test_oom_score_adj(ct, adj):
    out = ct.run_ok(["cat", "/proc/self/oom_score_adj"],
                    tweak=lambda c: _proc(c, oomScoreAdj=adj))
    assert out.strip() == str(adj)


@pytest.mark.parametrize("nnp,expect", [(True, "1"), (False, "0")])
def test_no_new_privileges(ct, nnp, expect):
    out = ct.run_ok(["grep", "^NoNewPrivs:", "/proc/self/status"],
                    tweak=lambda c: _proc(c, noNewPrivileges=nnp))
    assert out.split()[1] == expect


def _caps(ct, caps, user=None):
    def tweak(c):
        c["process"]["capabilities"] = caps
        if user:
            c["process"]["user"] = user
    return status_caps(ct.run_ok(["cat", "/proc/self/status"], tweak=tweak))


def test_default_capabilities(ct):
    caps = status_caps(ct.run_ok(["cat", "/proc/self/status"]))
    m = cap_mask(DEFAULT_CAPS)
    assert m == 0xa80425fb
    assert caps == {"CapInh": 0, "CapPrm": m, "CapEff": m, "CapBnd": m, "CapAmb": 0}


def test_capabilities_five_sets_non_root(ct):
    """For a non-root user exec keeps exactly the ambient set in permitted/effective."""
    sets = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"],
        "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        "inheritable": ["CAP_KILL", "CAP_NET_RAW"],
        "ambient": ["CAP_KILL"],
    }
    caps = _caps(ct, sets, user={"uid": 1000, "gid": 1000})
    assert caps == {"CapBnd": cap_mask(sets["bounding"]),
                    "CapInh": cap_mask(sets["inheritable"]),
                    "CapPrm": cap_mask(["CAP_KILL"]),
                    "CapEff": cap_mask(["CAP_KILL"]),
                    "CapAmb": cap_mask(["CAP_KILL"])}


@pytest.mark.parametrize("nnp", [False, True], ids=["nnp-off", "nnp-on"])
def test_capabilities_five_sets_root(ct, nnp):
    """For uid 0 exec gives permitted = effective = bounding | inheritable, and with
    no_new_privs no more than the permitted set the runtime left before exec."""
    sets = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
        "effective": ["CAP_CHOWN"],
        "permitted": ["CAP_CHOWN", "CAP_KILL"],
        "inheritable": ["CAP_KILL"],
        "ambient": ["CAP_KILL"],
    }

    def tweak(c):
        c["process"]["capabilities"] = sets
        c["process"]["noNewPrivileges"] = nnp
    caps = status_caps(ct.run_ok(["cat", "/proc/self/status"], tweak=tweak))
    bnd, inh, prm = (cap_mask(sets[k]) for k in ("bounding", "inheritable", "permitted"))
    after_exec = (bnd | inh) & prm if nnp else bnd | inh
    assert caps == {"CapBnd": bnd, "CapInh": inh, "CapPrm": after_exec,
                    "CapEff": after_exec, "CapAmb": cap_mask(["CAP_KILL"])}


def test_capabilities_empty(ct):
    caps = _caps(ct, {"bounding": [], "effective": [], "permitted": []})
    assert caps == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}


def test_capabilities_absent_means_none(ct):
    def tweak(c):
        del c["process"]["capabilities"]
    caps = status_caps(ct.run_ok(["cat", "/proc/self/status"], tweak=tweak))
    assert caps == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}


def test_all_capabilities(ct):
    """Every capability the host's bounding set allows (the runtime cannot grant more)."""
    host = _host_bounding()
    names = [n for n, bit in CAP_NUMBERS.items() if host & (1 << bit)]
    caps = _caps(ct, {k: names for k in ("bounding", "effective", "permitted")})
    assert caps["CapBnd"] == host
    assert caps["CapEff"] == host


def test_capability_really_dropped(ct):
    """Without CAP_CHOWN root cannot chown a file it does not own."""
    def tweak(c):
        caps = [x for x in c["process"]["capabilities"]["bounding"] if x != "CAP_CHOWN"]
        c["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
        c["mounts"].append({"destination": "/w", "type": "tmpfs", "source": "tmpfs"})
        c["process"]["user"] = {"uid": 0, "gid": 0}
    r = ct.run(["sh", "-c", "touch /w/f; chown 1000 /w/f; echo rc=$?"], tweak=tweak)
    assert r.stdout.strip() == "rc=1"
    assert "Operation not permitted" in r.stderr


@pytest.mark.capsa_only("unknown capability is an error (runc 1.1 only warns)")
def test_unknown_capability_errors(ct):
    def tweak(c):
        c["process"]["capabilities"]["bounding"].append("CAP_BOGUS")
    r = ct.run(["true"], tweak=tweak)
    assert r.returncode == 1
    assert "CAP_BOGUS" in r.stderr
    assert len(error_lines(r.stderr)) == 1, r.stderr
    assert os.listdir(ct.root) == []


@pytest.mark.parametrize("script,code", [("exit 0", 0), ("exit 1", 1), ("exit 42", 42),
                                         ("exit 255", 255), ("kill -TERM $$", 143),
                                         ("kill -KILL $$", 137), ("kill -SEGV $$", 139)])
def test_exit_codes(ct, script, code):
    # no pid namespace: the shell is not an init, so it can signal itself
    r = ct.run(["sh", "-c", script], tweak=lambda c: set_namespace(c, "pid", present=False))
    assert r.returncode == code, r.stderr


def test_exec_not_found(ct):
    r = ct.run(["/does/not/exist"])
    assert r.returncode != 0
    assert "/does/not/exist" in r.stderr
    assert os.listdir(ct.root) == []


def test_exec_not_executable(ct):
    r = ct.run(["/etc/passwd"])
    assert r.returncode != 0
    assert "/etc/passwd" in r.stderr
    assert os.listdir(ct.root) == []


def test_no_host_fds_leak(ct):
    """Only 0, 1, 2 are open in the container process (CVE-2024-21626)."""
    r = ct.run(["ls", "/proc/self/fd"])
    assert r.returncode == 0, r.stderr
    # ls itself opens one directory fd
    assert len(r.stdout.split()) <= 4, r.stdout
    assert sorted(r.stdout.split())[:3] == ["0", "1", "2"]


def test_not_dumpable_exe_is_busybox(ct):
    out = ct.run_ok(["readlink", "/proc/self/exe"])
    assert out.strip() == "/bin/busybox"
