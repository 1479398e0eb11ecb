#!/usr/bin/env bash
# Stage "wheel": a real wheel, as a user gets it.
#  1. the sdist, then the wheel built from that sdist in an isolated build environment
#     (a file missing from the sdist fails here); the extension must compile;
#  2. the sdist holds what a build and the tests need, and nothing generated;
#  3. auditwheel repair (the manylinux tag is recorded and must be manylinux_2_17 or older);
#     no extension module carries a RUNPATH/RPATH of the build machine;
#  4. installed into a fresh venv (no Cython, no source tree on its path), the compiled twin
#     loads and the test suite passes against it, with the optional deflate backends (the
#     fast-deflate extra: isal and zlib-ng) installed and required, so every backend's tests
#     run (the readme-tests stage runs the suite without them);
#  5. the pure py3-none-any wheel, built from the same sdist (used by the PyPy stage; built
#     before the tests run, so that a test failure here does not starve later stages).
set -euo pipefail
STAGE_NAME=wheel
. "$(dirname "$0")/lib.sh"
tools_on_path
cd "$ROOT"
DIST=$CI_WORK/dist
rm -rf "$DIST" "$CI_WORK/wheelhouse" "$CI_WORK/pure"
mkdir -p "$DIST"

log "sdist, then the wheel from the sdist (isolated build)"
WSCODEC_REQUIRE_EXTENSIONS=1 python -m build --outdir "$DIST" . >"$CI_WORK/build.log" 2>&1 ||
    { tail -n 60 "$CI_WORK/build.log"; die "build failed"; }
SDIST=$(sdist_path)
WHEEL=$(ls "$DIST"/wscodec-*.whl)
log "built $(basename "$SDIST") and $(basename "$WHEEL")"

log "sdist contents"
python - "$SDIST" <<'PY'
import fnmatch, os, subprocess, sys, tarfile
sdist = sys.argv[1]
with tarfile.open(sdist) as tf:
    names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
# Everything tracked under the package and the tests, and the build files, is shipped.
tracked = subprocess.run(["git", "ls-files", "wscodec", "tests", "setup.py", "pyproject.toml",
                          "README.md", "MANIFEST.in"], capture_output=True, text=True,
                         check=True).stdout.split()
missing = sorted(t for t in tracked if t not in names)
# Nothing generated: C made from a .pyx, compiled objects, annotation HTML, caches.
generated = sorted(
    n for n in names
    if (n.endswith(".c") and n[:-2] + ".pyx" in names)
    or n.endswith((".so", ".pyd", ".o", ".pyc"))
    or (n.startswith("wscodec/") and n.endswith(".html"))
    or "__pycache__" in n.split("/")
)
for label, pattern in [(".pyx", "wscodec/*.pyx"), (".pxd", "wscodec/*.pxd"), ("tests", "tests/*.py")]:
    print("  %-6s %s" % (label, " ".join(sorted(fnmatch.filter(names, pattern))) or "(none)"))
print("  %d files in the sdist" % len(names))
if missing:
    print("missing from the sdist:", *missing, sep="\n  ")
if generated:
    print("generated files in the sdist:", *generated, sep="\n  ")
sys.exit(1 if missing or generated else 0)
PY

log "wheel contents"
python - "$WHEEL" <<'PY'
import subprocess, sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
# Every tracked module of the package is installed (a subpackage missing from the
# setuptools package list would silently be left out).
tracked = subprocess.run(["git", "ls-files", "wscodec"], capture_output=True, text=True,
                         check=True).stdout.split()
missing = sorted(t for t in tracked if t.endswith((".py", ".typed")) and t not in names)
compiled = sorted(n for n in names if n.endswith(".so"))
print("  %d files, compiled: %s" % (len(names), " ".join(compiled)))
if missing:
    sys.exit("missing from the wheel:\n  " + "\n  ".join(missing))
PY

log "auditwheel repair"
auditwheel show "$WHEEL"
auditwheel repair --wheel-dir "$CI_WORK/wheelhouse" "$WHEEL"
REPAIRED=$(ls "$CI_WORK"/wheelhouse/wscodec-*.whl)
TAG=$(basename "$REPAIRED" .whl | cut -d- -f5)
echo "$TAG" >"$CI_WORK/wheel-platform-tag.txt"
log "repaired wheel: $(basename "$REPAIRED") (platform tag $TAG)"
python - "$TAG" <<'PY'
import re, sys
tags = sys.argv[1].split(".")
ok = False
for tag in tags:
    m = re.fullmatch(r"manylinux_(\d+)_(\d+)_\w+", tag)
    legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
    m2 = re.fullmatch(r"(manylinux\d+)_\w+", tag)
    glibc = (int(m[1]), int(m[2])) if m else legacy.get(m2[1]) if m2 else None
    if glibc is not None and glibc <= (2, 17):
        ok = True
if not ok:
    sys.exit("platform tag %s needs a glibc newer than 2.17" % sys.argv[1])
PY

log "no build-machine RUNPATH in the extension modules"
rm -rf "$CI_WORK/unzipped" && mkdir -p "$CI_WORK/unzipped"
python -m zipfile -e "$REPAIRED" "$CI_WORK/unzipped"
nso=0
while IFS= read -r -d '' so; do
    nso=$((nso + 1))
    rpath=$(readelf -d "$so" | grep -E '\((RPATH|RUNPATH)\)' || true)
    # Only $ORIGIN-relative paths (auditwheel's vendored libraries) may appear.
    if [ -n "$rpath" ] && echo "$rpath" | grep -Eq '\[(.*:)?/'; then
        die "$(basename "$so") carries an absolute RUNPATH: $rpath"
    fi
done < <(find "$CI_WORK/unzipped" -name '*.so' -print0)
[ "$nso" -gt 0 ] || die "the wheel holds no extension module"
log "$nso extension modules, none with an absolute RUNPATH"

log "the pure wheel, from the same sdist"
WSCODEC_NO_EXTENSIONS=1 python -m pip wheel -q --no-deps -w "$CI_WORK/pure" "$SDIST"
PURE=$(ls "$CI_WORK"/pure/wscodec-*.whl)
case "$PURE" in *-py3-none-any.whl) log "pure wheel: $(basename "$PURE")" ;;
    *) die "the pure wheel is not py3-none-any: $(basename "$PURE")" ;; esac

log "install into a fresh venv and test the installed wheel"
VENV=$CI_WORK/venv-wheel
rm -rf "$VENV"
"${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "$REPAIRED[test,fast-deflate]"
# The test extra brings Cython (tests/test_capi.py compiles a module against the installed
# C API); the wheel itself must not need it: its compiled twin loads with Cython blocked.
# (Run from /, so that the checkout's wscodec/ is not what gets imported.)
(cd / && "$VENV/bin/python" -c "import sys; sys.modules['Cython'] = None; import wscodec; assert wscodec.IMPLEMENTATION == 'c'") ||
    die "the installed wheel needs Cython at run time"
assert_twin "$VENV/bin/python" c
copy_tests "$CI_WORK/tests-wheel"
(cd "$CI_WORK/tests-wheel" && WSCODEC_REQUIRE_DEFLATE_BACKENDS=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests)

