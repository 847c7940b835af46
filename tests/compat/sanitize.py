"""The corpus's placeholders for the host-specific parts of a config an engine wrote
(tests/compat/corpus/SOURCES.md): one rule set for refresh-corpus.sh, the Docker capture
(tests/clients/dockerd.py) and the CRI capture (tests/cri/capture.py).

    python3 tests/compat/sanitize.py ENGINE_BASE IN OUT

rootfs, args and cgroup path are left to the test; files of the engine's under
ENGINE_BASE become @BUNDLE@/file|dir/NAME (decided while they still exist); namespace
paths @NS:TYPE@; every other mention of ENGINE_BASE @ENGINE@. An empty ENGINE_BASE
(a runtime's own `spec`) replaces no path.
"""
import json
import os
import sys


def sanitize(c, base):
    c["root"]["path"] = "rootfs"
    c["process"]["args"] = ["sh"]
    if "cgroupsPath" in c.get("linux", {}):
        c["linux"]["cgroupsPath"] = "@CGROUP@"
    for m in c.get("mounts", []):
        s = m.get("source", "")
        if base and s.startswith(base + "/"):
            kind = "dir" if os.path.isdir(s) else "file"
            m["source"] = f"@BUNDLE@/{kind}/{os.path.basename(s)}"
    for n in c.get("linux", {}).get("namespaces", []):
        if n.get("path"):
            n["path"] = f"@NS:{n['type']}@"

    def walk(v):
        if isinstance(v, str):
            return v.replace(base, "@ENGINE@") if base else v
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    return walk(c)


if __name__ == "__main__":
    base, src, dst = sys.argv[1:4]
    with open(src) as f:
        c = sanitize(json.load(f), base)
    with open(dst, "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
