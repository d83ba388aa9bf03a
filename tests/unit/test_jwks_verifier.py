"""JWKSVerifier (``_jwks/_verifier.py``): signatures, the compact form, the header and token caches."""

import asyncio
import hashlib
import hmac
import json
import logging
import math
import string
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fastapi_better_auth._errors import (
    InvalidTokenError,
    TokenExpiredError,
)
from fastapi_better_auth._jwks import MAX_TOKEN_LENGTH, JWKSVerifier
from fastapi_better_auth._jwks._jose import b64url_decode
from fastapi_better_auth._jwks._keys import load_key
from fastapi_better_auth._settings import BetterAuthSettings
from fastapi_better_auth._testing_server import JWKSServer
from tests.unit.jwks_support import (
    ALL_ALGORITHMS,
    ISSUER,
    NOW,
    SAMPLE,
    FakeClock,
    Signer,
    b64,
    compact,
    ed_signed,
    good_claims,
    make_settings,
    make_signer,
    open_verifier,
    refreshed,
    rejects,
)


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


async def _decision(verifier: JWKSVerifier, token: str) -> str:
    try:
        await verifier.verify(token)
    except InvalidTokenError as error:
        return getattr(error, "reason", type(error).__name__)
    return "ok"


@pytest.mark.anyio
@pytest.mark.parametrize("nbf", [..., int(NOW) + 30])
@pytest.mark.parametrize("leeway", [0, 30])
async def test_verify_cached_token_decides_as_an_uncached_one_at_every_edge(
    ed: Signer, server: JWKSServer, nbf: Any, leeway: int
) -> None:
    """A cache hit compares the claims' validity window instead of re-checking them: at each
    instant around iat, nbf and exp (± the leeway) it decides as a fresh verification does."""
    token = ed.token(good_claims(nbf=nbf))
    edges = [int(NOW), int(NOW) + 30, int(NOW) + 900]
    instants = sorted(
        {e + d for e in edges for d in (-leeway, leeway) for d in (d - 1, d, d + 1)}
    )
    cached_clock = FakeClock(NOW + 60)  # cached while valid, then moved to each instant
    async with open_verifier(
        server, clock=cached_clock, jwt_leeway_seconds=leeway
    ) as cached:
        assert await _decision(cached, token) == "ok"
        for instant in instants:
            cached_clock.now = NOW + 60
            if token not in cached._verified:  # forgotten by a refusal: cache it again
                assert await _decision(cached, token) == "ok"
            cached_clock.now = instant
            async with open_verifier(
                server, clock=FakeClock(instant), jwt_leeway_seconds=leeway
            ) as fresh:
                assert await _decision(cached, token) == await _decision(
                    fresh, token
                ), instant


@pytest.mark.anyio
async def test_verify_without_copy_gives_the_cached_claims_read_only(
    ed: Signer, server: JWKSServer
) -> None:
    """``copy=False`` (the authenticator's read-only use) hands out the cached dict itself."""
    token = ed.token()
    async with open_verifier(server) as verifier:
        first = await verifier.verify(token, copy=False)
        assert await verifier.verify(token, copy=False) is verifier._verified[token][2]
        assert await verifier.verify(token) is not verifier._verified[token][2]
    assert first == good_claims()


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
async def test_still_accepts_follows_the_key_and_the_time_window_as_a_cache_hit_does(
    ed: Signer, server: JWKSServer
) -> None:
    """What the repeat cache asks of a token verify() kept: its key still published (a due
    refresh started, as by verify) and its window open; every no is what verify() answers."""
    clock, monotonic = FakeClock(NOW + 10), FakeClock(1000.0)
    async with open_verifier(server, clock=clock, monotonic=monotonic) as verifier:
        token = ed.token()
        assert verifier.seen(token) is None
        await verifier.verify(token)
        seen = verifier.seen(token)
        assert seen is not None
        answers = [verifier.still_accepts(seen)]
        clock.now = NOW + 900 + 61  # past exp and the default leeway
        answers.append(verifier.still_accepts(seen))
        await rejects_expired(verifier, token)
        clock.now = NOW + 10
        monotonic.now += 300  # the key cache is due: refreshed, the key replaced
        server.serve(make_signer("EdDSA", kid=ed.kid).jwk)
        answers.append(verifier.still_accepts(seen))
        await refreshed(verifier)
        answers.append(verifier.still_accepts(seen))
        await rejects(verifier, token, "bad_signature")
    assert answers == [True, False, True, False]
    assert verifier.fetch_count == 2


async def rejects_expired(verifier: JWKSVerifier, token: str) -> None:
    with pytest.raises(TokenExpiredError):
        await verifier.verify(token)
