"""Mount options used by the conformance and features tests: one container with one
mount per option proves that each option is accepted by `create`."""
import os

# runtime-spec config.md, Linux mount options whose requirement is MUST.
MUST_OPTIONS = """async atime bind defaults dev diratime dirsync exec iversion lazytime loud
noatime nodev nodiratime noexec noiversion nolazytime norelatime nostrictatime nosuid
private rbind relatime remount ro rprivate rshared rslave runbindable rw shared silent slave
strictatime suid sync unbindable""".split()

# Options that show in /proc/self/mountinfo (per-mount flags) when set.
VISIBLE = {"ro": "ro", "nosuid": "nosuid", "nodev": "nodev", "noexec": "noexec",
           "noatime": "noatime", "nodiratime": "nodiratime", "relatime": "relatime"}

BIND_ONLY = {"bind", "rbind", "idmap", "ridmap"}


def option_mounts(ct, options):
    """(tweak, {option: destination}) mounting one tmpfs (or bind of a host
    directory) per option under /opt-test."""
    src = os.path.join(ct.tmp, "bind-src")
    os.makedirs(src, exist_ok=True)
    where = {}

    def tweak(c):
        for o in options:
            dst = f"/opt-test/{o}"
            where[o] = dst
            if o in BIND_ONLY:
                m = {"destination": dst, "type": "bind", "source": src, "options": [o]}
                if o in ("idmap", "ridmap"):
                    m["options"].append("rbind" if o == "ridmap" else "bind")
                    m["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
                    m["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
            else:
                m = {"destination": dst, "type": "tmpfs", "source": "tmpfs", "options": [o]}
            c["mounts"].append(m)
        c["root"]["readonly"] = False
    return tweak, where
