#!/bin/sh
# Install whatever capsa needs to build, test and demo, from Debian packages.
# A no-op (no apt call at all) when everything is already installed.
#   deps.sh          everything `make check` needs
#   deps.sh --demo   only what building capsa and `make demo` need (a fresh machine
#                    gets its first container in a minute, not after docker, go and CRIU)
#   deps.sh --no-vm  everything but the qemu guest; --bench adds crun, runc, time
set -eu
# The packages of "$@" that are not installed, each after a space.
missing_of() {
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            printf ' %s' "$p"
    done
}
if [ "${1:-}" = "--demo" ]; then
    # shellcheck disable=SC2046
    missing=$(missing_of gcc make pkg-config libc6-dev libjansson-dev libseccomp-dev \
        libcap-dev libmicrohttpd-dev busybox-static python3 iproute2 procps util-linux)
    [ -z "$missing" ] && exit 0
    [ "$(id -u)" = 0 ] || { echo "deps.sh: missing packages:$missing (run as root)" >&2; exit 1; }
    echo "deps.sh: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    exit 0
fi
PKGS="gcc make pkg-config libc6-dev libjansson-dev libseccomp-dev libcap-dev \
libcmocka-dev busybox-static python3 python3-pytest iproute2 uidmap procps util-linux tmux \
podman conmon containerd umoci runc docker.io \
clang llvm libclang-rt-14-dev valgrind \
golang-go containernetworking-plugins"
# golang-go + containernetworking-plugins: tests/cri (crictl and critest built from
# ../shared/vendor with go 1.19; the CNI bridge/host-local/portmap plugins).
# libmicrohttpd-dev: capsa exporter's HTTP server. prometheus (19 MB, about 10 s to install):
# tests/integration/test_exporter.py scrapes the exporter with a real Prometheus.
PKGS="$PKGS libmicrohttpd-dev prometheus"
# libsystemd-dev: sd-bus's headers for the systemd cgroup driver (src/cgroup/systemd.c;
# libsystemd0 itself is loaded at run time, only when --systemd-cgroup is used).
PKGS="$PKGS libsystemd-dev"
# docker.io: tests/clients/test_docker.py (a private dockerd the test starts itself).
# clang + libclang-rt (libFuzzer, only a recommends of clang) + llvm (llvm-symbolizer):
# make fuzz. valgrind: make valgrind.
# The pure cgroup v2 test guest (tests/vm): qemu and a Debian kernel with its modules.
# `deps.sh --no-vm` (make demo) leaves them out.
if [ "${1:-}" != "--no-vm" ] && [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ]; then
    PKGS="$PKGS qemu-system-x86 linux-image-amd64"
    # apparmor (apparmor_parser): the guest's kernel has AppArmor on; its tests load
    # their own profiles (tests/integration/test_apparmor.py).
    PKGS="$PKGS apparmor"
    # tests/vm/systemd: the guest boots the host's systemd as PID 1 with a D-Bus system
    # bus (installing them starts nothing on a host that does not run systemd);
    # dbus-user-session: a user's own bus under user@UID.service (rootless systemdUser).
    PKGS="$PKGS systemd dbus dbus-user-session"
fi
# `deps.sh --bench` (make bench): the runtimes capsa is measured against.
[ "${1:-}" = "--bench" ] && PKGS="$PKGS crun runc time"
# CRIU's build dependencies: scripts/build-criu.sh builds CRIU 4.2 into build/criu
# (checkpoint/restore) when no installed criu >= 4.1 exists (Debian 12 has 3.17).
PKGS="$PKGS libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler \
libnl-3-dev libnet1-dev libnftables-dev libbsd-dev uuid-dev"
criu() { "$(dirname "$0")/build-criu.sh" ||
    echo "deps.sh: CRIU not built: checkpoint/restore unavailable (their tests skip)" >&2; }
[ "${1:-}" = "--print" ] && { echo $PKGS; exit 0; }
# shellcheck disable=SC2086
missing=$(missing_of $PKGS)
# The kernel package needs an initramfs generator; where none is installed, take the
# tiny one (initramfs-tools would pull in udev and systemd; the guest brings its own).
case " $missing " in *" linux-image-amd64 "*)
    dpkg-query -W -f='${Status}\n' initramfs-tools dracut tiny-initramfs 2>/dev/null |
        grep -q "install ok installed" || missing="$missing tiny-initramfs" ;;
esac
[ -z "$missing" ] && { criu; exit 0; }
if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# docker.io's (and containerd's) maintainer scripts would start a default daemon
# (system-wide /var/lib/docker, a docker0 bridge on 172.17/16): a policy-rc.d that
# refuses every service start stops that. Removed afterwards only if made here.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# deps.sh: no service starts during package installation\nexit 101\n' \
        >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    trap 'exit 130' INT TERM HUP
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
criu
