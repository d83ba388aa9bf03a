"""The Redis listener on a real ``redis-server``: Better-Auth's keys become events, quickly,
and a lost subscription is distrusted, then announced by ``Reset`` once it is back.
"""

import asyncio
import hashlib
import logging
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from fastapi_better_auth._push import Event, Reset, SessionChanged, UserChanged
from fastapi_better_auth._push.redis import (
    RedisListener,
    enable_keyspace_events,
    keyspace_status,
    listener_client,
    missing_flags,
)
from tests.integration.test_push_listener import FreezingProxy
from tests.redis_server import RedisServer, running_redis

pytestmark = pytest.mark.anyio

TOKEN = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"  # Better-Auth's shape: 32 letters and digits
HASH = hashlib.sha256(TOKEN.encode()).hexdigest()


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.stamps: list[float] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self.stamps.append(time.perf_counter())

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        await _until(lambda: len(self.events) >= count, timeout)


async def _until(condition: Callable[[], bool], timeout: float) -> float:
    start = time.perf_counter()
    while not condition():
        assert time.perf_counter() - start < timeout, "condition not reached in time"
        await asyncio.sleep(0.0005)
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def keyspace_redis() -> Iterator[RedisServer]:
    """A Redis that publishes key events (``notify-keyspace-events Eg$xe``)."""
    with running_redis(keyspace_events="Eg$xe") as server:
        yield server


@pytest.fixture
async def writer(keyspace_redis: RedisServer) -> AsyncIterator[Any]:
    client = Redis.from_url(keyspace_redis.url(db=2))
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
async def listener(
    keyspace_redis: RedisServer,
) -> AsyncIterator[tuple[RedisListener, Recorder]]:
    recorder = Recorder()
    client = listener_client(keyspace_redis.url(db=2))
    listener = RedisListener(client, recorder, db=2, key_prefix="app:")
    try:
        assert await listener.start(wait=5.0)
        assert recorder.events == [Reset("connected")]
        yield listener, recorder
    finally:
        await listener.stop()
        await client.aclose()
    assert not listener.trustworthy


async def test_session_keys_and_user_lists_become_events(
    listener: tuple[RedisListener, Recorder], writer: Any
) -> None:
    _, recorder = listener
    await writer.set(f"app:{TOKEN}", '{"session": {}}', ex=60)  # created or refreshed
    await writer.set("app:active-sessions-u1", "[]")
    await writer.set("other-app:thing", "1")  # no prefix: not Better-Auth's
    await writer.delete(f"app:{TOKEN}")
    await writer.set("app:revoked-sessions-before-u1", "1", px=50)
    await writer.rename("app:active-sessions-u1", "app:renamed")
    await recorder.wait_for(7)  # the last: the revocation mark expired
    assert recorder.events[1:] == [
        SessionChanged(token_sha256=HASH),  # set
        UserChanged("u1"),  # set
        SessionChanged(token_sha256=HASH),  # del
        UserChanged("u1"),  # set
        UserChanged("u1"),  # rename_from
        UserChanged("u1"),  # expired
    ]
    assert TOKEN not in repr(recorder.events)


async def test_key_event_reaches_the_callback_within_100_ms_at_p99(
    listener: tuple[RedisListener, Recorder], writer: Any
) -> None:
    _, recorder = listener
    latencies = []
    for count in range(2, 202):
        before = time.perf_counter()
        if count % 2:  # a revocation, then the next sign-in
            await writer.delete(f"app:{TOKEN}")
        else:
            await writer.set(f"app:{TOKEN}", "{}")
        await recorder.wait_for(count)
        latencies.append(recorder.stamps[count - 1] - before)
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(f"redis push latency: median {statistics.median(latencies) * 1000:.2f} ms, "
          f"p99 {p99 * 1000:.2f} ms")  # fmt: skip
    assert p99 < 0.100


async def test_killed_subscription_distrusts_then_resets_first(
    listener: tuple[RedisListener, Recorder], writer: Any
) -> None:
    subscriber, recorder = listener
    assert await writer.client_kill_filter(_type="pubsub") == 1
    waited = await _until(lambda: not subscriber.trustworthy, 0.1)
    await writer.delete("app:active-sessions-u9")
    await _until(lambda: subscriber.trustworthy, 5.0)
    assert recorder.events[1] == Reset("connected")
    await writer.set("app:active-sessions-u1", "[]")
    await recorder.wait_for(3)
    assert recorder.events[2] == UserChanged("u1")
    print(f"redis: untrustworthy {waited * 1000:.1f} ms after CLIENT KILL")


async def test_stopped_server_distrusts_and_comes_back_with_reset(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "fastapi_better_auth")
    with running_redis(keyspace_events="AE") as server:
        recorder = Recorder()
        client = listener_client(server.url())
        subscriber = RedisListener(
            client, recorder, health_interval=0.1, health_timeout=0.2
        )
        try:
            assert await subscriber.start(wait=5.0)
            server.stop()
            await _until(lambda: not subscriber.trustworthy, 0.5)
            server.start()
            await _until(lambda: subscriber.trustworthy, 10.0)
            assert recorder.events[-1] == Reset("connected")
        finally:
            await subscriber.stop()
            await client.aclose()
    assert "better_auth.push_redis_lost" in caplog.text


def test_missing_flags() -> None:
    assert missing_flags("") == "Eg$xe"
    assert missing_flags("AKE") == ""
    assert missing_flags("Kx") == "Eg$e"
    assert missing_flags("xeE$g") == ""


async def test_server_without_key_events_is_reported_and_enabled_only_when_asked() -> (
    None
):
    with running_redis() as server:
        client = Redis.from_url(server.url())
        try:
            problem = await keyspace_status(client)
            assert problem is not None and "without Eg$xe" in problem
            assert await enable_keyspace_events(client) == "Eg$xe"
            assert await keyspace_status(client) is None
        finally:
            await client.aclose()


async def test_server_refusing_config_get_is_reported() -> None:
    with running_redis() as server:
        client = Redis.from_url(server.url())
        try:
            await client.execute_command("ACL", "SETUSER", "default", "-config")  # type: ignore[no-untyped-call]
            problem = await keyspace_status(client)
            assert problem is not None and "CONFIG GET" in problem
        finally:
            await client.aclose()


async def test_client_that_reconnects_on_its_own_still_announces_reset(
    keyspace_redis: RedisServer, writer: Any
) -> None:
    """A client with retries (redis-py's default): whether redis-py or the listener reconnects,
    the gap is announced (a new subscription confirmation is read as one)."""
    recorder = Recorder()
    client = Redis.from_url(keyspace_redis.url(db=2))  # retries on
    subscriber = RedisListener(client, recorder, db=2)
    try:
        assert await subscriber.start(wait=5.0)
        assert await writer.client_kill_filter(_type="pubsub") == 1
        await _until(lambda: len(recorder.events) > 1 and subscriber.trustworthy, 5.0)
        assert isinstance(recorder.events[1], Reset)
    finally:
        await subscriber.stop()
        await client.aclose()


async def test_silently_dead_link_distrusts_within_the_health_check_bound(
    keyspace_redis: RedisServer,
) -> None:
    recorder = Recorder()
    async with FreezingProxy(keyspace_redis.port) as proxy:
        client = listener_client(f"redis://127.0.0.1:{proxy.port}/2")
        subscriber = RedisListener(
            client, recorder, db=2, health_interval=0.2, health_timeout=0.3
        )
        try:
            assert await subscriber.start(wait=5.0)
            proxy.frozen = True
            # the bound: interval + timeout (0.5 s), plus slack for a busy machine
            waited = await _until(lambda: not subscriber.trustworthy, 0.75)
        finally:
            await subscriber.stop()
            await client.aclose()
    print(f"redis: untrustworthy {waited * 1000:.0f} ms after the link froze")


async def test_healthy_subscription_stays_trusted_and_confirmed(
    keyspace_redis: RedisServer,
) -> None:
    recorder = Recorder()
    client = listener_client(keyspace_redis.url(db=2))
    subscriber = RedisListener(client, recorder, db=2, health_interval=0.05)
    try:
        assert await subscriber.start(wait=5.0)
        first = subscriber.confirmed_at
        await _until(lambda: subscriber.confirmed_at > first + 0.2, 2.0)
        assert subscriber.trustworthy
    finally:
        await subscriber.stop()
        await client.aclose()
    assert recorder.events == [Reset("connected")]
