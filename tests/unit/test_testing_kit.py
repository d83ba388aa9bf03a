"""The testing kit mints what Better-Auth mints, and the verifier accepts exactly that."""

import importlib
import sys
import uuid
from typing import get_args

import httpx
import pytest

from fastapi_better_auth import BetterAuthSettings, SchemaNaming
from fastapi_better_auth._cookies import verify_signed_token
from fastapi_better_auth._jwks import JWKSVerifier
from fastapi_better_auth.api_keys import get_api_key_model
from fastapi_better_auth.errors import InvalidTokenError
from fastapi_better_auth.models import get_models
from fastapi_better_auth.organizations import get_organization_models
from fastapi_better_auth.testing import (
    Algorithm,
    TokenIssuer,
    make_account,
    make_api_key,
    make_member,
    make_organization,
    make_session,
    make_user,
    session_cookie,
    user_claims,
)

pytestmark = pytest.mark.anyio


def _verifier(origin: str, algorithm: str) -> JWKSVerifier:
    return JWKSVerifier(
        BetterAuthSettings.load(
            url=origin, database_url="sqlite://", jwt_algorithms=algorithm
        )
    )


@pytest.mark.parametrize("algorithm", get_args(Algorithm))
async def test_issuer_tokens_verify_against_its_served_jwks(
    algorithm: Algorithm,
) -> None:
    issuer = TokenIssuer(algorithm)
    user = make_user(name="Alice")
    with issuer.serve() as origin:
        verifier = _verifier(origin, algorithm)
        try:
            claims = await verifier.verify(issuer.mint(user_claims(user)))
            with pytest.raises(InvalidTokenError):
                await verifier.verify(issuer.forge(user_claims(user)))
        finally:
            await verifier.aclose()
    assert claims["sub"] == user.id
    assert claims["iss"] == claims["aud"] == origin
    assert claims["exp"] - claims["iat"] == 900
    assert claims["name"] == "Alice"


async def test_jwks_is_better_auth_shaped_and_rotation_keeps_old_keys() -> None:
    issuer = TokenIssuer()
    first = issuer.current
    second = issuer.rotate()
    keys = issuer.jwks()["keys"]
    assert [k["kid"] for k in keys] == [first.kid, second.kid]
    assert all(
        k["alg"] == "EdDSA" and k["kty"] == "OKP" and "use" not in k for k in keys
    )
    assert issuer.rotate(keep_old=False) is issuer.current
    assert len(issuer.jwks()["keys"]) == 1


def test_served_jwks_answers_only_its_path() -> None:
    issuer = TokenIssuer(issuer="https://auth.example")
    with issuer.serve() as origin, httpx.Client() as client:
        assert client.get(origin + "/api/auth/jwks").json() == issuer.jwks()
        assert client.get(origin + "/other").status_code == 404
        assert issuer.issuer == "https://auth.example"
    assert issuer.requests == 2


def test_rows_follow_better_auth_conventions() -> None:
    user = make_user()
    session = make_session(user.id)
    account = make_account(user)
    assert (
        user.role == "user"
        and user.banned is False
        and user.email.endswith("@example.com")
    )
    assert session.user_id == user.id and session.ip_address == ""
    assert (session.expires_at - session.created_at).days == 7
    assert account.provider_id == "credential" and account.account_id == user.id
    claims = user_claims(make_user(ban_expires=user.created_at))
    assert claims["banExpires"] is not None and claims["banExpires"].endswith("Z")


def test_rows_take_the_naming_and_its_ids() -> None:
    """Rows are the naming's models; ids are as ``generateId`` makes them (uuid v4 text)."""
    naming = SchemaNaming.from_mappings(
        use_plural=True, column_case="snake", id_type="uuid"
    )
    models = get_models(naming)
    user = make_user(naming=naming)
    assert type(user) is models.user and uuid.UUID(user.id).version == 4
    assert user.email == f"{user.id}@example.com"
    session, account = (
        make_session(user, naming=naming),
        make_account(user, naming=naming),
    )
    assert type(session) is models.session and type(account) is models.account
    assert session.user_id == account.user_id == user.id
    assert uuid.UUID(session.id) and session.id != user.id
    key, _ = make_api_key(user.id, naming=naming)
    assert type(key) is get_api_key_model(naming) and key.reference_id == user.id
    org = make_organization(naming=naming)
    assert type(org) is get_organization_models(naming).organization
    assert org.slug == f"org-{org.id}"


def test_serial_rows_leave_ids_to_the_database() -> None:
    """Under serial ids no id is set; a row without one cannot be referred to yet."""
    naming = SchemaNaming.from_mappings(id_type="serial")
    user = make_user(naming=naming)
    unset: object = user.id  # typed str: an id exists once the row is flushed
    assert unset is None and user.email.endswith("@example.com")
    with pytest.raises(ValueError, match=r"await session\.flush\(\)"):
        make_session(user, naming=naming)
    with pytest.raises(ValueError, match="no id yet"):
        make_member(make_organization(naming=naming), "1", naming=naming)
    assert make_session(7, naming=naming).user_id == "7"
    assert make_account(make_user(naming=naming, id="8"), naming=naming).user_id == "8"
    assert make_organization(naming=naming).slug.startswith("org-")


def test_session_cookie_is_signed_and_url_encoded() -> None:
    name, value = session_cookie("t" * 32, "secret", prefix="app", secure=True)
    assert name == "__Secure-app.session_token"
    assert "%3D" in value
    assert verify_signed_token(value, "secret") == "t" * 32


def test_testing_kit_without_pyjwt_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The library runs without PyJWT; only the testing kit needs it, and says how to get it."""
    monkeypatch.setitem(
        sys.modules, "jwt", None
    )  # what an environment without PyJWT imports
    monkeypatch.delitem(sys.modules, "fastapi_better_auth.testing")
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module("fastapi_better_auth.testing")
    assert 'pip install "fastapi-better-auth-kit[testing]"' in str(caught.value)
    assert caught.value.name == "jwt"
