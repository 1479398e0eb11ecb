"""A pytest plugin that runs another library's own test suite with wscodec installed.

    python -m pytest -p wscodec_pytest_plugin --wscodec-install=wsproto <their tests>

(with this folder on ``PYTHONPATH``).  ``pytest_configure`` runs before collection, so the
library's modules are patched before any test module imports them; before every test and at
the end of the session the plugin checks that every patched name is still wscodec's (a test
that re-binds one without restoring it fails the run), and the session summary says what was
patched.  ``--wscodec-install=none`` runs the same suite without wscodec (the baseline).
"""

import pytest

_state = {"name": None, "patched": []}


def pytest_addoption(parser):
    group = parser.getgroup("wscodec")
    group.addoption(
        "--wscodec-install",
        action="store",
        default=None,
        help="library to patch with wscodec before collection (a name from "
        "wscodec.integrations.SUPPORTED, or 'none' for a baseline run)",
    )


def pytest_configure(config):
    name = config.getoption("--wscodec-install")
    if name is None:
        raise pytest.UsageError("wscodec_pytest_plugin needs --wscodec-install=NAME|none")
    if name == "none":
        return
    from wscodec import integrations

    try:
        patched = integrations.install(name)
    except (ValueError, ImportError) as exc:
        raise pytest.UsageError("wscodec could not patch %s: %s" % (name, exc)) from None
    if patched != [name]:
        raise pytest.UsageError("wscodec could not patch %s (got %r)" % (name, patched))
    _state["name"] = name
    _state["patched"] = [
        "%s.%s" % (getattr(owner, "__module__", "") + "." + owner.__name__
                   if isinstance(owner, type) else owner.__name__, attribute)
        for owner, attribute, _ in integrations.patches(name)
    ]
    problems = integrations.verify(name)
    if problems:
        raise pytest.UsageError("; ".join(problems))


def _check(where):
    name = _state["name"]
    if name is None:
        return
    from wscodec import integrations

    problems = integrations.verify(name)
    if problems:
        pytest.fail("wscodec patches lost %s: %s" % (where, "; ".join(problems)), pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _check("before %s" % item.nodeid)


def pytest_sessionfinish(session, exitstatus):
    name = _state["name"]
    if name is None:
        return
    from wscodec import integrations

    problems = integrations.verify(name)
    if problems:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        _state["final"] = problems


def pytest_report_header(config):
    name = _state["name"]
    if name is None:
        return "wscodec: not installed (baseline run)"
    return "wscodec: %s patched: %s" % (name, ", ".join(_state["patched"]))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    name = _state["name"]
    if name is None:
        return
    problems = _state.get("final")
    if problems:
        terminalreporter.write_line("wscodec: patches LOST at the end: %s" % "; ".join(problems))
    else:
        terminalreporter.write_line(
            "wscodec: %d names of %s were wscodec's for the whole run" % (len(_state["patched"]), name)
        )
