#!/usr/bin/env bash
# Stage "readme-tests": the README's test command, in the checkout, for the compiled twin
# (the extension must compile) and again for the pure twin (WSCODEC_NO_EXTENSIONS=1).  Without
# the optional deflate backends (isal, zlib-ng): this is the run where only the standard
# library's zlib is there (the wheel stage runs the suite with them).
#   python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[test]" && python -m pytest
set -euo pipefail
STAGE_NAME=readme-tests
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
rm -rf .venv
"${PYTHON:-python3}" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip

# The NEON kernels are checked under emulation: a cross compiler and qemu-user (Debian).
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
    log "installing gcc-aarch64-linux-gnu and qemu-user (NEON kernel checks)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu qemu-user >/dev/null
fi
export WSCODEC_REQUIRE_NEON_CHECK=1

# Both runs happen even when the first fails; the stage fails if either did.
status=0
log "compiled twin"
WSCODEC_REQUIRE_EXTENSIONS=1 pip install -q -e ".[test]"
python -c "import wscodec, sys; sys.exit(wscodec.DEFLATE_BACKEND != 'zlib')" ||
    die "a deflate backend other than zlib is installed: this run is the one without them"
python -m pytest || status=1

log "pure twin (WSCODEC_NO_EXTENSIONS=1)"
WSCODEC_NO_EXTENSIONS=1 python -m pytest || status=1
exit $status
