"""Credential extraction from plain request values: no FastAPI, no request, no database."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth._credentials import (
    PresentedCredential,
    check_origin,
    present,
)
from fastapi_better_auth._errors import (
    CsrfError,
    InvalidSessionError,
    InvalidTokenError,
)
from fastapi_better_auth.testing import TokenIssuer, session_cookie

SECRET = "test-secret-0123456789abcdef0123456789abcdef"
RAW = "A" * 32
JWT = TokenIssuer().mint({"id": "u1"})


def settings_for(
    url: str = "http://app.example.com", **overrides: Any
) -> BetterAuthSettings:
    values: dict[str, Any] = {
        "url": url,
        "secret": SECRET,
        "database_url": "sqlite+aiosqlite:///unused.db",
        **overrides,
    }
    return BetterAuthSettings.load(**values)


PLAIN = settings_for()


@dataclass(frozen=True)
class Values:
    """A request as plain values: what ``present`` reads of Starlette's request."""

    method: str
    headers: Mapping[str, str]
    cookies: Mapping[str, str]


def extract(
    settings: BetterAuthSettings,
    method: str,
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
) -> PresentedCredential | None:
    return present(settings, Values(method, headers, cookies))


def test_present_no_header_no_cookie_returns_none() -> None:
    assert extract(PLAIN, "GET", {}, {}) is None
    assert extract(PLAIN, "POST", {"origin": "https://evil.example"}, {}) is None


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_present_bearer_jwt_any_scheme_case_returns_jwt(scheme: str) -> None:
    headers = {"authorization": f"{scheme} {JWT}"}
    assert extract(PLAIN, "GET", headers, {}) == ("jwt", JWT)


def test_present_bearer_surrounding_spaces_are_stripped() -> None:
    headers = {"authorization": f"Bearer   {JWT}  "}
    assert extract(PLAIN, "GET", headers, {}) == ("jwt", JWT)


def test_present_bearer_raw_session_token_returns_it() -> None:
    credential = extract(PLAIN, "GET", {"authorization": f"Bearer {RAW}"}, {})
    assert credential == ("bearer", RAW)


def test_present_bearer_signed_session_token_returns_the_raw_token() -> None:
    _, signed = session_cookie(RAW, SECRET)
    credential = extract(PLAIN, "GET", {"authorization": f"Bearer {signed}"}, {})
    assert credential == ("bearer", RAW)


def test_present_bearer_signed_with_another_secret_raises_invalid_session() -> None:
    _, signed = session_cookie(RAW, "another-secret-0123456789abcdef0123456789")
    with pytest.raises(InvalidSessionError):
        extract(PLAIN, "GET", {"authorization": f"Bearer {signed}"}, {})


def test_present_bearer_signed_without_a_secret_raises_invalid_session() -> None:
    _, signed = session_cookie(RAW, SECRET)
    no_secret = settings_for(secret=None)
    with pytest.raises(InvalidSessionError):
        extract(no_secret, "GET", {"authorization": f"Bearer {signed}"}, {})
    # a raw token needs no secret
    assert extract(no_secret, "GET", {"authorization": f"Bearer {RAW}"}, {}) == (
        "bearer",
        RAW,
    )


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer    ", f"Basic {RAW}", RAW, f"Token {JWT}", ""],
)
def test_present_malformed_authorization_raises_invalid_token(header: str) -> None:
    with pytest.raises(InvalidTokenError) as info:
        extract(PLAIN, "GET", {"authorization": header}, {})
    assert info.value.message == "The Authorization header must be 'Bearer <token>'."


@pytest.mark.parametrize("value", ["not a token!", "x" * 256, "a.b", "é" * 8])
def test_present_bearer_neither_jwt_nor_session_token_raises_invalid_session(
    value: str,
) -> None:
    with pytest.raises(InvalidSessionError):
        extract(PLAIN, "GET", {"authorization": f"Bearer {value}"}, {})


def test_present_authorization_header_is_judged_alone() -> None:
    """A bad header is refused even next to a valid cookie (Better-Auth reads the header first)."""
    name, value = session_cookie(RAW, SECRET)
    with pytest.raises(InvalidTokenError):
        extract(PLAIN, "GET", {"authorization": "Basic x"}, {name: value})
    headers = {"authorization": f"Bearer {JWT}"}
    assert extract(PLAIN, "GET", headers, {name: value}) == ("jwt", JWT)


def test_present_signed_cookie_returns_the_raw_token() -> None:
    name, value = session_cookie(RAW, SECRET)
    assert name == "better-auth.session_token"
    assert extract(PLAIN, "GET", {}, {name: value}) == ("cookie", RAW)


def test_present_cookie_with_a_bad_signature_raises_invalid_session() -> None:
    name, value = session_cookie(RAW, "another-secret-0123456789abcdef0123456789")
    with pytest.raises(InvalidSessionError):
        extract(PLAIN, "GET", {}, {name: value})
    with pytest.raises(InvalidSessionError):
        extract(PLAIN, "GET", {}, {name: RAW})  # unsigned


def test_present_cookie_without_a_secret_raises_and_logs_the_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    name, value = session_cookie(RAW, SECRET)
    with caplog.at_level(logging.WARNING), pytest.raises(InvalidSessionError) as info:
        extract(settings_for(secret=None), "GET", {}, {name: value})
    assert "BETTER_AUTH_SECRET" in info.value.message
    assert "better_auth.cookie_without_secret" in caplog.messages
    assert value not in caplog.text


def test_present_https_reads_only_the_secure_prefixed_cookie() -> None:
    """On https Better-Auth sets and reads ``__Secure-better-auth.session_token`` alone."""
    https = settings_for("https://app.example.com")
    plain_name, value = session_cookie(RAW, SECRET)
    secure_name, _ = session_cookie(RAW, SECRET, secure=True)
    assert secure_name == "__Secure-better-auth.session_token"
    assert extract(https, "GET", {}, {plain_name: value}) is None
    assert extract(https, "GET", {}, {secure_name: value}) == ("cookie", RAW)


def test_present_http_reads_only_the_plain_cookie() -> None:
    plain_name, value = session_cookie(RAW, SECRET)
    secure_name, _ = session_cookie(RAW, SECRET, secure=True)
    assert extract(PLAIN, "GET", {}, {secure_name: value}) is None
    assert extract(PLAIN, "GET", {}, {plain_name: value}) == ("cookie", RAW)


def test_present_secure_cookies_setting_overrides_the_scheme_rule() -> None:
    secure_name, value = session_cookie(RAW, SECRET, secure=True)
    forced = settings_for(secure_cookies=True)
    assert extract(forced, "GET", {}, {secure_name: value}) == ("cookie", RAW)
    plain_name, _ = session_cookie(RAW, SECRET)
    off = settings_for("https://app.example.com", secure_cookies=False)
    assert extract(off, "GET", {}, {plain_name: value}) == ("cookie", RAW)


def test_present_cookie_prefix_setting_names_the_cookie() -> None:
    name, value = session_cookie(RAW, SECRET, prefix="myapp")
    custom = settings_for(cookie_prefix="myapp")
    assert extract(custom, "GET", {}, {name: value}) == ("cookie", RAW)
    assert extract(PLAIN, "GET", {}, {name: value}) is None


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_present_cookie_write_needs_a_trusted_origin(method: str) -> None:
    name, value = session_cookie(RAW, SECRET)
    cookies = {name: value}
    with pytest.raises(CsrfError) as missing:
        extract(PLAIN, method, {}, cookies)
    assert "Origin" in missing.value.message
    for untrusted in (
        "null",
        "",
        "https://evil.example",
        "http://app.example.com.evil",
    ):
        with pytest.raises(CsrfError):
            extract(PLAIN, method, {"origin": untrusted}, cookies)
    for trusted in ("http://app.example.com", "http://app.example.com/"):
        assert extract(PLAIN, method, {"origin": trusted}, cookies) == ("cookie", RAW)


def test_present_cookie_origin_checked_before_the_signature() -> None:
    """A forged write is refused as CSRF whatever its cookie: no signature oracle cross-site."""
    name, _ = session_cookie(RAW, SECRET)
    with pytest.raises(CsrfError):
        extract(PLAIN, "POST", {"origin": "https://evil.example"}, {name: "garbage"})


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_present_cookie_safe_methods_need_no_origin(method: str) -> None:
    name, value = session_cookie(RAW, SECRET)
    headers = {"origin": "https://evil.example"}
    assert extract(PLAIN, method, headers, {name: value}) == ("cookie", RAW)


def test_present_bearer_writes_need_no_origin() -> None:
    headers = {"authorization": f"Bearer {RAW}", "origin": "https://evil.example"}
    assert extract(PLAIN, "POST", headers, {}) == ("bearer", RAW)


def test_check_origin_trusted_origins_setting_is_honoured() -> None:
    extra = settings_for(trusted_origins=["https://admin.example.com/"])
    check_origin(extra, "DELETE", "https://admin.example.com")
    check_origin(extra, "DELETE", "http://app.example.com")
    with pytest.raises(CsrfError):
        check_origin(extra, "DELETE", "https://other.example.com")
    check_origin(extra, "GET", None)


def test_present_reads_cookies_only_without_an_authorization_header() -> None:
    """The cookie jar is parsed lazily (a property on Starlette's request): not per bearer call."""

    class Request:
        method, headers = "GET", {"authorization": f"Bearer {JWT}"}

        @property
        def cookies(self) -> Mapping[str, str]:
            raise AssertionError("cookies read for a bearer request")

    assert present(PLAIN, Request()) == ("jwt", JWT)
