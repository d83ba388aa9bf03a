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

import base64
import collections
import contextlib
import dataclasses
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.interop.ba_server import BetterAuthServer, running_better_auth
from tests.interop.flow import (
    KINDS,
    Kind,
    Login,
    login,
    pg_database,
    require_node,
    sign_in,
    unique_email,
)
from tests.pg import PostgresServer
from tests.replicas import REPLICA_HEADER, ReplicaSet, running_replicas

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
ACTIONS = ["ba-ban", "ba-revoke", "our-ban", "our-revoke"]


def kid_of(token: str) -> str:
    segment = token.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return str(header["kid"])


@dataclass
class Stack:
    """Better-Auth, the replicas and the balancer on one database (and Redis), an admin signed in."""

    storage: str
    server: BetterAuthServer
    replicas: ReplicaSet
    postgres: PostgresServer
    database: str
    base: dict[str, str]
    admin: Login
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=15.0))

    def use(self, freshness: str) -> None:
        """Run the replicas with ``freshness`` (restarting them when it changes)."""
        settings = {**self.base, "BETTER_AUTH_FRESHNESS": freshness}
        if settings != self.replicas.settings:
            self.replicas.restart(settings)
            self.wait_balanced()

    def wait_balanced(self, timeout: float = 60.0) -> None:
        """Until the balancer has sent a request to every replica (health checks passed)."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while seen != self.replicas.names and time.monotonic() < deadline:
            seen.add(
                self.get(self.replicas.balancer.url, "/health").headers.get(
                    REPLICA_HEADER, ""
                )
            )
        assert seen >= self.replicas.names, seen

    def get(
        self, base: str, path: str, who: Login | None = None, kind: Kind = "jwt"
    ) -> httpx.Response:
        return self.call("GET", base, path, who, kind)

    def call(
        self,
        method: str,
        base: str,
        path: str,
        who: Login | None,
        kind: Kind = "jwt",
        **kwargs: Any,
    ) -> httpx.Response:
        headers = who.headers(kind) if who is not None else {}
        try:
            return self.client.request(
                method, f"{base}/api/v1{path}", headers=headers, **kwargs
            )
        finally:
            self.client.cookies.clear()

    def each_replica(self, who: Login, kind: Kind) -> dict[str, int]:
        """``/auth/me`` with ``who``'s ``kind`` credential on every replica directly: name → status."""
        return {
            r.name: self.get(r.url, "/auth/me", who, kind).status_code
            for r in self.replicas.replicas
        }

    def sql(self, query: str) -> str:
        return self.postgres.psql(query, self.database)


@pytest.fixture(scope="module", params=STORAGES)
def stack(
    request: pytest.FixtureRequest,
    postgres: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    storage = str(request.param)
    logs: Path = tmp_path_factory.mktemp(f"replicas-{storage}")
    # sid in the JWT (a revoked session refuses its JWTs too); a key lives an hour, stays an hour
    env = {
        "BA_SID_CLAIM": "1",
        "BA_ROTATION_SECONDS": "3600",
        "BA_GRACE_SECONDS": "3600",
    }
    with contextlib.ExitStack() as stack:
        name = stack.enter_context(pg_database(postgres, f"replicas_{storage}"))
        base = {
            "DATABASE_URL": postgres.dsn(name),
            "BETTER_AUTH_DATABASE_POOL_SIZE": "4",
        }
        if storage == "redis":
            url = request.getfixturevalue("redis_server").url(db=3)
            client = redis.Redis.from_url(url)
            client.flushdb()
            client.close()
            env["BA_REDIS_URL"] = base["BETTER_AUTH_REDIS_URL"] = url
        server = stack.enter_context(running_better_auth(postgres.dsn(name), env=env))
        base |= {
            "BETTER_AUTH_URL": server.url,
            "BETTER_AUTH_SECRET": server.secret,
            "BETTER_AUTH_FRESHNESS_CACHE_SECONDS": str(CACHE_SECONDS),
            "BETTER_AUTH_JWKS_MIN_REFRESH_SECONDS": "0",  # a new kid is fetched at once
        }
        replicas = stack.enter_context(
            running_replicas({**base, "BETTER_AUTH_FRESHNESS": "always"}, logs)
        )
        first = login(server, unique_email("admin"), name="Admin")
        postgres.psql(
            f"UPDATE \"user\" SET role = 'admin' WHERE id = '{first.user_id}'", name
        )
        # Better-Auth's admin checks read the role from its session snapshot: sign in again
        admin = sign_in(server, first.email)
        result = Stack(storage, server, replicas, postgres, name, base, admin)
        stack.callback(result.client.close)
        result.wait_balanced()
        yield result


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


def act(stack: Stack, action: str, user: Login) -> None:
    """Ban ``user`` or revoke its session, through Better-Auth's admin plugin or our admin API."""
    admin, balancer = stack.admin, stack.replicas.balancer.url
    if action == "ba-ban":
        response = stack.server.admin_post(
            "ban-user", {"userId": user.user_id}, admin.cookie
        )
    elif action == "ba-revoke":
        response = stack.server.admin_post(
            "revoke-user-session", {"sessionToken": user.raw}, admin.cookie
        )
    elif action == "our-ban":
        response = stack.call(
            "POST",
            balancer,
            f"/users/{user.user_id}/ban",
            admin,
            json={"reason": "spam"},
        )
    else:
        path = f"/users/{user.user_id}/sessions/{user.session_id}"
        response = stack.call("DELETE", balancer, path, admin)
    assert response.status_code == 200, (action, response.text)


def refused(statuses: dict[str, int]) -> bool:
    return all(status in (401, 403) for status in statuses.values())


@pytest.mark.parametrize("action", ACTIONS)
def test_a_ban_or_revoke_is_refused_by_every_replica_on_the_next_request(
    stack: Stack, action: str
) -> None:
    stack.use("always")
    user = login(stack.server, unique_email(action))
    other = sign_in(stack.server, user.email)  # a session the revocation leaves alone
    for kind in RUN_KINDS:
        assert stack.each_replica(user, kind) == dict.fromkeys(
            stack.replicas.names, 200
        )
    act(stack, action, user)
    for kind in RUN_KINDS:
        statuses = stack.each_replica(user, kind)
        assert refused(statuses), (action, kind, statuses)
        through = stack.get(stack.replicas.balancer.url, "/auth/me", user, kind)
        assert through.status_code in (401, 403)
        if action.endswith("revoke"):
            assert stack.each_replica(other, kind) == dict.fromkeys(
                stack.replicas.names, 200
            )


def test_jwks_rotation_is_picked_up_by_every_replica(stack: Stack) -> None:
    """Better-Auth mints a new key once the newest one expired (its rotationInterval); moving
    the key's expiry into the past stands for the hour passing."""
    stack.use("always")
    user = login(stack.server, unique_email("rotation"))
    old = user.jwt
    assert stack.each_replica(user, "jwt") == dict.fromkeys(stack.replicas.names, 200)
    stack.sql("UPDATE jwks SET \"expiresAt\" = now() - interval '1 second'")
    new = stack.server.token(user.cookie)
    assert kid_of(new) != kid_of(old)
    assert {kid_of(new), kid_of(old)} <= {k["kid"] for k in stack.server.jwks()["keys"]}
    rotated = dataclasses.replace(user, jwt=new)
    assert stack.each_replica(rotated, "jwt") == dict.fromkeys(
        stack.replicas.names, 200
    )
    assert stack.each_replica(user, "jwt") == dict.fromkeys(
        stack.replicas.names, 200
    )  # grace


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
        victim.start(
            stack.replicas.settings
        )  # the same port, as an orchestrator restarts it
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
    deadline = time.monotonic() + 5  # HAProxy's log lines reach its file a moment later
    while (
        stack.replicas.balancer.redispatched() == retried
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert stack.replicas.balancer.redispatched() > retried  # the balancer did retry
    failures = collections.Counter(outcome for outcome in results if outcome[0] != 200)
    assert not failures, failures
    assert len(results) >= REQUESTS
    during = {name for _, name in results[killed_at:restarted_at]}
    assert victim.name not in during  # the dead replica answered nothing
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
    warmed = time.monotonic()
    for kind in RUN_KINDS:
        assert stack.each_replica(user, kind) == dict.fromkeys(
            stack.replicas.names, 200
        )
    act(stack, action, user)
    acted = time.monotonic()
    stale = stack.each_replica(user, "jwt")
    if (
        time.monotonic() - warmed < CACHE_SECONDS * 0.75
    ):  # the cache is real: some replica
        assert 200 in stale.values(), (
            stale
        )  # still answers from it (a slow machine skips this)
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
    assert stack.each_replica(user, "jwt") == dict.fromkeys(stack.replicas.names, 200)
    act(stack, "ba-ban", user)
    assert stack.each_replica(user, "jwt") == dict.fromkeys(stack.replicas.names, 200)
    assert refused(stack.each_replica(user, "raw"))
    assert refused(stack.each_replica(user, "cookie"))
