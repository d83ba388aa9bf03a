"""What a token's header and claims must say (``_jwks/_claims.py``), through the verifier."""

import json
from typing import Any

import pytest

from fastapi_better_auth._errors import (
    TokenExpiredError,
)
from fastapi_better_auth._testing_server import JWKSServer
from tests.unit.jwks_support import (
    ISSUER,
    NOW,
    FakeClock,
    Signer,
    compact,
    ed_signed,
    good_claims,
    make_signer,
    open_verifier,
    rejects,
)


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
        (
            {"nbf": None},
            "bad_claim",
        ),  # a NumericDate or absent, as jose and PyJWT read it
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
