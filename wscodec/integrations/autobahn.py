"""autobahn: masking and UTF-8 validation.

``autobahn.websocket.protocol`` binds ``create_xor_masker``, ``XorMaskerNull`` and
``Utf8Validator`` by name at import and builds one masker per frame and one validator per
connection from them.  wscodec's replacements keep the same interface: maskers with
``process(data)``, ``pointer()`` and ``reset()`` that continue through a payload across
calls, and a validator whose ``validate(data)`` returns ``(valid, ends_on_codepoint,
current_index, total_index)``.
"""

__all__ = ["patches"]


def patches():
    import autobahn.websocket.protocol as protocol

    from ..compat import Utf8Validator, XorMaskerNull, createXorMasker

    return [
        (protocol, "create_xor_masker", createXorMasker),
        (protocol, "XorMaskerNull", XorMaskerNull),
        (protocol, "Utf8Validator", Utf8Validator),
    ]
