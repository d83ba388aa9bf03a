"""What both listeners share: the trust flag, delivery of events, and the reconnect loop."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from .events import Event, EventCallback, Reset

logger = logging.getLogger("fastapi_better_auth._push")

#: Seconds between two health checks of an idle listen connection.
HEALTH_INTERVAL = 0.5
#: Seconds a health check (or connecting) may take before the connection counts as lost.
HEALTH_TIMEOUT = 1.0
#: Reconnect delays: doubling from the first to the last, then staying there.
BACKOFF = (0.05, 5.0)


class ListenerState:
    """The part of a listener a cache reads: ``trustworthy`` and ``confirmed_at``.

    ``trustworthy`` is True only between a (re)connect, announced by :class:`Reset`, and the
    first sign that the connection is gone (its termination callback, a failed or late health
    check). ``confirmed_at`` is the ``time.monotonic()`` of the last proof that every change
    committed before it has been delivered (connecting or a health check answered).
    """

    def __init__(self, on_event: EventCallback) -> None:
        self._on_event = on_event
        self._trusted = False
        self.confirmed_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._connected = False
        #: Called after every change of ``trustworthy`` (a cache's one flag to recompute).
        self.on_trust: Callable[[], None] | None = None

    @property
    def trustworthy(self) -> bool:
        """Whether a cache may rely on this listener now (else check every request)."""
        return self._trusted

    def emit(self, event: Event) -> None:
        """Deliver ``event``; a callback that fails is logged and the cache reset."""
        try:
            self._on_event(event)
        except Exception:  # the cache's bug must not end invalidation for everyone
            logger.exception("better_auth.push_callback_failed")
            if not isinstance(event, Reset):
                self.emit(Reset("callback failed"))

    def distrust(self, reason: str) -> None:
        """Stop vouching for the cache (the connection is gone or in doubt)."""
        if self._trusted:
            logger.warning("better_auth.push_disconnected", extra={"detail": reason})
        self._set_trusted(False)

    def _set_trusted(self, value: bool) -> None:
        changed, self._trusted = self._trusted != value, value
        if changed and self.on_trust is not None:
            self.on_trust()

    def trust(self) -> None:
        """Connected and listening: announce :class:`Reset` first, then vouch again."""
        self.emit(Reset("connected"))
        self.confirmed_at = time.monotonic()
        self._connected = True
        self._set_trusted(True)

    def start_loop(self, session: Callable[[], Awaitable[None]]) -> None:
        """Run ``session`` (one connection's life) again and again until stopped: at once after
        a connection that was trusted, else with a delay doubling up to :data:`BACKOFF`'s last."""

        async def loop() -> None:
            delay = BACKOFF[0]
            while not self._stopping:
                self._connected = False
                await session()
                self.distrust("connection lost")
                if self._connected:
                    delay = BACKOFF[0]
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF[1])

        self._stopping = False
        self._task = asyncio.create_task(loop())

    async def stop_loop(self) -> None:
        """Cancel the loop and wait for it; the listener is no longer trustworthy."""
        self._stopping = True
        self._set_trusted(False)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
