"""Every credential Better-Auth issues is trusted exactly while Better-Auth would trust it."""

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.utils import get_dependant
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from fastapi_better_auth._types import utcnow
from fastapi_better_auth.models import Session, User
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_account,
    make_session,
    make_user,
    session_cookie,
    user_claims,
)
from tests.helpers import (
    SECRET,
    client_for,
    execute,
    guarded_app,
    seed,
    settings_for,
)


@dataclass(frozen=True)
class World:
    url: str
    alice: User
    root: User
    eve: User
    alice_session: Session
    eve_session: Session


@pytest.fixture
def world(pg_url: str, issuer: TokenIssuer) -> World:
    """Alice (user) with a session and a credential account, Root (admin), Eve (banned)."""
    alice = make_user(name="Alice", email="alice@example.com", email_verified=True)
    root = make_user(name="Root", email="root@example.com", role="user,admin")
    eve = make_user(name="Eve", email="eve@example.com", banned=True, ban_reason="spam")
    alice_session = make_session(alice)
    eve_session = make_session(eve)
    account = make_account(
        alice,
        password="salt:hash",
        access_token="oauth-access",
        refresh_token="oauth-refresh",
    )
    seed(pg_url, alice, root, eve, alice_session, eve_session, account, migrate=True)
    return World(pg_url, alice, root, eve, alice_session, eve_session)


@pytest.fixture
def client(world: World, issuer: TokenIssuer) -> Iterator[TestClient]:
    assert issuer.issuer is not None
    with client_for(settings_for(issuer.issuer, world.url)) as client:
        yield client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_jwt_of_better_auth_shape_authenticates(
    client: TestClient, issuer: TokenIssuer, world: World
) -> None:
    alice: User = world.alice
    response = client.get(
        "/api/v1/auth/me", headers=_bearer(issuer.mint(user_claims(alice)))
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "alice@example.com"
    session = client.get(
        "/api/v1/auth/session", headers=_bearer(issuer.mint(user_claims(alice)))
    ).json()
    assert (
        session["credential"] == "jwt"
        and session["session"] is None
        and session["impersonated_by"] is None
    )


def test_bearer_session_token_raw_and_signed_authenticate(
    client: TestClient, world: World
) -> None:
    token = world.alice_session.token
    from fastapi_better_auth._cookies import sign_token

    for credential in (token, sign_token(token, SECRET)):
        response = client.get("/api/v1/auth/session", headers=_bearer(credential))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["credential"] == "bearer"
        assert body["session"]["id"] == world.alice_session.id
        assert "token" not in body["session"]


def test_session_cookie_authenticates_and_writes_need_trusted_origin(
    client: TestClient, world: World, issuer: TokenIssuer
) -> None:
    name, value = session_cookie(world.alice_session.token, SECRET)
    client.cookies.set(name, value)
    assert client.get("/me").status_code == 200
    missing = client.post("/me")
    assert missing.status_code == 403, missing.text
    assert missing.json()["detail"]["code"] == "INVALID_ORIGIN"
    assert (
        client.post("/me", headers={"Origin": "http://evil.example"}).status_code == 403
    )
    assert (
        client.post("/me", headers={"Origin": issuer.issuer or ""}).status_code == 200
    )


@pytest.mark.parametrize(
    ("url", "secure_cookies", "read"),
    [
        ("http://127.0.0.1:3005", None, "plain"),
        ("https://auth.example.com", None, "secure"),
        ("http://127.0.0.1:3005", True, "secure"),
        ("https://auth.example.com", False, "plain"),
    ],
)
def test_only_the_cookie_name_better_auth_sets_is_read(
    world: World, url: str, secure_cookies: bool | None, read: str
) -> None:
    """Better-Auth names its cookie once: ``__Secure-`` under an https URL (or
    ``useSecureCookies``), plain otherwise, and reads only that name; so do we. On https a
    plain cookie (planted from a sibling subdomain: login CSRF) is no credential, and on http a
    planted ``__Secure-`` cookie cannot shadow the real one."""
    settings = settings_for(url, world.url, secure_cookies=secure_cookies)
    _, alice = session_cookie(world.alice_session.token, SECRET)
    plain, secure = "better-auth.session_token", "__Secure-better-auth.session_token"
    wanted, other = (secure, plain) if read == "secure" else (plain, secure)
    with client_for(settings) as client:
        only_other = client.get("/me", headers={"Cookie": f"{other}={alice}"})
        both = client.get(
            "/me", headers={"Cookie": f"{other}=garbage; {wanted}={alice}"}
        )
        only_wanted = client.get("/me", headers={"Cookie": f"{wanted}={alice}"})
    assert only_other.status_code == 401, only_other.text
    assert only_other.json()["detail"]["code"] == "NOT_AUTHENTICATED"
    assert both.status_code == 200, both.text
    assert only_wanted.json()["name"] == "Alice"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "NOT_AUTHENTICATED"),
        ({"Authorization": "Basic YTpi"}, "INVALID_TOKEN"),
        ({"Authorization": "Bearer "}, "INVALID_TOKEN"),
        ({"Authorization": "Bearer not-a-session"}, "INVALID_SESSION"),
        ({"Authorization": "Bearer abc.def.ghi"}, "INVALID_SESSION"),
        (
            {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
            "INVALID_TOKEN",
        ),
        (
            {
                "Authorization": "Bearer "
                + "A" * 32
                + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
            },
            "INVALID_SESSION",
        ),
        ({"Cookie": "better-auth.session_token=garbage"}, "INVALID_SESSION"),
    ],
)
def test_missing_or_invalid_credentials_get_401_with_challenge(
    client: TestClient, headers: dict[str, str], code: str
) -> None:
    response = client.get("/me", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["detail"]["code"] == code
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_optional_user_is_none_without_credential_but_401_with_a_bad_one(
    client: TestClient, issuer: TokenIssuer, world: World
) -> None:
    assert client.get("/maybe").json() == {"id": None}
    assert (
        client.get(
            "/maybe", headers=_bearer(issuer.forge(user_claims(world.alice)))
        ).status_code
        == 401
    )
    assert client.get(
        "/maybe", headers=_bearer(issuer.mint(user_claims(world.alice)))
    ).json() == {"id": world.alice.id}


def test_forged_and_expired_jwts_are_refused(
    client: TestClient, issuer: TokenIssuer, world: World
) -> None:
    claims = user_claims(world.alice)
    forged = client.get("/me", headers=_bearer(issuer.forge(claims)))
    expired = client.get(
        "/me", headers=_bearer(issuer.mint(claims, issued_at=time.time() - 1000))
    )
    assert (
        forged.status_code == 401 and forged.json()["detail"]["code"] == "INVALID_TOKEN"
    )
    assert (
        expired.status_code == 401
        and expired.json()["detail"]["code"] == "TOKEN_EXPIRED"
    )


def test_ban_written_to_database_refuses_next_request_with_any_credential(
    client: TestClient, issuer: TokenIssuer, world: World
) -> None:
    alice: User = world.alice
    jwt_headers = _bearer(issuer.mint(user_claims(alice)))
    session_headers = _bearer(world.alice_session.token)
    assert client.get("/me", headers=jwt_headers).status_code == 200
    execute(world.url, update(User).where(User.id == alice.id).values(banned=True))
    for headers in (jwt_headers, session_headers):
        response = client.get("/me", headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["detail"]["code"] == "USER_BANNED"


def test_banned_user_with_expired_ban_is_admitted(
    client: TestClient, world: World
) -> None:
    eve: User = world.eve
    assert (
        client.get("/me", headers=_bearer(world.eve_session.token)).status_code == 403
    )
    execute(
        world.url,
        update(User)
        .where(User.id == eve.id)
        .values(ban_expires=utcnow() - timedelta(seconds=1)),
    )
    assert (
        client.get("/me", headers=_bearer(world.eve_session.token)).status_code == 200
    )


def test_revoked_session_is_refused_on_next_request(
    client: TestClient, world: World, issuer: TokenIssuer
) -> None:
    session: Session = world.alice_session
    sid_token = issuer.mint({**user_claims(world.alice), "sid": session.id})
    assert (
        client.get("/api/v1/auth/session", headers=_bearer(sid_token)).json()[
            "session"
        ]["id"]
        == session.id
    )
    execute(world.url, delete(Session).where(Session.id == session.id))
    for headers in (_bearer(session.token), _bearer(sid_token)):
        response = client.get("/me", headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["detail"]["code"] == "INVALID_SESSION"


def test_expired_session_is_refused(client: TestClient, world: World) -> None:
    session: Session = world.alice_session
    execute(
        world.url,
        update(Session)
        .where(Session.id == session.id)
        .values(expires_at=utcnow() - timedelta(seconds=1)),
    )
    response = client.get("/me", headers=_bearer(session.token))
    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "SESSION_EXPIRED"


def test_jwt_of_deleted_user_is_refused(
    client: TestClient, world: World, issuer: TokenIssuer
) -> None:
    token = issuer.mint(user_claims(world.alice))
    execute(world.url, delete(User).where(User.id == world.alice.id))
    assert client.get("/me", headers=_bearer(token)).status_code == 401


def test_demoted_admin_loses_admin_rights_on_next_request(
    client: TestClient, world: World, issuer: TokenIssuer
) -> None:
    root: User = world.root
    token = issuer.mint(user_claims(root))  # the token still says role "user,admin"
    assert client.get("/admin", headers=_bearer(token)).status_code == 200
    execute(world.url, update(User).where(User.id == root.id).values(role="user"))
    response = client.get("/admin", headers=_bearer(token))
    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "ROLE_REQUIRED"


def test_guards_role_admin_and_verified_email(
    client: TestClient, world: World, issuer: TokenIssuer
) -> None:
    alice, root = world.alice, world.root
    alice_headers, root_headers = (
        _bearer(issuer.mint(user_claims(alice))),
        _bearer(issuer.mint(user_claims(root))),
    )
    assert client.get("/admin", headers=alice_headers).status_code == 403
    assert client.get("/editors", headers=alice_headers).status_code == 403
    assert client.get("/editors", headers=root_headers).status_code == 200
    assert client.get("/verified", headers=alice_headers).status_code == 200
    unverified = client.get("/verified", headers=root_headers)
    assert (
        unverified.status_code == 403
        and unverified.json()["detail"]["code"] == "EMAIL_NOT_VERIFIED"
    )


def test_accounts_never_expose_tokens_or_password_hash(
    client: TestClient, world: World
) -> None:
    response = client.get(
        "/api/v1/auth/accounts", headers=_bearer(world.alice_session.token)
    )
    assert response.status_code == 200, response.text
    accounts = response.json()["accounts"]
    assert [a["provider_id"] for a in accounts] == ["credential"]
    for secret in ("salt:hash", "oauth-access", "oauth-refresh"):
        assert secret not in response.text


def test_admin_user_ids_setting_grants_admin(world: World, issuer: TokenIssuer) -> None:
    assert issuer.issuer is not None
    settings = settings_for(issuer.issuer, world.url, admin_user_ids=world.alice.id)
    with client_for(settings) as client:
        assert (
            client.get("/admin", headers=_bearer(world.alice_session.token)).status_code
            == 200
        )


def test_failed_authentication_logs_reason_but_no_credential(
    client: TestClient,
    issuer: TokenIssuer,
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    forged = issuer.forge(user_claims(world.alice))
    name, cookie = session_cookie("x" * 32, "wrong-secret")
    with caplog.at_level(logging.DEBUG):
        client.get("/me", headers=_bearer(forged))
        client.get("/me", headers={"Cookie": f"{name}={cookie}"})
        client.get("/me", headers=_bearer(world.alice_session.token))
    reasons = [
        getattr(r, "reason", None)
        for r in caplog.records
        if r.getMessage() == "better_auth.authentication_failed"
    ]
    assert reasons == ["INVALID_TOKEN", "INVALID_SESSION"]
    for secret in (
        forged,
        forged.split(".")[2],
        cookie,
        world.alice_session.token,
        SECRET,
    ):
        assert secret not in caplog.text


def test_impersonation_session_shows_the_admin_and_has_only_the_users_rights(
    world: World, issuer: TokenIssuer
) -> None:
    alice, root = world.alice, world.root
    impersonation = make_session(alice, impersonated_by=root.id)
    seed(world.url, impersonation)
    assert issuer.issuer is not None
    with client_for(settings_for(issuer.issuer, world.url)) as client:
        body = client.get(
            "/api/v1/auth/session", headers=_bearer(impersonation.token)
        ).json()
        assert body["user"]["id"] == alice.id
        assert body["impersonated_by"] == root.id
        assert (
            client.get("/admin", headers=_bearer(impersonation.token)).status_code
            == 403
        )


def test_freshness_never_trusts_the_token_snapshot(
    world: World, issuer: TokenIssuer
) -> None:
    assert issuer.issuer is not None
    root = world.root
    token = issuer.mint(user_claims(root))
    execute(world.url, update(User).where(User.id == root.id).values(role="user"))
    with client_for(
        settings_for(issuer.issuer, world.url, freshness="never")
    ) as client:
        assert (
            client.get("/admin", headers=_bearer(token)).status_code == 200
        )  # the snapshot says admin
        banned = issuer.mint({**user_claims(root), "banned": True})
        assert client.get("/me", headers=_bearer(banned)).status_code == 403


def test_freshness_cached_rereads_after_the_ttl(
    world: World, issuer: TokenIssuer
) -> None:
    assert issuer.issuer is not None
    alice = world.alice
    token = issuer.mint(user_claims(alice))
    with client_for(
        settings_for(
            issuer.issuer,
            world.url,
            freshness="cached",
            freshness_cache_seconds=3600,
        )
    ) as client:
        assert client.get("/me", headers=_bearer(token)).status_code == 200
        execute(world.url, update(User).where(User.id == alice.id).values(banned=True))
        assert (
            client.get("/me", headers=_bearer(token)).status_code == 200
        )  # within the TTL
        assert (
            client.get("/me", headers=_bearer(world.alice_session.token)).status_code
            == 403
        )  # not cached yet
    with client_for(
        settings_for(
            issuer.issuer,
            world.url,
            freshness="cached",
            freshness_cache_seconds=0,
        )
    ) as client:
        assert client.get("/me", headers=_bearer(token)).status_code == 403


def test_cold_start_with_jwks_down_answers_503_until_keys_load(world: World) -> None:
    issuer = TokenIssuer()
    from tests.pg import free_port

    origin = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    issuer.issuer = origin
    token = issuer.mint(user_claims(world.alice))
    with client_for(settings_for(origin, world.url)) as client:
        response = client.get("/me", headers=_bearer(token))
        assert response.status_code == 503, response.text
        assert response.json()["detail"]["code"] == "JWKS_UNAVAILABLE"
        assert int(response.headers["retry-after"]) > 0
        # session tokens do not need the keys
        assert (
            client.get("/me", headers=_bearer(world.alice_session.token)).status_code
            == 200
        )


def test_openapi_declares_the_bearer_scheme_on_every_guarded_route(
    client: TestClient,
) -> None:
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes == {"BetterAuthBearer": schemes["BetterAuthBearer"]}
    assert schemes["BetterAuthBearer"]["scheme"] == "bearer"
    # one scheme object cannot also be a cookie: its description says the cookie is accepted
    assert "better-auth.session_token" in schemes["BetterAuthBearer"]["description"]
    for path in ("/me", "/maybe", "/admin", "/verified", "/editors", "/api/v1/auth/me"):
        operation = schema["paths"][path]["get"]
        assert operation["security"] == [{"BetterAuthBearer": []}], path
    assert "security" not in schema["paths"]["/api/v1/health"]["get"]
    me = schema["paths"]["/api/v1/auth/me"]["get"]
    assert {"401", "403", "503"} <= set(me["responses"])
    assert me["responses"]["401"]["content"]["application/json"]["schema"][
        "$ref"
    ].endswith("/ErrorResponse")
    assert me["operationId"]
    assert me["tags"] == ["better-auth"]


def test_each_credential_guard_is_one_dependency_node() -> None:
    """FastAPI solves every node on every request (≈ 12 µs each): the guards stay flat."""
    from fastapi.routing import APIRoute

    from fastapi_better_auth import (
        current_session,
        current_user,
        optional_user,
        require_admin,
        require_role,
        require_verified_email,
    )

    app = guarded_app(settings_for("http://127.0.0.1:9", "sqlite+aiosqlite://"))
    routes = {
        (route.path, method): route.dependant
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }

    def calls(dependant: Any) -> list[Any]:
        return [sub.call for sub in dependant.dependencies]

    for guard in (current_session, current_user, optional_user):
        assert calls(get_dependant(path="/", call=guard)) == [], guard
    assert calls(routes["/me", "GET"]) == [current_user]
    assert calls(routes["/maybe", "GET"]) == [optional_user]
    for wrapper in (require_admin, require_verified_email, require_role("editor")):
        assert calls(get_dependant(path="/", call=wrapper)) == [current_user]
    assert calls(routes["/admin", "GET"]) == [require_admin]


def test_overriding_current_user_reaches_every_guard_built_on_it(
    client: TestClient, world: World
) -> None:
    from fastapi_better_auth import (
        AuthenticatedSession,
        AuthenticatedUser,
        current_session,
        current_user,
    )

    app = client.app
    assert isinstance(app, FastAPI)
    admin = AuthenticatedUser(
        id="override",
        email="o@example.com",
        name="O",
        email_verified=True,
        role="admin",
    )
    plain = admin.model_copy(update={"role": "user", "email_verified": False})
    app.dependency_overrides[current_user] = lambda: admin
    try:
        for path in ("/me", "/admin", "/verified", "/editors"):
            assert client.get(path).status_code == 200, path  # no credential sent
        assert client.get("/me").json()["id"] == "override"
        app.dependency_overrides[current_user] = lambda: plain
        assert client.get("/admin").json()["detail"]["code"] == "ROLE_REQUIRED"
        assert client.get("/verified").json()["detail"]["code"] == "EMAIL_NOT_VERIFIED"
        assert client.get("/editors").json()["detail"]["code"] == "ROLE_REQUIRED"
        app.dependency_overrides[current_session] = lambda: AuthenticatedSession(
            user=admin, credential="jwt"
        )
        session = client.get("/api/v1/auth/session")
        assert session.status_code == 200
        assert session.json()["user"]["id"] == "override"
    finally:
        app.dependency_overrides.clear()
    assert client.get("/me").status_code == 401


def test_require_role_returns_the_same_dependency_for_the_same_roles() -> None:
    from fastapi_better_auth import require_role

    assert require_role("a", "b") is require_role("b", "a")
    assert require_role("a") is not require_role("b")
    with pytest.raises(ValueError, match="role"):
        require_role()
    with pytest.raises(ValueError, match="role"):
        require_role("a,b")
    with pytest.raises(ValueError, match="surrounding spaces"):
        require_role(" admin")
    with pytest.raises(ValueError, match="role"):
        require_role("a", "")
    with pytest.raises(TypeError, match=r"require_role\('editor', 'admin'\)"):
        require_role(["a", "b"])  # type: ignore[arg-type]


def test_malformed_sid_claim_is_refused(
    client: TestClient, world: World, issuer: TokenIssuer
) -> None:
    token = issuer.mint({**user_claims(world.alice), "sid": 12345})
    response = client.get("/me", headers=_bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "INVALID_TOKEN"


def test_freshness_never_tolerates_odd_date_claims(
    world: World, issuer: TokenIssuer
) -> None:
    assert issuer.issuer is not None
    token = issuer.mint(
        {**user_claims(world.alice), "createdAt": "yesterday", "updatedAt": 5}
    )
    with client_for(
        settings_for(issuer.issuer, world.url, freshness="never")
    ) as client:
        body = client.get("/api/v1/auth/me", headers=_bearer(token)).json()
    assert body["created_at"] is None and body["updated_at"] is None


def test_freshness_cached_reuses_a_session_lookup_until_forgotten(
    world: World, issuer: TokenIssuer
) -> None:
    assert issuer.issuer is not None
    token = world.alice_session.token
    settings = settings_for(
        issuer.issuer, world.url, freshness="cached", freshness_cache_seconds=3600
    )
    with client_for(settings) as client:
        assert client.get("/me", headers=_bearer(token)).status_code == 200
        execute(world.url, delete(Session).where(Session.id == world.alice_session.id))
        assert client.get("/me", headers=_bearer(token)).status_code == 200  # cached
        client.app_state["better_auth"].authenticator.forget()
        assert client.get("/me", headers=_bearer(token)).status_code == 401


def test_accounts_with_database_down_answers_503(
    world: World, issuer: TokenIssuer
) -> None:
    assert issuer.issuer is not None
    token = issuer.mint(user_claims(world.alice))
    dead = "postgresql+asyncpg://nobody@127.0.0.1:9/none"
    with client_for(settings_for(issuer.issuer, dead, freshness="never")) as client:
        assert (
            client.get("/me", headers=_bearer(token)).status_code == 200
        )  # no database needed
        response = client.get("/api/v1/auth/accounts", headers=_bearer(token))
    assert response.status_code == 503
    assert response.json()["detail"]["code"] == "DATABASE_UNAVAILABLE"


@pytest.mark.parametrize("direct_reads", [False, True])
def test_database_echo_never_logs_a_session_token(
    world: World,
    issuer: TokenIssuer,
    caplog: pytest.LogCaptureFixture,
    direct_reads: bool,
) -> None:
    """``BETTER_AUTH_DATABASE_ECHO`` shows the SQL, never its bound values (tokens among them)."""
    assert issuer.issuer is not None
    settings = settings_for(
        issuer.issuer,
        world.url,
        database_echo=True,
        database_direct_reads=direct_reads,
    )
    token = world.alice_session.token
    with caplog.at_level(logging.INFO), client_for(settings) as client:
        response = client.get("/api/v1/auth/session", headers=_bearer(token))
        assert response.status_code == 200, response.text
        listed = client.get(
            f"/api/v1/users/{world.alice.id}/sessions", headers=_bearer(token)
        )
        assert listed.status_code == 200, listed.text
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    assert token not in caplog.text


def test_log_lines_of_a_request_carry_its_id_and_the_user_it_authenticated(
    world: World, issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused credential's line carries the request id; the request line (INFO) names the
    user and credential a request authenticated as, so success is visible without DEBUG."""
    from fastapi_better_auth import RequestLoggingMiddleware

    assert issuer.issuer is not None
    app = guarded_app(settings_for(issuer.issuer, world.url))
    app.add_middleware(RequestLoggingMiddleware)
    token = world.alice_session.token
    with caplog.at_level(logging.INFO), TestClient(app) as client:
        client.get("/me", headers={**_bearer("x" * 32), "X-Request-ID": "req-bad"})
        client.get("/me", headers={**_bearer(token), "X-Request-ID": "req-good"})
    (failed,) = [
        r
        for r in caplog.records
        if r.getMessage() == "better_auth.authentication_failed"
    ]
    assert failed.request_id == "req-bad"  # type: ignore[attr-defined]
    lines = {
        r.request_id: r  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "fastapi_better_auth.access"
    }
    good = lines["req-good"]
    assert (good.user_id, good.credential) == (world.alice.id, "bearer")  # type: ignore[attr-defined]
    assert getattr(lines["req-bad"], "user_id", None) is None
    assert token not in caplog.text
