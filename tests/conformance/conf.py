"""Helpers of the conformance suite (the fixtures are the integration suite's)."""
import json
import os

from capsatest import error_lines, host_ns, pid_alive, wait_for


def refused(ct, r, *words, cid=None, bundle=None):
    """r failed with one clear error line naming each of words, and (given cid)
    nothing of that container exists."""
    assert r.returncode != 0, f"accepted: {r.args}\nstdout: {r.stdout}"
    lines = error_lines(r.stderr)
    assert len(lines) == 1, f"not one error line: {r.stderr!r}"
    for w in words:
        assert w in lines[0], f"{w!r} not in {lines[0]!r}"
    if cid is not None:
        ct.assert_nothing_created(cid, bundle)
    return lines[0]


def create_refused(ct, tweak, *words, args=("true",)):
    b = ct.bundle(args=args, tweak=tweak)
    r = ct.create(b, check=False)
    return refused(ct, r, *words, cid=b.id, bundle=b)


def init_pid(ct, cid):
    return ct.state(cid)["pid"]


def in_root(pid, path):
    """A path of the container's filesystem, seen from the host."""
    return f"/proc/{pid}/root{path}"


def read_in(pid, path):
    with open(in_root(pid, path)) as f:
        return f.read()


def ns_of(pid, name):
    return os.readlink(f"/proc/{pid}/ns/{name}")


def script(path, body):
    with open(path, "w") as f:
        f.write(body)
    os.chmod(path, 0o755)
    return path


def marker_program(path):
    """Container args that create `path` (a file in a bind-mounted directory) and
    then sleep: its existence says the user program ran."""
    return ["sh", "-c", f"touch {path}; exec sleep 1000"]


def out_dir(ct, name="out"):
    d = os.path.join(ct.tmp, name)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o777)
    return d


def bind(cfg, src, dst, ro=False):
    cfg["mounts"].append({"destination": dst, "type": "bind", "source": src,
                          "options": ["rbind", "ro" if ro else "rw"]})


def load(path):
    with open(path) as f:
        return json.load(f)


__all__ = ["refused", "create_refused", "init_pid", "in_root", "read_in", "ns_of", "script",
           "marker_program", "out_dir", "bind", "load", "host_ns", "pid_alive", "wait_for",
           "error_lines"]
