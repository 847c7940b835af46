"""Shared pieces of the runc-comparison tests (tests/compat).

Each runtime gets its own --root (/run/capsa-corpus-<pid>, /run/runc-corpus-<pid>)
and every container's cgroup goes below /capsa-corpus-<pid>, which this session
creates and removes. One busybox-static rootfs serves every bundle.
"""
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from capsatest import cgroup_copies, cgroup_procs, procs_mentioning, remove_cgroup_tree  # noqa: E402,F401
CORPUS = os.path.join(HERE, "corpus")
CAPSA = os.path.abspath(os.environ.get("CAPSA", os.path.join(REPO, "build", "capsa")))
RUNC = shutil.which("runc")
PID = os.getpid()
CG_PARENT = f"/capsa-corpus-{PID}"
CG_ROOT = "/sys/fs/cgroup"
TIMEOUT = float(os.environ.get("CAPSA_COMPAT_TIMEOUT", "30"))


def pytest_report_header(config):
    return [f"compat: capsa {CAPSA}, runc {RUNC or '(not installed: comparisons skipped)'}"]


def mounts_under(prefix):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if mp == prefix or mp.startswith(prefix + "/"):
                out.append(mp)
    return out


# --- Docker-format seccomp profiles (moby, containers-common) -> OCI --------------
# The engines convert their profile files before they write config.json: keep the
# rules whose includes match (all of includes.caps in the bounding set, the native
# arch, minKernel <= running kernel) and whose excludes do not.

# (seccomp's name for the native arch in archMap, Go's in includes/excludes.arches)
ARCH, GOARCH = {"x86_64": ("SCMP_ARCH_X86_64", "amd64"),
                "aarch64": ("SCMP_ARCH_AARCH64", "arm64"),
                "ppc64le": ("SCMP_ARCH_PPC64LE", "ppc64le"),
                "s390x": ("SCMP_ARCH_S390X", "s390x")}.get(platform.machine(), (None, None))


def _kernel_at_least(want):
    have = [int(x) for x in platform.release().split("-")[0].split(".")[:2]]
    need = [int(x) for x in want.split(".")[:2]]
    return have >= need


def docker_profile_to_oci(prof, bounding):
    out = {"defaultAction": prof["defaultAction"], "syscalls": []}
    if "defaultErrnoRet" in prof:
        out["defaultErrnoRet"] = prof["defaultErrnoRet"]
    for am in prof.get("archMap") or []:
        if am["architecture"] == ARCH:
            out["architectures"] = [am["architecture"]] + (am.get("subArchitectures") or [])
    if "flags" in prof:
        out["flags"] = prof["flags"]
    for call in prof.get("syscalls") or []:
        inc, exc = call.get("includes") or {}, call.get("excludes") or {}
        if GOARCH in (exc.get("arches") or []):
            continue
        if any(c in bounding for c in (exc.get("caps") or [])):
            continue
        if exc.get("minKernel") and _kernel_at_least(exc["minKernel"]):
            continue
        if inc.get("arches") and GOARCH not in inc["arches"]:
            continue
        if any(c not in bounding for c in (inc.get("caps") or [])):
            continue
        if inc.get("minKernel") and not _kernel_at_least(inc["minKernel"]):
            continue
        names = call.get("names") or ([call["name"]] if call.get("name") else [])
        rule = {"names": names, "action": call["action"]}
        if call.get("args"):
            rule["args"] = call["args"]
        if "errnoRet" in call:
            rule["errnoRet"] = call["errnoRet"]
        out["syscalls"].append(rule)
    return out


def load_seccomp(path, bounding):
    with open(path) as f:
        prof = json.load(f)
    if "archMap" in prof or any("includes" in s or "excludes" in s
                                for s in prof.get("syscalls") or []):
        return docker_profile_to_oci(prof, bounding)
    return prof


# --- bundles ----------------------------------------------------------------------

def ns_placeholders(cfg):
    """The namespace types whose path is a placeholder (`@NS:TYPE@`) in cfg."""
    return [n["type"] for n in cfg.get("linux", {}).get("namespaces", [])
            if n.get("path", "").startswith("@NS:")]


def fill_placeholders(cfg, bundle, rootfs, cgroup, args, namespaces=None):
    """What the corpus leaves open: rootfs, args, cgroup, the engines' files and the
    paths of the namespaces to join (namespaces: {type: path}, made by the test)."""
    cfg = json.loads(json.dumps(cfg))
    cfg["root"]["path"] = rootfs
    cfg["process"]["args"] = args
    cfg["process"]["terminal"] = False
    cfg.setdefault("linux", {})["cgroupsPath"] = cgroup
    for m in cfg.get("mounts", []):
        src = m.get("source", "")
        if src.startswith("@BUNDLE@/"):
            kind, name = src[len("@BUNDLE@/"):].split("/", 1)
            path = os.path.join(bundle, kind, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if kind == "dir":
                os.makedirs(path, exist_ok=True)
            elif not os.path.exists(path):
                with open(path, "w") as f:
                    f.write(f"corpus {name}\n")
            m["source"] = path
    for n in cfg["linux"].get("namespaces", []):
        p = n.get("path", "")
        if p.startswith("@NS:"):
            if p != f"@NS:{n['type']}@" or n["type"] not in (namespaces or {}):
                raise AssertionError(f"namespace path placeholder {p}: the test made no "
                                     f"{n['type']} namespace to join")
            n["path"] = namespaces[n["type"]]
    return cfg


class Runtime:
    def __init__(self, name, binary, base):
        self.name = name
        self.binary = binary
        self.root = f"/run/{name}-corpus-{PID}"
        self.base = base

    def __call__(self, *args, timeout=TIMEOUT):
        return subprocess.run([self.binary, "--root", self.root, *args], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def bundle(self, tag, cfg, args, rootfs, namespaces):
        """A fresh bundle for cfg: (container id, bundle dir, cgroup path)."""
        cid = f"corpus-{PID}-{self.name}-{tag}"
        bundle = os.path.join(self.base, self.name, tag)
        shutil.rmtree(bundle, ignore_errors=True)
        os.makedirs(bundle)
        cg = f"{CG_PARENT}/{self.name}-{tag}"
        c = fill_placeholders(cfg, bundle, rootfs, cg, args, namespaces)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(c, f, indent=1)
        return cid, bundle, cg

    def run_config(self, tag, cfg, args, rootfs, namespaces=None):
        """`run` cfg in a fresh bundle; returns (CompletedProcess, leftovers)."""
        cid, bundle, cg = self.bundle(tag, cfg, args, rootfs, namespaces)
        r = self("run", "--bundle", bundle, cid)
        return r, self.leftovers(cid, bundle, cg)

    def start(self, tag, cfg, args, rootfs, namespaces=None):
        """`create` + `start` cfg in the background (stdio /dev/null, stderr of create
        in the bundle): a running container, e.g. a pod sandbox to join."""
        cid, bundle, cg = self.bundle(tag, cfg, args, rootfs, namespaces)
        ct = {"cid": cid, "bundle": bundle, "cg": cg}
        with open(os.path.join(bundle, "create.err"), "w+") as err:
            r = subprocess.run([self.binary, "--root", self.root, "create", "--bundle", bundle,
                                cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=err, timeout=TIMEOUT)
            err.seek(0)
            msg = err.read().strip()
        if r.returncode == 0:
            r = self("start", cid)
            msg = r.stderr.strip()
        if r.returncode == 0:
            st = self("state", cid)
            if st.returncode == 0 and json.loads(st.stdout).get("status") == "running":
                ct["pid"] = json.loads(st.stdout)["pid"]
                return ct
            msg = f"state: {st.stdout.strip()} {st.stderr.strip()}"
        left = self.leftovers(cid, bundle, cg)
        raise AssertionError(f"{self.name}: starting {tag} failed: {msg}"
                             + (f"; left behind: {left}" if left else ""))

    def stop(self, ct):
        """`delete --force` a container of start(); returns what is left behind."""
        r = self("delete", "--force", ct["cid"])
        left = [] if r.returncode == 0 else [f"delete --force: {r.stderr.strip()}"]
        return left + self.leftovers(ct["cid"], ct["bundle"], ct["cg"])

    def leftovers(self, cid, bundle, cg):
        left = []
        if os.path.exists(os.path.join(self.root, cid)):
            left.append(f"state dir {self.root}/{cid}")
        for pid, cmd in procs_mentioning(cid) + procs_mentioning(bundle):
            left.append(f"process {pid}: {cmd}")
        for d in cgroup_copies(cg):
            left.append(f"cgroup {d}")
        for mp in mounts_under(bundle):
            left.append(f"mount {mp}")
        if left:   # clean up so that the next entries start clean
            self("delete", "--force", cid)
            for d in cgroup_copies(cg):
                for pid in cgroup_procs(d):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.2)
            for mp in reversed(mounts_under(bundle)):
                subprocess.run(["umount", "-l", mp], capture_output=True)
            for d in cgroup_copies(cg):
                remove_cgroup_tree(d)
        return left


@pytest.fixture(scope="session")
def session_dir():
    if not os.path.exists(CAPSA):
        pytest.skip(f"{CAPSA} missing (make)")
    base = tempfile.mkdtemp(prefix=f"capsa-corpus-{PID}-")
    os.chmod(base, 0o755)
    yield base
    problems = []
    for d in cgroup_copies(CG_PARENT):
        for pid in cgroup_procs(d):
            problems.append(f"process {pid} left in {d}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.1)
    for mp in reversed(mounts_under(base)):
        problems.append(f"mount left: {mp}")
        subprocess.run(["umount", "-l", mp], capture_output=True)
    for d in cgroup_copies(CG_PARENT):
        left = remove_cgroup_tree(d)
        if left:
            problems.append(f"cgroups that could not be removed: {left}")
    for name in ("capsa", "runc"):
        root = f"/run/{name}-corpus-{PID}"
        if os.path.isdir(root):
            if os.listdir(root):
                problems.append(f"{root} not empty: {os.listdir(root)}")
            shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(base, ignore_errors=True)
    if problems:
        raise AssertionError("compat session left things behind:\n" + "\n".join(problems))


@pytest.fixture(scope="session")
def rootfs(session_dir):
    path = os.path.join(session_dir, "rootfs")
    subprocess.run([os.path.join(REPO, "scripts", "mkrootfs.sh"), path], check=True,
                   capture_output=True)
    return path


@pytest.fixture(scope="session")
def netns(session_dir):
    """A network namespace the session made, as a bind-mounted nsfs file (the way
    CNI's netns under containerd and Docker's netns/default are given): what
    `@NS:network@` becomes outside a pod (no interface but a down lo)."""
    path = os.path.join(session_dir, "netns", "corpus")
    os.makedirs(os.path.dirname(path))
    open(path, "w").close()
    subprocess.run(["unshare", f"--net={path}", "true"], check=True, capture_output=True)
    yield path
    r = subprocess.run(["umount", path], capture_output=True, text=True)
    assert r.returncode == 0, f"umount {path}: {r.stderr.strip()}"


@pytest.fixture(scope="session")
def capsa(session_dir):
    return Runtime("capsa", CAPSA, session_dir)


@pytest.fixture(scope="session")
def runc(session_dir):
    if RUNC is None:
        pytest.skip("runc not installed: capsa is not compared with runc")
    return Runtime("runc", RUNC, session_dir)
