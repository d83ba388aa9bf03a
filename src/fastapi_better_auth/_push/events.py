"""The events a listener sends, and the parser of the trigger's ``NOTIFY`` payload.

The payload is small JSON, never a credential: ``{"v": 1, "kind": "user", "id": …}``,
``{"v": 1, "kind": "session", "id": …, "user": …}`` or ``{"v": 1, "kind": "reset"}``
(a ``TRUNCATE``). Anything else is unreadable, and a listener answers it with :class:`Reset`.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

#: The payload format the triggers write (``"v"``); another one is unreadable.
PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class UserChanged:
    """A user's trust changed (ban, ban expiry, role, email verification) or the user is gone."""

    id: str


@dataclass(frozen=True)
class SessionChanged:
    """A session was revoked, expired or changed (expiry, token, user, impersonation, organization).

    PostgreSQL sends ``id`` and ``user_id``. Redis knows only the key, which is the token:
    ``token_sha256`` is its SHA-256 (hex, the key of the session-token cache); the token
    itself never leaves the listener.
    """

    id: str | None = None
    user_id: str | None = None
    token_sha256: str | None = None


@dataclass(frozen=True)
class Reset:
    """Drop every cached check: the listener (re)connected or may have missed an event."""

    reason: str = ""


Event = UserChanged | SessionChanged | Reset
EventCallback = Callable[[Event], None]


def _text(value: object) -> str | None:
    """An id as text (serial ids may come as numbers), else None."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def parse_payload(payload: str) -> Event:
    """The event a trigger's payload describes; :class:`Reset` when it cannot be read."""
    try:
        data = json.loads(payload)
    except ValueError:
        return Reset("unreadable payload")
    if not isinstance(data, dict) or data.get("v") != PAYLOAD_VERSION:
        return Reset("unknown payload format")
    kind, ident = data.get("kind"), _text(data.get("id"))
    if kind == "user" and ident is not None:
        return UserChanged(ident)
    if kind == "session" and ident is not None:
        return SessionChanged(ident, _text(data.get("user")))
    if kind == "reset":
        return Reset("table truncated")
    return Reset("unknown payload kind")
