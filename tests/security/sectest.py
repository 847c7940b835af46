"""Helpers for the escape tests (fixtures are in conftest.py): switching one
protection of a default config off, parsing an attack's RESULT line, running the
runtime with extra descriptors, and building bundles from `capsa spec`."""
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import capsatest  # noqa: E402
from capsatest import CAPSA, wait_for  # noqa: E402,F401


# --- protections that a control run switches off ------------------------------

def _caps(cfg, cap):
    c = cfg["process"]["capabilities"]
    for s in ("bounding", "effective", "permitted"):
        if cap not in c.setdefault(s, []):
            c[s].append(cap)


def _mount(cfg, dest):
    return next(m for m in cfg["mounts"] if m["destination"] == dest)


def switch_off(cfg, what):
    """Turn one protection of a default config off. `what` is one of:
    seccomp | nnp | cap:CAP_X | unmask:PATH | rw:PATH (readonlyPaths) | devices |
    rw-mount:DEST (drop "ro" from that mount) | ns:TYPE (no new namespace of TYPE)."""
    kind, _, arg = what.partition(":")
    if kind == "seccomp":
        del cfg["linux"]["seccomp"]
    elif kind == "nnp":
        cfg["process"]["noNewPrivileges"] = False
    elif kind == "cap":
        _caps(cfg, arg)
    elif kind == "unmask":
        cfg["linux"]["maskedPaths"].remove(arg)
    elif kind == "rw":
        cfg["linux"]["readonlyPaths"].remove(arg)
    elif kind == "devices":
        cfg["linux"].setdefault("resources", {})["devices"] = [{"allow": True, "access": "rwm"}]
    elif kind == "rw-mount":
        m = _mount(cfg, arg)
        m["options"] = [o for o in m.get("options", []) if o != "ro"]
    elif kind == "ns":
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != arg]
    else:
        raise ValueError(what)


# --- results -------------------------------------------------------------------

RESULT = re.compile(r"^RESULT (ok|fail|error) ?(.*)$", re.M)


class Result:
    def __init__(self, rc, stdout, stderr, what):
        self.rc, self.stdout, self.stderr, self.what = rc, stdout, stderr, what
        m = RESULT.findall(stdout)
        self.outcome, rest = m[-1] if m else (None, "")
        self.detail = rest
        parts = rest.split()
        self.step = parts[0] if self.outcome == "fail" and parts else None
        self.errno = parts[1] if self.outcome == "fail" and len(parts) > 1 else None

    def __repr__(self):
        return (f"<{self.what}: rc={self.rc} outcome={self.outcome} detail={self.detail!r}\n"
                f" stdout={self.stdout!r}\n stderr={self.stderr!r}>")

    @property
    def ok(self):
        return self.outcome == "ok"

    def assert_ok(self):
        assert self.outcome == "ok", f"the attack should have succeeded: {self!r}"
        return self

    def assert_blocked(self, errno=None, step=None):
        assert self.outcome == "fail", f"the attack was not blocked: {self!r}"
        if errno:
            want = (errno,) if isinstance(errno, str) else tuple(errno)
            assert self.errno in want, f"blocked with {self.errno}, expected {want}: {self!r}"
        if step:
            assert self.step == step, f"blocked at {self.step}, expected {step}: {self!r}"
        return self


def run_raw(args, timeout=30, env=None, pass_fds=(), stdout_path=None, binary=None):
    """Run the runtime (or `binary`) with output in files, extra fds passed as is."""
    cmd = [binary or CAPSA, *map(str, args)]
    with tempfile.TemporaryFile() as err:
        out = open(stdout_path, "ab") if stdout_path else tempfile.TemporaryFile()
        with out:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 pass_fds=pass_fds, env=env)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError(f"timeout: {' '.join(cmd)}")
            out.seek(0)
            err.seek(0)
            so = "" if stdout_path else out.read().decode(errors="replace")
            return subprocess.CompletedProcess(cmd, p.returncode, so,
                                               err.read().decode(errors="replace"))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Bundle:
    def __init__(self, cid, path, config):
        self.id, self.path, self.config = cid, path, config

    @property
    def rootfs(self):
        return os.path.join(self.path, self.config["root"]["path"])

    def write(self):
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=2)
        return self


class Sec:
    """Bundles made from `capsa spec` for one test, and running attacks in them."""

    def __init__(self, ct, attack_bin, spec_template):
        self.ct, self.attack_bin, self.spec = ct, attack_bin, spec_template

    def bundle(self, args, off=(), tweak=None, image=None, base=None):
        """A bundle from the default spec: process.args = args, each protection in
        `off` switched off, then tweak(cfg) and image(rootfs_path) if given."""
        cid = self.ct.new_id()
        path = os.path.join(base or self.ct.tmp, f"bundle-{cid}")
        os.makedirs(path)
        os.chmod(path, 0o755)
        rootfs = os.path.join(path, "rootfs")
        capsatest.copy_rootfs(self.ct.template, rootfs)
        shutil.copy2(self.attack_bin, os.path.join(rootfs, "bin", "attack"))
        cfg = copy.deepcopy(self.spec)
        cfg["process"]["args"] = list(args)
        # Lets the leftover check find this test's processes by environ.
        cfg["process"]["env"].append(f"CAPSA_TEST_MARK={path}")
        cfg["linux"]["cgroupsPath"] = self.ct.cgroups_path(cid)
        for w in off:
            switch_off(cfg, w)
        if tweak:
            tweak(cfg)
        if image:
            image(rootfs)
        return Bundle(cid, path, cfg).write()

    def run(self, args, off=(), tweak=None, image=None, opts=(), **kw):
        b = self.bundle(args, off=off, tweak=tweak, image=image)
        return self.run_bundle(b, opts=opts, what=f"{' '.join(args)} with "
                               f"{', '.join(off) or 'the default spec'}", **kw)

    def run_bundle(self, b, args=None, opts=(), what=None, **kw):
        """`capsa run` an existing bundle, optionally with new process.args."""
        if args is not None:
            b.config["process"]["args"] = [str(a) for a in args]
            b.write()
        r = self.ct.capsa("run", *opts, "--bundle", b.path, b.id, **kw)
        res = Result(r.returncode, r.stdout, r.stderr,
                     what or " ".join(b.config["process"]["args"]))
        res.bundle = b
        return res

    def attack(self, name, *args, off=(), **kw):
        return self.run(["/bin/attack", name, *map(str, args)], off=off, **kw)


