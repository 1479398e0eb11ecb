"""websockets: masking.

``websockets.frames`` binds ``apply_mask(data, mask)`` at import (its C speedup or the
pure fallback) and calls it for every masked frame it reads or writes; wscodec's
``apply_mask`` has the same contract.  ``websockets.legacy.framing`` binds its own copy: it
is patched when ``websockets.legacy`` was imported before ``install()`` (importing it here
would trigger its deprecation warning for applications that never use it).
"""

import sys

__all__ = ["patches"]


def patches():
    import websockets.frames

    from .. import apply_mask

    triples = [(websockets.frames, "apply_mask", apply_mask)]
    legacy = sys.modules.get("websockets.legacy.framing")
    if legacy is not None:
        triples.append((legacy, "apply_mask", apply_mask))
    return triples
