"""Drop-in speedups for the WebSocket libraries you already use.

``install()`` replaces each supported library's hot paths (masking, UTF-8 validation, frame
parsing) with wscodec's, in place; ``uninstall()`` puts back exactly what was there::

    import wscodec.integrations
    wscodec.integrations.install()          # every supported library the application uses
    wscodec.integrations.install("tornado") # or name them

``install()`` with no names imports no library: it patches the supported libraries already
imported, and leaves an import hook (a ``sys.meta_path`` finder) that patches each other one
when the application first imports it (when its top-level package, ``tornado``,
``websocket``..., finishes importing; the modules the patches replace names in are imported
then).  So it may be called anywhere at start-up, before or after the libraries are imported,
and it costs an application only the libraries it uses.  ``install("tornado")`` imports the
named library and patches it at once.  ``uninstall()`` removes the hook and restores every
patched name.

Call it before any connection is created: a connection that already exists keeps the objects
it was built with (a decoder, a parser, a bound function), so only connections created
afterwards are accelerated.

``installed()`` lists the libraries patched so far, ``verify(name)`` says whether each patch
of one is still in place (or why ``install()`` skipped it), and ``patches(name)`` lists what
``install(name)`` replaces, as ``(owner, attribute, replacement)`` triples.

Each library has its own module here (``wscodec.integrations.tornado``...); each one lists
its patches as ``(owner, attribute, replacement)`` triples built from the library's own
modules.  Both functions are idempotent.

What ``install()`` checks before it patches a library, and what it does when a check fails
(``IntegrationWarning`` is a ``UserWarning`` subclass, so it can be filtered on its own:
``warnings.filterwarnings("ignore", category=wscodec.integrations.IntegrationWarning)`` or
pytest's ``filterwarnings = ignore::wscodec.integrations.IntegrationWarning``):

* The library does not import: skipped without a word (no names given: it is patched if and
  when the application imports it), ``ImportError`` (named).  A check that fails when the hook
  patches a library the application imports later is reported as for ``install()`` with no
  names (an ``IntegrationWarning``); it never makes the application's import fail.
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
import sys
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
# Names install() with no names is waiting for: patched when their package is imported.
_pending = set()
# The import hook in sys.meta_path while something is pending, else None.
_hook = None
# top-level package -> pending name, for the hook (replaced as a whole, never mutated).
_watch = {}


def _module(name):
    if name not in SUPPORTED:
        raise ValueError(
            "unknown library %r; supported: %s" % (name, ", ".join(SUPPORTED))
        )
    return importlib.import_module("%s.%s" % (__name__, name))


def patches(name):
    """What ``install(name)`` replaces: a list of ``(owner, attribute, replacement)`` triples,
    where ``owner`` is one of the library's modules or classes and ``replacement`` is
    wscodec's object bound to ``owner.attribute`` (when ``install()``'s checks pass: see the
    module docstring).  Empty where wscodec has nothing to replace (wsproto and aiohttp on
    the pure-Python twins).  Nothing is patched by calling it::

        >>> for owner, attribute, replacement in patches("tornado"):  # doctest: +SKIP
        ...     print(owner.__name__, attribute, replacement.__name__)
        tornado.util _websocket_mask websocket_mask
        tornado.websocket _websocket_mask websocket_mask

    Imports the library; ``ImportError`` when it is not installed, ``ValueError`` for a name
    not in ``SUPPORTED``, and any error building the patches propagates.
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


class _Plan:
    """What ``install(name)`` would do now, decided without patching or warning anything."""

    __slots__ = ("action", "triples", "version", "at", "reason", "error")

    def __init__(self, action, *, triples=(), version=None, at="", reason=None, error=None):
        self.action = action    # "patch", "nothing" (nothing to replace), "skip" (a check failed)
        self.triples = triples  # for "patch"
        self.version = version
        self.at = at            # "tornado 6.6.1": the library and its version, for messages
        self.reason = reason    # for "nothing" and "skip": why not patched
        self.error = error      # for "skip": what install(name) raises, None when it warns


def _plan(name):
    """Decide what ``install(name)`` does with ``name`` here; ``ImportError`` when the library
    does not import.  Shared by ``install()`` and the benchmark (``python -m wscodec bench``
    shows the library as it would be with wscodec installed)."""
    module = _module(name)
    package = importlib.import_module(module.PACKAGE)
    version = _version(package)
    at = "%s %s" % (name.replace("_", "-"), version or "(version unknown)")
    try:
        triples = list(module.patches())
    except Exception as exc:  # any error: the library changed under us
        return _Plan("skip", at=at, version=version, error=exc, reason=(
            "building its patches failed on %s: %s: %s" % (at, type(exc).__name__, exc)))
    if not triples:
        # Nothing to replace for this library (see its module): not "patched".
        return _Plan("nothing", at=at, version=version, reason=(
            "wscodec's pure-Python twin of its code is %s's own (nothing to replace)" % at))
    missing = []
    for owner, attribute, _ in triples:
        if not hasattr(owner, attribute):
            missing.append("%s.%s" % (_owner_name(owner), attribute))
    if missing:
        reason = "%s has no %s (renamed or removed?), so nothing was patched" % (
            at, ", ".join(missing))
        return _Plan("skip", at=at, version=version, reason=reason, error=AttributeError(
            "wscodec.integrations: %s: %s" % (name, reason)))
    try:
        pure = module.implementation() == "python"
        speedups = module.speedups() if pure else []
    except Exception as exc:  # reading the library's state failed: it changed under us
        return _Plan("skip", at=at, version=version, error=exc, reason=(
            "checking it failed on %s: %s: %s" % (at, type(exc).__name__, exc)))
    if pure:
        if speedups:
            # The pure twins are several times slower than a compiled speedup: keep it.
            return _Plan("skip", at=at, version=version, reason=(
                "%s runs its compiled %s, which wscodec's pure-Python twins (all it has here) "
                "would slow down" % (at, ", ".join(speedups))))
        if not module.PURE_TWIN_FASTER:
            # Measured no faster than the library's own pure Python: nothing to gain.
            return _Plan("nothing", at=at, version=version, reason=(
                "wscodec's pure-Python twins (all it has here) were measured no faster than "
                "%s's own code" % at))
    return _Plan("patch", triples=triples, version=version, at=at)


def _install_one(name, explicit):
    """Patch ``name`` after its checks; True when patched."""
    try:
        plan = _plan(name)
    except ImportError:
        if explicit:
            raise
        return False
    if plan.action == "nothing":
        _skipped.pop(name, None)
        return False
    if plan.action == "skip":
        _skip(name, plan.reason, explicit, plan.error)
        return False
    version, at = plan.version, plan.at
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
        for owner, attribute, replacement in plan.triples:
            original = _current(owner, attribute)
            setattr(owner, attribute, replacement)
            applied.append((owner, attribute, original, replacement))
    except BaseException:
        _restore(applied)
        raise
    _active[name] = applied
    _skipped.pop(name, None)
    return True


# == the import hook ======================================================================
#
# install() with no names patches the libraries already imported and waits for the others:
# a finder first in sys.meta_path notices the import of a pending library's top-level
# package and wraps its loader, so that the library is patched right after its package has
# finished executing.  The wrapper hands the module its own loader back before running it
# (module.__loader__ and __spec__.loader are the library's loader, as without the hook).


def _imported_package(name):
    """``name``'s top-level package when it is (fully or partly) imported, else None."""
    return sys.modules.get(_module(name).PACKAGE)


class _PatchAfterLoad:
    """A loader running the library's own loader, then ``install()``'s pending patch."""

    def __init__(self, loader, name):
        self._loader = loader
        self._name = name

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        self._loader.exec_module(module)
        _on_import(self._name)

    def __getattr__(self, attribute):
        # Everything else (is_package, get_resource_reader...) is the library's loader's.
        return getattr(self._loader, attribute)


class _ImportHook:
    """The ``sys.meta_path`` finder: wraps the loader of a pending library's package."""

    def __init__(self):
        self._finding = threading.local()

    def find_spec(self, fullname, path=None, target=None):
        # Called for every top-level import while the hook is in place: one dict lookup,
        # no lock (_watch is replaced, never mutated).
        name = _watch.get(fullname)
        if name is None or getattr(self._finding, "active", False):
            return None
        self._finding.active = True
        try:
            spec = None
            for finder in list(sys.meta_path):
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._finding.active = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _PatchAfterLoad(spec.loader, name)
        return spec

    def invalidate_caches(self):
        pass


def _on_import(name):
    """The hook's callback: ``name``'s package has just been imported."""
    with _lock:
        if name not in _pending:
            return  # uninstall() ran since, or install(name) already patched it
        _pending.discard(name)
        _sync_hook()
        try:
            _install_one(name, False)
        except Exception as exc:
            # The application's import must not fail because of wscodec.
            _skip(name, "patching it when it was imported failed: %s: %s"
                  % (type(exc).__name__, exc), False)


def _sync_hook():
    """The hook is in sys.meta_path exactly while some library is pending."""
    global _hook, _watch
    _watch = {_module(name).PACKAGE: name for name in _pending}
    if _pending and _hook is None:
        _hook = _ImportHook()
        sys.meta_path.insert(0, _hook)
    elif not _pending and _hook is not None:
        try:
            sys.meta_path.remove(_hook)
        except ValueError:
            pass
        _hook = None


def _catch_up():
    """Patch pending libraries imported without the hook seeing it (a finder placed before
    ours in ``sys.meta_path``, or an import that raced with ``install()``)."""
    for name in SUPPORTED:
        if name in _pending and _imported_package(name) is not None:
            _pending.discard(name)
            _install_one(name, False)
    _sync_hook()


def install(*names):
    """Patch the named libraries; with no names, every supported library the application
    imports, now or later.

    With no names nothing is imported: the supported libraries already imported are patched
    now, and an import hook patches each other one when the application imports it (see the
    module docstring); ``installed()`` lists what is patched so far.  Named, each library is
    imported and patched now.

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
    done = []
    with _lock:
        if explicit:
            for name in (n for n in SUPPORTED if n in names):
                if name in _active or _install_one(name, True):
                    done.append(name)
                _pending.discard(name)
        else:
            for name in SUPPORTED:
                if name in _active:
                    done.append(name)
                elif _imported_package(name) is None:
                    _pending.add(name)
                else:
                    _pending.discard(name)
                    if _install_one(name, False):
                        done.append(name)
        _sync_hook()
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
    """Restore the originals of the named libraries (no names: all) and stop waiting for them
    to be imported (no names: the import hook is removed from ``sys.meta_path``).  Returns the
    names restored; libraries that were not installed are ignored."""
    for name in names:
        if name not in SUPPORTED:
            raise ValueError(
                "unknown library %r; supported: %s" % (name, ", ".join(SUPPORTED))
            )
    with _lock:
        if names:
            _pending.difference_update(names)
        else:
            _pending.clear()
        _sync_hook()
        targets = [n for n in reversed(SUPPORTED) if n in _active and (not names or n in names)]
        for name in targets:
            _restore(_active.pop(name))
    return [n for n in SUPPORTED if n in targets]


def installed():
    """The names of the libraries patched now, in ``SUPPORTED`` order.

    A library ``install()`` is still waiting for (not imported yet) is not in it until the
    application imports it; nor is one ``install()`` skipped (``verify(name)`` says why)::

        >>> wscodec.integrations.install()  # doctest: +SKIP
        []
        >>> import tornado.websocket  # doctest: +SKIP
        >>> wscodec.integrations.installed()  # doctest: +SKIP
        ['tornado']
    """
    with _lock:
        _catch_up()
        return [n for n in SUPPORTED if n in _active]


def verify(name):
    """Check that every patch of ``name`` is in place: nothing re-bound it since ``install()``.

    Returns a list of problems, each a sentence; empty when all is well.  For a library that
    is not patched, one problem saying so, with the reason when ``install()`` skipped it (a
    failed check, the pure twins against the library's compiled speedup) or that it is
    waiting for the library to be imported.  Use it in a health check or a test::

        assert wscodec.integrations.verify("websockets") == []
    """
    if name not in SUPPORTED:
        raise ValueError(
            "unknown library %r; supported: %s" % (name, ", ".join(SUPPORTED))
        )
    with _lock:
        _catch_up()
        if name not in _active:
            if name in _skipped:
                return ["%s is not installed: %s" % (name, _skipped[name])]
            if name in _pending:
                return ["%s is not installed: install() patches it when it is imported, "
                        "and it has not been" % name]
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
