"""Strict JOSE decoding: base64url without padding and JSON objects, each in one way only.

A segment or a document that another parser could read differently (padding, a foreign alphabet,
non-zero spare bits, a duplicate member, NaN, a BOM, too deep nesting) is a ``ValueError`` here,
so what we verify is exactly what the signer meant. Pure functions, stdlib only.
"""

import binascii
import json
from typing import Any

__all__ = ["MAX_DEPTH", "b64url_decode", "b64url_decode_bytes", "loads_object"]

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_FOREIGN = bytes(byte for byte in range(256) if byte not in _ALPHABET)
#: base64url to standard base64 (``-_`` to ``+/``), and every other byte, ``+/=`` included, to
#: ``!``, which ``a2b_base64`` skips: a segment with any foreign byte decodes short (or fails).
_TO_STANDARD = bytes.maketrans(
    _ALPHABET + _FOREIGN, _ALPHABET[:62] + b"+/" + b"!" * len(_FOREIGN)
)
#: For a segment of length % 4 == 2 (or 3), the last character carries 4 (or 2) unused bits that
#: must be zero: the characters it may end with.
_CANONICAL_LAST = {
    2: frozenset(_ALPHABET[::16]),
    3: frozenset(_ALPHABET[::4]),
}
_PADDING = (b"", b"", b"==", b"=")


def b64url_decode(segment: str) -> bytes:
    """Strict base64url without padding: any other alphabet, padding or non-zero spare bits is a ``ValueError``."""
    try:
        raw = segment.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("not base64url") from None
    return b64url_decode_bytes(raw)


def b64url_decode_bytes(segment: bytes) -> bytes:
    """:func:`b64url_decode` of an ASCII-encoded segment (one translation, one C decode, no regex)."""
    size = len(segment)
    rest = size & 3
    if rest == 1:
        raise ValueError("not base64url (length)")
    try:
        decoded = binascii.a2b_base64(segment.translate(_TO_STANDARD) + _PADDING[rest])
    except binascii.Error:
        raise ValueError("not base64url") from None
    # Every foreign byte was skipped, so the output is shorter than the alphabet's length says.
    if len(decoded) != size * 3 >> 2:
        raise ValueError("not base64url (alphabet)")
    if rest and segment[-1] not in _CANONICAL_LAST[rest]:
        raise ValueError("non-canonical base64url")
    return decoded


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member")
    return obj


def _no_constants(name: str) -> Any:
    raise ValueError("non-finite number")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_members, parse_constant=_no_constants
)


#: Deepest nesting of arrays and objects accepted (Better-Auth's payloads are 1 deep).
MAX_DEPTH = 32


def _depth(text: str) -> int:
    """Nesting depth of JSON text, brackets inside strings ignored (only run on suspicious input)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads_object(raw: bytes) -> dict[str, Any]:
    """Strict JSON: UTF-8, an object at the top, no duplicate members, no NaN/Infinity, at most
    ``MAX_DEPTH`` levels deep (the same on every Python version); else ``ValueError``."""
    if (
        raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
        and _depth(raw.decode("utf-8", "replace")) > MAX_DEPTH
    ):
        raise ValueError("too deeply nested")
    text = raw.decode("utf-8")
    try:
        # The plain ``decode``: calling ``json.scanner`` directly saved 0.4 µs a token, under
        # 1 % of a verify (bench/micro.py, "hand-written parts"): not worth private internals.
        value = _DECODER.decode(text)
    except RecursionError as exc:
        raise ValueError("too deeply nested") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value
