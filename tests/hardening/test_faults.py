"""Faults of what the app depends on, driven through HTTP: PostgreSQL and the JWKS endpoint.

PostgreSQL here is a private cluster this module stops, starts and restarts; the JWKS server
answers what each test tells it (errors, garbage, a redirect, a hang). Every assertion is on
statuses, bodies and request counts, never on time; waits are bounded liveness guards.
"""

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from fastapi_better_auth._testing_server import JWKSServer, running_jwks_server
from fastapi_better_auth.models import Session, User
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_session,
    make_user,
    user_claims,
)
from tests.hardening.conftest import assert_error_shape, bearer
from tests.helpers import execute, guarded_app, seed, settings_for
from tests.pg import PostgresServer, running_postgres

pytestmark = pytest.mark.postgres

#: Upper bound of requests a loop may send while a fault is in effect.
MAX_REQUESTS = 400


@dataclass
class Rig:
    pg: PostgresServer
    url: str
    jwks: JWKSServer
    issuer: TokenIssuer
    alice: User
    root: User
    alice_token: str
    root_token: str
    client: TestClient

    def jwt(self, user: User) -> str:
        return self.issuer.mint(user_claims(user))


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this module alone, so stopping it disturbs no other test."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def rig(private_pg: PostgresServer) -> Iterator[Rig]:
    """The guarded app on the private cluster, with a JWKS whose cache expires on every request.

    ``max-age=0`` and ``jwks_min_cache_seconds=0`` make each request find the keys stale, so
    each one may start a background refresh; ``jwks_min_refresh_seconds=0`` lifts the cooldown.
    That is the worst case for fetch counts: any bound seen here holds for real settings.
    """
    name = "f_" + secrets.token_hex(6)
    private_pg.psql(f"CREATE DATABASE {name}")
    url = private_pg.url(name)
    alice = make_user(name="Alice", email="alice@example.com", email_verified=True)
    root = make_user(name="Root", email="root@example.com", role="admin")
    alice_session, root_session = make_session(alice), make_session(root)
    seed(url, alice, root, alice_session, root_session, migrate=True)
    with running_jwks_server() as jwks:
        issuer = TokenIssuer(issuer=jwks.url)
        jwks.serve(issuer.current.public_jwk())
        jwks.headers = {"Cache-Control": "max-age=0"}
        settings = settings_for(
            jwks.url,
            url,
            jwks_min_cache_seconds=0,
            jwks_min_refresh_seconds=0,
            jwks_timeout_seconds=60,
        )
        with TestClient(guarded_app(settings), raise_server_exceptions=False) as client:
            yield Rig(
                private_pg,
                url,
                jwks,
                issuer,
                alice,
                root,
                alice_session.token,
                root_session.token,
                client,
            )
            jwks.release()
    if not _accepts_connections(private_pg):
        private_pg.start()
    private_pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _accepts_connections(pg: PostgresServer) -> bool:
    try:
        pg.psql("SELECT 1")
    except Exception:
        return False
    return True


def _wait_for(condition: Callable[[], bool], limit: int = 600) -> None:
    """A liveness guard: poll ``condition`` a bounded number of times (about 30 s at most)."""
    event = threading.Event()
    for _ in range(limit):
        if condition():
            return
        event.wait(0.05)
    raise AssertionError("condition not reached")


# --- PostgreSQL ----------------------------------------------------------------------------


def test_database_stopped_answers_503_retry_after_then_recovers_without_restart(
    rig: Rig,
) -> None:
    jwt = rig.jwt(rig.alice)
    for headers in (bearer(rig.alice_token), bearer(jwt)):
        assert rig.client.get("/me", headers=headers).status_code == 200
    rig.pg.stop()
    try:
        for path, headers in (
            ("/me", bearer(rig.alice_token)),
            ("/me", bearer(jwt)),
            ("/api/v1/auth/accounts", bearer(rig.alice_token)),
            ("/api/v1/health/db", {}),
        ):
            response = rig.client.get(path, headers=headers)
            detail = assert_error_shape(response, 503)
            assert detail["code"] == "DATABASE_UNAVAILABLE", path
            assert int(response.headers["retry-after"]) > 0
        assert (
            rig.client.get("/api/v1/health").status_code == 200
        )  # liveness needs no database
    finally:
        rig.pg.start()
    for path, headers in (
        ("/api/v1/health/db", {}),
        ("/me", bearer(rig.alice_token)),
        ("/me", bearer(jwt)),
    ):
        response = rig.client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text)


def test_database_restarted_between_requests_first_request_after_succeeds(
    rig: Rig,
) -> None:
    """Pooled connections die with the server; pre-ping replaces them, no request fails."""
    for _ in range(3):
        assert rig.client.get("/me", headers=bearer(rig.alice_token)).status_code == 200
    rig.pg.restart()
    response = rig.client.get("/me", headers=bearer(rig.alice_token))
    assert response.status_code == 200, response.text


def test_database_restarted_during_requests_answers_only_200_or_503(rig: Rig) -> None:
    """Requests keep coming while PostgreSQL restarts (up to five times, until a wrong answer)."""
    statuses: list[int] = []
    jwt = rig.jwt(rig.alice)
    for _ in range(5):
        restarter = threading.Thread(target=rig.pg.restart)
        restarter.start()
        try:
            sent = 0
            while restarter.is_alive() and sent < MAX_REQUESTS:
                for headers in (bearer(rig.alice_token), bearer(jwt)):
                    statuses.append(rig.client.get("/me", headers=headers).status_code)
                    sent += 1
        finally:
            restarter.join(60)
        if not set(statuses) <= {200, 503}:
            break
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert rig.client.get("/me", headers=bearer(rig.alice_token)).status_code == 200


def test_database_refusing_connections_answers_503_retry_after(rig: Rig) -> None:
    database = rig.url.rsplit("/", 1)[1]
    assert rig.client.get("/me", headers=bearer(rig.alice_token)).status_code == 200
    rig.pg.psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
    rig.pg.psql(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
    )
    try:
        response = rig.client.get("/me", headers=bearer(rig.alice_token))
        detail = assert_error_shape(response, 503)
        assert detail["code"] == "DATABASE_UNAVAILABLE"
    finally:
        rig.pg.psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert rig.client.get("/me", headers=bearer(rig.alice_token)).status_code == 200


# --- JWKS ---------------------------------------------------------------------------------

FAULTS: dict[str, dict[str, object]] = {
    "status-503": {"status": 503},
    "status-500": {"status": 500},
    "status-404": {"status": 404},
    "garbage-json": {"body": b'{"keys": [{"kty": "OKP"'},
    "garbage-bytes": {"body": b"\x00\xff" * 1000},
    "html": {"body": b"<html>maintenance</html>", "content_type": "text/html"},
    "empty-key-set": {"body": b'{"keys": []}'},
    "oversized": {"body": b'{"keys": [], "pad": "' + b"x" * 200_000 + b'"}'},
}


def _apply(jwks: JWKSServer, fault: dict[str, object]) -> None:
    if "status" in fault:
        jwks.status = int(fault["status"])  # type: ignore[call-overload]
    if "body" in fault:
        jwks.body = fault["body"]  # type: ignore[assignment]
    if "content_type" in fault:
        jwks.content_type = str(fault["content_type"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_jwks_failing_after_warm_cached_keys_keep_working_bounded_fetches(
    rig: Rig, fault: str
) -> None:
    token = rig.jwt(rig.alice)
    assert rig.client.get("/me", headers=bearer(token)).status_code == 200
    _apply(rig.jwks, FAULTS[fault])
    before = rig.jwks.hits
    requests = 20
    for _ in range(requests):
        response = rig.client.get("/me", headers=bearer(token))
        assert response.status_code == 200, response.text
    # Each request may start at most one background refresh, and never a second while one runs;
    # the one the first request started may still be in flight when ``before`` is read (+1).
    _wait_for(lambda: rig.jwks.hits > before)
    assert rig.jwks.hits <= before + requests + 1
    unknown = rig.issuer.rotate()  # a kid the failing JWKS cannot confirm
    rotated = rig.issuer.mint(user_claims(rig.alice), key=unknown)
    response = rig.client.get("/me", headers=bearer(rotated))
    assert assert_error_shape(response, 401)["code"] == "INVALID_TOKEN"
    rig.jwks.serve(*(key.public_jwk() for key in rig.issuer.keys))  # recovered
    rig.jwks.headers = {"Cache-Control": "max-age=0"}
    _wait_for(lambda: rig.client.get("/me", headers=bearer(rotated)).status_code == 200)


def test_jwks_hanging_refresh_blocks_no_request_and_fetches_once(rig: Rig) -> None:
    token = rig.jwt(rig.alice)
    assert rig.client.get("/me", headers=bearer(token)).status_code == 200
    rig.jwks.hang = True
    before = rig.jwks.hits
    for _ in range(30):  # each would start a refresh; the hanging one is reused
        assert rig.client.get("/me", headers=bearer(token)).status_code == 200
        assert rig.client.get("/me", headers=bearer(rig.alice_token)).status_code == 200
    _wait_for(lambda: rig.jwks.hits == before + 1)
    assert rig.jwks.hits == before + 1
    rig.jwks.hang = False
    rig.jwks.release()
    _wait_for(lambda: rig.client.get("/me", headers=bearer(token)).status_code == 200)


def test_jwks_redirect_not_followed_attacker_never_called(rig: Rig) -> None:
    token = rig.jwt(rig.alice)
    with running_jwks_server() as attacker:
        attacker.serve(TokenIssuer(issuer=rig.jwks.url).current.public_jwk())
        for status in (301, 302, 307, 308):
            rig.jwks.status = status
            rig.jwks.headers = {
                "Location": attacker.jwks_url,
                "Cache-Control": "max-age=0",
            }
            for _ in range(5):
                assert rig.client.get("/me", headers=bearer(token)).status_code == 200
        _wait_for(lambda: rig.jwks.hits >= 2)
        assert attacker.hits == 0


def test_jwks_slow_cold_start_concurrent_requests_share_one_fetch(
    private_pg: PostgresServer,
) -> None:
    """A cold cache and a slow JWKS: parallel requests wait on one fetch, then all succeed."""
    name = "c_" + secrets.token_hex(6)
    private_pg.psql(f"CREATE DATABASE {name}")
    url = private_pg.url(name)
    alice = make_user(email="alice@example.com")
    seed(url, alice, migrate=True)
    try:
        with running_jwks_server() as jwks:
            issuer = TokenIssuer(issuer=jwks.url)
            jwks.serve(issuer.current.public_jwk())
            jwks.hang = True  # the warm-up in the lifespan hangs too
            settings = settings_for(jwks.url, url, jwks_timeout_seconds=60)
            app = guarded_app(settings)
            token = issuer.mint(user_claims(alice))
            results: list[int] = []
            started = threading.Event()

            def run() -> None:
                with TestClient(app, raise_server_exceptions=False) as client:
                    started.set()
                    threads = [
                        threading.Thread(
                            target=lambda: results.append(
                                client.get("/me", headers=bearer(token)).status_code
                            )
                        )
                        for _ in range(8)
                    ]
                    for thread in threads:
                        thread.start()
                    _wait_for(lambda: jwks.hits >= 1)
                    jwks.release()
                    for thread in threads:
                        thread.join(60)

            runner = threading.Thread(target=run)
            runner.start()
            _wait_for(lambda: jwks.hits >= 1)
            jwks.release()
            runner.join(90)
            assert results == [200] * 8
            assert jwks.hits == 1
    finally:
        private_pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- a ban that fails half-way --------------------------------------------------------------

_FAIL_SESSION_DELETE = """
CREATE FUNCTION refuse_session_delete() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'session delete refused by test trigger'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_session_delete BEFORE DELETE ON "session"
FOR EACH ROW EXECUTE FUNCTION refuse_session_delete();
"""


def test_ban_failing_at_session_deletion_leaves_nothing_half_written(rig: Rig) -> None:
    if "/api/v1/users/{user_id}/ban" not in rig.client.app.openapi()["paths"]:  # type: ignore[attr-defined]
        pytest.skip("POST /api/v1/users/{id}/ban is not mounted yet")
    alice = rig.alice
    database = rig.url.rsplit("/", 1)[1]
    rig.pg.psql(_FAIL_SESSION_DELETE, database)
    admin = bearer(rig.root_token)
    response = rig.client.post(
        f"/api/v1/users/{alice.id}/ban", json={"reason": "spam"}, headers=admin
    )
    assert (
        response.status_code >= 500
    )  # an unexpected database error is a bug-class 500
    assert (
        "Traceback" not in response.text
        and "refused by test trigger" not in response.text
    )
    user = execute(
        rig.url, select(User.banned, User.ban_reason).where(User.id == alice.id)
    )
    assert user == [(False, None)]
    sessions = execute(
        rig.url,
        select(func.count()).select_from(Session).where(Session.user_id == alice.id),
    )
    assert sessions == [(1,)]
    assert rig.client.get("/me", headers=bearer(rig.alice_token)).status_code == 200
    execute(rig.url, text('DROP TRIGGER refuse_session_delete ON "session"'))
    response = rig.client.post(
        f"/api/v1/users/{alice.id}/ban", json={"reason": "spam"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["banned"] is True
    assert rig.client.get("/me", headers=bearer(rig.alice_token)).status_code == 401
