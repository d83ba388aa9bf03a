"""Public keys from a JWK Set, each bound to the one algorithm it may verify.

Pure functions over ``cryptography``, no I/O. A key's algorithm comes from the key itself
(``kty``/``crv`` and its own ``alg``), never from a token, so a token cannot choose how it is checked.
Keys are loaded once per JWKS fetch; verifying a signature is one ``cryptography`` call.
"""

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ._jose import b64url_decode

logger = logging.getLogger(__name__)

#: ``Ed25519`` is RFC 9864's fully-specified name for what JWS calls ``EdDSA`` over Ed25519.
_ALIASES = {"Ed25519": "EdDSA"}
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
MAX_KID_LENGTH = 256
#: Members only a private JWK has; a JWKS publishing one is misconfigured, so the key is refused.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


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


def der_signature(signature: bytes, size: int) -> bytes:
    """The DER ``ECDSA-Sig-Value`` ``cryptography`` verifies, of a JWS ``r || s`` signature.

    The standard call: a hand-built DER saved 0.4 µs an ES256 token, under 1 % of a verify
    (bench/micro.py, "hand-written parts"), so it was not worth its own encoder.
    """
    return encode_dss_signature(
        int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    )


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
