"""Through a real PgBouncer 1.18 in transaction mode: no prepared statement outlives its statement.

PgBouncer < 1.21 hands each transaction (each statement, in autocommit) to whichever server
connection is free, and a named prepared statement exists only on the one that made it.
With ``BETTER_AUTH_DATABASE_POOLER=transaction`` (or the URL's ``pgbouncer=true``) asyncpg and
SQLAlchemy cache none and use unnamed statements; without it, start fails and says so.
"""

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import bindparam, select

from fastapi_better_auth import BetterAuth, BetterAuthSettings, ConfigurationError
from fastapi_better_auth.errors import DatabaseUnavailableError
from fastapi_better_auth.models import User
from tests.admin_fixtures import ALICE, BOB, ROOT, ZED, admin_app, bearer
from tests.helpers import run, settings_for
from tests.pg import PostgresServer
from tests.pgbouncer import PgBouncer, find_pgbouncer, running_pgbouncer

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def bouncer(postgres: PostgresServer) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode (5 server connections) in front of the suite's server."""
    if find_pgbouncer() is None and not CI:  # nox's tests session installs it
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    with running_pgbouncer(postgres, pool_size=5) as bouncer:
        yield bouncer


def _through(bouncer: PgBouncer, cast_url: str, query: str = "") -> str:
    return bouncer.url(cast_url.rsplit("/", 1)[1], query)


def _requests() -> list[tuple[str, str, dict[str, str], Any]]:
    """50 calls of the main authenticated routes, a ban and an unban among them."""
    calls: list[tuple[str, str, dict[str, str], Any]] = []
    for i in range(12):
        member = ALICE if i % 2 else ROOT
        calls += [
            ("GET", "/api/v1/auth/me", bearer(member), None),
            ("GET", "/api/v1/auth/session", bearer(member), None),
            ("GET", "/api/v1/users?limit=10", bearer(ROOT), None),
            ("GET", f"/api/v1/users/{ALICE.id}", bearer(ROOT), None),
        ]
    calls.insert(10, ("POST", f"/api/v1/users/{BOB.id}/ban", bearer(ROOT), {}))
    calls.insert(30, ("DELETE", f"/api/v1/users/{ZED.id}/ban", bearer(ROOT), None))
    return calls


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("pgbouncer=true", {}),
        ("", {"database_pooler": "transaction", "database_direct_reads": False}),
    ],
    ids=["url-direct-reads", "setting-sqlalchemy-reads"],
)
def test_transaction_pooler_serves_concurrent_requests(
    bouncer: PgBouncer, url: str, origin: str, query: str, options: dict[str, Any]
) -> None:
    settings = settings_for(origin, _through(bouncer, url, query), **options)
    calls = _requests()
    with (
        TestClient(admin_app(settings)) as client,
        ThreadPoolExecutor(max_workers=len(calls)) as pool,
    ):
        for _ in range(
            3
        ):  # 150 requests, 50 at a time; a server error would raise here
            responses = list(
                pool.map(
                    lambda call: client.request(
                        call[0], call[1], headers=call[2], json=call[3]
                    ),
                    calls,
                )
            )
            statuses = {r.status_code for r in responses}
            assert statuses == {200}, [
                r.text for r in responses if r.status_code != 200
            ]
    assert "prepared statement" not in bouncer.log()


def test_transaction_pooler_without_the_setting_fails_start_naming_it(
    bouncer: PgBouncer, url: str, origin: str
) -> None:
    auth = BetterAuth(settings_for(origin, _through(bouncer, url)))
    try:
        with pytest.raises(ConfigurationError) as info:
            run(auth.start())
    finally:
        run(auth.close())
    assert "BETTER_AUTH_DATABASE_POOLER=transaction" in info.value.message
    assert "pgbouncer=true" in info.value.message


def test_startup_parameters_a_pooler_refuses_fail_start(
    bouncer: PgBouncer, url: str, origin: str
) -> None:
    auth = BetterAuth(
        settings_for(origin, _through(bouncer, url, "pgbouncer=true&schema=public"))
    )
    try:
        with pytest.raises(ConfigurationError) as info:
            run(auth.start())
    finally:
        run(auth.close())
    assert "startup parameter" in info.value.message
    assert "ALTER ROLE" in info.value.message


def test_a_pooler_of_one_server_connection_passes_start(
    postgres: PostgresServer, cast_url: str, origin: str
) -> None:
    """The probe cannot tell (and prepared statements do work with one server connection).

    And it leaves PgBouncer alive. The probe's statement waits for the one server connection
    that its second connection holds; the old probe gave up with a timeout, asyncpg then sent
    a cancel request, and PgBouncer 1.18 died when that raced the client's disconnect
    (``FATAL … disconnect_client(): bad client state: 1``): later connections were refused,
    or waited for a server until ``query_wait_timeout``. Two CI runs failed on it; a local
    loop of three starts reproduced it. The probe now sends no cancel request at all.
    """

    async def start_and_read(settings: BetterAuthSettings) -> Any:
        async with BetterAuth(settings) as auth:
            return await auth.read(lambda db: db.scalar(select(1)))

    for _ in range(3):  # the crash needed a race: a few starts, one PgBouncer
        with running_pgbouncer(postgres, pool_size=1) as single:
            settings = settings_for(origin, _through(single, cast_url))
            try:
                assert run(start_and_read(settings)) == 1
                assert run(start_and_read(settings)) == 1
            except DatabaseUnavailableError as exc:
                pytest.fail(f"{_causes(exc)}\n{single.diagnose()}")
            assert "cancel request" not in single.log(), single.diagnose()
            assert single.alive()


def _causes(exc: BaseException | None) -> str:
    """``exc``'s chain of causes, one line each."""
    lines = []
    while exc is not None:
        lines.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return "\n".join(lines)


def test_the_rig_never_takes_a_foreign_listener_for_its_pgbouncer(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PgBouncer runs on (unix socket only) when its port is taken: the rig must notice.

    The cause of this file's old flake: the port went to another listener between
    ``free_port()`` and PgBouncer's bind, the readiness connect reached that listener, and the
    test's connections were refused once it closed.
    """
    import socket

    import tests.pg
    import tests.pgbouncer

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])
    real = tests.pg.free_port
    monkeypatch.setattr(
        tests.pgbouncer, "free_port", lambda: next(ports, None) or real()
    )
    try:
        with running_pgbouncer(postgres) as bouncer:
            assert bouncer.port != taken.getsockname()[1]
            assert "listening on 127.0.0.1:" in bouncer.log()
            assert run(_select_one(bouncer.url("postgres"))) == 1
    finally:
        taken.close()


async def _select_one(dsn: str) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        return await connection.fetchval("SELECT 1")
    finally:
        await connection.close()


def test_without_the_setting_reads_fail_at_random(
    bouncer: PgBouncer, url: str, origin: str
) -> None:
    """What the start-up check prevents: cached prepared statements meet another server."""
    import asyncpg

    auth = BetterAuth(settings_for(origin, _through(bouncer, url)))
    statement = select(User.id).where(User.id == bindparam("uid"))

    async def reads() -> list[BaseException | Any]:
        import asyncio

        try:
            return await asyncio.gather(
                *(auth.read_row(statement, {"uid": ALICE.id}) for _ in range(200)),
                return_exceptions=True,
            )
        finally:
            await auth.close()

    outcomes = run(reads())
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures, "every read survived: the pooler kept prepared statements"
    assert all(isinstance(f, asyncpg.InvalidSQLStatementNameError) for f in failures)
