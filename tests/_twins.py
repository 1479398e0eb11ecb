"""The two twins of each module pair, for tests: ``Twin("c").mask`` is ``wscodec._mask_c``.

Kept out of conftest.py so test modules can import it by a name no other file shares.
"""

import importlib

from wscodec import _select

KINDS = ["python"] if _select.NO_EXTENSIONS else ["c", "python"]


# The package each module pair lives in: the codec's in wscodec, a host library's next to the
# module that installs it.
PACKAGES = {
    "compat": "wscodec.compat",
    "aiohttp": "wscodec.integrations",
    "websockets": "wscodec.integrations",
    "wsproto": "wscodec.integrations",
    "uvicorn": "wscodec.integrations",
}


class Twin:
    """Access to one twin's modules by concern: ``twin.mask``, ``twin.utf8``, ``twin.frames``..."""

    def __init__(self, kind):
        self.kind = kind
        self._suffix = "c" if kind == "c" else "py"

    def __getattr__(self, concern):
        if concern.startswith("_"):
            raise AttributeError(concern)
        name = "%s._%s_%s" % (PACKAGES.get(concern, "wscodec"), concern, self._suffix)
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            # hasattr() probes (hypothesis checks its arguments for mocks) need AttributeError.
            raise AttributeError("%s: module %s not found" % (concern, name)) from exc

    def __repr__(self):
        return "Twin(%r)" % self.kind

