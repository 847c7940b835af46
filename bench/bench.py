#!/usr/bin/python3
"""make bench: capsa against crun and runc on the same busybox bundle.

Runtimes are interleaved run by run (capsa crun runc capsa crun runc ...) so machine
drift cancels out; medians, min-max and ratios come from the same run. Every runtime
runs under the same wrapper: a private mount namespace with the hybrid cgroup2 mount
hidden, because crun 1.8 refuses hybrid hosts (../shared/notes/perf-baseline.md). The
wrapper is bench/wrap.c, one small program doing what the notes' `unshare -m
--propagation private sh -c 'umount -l ...; exec "$@"'` does; the cost of both alone is
printed, and every figure (the floor's too) includes the wrapper's.

    bench/bench.py [--runs N] [--seq N] [--par N] [--only capsa,crun,runc]
                   [--own-spec] [--shell-wrapper]

Each bundle uses the runtime's own default spec with process.args ["/bin/true"], plus
the same seccomp profile (capsa's default: neither `crun spec` nor `runc spec` has one,
and the targets are for a default spec with seccomp), the same limits (memory 64 MiB,
pids 64) and a cgroupsPath nested under this process's
own cgroup (the machine's cgroups are never left).
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
# The wrapper of ../shared/notes/perf-baseline.md, as one small program (wrap.c)
# instead of unshare + sh + umount; built by build_wrapper() into the bench's tmp.
SHELL_WRAP = ["unshare", "-m", "--propagation", "private", "sh", "-c",
              'umount -l /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', "sh"]
WRAP = list(SHELL_WRAP)


def build_wrapper(tmp):
    """Compile bench/wrap.c (static if the C library allows it); WRAP then runs it."""
    out = os.path.join(tmp, "wrap")
    for extra in (["-static"], []):
        if subprocess.run(["cc", "-O2", *extra, "-o", out, os.path.join(HERE, "wrap.c")],
                          stderr=subprocess.DEVNULL).returncode == 0:
            WRAP[:] = [out]
            return
    print("bench: cannot build bench/wrap.c; using unshare + sh + umount as the wrapper")


def own_cgroup():
    """The memory cgroup this process lives in (the machine's): nest under it."""
    for line in open("/proc/self/cgroup"):
        _, ctrl, path = line.strip().split(":", 2)
        if "memory" in ctrl.split(","):
            return path.rstrip("/")
    return ""


def hierarchies():
    return [os.path.join("/sys/fs/cgroup", c) for c in sorted(os.listdir("/sys/fs/cgroup"))
            if os.path.isdir(os.path.join("/sys/fs/cgroup", c))]


def existing_cgroup_dirs():
    """Every directory on the bench's cgroup path that exists before it runs: never removed."""
    parts = own_cgroup().strip("/").split("/") if own_cgroup() else []
    out = set()
    for h in hierarchies():
        for i in range(len(parts) + 1):
            d = os.path.join(h, *parts[:i])
            if os.path.isdir(d):
                out.add(d)
    return out


def cleanup_cgroups(before):
    """Remove what the runtimes left on our path (leaf first), never a dir that existed."""
    parts = own_cgroup().strip("/").split("/") if own_cgroup() else []
    for h in hierarchies():
        base = os.path.join(h, *parts)
        top = os.path.join(base, f"capsa-bench-{os.getpid()}")
        cands = [os.path.join(top, n) for n in (os.listdir(top) if os.path.isdir(top) else [])
                 if os.path.isdir(os.path.join(top, n))]
        cands.append(os.path.join(base, f"capsa-bench-{os.getpid()}"))
        cands += [os.path.join(h, *parts[:i]) for i in range(len(parts), 0, -1)]
        for d in cands:
            if d not in before and os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    pass


class Runtime:
    def __init__(self, name, binary, tmp):
        self.name, self.binary = name, binary
        self.root = os.path.join(tmp, name + "-state")
        self.bundle = os.path.join(tmp, name + "-bundle")
        self.n = 0

    def cmd(self, *args):
        return WRAP + [self.binary, "--root", self.root, *args]

    def new_id(self):
        self.n += 1
        return f"b{os.getpid()}-{self.name}-{self.n}"


SECCOMP = {}
CAPSA_BIN = ["capsa"]
OWN_SPEC = False


def default_seccomp(capsa):
    """linux.seccomp of `capsa spec`: given to every runtime (the targets are for
    a "default spec incl. seccomp", and neither `crun spec` nor `runc spec` has
    one), so every runtime loads the same filter."""
    if not SECCOMP:
        tmp = tempfile.mkdtemp(prefix="capsa-bench-spec-")
        subprocess.run([capsa, "spec"], cwd=tmp, check=True)
        text = open(os.path.join(tmp, "config.json")).read()
        shutil.rmtree(tmp)
        SECCOMP.update(json.loads(text)["linux"]["seccomp"])
    return SECCOMP


def make_bundle(rt, rootfs, args, memory=64 << 20, cgparent="", bundle=None, leaf=None):
    bundle = bundle or rt.bundle
    os.makedirs(bundle)
    subprocess.run([rt.binary, "spec"], cwd=bundle, check=True)
    path = os.path.join(bundle, "config.json")
    c = json.load(open(path))
    c["root"]["path"] = rootfs   # one shared rootfs, by absolute path
    c["process"]["args"] = args
    c["process"]["terminal"] = False
    if not OWN_SPEC:   # --own-spec: each runtime's default spec as it is
        c["linux"]["seccomp"] = default_seccomp(CAPSA_BIN[0])
    res = c["linux"].setdefault("resources", {})
    res["memory"] = {"limit": memory}
    res["pids"] = {"limit": 64}
    c["linux"]["cgroupsPath"] = f"{cgparent}/capsa-bench-{os.getpid()}/{leaf or rt.name}"
    json.dump(c, open(path, "w"))


def timed(cmd, **kw):
    """Wall seconds, CPU seconds (user+sys of the whole process tree) and peak RSS (KiB)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode()
    p.stderr.close()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[-4:])}: exit {p.returncode}: {err.strip()}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def stripped_size(binary, tmp):
    """capsa is built with -g; what it would weigh installed stripped."""
    out = os.path.join(tmp, "capsa-stripped")
    if not binary or not shutil.which("strip") or \
            subprocess.run(["strip", "-o", out, binary]).returncode != 0:
        return ""
    return f"  (capsa stripped: {os.path.getsize(out) // 1024} KiB)"


def fmt(v):
    return f"{v * 1000:7.2f} ms"


def summary(title, results, names, unit=fmt):
    print(f"\n{title}")
    med = {n: statistics.median(results[n]) for n in names if results.get(n)}
    for n in names:
        if n not in med:
            continue
        v = results[n]
        ratios = "  ".join(f"{med[n] / med[o]:5.2f}x {o}" for o in names
                           if o != n and o in med and med[o] > 0)
        print(f"  {n:6} median {unit(med[n])}  [{unit(min(v))} - {unit(max(v))}]  n={len(v)}  {ratios}")
    return med


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--par", type=int, default=20)
    ap.add_argument("--only", default="capsa,crun,runc")
    ap.add_argument("--own-spec", action="store_true",
                    help="each runtime's default spec as it is (crun's and runc's have no seccomp)")
    ap.add_argument("--shell-wrapper", action="store_true",
                    help="the notes' unshare + sh + umount wrapper instead of bench/wrap.c")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root")
    capsa = os.environ.get("CAPSA", os.path.join(TOP, "build", "capsa"))
    CAPSA_BIN[:] = [capsa]
    global OWN_SPEC
    OWN_SPEC = a.own_spec
    bins = {"capsa": capsa, "crun": shutil.which("crun"), "runc": shutil.which("runc")}
    names = [n for n in a.only.split(",") if bins.get(n)]
    missing = [n for n in a.only.split(",") if not bins.get(n)]
    if missing:
        print(f"bench: not installed, skipped: {', '.join(missing)} (scripts/deps.sh --bench)")
    before = existing_cgroup_dirs()
    tmp = tempfile.mkdtemp(prefix="capsa-bench-")
    os.chmod(tmp, 0o755)
    try:
        if not a.shell_wrapper:
            build_wrapper(tmp)
        rootfs = os.path.join(tmp, "rootfs")
        subprocess.run([os.path.join(TOP, "scripts", "mkrootfs.sh"), rootfs], check=True)
        cg = own_cgroup()
        # The parent of every container's cgroup exists, in every hierarchy, as a
        # cgroup manager (kubelet, podman, systemd) would have made it: each
        # runtime then makes and removes only its own leaf. (capsa removes the
        # parents it made itself; crun and runc leave them, so without this
        # capsa alone would pay for them on every run.)
        for h in hierarchies():
            os.makedirs(os.path.join(h, cg.lstrip("/"), f"capsa-bench-{os.getpid()}"),
                        exist_ok=True)
        rts = {n: Runtime(n, bins[n], tmp) for n in names}
        for rt in rts.values():
            make_bundle(rt, rootfs, ["/bin/true"], cgparent=cg)
        run_wall, run_cpu, rss = {n: [] for n in names}, {n: [] for n in names}, {n: [] for n in names}
        floor, wrapper, shell_wrapper = [], [], []
        lifecycle = {n: [] for n in names}
        for i in range(a.runs):
            # The floor goes through the same wrapper as the runtimes, so the
            # ratio compares like with like; the wrapper alone is shown too.
            w, _, _ = timed(WRAP + ["unshare", "-p", "-n", "-i", "-u", "-m", "-C", "--fork",
                                    "chroot", rootfs, "/bin/true"])
            floor.append(w)
            wrapper.append(timed(WRAP + ["true"])[0])
            shell_wrapper.append(timed(SHELL_WRAP + ["true"])[0])
            for n, rt in rts.items():
                w, c, _ = timed(rt.cmd("run", "--bundle", rt.bundle, rt.new_id()))
                run_wall[n].append(w)
                run_cpu[n].append(c)
        # Peak RSS through /usr/bin/time: a child forked from python would count
        # python's own pages until its exec.
        for i in range(5):
            for n, rt in rts.items():
                out = subprocess.run(WRAP + ["/usr/bin/time", "-f", "%M", rt.binary, "--root",
                                             rt.root, "run", "--bundle", rt.bundle, rt.new_id()],
                                     capture_output=True, text=True)
                rss[n].append(int(out.stderr.strip().splitlines()[-1]))
        for i in range(max(5, a.runs // 3)):
            for n, rt in rts.items():
                cid = rt.new_id()
                t0 = time.perf_counter()
                subprocess.run(rt.cmd("create", "--bundle", rt.bundle, cid), check=True,
                               stdout=subprocess.DEVNULL)
                subprocess.run(rt.cmd("start", cid), check=True)
                for _ in range(2000):
                    st = subprocess.run(rt.cmd("state", cid), capture_output=True, text=True)
                    if '"stopped"' in st.stdout:
                        break
                subprocess.run(rt.cmd("delete", cid), check=True)
                lifecycle[n].append(time.perf_counter() - t0)

        print(f"capsa bench: {a.runs} interleaved runs, busybox /bin/true, memory 64 MiB, pids 64")
        print("   spec: " + ("each runtime's own default (crun's and runc's without seccomp)"
                             if OWN_SPEC else "each runtime's own default + capsa's seccomp profile")
              + "; wrapper: " + ("bench/wrap.c" if WRAP != SHELL_WRAP else "unshare + sh + umount"))
        m_run = summary("1. run /bin/true, wall time", run_wall, names)
        summary("   run /bin/true, CPU time (user+sys)", run_cpu, names)
        fm = statistics.median(floor)
        wm = statistics.median(wrapper)
        print(f"   floor (unshare pid,net,ipc,uts,mnt,cgroup + chroot + exec): median {fmt(fm)}")
        print(f"   the wrapper alone (in every figure above and in the floor): median {fmt(wm)}"
              f"{'  (bench/wrap.c)' if WRAP != SHELL_WRAP else ''}")
        print(f"   the notes' unshare + sh + umount wrapper alone, for comparison: median "
              f"{fmt(statistics.median(shell_wrapper))}")
        if "capsa" in m_run:
            print(f"   capsa / floor: {m_run['capsa'] / fm:.2f}x"
                  f"   (without the wrapper: {(m_run['capsa'] - wm) / max(fm - wm, 1e-6):.2f}x)")
        summary("2. create + start + wait + delete", lifecycle, names)

        seq, par = {n: [] for n in names}, {n: [] for n in names}
        for n, rt in rts.items():
            t0 = time.perf_counter()
            for _ in range(a.seq):
                timed(rt.cmd("run", "--bundle", rt.bundle, rt.new_id()))
            seq[n].append(time.perf_counter() - t0)
            # Parallel containers need a cgroup each: one bundle per container.
            pb = [os.path.join(tmp, f"{n}-par{k}") for k in range(a.par)]
            for k, b in enumerate(pb):
                make_bundle(rt, rootfs, ["/bin/true"], cgparent=cg, bundle=b, leaf=f"{n}-par{k}")
            t0 = time.perf_counter()
            ps = [subprocess.Popen(rt.cmd("run", "--bundle", b, rt.new_id()),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                  for b in pb]
            bad = sum(p.wait() != 0 for p in ps)
            par[n].append(time.perf_counter() - t0)
            if bad:
                print(f"   {n}: {bad} of {a.par} parallel runs failed")
        summary(f"3. {a.seq} containers in sequence (total)", seq, names, unit=lambda v: f"{v:6.2f} s ")
        summary(f"   {a.par} containers in parallel (total)", par, names, unit=lambda v: f"{v:6.2f} s ")

        execs = {n: [] for n in names}
        for n, rt in rts.items():
            shutil.rmtree(rt.bundle)
            make_bundle(rt, rootfs, ["sleep", "1000"], cgparent=cg)
            rt.sleeper = rt.new_id()
            subprocess.run(rt.cmd("run", "-d", "--bundle", rt.bundle, rt.sleeper), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for i in range(a.runs):
                for n, rt in rts.items():
                    w, _, _ = timed(rt.cmd("exec", rt.sleeper, "/bin/true"))
                    execs[n].append(w)
        finally:
            for rt in rts.values():
                subprocess.run(rt.cmd("delete", "-f", rt.sleeper), stderr=subprocess.DEVNULL)
        summary("4. exec /bin/true into a running container", execs, names)
        summary("5. peak RSS of the runtime (KiB, largest of its processes, /usr/bin/time)", rss,
                names, unit=lambda v: f"{v:6.0f} KiB")
        print("   binary size: " + "  ".join(f"{n} {os.path.getsize(bins[n]) // 1024} KiB"
                                           for n in names) + stripped_size(bins.get("capsa"), tmp))

        print("\n6. smallest memory limit that runs /bin/true with the default spec")
        for n, rt in rts.items():
            ok = []
            for lim in (512 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20):
                shutil.rmtree(rt.bundle)
                make_bundle(rt, rootfs, ["/bin/true"], memory=lim, cgparent=cg)
                try:
                    timed(rt.cmd("run", "--bundle", rt.bundle, rt.new_id()))
                    ok.append(lim)
                    break
                except RuntimeError:
                    subprocess.run(rt.cmd("delete", "-f", f"b{os.getpid()}-{n}-{rt.n}"),
                                   stderr=subprocess.DEVNULL)
            print(f"   {n:6} {ok[0] // 1024 if ok else '>16384'} KiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        cleanup_cgroups(before)

if __name__ == "__main__":
    main()
