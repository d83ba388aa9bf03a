"""Public keys from a JWK Set, each bound to the one algorithm it may verify, and strict JOSE decoding.

Pure functions over ``cryptography``, no I/O. A key's algorithm comes from the key itself
(``kty``/``crv`` and its own ``alg``), never from a token, so a token cannot choose how it is checked.
Keys are loaded once per JWKS fetch; verifying a signature is one ``cryptography`` call.
"""

import binascii
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from json.scanner import make_scanner
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

logger = logging.getLogger(__name__)

#: ``Ed25519`` is RFC 9864's fully-specified name for what JWS calls ``EdDSA`` over Ed25519.
_ALIASES = {"Ed25519": "EdDSA"}
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
MAX_KID_LENGTH = 256
#: Members only a private JWK has; a JWKS publishing one is misconfigured, so the key is refused.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
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


@dataclass(frozen=True)
class _Curve:
    curve: type[ec.EllipticCurve]
    size: int
    algorithm: str
    ecdsa: ec.ECDSA


_EC_CURVES = {
    "P-256": _Curve(ec.SECP256R1, 32, "ES256", ec.ECDSA(hashes.SHA256())),
    "P-521": _Curve(ec.SECP521R1, 66, "ES512", ec.ECDSA(hashes.SHA512())),
}
_RSA_ALGORITHMS = frozenset({"RS256", "PS256"})
_PKCS1 = padding.PKCS1v15()
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def normalize_algorithm(name: str) -> str:
    """One name per algorithm: ``Ed25519`` becomes ``EdDSA``; other names are kept."""
    return _ALIASES.get(name, name)


def jwk_algorithm(jwk: Mapping[str, Any]) -> str | None:
    """The one JWS algorithm a JWK may verify, or ``None`` if it must never verify a signature.

    OKP/Ed25519 → ``EdDSA``, EC P-256 → ``ES256``, EC P-521 → ``ES512``, RSA → its ``alg``
    (``RS256`` or ``PS256``, ``RS256`` when absent). A JWK's own ``alg`` must fit its type.
    ``use`` other than ``sig``, ``key_ops`` without ``verify`` and ``oct`` keys give ``None``;
    a missing ``use`` is fine (Better-Auth never sets it).
    """
    if not isinstance(jwk, Mapping) or jwk.get("use", "sig") != "sig":
        return None
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    alg = jwk.get("alg")
    if alg is not None and not isinstance(alg, str):
        return None
    alg = None if alg is None else normalize_algorithm(alg)
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        candidates, default = frozenset({"EdDSA"}), "EdDSA"
    elif kty == "EC" and isinstance(crv, str) and crv in _EC_CURVES:
        default = _EC_CURVES[crv].algorithm
        candidates = frozenset({default})
    elif kty == "RSA":
        candidates, default = _RSA_ALGORITHMS, "RS256"
    else:
        return None
    if alg is None:
        return default
    return alg if alg in candidates else None


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
#: What ``_DECODER`` runs inside ``decode`` (typeshed wants a scanner as the context; any decoder is one).
_SCAN = make_scanner(_DECODER)  # type: ignore[arg-type]


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
        # The scanner alone when it consumes the whole text (a compact JWT); ``decode`` (surrounding
        # whitespace allowed, anything else refused) otherwise: the same result either way.
        try:
            value, end = _SCAN(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            value = _DECODER.decode(text)
    except RecursionError as exc:
        raise ValueError("too deeply nested") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


@dataclass(frozen=True)
class PublicKey:
    """A loaded public key bound to one algorithm; ``verify`` never raises on a bad signature."""

    algorithm: str
    verify: Callable[[bytes, bytes], bool]
    #: The JWK it was loaded from, canonicalised: an unchanged key keeps its object across fetches.
    source: str = ""


def _member(jwk: Mapping[str, Any], name: str, size: int | None = None) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"member {name!r} is missing")
    raw = b64url_decode(value)
    if size is not None and len(raw) != size:
        raise ValueError(f"member {name!r} has the wrong length")
    return raw


def _eddsa_verifier(key: ed25519.Ed25519PublicKey) -> Callable[[bytes, bytes], bool]:
    def verify(signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    return verify


#: DER INTEGER tag and length (short form: an integer of a supported curve is < 128 bytes).
_DER_INTEGER = tuple(bytes((0x02, size)) for size in range(128))


def der_signature(signature: bytes, size: int) -> bytes:
    """The DER ``ECDSA-Sig-Value`` of a JWS ``r || s`` signature of two ``size``-byte integers.

    What ``encode_dss_signature(int(r), int(s))`` returns, without the two ``int`` conversions:
    each integer minimal, with a ``0x00`` before a high bit (P-521's sequence uses a long length).
    """
    r = signature[:size].lstrip(b"\x00")
    s = signature[size:].lstrip(b"\x00")
    if not r or r[0] & 0x80:
        r = b"\x00" + r
    if not s or s[0] & 0x80:
        s = b"\x00" + s
    body = _DER_INTEGER[len(r)] + r + _DER_INTEGER[len(s)] + s
    length = len(body)
    return (
        bytes((0x30, length)) if length < 0x80 else bytes((0x30, 0x81, length))
    ) + body


def _ecdsa_verifier(
    key: ec.EllipticCurvePublicKey, curve: _Curve
) -> Callable[[bytes, bytes], bool]:
    size, ecdsa = curve.size, curve.ecdsa

    def verify(signature: bytes, data: bytes) -> bool:
        if len(signature) != 2 * size:
            return False
        try:
            key.verify(der_signature(signature, size), data, ecdsa)
        except InvalidSignature:
            return False
        return True

    return verify


def _rsa_verifier(
    key: rsa.RSAPublicKey, algorithm: str
) -> Callable[[bytes, bytes], bool]:
    size = (key.key_size + 7) // 8
    scheme = _PSS if algorithm == "PS256" else _PKCS1
    sha256 = hashes.SHA256()

    def verify(signature: bytes, data: bytes) -> bool:
        if len(signature) != size:
            return False
        try:
            key.verify(signature, data, scheme, sha256)
        except InvalidSignature:
            return False
        return True

    return verify


def load_key(jwk: Mapping[str, Any], source: str = "") -> PublicKey:
    """The public key of a JWK, bound to :func:`jwk_algorithm`.

    Raises:
        ValueError: the JWK must not be used (its reason is fit for logs: it holds no key material).
    """
    algorithm = jwk_algorithm(jwk)
    if algorithm is None:
        raise ValueError("not a signature key of a supported type")
    if not _PRIVATE_MEMBERS.isdisjoint(jwk):
        raise ValueError("the JWKS publishes private key material")
    try:
        if jwk["kty"] == "OKP":
            okp = ed25519.Ed25519PublicKey.from_public_bytes(_member(jwk, "x", 32))
            return PublicKey(algorithm, _eddsa_verifier(okp), source)
        if jwk["kty"] == "EC":
            curve = _EC_CURVES[jwk["crv"]]
            x = int.from_bytes(_member(jwk, "x", curve.size), "big")
            y = int.from_bytes(_member(jwk, "y", curve.size), "big")
            point = ec.EllipticCurvePublicNumbers(x, y, curve.curve()).public_key()
            return PublicKey(algorithm, _ecdsa_verifier(point, curve), source)
        n = int.from_bytes(_member(jwk, "n"), "big")
        e = int.from_bytes(_member(jwk, "e"), "big")
        if not MIN_RSA_BITS <= n.bit_length() <= MAX_RSA_BITS:
            raise ValueError(f"RSA modulus is not {MIN_RSA_BITS}-{MAX_RSA_BITS} bits")
        key = rsa.RSAPublicNumbers(e, n).public_key()
        return PublicKey(algorithm, _rsa_verifier(key, algorithm), source)
    except UnsupportedAlgorithm as exc:
        raise ValueError("key type not supported by this cryptography build") from exc


def keys_from_jwks(
    document: Mapping[str, Any],
    *,
    algorithms: frozenset[str],
    max_keys: int,
    previous: Mapping[str, PublicKey] | None = None,
) -> tuple[dict[str, PublicKey], frozenset[str]]:
    """The usable keys of a JWK Set by ``kid``, and the ``kid``s present but never to be used.

    A key is skipped (and logged by ``kid``) when it is invalid, private, not for signatures,
    of an algorithm outside ``algorithms``, or when its ``kid`` appears twice. A key of
    ``previous`` whose JWK is unchanged is kept as the same object.

    Raises:
        ValueError: the document is not a JWK Set or holds more than ``max_keys`` entries.
    """
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise ValueError("no 'keys' list")
    if len(entries) > max_keys:
        raise ValueError(f"{len(entries)} keys, more than jwks_max_keys={max_keys}")
    keys: dict[str, PublicKey] = {}
    unusable: set[str] = set()
    seen: set[str] = set()
    for entry in entries:
        kid = entry.get("kid") if isinstance(entry, dict) else None
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
            logger.warning("better_auth.jwks_key_skipped: an entry has no usable kid")
            continue
        if kid in seen:
            logger.warning(
                "better_auth.jwks_key_skipped kid=%s: duplicate kid, every copy refused",
                kid,
            )
            keys.pop(kid, None)
            unusable.add(kid)
            continue
        seen.add(kid)
        source = json.dumps(entry, sort_keys=True)
        known = (previous or {}).get(kid)
        if known is not None and known.source == source:
            keys[kid] = known
            continue
        try:
            key = load_key(entry, source)
        except ValueError as exc:
            logger.warning("better_auth.jwks_key_skipped kid=%s: %s", kid, exc)
            unusable.add(kid)
            continue
        if key.algorithm not in algorithms:
            logger.info(
                "better_auth.jwks_key_skipped kid=%s: %s is not in jwt_algorithms",
                kid,
                key.algorithm,
            )
            unusable.add(kid)
            continue
        keys[kid] = key
    return keys, frozenset(unusable)
