#!/usr/bin/env bash
# Stage "workflows": the GitHub workflows are valid and pass zizmor's audits, and
# cibuildwheel's configuration selects exactly the intended builds on each OS.
set -euo pipefail
STAGE_NAME=workflows
. "$(dirname "$0")/lib.sh"
tools_on_path
cd "$ROOT"

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
[ ${#workflows[@]} -gt 0 ] || die "no workflows in .github/workflows"
check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
zizmor --offline --no-progress "${workflows[@]}"

# The intended builds: CPython 3.9-3.14 and free-threaded 3.14t on each platform below.
VERSIONS="cp39 cp310 cp311 cp312 cp313 cp314 cp314t"
declare -A PLATFORMS=(
    [linux]="manylinux_x86_64 manylinux_aarch64 musllinux_x86_64 musllinux_aarch64"
    [macos]="macosx_x86_64 macosx_arm64"
    [windows]="win_amd64 win_arm64"
)
status=0
for os in linux macos windows; do
    expected=$(for v in $VERSIONS; do for p in ${PLATFORMS[$os]}; do echo "$v-$p"; done; done | sort)
    actual=$(cibuildwheel --print-build-identifiers --platform "$os" | sort)
    if [ "$expected" = "$actual" ]; then
        log "$os: $(echo "$actual" | wc -l) builds, as intended"
    else
        log "$os: build identifiers differ from the intended list (< intended, > configured):"
        diff <(echo "$expected") <(echo "$actual") || true
        status=1
    fi
done
exit $status
