"""A pytest plugin for daphne's own test suite: more time for its test servers to start.

daphne's tests start a server process per test (``daphne.testing``) and give it 2 seconds
to listen; on a loaded CI machine importing Twisted alone can take longer, which fails the
test before any WebSocket byte is exchanged.  This raises that start-up timeout only; what
the tests check is unchanged.
"""


def pytest_configure(config):
    from daphne.testing import BaseDaphneTestingInstance

    BaseDaphneTestingInstance.startup_timeout = 30
