"""The JWKS key set (``_jwks/_keyset.py``) against a real JWKS server on loopback: fetch, cache, refresh."""

import asyncio
import json
import logging
import secrets
from typing import Any

import anyio
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import get_default_algorithms

from fastapi_better_auth._errors import (
    InvalidTokenError,
    JWKSUnavailableError,
)
from fastapi_better_auth._jwks._keyset import _cache_seconds
from fastapi_better_auth._testing_server import JWKSServer, running_jwks_server
from tests.unit.jwks_support import (
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
    wait_for_hits,
)


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


def test_cache_seconds_without_header_uses_setting(server: JWKSServer) -> None:
    settings = make_settings(server, jwks_cache_seconds=42)
    assert _cache_seconds(None, settings) == 42
    assert _cache_seconds("", settings) == 42
    assert _cache_seconds("MAX-AGE = 90", settings) == 90
