"""JWKs loaded and bound to one algorithm (``_jwks/_keys.py``)."""

from typing import Any

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519

from fastapi_better_auth._jwks._keys import jwk_algorithm, keys_from_jwks, load_key
from tests.unit.jwks_support import (
    ALL_ALGORITHMS,
    Signer,
    b64,
)


@pytest.mark.parametrize(
    ("jwk", "alg"),
    [
        ({"kty": "OKP", "crv": "Ed25519"}, "EdDSA"),
        ({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA"}, "EdDSA"),
        ({"kty": "OKP", "crv": "Ed25519", "alg": "Ed25519"}, "EdDSA"),
        ({"kty": "OKP", "crv": "Ed25519", "alg": "ES256"}, None),
        ({"kty": "OKP", "crv": "X25519"}, None),
        ({"kty": "EC", "crv": "P-256"}, "ES256"),
        ({"kty": "EC", "crv": "P-256", "alg": "ES512"}, None),
        ({"kty": "EC", "crv": "P-521", "use": "sig"}, "ES512"),
        ({"kty": "EC", "crv": "P-384"}, None),
        ({"kty": "EC", "crv": ["P-256"]}, None),
        ({"kty": "RSA"}, "RS256"),
        ({"kty": "RSA", "alg": "PS256"}, "PS256"),
        ({"kty": "RSA", "alg": "RS512"}, None),
        ({"kty": "RSA", "alg": 256}, None),
        ({"kty": "RSA", "use": "enc"}, None),
        ({"kty": "RSA", "key_ops": ["verify"]}, "RS256"),
        ({"kty": "RSA", "key_ops": ["encrypt"]}, None),
        ({"kty": "RSA", "key_ops": "verify"}, None),
        ({"kty": "oct", "alg": "HS256"}, None),
        ({}, None),
    ],
)
def test_jwk_algorithm_matches_key_type(jwk: dict[str, Any], alg: str | None) -> None:
    assert jwk_algorithm(jwk) == alg


def test_jwk_algorithm_non_mapping_returns_none() -> None:
    assert jwk_algorithm(["kty"]) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
        {"kty": "EC", "crv": "P-256", "x": b64(b"\x00" * 32), "y": b64(b"\x00" * 32)},
        {"kty": "EC", "crv": "P-256", "x": b64(b"\x01" * 32)},
        {"kty": "OKP", "crv": "Ed25519", "x": 5},
        {"kty": "OKP", "crv": "Ed25519", "x": "A+"},
        {"kty": "RSA", "n": b64(b"\xff" * 1025), "e": "AQAB"},
        {"kty": "RSA", "n": b64(b"\xff" * 256), "e": "Ag"},
        {"kty": "RSA", "n": b64(b"\xff" * 256)},
    ],
)
def test_load_key_invalid_jwk_raises(jwk: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        load_key(jwk)


def test_keys_from_jwks_bad_document_raises() -> None:
    with pytest.raises(ValueError, match="keys"):
        keys_from_jwks({"keys": {}}, algorithms=ALL_ALGORITHMS, max_keys=5)
    with pytest.raises(ValueError, match="jwks_max_keys"):
        keys_from_jwks({"keys": [{}] * 6}, algorithms=ALL_ALGORITHMS, max_keys=5)


def test_keys_from_jwks_thrice_repeated_kid_refused(ed: Signer) -> None:
    keys, unusable = keys_from_jwks(
        {"keys": [ed.jwk] * 3}, algorithms=ALL_ALGORITHMS, max_keys=5
    )
    assert keys == {}
    assert unusable == {ed.kid}


def test_load_key_unsupported_by_cryptography_build_raises(
    ed: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(data: bytes) -> ed25519.Ed25519PublicKey:
        raise UnsupportedAlgorithm("no Ed25519 here")

    monkeypatch.setattr(ed25519.Ed25519PublicKey, "from_public_bytes", unsupported)
    with pytest.raises(ValueError, match="not supported"):
        load_key(ed.jwk)
