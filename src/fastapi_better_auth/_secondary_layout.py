"""Better-Auth's ``secondaryStorage`` layout: the keys, the JSON stored under them, its rules.

Better-Auth 1.7.25 lays the keys out in ``src/db/internal-adapter.ts`` (line numbers below are
of the published ``dist/db/internal-adapter.mjs``):

- ``<token>``: ``{"session": {...}, "user": {...}}`` as JSON, expiring with the session
  (``createSession`` L311-339, ``updateSession`` L446-483). There is no key by session id.
- ``active-sessions-<userId>``: ``[{"token", "expiresAt": <ms>}]`` sorted by expiry, expiring
  with the last session (``setActiveSessionReferences`` L85-94).
- ``revoked-sessions-before-<userId>``: milliseconds; a stored session created before it is
  revoked (``isRevokedSession`` L97-102), written by ``deleteUserSessions`` (ban, revoke all:
  ``deleteCachedUserSessions`` L103-111) with a TTL of at least a day and the session lifetime.

``findSession`` (L353-390) reads the token's key; a miss is final unless
``session.storeSessionInDatabase`` is on, then the ``session`` table answers (without it,
Better-Auth's migration creates no ``session`` table). Better-Auth returns the stored ``user``
snapshot, refreshed by ``updateUser`` (``refreshUserSessions`` L62-79); we read the user row
instead (see :class:`SessionStore`). The admin plugin (``dist/plugins/admin/routes.mjs``) ends
all of a user's sessions through ``deleteUserSessions`` (update-user with ``banned`` L316,
ban-user L551, revoke-user-sessions L747, remove-user L792) and one through ``deleteSession``
(L656, revoke-user-session L704). This module holds the layout and its rules as pure functions; ``_secondary`` talks to Redis.
"""

import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ._schemas import AuthenticatedUser, SessionInfo
from ._types import js_date

#: Better-Auth's default ``session.expiresIn`` (7 days) and the one-day floor of the revocation mark.
SESSION_SECONDS = 604_800
DAY_SECONDS = 86_400


def token_key(token: str) -> str:
    """The key of a session, by its token."""
    return token


def list_key(user_id: str) -> str:
    """The key of a user's ``active-sessions`` list."""
    return f"active-sessions-{user_id}"


def revoked_key(user_id: str) -> str:
    """The key of a user's revocation mark."""
    return f"revoked-sessions-before-{user_id}"


def now_ms() -> int:
    return int(time.time() * 1000)


def ttl_seconds(expires_ms: float, now_ms: int) -> int:
    """Better-Auth's ``getTTLSeconds``: whole seconds left, never negative (L15-18)."""
    return max(math.floor((expires_ms - now_ms) / 1000), 0)


def _date(value: Any) -> datetime:
    """A date as ``JSON.stringify`` writes it (ISO, ``Z``), or milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ValueError("not a date")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _id(value: Any) -> str | None:
    """An id as JSON holds it: text, or a number (``generateId: "serial"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def loads(raw: Any) -> Any:
    """Better-Auth's ``safeJSONParse``: None for anything that is not JSON."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True)
class StoredSession:
    """One session as Better-Auth stored it under its token (the token itself stays here).

    ``activity``: the organization plugin's ``activeOrganizationId`` and ``activeTeamId``,
    kept in the session (``updateSession`` L446-483 merges them in; set-active,
    ``dist/plugins/organization/routes/crud-org.mjs`` L387-446, through ``adapter.mjs`` L404-406
    and L584-586).
    """

    token: str
    info: SessionInfo
    activity: tuple[str | None, str | None] = (None, None)


@dataclass(frozen=True)
class Reference:
    token: str
    expires_ms: float


def stored_session(token: str, raw: Any) -> StoredSession | None:
    """The ``session`` of a token's JSON, or None when it is not Better-Auth's shape."""
    data = loads(raw)
    session = data.get("session") if isinstance(data, dict) else None
    if not isinstance(session, dict):
        return None
    try:
        info = SessionInfo(
            id=str(session["id"]),
            user_id=str(session["userId"]),
            expires_at=_date(session["expiresAt"]),
            created_at=_date(session["createdAt"]),
            updated_at=_date(session.get("updatedAt", session["createdAt"])),
            ip_address=_text(session.get("ipAddress")),
            user_agent=_text(session.get("userAgent")),
            impersonated_by=_text(session.get("impersonatedBy")),
        )
    except (KeyError, ValueError, TypeError):
        return None
    activity = (
        _id(session.get("activeOrganizationId")),
        _id(session.get("activeTeamId")),
    )
    return StoredSession(token, info, activity)


def read_references(raw: Any) -> list[Reference]:
    data = loads(raw)
    if not isinstance(data, list):
        return []
    found = []
    for item in data:
        if not isinstance(item, dict):
            continue
        token, expires = item.get("token"), item.get("expiresAt")
        if isinstance(token, str) and isinstance(expires, (int, float)):
            found.append(Reference(token, float(expires)))
    return found


def kept_references(
    raw: Any, now_ms: int, drop: Iterable[str] = (), add: Iterable[Reference] = ()
) -> list[Reference]:
    """``setActiveSessionReferences``'s list (L85-94): the live entries of ``raw`` not in
    ``drop``, plus ``add``, sorted by expiry (its TTL is the last one's)."""
    gone = set(drop)
    live = [
        r for r in read_references(raw) if r.expires_ms > now_ms and r.token not in gone
    ]
    return sorted([*live, *add], key=lambda ref: ref.expires_ms)


def dump_references(references: list[Reference]) -> str:
    """An ``active-sessions`` list as ``setActiveSessionReferences`` writes it (L85-94)."""
    return json.dumps(
        [{"token": ref.token, "expiresAt": ref.expires_ms} for ref in references],
        separators=(",", ":"),
    )


def revocation_mark(previous: Any, now_ms: int) -> int:
    """A new revocation mark: now, or a later one already set (``deleteCachedUserSessions``)."""
    try:
        return max(now_ms, int(float(previous or 0)))
    except (TypeError, ValueError):
        return now_ms


def is_revoked(session: SessionInfo, revoked_before: Any) -> bool:
    """``isRevokedSession``: created before the user's revocation mark (L97-102)."""
    try:
        mark = float(revoked_before) if revoked_before is not None else math.nan
    except (TypeError, ValueError):
        return False
    return session.created_at.timestamp() * 1000 < mark


def user_fields(user: AuthenticatedUser) -> dict[str, Any]:
    """The user-row fields our admin API writes, under Better-Auth's field names."""
    return {
        "name": user.name,
        "email": user.email,
        "emailVerified": user.email_verified,
        "image": user.image,
        "role": user.role,
        "banned": user.banned,
        "banReason": user.ban_reason,
        "banExpires": js_date(user.ban_expires),
        "updatedAt": js_date(user.updated_at),
    }
