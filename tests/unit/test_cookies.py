"""Better-Auth's signed session token, checked against values a real Better-Auth 1.7.25 emitted."""

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth._cookies import (
    bearer_session_token,
    looks_like_jwt,
    sign_token,
    verify_signed_token,
)

SHARED = (
    Path(__file__).parents[1] / "data"
)  # copies of what Better-Auth 1.7.25 produced
SECRET = "test-secret-0123456789abcdef0123456789abcdef"
COOKIES_TXT = (SHARED / "cookies.txt").read_text()
GET_SESSION = json.loads((SHARED / "get-session.json").read_text())
SAMPLE_JWT = json.loads((SHARED / "jwt-sample.json").read_text())["token_endpoint"][
    "body"
]["token"]

#: ``set-auth-token`` headers (signed, not URL-encoded), as Better-Auth sent them.
SET_AUTH_TOKENS = re.findall(r"^set-auth-token: (\S+)$", COOKIES_TXT, re.MULTILINE)
#: Signed ``Set-Cookie`` values (URL-encoded), as Better-Auth sent them.
SET_COOKIES = [
    (name, value)
    for name, value in re.findall(
        r"^set-cookie: better-auth\.(\w+)=([^;]+);", COOKIES_TXT, re.MULTILINE
    )
    if name
    != "session_data"  # the cookie cache: signed differently, not by this module
]
#: The HMAC table of cookies.txt §4: raw value -> signature.
HMAC_TABLE = re.findall(r"^  '([^']*)'\s+-> (\S+)", COOKIES_TXT, re.MULTILINE)

tokens = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="%"),
    min_size=1,
    max_size=200,
)


def test_sample_values_found() -> None:
    assert len(SET_AUTH_TOKENS) == 5
    assert len(HMAC_TABLE) == 6
    assert {name for name, _ in SET_COOKIES} == {
        "session_token",
        "admin_session",
        "dont_remember",
    }
    assert len(SET_COOKIES) == 8


@pytest.mark.parametrize(("raw", "signature"), HMAC_TABLE)
def test_sign_token_better_auth_samples_match(raw: str, signature: str) -> None:
    assert sign_token(raw, SECRET) == f"{raw}.{signature}"


@pytest.mark.parametrize("header", SET_AUTH_TOKENS)
def test_verify_signed_token_set_auth_token_returns_raw(header: str) -> None:
    raw = header.rpartition(".")[0]
    assert verify_signed_token(header, SECRET) == raw
    assert len(raw) == 32


@pytest.mark.parametrize(("name", "value"), SET_COOKIES)
def test_verify_signed_token_url_encoded_cookie_returns_raw(
    name: str, value: str
) -> None:
    raw = verify_signed_token(value, SECRET)
    expected = {
        "admin_session": "qcVAby9ffT7W2mLlM8iFvV3l8Xt72PGc:",
        "dont_remember": "true",
    }
    assert raw == expected.get(name, raw)
    assert raw is not None
    assert value.startswith(quote(raw, safe=""))


def test_verify_signed_token_get_session_cookie_returns_session_token() -> None:
    cookie = GET_SESSION["with_cookie"]["request"]["headers"]["cookie"]
    name, _, value = cookie.partition("=")
    assert name == "better-auth.session_token"
    assert (
        verify_signed_token(value, SECRET)
        == GET_SESSION["with_cookie"]["body"]["session"]["token"]
    )


def test_bearer_session_token_get_session_forms_return_same_token() -> None:
    token = GET_SESSION["with_cookie"]["body"]["session"]["token"]
    for case in ("with_bearer_raw_token", "with_bearer_signed_token"):
        bearer = GET_SESSION[case]["request"]["headers"]["authorization"].removeprefix(
            "Bearer "
        )
        assert not looks_like_jwt(bearer)
        assert bearer_session_token(bearer, SECRET) == token


@pytest.mark.parametrize(
    "value",
    [
        "qcVAby9ffT7W2mLlM8iFvV3l8Xt72PGc.MPGoacMAKrPHbgEifhrY/Fv7zuSbWJvMSoAmHq09fwV=",
        "qcVAby9ffT7W2mLlM8iFvV3l8Xt72PGd.MPGoacMAKrPHbgEifhrY/Fv7zuSbWJvMSoAmHq09fwU=",
        "qcVAby9ffT7W2mLlM8iFvV3l8Xt72PGc.MPGoacMAKrPHbgEifhrY%2FFv7zuSbWJvMSoAmHq09fwV%3D",
        ".MPGoacMAKrPHbgEifhrY/Fv7zuSbWJvMSoAmHq09fwU=",
    ],
)
def test_bearer_session_token_bad_signature_returns_none(value: str) -> None:
    assert bearer_session_token(value, SECRET) is None
    assert verify_signed_token(value, SECRET) is None


def test_bearer_session_token_signed_without_secret_returns_none() -> None:
    assert bearer_session_token(SET_AUTH_TOKENS[0], None) is None
    assert bearer_session_token(SET_AUTH_TOKENS[0], "") is None


@pytest.mark.parametrize(
    "value",
    ["", "a.b", "to ken", "tok/en", "x" * 256, "raw.token.with.dots", "é", SAMPLE_JWT],
)
def test_bearer_session_token_not_a_session_token_returns_none(value: str) -> None:
    assert bearer_session_token(value, SECRET) is None


@pytest.mark.parametrize(
    "value",
    ["qcVAby9ffT7W2mLlM8iFvV3l8Xt72PGc", "a", "uuid-like_token-0123", "x" * 255],
)
def test_bearer_session_token_raw_token_returned_as_is(value: str) -> None:
    assert bearer_session_token(value, SECRET) == value
    assert bearer_session_token(value, None) == value


@pytest.mark.parametrize(
    "secret",
    [
        "test-secret-0123456789abcdef0123456789abcdeF",
        "",
        "test-secret-0123456789abcdef0123456789abcde",
    ],
)
def test_verify_signed_token_other_secret_returns_none(secret: str) -> None:
    assert verify_signed_token(SET_AUTH_TOKENS[0], secret) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        ".",
        "token",
        "token.",
        "token.short=",
        "token." + "A" * 44,  # no "=" at the end
        "token." + "A" * 43 + "é",
        "token." + "A" * 45 + "=",
        "t" * 5000 + "." + "A" * 43 + "=",
    ],
)
def test_verify_signed_token_wrong_shape_returns_none(value: str) -> None:
    assert verify_signed_token(value, SECRET) is None


@pytest.mark.parametrize("value", [None, 5, b"token.sig", ["a"]])
def test_cookie_functions_non_string_input_return_none_or_false(value: Any) -> None:
    assert verify_signed_token(value, SECRET) is None
    assert bearer_session_token(value, SECRET) is None
    assert looks_like_jwt(value) is False
    assert verify_signed_token(SET_AUTH_TOKENS[0], value) is None


def test_verify_signed_token_lone_surrogate_returns_none() -> None:
    assert verify_signed_token("tok\ud800en." + "A" * 43 + "=", SECRET) is None


def test_sign_token_empty_secret_raises() -> None:
    with pytest.raises(ValueError, match="secret"):
        sign_token("token", "")


@pytest.mark.parametrize(
    ("url", "prefix", "secure", "name"),
    [
        ("http://127.0.0.1:3005", "better-auth", None, "better-auth.session_token"),
        (
            "https://a.example",
            "better-auth",
            None,
            "__Secure-better-auth.session_token",
        ),
        ("https://a.example", "my-app", None, "__Secure-my-app.session_token"),
        ("http://127.0.0.1:3005", "my-app", True, "__Secure-my-app.session_token"),
        ("https://a.example", "better-auth", False, "better-auth.session_token"),
    ],
)
def test_session_cookie_name_follows_better_auth(
    url: str, prefix: str, secure: bool | None, name: str
) -> None:
    settings = BetterAuthSettings.load(
        url=url,
        database_url="sqlite:///x.db",
        cookie_prefix=prefix,
        secure_cookies=secure,
    )
    assert settings.session_cookie_name == name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SAMPLE_JWT, True),
        ("eyJ.a.b", True),
        ("eyJ.a", False),
        ("eyJ.a.b.c", False),
        ("abc.def.ghi", False),
        (SET_AUTH_TOKENS[0], False),
        ("qcVAby9ffT7W2mLlM8iFvV3l8Xt72PGc", False),
    ],
)
def test_looks_like_jwt_by_shape(value: str, expected: bool) -> None:
    assert looks_like_jwt(value) is expected


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=50)))
def test_cookie_functions_any_text_never_raise(value: str, secret: str | None) -> None:
    verify_signed_token(value, secret or SECRET)
    bearer_session_token(value, secret)
    looks_like_jwt(value)


@given(
    tokens, st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=64)
)
def test_sign_then_verify_returns_token(token: str, secret: str) -> None:
    signed = sign_token(token, secret)
    assert verify_signed_token(signed, secret) == token
    assert verify_signed_token(quote(signed, safe=""), secret) == token


@given(tokens, st.data())
def test_verify_signed_token_any_tampering_returns_none(
    token: str, data: st.DataObject
) -> None:
    signed = sign_token(token, SECRET)
    index = data.draw(st.integers(0, len(signed) - 1))
    replacement = data.draw(
        st.characters(exclude_categories=["Cs"]).filter(lambda c: c != signed[index])
    )
    tampered = signed[:index] + replacement + signed[index + 1 :]
    assert verify_signed_token(tampered, SECRET) is None
    assert verify_signed_token(signed[:index] + signed[index + 1 :], SECRET) is None
