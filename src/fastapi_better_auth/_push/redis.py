"""The Redis listener: Better-Auth's ``secondaryStorage`` keys, watched through keyspace events.

With ``secondaryStorage`` a session lives under its token as the key, the user's session list
under ``active-sessions-<userId>`` and a "revoke all" mark under ``revoked-sessions-before-<userId>``
(see :mod:`fastapi_better_auth._secondary`). Redis publishes a key's name on
``__keyevent@<db>__:<event>`` when ``notify-keyspace-events`` holds ``E`` (key-event channels),
``g`` (``del``, ``rename``), ``$`` (``set``), ``x`` (``expired``) and best ``e`` (``evicted``).
:func:`keyspace_status` reads that setting at start; a server without it cannot push, and we
never change a server's configuration unasked: :func:`enable_keyspace_events` is the explicit
way (``CONFIG SET``; or set it in redis.conf / the provider's parameter group).

Events: a list or revocation key written, deleted or expired → :class:`UserChanged`; any other
key (a session token) deleted, expired, evicted, renamed or overwritten →
:class:`SessionChanged` carrying only the token's SHA-256. Key names (tokens) are never logged.
"""

import asyncio
import hashlib
import logging
import time
from typing import Any

from ._state import HEALTH_INTERVAL, HEALTH_TIMEOUT, ListenerState
from .events import EventCallback, Reset, SessionChanged, UserChanged

logger = logging.getLogger("fastapi_better_auth._push")

#: The ``notify-keyspace-events`` flags push needs (``e``: evictions, under ``maxmemory``).
REQUIRED_FLAGS = "Eg$xe"
#: The key events that end or change a session or a user's session list.
EVENTS = ("del", "expired", "evicted", "set", "rename_from")
#: What Redis's ``A`` flag stands for.
_ALL = "g$lshzxetd"
_USER_KEYS = ("active-sessions-", "revoked-sessions-before-")


def missing_flags(config: str) -> str:
    """The flags of :data:`REQUIRED_FLAGS` a ``notify-keyspace-events`` value lacks."""
    flags = set(config) | (set(_ALL) if "A" in config else set())
    return "".join(flag for flag in REQUIRED_FLAGS if flag not in flags)


async def keyspace_status(client: Any) -> str | None:
    """None when the server publishes the key events push needs; else what is wrong."""
    from redis.exceptions import RedisError

    try:
        config = await client.config_get("notify-keyspace-events")
    except RedisError as exc:
        return (
            f"CONFIG GET notify-keyspace-events failed ({type(exc).__name__}): set "
            f"notify-keyspace-events to include {REQUIRED_FLAGS} and allow CONFIG GET, or "
            "keep push off"
        )
    value = next(iter(config.values()), "") if config else ""
    value = value.decode() if isinstance(value, bytes) else str(value)
    missing = missing_flags(value)
    if missing:
        return (
            f"Redis notify-keyspace-events is {value!r}, without {missing}: run "
            f"`CONFIG SET notify-keyspace-events {REQUIRED_FLAGS}` (or "
            "enable_keyspace_events), or set it in redis.conf"
        )
    return None


async def enable_keyspace_events(client: Any) -> str:
    """Add the missing flags to the server's ``notify-keyspace-events``; the new value.

    Explicit only: it changes the configuration of a server others may use too.
    """
    config = await client.config_get("notify-keyspace-events")
    value = next(iter(config.values()), "") if config else ""
    value = value.decode() if isinstance(value, bytes) else str(value)
    updated = value + missing_flags(value)
    await client.config_set("notify-keyspace-events", updated)
    return updated


def listener_client(url: str) -> Any:
    """A client of ``url`` for :class:`RedisListener`: short timeouts and **no** retries.

    A client that retries would reconnect a lost subscription inside redis-py, where the
    listener cannot see the gap; without retries the loss reaches the listener, which
    distrusts, reconnects and announces :class:`Reset`. No I/O yet.
    """
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(
        url,
        socket_connect_timeout=HEALTH_TIMEOUT * 5,
        retry=Retry(NoBackoff(), 0),
    )


class RedisListener(ListenerState):
    """Subscribe to the key events of database ``db``; reconnects, distrusts while down."""

    def __init__(
        self,
        client: Any,
        on_event: EventCallback,
        *,
        db: int = 0,
        key_prefix: str = "",
        health_interval: float = HEALTH_INTERVAL,
        health_timeout: float = HEALTH_TIMEOUT,
    ) -> None:
        super().__init__(on_event)
        self._client = client
        self._prefix = key_prefix.encode()
        self._channels = [f"__keyevent@{db}__:{event}" for event in EVENTS]
        self._interval = health_interval
        self._timeout = health_timeout

    async def start(self, *, wait: float = HEALTH_TIMEOUT) -> bool:
        """Start listening in the background; whether it is trustworthy within ``wait`` s."""
        self.start_loop(self._session)
        deadline = time.monotonic() + wait
        while not self.trustworthy and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return self.trustworthy

    async def stop(self) -> None:
        """Stop listening."""
        await self.stop_loop()

    def _event(self, key: bytes) -> None:
        if not key.startswith(self._prefix):
            return  # another application's key
        key = key[len(self._prefix) :]
        for prefix in _USER_KEYS:
            if key.startswith(prefix.encode()):
                user_id = key[len(prefix) :].decode(errors="replace")
                self.emit(UserChanged(user_id))
                return
        self.emit(SessionChanged(token_sha256=hashlib.sha256(key).hexdigest()))

    async def _session(self) -> None:
        """One subscription's life: subscribe, announce Reset, ping while idle, until lost."""
        from redis.exceptions import RedisError

        pubsub = self._client.pubsub()
        try:
            await asyncio.wait_for(self._subscribe(pubsub), self._timeout * 5)
            self.trust()
            pinged: float | None = None
            next_ping = time.monotonic() + self._interval
            while True:
                now = time.monotonic()
                if pinged is None and now >= next_ping:
                    await pubsub.ping()
                    pinged = now
                deadline = next_ping if pinged is None else pinged + self._timeout
                if pinged is not None and now >= deadline:
                    self.distrust("health check unanswered")
                    return
                message = await pubsub.get_message(timeout=max(deadline - now, 0.001))
                if message is not None:
                    self._received(message)
                    if message["type"] == "pong":
                        pinged, next_ping = None, self.confirmed_at + self._interval
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self.distrust(f"subscription lost ({type(exc).__name__})")
            logger.warning(
                "better_auth.push_redis_lost", extra={"error": type(exc).__name__}
            )
        finally:
            self.distrust("subscription closed")
            await pubsub.aclose()

    def _received(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            self._event(message["data"])
        elif kind == "pong":
            self.confirmed_at = time.monotonic()
        elif kind == "subscribe":  # the client reconnected on its own: events were lost
            self.emit(Reset("resubscribed"))

    async def _subscribe(self, pubsub: Any) -> None:
        """Subscribe and wait for every confirmation: events after it are all delivered."""
        await pubsub.subscribe(*self._channels)
        confirmed = 0
        while confirmed < len(self._channels):
            message = await pubsub.get_message(timeout=self._timeout)
            if message is not None and message["type"] == "subscribe":
                confirmed += 1
