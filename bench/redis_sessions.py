"""Sessions in Better-Auth's ``secondaryStorage``: a throwaway Redis holding one session per user.

The Redis (the test rig's ``redis-server``) publishes the key events ``freshness=push`` needs.
Each session is written as Better-Auth 1.7.25's ``createSession`` writes it (the token's key
holding ``{"session", "user"}`` as JSON, and the user's ``active-sessions-<id>`` list; layout in
``fastapi_better_auth._secondary_layout``), and its token is signed with ``SECRET`` as the bearer
plugin hands it out (``set-auth-token``). The users are the seeded database's, so the library
finds their rows.
"""

import json
import secrets
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
from tests.redis_server import find_redis_server, running_redis

from fastapi_better_auth._cookies import sign_token
from fastapi_better_auth._push.redis import REQUIRED_FLAGS

from ._server import write_tokens

#: BETTER_AUTH_SECRET of the Redis servers (and of the reference's signature check).
SECRET = "bench-secret-" + "x" * 32
_ALPHABET = string.ascii_letters + string.digits
_WEEK = timedelta(days=7)


@dataclass
class SessionTokens:
    """A file of signed session tokens for wrk (one per user), removed by ``cleanup``."""

    path: Path

    def cleanup(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class RedisSessions:
    url: str
    tokens: SessionTokens


def available() -> bool:
    """Whether ``redis-server`` is installed (``nox -s bench`` installs it)."""
    try:
        find_redis_server()
    except RuntimeError:
        return False
    return True


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _entry(token: str, user_id: str, index: int, now: datetime) -> str:
    """The JSON ``createSession`` stores under the token: the session and the user's snapshot."""
    created, expires = _iso(now), _iso(now + _WEEK)
    return json.dumps(
        {
            "session": {
                "id": f"bench-session-{index:06d}", "expiresAt": expires, "token": token,
                "createdAt": created, "updatedAt": created, "ipAddress": "127.0.0.1",
                "userAgent": "wrk", "userId": user_id,
            },
            "user": {
                "id": user_id, "name": f"User {index:06d}", "email": f"user{index:06d}@example.com",
                "emailVerified": True, "image": None, "createdAt": "2025-01-01T00:00:00.000Z",
                "updatedAt": "2025-01-01T00:00:00.000Z", "role": "user", "banned": False,
                "banReason": None, "banExpires": None,
            },
        }, separators=(",", ":"),
    )  # fmt: skip


@contextmanager
def redis_sessions(user_ids: list[str]) -> Iterator[RedisSessions]:
    """A running Redis holding one week-long session for each of ``user_ids``; removed at exit."""
    with running_redis(keyspace_events=REQUIRED_FLAGS) as server:
        client = redis.Redis.from_url(server.url())
        now = datetime.now(timezone.utc)
        signed = []
        try:
            pipe = client.pipeline(transaction=False)
            for index, user_id in enumerate(user_ids):
                token = "".join(secrets.choice(_ALPHABET) for _ in range(32))
                seconds = int(_WEEK.total_seconds())
                pipe.set(token, _entry(token, user_id, index, now), ex=seconds)
                listed = [
                    {"token": token, "expiresAt": (now + _WEEK).timestamp() * 1000}
                ]
                pipe.set(f"active-sessions-{user_id}", json.dumps(listed), ex=seconds)
                signed.append(sign_token(token, SECRET))
            pipe.execute()
        finally:
            client.close()
        tokens = SessionTokens(write_tokens(signed))
        try:
            yield RedisSessions(server.url(), tokens)
        finally:
            tokens.cleanup()
