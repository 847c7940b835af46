#!/bin/bash
# Regenerate tests/compat/corpus/ from the engines installed on this host.
#
#   tests/compat/refresh-corpus.sh [MOBY_REPO]
#
# MOBY_REPO: a git clone of github.com/moby/moby (for Docker's seccomp profiles;
# without it those files are kept as they are). Every engine runs privately: podman
# with its own storage, netns "none" and cgroupfs; containerd with its own root,
# state and socket in a private mount namespace; runc is the runtime they drive.
# Containers are only created (never started) or started with `sleep`, and removed.
# Host-specific values (paths under the engines' temp dirs, rootfs) are replaced by
# placeholders that tests/compat/conftest.py fills at run time; see SOURCES.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=$HERE/corpus
MOBY=${1:-}
RUNC=$(command -v runc || true)
TMP=$(mktemp -d /tmp/capsa-corpus-refresh-XXXXXX)
chmod 755 "$TMP"
CG=/capsa-corpus-refresh-$$
CTRD_PID=
cleanup() {
    set +e
    if [ -n "${PM_ENV:-}" ]; then
        env $PM_ENV podman rm -a -f -t 0 >/dev/null 2>&1
        env $PM_ENV podman rmi -a -f >/dev/null 2>&1
        umount -R "$TMP/podman/graph/overlay" 2>/dev/null
    fi
    if [ -n "$CTRD_PID" ]; then
        kill "$CTRD_PID" 2>/dev/null; wait "$CTRD_PID" 2>/dev/null
    fi
    for d in /sys/fs/cgroup/*/"${CG#/}" /sys/fs/cgroup/"${CG#/}"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    grep -q " $TMP" /proc/self/mountinfo && umount -R "$TMP" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
note() { echo "refresh-corpus: $*" >&2; }

# sanitize ENGINE_BASE IN OUT: placeholders for the host-specific parts.
sanitize() { python3 "$(dirname "$0")/sanitize.py" "$@"; }

# --- the runtimes' own `spec` ----------------------------------------------------
mkdir -p "$TMP/spec" "$OUT/refused" "$OUT/seccomp"
if [ -n "$RUNC" ]; then
    (cd "$TMP/spec" && rm -f config.json && runc spec) && sanitize "" "$TMP/spec/config.json" "$OUT/runc-spec.json"
    (cd "$TMP/spec" && rm -f config.json && runc spec --rootless) && sanitize "" "$TMP/spec/config.json" "$OUT/runc-spec-rootless.json"
    note "runc spec: $(runc --version | head -1)"
else note "runc not installed: runc-spec*.json kept"; fi
if command -v crun >/dev/null; then
    (cd "$TMP/spec" && rm -f config.json && crun spec) && sanitize "" "$TMP/spec/config.json" "$OUT/crun-spec.json"
    (cd "$TMP/spec" && rm -f config.json && crun spec --rootless) && sanitize "" "$TMP/spec/config.json" "$OUT/refused/crun-spec-rootless.json"
    note "crun spec: $(crun --version | head -1)"
else note "crun not installed: crun-spec*.json kept"; fi

# --- seccomp profiles ---------------------------------------------------------------
if [ -f /usr/share/containers/seccomp.json ]; then
    cp /usr/share/containers/seccomp.json "$OUT/seccomp/podman-containers-common.json"
    note "podman profile: $(dpkg-query -W golang-github-containers-common 2>/dev/null || echo ?)"
fi
if [ -n "$MOBY" ] && [ -d "$MOBY" ]; then
    git -C "$MOBY" show v20.10.24:profiles/seccomp/default.json > "$OUT/seccomp/moby-v20.10.24.json"
    git -C "$MOBY" show v18.09.0:profiles/seccomp/default.json > "$OUT/seccomp/moby-v18.09.0.json"
    if git -C "$MOBY" cat-file -e HEAD:profiles/seccomp/default.json 2>/dev/null; then
        git -C "$MOBY" show HEAD:profiles/seccomp/default.json > "$OUT/seccomp/moby-master.json"
    else
        git -C "$MOBY" show HEAD:vendor/github.com/moby/profiles/seccomp/default.json > "$OUT/seccomp/moby-master.json"
    fi
    note "moby profiles from $MOBY (HEAD $(git -C "$MOBY" log -1 --format=%h))"
else note "no MOBY_REPO: moby profiles kept"; fi

[ -n "$RUNC" ] || { note "runc missing: podman, containerd and CRI entries kept"; exit 0; }
"$REPO/scripts/mkrootfs.sh" "$TMP/rootfs" >/dev/null
tar --numeric-owner --owner=0 --group=0 -C "$TMP/rootfs" -cf "$TMP/busybox.tar" .

# --- podman: config.json of `podman run` (taken after `podman init`) -----------------
if command -v podman >/dev/null; then
    P=$TMP/podman; mkdir -p "$P/net"
    cat > "$P/containers.conf" <<CONF
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
log_driver = "k8s-file"
[network]
network_config_dir = "$P/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
tmp_dir = "$P/libpod-tmp"
volume_path = "$P/volumes"
CONF
    printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/graph"\nrunroot = "%s/run"\n' "$P" "$P" > "$P/storage.conf"
    echo 'unqualified-search-registries = []' > "$P/registries.conf"
    PM_ENV="CONTAINERS_CONF=$P/containers.conf CONTAINERS_STORAGE_CONF=$P/storage.conf CONTAINERS_REGISTRIES_CONF=$P/registries.conf"
    pm() { (cd "$P" && env $PM_ENV podman --runtime "$RUNC" "$@"); }
    pm import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$TMP/busybox.tar" localhost/busybox:latest >/dev/null
    id=$(pm create --name corpus-podman --cgroup-parent "$CG" localhost/busybox:latest sh)
    pm init corpus-podman >/dev/null
    # the bundle is the container's userdata dir (under graphroot or runroot)
    cfg=$(find "$P" -path "*/$id/userdata/config.json" | head -1)
    sanitize "$P" "$cfg" "$OUT/podman-run.json"
    pm rm -f -t 0 corpus-podman >/dev/null
    note "podman run: $(podman --version)"
else note "podman not installed: podman-run.json kept"; fi

# --- containerd: the bundle the runc shim gets for `ctr run` -------------------------
if command -v containerd >/dev/null && command -v ctr >/dev/null && command -v umoci >/dev/null; then
    C=$TMP/containerd; mkdir -p "$C/root" "$C/state" "$C/run" "$C/opt"
    cat > "$C/config.toml" <<CONF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
CONF
    unshare -m --propagation private sh -c "mount --bind '$C/run' /run && exec containerd --config '$C/config.toml'" \
        > "$C/containerd.log" 2>&1 &
    CTRD_PID=$!
    ctr_() { nsenter -t "$CTRD_PID" -m -- ctr --address "$C/containerd.sock" "$@"; }
    for _ in $(seq 100); do
        [ -S "$C/containerd.sock" ] && ctr_ version >/dev/null 2>&1 && break
        sleep 0.1
    done
    L=$C/oci
    umoci init --layout "$L"
    umoci new --image "$L:latest"
    umoci unpack --image "$L:latest" "$C/bundle" >/dev/null
    cp -a "$TMP/rootfs/." "$C/bundle/rootfs"
    umoci repack --image "$L:latest" "$C/bundle"
    umoci config --image "$L:latest" --config.cmd /bin/sh --config.env PATH=/bin
    tar -C "$L" -cf "$C/oci.tar" .
    ctr_ images import --base-name docker.io/library/busybox "$C/oci.tar" >/dev/null
    for v in plain seccomp; do
        cid=corpus-ctr-$v
        extra=(); [ $v = seccomp ] && extra=(--seccomp)
        ctr_ run -d --runc-binary "$RUNC" --cgroup "$CG/$cid" "${extra[@]}" \
            docker.io/library/busybox:latest "$cid" sleep 60 >/dev/null
        cp "$C/state/io.containerd.runtime.v2.task/default/$cid/config.json" "$TMP/ctr-$v.json"
        ctr_ task kill -s SIGKILL "$cid" >/dev/null
        for _ in $(seq 50); do ctr_ task delete "$cid" >/dev/null 2>&1 && break; sleep 0.1; done
        ctr_ container delete "$cid" >/dev/null
    done
    sanitize "$C" "$TMP/ctr-plain.json" "$OUT/ctr-run.json"
    python3 - "$TMP/ctr-seccomp.json" "$OUT/seccomp/containerd-default.json" <<'PY'
import json, sys
sc = json.load(open(sys.argv[1]))["linux"]["seccomp"]
with open(sys.argv[2], "w") as f:
    json.dump(sc, f, indent=2, sort_keys=True)
    f.write("\n")
PY
    note "ctr run: $(containerd --version)"
else note "containerd/ctr/umoci missing: ctr-run.json kept"; fi

# --- CRI (Kubernetes pod sandbox + container) -----------------------------------------
# tests/cri/capture.py: the private containerd of tests/cri/run.py (CRI plugin, local
# registry), `crictl runp` + `create` + `start`, then the shim bundles' config.json,
# sanitized there (it needs crictl, built by tests/cri/build-tools.sh, and says
# "skipped" with one line when that cannot be had).
"$REPO/tests/cri/capture.py" "$OUT" || note "tests/cri/capture.py failed: cri-*.json kept"
