#!/usr/bin/env bash
# Stage "docs": the documentation site and the examples in it.
#  1. A venv of its own with the site's build (docs/requirements.txt: Sphinx, Furo, MyST) and
#     wscodec's repaired wheel (built by the wheel stage) with the pinned peer libraries
#     (pip install "<wheel>[test,integrations]").
#  2. sphinx-build -W: the Markdown pages in docs/ and the API reference generated from the
#     docstrings; any warning (a broken link or cross-reference, a page missing from the
#     table of contents, a docstring that does not parse) fails the stage.
#  3. tests/test_docs_examples.py against the installed (compiled) package, from a copy
#     outside the source tree, with WSCODEC_REQUIRE_PEERS=1: every example in the README and
#     in docs/ runs, those that need a host library included (the README test command runs
#     them too, for both twins, but skips those whose library the test extra lacks).
set -euo pipefail
STAGE_NAME=docs
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
VENV=$CI_WORK/venv-docs
OUT=$CI_WORK/docs
rm -rf "$VENV" "$OUT"
"${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r docs/requirements.txt
"$VENV/bin/python" -m pip install -q "$(wheel_path)[test,integrations]"
log "installed in ${SECONDS} s"

log "sphinx-build -W (warnings are errors)"
"$VENV/bin/python" -m sphinx -W --keep-going -q -b html docs "$OUT/html"
log "site written to $OUT/html (${SECONDS} s)"

log "examples of the README and docs/ (compiled twin, peers required)"
mkdir -p "$OUT/examples/.ci"
cp -r tests docs README.md CHANGELOG.md pyproject.toml "$OUT/examples/"
cp .ci/tests.sh "$OUT/examples/.ci/"
assert_twin "$VENV/bin/python" c
(cd "$OUT/examples" && WSCODEC_REQUIRE_PEERS=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    tests/test_docs_examples.py)
log "done in ${SECONDS} s"
