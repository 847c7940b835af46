#!/bin/sh
# Build crictl and critest (cri-tools v1.26.1) from the vendored source tarball,
# offline, with Debian's go 1.19. Cached: does nothing when both binaries are
# newer than the tarball.
#   tests/cri/build-tools.sh TARBALL OUTDIR
# OUTDIR gets bin/crictl, bin/critest, gopath/ and src/ (removed after). The Go build
# cache is go's own default (~/.cache/go-build, content-addressed): a fresh clone on a
# machine that built them before links in seconds instead of compiling 2.5 min.
set -eu
TAR=$1
OUT=$2
if [ -x "$OUT/bin/crictl" ] && [ -x "$OUT/bin/critest" ] &&
   [ "$OUT/bin/critest" -nt "$TAR" ] && [ "$OUT/bin/crictl" -nt "$TAR" ]; then
    exit 0
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=vendor GOPROXY=off GO111MODULE=on CGO_ENABLED=0
export GOPATH="$OUT/gopath" GOFLAGS="-mod=vendor -modcacherw"
export GOCACHE="${GOCACHE:-${XDG_CACHE_HOME:-${HOME:-$OUT}/.cache}/go-build}"
mkdir -p "$OUT/bin"
rm -rf "$OUT/src"
mkdir -p "$OUT/src"
tar -xzf "$TAR" -C "$OUT/src"
cd "$OUT/src"/cri-tools-*
VERSION=$(basename "$PWD" | sed 's/^cri-tools-//')
LDF="-X github.com/kubernetes-sigs/cri-tools/pkg/version.Version=$VERSION"
echo "building crictl and critest $VERSION with $(go version)" >&2
go build -trimpath -ldflags "$LDF" -o "$OUT/bin/crictl.new" ./cmd/crictl
go test -c -trimpath -ldflags "$LDF" -o "$OUT/bin/critest.new" ./cmd/critest
mv "$OUT/bin/crictl.new" "$OUT/bin/crictl"
mv "$OUT/bin/critest.new" "$OUT/bin/critest"
rm -rf "$OUT/src"
