"""Bad configs and failures during container setup.

Every failure must exit non-zero and leave nothing (no state dir, cgroup, mount or
process). capsa additionally promises ONE line on stderr: for config errors
`config.json:LINE:COL: json.path: what`, for setup failures the step and the path —
never a bare "EOF" (runc's "can't get final child's PID from pipe: EOF")."""
import json
import os
import re

import pytest

from capsatest import dump_json, error_lines

LOC = re.compile(r"config\.json:(\d+):(\d+)")


def _line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in config")


def _bad_bundle(ct, mutate=None, text_edit=None):
    """A bundle whose config.json is broken by mutate(cfg) and/or text_edit(text)."""
    b = ct.bundle(write=False)
    if mutate:
        mutate(b.config)
    text = dump_json(b.config)
    if text_edit:
        text = text_edit(text)
    with open(b.config_path, "w") as f:
        f.write(text)
    b.text = text
    return b


def _mem_limit_string(c):
    c["linux"]["resources"] = {"memory": {"limit": "256m"}}


def _no_cwd(c):
    del c["process"]["cwd"]


def _args_string(c):
    c["process"]["args"] = "sh -c true"


def _bad_ns(c):
    c["linux"]["namespaces"][0]["type"] = "bogus"


def _uid_negative(c):
    c["process"]["user"]["uid"] = -1


def _no_oci_version(c):
    del c["ociVersion"]


def _missing_comma(text):
    return text.replace('"ociVersion": "1.2.0",', '"ociVersion": "1.2.0"', 1)


def _trailing_garbage(text):
    return text + "\n}\n"


def _bad_device_type(c):
    c["linux"]["devices"] = [{"path": "/dev/bad", "type": "x", "major": 1, "minor": 3}]


def _bad_rlimit(c):
    c["process"]["rlimits"][0]["soft"] = "lots"


# (id, mutate, text_edit, json path regex, needle for the expected line or None)
CASES = [
    ("memory-limit-string", _mem_limit_string, None,
     r"linux\.resources\.memory\.limit", '"limit": "256m"'),
    ("syntax-missing-comma", None, _missing_comma, None, None),
    ("syntax-trailing-garbage", None, _trailing_garbage, None, None),
    # either the full path or the parent object's path plus the missing field's name
    ("missing-cwd", _no_cwd, None, r'process(\.cwd\b|: missing required field "?cwd\b)', None),
    ("args-not-array", _args_string, None, r"process\.args", '"args": "sh -c true"'),
    ("bad-namespace-type", _bad_ns, None, r"linux\.namespaces(\[0\]|\.0)\.type",
     '"type": "bogus"'),
    ("negative-uid", _uid_negative, None, r"process\.user\.uid", '"uid": -1'),
    ("missing-ociVersion", _no_oci_version, None, r"ociVersion", None),
    ("rlimit-soft-string", _bad_rlimit, None, r"process\.rlimits(\[0\]|\.0)\.soft",
     '"soft": "lots"'),
    ("bad-device-type", _bad_device_type, None, r"linux\.devices(\[0\]|\.0)\.type",
     '"type": "x"'),
]
CASE_IDS = [c[0] for c in CASES]
# runc 1.1 accepts these (it does not validate them); capsa must reject them
LENIENT_IN_RUNC = {"missing-ociVersion",
                   "syntax-trailing-garbage"}


def _case_params():
    out = []
    for c in CASES:
        marks = [pytest.mark.capsa_only("runc 1.1 accepts this config")] \
            if c[0] in LENIENT_IN_RUNC else []
        out.append(pytest.param(*c[1:], id=c[0], marks=marks))
    return out


@pytest.mark.parametrize("mutate,text_edit,path,needle", _case_params())
@pytest.mark.parametrize("verb", ["create", "run"])
def test_bad_config_rejected(ct, verb, mutate, text_edit, path, needle):
    b = _bad_bundle(ct, mutate, text_edit)
    r = ct.capsa(verb, "--bundle", b.path, b.id)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert os.listdir(ct.root) == []
    ct.assert_nothing_created(b.id, b)


@pytest.mark.capsa_only("config error format config.json:LINE:COL: path: message")
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_config_message(ct, case):
    _, mutate, text_edit, path, needle = case
    b = _bad_bundle(ct, mutate, text_edit)
    r = ct.capsa("create", "--bundle", b.path, b.id)
    assert r.returncode == 1
    lines = error_lines(r.stderr)
    assert len(lines) == 1, f"expected one line, got: {r.stderr}"
    msg = lines[0]
    m = LOC.search(msg)
    assert m, f"no config.json:LINE:COL in {msg!r}"
    line, col = int(m.group(1)), int(m.group(2))
    assert 1 <= line <= len(b.text.splitlines()) + 1 and col >= 1
    if path:
        assert re.search(path, msg), f"JSON path {path} not in {msg!r}"
    if needle:
        assert line == _line_of(b.text, needle), f"{msg!r}: expected line of {needle!r}"


@pytest.mark.capsa_only("config error format")
def test_syntax_error_location(ct):
    b = _bad_bundle(ct, text_edit=_missing_comma)
    r = ct.capsa("create", "--bundle", b.path, b.id)
    m = LOC.search(r.stderr)
    assert m, r.stderr
    # jansson reports the token after the missing comma: "process" on line 3
    assert int(m.group(1)) in (2, 3), r.stderr


@pytest.mark.capsa_only("config error format: the example from the issue")
def test_memory_limit_example_message(ct):
    b = _bad_bundle(ct, _mem_limit_string)
    r = ct.capsa("create", "--bundle", b.path, b.id)
    assert re.search(r"config\.json:\d+:\d+: linux\.resources\.memory\.limit: "
                     r"expected an integer, got a string", r.stderr), r.stderr


def test_unknown_fields_ignored(ct):
    def tweak(c):
        c["x-vendor-extension"] = {"a": 1}
        c["process"]["someFutureField"] = True
        c["linux"]["anotherFutureField"] = [1, 2]
    assert ct.run_ok(["true"], tweak=tweak) == ""


def test_config_not_an_object(ct):
    b = _bad_bundle(ct, text_edit=lambda t: "[]\n")
    r = ct.capsa("create", "--bundle", b.path, b.id)
    assert r.returncode != 0
    ct.assert_nothing_created(b.id, b)


def test_missing_config_json(ct):
    b = ct.bundle()
    os.remove(b.config_path)
    r = ct.capsa("create", "--bundle", b.path, b.id)
    assert r.returncode != 0
    assert "config.json" in r.stderr
    ct.assert_nothing_created(b.id, b)


def test_missing_bundle_dir(ct):
    cid = ct.new_id()
    r = ct.capsa("create", "--bundle", os.path.join(ct.tmp, "no-such-bundle"), cid)
    assert r.returncode != 0
    assert "no-such-bundle" in r.stderr
    ct.assert_nothing_created(cid)


def test_missing_rootfs(ct):
    b = ct.bundle()
    b.config["root"]["path"] = "no-such-rootfs"
    b.write()
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode != 0
    assert "no-such-rootfs" in r.stderr
    ct.assert_nothing_created(b.id, b)


# --- failures inside the container's setup, after the fork --------------------------

def _bind_missing_source(ct):
    src = os.path.join(ct.tmp, "no-such-source")

    def tweak(c):
        c["mounts"].append({"destination": "/mnt/x", "type": "bind", "source": src,
                            "options": ["bind"]})
    return tweak, ["no-such-source"], "mount"


def _cwd_is_file(ct):
    return (lambda c: c["process"].update(cwd="/etc/passwd")), ["/etc/passwd"], "cwd"


def _unknown_fstype(ct):
    def tweak(c):
        c["mounts"].append({"destination": "/mnt/y", "type": "nosuchfs", "source": "none"})
    return tweak, ["/mnt/y"], "mount"


def _exec_missing(ct):
    return (lambda c: c["process"].update(args=["/no/such/binary"])), \
        ["/no/such/binary"], "exec"


def _file_over_dir(ct):
    src = os.path.join(ct.tmp, "a-file")
    open(src, "w").close()

    def tweak(c):
        c["mounts"].append({"destination": "/root", "type": "bind", "source": src,
                            "options": ["bind"]})
    return tweak, ["/root"], "mount"


SETUP_FAILURES = {"bind-missing-source": _bind_missing_source, "cwd-is-a-file": _cwd_is_file,
                  "unknown-fstype": _unknown_fstype, "exec-missing": _exec_missing,
                  "file-over-dir": _file_over_dir}


@pytest.mark.parametrize("case", sorted(SETUP_FAILURES))
@pytest.mark.parametrize("verb", ["create", "run"])
def test_setup_failure_cleans_up(ct, verb, case):
    tweak, paths, step = SETUP_FAILURES[case](ct)
    b = ct.bundle(args=["true"], tweak=tweak)
    r = ct.capsa(verb, "--bundle", b.path, b.id)
    if verb == "create" and r.returncode == 0:
        # an exec failure may only surface at start
        assert case == "exec-missing", r.stderr
        r = ct.capsa("start", b.id)
        assert r.returncode != 0
        ct.capsa("delete", "--force", b.id, check=True)
    assert r.returncode != 0
    for p in paths:
        assert p in r.stderr, f"{p} not named in: {r.stderr}"
    ct.assert_nothing_created(b.id, b)


@pytest.mark.capsa_only("one-line setup errors naming the step and the path, never EOF")
@pytest.mark.parametrize("case", sorted(SETUP_FAILURES))
def test_setup_failure_message(ct, case):
    tweak, paths, step = SETUP_FAILURES[case](ct)
    b = ct.bundle(args=["true"], tweak=tweak)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode == 1
    lines = error_lines(r.stderr)
    assert len(lines) == 1, f"expected one line, got: {r.stderr}"
    msg = lines[0]
    assert msg.startswith("capsa:"), msg
    assert "EOF" not in msg and "exit status" not in msg, msg
    assert b.id in msg, f"the container id is not named: {msg}"
    for p in paths:
        assert p in msg
    assert step in msg.lower(), f"step {step!r} not named: {msg}"


def test_log_json_on_failure(ct):
    log = os.path.join(ct.tmp, "capsa.log")
    b = ct.bundle(args=["true"], tweak=lambda c: c["process"].update(cwd="/etc/passwd"))
    r = ct.capsa("run", "--bundle", b.path, b.id,
                 global_args=["--log", log, "--log-format", "json"])
    assert r.returncode != 0
    entries = [json.loads(l) for l in open(log).read().splitlines() if l.strip()]
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors, entries
    assert all("msg" in e and "time" in e for e in entries)
    assert any("/etc/passwd" in e["msg"] for e in errors), errors
    ct.assert_nothing_created(b.id, b)


def test_systemd_cgroup_without_systemd(ct):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd is running here")
    b = ct.bundle(args=["true"])
    r = ct.capsa("run", "--bundle", b.path, b.id, global_args=["--systemd-cgroup"])
    assert r.returncode != 0
    assert "systemd" in r.stderr.lower() or "dbus" in r.stderr.lower(), r.stderr
    ct.assert_nothing_created(b.id, b)


@pytest.mark.capsa_only("clear one-line error for --systemd-cgroup without systemd")
def test_systemd_cgroup_message(ct):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd is running here")
    b = ct.bundle(args=["true"])
    r = ct.capsa("create", "--bundle", b.path, b.id, global_args=["--systemd-cgroup"])
    assert r.returncode == 1
    assert len(error_lines(r.stderr)) == 1, r.stderr
    assert "systemd" in r.stderr


@pytest.mark.capsa_only("runc implements ioPriority; capsa refuses what it does not implement")
@pytest.mark.parametrize("field", [{"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 1}},
                                   {"scheduler": {"policy": "SCHED_OTHER"}}])
def test_exec_process_json_unsupported_field_refused(ct, field):
    """exec --process refuses, like config.json, the fields capsa does not implement:
    a process that silently runs without them is worse than one that does not start."""
    b = ct.running()
    path = os.path.join(ct.tmp, "process.json")
    with open(path, "w") as f:
        json.dump({"args": ["sh", "-c", "echo RAN"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                   **field}, f)
    r = ct.capsa("exec", "--process", path, b.id)
    assert r.returncode != 0 and "RAN" not in r.stdout
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    key = next(iter(field))
    assert re.search(rf"process\.json:1:\d+: {key}: not supported by capsa yet$", lines[0]), lines
    assert ct.status(b.id) == "running"


@pytest.mark.capsa_only("one-line errors are capsa's promise")
def test_setup_error_with_newline_in_path_is_one_line(ct):
    """A setup failure names the config's path; a newline in it is escaped, so the
    error stays one line (clients read the last line of stderr)."""
    def mutate(c):
        c["mounts"].append({"destination": "/x\ny", "type": "nosuchfs", "source": "none"})
    b = _bad_bundle(ct, mutate)
    r = ct.capsa("run", "--bundle", b.path, b.id)
    assert r.returncode != 0
    assert r.stderr.count("\n") == 1, r.stderr
    assert "/x\\x0ay" in r.stderr, r.stderr
    ct.assert_nothing_created(b.id)
