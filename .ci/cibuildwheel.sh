#!/usr/bin/env bash
# Stage "cibuildwheel": cibuildwheel's own Linux code path (container, build from the sdist,
# auditwheel repair, test-command against each wheel), driven by [tool.cibuildwheel] in
# pyproject.toml, for one CPython version.  No registry or Docker engine is reachable, so
# the container is podman running a local manylinux-style image (scripts/build-ci-image.sh,
# cached across runs and rebuilt when missing).
set -euo pipefail
STAGE_NAME=cibuildwheel
. "$(dirname "$0")/lib.sh"
tools_on_path
SDIST=$(sdist_path)
# One build proves the path (cp313: the pythons stage leaves 3.13 to this one); the other
# CPythons are built from the sdist and tested by the wheel and pythons stages.
BUILDS=${CI_CIBW_BUILD:-cp313-manylinux_x86_64}

IMAGE=$(bash "$ROOT/scripts/build-ci-image.sh")
# shellcheck source=scripts/podman-env.sh
. "$ROOT/scripts/podman-env.sh"
OUT=$CI_WORK/cibw-wheelhouse
rm -rf "$OUT"

log "cibuildwheel $(python -c 'import importlib.metadata as m; print(m.version("cibuildwheel"))') builds: $BUILDS (image $IMAGE)"
CIBW_BUILD=$BUILDS \
CIBW_CONTAINER_ENGINE=podman \
CIBW_MANYLINUX_X86_64_IMAGE=$IMAGE \
CIBW_BUILD_VERBOSITY=0 \
    cibuildwheel --platform linux --output-dir "$OUT" "$SDIST"

# One repaired manylinux wheel per requested build.
status=0
for id in $BUILDS; do
    py=${id%%-*}
    found=$(ls "$OUT"/wscodec-*-"$py"-"$py"-*manylinux*_x86_64*.whl 2>/dev/null || true)
    if [ -n "$found" ]; then
        log "$id -> $(basename "$found")"
    else
        log "$id: no repaired wheel in $OUT"
        status=1
    fi
done
exit $status
