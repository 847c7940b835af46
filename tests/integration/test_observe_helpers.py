"""Helpers shared by the observatory tests (capsa audit/stats/limits/check); no tests.

The JSON checks follow docs/observe.md: every key listed there must be present with
the documented type, so a change of schema fails here first.
"""
import json
import os
import shutil

from capsatest import CAPSA

MiB = 1024 * 1024
RESULTS = {"PASS", "WARN", "FAIL", "SKIP"}


def resources(cfg, memory=None, swap=None, pids=None, cpus=None, blkio_dev=None):
    """Set limits in cfg (cpus as a fraction of one CPU over a 100 ms period)."""
    res = cfg["linux"].setdefault("resources", {})
    if memory:
        res["memory"] = {"limit": memory}
        if swap:
            res["memory"]["swap"] = swap
    if pids:
        res["pids"] = {"limit": pids}
    if cpus:
        res["cpu"] = {"quota": int(cpus * 100000), "period": 100000}
    if blkio_dev:
        major, minor = blkio_dev
        res["blockIO"] = {"throttleReadBpsDevice": [
            {"major": major, "minor": minor, "rate": 10 * MiB}]}
    return cfg


def capsa_default(ct):
    """A tweak turning the test config into what `capsa spec` writes (its seccomp
    profile, device rules, mounts...), keeping the test's args, env marker, rootfs
    and cgroupsPath: "a default capsa container"."""
    d = os.path.join(ct.tmp, f"spec-{len(ct.ids)}")
    os.makedirs(d)
    ct.capsa("spec", "--bundle", d, check=True)
    with open(os.path.join(d, "config.json")) as f:
        spec = json.load(f)
    shutil.rmtree(d)

    def tweak(cfg):
        spec["process"]["args"] = cfg["process"]["args"]
        spec["process"]["env"] = cfg["process"]["env"]
        spec["root"]["path"] = cfg["root"]["path"]
        spec["linux"]["cgroupsPath"] = cfg["linux"]["cgroupsPath"]
        return spec
    return tweak


def chain(*tweaks):
    def tweak(cfg):
        for t in tweaks:
            r = t(cfg)
            if r is not None:
                cfg = r
        return cfg
    return tweak


def audit(ct, *args):
    """(returncode, parsed JSON) of `capsa audit --format json ARGS`."""
    r = ct.capsa("audit", "--format", "json", *args)
    assert r.returncode in (0, 1, 2), f"audit failed ({r.returncode}): {r.stderr}"
    doc = json.loads(r.stdout)
    check_audit_schema(doc, r.returncode)
    return r.returncode, doc


def findings(doc, target=0):
    """{check id: finding} of one audited target (a check id can repeat, e.g.
    mount.socket per socket: the worst one is kept)."""
    out = {}
    order = ["PASS", "SKIP", "WARN", "FAIL"]
    for f in doc["targets"][target]["findings"]:
        old = out.get(f["check"])
        if old is None or order.index(f["result"]) > order.index(old["result"]):
            out[f["check"]] = f
    return out


def check_report_schema(rep):
    assert set(rep) >= {"findings", "counts", "worst"}, rep.keys()
    assert isinstance(rep["findings"], list) and rep["findings"]
    for f in rep["findings"]:
        assert set(f) == {"check", "category", "result", "summary", "fix"}, f
        assert f["result"] in RESULTS
        assert isinstance(f["check"], str) and f["check"]
        assert isinstance(f["category"], str) and f["category"]
        assert isinstance(f["summary"], str) and f["summary"]
        assert f["fix"] is None or (isinstance(f["fix"], str) and f["fix"])
    assert set(rep["counts"]) == RESULTS
    for k in RESULTS:
        assert rep["counts"][k] == sum(1 for f in rep["findings"] if f["result"] == k)
    worst = "PASS"
    for lvl in ("SKIP", "WARN", "FAIL"):
        if rep["counts"][lvl]:
            worst = lvl
    assert rep["worst"] == worst


def exit_code_of(worst, strict):
    return {"PASS": 0, "SKIP": 2 if strict else 1, "WARN": 2 if strict else 1, "FAIL": 2}[worst]


def check_audit_schema(doc, rc):
    assert doc["version"] == 1
    assert isinstance(doc["strict"], bool)
    assert doc["exit_code"] == rc == exit_code_of(doc["worst"], doc["strict"])
    for t in doc["targets"]:
        check_report_schema(t)
        tg = t["target"]
        assert set(tg) == {"kind", "id", "pid", "status", "comm"}
        assert tg["kind"] in ("container", "pid")
        assert isinstance(tg["pid"], int) and tg["pid"] > 0
        if tg["kind"] == "container":
            assert isinstance(tg["id"], str) and tg["status"] in ("created", "running", "paused")
        else:
            assert tg["id"] is None and tg["status"] is None
    order = ["PASS", "SKIP", "WARN", "FAIL"]
    worst = max((t["worst"] for t in doc["targets"]), key=order.index, default="PASS")
    assert doc["worst"] == worst


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_stats_schema(entry):
    assert isinstance(entry["id"], str) and is_int(entry["pid"])
    if "error" in entry:
        assert isinstance(entry["error"], str)
        return
    assert set(entry) == {"id", "pid", "status", "cgroup", "cgroup_mode", "interval_s", "cpu",
                          "memory", "pids", "io", "psi", "warnings"}, entry.keys()
    assert entry["cgroup_mode"] in ("v1", "v2", "hybrid")
    assert entry["interval_s"] is None or entry["interval_s"] > 0
    cpu = entry["cpu"]
    assert set(cpu) == {"usage_ns", "user_ns", "system_ns", "percent_host", "percent_limit",
                        "limit_cpus", "quota_us", "period_us", "weight", "quota_cpus_effective",
                        "cpuset", "nr_periods", "nr_throttled", "throttled_ns",
                        "interval_periods", "interval_throttled", "interval_throttled_ns"}
    for k in ("usage_ns", "user_ns", "system_ns", "period_us", "nr_periods", "nr_throttled",
              "throttled_ns", "interval_periods", "interval_throttled", "interval_throttled_ns"):
        assert is_int(cpu[k]), k
    for k in ("percent_host", "percent_limit", "quota_cpus_effective"):
        assert cpu[k] is None or is_num(cpu[k]), k
    assert is_num(cpu["limit_cpus"]) and cpu["limit_cpus"] > 0
    assert cpu["quota_us"] is None or is_int(cpu["quota_us"])
    mem = entry["memory"]
    assert set(mem) == {"usage", "limit", "percent", "cache", "rss", "peak", "swap_usage",
                        "swap_limit", "failcnt", "oom_events", "oom_kill", "high_events",
                        "max_events"}
    for k in mem:
        assert mem[k] is None or is_num(mem[k]), k
    pids = entry["pids"]
    assert set(pids) == {"current", "limit", "percent", "max_events"}
    io = entry["io"]
    assert set(io) == {"read_bytes", "write_bytes", "read_ops", "write_ops", "throttled",
                       "limits"}
    assert isinstance(io["throttled"], bool) and isinstance(io["limits"], list)
    if entry["psi"] is not None:
        assert set(entry["psi"]) == {"cpu_some", "cpu_full", "memory_some", "memory_full",
                                     "io_some", "io_full"}
        for v in entry["psi"].values():
            assert v is None or set(v) == {"avg10", "avg60", "avg300", "total_us"}
    assert all(isinstance(w, str) for w in entry["warnings"])


def stats(ct, *ids, interval=None):
    args = ["stats", "--format", "json"]
    if interval is not None:
        args += ["--interval", str(interval)]
    r = ct.capsa(*args, *ids, check=True)
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    doc = json.loads(lines[0])
    for e in doc:
        check_stats_schema(e)
    return {e["id"]: e for e in doc}


def with_capsa_inside(b):
    """Bind-mount the capsa binary (read-only) at /capsa in bundle b, with the host's
    libraries when it is dynamically linked (the busybox rootfs has none)."""
    root = b.rootfs
    open(os.path.join(root, "capsa"), "w").close()
    mounts = [{"destination": "/capsa", "type": "bind", "source": CAPSA,
               "options": ["bind", "ro"]}]
    for lib in ("/usr/lib", "/usr/lib64"):
        if os.path.isdir(lib):
            os.makedirs(root + lib, exist_ok=True)
            link = os.path.join(root, os.path.basename(lib))
            if not os.path.lexists(link):
                os.symlink(lib.lstrip("/"), link)
            mounts.append({"destination": lib, "type": "bind", "source": lib,
                           "options": ["rbind", "ro"]})
    b.config["mounts"] += mounts
    return b.write()
