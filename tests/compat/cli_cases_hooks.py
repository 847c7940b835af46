"""Hook cases of the runc-vs-capsa comparison: every kind runs, in order, in the
namespaces the runtime-spec gives it, with the state it should see on stdin, and
startContainer before the container's seccomp filter (as runc)."""
import json
import os

from cli_helpers import case

KINDS = ("createRuntime", "createContainer", "prestart", "startContainer", "poststart",
         "poststop")
IN_CONTAINER = ("createContainer", "startContainer")
# What a hook writes: its state from stdin, then "KIND MNTNS SECCOMP" to the log.
SCRIPT = ('d={dir}; cat > $d/{kind}.state; '
          'echo "{kind} $(readlink /proc/self/ns/mnt) $(grep ^Seccomp: /proc/self/status)"'
          ' >> $d/log')


def _hooks(w, hostdir):
    def tweak(cfg):
        cfg["mounts"].append({"destination": "/hooks", "type": "bind", "source": hostdir,
                              "options": ["rbind", "rw"]})
        # a filter the hooks can see (Seccomp: 2); the program itself is unaffected
        cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                   "architectures": ["SCMP_ARCH_X86_64"],
                                   "syscalls": [{"names": ["kexec_load"],
                                                 "action": "SCMP_ACT_ERRNO"}]}
        hooks = {}
        for k in KINDS:
            # startContainer resolves and runs in the container (after pivot_root):
            # the host dir is /hooks there
            d = "/hooks" if k == "startContainer" else hostdir
            hooks[k] = [{"path": "/bin/sh",
                         "args": ["sh", "-c", SCRIPT.format(dir=d, kind=k)]}]
        cfg["hooks"] = hooks
    return tweak


def _log(w, hostdir):
    try:
        with open(os.path.join(hostdir, "log")) as f:
            lines = [l.split(None, 2) for l in f.read().splitlines()]
    except FileNotFoundError:
        return []
    host_mnt = os.readlink("/proc/self/ns/mnt")
    return [(k, "host" if mnt == host_mnt else "container", sc.split()[-1] if sc else "?")
            for k, mnt, sc in lines]


def _state(hostdir, kind):
    try:
        with open(os.path.join(hostdir, kind + ".state")) as f:
            s = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    return {"status": s.get("status"), "pid>0": bool(s.get("pid")),
            "bundle": bool(s.get("bundle")), "id": bool(s.get("id"))}


@case("hooks.kinds")
def _(w):
    hostdir = os.path.join(w.tmp, "hookdir")
    os.makedirs(hostdir)
    cid = w.new_id()
    b = w.bundle(args=("sleep", "1000"), tweak=_hooks(w, hostdir), cid=cid)
    w.obs_result("create", w("create", "--bundle", b, cid))
    w.obs("after-create", [k for k, _, _ in _log(w, hostdir)])
    w.obs_result("start", w("start", cid))
    w.obs("after-start", [k for k, _, _ in _log(w, hostdir)])
    w.obs_result("kill", w("kill", cid, "KILL"))
    w.obs("stopped", w.wait_status(cid, "stopped"))
    w.obs_result("delete", w("delete", cid))
    log = _log(w, hostdir)
    w.obs("after-delete", [k for k, _, _ in log])
    for k, ns, seccomp in log:
        w.obs(f"{k}/mount-ns", ns)
        w.obs(f"{k}/seccomp", seccomp)
    for k in KINDS:
        w.obs(f"{k}/state", _state(hostdir, k))


@case("hooks.failing-prestart")
def _(w):
    """A failing prestart hook fails create and leaves nothing (poststop aside)."""
    def tweak(cfg):
        cfg["hooks"] = {"prestart": [{"path": "/bin/false", "args": ["false"]}]}
    cid = w.new_id()
    b = w.bundle(tweak=tweak, cid=cid)
    w.obs_result("create", w("create", "--bundle", b, cid))
    w.obs_result("state", w("state", cid))


@case("hooks.failing-start-container")
def _(w):
    """A failing startContainer hook fails start; the program never runs."""
    def tweak(cfg):
        cfg["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}
    cid = w.new_id()
    b = w.bundle(tweak=tweak, cid=cid)
    w.obs_result("create", w("create", "--bundle", b, cid))
    w.obs_result("start", w("start", cid))
    w.obs("stopped", w.wait_status(cid, "stopped"))
    w.obs_result("delete", w("delete", "--force", cid))
