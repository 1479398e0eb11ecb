#!/usr/bin/env bash
# Build a free-threaded CPython 3.13 (configured with --disable-gil) for CI, reusing an
# existing build when one is present.
#
# No free-threaded CPython is packaged for Debian 12, so this takes the upstream source
# tarball from Debian trixie's python3.13 source package (fetched with `apt-get source`
# using an apt state of its own, so the host's apt configuration is untouched) and builds it
# with plain upstream `configure` (Debian's patches target Debian's own layout and are not
# applied).  About 10 minutes on two cores.
#
# Usage: scripts/build-freethreaded-python.sh        prints the interpreter's path last
# Environment:
#   WSCODEC_CI_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/wscodec-ci)
#   FT_PREFIX          install prefix (default $WSCODEC_CI_CACHE/python3.13t)
#   DEBIAN_MIRROR      mirror for the trixie sources (default: the host apt's Debian mirror)
set -euo pipefail

CACHE=${WSCODEC_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wscodec-ci}
PREFIX=${FT_PREFIX:-$CACHE/python3.13t}
PYBIN=$PREFIX/bin/python3.13t
STAMP=$PREFIX/.wscodec-build-complete

log() { echo "[build-freethreaded-python] $*" >&2; }

works() {
    [ -f "$STAMP" ] && [ -x "$PYBIN" ] &&
        "$PYBIN" -c 'import sys, sysconfig, ssl, zlib, ctypes
assert sysconfig.get_config_var("Py_GIL_DISABLED") == 1
assert not sys._is_gil_enabled()' 2>/dev/null
}

if works; then
    log "reusing $PYBIN"
    echo "$PYBIN"
    exit 0
fi

# Find the Debian mirror the host's apt uses (deb822 .sources or one-line sources.list).
mirror_from_apt() {
    { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p'
      cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
          sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'
    } | tr ' ' '\n' | grep -E '/debian/?$' | head -n1 || true
}
MIRROR=${DEBIAN_MIRROR:-$(mirror_from_apt || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}

# Build dependencies (headers for the stdlib modules pip and the tests need).
DEPS="build-essential dpkg-dev pkg-config libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev libreadline-dev uuid-dev"
missing=""
for p in $DEPS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    log "installing build dependencies:$missing"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -q >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing >&2
fi

# A separate apt state that only knows trixie's sources.
APTDIR=$CACHE/apt-trixie
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/sources.list.d" "$APTDIR/src"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb-src [signed-by=$KEYRING] $MIRROR trixie main" > "$APTDIR/sources.list"
APT_OPTS=(
    -o "Dir::Etc::SourceList=$APTDIR/sources.list"
    -o "Dir::Etc::SourceParts=$APTDIR/sources.list.d"
    -o "Dir::State::Lists=$APTDIR/lists"
    -o "Dir::Cache=$APTDIR/cache"
    -o "APT::Sandbox::User=root"
)
cd "$APTDIR/src"
if ! ls python3.13_*.orig.tar.xz >/dev/null 2>&1; then
    log "fetching python3.13 sources from trixie ($MIRROR)"
    apt-get "${APT_OPTS[@]}" update -q >&2
    apt-get "${APT_OPTS[@]}" source --download-only python3.13 >&2
fi
TARBALL=$(ls python3.13_*.orig.tar.xz | sort | tail -n1)
log "building from $TARBALL"

BUILD=$(mktemp -d "$CACHE/build-python3.13t.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
tar -xJf "$TARBALL" -C "$BUILD" --strip-components=1
cd "$BUILD"
rm -rf "$PREFIX"
start=$(date +%s)
# --with-ensurepip=install gives the prefix a pip; no PGO/LTO and no test modules: CI wants it
# built quickly.
./configure -q --disable-gil --disable-test-modules --prefix="$PREFIX" --with-ensurepip=install >&2
nice -n 10 make -s -j"$(nproc)" >"$BUILD/make.log" 2>&1 || { tail -n 50 "$BUILD/make.log" >&2; exit 1; }
nice -n 10 make -s install >"$BUILD/install.log" 2>&1 || { tail -n 50 "$BUILD/install.log" >&2; exit 1; }
touch "$STAMP"
if ! works; then
    rm -f "$STAMP"
    log "the built interpreter does not work as a free-threaded CPython"
    exit 1
fi
log "built $PYBIN in $(( $(date +%s) - start )) s"
echo "$PYBIN"
