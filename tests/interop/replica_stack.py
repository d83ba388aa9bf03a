"""The replica test's rig: Better-Auth, three API replicas and HAProxy on one database (and Redis).

:func:`running_stack` starts them (:mod:`tests.replicas` for the replicas and the balancer) and
signs in a first admin; :class:`Stack` sends a credential to every replica directly or through
the balancer, and restarts the replicas in another freshness mode; :func:`act` bans a user or
revokes a session through Better-Auth's admin plugin or through our admin API.
"""

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.interop.ba_server import BetterAuthServer, running_better_auth
from tests.interop.flow import Kind, Login, login, pg_database, sign_in, unique_email
from tests.pg import PostgresServer
from tests.replicas import REPLICA_HEADER, ReplicaSet, running_replicas

#: How a ban or revocation is issued: through Better-Auth's admin plugin or through our API.
ACTIONS = ["ba-ban", "ba-revoke", "our-ban", "our-revoke"]


def kid_of(token: str) -> str:
    """The ``kid`` in a JWT's header: which Better-Auth key signed it."""
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
    admin: Login = field(repr=False)  # throwaway tokens, still kept out of reports
    client: httpx.Client = field(
        default_factory=lambda: httpx.Client(timeout=15.0), repr=False
    )

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

    @property
    def everyone(self) -> dict[str, int]:
        """What :meth:`each_replica` answers when every replica admits the credential."""
        return dict.fromkeys(self.replicas.names, 200)

    def each_replica(self, who: Login, kind: Kind) -> dict[str, int]:
        """``/auth/me`` with ``who``'s ``kind`` credential on every replica directly: name → status."""
        return {
            r.name: self.get(r.url, "/auth/me", who, kind).status_code
            for r in self.replicas.replicas
        }

    def sql(self, query: str) -> str:
        return self.postgres.psql(query, self.database)


@contextlib.contextmanager
def running_stack(
    postgres: PostgresServer,
    storage: str,
    logs: Path,
    *,
    redis_url: str | None = None,
    cache_seconds: float = 5.0,
) -> Iterator[Stack]:
    """Better-Auth and three replicas (``freshness=always``) behind HAProxy, on a new database;
    sessions in Redis too when ``redis_url`` is given. Everything stopped at exit."""
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
        if (
            redis_url is not None
        ):  # Better-Auth's secondaryStorage, read by the replicas too
            client = redis.Redis.from_url(redis_url)
            client.flushdb()
            client.close()
            env["BA_REDIS_URL"] = base["BETTER_AUTH_REDIS_URL"] = redis_url
        server = stack.enter_context(running_better_auth(postgres.dsn(name), env=env))
        base |= {
            "BETTER_AUTH_URL": server.url,
            "BETTER_AUTH_SECRET": server.secret,
            "BETTER_AUTH_FRESHNESS_CACHE_SECONDS": str(cache_seconds),
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
