#!/bin/sh
# Build CRIU (the checkpoint/restore engine behind `capsa checkpoint` / `capsa restore`)
# from a source tarball into a project-local prefix, when no usable CRIU is installed.
#
#   scripts/build-criu.sh [PREFIX]     (default PREFIX: build/criu)
#
# Installs PREFIX/sbin/criu, PREFIX/lib/libcriu.so.2 and PREFIX/include/criu/*.h;
# capsa looks there first (next to its own binary: build/capsa -> build/criu), see
# docs/checkpoint.md. Nothing is done (exit 0) when
#   - PREFIX already holds a build of this version (the cache; `make clean` drops it),
#   - an installed criu >= 4.1 works (unless CRIU_FORCE_BUILD=1) -- capsa uses that one,
#   - the tarball is absent (CRIU_TARBALL, default ../shared/vendor/criu-4.2.tar.gz):
#     checkpoint/restore are then unavailable and their tests say SKIPPED.
# Build dependencies (Debian): see CRIU_BUILD_PKGS in scripts/deps.sh.
set -eu
cd "$(dirname "$0")/.."
PREFIX=${1:-build/criu}
VERSION=4.2
TARBALL=${CRIU_TARBALL:-../shared/vendor/criu-$VERSION.tar.gz}

say() { echo "build-criu: $*" >&2; }

if [ -x "$PREFIX/sbin/criu" ] && [ -e "$PREFIX/lib/libcriu.so.2" ] &&
   [ "$(cat "$PREFIX/.version" 2>/dev/null)" = "$VERSION" ]; then
    exit 0
fi
# "Version: 4.1" or "Version: 3.17.1" -> true when >= 4.1
new_enough() {
    major=${1%%.*}; rest=${1#*.}; minor=${rest%%.*}
    case "$major$minor" in *[!0-9]*|"") return 1 ;; esac
    [ "$major" -gt 4 ] || { [ "$major" -eq 4 ] && [ "$minor" -ge 1 ]; }
}
if [ "${CRIU_FORCE_BUILD:-0}" != 1 ] && command -v criu >/dev/null 2>&1; then
    v=$(criu --version 2>/dev/null | sed -n 's/^Version: *//p')
    if new_enough "$v" && /sbin/ldconfig -p 2>/dev/null | grep -q 'libcriu\.so\.2 '; then
        say "installed criu $v (and libcriu) is new enough; not building"
        exit 0
    fi
fi
if [ ! -f "$TARBALL" ]; then
    say "no $TARBALL: CRIU not built (checkpoint/restore unavailable)"
    exit 0
fi
for tool in gcc make pkg-config protoc-c protoc; do
    command -v "$tool" >/dev/null 2>&1 || {
        say "missing $tool (scripts/deps.sh installs CRIU's build dependencies)"; exit 1; }
done

start=$(date +%s)
src=build/criu-src
rm -rf "$src" "$PREFIX"
mkdir -p "$src"
tar -xzf "$TARBALL" -C "$src" --strip-components=1
jobs=$(nproc 2>/dev/null || echo 2)
# NETWORK_LOCK_NFTABLES: a container with its own network namespace is locked with
# nftables (libnftables), not iptables-restore (not installed here).
lock=""
pkg-config --exists libnftables 2>/dev/null && lock="NETWORK_LOCK_DEFAULT=NETWORK_LOCK_NFTABLES"
say "building CRIU $VERSION in $src ($jobs jobs${lock:+, $lock})"
# shellcheck disable=SC2086
if ! make -C "$src" -j"$jobs" $lock criu lib/c/libcriu.so >"$src/build.log" 2>&1; then
    tail -20 "$src/build.log" >&2
    say "CRIU build failed (full log: $src/build.log)"
    exit 1
fi
mkdir -p "$PREFIX/sbin" "$PREFIX/lib" "$PREFIX/include/criu"
install -m 755 "$src/criu/criu" "$PREFIX/sbin/criu"
so=$(cd "$src/lib/c" && ls libcriu.so* | head -1)
install -m 755 "$src/lib/c/$so" "$PREFIX/lib/libcriu.so.2"
ln -sf libcriu.so.2 "$PREFIX/lib/libcriu.so"
install -m 644 "$src/lib/c/criu.h" "$src/images/rpc.proto" "$PREFIX/include/criu/"
[ -f "$src/criu/include/version.h" ] && install -m 644 "$src/criu/include/version.h" "$PREFIX/include/criu/"
echo "$VERSION" >"$PREFIX/.version"
say "CRIU $VERSION installed in $PREFIX in $(( $(date +%s) - start )) s"
