"""Drop-in speedups for the WebSocket libraries you already use.

``install()`` replaces each supported library's hot paths (masking, UTF-8 validation, frame
parsing) with wscodec's, in place; ``uninstall()`` puts back exactly what was there::

    import wscodec.integrations
    wscodec.integrations.install()          # every supported library that imports
    wscodec.integrations.install("tornado") # or name them

Call ``install()`` at start-up, before any connection is created: a connection that already
exists keeps the objects it was built with (a decoder, a parser, a bound function), so only
connections created afterwards are accelerated.

Each library has its own module here (``wscodec.integrations.tornado``...); each one lists
its patches as ``(owner, attribute, replacement)`` triples built from the library's own
modules.  Both functions are idempotent.

What ``install()`` checks before it patches a library, and what it does when a check fails
(``IntegrationWarning`` is a ``UserWarning`` subclass, so it can be filtered on its own:
``warnings.filterwarnings("ignore", category=wscodec.integrations.IntegrationWarning)`` or
pytest's ``filterwarnings = ignore::wscodec.integrations.IntegrationWarning``):

* The library does not import: skipped without a word (no names given), ``ImportError``
  (named).
* Building its patches fails (an error of any kind, such as an ``AttributeError`` because
  the library renamed something the patches are built from), or an attribute a patch
  replaces is missing from the library: nothing of that library is patched; with no names
  given it is skipped with an ``IntegrationWarning`` and the other libraries are still
  installed; named explicitly, the error is raised (``AttributeError`` naming the missing
  attribute).  ``verify(name)`` then reports why it is not installed.
* wscodec's replacements for it are the pure-Python twins (PyPy, ``WSCODEC_NO_EXTENSIONS=1``,
  or a source checkout without compiled modules) while the library runs its own compiled
  speedup for something a patch would replace (websockets' ``speedups`` C module, tornado's,
  wsaccel behind websocket-client, autobahn's NVX): the library is skipped with an
  ``IntegrationWarning``, named or not: the pure twins were measured 1.3-130x slower than
  those speedups per call, depending on the library and the payload size (each library's
  module gives its figures).  Where the library runs pure Python itself, the pure twin
  replaces it only where it was measured no slower: tornado (its pure ``_websocket_mask``
  loop is ~100x slower), websocket-client (its pure UTF-8 validator is ~100x slower;
  masking ties) and autobahn (its pure maskers and validator are slower).  websockets is
  left alone then, silently (the pure twin's parse was up to 1.25x slower than websockets'
  own on frames of 125 bytes and less), as are wsproto and aiohttp (their pure twins are
  their own classes).
* Its version is not one wscodec is tested with (``TESTED`` below): it is installed all the
  same when the checks above pass, with one ``IntegrationWarning`` per library and version
  naming it.

``TESTED`` maps each library to the release series wscodec's CI runs it at, with wscodec
installed: the versions pinned in the ``integrations`` extra (each library's own test suite
where its sdist ships one, and wscodec's integration tests), and websockets 13.1, the oldest
the ``test`` extra allows (wscodec's websockets tests).  Tested: wsproto 1.3.x, websockets
13.x and 17.x, websocket-client 1.9.x, tornado 6.6.x, autobahn 26.10.x, aiohttp 3.14.x,
gunicorn 27.0.x.
"""

import importlib
import threading
import warnings

__all__ = [
    "SUPPORTED",
    "TESTED",
    "IntegrationWarning",
    "install",
    "uninstall",
    "installed",
    "patches",
    "verify",
]

#: Names accepted by ``install()``, in the order ``install()`` tries them.
SUPPORTED = ("wsproto", "websockets", "websocket_client", "tornado", "autobahn", "aiohttp",
             "gunicorn")

#: name -> the host versions wscodec is tested with, as ``(first, last)`` release prefixes,
#: both included: ``((13,), (13,))`` is every 13.x, ``((1, 3), (1, 3))`` every 1.3.x.
#: Kept in step with the ``integrations`` extra (pyproject.toml) and the CI stage that runs
#: the libraries' own suites with wscodec installed.
TESTED = {
    "wsproto": (((1, 3), (1, 3)),),
    "websockets": (((13,), (13,)), ((17,), (17,))),
    "websocket_client": (((1, 9), (1, 9)),),
    "tornado": (((6, 6), (6, 6)),),
    "autobahn": (((26, 10), (26, 10)),),
    "aiohttp": (((3, 14), (3, 14)),),
    "gunicorn": (((27, 0), (27, 0)),),
}


class IntegrationWarning(UserWarning):
    """``install()`` skipped a library, or patched one at a version wscodec is not tested with."""


_MISSING = object()
_lock = threading.RLock()
# name -> list of (owner, attribute, original or _MISSING, replacement), in patch order.
_active = {}
# name -> why the last install() left it unpatched (for verify()).
_skipped = {}
# (name, version) pairs already warned about, so each is said once per process.
_version_warned = set()


def _module(name):
    if name not in SUPPORTED:
        raise ValueError(
            "unknown library %r; supported: %s" % (name, ", ".join(SUPPORTED))
        )
    return importlib.import_module("%s.%s" % (__name__, name))


def patches(name):
    """The ``(owner, attribute, replacement)`` triples ``install(name)`` applies (when its
    checks pass: see the module docstring).

    Imports the library; ``ImportError`` when it is not installed, and any error building the
    patches propagates.
    """
    return list(_module(name).patches())


def _version(package):
    """The library's version string, or None when it does not say."""
    for attribute in ("__version__", "version"):
        value = getattr(package, attribute, None)
        if isinstance(value, str):
            return value
    return None


def _release(version):
    """``"17.4"`` -> ``(17, 4)``, ``"14.0rc1"`` -> ``(14, 0)``; None when there is no number."""
    out = []
    for part in version.split("."):
        digits = ""
        for ch in part:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        out.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(out) or None


def _is_tested(name, version):
    release = _release(version) if version is not None else None
    if release is None:
        return False
    for first, last in TESTED[name]:
        if first <= release[: len(first)] and release[: len(last)] <= last:
            return True
    return False


def _tested_text(name):
    return ", ".join(
        ".".join(map(str, first)) + ".x" if first == last
        else "%s.x-%s.x" % (".".join(map(str, first)), ".".join(map(str, last)))
        for first, last in TESTED[name]
    )


def _current(owner, attribute):
    # A class's own attribute (so that restoring an inherited one removes ours instead of
    # copying the base's into the subclass); anything else through getattr.
    if isinstance(owner, type):
        return owner.__dict__.get(attribute, _MISSING)
    return getattr(owner, attribute, _MISSING)


def _owner_name(owner):
    if isinstance(owner, type):
        return "%s.%s" % (owner.__module__, owner.__qualname__)
    return getattr(owner, "__name__", repr(owner))


def _skip(name, reason, explicit, error=None):
    """Record why ``name`` is left unpatched; raise ``error`` when named, else warn."""
    _skipped[name] = reason
    if explicit and error is not None:
        raise error
    warnings.warn(
        "wscodec.integrations: %s not installed: %s" % (name, reason), IntegrationWarning,
        stacklevel=4,
    )


def _install_one(name, explicit):
    """Patch ``name`` after its checks; True when patched."""
    module = _module(name)
    try:
        package = importlib.import_module(module.PACKAGE)
    except ImportError:
        if explicit:
            raise
        return False
    version = _version(package)
    at = "%s %s" % (name.replace("_", "-"), version or "(version unknown)")
    try:
        triples = list(module.patches())
    except Exception as exc:  # any error: the library changed under us
        _skip(name, "building its patches failed on %s: %s: %s"
              % (at, type(exc).__name__, exc), explicit, exc)
        return False
    if not triples:
        # Nothing to replace for this library (see its module): not "patched".
        _skipped.pop(name, None)
        return False
    missing = []
    for owner, attribute, _ in triples:
        if not hasattr(owner, attribute):
            missing.append("%s.%s" % (_owner_name(owner), attribute))
    if missing:
        reason = "%s has no %s (renamed or removed?), so nothing was patched" % (
            at, ", ".join(missing))
        _skip(name, reason, explicit, AttributeError("wscodec.integrations: %s: %s" % (name, reason)))
        return False
    try:
        pure = module.implementation() == "python"
        speedups = module.speedups() if pure else []
    except Exception as exc:  # reading the library's state failed: it changed under us
        _skip(name, "checking it failed on %s: %s: %s"
              % (at, type(exc).__name__, exc), explicit, exc)
        return False
    if pure:
        if speedups:
            # The pure twins are several times slower than a compiled speedup: keep it.
            _skip(name, "%s runs its compiled %s, which wscodec's pure-Python twins (all it "
                  "has here) would slow down" % (at, ", ".join(speedups)), False)
            return False
        if not module.PURE_TWIN_FASTER:
            # Measured no faster than the library's own pure Python: nothing to gain.
            _skipped.pop(name, None)
            return False
    if not _is_tested(name, version) and (name, version) not in _version_warned:
        _version_warned.add((name, version))
        warnings.warn(
            "wscodec.integrations: %s is installed on %s, a version wscodec is not tested "
            "with (tested: %s)" % (name, at, _tested_text(name)),
            IntegrationWarning,
            stacklevel=3,
        )
    applied = []
    try:
        for owner, attribute, replacement in triples:
            original = _current(owner, attribute)
            setattr(owner, attribute, replacement)
            applied.append((owner, attribute, original, replacement))
    except BaseException:
        _restore(applied)
        raise
    _active[name] = applied
    _skipped.pop(name, None)
    return True


def install(*names):
    """Patch the named libraries (no names: every supported library that imports).

    Returns the names now patched, in ``SUPPORTED`` order.  A library for which wscodec has
    nothing to replace (wsproto or aiohttp on the pure twins, websockets where neither side
    is compiled) is never in it; nor is one whose checks fail (see the module docstring: a
    renamed attribute, an error building its patches, the pure twins against the library's
    compiled speedups), which is skipped with an ``IntegrationWarning``.  Named explicitly,
    a library that cannot be imported raises ``ImportError``, and one whose patches cannot be
    built or whose patched attributes are missing raises that error (``AttributeError``);
    an unknown name raises ``ValueError``.  A library at a version wscodec is not tested
    with is installed with one ``IntegrationWarning`` naming the version.
    Installing a library twice changes nothing the second time.
    """
    explicit = bool(names)
    for name in names:
        if not isinstance(name, str):
            raise TypeError("library names are str, not %r" % type(name).__name__)
        if name not in SUPPORTED:
            raise ValueError(
                "unknown library %r; supported: %s" % (name, ", ".join(SUPPORTED))
            )
    wanted = [n for n in SUPPORTED if n in names] if explicit else list(SUPPORTED)
    done = []
    with _lock:
        for name in wanted:
            if name in _active or _install_one(name, explicit):
                done.append(name)
    return done


def _restore(applied):
    for owner, attribute, original, _ in reversed(applied):
        if original is _MISSING:
            try:
                delattr(owner, attribute)
            except AttributeError:
                pass
        else:
            setattr(owner, attribute, original)


def uninstall(*names):
    """Restore the originals of the named libraries (no names: all).  Returns the names
    restored; libraries that were not installed are ignored."""
    for name in names:
        if name not in SUPPORTED:
            raise ValueError(
                "unknown library %r; supported: %s" % (name, ", ".join(SUPPORTED))
            )
    with _lock:
        targets = [n for n in reversed(SUPPORTED) if n in _active and (not names or n in names)]
        for name in targets:
            _restore(_active.pop(name))
    return [n for n in SUPPORTED if n in targets]


def installed():
    """The names currently patched, in ``SUPPORTED`` order (never a library ``install()``
    skipped: see ``verify(name)`` for why it did)."""
    with _lock:
        return [n for n in SUPPORTED if n in _active]


def verify(name):
    """Check that every patch of ``name`` is in place (nothing re-bound it since).

    Returns a list of problems, empty when all is well; for a library that is not installed,
    one problem saying so, with the reason when ``install()`` skipped it.
    """
    with _lock:
        if name not in _active:
            if name in _skipped:
                return ["%s is not installed: %s" % (name, _skipped[name])]
            return ["%s is not installed" % name]
        problems = []
        for owner, attribute, _, replacement in _active[name]:
            current = _current(owner, attribute)
            if current is not replacement:
                problems.append(
                    "%s.%s is %r, not wscodec's %r"
                    % (_owner_name(owner), attribute,
                       "missing" if current is _MISSING else current, replacement)
                )
        return problems
