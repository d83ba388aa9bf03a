"""JWKSVerifier against a real JWKS server on loopback: valid tokens, forgeries, and the key cache."""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import math
import secrets
import string
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jwt.algorithms import get_default_algorithms

from fastapi_better_auth._errors import (
    InvalidTokenError,
    JWKSUnavailableError,
    TokenExpiredError,
)
from fastapi_better_auth._jwks import MAX_TOKEN_LENGTH, JWKSVerifier
from fastapi_better_auth._jwks._jose import b64url_decode, loads_object
from fastapi_better_auth._jwks._keys import jwk_algorithm, keys_from_jwks, load_key
from fastapi_better_auth._jwks._keyset import _cache_seconds
from fastapi_better_auth._settings import BetterAuthSettings
from tests.jwks_server import JWKSServer, running_jwks_server

ISSUER = "http://127.0.0.1:3005"
NOW = 1_795_543_923.0
ALL_ALGORITHMS = frozenset({"EdDSA", "ES256", "ES512", "RS256", "PS256"})
SAMPLE = json.loads(
    (Path(__file__).parents[1] / "data" / "jwt-sample.json").read_text()
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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


@pytest.fixture(scope="module")
def signers() -> dict[str, Signer]:
    return {alg: make_signer(alg) for alg in sorted(ALL_ALGORITHMS)}


@pytest.fixture
def ed(signers: dict[str, Signer]) -> Signer:
    return signers["EdDSA"]


@pytest.fixture
def server(ed: Signer) -> Iterator[JWKSServer]:
    with running_jwks_server() as jwks_server:
        jwks_server.serve(ed.jwk)
        yield jwks_server


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


# --- valid tokens -----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("alg", sorted(ALL_ALGORITHMS))
async def test_verify_each_algorithm_valid_token_returns_claims(
    alg: str, signers: dict[str, Signer], server: JWKSServer
) -> None:
    server.serve(*(signer.jwk for signer in signers.values()))
    async with open_verifier(server) as verifier:
        claims = await verifier.verify(signers[alg].token())
    assert claims == good_claims()
    assert server.hits == 1


@pytest.mark.anyio
async def test_verify_better_auth_sample_token_returns_its_claims(
    server: JWKSServer,
) -> None:
    server.serve(*SAMPLE["jwks_endpoint"]["body"]["keys"])
    token = SAMPLE["token_endpoint"]["body"]["token"]
    async with open_verifier(
        server,
        clock=FakeClock(SAMPLE["decoded"]["payload"]["iat"]),
        jwt_algorithms={"EdDSA"},
    ) as verifier:
        claims = await verifier.verify(token)
    assert claims == SAMPLE["decoded"]["payload"]


@pytest.mark.anyio
async def test_verify_better_auth_sample_token_tampered_payload_raises(
    server: JWKSServer,
) -> None:
    server.serve(*SAMPLE["jwks_endpoint"]["body"]["keys"])
    head, _, signature = SAMPLE["token_endpoint"]["body"]["token"].split(".")
    claims = {**SAMPLE["decoded"]["payload"], "role": "admin"}
    forged = (
        f"{head}.{b64(json.dumps(claims, separators=(',', ':')).encode())}.{signature}"
    )
    async with open_verifier(server, clock=FakeClock(claims["iat"])) as verifier:
        await rejects(verifier, forged, "bad_signature")


@pytest.mark.anyio
@pytest.mark.parametrize("setting", [{"EdDSA"}, {"Ed25519"}])
@pytest.mark.parametrize("header_alg", ["EdDSA", "Ed25519"])
async def test_verify_ed25519_alias_in_setting_or_header_accepted(
    setting: set[str], header_alg: str, ed: Signer, server: JWKSServer
) -> None:
    token = ed_signed(ed, {"alg": header_alg, "kid": ed.kid}, good_claims())
    async with open_verifier(server, jwt_algorithms=setting) as verifier:
        assert (await verifier.verify(token))["sub"] == good_claims()["sub"]


@pytest.mark.anyio
@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt"])
async def test_verify_jwt_typ_header_accepted(
    typ: str, ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        assert await verifier.verify(ed.token(typ=typ))


@pytest.mark.anyio
@pytest.mark.parametrize(
    "changes",
    [
        {"aud": ["https://other.example", ISSUER]},
        {"nbf": int(NOW)},
        {
            "exp": int(NOW) + 6,
            "iat": int(NOW) - 800,
        },  # 10 s past "now" minus... within 5 s leeway
        {
            "iat": int(NOW) + 14,
            "exp": int(NOW) + 900,
        },  # 4 s in the future: within leeway
        {"exp": NOW + 100.5, "iat": NOW - 0.5},  # floats are numbers too
    ],
)
async def test_verify_acceptable_claims_pass(
    changes: dict[str, Any], ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        assert await verifier.verify(ed.token(good_claims(**changes)))


@pytest.mark.anyio
async def test_verify_configured_audience_and_issuer_used(
    ed: Signer, server: JWKSServer
) -> None:
    token = ed.token(good_claims(iss="https://auth.example", aud="api"))
    async with open_verifier(
        server, issuer="https://auth.example", audience="api,other"
    ) as verifier:
        assert await verifier.verify(token)
    async with open_verifier(server) as verifier:
        await rejects(verifier, token, "bad_iss")


# --- forged and unacceptable tokens ---------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "alg",
    ["none", "None", "NONE", "nOnE", "HS256", "HS512", "RS384", "ES384", "", "dir"],
)
async def test_verify_disallowed_alg_raises_without_fetch(
    alg: str, ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        await rejects(
            verifier,
            compact({"alg": alg, "kid": ed.kid}, good_claims()),
            "alg_not_allowed",
        )
        await rejects(
            verifier,
            compact({"alg": alg, "kid": ed.kid}, good_claims(), b"") + "A",
            "malformed",
        )
        assert verifier.fetch_count == 0
    assert server.hits == 0


@pytest.mark.anyio
async def test_verify_unsigned_none_token_raises(
    ed: Signer, server: JWKSServer
) -> None:
    unsigned = (
        compact({"alg": "none", "kid": ed.kid}, good_claims()).rsplit(".", 1)[0] + "."
    )
    async with open_verifier(server) as verifier:
        await rejects(verifier, unsigned, "malformed")


@pytest.mark.anyio
@pytest.mark.parametrize("secret_form", ["pem", "raw"])
async def test_verify_hs256_signed_with_public_key_raises(
    secret_form: str, ed: Signer, server: JWKSServer
) -> None:
    public = ed.private.public_key()
    secret = (
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if secret_form == "pem"
        else b64url_decode(ed.jwk["x"])
    )
    unsigned = compact(
        {"alg": "HS256", "kid": ed.kid, "typ": "JWT"}, good_claims()
    ).rsplit(".", 1)[0]
    token = (
        unsigned
        + "."
        + b64(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())
    )
    async with open_verifier(server) as verifier:
        await rejects(verifier, token, "alg_not_allowed")


@pytest.mark.anyio
async def test_verify_header_alg_other_than_key_alg_raises(
    signers: dict[str, Signer], server: JWKSServer
) -> None:
    es = signers["ES256"]
    server.serve(signers["EdDSA"].jwk, es.jwk)
    token = jwt.encode(
        good_claims(),
        es.private,
        algorithm="ES256",
        headers={"kid": signers["EdDSA"].kid},
    )
    async with open_verifier(server) as verifier:
        await rejects(verifier, token, "alg_mismatch")


@pytest.mark.anyio
async def test_verify_rs256_token_for_ps256_key_raises(
    signers: dict[str, Signer], server: JWKSServer
) -> None:
    ps = signers["PS256"]
    server.serve(ps.jwk)
    token = jwt.encode(
        good_claims(), ps.private, algorithm="RS256", headers={"kid": ps.kid}
    )
    async with open_verifier(server) as verifier:
        await rejects(verifier, token, "alg_mismatch")


@pytest.mark.anyio
@pytest.mark.parametrize("alg", sorted(ALL_ALGORITHMS))
async def test_verify_wrong_key_under_known_kid_raises(
    alg: str, signers: dict[str, Signer], server: JWKSServer
) -> None:
    server.serve(signers[alg].jwk)
    impostor = make_signer(alg, kid=signers[alg].kid)
    async with open_verifier(server) as verifier:
        await rejects(verifier, impostor.token(), "bad_signature")


@pytest.mark.anyio
@pytest.mark.parametrize("alg", sorted(ALL_ALGORITHMS))
async def test_verify_truncated_or_extended_signature_raises(
    alg: str, signers: dict[str, Signer], server: JWKSServer
) -> None:
    server.serve(signers[alg].jwk)
    unsigned, signature = signers[alg].token().rsplit(".", 1)
    raw = b64url_decode(signature)
    async with open_verifier(server) as verifier:
        await rejects(verifier, f"{unsigned}.{b64(raw[:-1])}", "bad_signature")
        await rejects(verifier, f"{unsigned}.{b64(raw + b'0')}", "bad_signature")


@pytest.mark.anyio
async def test_verify_tampered_payload_raises(ed: Signer, server: JWKSServer) -> None:
    head, _, signature = ed.token().split(".")
    forged = f"{head}.{b64(json.dumps(good_claims(sub='someone-else')).encode())}.{signature}"
    async with open_verifier(server) as verifier:
        await rejects(verifier, forged, "bad_signature")


@pytest.mark.anyio
async def test_verify_expired_token_raises_token_expired(
    ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server, clock=FakeClock(NOW + 906)) as verifier:
        with pytest.raises(TokenExpiredError) as info:
            await verifier.verify(ed.token())
    assert info.value.message == "token expired"
    assert getattr(info.value, "reason", None) == "expired"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"nbf": int(NOW) + 60}, "not_yet_valid"),
        ({"iat": int(NOW) + 60, "exp": int(NOW) + 900}, "iat_future"),
        ({"iss": "http://127.0.0.1:3006"}, "bad_iss"),
        ({"iss": [ISSUER]}, "bad_iss"),
        ({"aud": "http://127.0.0.1:3006"}, "bad_aud"),
        ({"aud": ["a", "b"]}, "bad_aud"),
        ({"aud": []}, "bad_aud"),
        ({"aud": [ISSUER, 1]}, "bad_aud"),
        ({"aud": {"x": ISSUER}}, "bad_aud"),
        ({"exp": "1795544823"}, "bad_claim"),
        ({"iat": True}, "bad_claim"),
        ({"nbf": "0"}, "bad_claim"),
        ({"nbf": None}, "bad_claim"),  # a NumericDate or absent, as jose and PyJWT read it
        ({"exp": [1]}, "bad_claim"),
        ({"sub": ""}, "bad_sub"),
        ({"sub": 42}, "bad_sub"),
        ({"exp": int(NOW) + 901}, "bad_lifetime"),
        ({"exp": int(NOW)}, "bad_lifetime"),
        ({"exp": int(NOW) - 1}, "bad_lifetime"),
        ({"exp": 10**400}, "bad_claim"),
        ({"exp": 10**400, "iat": NOW + 0.5}, "bad_claim"),
        ({"iat": -(10**400)}, "bad_claim"),
        ({"exp": 1.5e308}, "bad_claim"),
        ({"nbf": -1e16}, "bad_claim"),
    ],
)
async def test_verify_unacceptable_claim_raises(
    changes: dict[str, Any], reason: str, ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        token = ed_signed(ed, {"alg": "EdDSA", "kid": ed.kid}, good_claims(**changes))
        error = await rejects(verifier, token, reason)
    assert not isinstance(error, TokenExpiredError)


@pytest.mark.anyio
@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud"])
async def test_verify_missing_required_claim_raises(
    claim: str, ed: Signer, server: JWKSServer
) -> None:
    reason = {
        "exp": "missing_claim",
        "iat": "missing_claim",
        "sub": "bad_sub",
        "iss": "bad_iss",
    }.get(claim, "bad_aud")
    async with open_verifier(server) as verifier:
        await rejects(
            verifier,
            ed_signed(ed, {"alg": "EdDSA", "kid": ed.kid}, good_claims(**{claim: ...})),
            reason,
        )
        await rejects(
            verifier,
            ed_signed(
                ed, {"alg": "EdDSA", "kid": ed.kid}, good_claims(**{claim: None})
            ),
            reason,
        )


@pytest.mark.anyio
async def test_verify_infinite_exp_raises(ed: Signer, server: JWKSServer) -> None:
    payload = json.dumps(good_claims()).replace(str(int(NOW) + 900), "1e400").encode()
    async with open_verifier(server) as verifier:
        await rejects(
            verifier,
            ed_signed(ed, {"alg": "EdDSA", "kid": ed.kid}, payload),
            "bad_claim",
        )


@pytest.mark.anyio
@pytest.mark.parametrize(
    "typ", ["at+jwt", "logout+jwt", "better-auth.session-cache+jwt", "JWS", "", 1, None]
)
async def test_verify_other_typ_raises(
    typ: Any, ed: Signer, server: JWKSServer
) -> None:
    token = ed_signed(ed, {"alg": "EdDSA", "kid": ed.kid, "typ": typ}, good_claims())
    async with open_verifier(server) as verifier:
        if typ is None:  # "typ": null is no typ at all
            assert await verifier.verify(token)
        else:
            await rejects(verifier, token, "bad_typ")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "extra",
    [
        {"jku": "JKU"},
        {"x5u": "JKU"},
        {"jwk": "JWK"},
        {"x5c": ["MIIB"]},
        {"crit": ["exp"]},
        {"b64": False},
        {"b64": "false"},
        {"zip": "DEF"},
        {"cty": "JWT"},
    ],
)
async def test_verify_key_selecting_or_critical_header_raises_without_request(
    extra: dict[str, Any], ed: Signer, server: JWKSServer
) -> None:
    attacker = make_signer("EdDSA", kid=ed.kid)
    evil_url = server.url + "/evil-jwks"
    replacements = {"JKU": evil_url, "JWK": attacker.jwk}
    header = {
        name: replacements.get(value, value) if isinstance(value, str) else value
        for name, value in extra.items()
    }
    async with open_verifier(server) as verifier:
        assert await verifier.warm()
        token = ed_signed(
            attacker, {"alg": "EdDSA", "kid": ed.kid, **header}, good_claims()
        )
        await rejects(verifier, token, "refused_header")
        assert verifier.fetch_count == 1
    assert server.paths == ["/api/auth/jwks"]


@pytest.mark.anyio
async def test_verify_b64_true_header_accepted(ed: Signer, server: JWKSServer) -> None:
    async with open_verifier(server) as verifier:
        assert await verifier.verify(
            ed_signed(ed, {"alg": "EdDSA", "kid": ed.kid, "b64": True}, good_claims())
        )


@pytest.mark.anyio
@pytest.mark.parametrize("kid", [None, "", 7, ["k"], "k" * 257])
async def test_verify_missing_or_bad_kid_raises_without_fetch(
    kid: Any, ed: Signer, server: JWKSServer
) -> None:
    header: dict[str, Any] = (
        {"alg": "EdDSA"} if kid is None else {"alg": "EdDSA", "kid": kid}
    )
    async with open_verifier(server) as verifier:
        await rejects(verifier, ed_signed(ed, header, good_claims()), "no_kid")
    assert server.hits == 0


@pytest.mark.anyio
async def test_verify_oversized_token_raises_without_fetch(
    ed: Signer, server: JWKSServer
) -> None:
    padded = ed.token(good_claims(filler="x" * MAX_TOKEN_LENGTH))
    async with open_verifier(server) as verifier:
        await rejects(verifier, padded, "malformed")
        await rejects(verifier, "a" * 10_000_000, "malformed")
    assert server.hits == 0


def _malformed_tokens() -> list[Any]:
    head = b64(b'{"alg":"EdDSA","kid":"k"}')
    body = b64(json.dumps(good_claims()).encode())
    sig = b64(b"s" * 64)
    bad_headers = [
        b"not json",
        b"[1, 2]",
        b"null",
        b'"s"',
        b'{"alg":"EdDSA","kid":"k"} x',
        b"\xff\xfe{}",
        b'\xef\xbb\xbf{"alg":"EdDSA","kid":"k"}',
        '{"alg":"EdDSA","kid":"k"}'.encode("utf-16"),
        b'{"alg":"EdDSA","kid":NaN}',
        b'{"alg":"EdDSA","alg":"EdDSA","kid":"k"}',
        b'{"alg":"EdDSA","kid":"k","kid":"j"}',
        b'{"alg":"EdDSA","kid":"k","x":' + b"[" * 1000 + b"]" * 1000 + b"}",
    ]
    return [
        "",
        "a",
        head + "." + body,
        ".".join([head, body, sig, sig]),
        head + ".." + sig,
        "." + body + "." + sig,
        head + "." + body + ".",
        head + "=." + body + "." + sig,
        head + "." + body + "." + sig + "==",
        head + "." + body + "+." + sig,
        head + "." + body + "." + sig + "/",
        " " + head + "." + body + "." + sig,
        head + "." + body + "." + sig + "\n",
        head + "." + body + "." + sig[:-1] + "\u00e9",
        head + "." + body + "." + sig[:-1],  # length % 4 == 1 is never base64
        head + "." + body + "." + sig[:-1] + "B",  # non-zero unused bits: not canonical
        *(b64(raw) + "." + body + "." + sig for raw in bad_headers),
        None,
        b"bytes.are.not",
        42,
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("token", _malformed_tokens())
async def test_verify_malformed_token_raises_without_fetch(
    token: Any, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        await rejects(verifier, token, "malformed")
    assert server.hits == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1]",
        b'{"sub":"a","sub":"b"}',
        b"\xff\xfe",
        b"[" * 12_000 + b"]" * 12_000,
        json.dumps(good_claims()).encode() + b"x",
    ],
)
async def test_verify_signed_malformed_payload_raises(
    payload: bytes, ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        await rejects(
            verifier,
            ed_signed(ed, {"alg": "EdDSA", "kid": ed.kid}, payload),
            "malformed",
        )


@pytest.mark.anyio
async def test_verify_deeply_nested_signed_payload_raises(
    ed: Signer, server: JWKSServer
) -> None:
    payload = b'{"a":' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    async with open_verifier(server) as verifier:
        await rejects(
            verifier,
            ed_signed(ed, {"alg": "EdDSA", "kid": ed.kid}, payload),
            "malformed",
        )


@pytest.mark.anyio
async def test_verify_failure_logs_and_error_hold_no_token(
    ed: Signer, server: JWKSServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = make_signer("EdDSA").token()
    async with open_verifier(server) as verifier:
        error = await rejects(verifier, token, "unknown_kid")
        server.status = 500
        await rejects(verifier, ed.token(good_claims(iss="x")), "bad_iss")
    text = caplog.text + str(error) + repr(error)
    for part in token.split("."):
        assert part not in text
    assert "jwks" in caplog.text


# --- the key cache ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_verifier_init_does_no_io(server: JWKSServer) -> None:
    async with open_verifier(server) as verifier:
        assert verifier.fetch_count == 0
        assert not verifier.has_keys
    assert server.hits == 0


@pytest.mark.anyio
async def test_verify_cold_concurrent_requests_share_one_fetch(
    ed: Signer, server: JWKSServer
) -> None:
    tokens = [ed.token(good_claims(name=f"user {n}")) for n in range(20)]
    async with open_verifier(server) as verifier:
        results = await asyncio.gather(*(verifier.verify(token) for token in tokens))
        assert verifier.fetch_count == 1
    assert [claims["name"] for claims in results] == [f"user {n}" for n in range(20)]
    assert server.hits == 1


@pytest.mark.anyio
async def test_verify_warm_cache_does_no_request(
    ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        assert await verifier.warm()
        assert await verifier.warm()
        for _ in range(10):
            await verifier.verify(ed.token())
    assert server.hits == 1


@pytest.mark.anyio
@pytest.mark.parametrize("healthy", [True, False])
async def test_verify_unknown_kid_flood_costs_one_fetch(
    healthy: bool, ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    forged = [make_signer("EdDSA", kid=secrets.token_urlsafe(16)) for _ in range(5)]
    tokens = [forged[n % 5].token() for n in range(50)]
    async with open_verifier(server, monotonic=monotonic) as verifier:
        assert await verifier.warm()
        monotonic.now += 30
        if not healthy:
            server.status = 500
        results = await asyncio.gather(
            *(verifier.verify(token) for token in tokens), return_exceptions=True
        )
        assert all(
            getattr(result, "reason", None) == "unknown_kid" for result in results
        )
        assert verifier.fetch_count == 2
        monotonic.now += 29  # still cooling down: a second flood fetches nothing
        results = await asyncio.gather(
            *(verifier.verify(token) for token in tokens), return_exceptions=True
        )
        assert all(isinstance(result, InvalidTokenError) for result in results)
        assert verifier.fetch_count == 2
        await verifier.verify(ed.token())  # the cached key still verifies
        monotonic.now += 30
        await rejects(verifier, tokens[0], "unknown_kid")
        assert verifier.fetch_count == 3
    assert server.hits == 3


@pytest.mark.anyio
async def test_verify_rotated_key_picked_up_after_one_refetch(
    ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    new = make_signer("EdDSA")
    async with open_verifier(server, monotonic=monotonic) as verifier:
        assert await verifier.verify(ed.token())
        server.serve(ed.jwk, new.jwk)
        await rejects(verifier, new.token(), "unknown_kid")  # cooling down: no refetch
        monotonic.now += 30
        assert await verifier.verify(new.token())
        assert await verifier.verify(ed.token())
        assert verifier.fetch_count == 2
        server.serve(
            new.jwk
        )  # the old key leaves the JWKS; it is dropped at the next refresh
        monotonic.now += 300
        assert await verifier.verify(
            ed.token()
        )  # served from the cache while refreshing
        await refreshed(verifier)
        await rejects(verifier, ed.token(), "unknown_kid")
        assert await verifier.verify(new.token())
        assert verifier.fetch_count == 3


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500},
        {"status": 404},
        {"status": 302, "headers": {"Location": "/moved-jwks"}},
        {"status": 301, "headers": {"Location": "/moved-jwks"}},
        {"body": b"<html>oops</html>", "content_type": "text/html"},
        {"body": b"garbage"},
        {"body": b'{"keys": "nope"}'},
        {"body": b'{"keys": []}'},
        {"body": b"[]"},
        {"body": b'{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "o"}]}'},
        {"content_type": ""},
        {"content_type": "text/plain"},
        {"headers": {"Content-Encoding": "gzip"}},
        {"hang": True},
    ],
)
async def test_verify_jwks_outage_after_warm_keeps_cached_keys(
    failure: dict[str, Any], ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    async with open_verifier(
        server, monotonic=monotonic, jwks_timeout_seconds=0.5
    ) as verifier:
        assert await verifier.warm()
        for name, value in failure.items():
            setattr(server, name, value)
        monotonic.now += 301
        assert await verifier.verify(ed.token())
        await refreshed(verifier)
        assert verifier.fetch_count == 2
        assert await verifier.verify(ed.token())
        assert verifier.has_keys
    assert "/moved-jwks" not in server.paths


async def wait_for_hits(server: JWKSServer, hits: int) -> None:
    while server.hits < hits:
        await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_verify_hanging_refresh_never_blocks_cached_key(
    ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    settings: dict[str, Any] = {"monotonic": monotonic, "jwks_timeout_seconds": 300}
    async with open_verifier(server, **settings) as verifier:
        assert await verifier.warm()
        server.hang = True  # released only when the server stops
        monotonic.now += 301
        # A liveness guard, not a timing assertion: the refresh hangs for 300 s.
        with anyio.fail_after(30):
            assert await verifier.verify(ed.token())
            await wait_for_hits(server, 2)  # the refresh now hangs inside the server
            for n in range(20):  # distinct tokens: each one is checked in full
                assert await verifier.verify(ed.token(good_claims(name=str(n))))
                await anyio.sleep(0)
        assert verifier.fetch_count == 2
        assert verifier._keyset._refresh is not None
        assert not verifier._keyset._refresh.done()
    assert verifier._keyset._refresh is None


@pytest.mark.anyio
async def test_verify_unknown_kid_during_hang_waits_at_most_the_timeout(
    ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    settings: dict[str, Any] = {"monotonic": monotonic, "jwks_timeout_seconds": 0.2}
    async with open_verifier(server, **settings) as verifier:
        assert await verifier.warm()
        server.hang = True
        monotonic.now += 30
        with anyio.fail_after(30):
            await rejects(verifier, make_signer("EdDSA").token(), "unknown_kid")
            assert await verifier.verify(ed.token())
        assert verifier.fetch_count == 2
        assert server.hits == 2


@pytest.mark.anyio
@pytest.mark.parametrize("failure", [{"status": 503}, {"hang": True}, {"body": b"{}"}])
async def test_verify_cold_cache_jwks_down_raises_unavailable(
    failure: dict[str, Any], ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    for name, value in failure.items():
        setattr(server, name, value)
    async with open_verifier(
        server,
        monotonic=monotonic,
        jwks_timeout_seconds=0.2,
        jwks_cold_retry_seconds=30,
    ) as verifier:
        with pytest.raises(JWKSUnavailableError) as info:
            await verifier.verify(ed.token())
        assert info.value.retry_after == 30
        assert info.value.http_headers() == {"Retry-After": "30"}
        monotonic.now += 12.5
        with pytest.raises(JWKSUnavailableError) as info:
            await verifier.verify(ed.token())
        assert info.value.retry_after == 18
        assert verifier.fetch_count == 1
        server.serve(ed.jwk)
        server.release()
        monotonic.now += 18
        assert await verifier.verify(ed.token())
        assert verifier.fetch_count == 2


@pytest.mark.anyio
async def test_verify_cold_cache_retries_sooner_than_the_warm_cooldown(
    ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    server.status = 503
    async with open_verifier(server, monotonic=monotonic) as verifier:
        with pytest.raises(JWKSUnavailableError) as info:
            await verifier.verify(ed.token())
        assert info.value.retry_after == 2  # jwks_cold_retry_seconds, not 30
        with pytest.raises(JWKSUnavailableError):
            await verifier.verify(ed.token())
        assert verifier.fetch_count == 1
        server.serve(ed.jwk)
        monotonic.now += 2
        assert await verifier.verify(ed.token())
        assert verifier.fetch_count == 2


@pytest.mark.anyio
async def test_verify_connection_refused_raises_unavailable(ed: Signer) -> None:
    with running_jwks_server() as stopped:
        pass  # its port is closed now
    async with open_verifier(stopped, jwks_min_refresh_seconds=0) as verifier:
        assert not await verifier.warm()
        with pytest.raises(JWKSUnavailableError) as info:
            await verifier.verify(ed.token())
        assert info.value.retry_after == 1
        assert verifier.fetch_count == 2


@pytest.mark.anyio
async def test_warm_jwks_down_returns_false_then_true(
    ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    server.status = 500
    async with open_verifier(server, monotonic=monotonic) as verifier:
        assert not await verifier.warm()
        assert not await verifier.warm()  # cooling down: no second request
        assert server.hits == 1
        server.serve(ed.jwk)
        monotonic.now += 30
        assert await verifier.warm()
        assert verifier.fetch_count == 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("cache_control", "ttl"),
    [
        (None, 300),
        ("max-age=10", 60),
        ("public, max-age=120", 120),
        ('max-age="150"', 150),
        ("max-age=999999", 3600),
        ("no-store", 60),
        ("no-cache, max-age=500", 60),
        ("max-age=abc", 300),
        # str.isdigit() digits that int() refuses: were a failed start
        ("max-age=1\u00b2", 300),
        ("max-age=12\u00b3", 300),
        ("private", 300),
    ],
)
async def test_verify_cache_lifetime_follows_clamped_max_age(
    cache_control: str | None, ttl: float, ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    if cache_control is not None:
        server.headers = {"Cache-Control": cache_control}
    async with open_verifier(
        server, monotonic=monotonic, jwks_max_cache_seconds=3600
    ) as verifier:
        assert await verifier.warm()
        monotonic.now += ttl - 1
        assert await verifier.verify(ed.token())
        assert await verifier.warm()
        await refreshed(verifier)
        assert verifier.fetch_count == 1
        monotonic.now += 1
        assert await verifier.verify(ed.token())
        await refreshed(verifier)
        assert verifier.fetch_count == 2


@pytest.mark.anyio
@pytest.mark.parametrize("endless", [False, True])
async def test_verify_jwks_over_size_cap_refused(
    endless: bool, ed: Signer, server: JWKSServer
) -> None:
    server.body = json.dumps({"keys": [ed.jwk], "pad": "x" * 70_000}).encode()
    server.endless = endless
    async with open_verifier(server) as verifier:
        with pytest.raises(JWKSUnavailableError):
            await verifier.verify(ed.token())
    assert server.bytes_sent < 64 * 1024 * 1024


@pytest.mark.anyio
async def test_verify_jwks_within_size_cap_without_length_accepted(
    ed: Signer, server: JWKSServer
) -> None:
    server.send_length = False
    async with open_verifier(server) as verifier:
        assert await verifier.verify(ed.token())


@pytest.mark.anyio
async def test_verify_jwks_over_key_cap_refused(ed: Signer, server: JWKSServer) -> None:
    server.serve(ed.jwk, *(make_signer("EdDSA").jwk for _ in range(4)))
    async with open_verifier(server, jwks_max_keys=4) as verifier:
        with pytest.raises(JWKSUnavailableError):
            await verifier.verify(ed.token())
    async with open_verifier(server, jwks_max_keys=5) as verifier:
        assert await verifier.verify(ed.token())


@pytest.mark.anyio
async def test_verify_unusable_keys_ignored_without_refetch(
    signers: dict[str, Signer], ed: Signer, server: JWKSServer
) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  (the weak key under test)
    p384 = ec.generate_private_key(ec.SECP384R1())
    rsa_alg = get_default_algorithms()["RS256"]
    private_jwk = get_default_algorithms()["EdDSA"].to_jwk(
        make_signer().private, as_dict=True
    )
    server.serve(
        ed.jwk,
        {"kty": "oct", "k": b64(b"secret" * 6), "kid": "oct", "alg": "HS256"},
        {**make_signer().jwk, "kid": "enc", "use": "enc"},
        {**make_signer().jwk, "kid": "ops", "key_ops": ["encrypt"]},
        {**private_jwk, "kid": "private"},
        {
            **rsa_alg.to_jwk(weak.public_key(), as_dict=True),
            "kid": "weak",
            "alg": "RS256",
        },
        {
            **get_default_algorithms()["ES384"].to_jwk(p384.public_key(), as_dict=True),
            "kid": "p384",
        },
        {**signers["RS256"].jwk, "kid": "disallowed"},
        {**make_signer().jwk, "kid": "twice"},
        {**make_signer().jwk, "kid": "twice"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "short"},
        {"kty": "OKP", "crv": "Ed25519", "x": "A"},
        "not a key",  # type: ignore[arg-type]
    )
    async with open_verifier(server, jwt_algorithms={"EdDSA"}) as verifier:
        assert await verifier.verify(ed.token())
        for kid in (
            "enc",
            "ops",
            "private",
            "twice",
            "short",
            "oct",
            "weak",
            "p384",
            "disallowed",
        ):
            await rejects(
                verifier,
                ed_signed(ed, {"alg": "EdDSA", "kid": kid}, good_claims()),
                "key_not_allowed",
            )
        await rejects(
            verifier,
            compact({"alg": "HS256", "kid": "oct"}, good_claims()),
            "alg_not_allowed",
        )
        assert verifier.fetch_count == 1


@pytest.mark.anyio
async def test_verify_key_turned_unusable_after_refetch_raises(
    ed: Signer, server: JWKSServer
) -> None:
    other = make_signer("EdDSA")
    monotonic = FakeClock(1000.0)
    async with open_verifier(server, monotonic=monotonic) as verifier:
        assert await verifier.warm()
        monotonic.now += 30
        server.serve(ed.jwk, {**other.jwk, "use": "enc"})
        await rejects(verifier, other.token(), "key_not_allowed")
        assert verifier.fetch_count == 2


@pytest.mark.anyio
async def test_aclose_keeps_injected_client_open(
    ed: Signer, server: JWKSServer
) -> None:
    async with httpx.AsyncClient() as client:
        async with open_verifier(server, client=client) as verifier:
            assert await verifier.verify(ed.token())
        assert not client.is_closed


@pytest.mark.anyio
async def test_aclose_closes_own_client_and_verifier_reopens(
    ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    async with open_verifier(server, monotonic=monotonic) as verifier:
        assert await verifier.warm()
        client = verifier._keyset._client
        await verifier.aclose()
        assert client is not None
        assert client.is_closed
        monotonic.now += 300
        assert await verifier.warm()
        assert verifier.fetch_count == 2


@pytest.mark.anyio
async def test_verify_injected_mock_transport_client_used(
    ed: Signer, server: JWKSServer
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={"keys": [ed.jwk]},
            headers={"Content-Type": "application/jwk-set+json"},
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with client, open_verifier(server, client=client) as verifier:
        assert await verifier.verify(ed.token())
    assert seen[0].headers["accept-encoding"] == "identity"
    assert server.hits == 0


@pytest.mark.anyio
async def test_verify_fetch_logs_redacted_url(
    ed: Signer, server: JWKSServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="fastapi_better_auth")
    secret_url = server.jwks_url.replace("http://", "http://user:pw@") + "?token=abc"
    async with open_verifier(
        server, jwks_url=secret_url, jwks_min_refresh_seconds=0
    ) as verifier:
        assert await verifier.warm()
        server.status = 500
        await rejects(verifier, make_signer().token(), "unknown_kid")
    assert server.jwks_url in caplog.text
    assert "pw" not in caplog.text.replace("jwks", "")
    assert "abc" not in caplog.text
    assert "better_auth.jwks_fetch_failed" in caplog.text


# --- keys and strict decoding -------------------------------------------------------------------


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


@pytest.mark.parametrize("value", ["AA=", "A", "A+", "A/", "AB", "AAB", "AAAAB", "é"])
def test_b64url_decode_non_canonical_raises(value: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(value)


@pytest.mark.parametrize(
    ("value", "raw"),
    [("", b""), ("AA", b"\x00"), ("AAE", b"\x00\x01"), ("-_8", b"\xfb\xff")],
)
def test_b64url_decode_canonical_returns_bytes(value: str, raw: bytes) -> None:
    assert b64url_decode(value) == raw


def test_loads_object_strict_json_rules() -> None:
    assert loads_object(b'{"a": {"b": [1]}}') == {"a": {"b": [1]}}
    for bad in (
        b'{"a":1,"a":1}',
        b'{"a":{"b":1,"b":2}}',
        b'{"a":Infinity}',
        b'{"a":-Infinity}',
        b"[]",
        b"\xc3",
    ):
        with pytest.raises(ValueError, match=r"\w"):
            loads_object(bad)


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


def test_cache_seconds_without_header_uses_setting(server: JWKSServer) -> None:
    settings = make_settings(server, jwks_cache_seconds=42)
    assert _cache_seconds(None, settings) == 42
    assert _cache_seconds("", settings) == 42
    assert _cache_seconds("MAX-AGE = 90", settings) == 90


@pytest.mark.anyio
async def test_verify_many_distinct_headers_bounded_cache(
    ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        for n in range(70):
            header = {"alg": "EdDSA", "kid": ed.kid, "n": n}
            assert await verifier.verify(ed_signed(ed, header, good_claims()))
            assert len(verifier._headers) <= 64


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"alg": "none", "kid": "k"}, "alg_not_allowed"),
        ({"alg": "HS256", "kid": "k"}, "alg_not_allowed"),
        ({"alg": "EdDSA", "kid": "k", "jku": "http://127.0.0.1:9/"}, "refused_header"),
        ({"alg": "EdDSA", "kid": "k", "crit": ["b64"], "b64": False}, "refused_header"),
        ({"alg": "EdDSA", "kid": "k", "typ": "at+jwt"}, "bad_typ"),
        ({"alg": "EdDSA", "kid": ""}, "no_kid"),
        (b'{"alg":"EdDSA","kid":"k","kid":"k"}', "malformed"),
        (b'{"alg":"EdDSA","kid":"k"} x', "malformed"),
    ],
)
async def test_verify_refused_header_never_cached(
    header: dict[str, Any] | bytes, reason: str, ed: Signer, server: JWKSServer
) -> None:
    token = ed_signed(ed, header, good_claims())
    async with open_verifier(server) as verifier:
        for _ in range(3):
            await rejects(verifier, token, reason)
            assert verifier._headers == {}
    assert server.hits == 0


@pytest.mark.anyio
async def test_verify_caches_a_header_only_once_its_signature_verified(
    ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        for n in range(70):  # acceptable headers under forged signatures flush nothing
            header = {"alg": "EdDSA", "kid": ed.kid, "n": n}
            head, body, _ = ed_signed(ed, header, good_claims()).split(".")
            await rejects(verifier, f"{head}.{body}.{b64(bytes(64))}", "bad_signature")
        assert verifier._headers == {}
        good = ed_signed(ed, {"alg": "EdDSA", "kid": ed.kid}, good_claims())
        assert await verifier.verify(good)
        assert list(verifier._headers) == [good.split(".")[0].encode()]


def _canonical_header(ed: Signer) -> tuple[dict[str, Any], str]:
    """An accepted header whose segment ends in a character with spare bits (length % 4 == 2 or 3)."""
    for size in range(4):
        header = {"alg": "EdDSA", "kid": ed.kid, "p": "x" * size}
        segment = b64(json.dumps(header).encode())
        if len(segment) % 4 in (2, 3):
            return header, segment
    raise AssertionError("unreachable: four lengths cover every residue")


@pytest.mark.anyio
async def test_verify_cached_header_serves_only_its_exact_segment(
    ed: Signer, server: JWKSServer
) -> None:
    header, segment = _canonical_header(ed)
    good = ed_signed(ed, header, good_claims())
    _, body, _ = good.split(".")
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    spare = alphabet[alphabet.index(segment[-1]) + 1]  # same bytes to a lenient decoder
    variants = [
        segment[:-1] + spare,
        segment + "=" * (-len(segment) % 4),
        " " + segment,
        segment + ".",
        segment.replace("e", "+", 1) if "e" in segment else "+" + segment,
    ]
    async with open_verifier(server) as verifier:
        assert await verifier.verify(good)
        assert list(verifier._headers) == [segment.encode()]
        for variant in variants:
            unsigned = f"{variant}.{body}"
            token = unsigned + "." + b64(ed.private.sign(unsigned.encode()))
            await rejects(verifier, token, "malformed")
        assert list(verifier._headers) == [segment.encode()]
        assert await verifier.verify(good)


def test_load_key_unsupported_by_cryptography_build_raises(
    ed: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(data: bytes) -> ed25519.Ed25519PublicKey:
        raise UnsupportedAlgorithm("no Ed25519 here")

    monkeypatch.setattr(ed25519.Ed25519PublicKey, "from_public_bytes", unsupported)
    with pytest.raises(ValueError, match="not supported"):
        load_key(ed.jwk)


# --- the verified-token cache -----------------------------------------------------------------


@pytest.mark.anyio
async def test_verify_same_token_again_returns_independent_claims(
    ed: Signer, server: JWKSServer
) -> None:
    token = ed.token(good_claims(aud=[ISSUER], profile={"tags": ["a"]}))
    async with open_verifier(server) as verifier:
        first = await verifier.verify(token)
        first["profile"]["tags"].append("admin")
        first["aud"].append("evil")
        second = await verifier.verify(token)
        second["sub"] = "someone-else"
        third = await verifier.verify(token)
    assert second["profile"] == {"tags": ["a"]}
    assert third == good_claims(aud=[ISSUER], profile={"tags": ["a"]})
    assert len(verifier._verified) == 1


@pytest.mark.anyio
async def test_verify_cached_token_expires_raises_and_is_forgotten(
    ed: Signer, server: JWKSServer
) -> None:
    clock = FakeClock(NOW + 10)
    token = ed.token()
    async with open_verifier(server, clock=clock) as verifier:
        assert await verifier.verify(token)
        clock.now = NOW + 906
        with pytest.raises(TokenExpiredError):
            await verifier.verify(token)
        assert verifier._verified == {}


@pytest.mark.anyio
async def test_verify_cached_token_key_unchanged_by_refresh_still_hits(
    ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    async with open_verifier(server, monotonic=monotonic) as verifier:
        token = ed.token()
        assert await verifier.verify(token)
        key = verifier._keyset.keys[ed.kid]
        monotonic.now += 300
        assert await verifier.verify(
            token
        )  # from the cache; starts a background refresh
        await refreshed(verifier)
        assert verifier.fetch_count == 2
        assert verifier._keyset.keys[ed.kid] is key
        assert await verifier.verify(token)


@pytest.mark.anyio
async def test_verify_cached_token_key_replaced_under_same_kid_raises(
    ed: Signer, server: JWKSServer
) -> None:
    monotonic = FakeClock(1000.0)
    async with open_verifier(server, monotonic=monotonic) as verifier:
        token = ed.token()
        assert await verifier.verify(token)
        server.serve(make_signer("EdDSA", kid=ed.kid).jwk)
        monotonic.now += 300
        assert await verifier.warm()
        await rejects(verifier, token, "bad_signature")


@pytest.mark.anyio
@pytest.mark.parametrize(("size", "kept"), [(1, 1), (2, 2)])
async def test_verify_token_cache_size_bounds_entries(
    size: int, kept: int, ed: Signer, server: JWKSServer
) -> None:
    async with open_verifier(server) as verifier:
        verifier._token_cache_size = size
        for n in range(3):
            assert await verifier.verify(ed.token(good_claims(name=str(n))))
        assert len(verifier._verified) == kept


@pytest.mark.anyio
async def test_verifier_token_cache_size_zero_disables_cache(
    ed: Signer, server: JWKSServer
) -> None:
    verifier = JWKSVerifier(
        make_settings(server), clock=FakeClock(NOW), token_cache_size=0
    )
    try:
        assert await verifier.verify(ed.token())
        assert await verifier.verify(ed.token())
        assert verifier._verified == {}
    finally:
        await verifier.aclose()


# --- fuzzing: any input is a valid token or an InvalidTokenError, nothing else ----------------

FUZZ_SIGNER = make_signer("EdDSA", kid="fuzz")
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
header_members = st.sampled_from(
    ["alg", "kid", "typ", "crit", "b64", "jku", "cty", "x"]
)
claim_names = st.sampled_from(["exp", "iat", "nbf", "sub", "iss", "aud", "x"])


def fuzz_verify(token: Any) -> None:
    """Verify with the fuzz key cached and refetches cooling down: no I/O at all."""
    config = BetterAuthSettings(
        url=ISSUER,
        database_url="sqlite:///unused.db",
        jwks_url="http://127.0.0.1:9/jwks",
        jwks_min_refresh_seconds=3600,
    )
    verifier = JWKSVerifier(config, clock=FakeClock(NOW + 10))
    verifier._keyset.keys = {"fuzz": load_key(FUZZ_SIGNER.jwk)}
    verifier._keyset.expires_at = math.inf
    verifier._keyset._last_attempt = time.monotonic()
    try:
        claims = asyncio.run(verifier.verify(token))
    except InvalidTokenError:
        return
    assert claims["iss"] == ISSUER


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=300)
    | st.from_regex(
        r"[A-Za-z0-9_-]{1,80}\.[A-Za-z0-9_-]{1,80}\.[A-Za-z0-9_-]{1,90}", fullmatch=True
    )
)
def test_verify_any_text_raises_only_invalid_token(token: str) -> None:
    fuzz_verify(token)


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(header_members, json_values | st.just("EdDSA") | st.just("fuzz")),
    st.dictionaries(claim_names, json_values | st.just(ISSUER) | st.just(int(NOW))),
)
def test_verify_any_signed_json_raises_only_invalid_token(
    header: dict[str, Any], payload: dict[str, Any]
) -> None:
    fuzz_verify(ed_signed(FUZZ_SIGNER, header, payload))
    fuzz_verify(
        ed_signed(FUZZ_SIGNER, {**header, "alg": "EdDSA", "kid": "fuzz"}, payload)
    )


@pytest.mark.anyio
async def test_never_mode_identity_is_built_once_per_token_and_never_outlives_it(
    ed: Signer, server: JWKSServer
) -> None:
    """The frozen identity of a token is reused only after the verifier accepted it again."""
    from fastapi_better_auth._identity import Authenticator
    from fastapi_better_auth.models import get_models

    async def no_reads(*_args: Any) -> Any:
        raise AssertionError("freshness='never' reads no row")

    clock = FakeClock(NOW + 10)
    token = ed.token(good_claims(email="a@example.com", role="admin"))
    settings = make_settings(server, freshness="never")
    async with open_verifier(server, clock=clock, freshness="never") as verifier:
        authenticator = Authenticator(settings, verifier, no_reads, get_models())
        first = await authenticator.from_jwt(token)
        assert first.user.email == "a@example.com" and first.user.roles == {"admin"}
        assert await authenticator.from_jwt(token) is first
        other = await authenticator.from_jwt(
            ed.token(good_claims(email="b@example.com"))
        )
        assert other.user.email == "b@example.com"
        clock.now = NOW + 906
        with pytest.raises(TokenExpiredError):
            await authenticator.from_jwt(token)
