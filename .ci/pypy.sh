#!/usr/bin/env bash
# Stage "pypy": the pure wheel on PyPy (Debian's pypy3), where the pure twin is the one used.
set -euo pipefail
STAGE_NAME=pypy
. "$(dirname "$0")/lib.sh"
PURE=$(ls "$CI_WORK"/pure/wscodec-*-py3-none-any.whl 2>/dev/null | head -n1 || true)
[ -n "$PURE" ] || die "no pure wheel (the wheel stage builds it)"
if ! command -v pypy3 >/dev/null 2>&1 || ! pypy3 -c 'import venv, ensurepip' 2>/dev/null; then
    log "installing Debian's pypy3"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q pypy3 pypy3-venv
fi
VENV=$CI_WORK/venv-pypy
rm -rf "$VENV"
pypy3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# Take the newest hypothesis with a wheel for this interpreter (see freethreaded.sh).
"$VENV/bin/python" -m pip install -q --only-binary hypothesis "$PURE[test]"
"$VENV/bin/python" -c 'import sys, platform; print(platform.python_implementation(), sys.version.split()[0])'
assert_twin "$VENV/bin/python" python
copy_tests "$CI_WORK/tests-pypy"
(cd "$CI_WORK/tests-pypy" && "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests)
