#!/usr/bin/env bash
# Stage "browser": Debian's headless Chromium and its WebDriver, for tests/e2e/test_browser.py.
# Runs right after the tools stage, before any stage that runs the test suite (each one's
# install of the test extra brings Selenium).  Under CI=true the browser test fails, never skips, when any of these
# is missing, so a broken setup cannot hide it.
set -euo pipefail
STAGE_NAME=browser
. "$(dirname "$0")/lib.sh"

export DEBIAN_FRONTEND=noninteractive
# Another apt/dpkg run on the machine may hold the lock for a while: wait for it, don't fail.
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium chromium-driver
log "$(/usr/bin/chromium --version 2>/dev/null)"
log "$(/usr/bin/chromedriver --version)"

# The browser starts headless here (no display, running as root) and runs JavaScript.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
dom=$(timeout 120 /usr/bin/chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --dump-dom \
    'data:text/html,<p id=x></p><script>document.getElementById("x").textContent="js-"+(6*7)</script>' \
    2>/dev/null)
case $dom in
    *js-42*) log "headless chromium runs JavaScript" ;;
    *) die "headless chromium did not run the probe page: $dom" ;;
esac
