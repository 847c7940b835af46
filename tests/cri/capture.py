#!/usr/bin/python3
"""The config.json containerd's CRI plugin writes for a Kubernetes pod sandbox and
for one of its containers, for the runtime corpus (tests/compat/corpus/cri-*.json).

    python3 tests/cri/capture.py OUTDIR [--handler runc|capsa]

Starts the private containerd of tests/cri/run.py (its Harness: own namespaces,
cgroup root, registry, /tmp/capsa-cri-PID), then through crictl: `runp` of POD,
`create` + `start` of CONTAINER in it, copies the config.json of each from the
shim's bundle (<state>/io.containerd.runtime.v2.task/k8s.io/<id>/), removes the pod
and stops everything by pid. The copies are sanitized as
tests/compat/refresh-corpus.sh does (placeholders, see
tests/compat/corpus/SOURCES.md) and written as OUTDIR/cri-sandbox.json and
OUTDIR/cri-container.json. The handler only decides which runtime runs the pod
meanwhile (default runc when installed); the configs are containerd's.

Exit 0 with one line `cri-capture: skipped: ...` when crictl cannot be had (the
cri-tools tarball, go, containerd or the CNI plugins are missing)."""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as cri  # noqa: E402  (tests/cri/run.py)
sys.path.insert(0, os.path.join(HERE, "..", "compat"))
from sanitize import sanitize  # noqa: E402  (the corpus's placeholders)

# What a kubelet (1.26) sends for a pod with one restricted container: the pod's own
# cgroup parent, a pid namespace per container, RuntimeDefault seccomp for the pod,
# and a container that runs as 1000:1000 on a read-only rootfs with every capability
# dropped, no new privileges, kubelet's masked/readonly paths and limits of 64 MiB
# and half a CPU (Burstable).
POD = {
    "metadata": {"name": "corpus", "namespace": "default",
                 "uid": "00000000-0000-4000-8000-00000000c0de", "attempt": 0},
    "hostname": "corpus",
    "log_directory": "@LOGS@/default_corpus_00000000-0000-4000-8000-00000000c0de",
    "dns_config": {"servers": ["169.254.123.1"], "searches": ["default.svc.cluster.local"],
                   "options": ["ndots:5"]},
    "labels": {"io.kubernetes.pod.name": "corpus", "io.kubernetes.pod.namespace": "default",
               "io.kubernetes.pod.uid": "00000000-0000-4000-8000-00000000c0de"},
    "annotations": {"kubernetes.io/config.source": "api"},
    "linux": {
        "cgroup_parent": "/kubepods/burstable/pod00000000-0000-4000-8000-00000000c0de",
        "security_context": {
            "namespace_options": {"network": 0, "pid": 1, "ipc": 0},
            "seccomp": {"profile_type": 0},
        },
    },
}
MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware"]
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
CONTAINER = {
    "metadata": {"name": "app", "attempt": 0},
    "image": {"image": cri.BUSYBOX},
    "command": ["sleep", "3600"],
    "working_dir": "/",
    "envs": [{"key": "KUBERNETES_SERVICE_HOST", "value": "169.254.123.2"},
             {"key": "KUBERNETES_SERVICE_PORT", "value": "443"}],
    "labels": {"io.kubernetes.container.name": "app", "io.kubernetes.pod.name": "corpus",
               "io.kubernetes.pod.namespace": "default",
               "io.kubernetes.pod.uid": "00000000-0000-4000-8000-00000000c0de"},
    "annotations": {"io.kubernetes.container.restartCount": "0",
                    "io.kubernetes.container.terminationMessagePolicy": "File"},
    "log_path": "app/0.log",
    "linux": {
        "resources": {"cpu_period": 100000, "cpu_quota": 50000, "cpu_shares": 102,
                      "memory_limit_in_bytes": 67108864, "oom_score_adj": 999},
        "security_context": {
            "capabilities": {"drop_capabilities": ["ALL"]},
            "namespace_options": {"network": 0, "pid": 1, "ipc": 0},
            "run_as_user": {"value": 1000},
            "run_as_group": {"value": 1000},
            "supplemental_groups": [1000],
            "readonly_rootfs": True,
            "no_new_privs": True,
            "seccomp": {"profile_type": 0},
            "masked_paths": MASKED,
            "readonly_paths": READONLY,
        },
    },
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--handler", choices=["runc", "capsa"],
                    default="runc" if shutil.which("runc") else "capsa")
    ap.add_argument("--capsa", default=os.environ.get("CAPSA") or
                    os.path.join(cri.REPO, "build", "capsa"))
    a = ap.parse_args()

    def skip(msg):
        print("cri-capture: skipped: " + msg, flush=True)
        sys.exit(0)
    if os.geteuid() != 0:
        skip("needs root")
    for tool in ("containerd", "unshare", "nsenter", "ip"):
        if not shutil.which(tool):
            skip("%s is not installed" % tool)
    if not os.path.exists("/usr/lib/cni/bridge"):
        skip("no CNI plugins in /usr/lib/cni (Debian: containernetworking-plugins)")
    if not os.access(a.capsa, os.X_OK):
        sys.exit("cri-capture: %s is not an executable (make first)" % a.capsa)
    crictl = os.path.join(cri.BUILD, "bin", "crictl")
    if not os.access(crictl, os.X_OK):
        if not os.path.isfile(cri.TARBALL) or not shutil.which("go"):
            skip("no crictl in %s and no cri-tools tarball or go to build it" % crictl)
        if subprocess.run([HERE + "/build-tools.sh", cri.TARBALL, cri.BUILD]).returncode:
            sys.exit("cri-capture: building crictl failed")
    stamp = cri.BUILD + "/registry/.stamp"
    want = "%s %s" % (os.path.getmtime(HERE + "/images.py"),
                      os.path.getmtime(HERE + "/src/pause.c"))
    if cri.read(stamp) != want:
        r = subprocess.run(["/usr/bin/python3", HERE + "/images.py", cri.BUILD + "/registry",
                            cri.BUILD + "/debs"])
        if r.returncode == 3:
            skip("the test images cannot be built (see the line above)")
        if r.returncode:
            sys.exit("cri-capture: building the test images failed")
        cri.write(stamp, want)

    args = argparse.Namespace(capsa=a.capsa, runc=shutil.which("runc"), focus="", skip="",
                              timeout=120, only=None, latency=0)
    h = cri.Harness(args)
    problems = []
    out = {}
    try:
        h.start()
        t = h.top
        os.makedirs(t + "/logs/pods", exist_ok=True)
        pod = json.loads(json.dumps(POD).replace("@LOGS@", t + "/logs/pods"))
        cri.write(t + "/pod.json", json.dumps(pod, indent=1))
        cri.write(t + "/container.json", json.dumps(CONTAINER, indent=1))
        podid = h.crictl_run("runp", "--runtime", a.handler, t + "/pod.json").stdout.strip()
        cid = h.crictl_run("create", podid, t + "/container.json",
                           t + "/pod.json").stdout.strip()
        h.crictl_run("start", cid)
        task = t + "/state/io.containerd.runtime.v2.task/k8s.io/"
        for name, i in (("cri-sandbox", podid), ("cri-container", cid)):
            with open(task + i + "/config.json") as f:
                out[name] = sanitize(json.load(f), t)
        h.crictl_run("stopp", podid)
        h.crictl_run("rmp", podid)
        version = h.run_in(["containerd", "--version"]).stdout.strip()
    except Exception as e:
        problems.append("capture: %s" % e)
    finally:
        problems += h.stop()
    if problems:
        sys.exit("cri-capture: " + "; ".join(problems))
    for name, c in out.items():
        with open(os.path.join(a.outdir, name + ".json"), "w") as f:
            json.dump(c, f, indent=2, sort_keys=True)
            f.write("\n")
    print("cri-capture: %s, handler %s, crictl %s" % (
        version, a.handler,
        subprocess.run([crictl, "--version"], capture_output=True, text=True).stdout.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
