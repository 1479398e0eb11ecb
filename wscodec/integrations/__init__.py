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
"""

import importlib
import threading

__all__ = ["SUPPORTED", "install", "uninstall", "installed", "patches", "verify"]

#: Names accepted by ``install()``, in the order ``install()`` tries them.
SUPPORTED = ("wsproto", "websockets", "websocket_client", "tornado", "autobahn", "aiohttp")

_MISSING = object()
_lock = threading.RLock()
# name -> list of (owner, attribute, original or _MISSING, replacement), in patch order.
_active = {}


def _module(name):
    if name not in SUPPORTED:
        raise ValueError(
            "unknown library %r; supported: %s" % (name, ", ".join(SUPPORTED))
        )
    return importlib.import_module("%s.%s" % (__name__, name))


def patches(name):
    """The ``(owner, attribute, replacement)`` triples ``install(name)`` applies.

    Imports the library; ``ImportError`` when it is not installed.
    """
    return list(_module(name).patches())


def install(*names):
    """Patch the named libraries (no names: every supported library that imports).

    Returns the names now patched, in ``SUPPORTED`` order (a library for which wscodec has
    nothing to replace, such as wsproto or aiohttp on the pure twins, is never in it).  A
    library named explicitly that cannot be imported raises ``ImportError``; an unknown name
    raises ``ValueError``.
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
            if name in _active:
                done.append(name)
                continue
            try:
                triples = patches(name)
            except ImportError:
                if explicit:
                    raise
                continue
            if not triples:
                # Nothing to replace for this library (see its module): not "patched".
                continue
            applied = []
            try:
                for owner, attribute, replacement in triples:
                    original = owner.__dict__.get(attribute, _MISSING) if isinstance(
                        owner, type
                    ) else getattr(owner, attribute, _MISSING)
                    setattr(owner, attribute, replacement)
                    applied.append((owner, attribute, original, replacement))
            except BaseException:
                _restore(applied)
                raise
            _active[name] = applied
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
    """The names currently patched, in ``SUPPORTED`` order."""
    with _lock:
        return [n for n in SUPPORTED if n in _active]


def verify(name):
    """Check that every patch of ``name`` is in place (nothing re-bound it since).

    Returns a list of problems, empty when all is well.
    """
    with _lock:
        if name not in _active:
            return ["%s is not installed" % name]
        problems = []
        for owner, attribute, _, replacement in _active[name]:
            current = owner.__dict__.get(attribute, _MISSING) if isinstance(
                owner, type
            ) else getattr(owner, attribute, _MISSING)
            if current is not replacement:
                problems.append(
                    "%s.%s is %r, not wscodec's %r"
                    % (getattr(owner, "__name__", owner), attribute, current, replacement)
                )
        return problems
