"""What the JWKS verifier's unit tests share: signers minting tokens as Better-Auth does, a clock
that moves only when told, settings and a verifier on the loopback JWKS server, token builders."""

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from fastapi_better_auth._errors import (
    InvalidTokenError,
)
from fastapi_better_auth._jwks import JWKSVerifier
from fastapi_better_auth._settings import BetterAuthSettings
from fastapi_better_auth._testing_server import JWKSServer

ISSUER = "http://127.0.0.1:3005"


NOW = 1_795_543_923.0


ALL_ALGORITHMS = frozenset({"EdDSA", "ES256", "ES512", "RS256", "PS256"})


SAMPLE = json.loads(
    (Path(__file__).parents[1] / "data" / "jwt-sample.json").read_text()
)


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Signer:
    """A private key with its public JWK, minting tokens as Better-Auth does."""

    kid: str
    alg: str
    private: Any
    jwk: dict[str, Any]

    def token(self, claims: dict[str, Any] | None = None, **header: Any) -> str:
        payload = claims if claims is not None else good_claims()
        return jwt.encode(
            payload,
            self.private,
            algorithm=self.alg,
            headers={"kid": self.kid, **header},
        )


def _private_key(alg: str) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_signer(alg: str = "EdDSA", kid: str | None = None) -> Signer:
    private = _private_key(alg)
    kid = kid or secrets.token_urlsafe(24)
    jwk = get_default_algorithms()[alg].to_jwk(private.public_key(), as_dict=True)
    return Signer(kid, alg, private, {**jwk, "kid": kid, "alg": alg})


def good_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iat": int(NOW),
        "name": "Alice Admin",
        "id": "qqbxM9e4EraZ9q2fRWW4NzYFhobPGIh5",
        "sub": "qqbxM9e4EraZ9q2fRWW4NzYFhobPGIh5",
        "exp": int(NOW) + 900,
        "iss": ISSUER,
        "aud": ISSUER,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not ...}


def make_settings(server: JWKSServer, **overrides: Any) -> BetterAuthSettings:
    values: dict[str, Any] = {
        "url": ISSUER,
        "database_url": "sqlite:///unused.db",
        "jwks_url": server.jwks_url,
        "jwt_algorithms": ALL_ALGORITHMS,
    }
    values.update(overrides)
    return BetterAuthSettings(**values)


@asynccontextmanager
async def open_verifier(
    server: JWKSServer,
    *,
    clock: Callable[[], float] | None = None,
    monotonic: FakeClock | None = None,
    client: httpx.AsyncClient | None = None,
    **overrides: Any,
) -> AsyncIterator[JWKSVerifier]:
    verifier = JWKSVerifier(
        make_settings(server, **overrides),
        client=client,
        clock=clock or FakeClock(NOW + 10),
        monotonic=monotonic or FakeClock(1000.0),
    )
    try:
        yield verifier
    finally:
        await verifier.aclose()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(
    header: dict[str, Any] | bytes,
    payload: dict[str, Any] | bytes,
    signature: bytes = b"s" * 64,
) -> str:
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return f"{b64(head)}.{b64(body)}.{b64(signature)}"


def ed_signed(
    signer: Signer, header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes
) -> str:
    """A token with an arbitrary header and payload, correctly signed by an Ed25519 signer."""
    unsigned = compact(header, payload).rsplit(".", 1)[0]
    return unsigned + "." + b64(signer.private.sign(unsigned.encode()))


async def refreshed(verifier: JWKSVerifier) -> None:
    """Wait for the verifier's background refresh, if one runs."""
    task = verifier._keyset._refresh
    if task is not None:
        await asyncio.wait({task})


async def rejects(verifier: JWKSVerifier, token: Any, reason: str) -> InvalidTokenError:
    with pytest.raises(InvalidTokenError) as info:
        await verifier.verify(token)
    assert getattr(info.value, "reason", None) == reason, repr(info.value)
    return info.value


async def wait_for_hits(server: JWKSServer, hits: int) -> None:
    while server.hits < hits:
        await anyio.sleep(0.01)
