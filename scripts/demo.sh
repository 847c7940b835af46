#!/bin/sh
# make demo: a busybox container in every namespace, then clean up.
set -eu
capsa=$(readlink -f "${1:-build/capsa}")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/capsa-demo.XXXXXX)
# container root is an unprivileged host uid: it must be able to reach the rootfs
chmod 755 "$tmp"
root="$tmp/state"
id="demo-$$"
cleanup() {
    "$capsa" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$here/mkrootfs.sh" "$tmp/bundle/rootfs"
cd "$tmp/bundle"
"$capsa" spec --memory 64m --cpus 0.5 --pids 64
# The default spec is locked down; the demo adds the three namespaces it leaves
# out (user, time, plus cgroup already there) and a hostname.
/usr/bin/python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["hostname"] = "capsa-demo"
c["process"]["args"] = ["sh", "-c",
    "echo \"hostname: $(hostname)\"; echo \"id: $(id)\"; echo; ps; echo; "
    "for n in cgroup ipc mnt net pid time user uts; do "
    "echo \"$n -> $(readlink /proc/self/ns/$n)\"; done"]
ns = c["linux"]["namespaces"]
ns += [{"type": "user"}, {"type": "time"}]
c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
json.dump(c, open("config.json", "w"), indent=2)
PY
echo "== capsa run $id (all eight namespaces, hostname capsa-demo)"
"$capsa" --root "$root" run "$id"
echo "== host namespaces, for comparison"
for n in cgroup ipc mnt net pid time user uts; do echo "$n -> $(readlink /proc/self/ns/$n)"; done

# A busy container under the limits: a CPU loop and some memory, then look at it.
/usr/bin/python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["args"] = ["sh", "-c", "head -c 20000000 /dev/zero > /dev/shm/fill; "
                        "while :; do :; done"]
json.dump(c, open("config.json", "w"), indent=2)
PY
echo
echo "== capsa run --detach $id (memory 64 MiB, 0.5 CPU, 64 pids), busy"
"$capsa" --root "$root" run --detach "$id"
sleep 1
echo
echo "== capsa audit $id"
"$capsa" --root "$root" audit --color never "$id" || true
echo
echo "== capsa stats $id"
"$capsa" --root "$root" stats --color never "$id" || true
echo
"$capsa" --root "$root" delete --force "$id"
echo "deleted $id; nothing left behind"
