"""Property-based tests: the token header parser, the cookie signature, roles and pagination.

Each property states what the code must do for *every* input, with an oracle where one is
short enough to write. Examples per test come from the ``hardening`` Hypothesis profile
(``FUZZ_LONG=1`` selects ``hardening-long``).
"""

import base64
import contextlib
import json
import os
import string
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import assume, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fastapi_better_auth._cookies import (
    bearer_session_token,
    sign_token,
    verify_signed_token,
)
from fastapi_better_auth._errors import InvalidTokenError
from fastapi_better_auth._jwks import (
    MAX_KID_LENGTH,
    JWKSVerifier,
    b64url_decode,
    loads_object,
)
from fastapi_better_auth._jwks._claims import check_header
from fastapi_better_auth._policy import join_roles, parse_roles
from fastapi_better_auth._settings import BetterAuthSettings
from tests.hardening.conftest import World, assert_error_shape, bearer

PROFILE = hypothesis_settings.get_profile(
    "hardening-long" if os.environ.get("FUZZ_LONG") == "1" else "hardening"
)
ALLOWED = frozenset({"EdDSA", "ES256"})
REFUSED_MEMBERS = frozenset({"jku", "jwk", "x5u", "x5c", "crit", "zip", "cty"})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def header_verifier() -> JWKSVerifier:
    settings = BetterAuthSettings(
        url="http://127.0.0.1:3005",
        database_url="sqlite:///unused.db",
        jwt_algorithms=frozenset({"Ed25519", "ES256"}),
    )
    return JWKSVerifier(settings)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)
header_names = st.sampled_from(
    [
        "alg",
        "kid",
        "typ",
        "b64",
        "crit",
        "jku",
        "jwk",
        "x5u",
        "x5c",
        "zip",
        "cty",
        "enc",
        "x",
    ]
)
header_values = (
    json_values
    | st.sampled_from(
        [
            "EdDSA",
            "Ed25519",
            "ES256",
            "RS256",
            "none",
            "HS256",
            "JWT",
            "jwt",
            "application/jwt",
            "at+jwt",
        ]
    )
    | st.text(string.ascii_letters, min_size=1, max_size=MAX_KID_LENGTH + 2)
)


def header_acceptable(header: dict[str, Any]) -> bool:
    """The oracle: what ``_check_header`` must accept, from the documented rules."""
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    alg_ok = isinstance(alg, str) and {"Ed25519": "EdDSA"}.get(alg, alg) in ALLOWED
    typ_ok = typ is None or (
        isinstance(typ, str) and typ.lower() in {"jwt", "application/jwt"}
    )
    kid_ok = isinstance(kid, str) and 0 < len(kid) <= MAX_KID_LENGTH
    b64_ok = header.get("b64", True) is True
    return (
        alg_ok and typ_ok and kid_ok and b64_ok and REFUSED_MEMBERS.isdisjoint(header)
    )


@hypothesis_settings(PROFILE)
@given(st.dictionaries(header_names, header_values, max_size=6))
@example({"alg": "EdDSA", "kid": "k"})
@example({"alg": "Ed25519", "kid": "k", "typ": "JWT", "b64": True})
@example({"alg": "EdDSA", "kid": "k", "b64": 1})
@example({"alg": "EdDSA", "kid": "k" * MAX_KID_LENGTH})
def test_check_header_any_header_accepted_exactly_by_the_rules(
    header: dict[str, Any],
) -> None:
    import json

    segment = b64(json.dumps(header).encode())
    verifier = header_verifier()
    try:
        alg, kid = check_header(segment, verifier._algorithms)
    except InvalidTokenError:
        assert not header_acceptable(header), header
        return
    assert header_acceptable(header), header
    assert alg in ALLOWED and kid == header["kid"]


@hypothesis_settings(PROFILE)
@given(st.binary(max_size=2100))
def test_check_header_any_bytes_raise_only_invalid_token(raw: bytes) -> None:
    with contextlib.suppress(InvalidTokenError):
        check_header(b64(raw), header_verifier()._algorithms)


@hypothesis_settings(PROFILE)
@given(st.binary(max_size=200))
def test_b64url_decode_canonical_encoding_round_trips(raw: bytes) -> None:
    encoded = b64(raw)
    assert b64url_decode(encoded) == raw


@hypothesis_settings(PROFILE)
@given(st.binary(min_size=1, max_size=200), st.sampled_from(["pad", "std", "space"]))
def test_b64url_decode_other_encodings_raise_value_error(raw: bytes, form: str) -> None:
    standard = base64.b64encode(raw).decode()
    if form == "pad":
        text = base64.urlsafe_b64encode(raw).decode()
        assume("=" in text)
    elif form == "std":
        text = standard.rstrip("=")
        assume("+" in text or "/" in text)
    else:
        text = b64(raw)[:1] + " " + b64(raw)[1:]
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(text)


#: The base64url alphabet, what standard base64 adds (``+/=``), separators, whitespace, non-ASCII.
FOREIGN = [
    "+",
    "/",
    "=",
    ".",
    " ",
    "\n",
    "!",
    "\x00",
    "\x7f",
    "\u00e9",
    "\u0100",
    "\U0001f600",
]
base64url_like = st.text(
    st.sampled_from([*string.ascii_letters, *string.digits, "-", "_", *FOREIGN]),
    max_size=40,
)


def b64url_oracle(text: str) -> bytes | None:
    """What strict base64url must accept: its alphabet only, no padding, the canonical encoding."""
    if not set(text) <= set(string.ascii_letters + string.digits + "-_"):
        return None
    if len(text) % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return raw if b64(raw) == text else None


@hypothesis_settings(PROFILE)
@given(base64url_like | st.binary(max_size=40).map(b64))
@example("AA=")
@example("A+B/")
@example("QQ")
@example("QR")
@example("QUE")
@example("QUF")
@example("AA.A")
@example("AAAA!")
def test_b64url_decode_accepts_exactly_canonical_base64url(text: str) -> None:
    expected = b64url_oracle(text)
    if expected is None:
        with pytest.raises(ValueError, match="base64url"):
            b64url_decode(text)
    else:
        assert b64url_decode(text) == expected


json_texts = st.one_of(
    st.dictionaries(st.text(max_size=5), json_values, max_size=4).map(json.dumps),
    st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), json_scalars), max_size=4).map(
        lambda pairs: (
            "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}"
        )
    ),
    st.text(st.sampled_from(list('{}[]":,01aeflnrstu\\ -.eE')), max_size=16),
)


def _strict_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({name for name, _ in pairs}) != len(pairs):
        raise ValueError("duplicate member")
    return dict(pairs)


def _strict_constant(name: str) -> Any:
    raise ValueError(name)


@hypothesis_settings(PROFILE)
@given(
    json_texts,
    st.sampled_from(["", " ", "\n", "\t\r "]),
    st.sampled_from(["", " ", "\n", "x"]),
)
def test_loads_object_agrees_with_a_strict_json_module_parse(
    text: str, before: str, after: str
) -> None:
    document = before + text + after
    try:
        expected = json.loads(
            document, object_pairs_hook=_strict_pairs, parse_constant=_strict_constant
        )
    except ValueError:
        expected = None
    if not isinstance(expected, dict):
        with pytest.raises(ValueError, match=r"\w"):
            loads_object(document.encode())
    else:
        assert loads_object(document.encode()) == expected


# --- cookie signature ----------------------------------------------------------------------

no_surrogates = st.text(
    st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=80
)
secrets_ = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=64)


@hypothesis_settings(PROFILE)
@given(no_surrogates, secrets_)
def test_verify_signed_token_url_encoded_cookie_returns_the_token(
    token: str, secret: str
) -> None:
    """``Set-Cookie`` carries ``encodeURIComponent(token.sig)``; reading it gives back the token."""
    assume("%" not in token)
    cookie = quote(sign_token(token, secret), safe="")
    assert verify_signed_token(cookie, secret) == token


@hypothesis_settings(PROFILE)
@given(no_surrogates, secrets_, secrets_)
def test_verify_signed_token_other_secret_returns_none(
    token: str, secret: str, other: str
) -> None:
    assume(secret != other)
    assert verify_signed_token(sign_token(token, secret), other) is None


@hypothesis_settings(PROFILE)
@given(st.text(max_size=300), st.none() | secrets_)
def test_bearer_session_token_result_is_none_raw_or_verified(
    value: str, secret: str | None
) -> None:
    """Never an invented value: ``None``, the raw token as sent, or a token whose HMAC checks."""
    result = bearer_session_token(value, secret)
    if result is None:
        return
    if result == value:
        assert 1 <= len(value) <= 255
        assert set(value) <= set(string.ascii_letters + string.digits + "_-")
    else:
        assert secret is not None
        assert verify_signed_token(value, secret) == result


cookie_bytes = st.binary(max_size=400).filter(
    lambda b: b"\r" not in b and b"\n" not in b
)
cookie_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    | st.sampled_from(["%", "=", ";", ".", "\x00", "é"]),
    max_size=300,
)


@hypothesis_settings(PROFILE)
@given(cookie_text | cookie_bytes.map(lambda b: b.decode("latin-1")))
@example("better-auth.session_token=%")
@example("better-auth.session_token=a.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
@example("__Secure-better-auth.session_token=%ff%fe.")
@pytest.mark.postgres
def test_http_any_session_cookie_answers_401_or_200_never_5xx(
    client: TestClient, world: World, value: str
) -> None:
    if not value.startswith(("better-auth.session_token=", "__Secure-")):
        value = "better-auth.session_token=" + value
    response = client.get(
        "/me", headers=[(b"cookie", value.encode("latin-1", "replace"))]
    )
    if response.status_code == 200:  # only a correctly signed token of a real session
        assert response.json()["id"] in {world.alice.id, world.root.id}
        return
    assert_error_shape(response, 401)


@hypothesis_settings(PROFILE)
@given(
    st.binary(max_size=300).filter(lambda b: b"\r" not in b and b"\n" not in b)
    | st.text(string.ascii_letters + string.digits + "-_.%=+/ ", max_size=300).map(
        str.encode
    )
)
@pytest.mark.postgres
def test_http_any_bearer_value_answers_401_never_5xx(
    client: TestClient, value: bytes
) -> None:
    response = client.get("/me", headers=[(b"authorization", b"Bearer " + value)])
    assert_error_shape(response, 401)


# --- roles -----------------------------------------------------------------------------

role_names = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters=","), max_size=20
)


@hypothesis_settings(PROFILE)
@given(st.lists(role_names, max_size=8))
def test_join_roles_then_parse_roles_keeps_every_non_blank_role(
    roles: list[str],
) -> None:
    joined = join_roles(roles)
    assert parse_roles(joined) == {role.strip() for role in roles if role.strip()}
    assert join_roles(joined.split(",")) == joined  # idempotent
    assert (
        ", " not in joined and not joined.startswith(",") and not joined.endswith(",")
    )


@hypothesis_settings(PROFILE)
@given(st.text(max_size=200) | st.none())
def test_parse_roles_any_text_splits_exactly_as_better_auth(role: str | None) -> None:
    roles = parse_roles(role)
    assert roles == (set(role.split(",")) if role else set())
    assert all("," not in name for name in roles)


# --- pagination of GET /api/v1/users ----------------------------------------------------

page_numbers = (
    st.integers(-5, 10)
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64])
).map(str) | st.sampled_from(["", "1.5", "1e3", "abc", " 1", "0x10", "-0", "١", "NaN"])


@hypothesis_settings(PROFILE)
@given(st.none() | page_numbers, st.none() | page_numbers)
@example(None, str(2**63 - 1))
@example("100", "0")
@pytest.mark.postgres
def test_http_users_any_limit_and_offset_answer_200_or_422(
    client: TestClient, world: World, limit: str | None, offset: str | None
) -> None:
    if "/api/v1/users" not in client.app.openapi()["paths"]:  # type: ignore[attr-defined]
        pytest.skip("GET /api/v1/users is not mounted yet")
    params = {
        name: value
        for name, value in (("limit", limit), ("offset", offset))
        if value is not None
    }
    response = client.get(
        "/api/v1/users", params=params, headers=bearer(world.root_session.token)
    )
    assert response.status_code in (200, 422), (
        params,
        response.status_code,
        response.text[:300],
    )
    if response.status_code == 422:
        assert "Traceback" not in response.text
        return
    page = response.json()
    assert page["limit"] >= 1 and page["offset"] >= 0
    assert len(page["users"]) <= page["limit"]
    assert page["total"] == 2
    assert len(page["users"]) == max(0, min(page["limit"], 2 - page["offset"]))
