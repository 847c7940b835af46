"""capsa exporter (issue 22): an OpenMetrics / Prometheus endpoint with the stats and
audit findings of every container on the host. The exporter is started on 127.0.0.1
with a free port and scraped by the test; where Debian's prometheus is installed, a real
Prometheus (its own data dir, 127.0.0.1) scrapes it and PromQL returns the throttling of
a CPU-limited busy container and the OOM kill of a memory hog, with idle controls.
Everything started here is stopped by pid."""
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import pytest

from capsatest import CAPSA, wait_for
from test_observe_helpers import MiB, resources
from test_observe_host import cri_o, crio_annotations  # noqa: F401 (cri_o: a fixture)

pytestmark = pytest.mark.capsa_only("capsa exporter is capsa's own")

BUSY = ["sh", "-c", "while :; do :; done"]
HOG = ["sh", "-c", "tail /dev/zero; exec sleep 1000"]
SLEEP = ["sleep", "1000"]


def _stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


@pytest.fixture
def exporter(ct):
    procs = []

    def start(*args):
        p = subprocess.Popen([CAPSA, "--root", ct.root, "exporter", "--listen", "127.0.0.1:0",
                              *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        procs.append(p)
        r, _, _ = select.select([p.stderr], [], [], 30)
        assert r, "the exporter said nothing"
        line = p.stderr.readline()
        m = re.match(r"capsa exporter: listening on http://127\.0\.0\.1:(\d+)/metrics$",
                     line.strip())
        assert m, line
        return p, int(m.group(1))
    yield start
    for p in procs:
        _stop(p)
        assert p.returncode == 0, p.stderr.read()


def _get(port, path="/metrics", accept=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def _samples(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, f"bad sample line: {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def _value(samples, metric, /, **want):
    """The one value of metric with the labels in want (a label may be called "name")."""
    vals = [v for (n, ls), v in samples.items()
            if n == metric and all((k, v2) in ls for k, v2 in want.items())]
    assert len(vals) <= 1, (metric, want, vals)
    return vals[0] if vals else None


def test_scrape_names_every_container(ct, exporter):
    limited = ct.running(args=SLEEP, tweak=lambda c: resources(c, memory=48 * MiB, pids=20,
                                                               cpus=0.5))
    free = ct.running(args=SLEEP)
    p, port = exporter()
    status, ctype, text = _get(port)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4"), ctype
    s = _samples(text)
    for b in (limited, free):
        assert _value(s, "capsa_container_info", id=b.id, engine="capsa", runtime="capsa",
                      pid=str(ct.state(b.id)["pid"])) == 1
        assert _value(s, "container_cpu_usage_seconds_total", id=b.id) > 0
        assert _value(s, "container_memory_usage_bytes", id=b.id) > 0
        assert _value(s, "container_threads", id=b.id) == 1
        assert _value(s, "capsa_container_pids_limit_hits_total", id=b.id) == 0
        assert _value(s, "container_oom_events_total", id=b.id) == 0
    assert _value(s, "container_spec_memory_limit_bytes", id=limited.id) == 48 * MiB
    assert _value(s, "container_threads_max", id=limited.id) == 20
    assert _value(s, "container_spec_cpu_quota", id=limited.id) == 50000
    assert _value(s, "capsa_container_cpu_limit_cores", id=limited.id) == 0.5
    # control: no limit, no series (not a 0 that would read as "limit 0")
    assert _value(s, "container_spec_memory_limit_bytes", id=free.id) is None
    assert _value(s, "container_threads_max", id=free.id) is None
    # audit findings as gauges: the test config has no seccomp profile
    assert _value(s, "capsa_audit_findings", id=free.id, check="seccomp", result="FAIL") == 1
    assert _value(s, "capsa_audit_findings", id=free.id, check="namespace.pid",
                  result="PASS") == 1
    assert _value(s, "capsa_containers", engine="capsa") >= 2
    # OpenMetrics when asked for, ending in # EOF; counters' TYPE lines without _total
    status, ctype, om = _get(port, accept="application/openmetrics-text;version=1.0.0")
    assert ctype.startswith("application/openmetrics-text; version=1.0.0"), ctype
    assert om.endswith("# EOF\n")
    assert "# TYPE container_cpu_usage_seconds counter" in om
    assert "# TYPE container_cpu_usage_seconds_total counter" in text
    # other paths and methods
    with pytest.raises(urllib.error.HTTPError) as e:
        _get(port, "/nope")
    assert e.value.code == 404
    # promtool (prometheus' own linter), where installed, accepts the text
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr



def test_info_has_names_and_pod(ct, exporter, cri_o):
    """capsa_container_info carries the engine's name and the CRI's pod name and
    namespace where they are known (a container under a CRI-O conmon stand-in with
    CRI-O's annotations); a container nobody named has none of these labels."""
    pod_uid = str(uuid.uuid4())
    b = ct.bundle(args=SLEEP)
    b.config["annotations"] = crio_annotations(pod_uid)
    b.write()
    cri_o(b, "k8s_web_shop-1")
    free = ct.running(args=SLEEP)
    p, port = exporter("--no-audit")
    s = _samples(_get(port)[2])
    assert _value(s, "capsa_container_info", id=b.id, engine="cri-o", scope="container",
                  name="k8s_web_shop-1", pod_name="shop-1", pod_namespace="obs-ns",
                  pod_uid=pod_uid, runtime="capsa") == 1
    # every series of the container carries its pod UID, not the names (join on id)
    assert _value(s, "container_threads", id=b.id, pod_uid=pod_uid) == 1
    info = [dict(ls) for (n, ls) in s if n == "capsa_container_info" and ("id", free.id) in ls]
    assert len(info) == 1 and info[0]["engine"] == "capsa", info
    assert not {"name", "pod_name", "pod_namespace", "pod_uid"} & set(info[0]), info

def test_stats_host_openmetrics_matches(ct):
    b = ct.running(args=SLEEP, tweak=lambda c: resources(c, pids=7))
    r = ct.capsa("stats", "--host", "--format", "openmetrics", check=True)
    assert r.stdout.endswith("# EOF\n")
    s = _samples(r.stdout)
    assert _value(s, "container_threads_max", id=b.id) == 7
    r = ct.capsa("stats", "--host", "--format", "prometheus", check=True)
    assert "# EOF" not in r.stdout
    assert _value(_samples(r.stdout), "container_threads_max", id=b.id) == 7
    # bad input: one line naming what is wrong
    r = ct.capsa("stats", "--format", "openmetrics", b.id)
    assert r.returncode != 0 and "needs --host" in r.stderr, r.stderr


def test_exporter_bad_listen(ct):
    for bad, what in (("127.0.0.1", "HOST:PORT"), ("127.0.0.1:99999", "port"),
                      ("example.org:80", "IP address")):
        r = ct.capsa("exporter", "--listen", bad)
        assert r.returncode != 0 and what in r.stderr and r.stderr.count("\n") == 1, r.stderr
    # a port already taken
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = ct.capsa("exporter", "--listen", f"127.0.0.1:{s.getsockname()[1]}", timeout=30)
        assert r.returncode != 0 and "cannot serve there" in r.stderr, r.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prometheus(ct):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not installed (scripts/deps.sh installs Debian's)")
    procs = []

    def start(target_port):
        d = os.path.join(ct.tmp, "prometheus")
        os.makedirs(d)
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: capsa\n"
                    f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n")
        port = _free_port()
        log = open(os.path.join(d, "log"), "w")
        p = subprocess.Popen([binary, f"--config.file={d}/prometheus.yml",
                              f"--storage.tsdb.path={d}/data",
                              f"--web.listen-address=127.0.0.1:{port}"],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        procs.append(p)
        return port
    yield start
    for p in procs:
        _stop(p)


def _query(port, q):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            d = json.loads(r.read())
    except (OSError, ValueError):
        return None  # not up yet
    assert d["status"] == "success", d
    return {r["metric"].get("id"): float(r["value"][1]) for r in d["data"]["result"]}


def test_prometheus_sees_throttling_and_oom(ct, exporter, prometheus):
    busy = ct.running(args=BUSY, tweak=lambda c: resources(c, cpus=0.2))
    idle = ct.running(args=SLEEP, tweak=lambda c: resources(c, cpus=0.2))
    hog = ct.running(args=HOG, tweak=lambda c: resources(c, memory=32 * MiB, swap=32 * MiB))
    calm = ct.running(args=SLEEP, tweak=lambda c: resources(c, memory=32 * MiB, swap=32 * MiB))
    _, eport = exporter("--no-audit")
    pport = prometheus(eport)

    def throttled():
        r = _query(pport, f'container_cpu_cfs_throttled_periods_total{{id="{busy.id}"}} > 0')
        return r if r and r.get(busy.id) else None
    r = wait_for(throttled, timeout=120, interval=0.5,
                 what="Prometheus to see the busy container throttled")
    assert r[busy.id] > 0
    r = wait_for(lambda: (lambda r: r if r and busy.id in r else None)(_query(
        pport, f'rate(container_cpu_cfs_throttled_seconds_total{{id="{busy.id}"}}[10s])')),
        timeout=120, interval=0.5, what="a throttling rate")
    assert r[busy.id] > 0

    def killed():
        r = _query(pport, f'container_oom_events_total{{id="{hog.id}"}} >= 1')
        return r if r and r.get(hog.id) else None
    r = wait_for(killed, timeout=120, interval=0.5, what="Prometheus to see the OOM kill")
    assert r[hog.id] >= 1
    # controls, from the same Prometheus
    r = _query(pport, f'container_oom_events_total{{id=~"{calm.id}|{idle.id}"}}')
    assert r == {calm.id: 0.0, idle.id: 0.0}, r
    r = _query(pport, f'container_cpu_cfs_throttled_periods_total{{id="{idle.id}"}}')
    assert r and r[idle.id] <= 2, r  # at most its start-up
