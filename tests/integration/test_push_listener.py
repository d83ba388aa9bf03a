"""The PostgreSQL listener on a real server: latency, loss of the connection, odd payloads.

Bounds pinned here: a trigger's notification reaches the callback in < 100 ms at p99 on
loopback; a backend killed by the server makes the listener untrustworthy within 100 ms
(asyncpg's termination callback) and a silently dead link within the health check's interval
plus timeout; after reconnecting the first event is ``Reset``, before it vouches again.
"""

import asyncio
import contextlib
import logging
import statistics
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_better_auth import ConfigurationError, SchemaNaming
from fastapi_better_auth._push import Event, Reset, SessionChanged, UserChanged
from fastapi_better_auth._push import sql as push_sql
from fastapi_better_auth._push.events import parse_payload
from fastapi_better_auth._push.postgres import PostgresListener, listen_connector
from fastapi_better_auth._schema import migrate as _migrate
from fastapi_better_auth._schema.notify import drop_triggers, install_triggers
from tests.pg import PostgresServer, free_port

pytestmark = pytest.mark.anyio

BAN = """UPDATE "user" SET banned = NOT coalesce(banned, false) WHERE id = 'u1'"""


class Recorder:
    """The events a listener delivered, with a way to wait for the next ones."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.arrived = asyncio.Event()
        self.stamps: list[float] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self.stamps.append(time.perf_counter())
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), deadline - time.monotonic())


async def _until(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition()`` holds (polled every millisecond), failing past ``timeout``."""
    start = time.perf_counter()
    while not condition():
        assert time.perf_counter() - start < timeout, "condition not reached in time"
        await asyncio.sleep(0.001)
    return time.perf_counter() - start


@pytest.fixture
async def dsn(postgres: PostgresServer, pg_database: str) -> str:
    """A migrated database with the triggers and one user ``u1`` with a session ``s1``."""
    engine = create_async_engine(postgres.url(pg_database))
    try:
        await _migrate.upgrade(engine)
        await install_triggers(engine)
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(postgres.dsn(pg_database))
    try:
        await connection.execute(
            """INSERT INTO "user" (id, name, email, "emailVerified", "updatedAt")
               VALUES ('u1', 'Ada', 'ada@example.com', true, now());
               INSERT INTO session (id, "expiresAt", token, "updatedAt", "userId")
               VALUES ('s1', now() + interval '1 day', 'secret-token-s1', now(), 'u1')"""
        )
    finally:
        await connection.close()
    return postgres.dsn(pg_database)


@pytest.fixture
async def writer(dsn: str) -> AsyncIterator[Any]:
    connection = await asyncpg.connect(dsn)
    yield connection
    await connection.close()


@contextlib.asynccontextmanager
async def listening(
    connect: Callable[[], Any],
    recorder: Recorder,
    health_interval: float = 0.5,
    health_timeout: float = 1.0,
) -> AsyncIterator[PostgresListener]:
    listener = PostgresListener(
        connect,
        recorder,
        health_interval=health_interval,
        health_timeout=health_timeout,
    )
    try:
        assert await listener.start(wait=5.0)
        yield listener
    finally:
        await listener.stop()
    assert not listener.trustworthy


async def test_notification_reaches_the_callback_within_100_ms_at_p99(
    dsn: str, writer: Any
) -> None:
    recorder = Recorder()
    latencies = []
    async with listening(listen_connector(dsn), recorder):
        await recorder.wait_for(1)
        assert recorder.events == [Reset("connected")]
        for count in range(2, 202):
            before = time.perf_counter()
            await writer.execute(BAN)  # autocommit: notified at commit
            await recorder.wait_for(count)
            latencies.append(recorder.stamps[-1] - before)
    assert set(recorder.events[1:]) == {UserChanged("u1")}
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(f"push latency over {len(latencies)} events: median "
          f"{statistics.median(latencies) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")  # fmt: skip
    assert p99 < 0.100


async def test_killed_connection_distrusts_at_once_then_reconnects_with_reset_first(
    dsn: str, writer: Any
) -> None:
    recorder = Recorder()
    async with listening(listen_connector(dsn), recorder) as listener:
        await recorder.wait_for(1)
        killed = await writer.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        assert killed == 1
        untrusted_after = await _until(lambda: not listener.trustworthy, 0.1)
        await writer.execute(BAN)  # while down: covered by the Reset on reconnect
        await _until(lambda: listener.trustworthy, 5.0)
        assert recorder.events[1] == Reset("connected")
        await writer.execute(BAN)
        await recorder.wait_for(3)
        assert recorder.events[2] == UserChanged("u1")
    print(f"untrustworthy {untrusted_after * 1000:.1f} ms after pg_terminate_backend")


CANCEL_REQUEST_CODE = 80877102  # the frontend/backend protocol's CancelRequest message


class FreezingProxy:
    """A TCP relay to PostgreSQL that can stop relaying without closing: a silent partition."""

    def __init__(self, port: int) -> None:
        self.target, self.port, self.frozen = port, free_port(), False
        self.cancel_requests = (
            0  # PostgreSQL CancelRequest messages seen, frozen or not
        )
        self._server: asyncio.Server | None = None

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                if not self.frozen:
                    writer.write(data)
                    await writer.drain()
        writer.close()

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:  # a startup, SSL or cancel request: length and code first
            first = await reader.readexactly(8)
        except asyncio.IncompleteReadError:
            writer.close()
            return
        if int.from_bytes(first[4:], "big") == CANCEL_REQUEST_CODE:
            self.cancel_requests += 1
        if self.frozen:  # a partition: no new connection gets through either
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target
        )
        upstream_writer.write(first)
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def __aenter__(self) -> "FreezingProxy":
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


async def test_silently_dead_link_distrusts_within_the_health_check_bound(
    postgres: PostgresServer, dsn: str, writer: Any
) -> None:
    recorder = Recorder()
    database = dsn.rsplit("/", 1)[1]
    async with FreezingProxy(postgres.port) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{database}"
        connect = listen_connector(url)
        async with listening(connect, recorder, 0.2, 0.3) as listener:
            await recorder.wait_for(1)
            proxy.frozen = True
            await writer.execute(BAN)  # lost in the partition
            # the bound: interval + timeout (0.5 s), plus slack for a busy machine
            waited = await _until(lambda: not listener.trustworthy, 0.2 + 0.3 + 0.25)
            proxy.frozen = False
            await _until(lambda: listener.trustworthy, 5.0)
            assert Reset("connected") in recorder.events[1:]
    # the overdue health check was ended by closing its connection: a cancel request can
    # kill a PgBouncer 1.18 (tests/integration/test_pgbouncer.py)
    assert proxy.cancel_requests == 0
    print(f"untrustworthy {waited * 1000:.0f} ms after the link froze (bound 500 ms)")


async def test_bad_payload_resets_and_never_logs_its_text(
    dsn: str, writer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    caplog.set_level(logging.WARNING, "fastapi_better_auth")
    async with listening(listen_connector(dsn), recorder):
        await recorder.wait_for(1)
        for payload in ("secret-token-xyz", '{"v": 2}', '{"v": 1, "kind": "user"}'):
            await writer.execute(f"NOTIFY {push_sql.CHANNEL}, '{payload}'")
        await writer.execute("UPDATE session SET token = 'rotated' WHERE id = 's1'")
        await recorder.wait_for(5)
    assert recorder.events[1:] == [
        Reset("unreadable payload"),
        Reset("unknown payload format"),
        Reset("unknown payload kind"),
        SessionChanged("s1", "u1"),
    ]
    assert "secret-token" not in caplog.text and "rotated" not in caplog.text
    assert caplog.text.count("better_auth.push_bad_payload") == 3


async def test_failing_callback_is_logged_and_followed_by_a_reset(
    dsn: str, writer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Event] = []

    def callback(event: Event) -> None:
        seen.append(event)
        if isinstance(event, UserChanged):
            raise RuntimeError("cache bug")

    listener = PostgresListener(listen_connector(dsn), callback)
    try:
        assert await listener.start(wait=5.0)
        await writer.execute(BAN)
        await _until(lambda: len(seen) == 3, 5.0)
    finally:
        await listener.stop()
    assert seen == [Reset("connected"), UserChanged("u1"), Reset("callback failed")]
    assert "better_auth.push_callback_failed" in caplog.text


async def test_triggers_are_detected_at_start(
    postgres: PostgresServer, dsn: str
) -> None:
    listener = PostgresListener(listen_connector(dsn), Recorder())
    assert (await listener.triggers(SchemaNaming())).installed
    plural = await listener.triggers(SchemaNaming(use_plural=True))
    assert plural.problems[0] == "trigger fba_notify on users is missing"
    engine = create_async_engine(postgres.url(dsn.rsplit("/", 1)[1]))
    try:
        await drop_triggers(engine)
    finally:
        await engine.dispose()
    assert not (await listener.triggers(SchemaNaming())).installed


async def test_unreachable_database_is_retried_and_never_trusted() -> None:
    recorder = Recorder()
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres?connect_timeout=2"
    listener = PostgresListener(listen_connector(url), recorder)
    try:
        assert not await listener.start(wait=0.3)
    finally:
        await listener.stop()
    assert recorder.events == []


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:pw@db.example.com/app?pgbouncer=true",
        "postgresql://u:pw@db.example.com:6543/app",
        "postgresql://u:pw@ep-1-pooler.neon.tech/app",
    ],
)
def test_listen_url_through_a_transaction_pooler_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        listen_connector(url)
    assert "BETTER_AUTH_LISTEN_DATABASE_URL" in caught.value.message
    assert "pw" not in caught.value.message and "***" in caught.value.message


def test_listen_url_with_the_pooler_setting_or_not_postgresql_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="transaction pooler"):
        listen_connector("postgresql://u@db/app", transaction_pooler=True)
    with pytest.raises(ConfigurationError, match="needs PostgreSQL"):
        listen_connector("sqlite:///app.db")


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        ('{"v": 1, "kind": "user", "id": 42}', UserChanged("42")),  # a serial id
        ('{"v": 1, "kind": "session", "id": "s", "user": null}', SessionChanged("s")),
        ('{"v": 1, "kind": "user", "id": true}', Reset("unknown payload kind")),
        ("[1]", Reset("unknown payload format")),
        ('{"v": 1, "kind": "reset"}', Reset("table truncated")),
    ],
)
def test_payload_parsing(payload: str, event: Event) -> None:
    assert parse_payload(payload) == event


async def test_healthy_connection_stays_trusted_and_confirmed(dsn: str) -> None:
    recorder = Recorder()
    async with listening(listen_connector(dsn), recorder, 0.05, 1.0) as listener:
        first = listener.confirmed_at
        await _until(lambda: listener.confirmed_at > first + 0.2, 2.0)
        assert listener.trustworthy
    assert recorder.events == [Reset("connected")]


async def test_connection_that_stops_listening_is_replaced(
    dsn: str, writer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """What a transaction pooler does (the next query on a server connection that never
    listened), made on a direct connection by ``UNLISTEN``: the health check notices."""
    connections: list[Any] = []
    connect = listen_connector(dsn)

    async def keep() -> Any:
        connections.append(await connect())
        return connections[-1]

    recorder = Recorder()
    async with listening(keep, recorder, 0.3, 1.0) as listener:
        await connections[0].execute("UNLISTEN *")  # before the first health check
        await _until(lambda: len(connections) == 2 and listener.trustworthy, 5.0)
        await writer.execute(BAN)
        await recorder.wait_for(3)
    assert recorder.events == [
        Reset("connected"),
        Reset("connected"),
        UserChanged("u1"),
    ]
    assert "better_auth.push_not_listening" in caplog.text
