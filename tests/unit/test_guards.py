"""The guards over a fake authenticator: what reaches it, and how its answers become HTTP."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import text

from fastapi_better_auth import (
    AdminUser,
    AuthenticatedSession,
    BetterAuth,
    BetterAuthSettings,
    ConfigurationError,
    CurrentSession,
    CurrentUser,
    DbSession,
    OptionalUser,
    VerifiedUser,
    current_user,
    require_role,
)
from fastapi_better_auth._credentials import PresentedCredential
from fastapi_better_auth._errors import BetterAuthError
from fastapi_better_auth._guards import STATE_KEY
from fastapi_better_auth._schemas import IDENTITY_STATE_KEY
from fastapi_better_auth._snapshots import user_from_claims
from fastapi_better_auth.errors import (
    DatabaseUnavailableError,
    TokenExpiredError,
    UserBannedError,
)
from fastapi_better_auth.testing import session_cookie
from tests.helpers import sqlite_threads_done

SECRET = "test-secret-0123456789abcdef0123456789abcdef"
RAW = "B" * 32


class FakeAuthenticator:
    """Answers every credential with one identity or one error, and keeps what it was given."""

    def __init__(self) -> None:
        self.seen: list[PresentedCredential] = []
        self.headers: list[bytes | None] = []
        self.answer: AuthenticatedSession | BetterAuthError = identity_of()
        self.repeats: dict[
            bytes, AuthenticatedSession
        ] = {}  # what the guard asks first

    async def authenticate(
        self, credential: PresentedCredential, header: bytes | None = None
    ) -> AuthenticatedSession:
        self.seen.append(credential)
        self.headers.append(header)
        if isinstance(self.answer, BetterAuthError):
            raise self.answer
        return self.answer


def identity_of(**claims: Any) -> AuthenticatedSession:
    user = user_from_claims({"sub": "u1", "email": "a@example.com", **claims})
    return AuthenticatedSession(user=user, credential="bearer")


def make_runtime(database: Path, **overrides: Any) -> BetterAuth:
    settings = BetterAuthSettings.load(
        url="http://app.example.com",
        secret=SECRET,
        database_url=f"sqlite+aiosqlite:///{database}",
        schema_check=False,
        **overrides,
    )
    return BetterAuth(settings)


def make_app(auth: BetterAuth | None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        threads = set(threading.enumerate())
        yield {} if auth is None else {STATE_KEY: auth}
        if auth is not None:
            await auth.close()  # the pool's connections, before the loop ends
            await sqlite_threads_done(threads)

    app = FastAPI(lifespan=lifespan)

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"id": user.id}

    @app.post("/me")
    async def write(user: CurrentUser) -> dict[str, Any]:
        return {"id": user.id}

    @app.get("/session")
    async def session(identity: CurrentSession, request: Request) -> dict[str, Any]:
        stored = request.state._state[IDENTITY_STATE_KEY]
        return {"credential": identity.credential, "stored": stored is identity}

    @app.get("/maybe")
    async def maybe(user: OptionalUser) -> dict[str, Any]:
        return {"id": None if user is None else user.id}

    @app.get("/admin")
    async def admin(user: AdminUser) -> dict[str, Any]:
        return {"id": user.id}

    @app.get("/verified")
    async def verified(user: VerifiedUser) -> dict[str, Any]:
        return {"id": user.id}

    @app.get("/editor", dependencies=[Depends(require_role("editor", "owner"))])
    async def editor() -> dict[str, Any]:
        return {}

    @app.get("/db")
    async def db(session: DbSession) -> dict[str, Any]:
        return {"one": (await session.execute(text("SELECT 1"))).scalar_one()}

    return app


@pytest.fixture
def fake() -> FakeAuthenticator:
    return FakeAuthenticator()


@pytest.fixture
def client(tmp_path: Path, fake: FakeAuthenticator) -> Any:
    auth = make_runtime(tmp_path / "app.db")
    auth.authenticator = fake  # type: ignore[assignment]
    with TestClient(make_app(auth)) as client:
        yield client


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_current_user_passes_the_presented_credential_to_the_authenticator(
    client: TestClient, fake: FakeAuthenticator
) -> None:
    assert client.get("/me", headers=bearer(RAW)).json() == {"id": "u1"}
    name, value = session_cookie(RAW, SECRET)
    client.cookies.set(name, value)
    assert client.get("/me").status_code == 200
    assert fake.seen == [("bearer", RAW), ("cookie", RAW)]


def test_a_repeated_authorization_header_is_answered_by_the_repeat_cache(
    client: TestClient, fake: FakeAuthenticator
) -> None:
    """The guard asks the repeat cache by the raw header first, and passes that header on to be
    kept; a cookie request has none."""
    assert client.get("/me", headers=bearer(RAW)).json() == {"id": "u1"}
    fake.repeats[f"Bearer {RAW}".encode()] = identity_of(sub="u2")
    answers = [client.get("/me", headers=bearer(RAW)).json() for _ in range(2)]
    session = client.get("/session", headers=bearer(RAW)).json()
    assert client.get("/me", headers=bearer("C" * 32)).json() == {"id": "u1"}
    name, value = session_cookie(RAW, SECRET)
    client.cookies.set(name, value)
    assert client.get("/me").json() == {"id": "u1"}
    assert answers == [{"id": "u2"}] * 2
    assert session == {"credential": "bearer", "stored": True}
    assert fake.seen == [("bearer", RAW), ("bearer", "C" * 32), ("cookie", RAW)]
    assert fake.headers == [f"Bearer {RAW}".encode(), b"Bearer " + b"C" * 32, None]


def test_current_session_stores_the_identity_in_the_request_state(
    client: TestClient,
) -> None:
    response = client.get("/session", headers=bearer(RAW))
    assert response.json() == {"credential": "bearer", "stored": True}


def test_current_user_no_credential_returns_401_and_logs_none(
    client: TestClient, fake: FakeAuthenticator, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = client.get("/me")
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"]["code"] == "NOT_AUTHENTICATED"
    (line,) = [
        r for r in caplog.records if r.msg == "better_auth.authentication_failed"
    ]
    assert line.credential == "none"  # type: ignore[attr-defined]
    assert fake.seen == []


@pytest.mark.parametrize(
    ("error", "status", "headers"),
    [
        (
            TokenExpiredError(),
            401,
            {"www-authenticate": 'Bearer error="invalid_token"'},
        ),
        (UserBannedError(), 403, {}),
        (DatabaseUnavailableError(), 503, {"retry-after": "5"}),
    ],
)
def test_current_user_authenticator_error_is_its_documented_answer(
    client: TestClient,
    fake: FakeAuthenticator,
    error: BetterAuthError,
    status: int,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.answer = error
    with caplog.at_level(logging.INFO):
        response = client.get("/me", headers=bearer(RAW))
    assert response.status_code == status, response.text
    assert response.json() == {
        "detail": {"code": error.code.value, "message": error.message}
    }
    for name, value in headers.items():
        assert response.headers[name] == value
    (line,) = [
        r for r in caplog.records if r.msg == "better_auth.authentication_failed"
    ]
    assert (line.reason, line.credential) == (error.code.value, "bearer")  # type: ignore[attr-defined]
    assert RAW not in caplog.text


def test_current_user_malformed_header_is_401_before_the_authenticator(
    client: TestClient, fake: FakeAuthenticator
) -> None:
    response = client.get("/me", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "INVALID_TOKEN"
    assert fake.seen == []


def test_current_user_cookie_write_from_untrusted_origin_is_403_csrf(
    client: TestClient, fake: FakeAuthenticator
) -> None:
    name, value = session_cookie(RAW, SECRET)
    client.cookies.set(name, value)
    refused = client.post("/me", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"]["code"] == "INVALID_ORIGIN"
    ok = client.post("/me", headers={"Origin": "http://app.example.com"})
    assert ok.status_code == 200, ok.text
    assert fake.seen == [("cookie", RAW)]


def test_optional_user_none_without_credential_user_with_one_401_when_invalid(
    client: TestClient, fake: FakeAuthenticator
) -> None:
    assert client.get("/maybe").json() == {"id": None}
    assert client.get("/maybe", headers=bearer(RAW)).json() == {"id": "u1"}
    fake.answer = TokenExpiredError()
    assert client.get("/maybe", headers=bearer(RAW)).status_code == 401


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("editor", 200),
        ("user,owner", 200),
        ("admin", 403),
        (None, 403),
        (" editor", 403),
    ],
)
def test_require_role_admits_any_listed_role_exactly(
    client: TestClient, fake: FakeAuthenticator, role: str | None, status: int
) -> None:
    fake.answer = identity_of(role=role)
    response = client.get("/editor", headers=bearer(RAW))
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["detail"] == {
            "code": "ROLE_REQUIRED",
            "message": "One of these roles is required: editor, owner.",
        }


def test_require_role_same_roles_same_dependency_and_bad_arguments_refused() -> None:
    assert require_role("a", "b") is require_role("b", "a")
    with pytest.raises(TypeError, match=r"require_role\(\*roles\)"):
        require_role(["a", "b"])  # type: ignore[arg-type]
    for bad in ((), ("",), (" a",), ("a,b",)):
        with pytest.raises(ValueError, match="without commas"):
            require_role(*bad)


def test_require_admin_by_role_and_by_user_id(tmp_path: Path) -> None:
    fake = FakeAuthenticator()
    auth = make_runtime(tmp_path / "a.db", admin_user_ids=["u1"])
    auth.authenticator = fake  # type: ignore[assignment]
    with TestClient(make_app(auth)) as client:
        assert client.get("/admin", headers=bearer(RAW)).status_code == 200
        fake.answer = identity_of(sub="u2", role="admin")
        assert client.get("/admin", headers=bearer(RAW)).status_code == 200
        fake.answer = identity_of(sub="u2", role="user")
        refused = client.get("/admin", headers=bearer(RAW))
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "ROLE_REQUIRED"


def test_require_verified_email(client: TestClient, fake: FakeAuthenticator) -> None:
    refused = client.get("/verified", headers=bearer(RAW))
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "EMAIL_NOT_VERIFIED"
    fake.answer = identity_of(emailVerified=True)
    assert client.get("/verified", headers=bearer(RAW)).status_code == 200


def test_overriding_current_user_reaches_the_guards_on_top(
    client: TestClient, fake: FakeAuthenticator
) -> None:
    app: Any = client.app
    app.dependency_overrides[current_user] = lambda: (
        identity_of(sub="u9", role="admin").user
    )
    assert client.get("/admin").json() == {"id": "u9"}
    assert client.get("/me").json() == {"id": "u9"}
    assert fake.seen == []


def test_guard_without_the_lifespan_state_is_a_configuration_error() -> None:
    with TestClient(make_app(None)) as client, pytest.raises(ConfigurationError):
        client.get("/me", headers=bearer(RAW))


def test_get_db_gives_a_session_and_an_unreachable_database_is_503(
    client: TestClient, tmp_path: Path
) -> None:
    assert client.get("/db").json() == {"one": 1}
    unreachable = make_runtime(tmp_path / "missing" / "dir" / "app.db")
    with TestClient(make_app(unreachable)) as other:
        response = other.get("/db")
    assert response.status_code == 503, response.text
    assert response.json()["detail"]["code"] == "DATABASE_UNAVAILABLE"
    assert "retry-after" in response.headers


def test_success_is_logged_at_debug_with_ids_only(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="fastapi_better_auth"):
        assert client.get("/me", headers=bearer(RAW)).status_code == 200
    (line,) = [r for r in caplog.records if r.msg == "better_auth.authenticated"]
    assert (line.user_id, line.credential) == ("u1", "bearer")  # type: ignore[attr-defined]
    assert RAW not in caplog.text
