"""cgroup v1 release_agent (CVE-2022-0492): the program in a hierarchy's
release_agent is run by the host kernel, as root in the host's namespaces, when a
cgroup with notify_on_release empties. A container that can write it owns the host.

The hierarchies these tests mount are new, empty, named ones (none,name=...) that
exist only while the attack runs; the host's own hierarchies are only opened for
writing, never written."""
import os

import pytest

V1 = os.path.exists("/proc/cgroups") and any(
    l.split()[1] != "0" for l in open("/proc/cgroups").read().splitlines()[1:] if l.split())


def _name():
    return f"capsa-sec-{os.getpid()}"


def test_release_agent_via_user_namespace(sec):
    """The published exploit: unshare(user+mount+cgroup ns), mount cgroup v1, write
    release_agent. seccomp stops it at unshare. The control (seccomp off) gets past
    unshare; on current kernels the kernel itself then refuses — a new hierarchy
    only in the initial cgroup namespace, release_agent only with CAP_SYS_ADMIN in
    the initial user namespace (Linux 5.17) — but older kernels did not."""
    sec.attack("release_agent_userns", _name()).assert_blocked("EPERM", step="unshare")
    r = sec.attack("release_agent_userns", _name(), off=["seccomp"])
    assert r.ok or r.step in ("mount-cgroup", "write-release_agent"), \
        f"control: without seccomp the attack should get past unshare: {r!r}"


LAYERS = ["seccomp", "cap:CAP_SYS_ADMIN", "ns:cgroup"]


def test_release_agent_direct_mount(sec):
    """The same without a user namespace, from a container that has CAP_SYS_ADMIN:
    seccomp (mount), the missing capability and the cgroup namespace (no new
    hierarchies from inside one) each stop it alone; with all three off the
    container writes the release_agent of a new hierarchy — one the host kernel
    would run as root."""
    sec.attack("release_agent_direct", _name()).assert_blocked("EPERM", step="mount-cgroup")
    for keep in LAYERS:
        off = [l for l in LAYERS if l != keep]
        sec.attack("release_agent_direct", _name(), off=off) \
            .assert_blocked("EPERM", step="mount-cgroup")
    sec.attack("release_agent_direct", _name(), off=LAYERS).assert_ok()


@pytest.mark.skipif(not V1, reason="no cgroup v1 hierarchies on this host")
def test_release_agent_of_mounted_hierarchies(sec):
    """/sys/fs/cgroup as the default spec mounts it: a cgroup namespace (each
    hierarchy's root is the container's cgroup, which has no release_agent file)
    and read-only. Each holds alone; with both off, the host hierarchy's
    release_agent can be opened for writing (and is not written)."""
    hier = next(h for h in sorted(os.listdir("/sys/fs/cgroup"))
                if os.path.exists(f"/sys/fs/cgroup/{h}/release_agent"))
    path = f"/sys/fs/cgroup/{hier}/release_agent"
    sec.attack("open_wr", path).assert_blocked(("ENOENT", "EROFS"))
    # Without a cgroup namespace capsa binds the container's own cgroup of each
    # hierarchy (never the host's root, which holds release_agent), read-only.
    sec.attack("open_wr", path, off=["ns:cgroup"]).assert_blocked(("ENOENT", "EROFS"))
    sec.attack("open_wr", path, off=["rw-mount:/sys/fs/cgroup"]).assert_blocked("ENOENT")
    sec.attack("open_wr", path, off=["ns:cgroup", "rw-mount:/sys/fs/cgroup"]
               ).assert_blocked("ENOENT")

    # Control: the host hierarchy's root bind-mounted writable by the config does
    # expose release_agent for writing (it is opened, never written).
    def host_hierarchy(c):
        c["mounts"].append({"destination": f"/hostcg/{hier}", "type": "bind",
                            "source": f"/sys/fs/cgroup/{hier}", "options": ["rbind", "rw"]})
    sec.attack("open_wr", f"/hostcg/{hier}/release_agent", tweak=host_hierarchy).assert_ok()
