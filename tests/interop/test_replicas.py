"""Scale-out proven: three API replicas behind a real HAProxy, one PostgreSQL, one Redis, one Better-Auth.

The replicas are uvicorn processes (:mod:`tests.replicas`) and HAProxy runs
``examples/scale/haproxy.cfg``, the compose stack's file. Each replica names itself in an
``X-Replica`` header (the test app's, not the library's). Revocations are checked on every
replica directly, so "refused by all replicas" does not depend on where the balancer sends a
request. The default ``interop`` run covers sessions in the database and JWT bearers with
``freshness=always``; ``FBA_REPLICAS_FULL=1`` (``nox -s replicas``) adds Redis
``secondaryStorage``, every credential kind, the ``cached`` bound and the ``never`` contrast
(each mode restarts the replicas, the slow part).
"""

import collections
import dataclasses
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.interop.flow import KINDS, Kind, login, require_node, sign_in, unique_email
from tests.interop.replica_stack import (
    ACTIONS,
    Stack,
    act,
    kid_of,
    refused,
    running_stack,
)
from tests.pg import PostgresServer
from tests.replicas import REPLICA_HEADER

pytestmark = pytest.mark.interop
require_node()

FULL = bool(os.environ.get("FBA_REPLICAS_FULL"))
STORAGES = ["database", "redis"] if FULL else ["database"]
RUN_KINDS: tuple[Kind, ...] = KINDS if FULL else ("jwt",)
#: BETTER_AUTH_FRESHNESS_CACHE_SECONDS of the ``cached`` runs: the bound pinned below.
CACHE_SECONDS = 2.0
#: The load of the kill test: concurrent clients and the least number of requests.
CLIENTS, REQUESTS = 4, 240
#: Each client's pause between requests (about 4 x 40 requests a second at most).
PACE = 0.025


@pytest.fixture(scope="module", params=STORAGES)
def stack(
    request: pytest.FixtureRequest,
    postgres: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    storage = str(request.param)
    redis_url = None
    if storage == "redis":  # its own Redis database: the other interop tests use 1, 2
        redis_url = request.getfixturevalue("redis_server").url(db=3)
    logs = tmp_path_factory.mktemp(f"replicas-{storage}")
    with running_stack(
        postgres, storage, logs, redis_url=redis_url, cache_seconds=CACHE_SECONDS
    ) as running:
        yield running


def test_traffic_is_spread_over_every_replica(stack: Stack) -> None:
    stack.use("always")
    user = login(stack.server, unique_email("spread"))
    answered: collections.Counter[str] = collections.Counter()
    for _ in range(30):
        response = stack.get(stack.replicas.balancer.url, "/auth/me", user)
        assert response.status_code == 200, response.text
        answered[response.headers[REPLICA_HEADER]] += 1
    assert set(answered) == stack.replicas.names
    assert min(answered.values()) >= 5, answered  # round robin: about 10 each


@pytest.mark.parametrize("action", ACTIONS)
def test_a_ban_or_revoke_is_refused_by_every_replica_on_the_next_request(
    stack: Stack, action: str
) -> None:
    stack.use("always")
    user = login(stack.server, unique_email(action))
    other = sign_in(stack.server, user.email)  # a session the revocation leaves alone
    for kind in RUN_KINDS:
        assert stack.each_replica(user, kind) == stack.everyone
    act(stack, action, user)
    for kind in RUN_KINDS:
        statuses = stack.each_replica(user, kind)
        assert refused(statuses), (action, kind, statuses)
        through = stack.get(stack.replicas.balancer.url, "/auth/me", user, kind)
        assert through.status_code in (401, 403)
        if action.endswith("revoke"):
            assert stack.each_replica(other, kind) == stack.everyone


def test_jwks_rotation_is_picked_up_by_every_replica(stack: Stack) -> None:
    """Better-Auth mints a new key once the newest one expired (its rotationInterval); moving
    the key's expiry into the past stands for the hour passing."""
    stack.use("always")
    user = login(stack.server, unique_email("rotation"))
    old = user.jwt
    assert stack.each_replica(user, "jwt") == stack.everyone
    stack.sql("UPDATE jwks SET \"expiresAt\" = now() - interval '1 second'")
    new = stack.server.token(user.cookie)
    assert kid_of(new) != kid_of(old)
    assert {kid_of(new), kid_of(old)} <= {k["kid"] for k in stack.server.jwks()["keys"]}
    rotated = dataclasses.replace(user, jwt=new)
    assert stack.each_replica(rotated, "jwt") == stack.everyone
    # the old key stays in the JWKS for its grace period: its tokens still pass everywhere
    assert stack.each_replica(user, "jwt") == stack.everyone


def test_a_replica_killed_and_restarted_mid_load_loses_no_request(stack: Stack) -> None:
    stack.use("always")
    user = login(stack.server, unique_email("load"))
    balancer, victim = stack.replicas.balancer.url, stack.replicas.replicas[1]
    results: list[tuple[int, str]] = []
    lock, stop = threading.Lock(), threading.Event()

    def client_loop() -> None:
        with httpx.Client(base_url=balancer, timeout=15.0) as client:
            while not stop.is_set():
                try:
                    response = client.get(
                        "/api/v1/auth/me", headers=user.headers("jwt")
                    )
                    outcome = (
                        response.status_code,
                        response.headers.get(REPLICA_HEADER, "?"),
                    )
                except httpx.TransportError as error:
                    outcome = (0, type(error).__name__)
                with lock:
                    results.append(outcome)
                time.sleep(PACE)  # a steady load, not a CPU hog starving the restart

    def wait_until(condition: Any, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.02)

    retried = stack.replicas.balancer.redispatched()
    threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(results) >= REQUESTS // 4, "the load to run")
        victim.kill()  # SIGKILL by PID, requests in flight
        killed_at = len(results)
        # on the same port, as an orchestrator restarts it
        victim.start(stack.replicas.settings)
        restarted_at = len(results)
        wait_until(
            lambda: (
                len(results) >= REQUESTS
                and any(name == victim.name for _, name in results[restarted_at:])
            ),
            "the restarted replica to take traffic",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    failures = collections.Counter(outcome for outcome in results if outcome[0] != 200)
    assert not failures, failures
    balancer_log = stack.replicas.balancer
    deadline = time.monotonic() + 5  # HAProxy's log lines reach its file a moment later
    while balancer_log.redispatched() == retried and time.monotonic() < deadline:
        time.sleep(0.1)
    assert balancer_log.redispatched() > retried  # none lost because HAProxy retried
    assert len(results) >= REQUESTS
    # the dead replica answered nothing (each client may still log one answer from before)
    during = {name for _, name in results[killed_at + CLIENTS : restarted_at]}
    assert victim.name not in during
    assert {name for _, name in results[restarted_at:]} == stack.replicas.names


@pytest.mark.skipif(not FULL, reason="FBA_REPLICAS_FULL=1 (nox -s replicas)")
@pytest.mark.parametrize("action", ACTIONS)
def test_cached_refuses_on_every_replica_once_the_bound_passed(
    stack: Stack, action: str
) -> None:
    """``cached`` may let a ban or revocation through for up to FRESHNESS_CACHE_SECONDS on a
    replica that checked just before; after the bound every replica refuses."""
    stack.use("cached")
    user = login(stack.server, unique_email(f"cached-{action}"))
    for kind in RUN_KINDS[1:]:
        assert stack.each_replica(user, kind) == stack.everyone
    # the JWT is checked last: the contrast below reads its fresh entries
    warmed = time.monotonic()
    assert stack.each_replica(user, "jwt") == stack.everyone
    act(stack, action, user)
    acted = time.monotonic()
    stale = stack.each_replica(user, "jwt")
    # the cache is real: a replica answers from it (unless the machine was too slow to tell)
    if time.monotonic() - warmed < CACHE_SECONDS * 0.75:
        assert 200 in stale.values(), stale
    time.sleep(max(0.0, acted + CACHE_SECONDS + 0.1 - time.monotonic()))
    for kind in RUN_KINDS:
        statuses = stack.each_replica(user, kind)
        assert refused(statuses), (action, kind, statuses)


@pytest.mark.skipif(not FULL, reason="FBA_REPLICAS_FULL=1 (nox -s replicas)")
def test_never_lets_a_banned_jwt_through_on_every_replica(stack: Stack) -> None:
    """The documented contrast: ``never`` trusts the JWT's snapshot until it expires, on every
    replica, while session tokens are still looked up and refused."""
    stack.use("never")
    user = login(stack.server, unique_email("never"))
    assert stack.each_replica(user, "jwt") == stack.everyone
    act(stack, "ba-ban", user)
    assert stack.each_replica(user, "jwt") == stack.everyone
    assert refused(stack.each_replica(user, "raw"))
    assert refused(stack.each_replica(user, "cookie"))


#: ``push``'s bound: every replica refuses within this many seconds of the write's answer.
PUSH_BOUND = 0.1


@pytest.mark.parametrize("action", ACTIONS)
def test_push_refuses_on_every_replica_within_100_ms(stack: Stack, action: str) -> None:
    """``push``: each replica keeps what it checked (no read while nothing changes), and the
    triggers' NOTIFY (Redis's key events for its sessions) reach every replica's listener."""
    install_push(stack)
    stack.use("push")
    user = login(stack.server, unique_email(f"push-{action}"))
    for kind in RUN_KINDS:
        for _ in range(2):  # the second answer comes from each replica's cache
            assert stack.each_replica(user, kind) == stack.everyone
    act(stack, action, user)
    acted = time.perf_counter()
    while not refused(statuses := stack.each_replica(user, RUN_KINDS[0])):
        assert time.perf_counter() - acted < 1.0, (action, statuses)
    elapsed = time.perf_counter() - acted
    print(
        f"push, {stack.storage}, {action}: every replica refused in {elapsed * 1000:.1f} ms"
    )
    assert elapsed < PUSH_BOUND, (action, elapsed)
    for kind in RUN_KINDS[1:]:
        assert refused(stack.each_replica(user, kind)), (action, kind)


def install_push(stack: Stack) -> None:
    """``migrate notify`` on the stack's database; key events on its Redis (sessions there)."""
    from redis import Redis
    from sqlalchemy.ext.asyncio import create_async_engine

    from fastapi_better_auth._schema.notify import install_triggers
    from tests.helpers import run

    async def install() -> None:
        engine = create_async_engine(stack.postgres.url(stack.database))
        try:
            await install_triggers(engine)
        finally:
            await engine.dispose()

    run(install())
    redis_url = stack.base.get("BETTER_AUTH_REDIS_URL")
    if redis_url is not None:
        client = Redis.from_url(redis_url)
        try:
            client.config_set("notify-keyspace-events", "KEA")  # includes Eg$xe
        finally:
            client.close()
