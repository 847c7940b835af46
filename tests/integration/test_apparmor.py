"""process.apparmorProfile (and `exec --apparmor`): the profile the container's process
runs under, as runc applies it (aa_change_onexec: "exec PROFILE" written to
/proc/self/attr/apparmor/exec just before execve). Docker (docker-default), podman
(containers-default-*) and containerd's CRI (cri-containerd.apparmor.d) send one on every
host where AppArmor is on, e.g. a stock Debian 12 or Ubuntu.

The development hosts run without AppArmor: there only the refusal is checked (one line,
nothing left, as runc fails). The AppArmor tests run in the cgroup v2 guest (`make vm`:
Debian's kernel boots with AppArmor on), which loads its own profiles with
apparmor_parser (package apparmor).
"""
import os
import shutil
import subprocess

import pytest

from capsatest import apparmor_enabled, error_lines

PARSER = shutil.which("apparmor_parser") or (
    "/usr/sbin/apparmor_parser" if os.access("/usr/sbin/apparmor_parser", os.X_OK) else None)


ENABLED = apparmor_enabled()
needs_apparmor = pytest.mark.skipif(
    not ENABLED or not PARSER,
    reason="AppArmor is not enabled here or apparmor_parser is missing: runs in the "
           "cgroup v2 guest (make vm)")

# Everything allowed but reading or writing the secret file (paths as the container
# sees them: attach_disconnected).
PROFILE = """
profile {name} flags=(attach_disconnected,mediate_deleted) {{
  file,
  capability,
  network,
  signal,
  ptrace,
  unix,
  mount,
  umount,
  pivot_root,
  deny /etc/capsa-secret rw,
}}
"""


@pytest.fixture
def profile(ct):
    """A loaded profile named capsa-test-<pid>-<n>; removed from the kernel after."""
    name = f"capsa-test-{os.getpid()}-{ct.new_id()}"
    path = os.path.join(ct.tmp, "profile")
    with open(path, "w") as f:
        f.write(PROFILE.format(name=name))
    r = subprocess.run([PARSER, "-r", "-W", path], capture_output=True, text=True)
    assert r.returncode == 0, f"apparmor_parser -r {path}: {r.stderr}"
    yield name
    subprocess.run([PARSER, "-R", path], capture_output=True)


def _secret_bundle(ct, args, profile_name=None, tweak=None):
    def edit(c):
        if profile_name is not None:
            c["process"]["apparmorProfile"] = profile_name
        if tweak:
            tweak(c)
    b = ct.bundle(args=args, tweak=edit)
    with open(os.path.join(b.path, "rootfs", "etc", "capsa-secret"), "w") as f:
        f.write("TOPSECRET\n")
    return b


SCRIPT = ("cat /proc/self/attr/current; "
          "cat /etc/capsa-secret 2>/dev/null && echo READ-OK || echo READ-DENIED")


def test_refused_where_apparmor_is_off(ct):
    """No AppArmor: one line naming the field, non-zero, nothing left (runc fails too)."""
    if ENABLED:
        pytest.skip("AppArmor is enabled on this host: the refusal is for hosts without it")
    b = _secret_bundle(ct, ["true"], profile_name="docker-default")
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "process.apparmorProfile" in lines[0] and \
        "AppArmor is not enabled" in lines[0], r.stderr
    ct.assert_nothing_created(b.id, b)


@needs_apparmor
def test_profile_confines_the_process(ct, profile):
    """The process runs under the profile (attr/current names it, enforce) and what the
    profile denies is denied; control: the same container without the profile reads it."""
    b = _secret_bundle(ct, ["sh", "-c", SCRIPT], profile_name=profile)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0, r.stderr
    assert f"{profile} (enforce)" in r.stdout and "READ-DENIED" in r.stdout, r.stdout
    # control: no profile -> unconfined, the file is read
    out = ct.run_ok(bundle=_secret_bundle(ct, ["sh", "-c", SCRIPT]))
    assert "unconfined" in out and "READ-OK" in out, out


@needs_apparmor
def test_exec_inherits_profile_and_apparmor_flag_overrides(ct, profile):
    """exec runs under the config's profile; `exec --apparmor unconfined` under that one
    (runc's flag), so the file is read."""
    b = _secret_bundle(ct, ["sleep", "1000"], profile_name=profile)
    ct.create(b)
    ct.start(b.id)
    r = ct.capsa("exec", b.id, "sh", "-c", SCRIPT, check=True)
    assert f"{profile} (enforce)" in r.stdout and "READ-DENIED" in r.stdout, r.stdout
    r = ct.capsa("exec", "--apparmor", "unconfined", b.id, "sh", "-c", SCRIPT, check=True)
    assert "unconfined" in r.stdout and "READ-OK" in r.stdout, r.stdout


@needs_apparmor
def test_unknown_profile_is_one_line_and_leaves_nothing(ct):
    b = _secret_bundle(ct, ["true"], profile_name=f"capsa-no-such-profile-{os.getpid()}")
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode != 0
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "capsa-no-such-profile" in lines[0], r.stderr
    ct.assert_nothing_created(b.id, b)


def _fake_proc(ct):
    """A directory with self/attr/{apparmor/,}exec as plain files, bind-mounted over the
    container's /proc after procfs (an image volume over /proc: CVE-2019-16884)."""
    fake = os.path.join(ct.tmp, f"fakeproc-{ct.new_id()}")
    for d in ("self/attr/apparmor",):
        os.makedirs(os.path.join(fake, d))
    for f in ("self/attr/apparmor/exec", "self/attr/exec", "self/attr/current"):
        with open(os.path.join(fake, f), "w") as fh:
            fh.write("unconfined\n")

    def tweak(c):
        c["mounts"].append({"destination": "/proc", "type": "bind", "source": fake,
                            "options": ["rbind", "rw"]})
    return tweak


@needs_apparmor
def test_fake_proc_does_not_bypass_the_profile(ct, profile, monkeypatch):
    """With a directory over /proc, the profile cannot be applied: capsa refuses (one
    line, nothing left) rather than run unconfined. Control (CAPSA_FAULT=apparmor-any-fs,
    the procfs check off): the same config runs and reads what the profile denies."""
    args = ["sh", "-c", "cat /etc/capsa-secret 2>/dev/null && echo READ-OK || echo READ-DENIED"]
    b = _secret_bundle(ct, args, profile_name=profile, tweak=_fake_proc(ct))
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode != 0, r.stdout
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "not on procfs" in lines[0], r.stderr
    ct.assert_nothing_created(b.id, b)
    monkeypatch.setenv("CAPSA_FAULT", "apparmor-any-fs")
    b = _secret_bundle(ct, args, profile_name=profile, tweak=_fake_proc(ct))
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 0 and "READ-OK" in r.stdout, (r.stdout, r.stderr)
