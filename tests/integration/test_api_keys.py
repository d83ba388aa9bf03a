"""API keys are verified as ``@better-auth/api-key`` 1.7.5 verifies them, on its own ``apikey`` table."""

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import BetterAuth, better_auth_router
from fastapi_better_auth._errors import (
    ApiKeyRateLimitedError,
    ApiKeyUsageExceededError,
    InvalidApiKeyError,
)
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.api_keys import (
    ApiKey,
    ApiKeyPrincipal,
    CurrentPrincipal,
    Principal,
    get_api_key_model,
    hash_api_key,
    require_api_key_permission,
    verify_api_key,
)
from fastapi_better_auth.models import User
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_api_key,
    make_session,
    make_user,
)
from tests.conftest import DATA
from tests.helpers import execute, run, seed, settings_for
from tests.schema_compare import describe_database, describe_metadata, differences

API_KEY_DDL = DATA / "better_auth_api_key_1_7_5_schema.sql"


def _statements() -> list[str]:
    body = "\n".join(
        line
        for line in API_KEY_DDL.read_text().splitlines()
        if not line.startswith("--")
    )
    return [part.strip() for part in body.split(";") if part.strip()]


async def _create_apikey_table(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in _statements():
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _create_all(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ApiKey.metadata.create_all)
    finally:
        await engine.dispose()


@pytest.fixture
def db(db_url: str) -> str:
    """Our migration of the core tables plus ``apikey``: Better-Auth's DDL on PostgreSQL.

    On a throwaway SQLite file the table comes from the model (``create_all``).
    """
    seed(db_url, migrate=True)
    if db_url.startswith("sqlite"):
        run(_create_all(db_url))
    else:
        run(_create_apikey_table(db_url))
    return db_url


@pytest.fixture
def alice(db: str) -> User:
    user = make_user(name="Alice", email="alice@example.com")
    seed(db, user)
    return user


def _app(db: str, issuer: TokenIssuer, **settings: Any) -> FastAPI:
    assert issuer.issuer is not None
    app = FastAPI()
    app.include_router(better_auth_router(settings_for(issuer.issuer, db, **settings)))

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> Principal:
        return principal

    @app.get("/key-only")
    async def key_only(principal: ApiKeyPrincipal) -> str:
        return principal.user.id

    @app.get(
        "/files",
        dependencies=[Depends(require_api_key_permission({"files": ["read"]}))],
    )
    async def files() -> list[str]:
        return ["a.txt"]

    return app


@pytest.fixture
def client(db: str, issuer: TokenIssuer) -> Iterator[TestClient]:
    with TestClient(_app(db, issuer)) as client:
        yield client


def _row(db: str, key_id: str) -> Any:
    rows = execute(db, select(ApiKey.__table__).where(ApiKey.id == key_id))
    return rows[0] if rows else None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"detail": {"code": code, "message": message}}


def test_apikey_model_matches_better_auth_ddl(pg_url: str) -> None:
    run(_create_apikey_table(pg_url))

    async def describe() -> Any:
        engine = create_async_engine(pg_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(describe_database)
        finally:
            await engine.dispose()

    reflected = describe()
    assert differences(describe_metadata(ApiKey.metadata), run(reflected)) == []


def test_valid_key_answers_owner_and_counts_use(
    client: TestClient, db: str, alice: User
) -> None:
    row, key = make_api_key(alice, remaining=5, metadata_='{"team": "ops"}')
    seed(db, row)
    r = client.get("/whoami", headers={"x-api-key": key})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["credential"] == "api_key"
    assert body["user"]["id"] == alice.id
    assert body["api_key"]["id"] == row.id
    assert body["api_key"]["remaining"] == 4
    assert body["api_key"]["metadata"] == {"team": "ops"}
    assert "key" not in body["api_key"]
    stored = _row(db, row.id)
    assert (stored.remaining, stored.requestCount) == (4, 1)
    assert stored.lastRequest is not None


@pytest.mark.parametrize(
    ("fields", "status", "code", "message", "deleted"),
    [
        ({"enabled": False}, 401, "API_KEY_DISABLED", "API Key is disabled.", False),
        (
            {"expires_at": utcnow() - timedelta(seconds=1)},
            401,
            "API_KEY_EXPIRED",
            "API Key has expired.",
            True,
        ),
        (
            {"remaining": 0},
            429,
            "API_KEY_USAGE_EXCEEDED",
            "API Key has reached its usage limit.",
            True,
        ),
        (
            {"remaining": 0, "refill_amount": 5, "refill_interval": 3_600_000},
            429,
            "API_KEY_USAGE_EXCEEDED",
            "API Key has reached its usage limit.",
            False,
        ),
        (
            {"request_count": 10, "last_request": utcnow()},
            429,
            "API_KEY_RATE_LIMITED",
            "Rate limit exceeded.",
            False,
        ),
    ],
)
def test_refused_keys_get_the_plugins_reason(
    client: TestClient,
    db: str,
    alice: User,
    fields: dict[str, Any],
    status: int,
    code: str,
    message: str,
    deleted: bool,
) -> None:
    row, key = make_api_key(alice, **fields)
    seed(db, row)
    r = client.get("/whoami", headers={"x-api-key": key})
    assert r.status_code == status, r.text
    assert r.json() == _error(code, message)
    assert (_row(db, row.id) is None) is deleted


def test_rate_limited_answer_says_when_to_retry(
    client: TestClient, db: str, alice: User
) -> None:
    row, key = make_api_key(
        alice,
        rate_limit_max=2,
        rate_limit_time_window=60_000,
        remaining=10,
    )
    seed(db, row)
    answers = [client.get("/whoami", headers={"x-api-key": key}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["retry-after"]) <= 60
    # as in the plugin, the refused request has used one of `remaining` already
    assert _row(db, row.id).remaining == 7


def test_rate_limit_window_resets_and_disabled_limit_only_stamps(
    client: TestClient, db: str, alice: User
) -> None:
    old = utcnow() - timedelta(days=2)
    stale, stale_key = make_api_key(alice, request_count=10, last_request=old)
    free, free_key = make_api_key(
        alice, rate_limit_enabled=False, request_count=10, last_request=old
    )
    seed(db, stale, free)
    assert client.get("/whoami", headers={"x-api-key": stale_key}).status_code == 200
    assert _row(db, stale.id).requestCount == 1
    assert client.get("/whoami", headers={"x-api-key": free_key}).status_code == 200
    stamped = _row(db, free.id)
    assert stamped.requestCount == 10
    assert stamped.lastRequest > old


def test_due_refill_restores_remaining_once(
    client: TestClient, db: str, alice: User
) -> None:
    row, key = make_api_key(
        alice,
        remaining=0,
        refill_amount=3,
        refill_interval=1_000,
        last_refill_at=utcnow() - timedelta(seconds=5),
    )
    seed(db, row)
    assert client.get("/whoami", headers={"x-api-key": key}).status_code == 200
    stored = _row(db, row.id)
    assert stored.remaining == 2
    assert stored.lastRefillAt > row.last_refill_at


def test_unknown_short_and_foreign_config_keys_are_invalid(
    db: str, issuer: TokenIssuer, alice: User
) -> None:
    other, other_key = make_api_key(alice, config_id="partners")
    seed(db, other)
    invalid = _error("INVALID_API_KEY", "Invalid API key.")
    with TestClient(_app(db, issuer, api_key_config_id="default")) as client:
        for key in ("x" * 64, "short", other_key):
            r = client.get("/whoami", headers={"x-api-key": key})
            assert r.status_code == 401, r.text
            assert r.json() == invalid
            assert r.headers["www-authenticate"] == "ApiKey"


def test_banned_or_missing_owner_is_refused(
    client: TestClient, db: str, alice: User
) -> None:
    eve = make_user(name="Eve", banned=True)
    seed(db, eve)
    banned, banned_key = make_api_key(eve)
    orphan, orphan_key = make_api_key("no-such-user")
    seed(db, banned, orphan)
    r = client.get("/whoami", headers={"x-api-key": banned_key})
    assert r.status_code == 403, r.text
    assert r.json()["detail"]["code"] == "USER_BANNED"
    r = client.get("/whoami", headers={"x-api-key": orphan_key})
    assert r.json() == _error(
        "INVALID_API_KEY", "The reference id from the API key is invalid."
    )


def test_permissions_are_checked_before_the_use_is_counted(
    client: TestClient, db: str, alice: User
) -> None:
    reader, reader_key = make_api_key(alice, permissions={"files": ["read", "write"]})
    writer, writer_key = make_api_key(
        alice, permissions={"files": ["write"]}, remaining=3
    )
    bare, bare_key = make_api_key(alice)
    seed(db, reader, writer, bare)
    assert client.get("/files", headers={"x-api-key": reader_key}).status_code == 200
    for key in (writer_key, bare_key):
        r = client.get("/files", headers={"x-api-key": key})
        assert r.status_code == 403, r.text
        assert r.json() == _error(
            "API_KEY_PERMISSION_DENIED", "The API key lacks a required permission."
        )
    assert _row(db, writer.id).remaining == 3
    assert _row(db, writer.id).requestCount == 0


def test_principal_accepts_sessions_and_key_guards_do_not(
    client: TestClient, db: str, alice: User
) -> None:
    session = make_session(alice)
    seed(db, session)
    bearer = {"Authorization": f"Bearer {session.token}"}
    r = client.get("/whoami", headers=bearer)
    assert r.status_code == 200, r.text
    assert r.json()["credential"] == "bearer"
    assert r.json()["api_key"] is None
    assert client.get("/whoami").status_code == 401
    for path in ("/key-only", "/files"):
        r = client.get(path, headers=bearer)
        assert r.status_code == 401, r.text
        assert r.json() == _error("NOT_AUTHENTICATED", "An API key is required.")


def test_configured_headers_are_read_in_order(
    db: str, issuer: TokenIssuer, alice: User
) -> None:
    row, key = make_api_key(alice)
    seed(db, row)
    app = _app(db, issuer, api_key_headers="x-first, X-Second")
    with TestClient(app) as client:
        assert client.get("/key-only", headers={"x-api-key": key}).status_code == 401
        r = client.get("/key-only", headers={"x-second": key, "x-first": ""})
        assert r.status_code == 200, r.text
        assert r.json() == alice.id


def test_unhashed_keys_when_hashing_is_off(
    db: str, issuer: TokenIssuer, alice: User
) -> None:
    row, key = make_api_key(alice)
    row.key = key  # disableKeyHashing: true stores the key itself
    seed(db, row)
    with TestClient(_app(db, issuer, api_key_hashing=False)) as client:
        assert client.get("/key-only", headers={"x-api-key": key}).status_code == 200


def test_keys_never_reach_the_logs(
    client: TestClient, db: str, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    good, good_key = make_api_key(alice)
    gone, gone_key = make_api_key(alice, enabled=False)
    seed(db, good, gone)
    with caplog.at_level(logging.DEBUG):
        client.get("/whoami", headers={"x-api-key": good_key})
        client.get("/whoami", headers={"x-api-key": gone_key})
        client.get("/whoami", headers={"x-api-key": "y" * 70})

    def logged(records: list[logging.LogRecord]) -> str:
        return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in records)

    ours = [r for r in caplog.records if r.name.startswith("fastapi_better_auth")]
    assert "better_auth.api_key_refused" in logged(ours)
    assert "better_auth.authentication_failed" in logged(ours)
    assert good.key not in logged(ours)  # nor its hash, in our lines
    for secret in (good_key, gone_key, "y" * 70):  # in no line, the driver's included
        assert secret not in logged(caplog.records)


def test_concurrent_verifications_use_remaining_exactly_once(
    db: str, issuer: TokenIssuer, alice: User
) -> None:
    uses = 6
    row, key = make_api_key(alice, remaining=uses, rate_limit_enabled=False)
    seed(db, row)
    assert issuer.issuer is not None
    settings = settings_for(issuer.issuer, db, database_pool_size=8)

    async def hammer() -> list[bool]:
        async with BetterAuth(settings) as auth:

            async def once() -> bool:
                try:
                    await verify_api_key(auth, key)
                except (ApiKeyUsageExceededError, InvalidApiKeyError):
                    return False  # exhausted, or already deleted by an exhausted use
                return True

            return list(await asyncio.gather(*(once() for _ in range(3 * uses))))

    outcomes = run(hammer())
    assert sum(outcomes) == uses
    assert _row(db, row.id) is None or _row(db, row.id).remaining == 0


def test_concurrent_verifications_stop_at_the_rate_limit(
    db: str, issuer: TokenIssuer, alice: User
) -> None:
    row, key = make_api_key(alice, rate_limit_max=4, last_request=utcnow())
    seed(db, row)
    assert issuer.issuer is not None
    settings = settings_for(issuer.issuer, db, database_pool_size=8)

    async def hammer() -> list[str]:
        async with BetterAuth(settings) as auth:

            async def once() -> str:
                try:
                    await verify_api_key(auth, key)
                except ApiKeyRateLimitedError as error:
                    return error.code.value
                return "ok"

            return list(await asyncio.gather(*(once() for _ in range(12))))

    outcomes = run(hammer())
    assert outcomes.count("ok") == 4
    assert outcomes.count("API_KEY_RATE_LIMITED") == 8
    assert _row(db, row.id).requestCount == 4


def test_models_under_snake_plural_naming() -> None:
    from fastapi_better_auth import SchemaNaming

    naming = SchemaNaming.from_mappings(use_plural=True, column_case="snake")
    model = get_api_key_model(naming)
    assert model is get_api_key_model(naming)
    table = model.__table__  # type: ignore[attr-defined]
    assert table.name == "apikeys"
    assert {"reference_id", "rate_limit_time_window", "metadata"} <= set(
        table.c.keys()
    ) | {c.name for c in table.c}
    assert get_api_key_model() is ApiKey


def test_key_without_rate_limit_values_is_only_stamped(
    client: TestClient, db: str, alice: User
) -> None:
    key = "k" * 64
    row = ApiKey(
        id="minimal",
        reference_id=alice.id,
        key=hash_api_key(key),
    )
    seed(db, row)  # the model's defaults are the plugin's
    before = _row(db, "minimal")
    assert (before.configId, before.enabled, before.rateLimitMax) == (
        "default",
        True,
        10,
    )
    execute(
        db, update(ApiKey).where(ApiKey.id == "minimal").values(rate_limit_max=None)
    )
    assert client.get("/whoami", headers={"x-api-key": key}).status_code == 200
    after = _row(db, "minimal")
    assert (after.requestCount, after.lastRequest) == (0, None)
    assert after.updatedAt > before.updatedAt


def test_openapi_offers_either_credential_for_principal_routes(
    client: TestClient,
) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["paths"]["/whoami"]["get"]["security"] == [
        {"BetterAuthApiKey": []},
        {"BetterAuthBearer": []},
    ]
    for path in ("/files", "/key-only"):
        assert spec["paths"][path]["get"]["security"] == [{"BetterAuthApiKey": []}]
    assert spec["components"]["securitySchemes"]["BetterAuthApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "An API key of Better-Auth's API-key plugin.",
    }


def test_request_log_line_names_the_key_owner_and_key_id(
    db: str, issuer: TokenIssuer, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    """The request line (INFO) names an API-key request's user, ``credential="api_key"`` and
    the key's id, as it names a session's; a refused key's line names nobody; never the key."""
    from fastapi_better_auth import RequestLoggingMiddleware

    row, key = make_api_key(alice)
    gone, gone_key = make_api_key(alice, enabled=False)
    seed(db, row, gone)
    app = _app(db, issuer)
    app.add_middleware(RequestLoggingMiddleware)
    with caplog.at_level(logging.INFO), TestClient(app) as client:
        for path, sent, request_id in [
            ("/whoami", key, "req-principal"),
            ("/key-only", key, "req-key-only"),
            ("/key-only", gone_key, "req-refused"),
        ]:
            client.get(path, headers={"x-api-key": sent, "X-Request-ID": request_id})
    lines = {
        r.request_id: r.__dict__  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "fastapi_better_auth.access"
    }
    for request_id in ("req-principal", "req-key-only"):
        line = lines[request_id]
        assert (line["status"], line["user_id"], line["credential"]) == (
            200,
            alice.id,
            "api_key",
        )
        assert (line["api_key_id"], line["impersonated_by"]) == (row.id, None)
    assert lines["req-refused"]["status"] == 401
    assert "user_id" not in lines["req-refused"]
    assert "api_key_id" not in lines["req-refused"]
    for secret in (key, gone_key, row.key):
        assert secret not in caplog.text
