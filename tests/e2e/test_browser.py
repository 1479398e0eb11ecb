"""A real browser against the example server: headless Chromium through Selenium.

The demo page served at ``/`` uses the JavaScript WebSocket API: it sends Chinese and emoji
text, binary data, a 70,000-character text (frames with a 64-bit length, RFC 6455 §5.2) and a
200,000-byte binary message (compressed with permessage-deflate, RFC 7692), checks every echo,
then closes with code 1000 and a reason.  The test waits for the page's ``DONE`` marker (a bare
``--dump-dom`` could snapshot the page before the messages arrive) and asserts on its DOM.

Needs Debian's ``chromium`` and ``chromium-driver`` and PyPI's ``selenium``
(``.ci/browser.sh`` installs them).  When they are missing the test fails under ``CI=true``
and is skipped elsewhere.
"""

import os
import re
import shutil
import tempfile

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

EXPECTED_CHECKS = [
    "open",
    "permessage-deflate",
    "chinese",
    "emoji",
    "binary",
    "long-text",
    "big-binary",
    "close",
]


@pytest.fixture
def browser(missing):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("the selenium package is not installed")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            missing("%s is not installed" % path)
    profile = tempfile.mkdtemp(prefix="wscodec-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=" + profile,
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_demo_page_round_trip(browser, echo_server):
    check_demo_page(browser, echo_server)


def test_fastapi_on_uvicorn_with_wscodec_protocol(browser, fastapi_server):
    # The same page, served by examples/fastapi_app.py on uvicorn with wscodec's protocol
    # class; its /echo endpoint is a FastAPI WebSocket route.  permessage-deflate is on
    # (uvicorn's default), and the page checks that it was negotiated.
    from wscodec import _select

    check_demo_page(browser, fastapi_server)
    banner = re.search(rb"\(wscodec \S+, (\w+) twin\)", fastapi_server.output())
    assert banner, fastapi_server.output()
    assert banner.group(1) == (b"python" if _select.NO_EXTENSIONS else b"c")


def check_demo_page(browser, echo_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(echo_server.http_url)
    assert browser.title == "wscodec echo demo"
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "status").text == "DONE")

    items = browser.find_elements(By.CSS_SELECTOR, "#checks li")
    results = {li.get_attribute("id"): (li.get_attribute("data-ok"), li.text) for li in items}
    assert list(results) == ["check-" + name for name in EXPECTED_CHECKS], results
    failed = {k: text for k, (ok, text) in results.items() if ok != "true"}
    assert not failed, failed

    # What each check saw, as the page reports it.
    text = {k[len("check-"):]: v[1] for k, v in results.items()}
    assert "permessage-deflate" in text["permessage-deflate"]
    assert text["long-text"] == "long-text: ok (70000 characters sent, 70000 characters back)"
    assert text["big-binary"] == "big-binary: ok (200000 bytes sent, 200000 bytes back)"
    assert text["binary"] == "binary: ok (256 bytes sent, 256 bytes back)"
    assert text["close"] == 'close: ok (code 1000, reason "demo complete ✓", wasClean true)'
    summary = browser.find_element(By.ID, "summary")
    assert summary.get_attribute("data-failed") == "0"
    assert summary.text == "8 of 8 checks passed"
