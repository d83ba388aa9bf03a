"""The testing kit's Redis sessions: a session as Better-Auth's ``secondaryStorage`` holds it.

Re-exported by :mod:`fastapi_better_auth.testing`. For apps whose Better-Auth keeps sessions in
Redis (``BETTER_AUTH_REDIS_URL``), where a ``session`` row alone is no session. The layout is
Better-Auth 1.7.25's (``_secondary_layout``); tests/interop/test_redis_sessions.py pins that a
real Better-Auth accepts a session written here.
"""

import json
from typing import Any

from ._secondary_layout import (
    Reference,
    dump_references,
    kept_references,
    list_key,
    now_ms,
    token_key,
    ttl_seconds,
)
from ._testing_ids import id_of
from ._testing_rows import user_claims  # the user snapshot: the whole row, as the JWT's
from ._types import as_utc, js_date
from .models import SessionMixin, UserMixin


def store_redis_session(
    client: Any,
    session: SessionMixin,
    user: UserMixin,
    *,
    active_organization: Any = None,
    active_team: Any = None,
    key_prefix: str = "",
) -> None:
    """Write ``session`` of ``user`` to Redis as Better-Auth's ``createSession`` does.

    ``client`` is a synchronous redis-py client (``redis.Redis``) on the database your
    ``BETTER_AUTH_REDIS_URL`` names; ``key_prefix`` is your ``BETTER_AUTH_REDIS_KEY_PREFIX``.
    The token's key gets ``{"session", "user"}`` until the session expires, and the user's
    ``active-sessions`` list names the token. ``active_organization`` and ``active_team``
    (rows or ids) are the organization plugin's ``activeOrganizationId`` and ``activeTeamId``,
    as ``/organization/set-active`` leaves them: write the session again to change them.

    Raises:
        ValueError: the session has expired (Better-Auth stores none).
    """
    expires_ms, now = as_utc(session.expires_at).timestamp() * 1000, now_ms()
    ttl = ttl_seconds(expires_ms, now)
    if ttl <= 0:
        raise ValueError(
            "the session has expired: Better-Auth stores no expired session"
        )
    client.set(key_prefix + token_key(session.token), _json(session, user, active_organization, active_team), ex=ttl)  # fmt: skip
    key = key_prefix + list_key(session.user_id)
    drop, add = [session.token], [Reference(session.token, expires_ms)]
    listed = kept_references(client.get(key), now, drop, add)
    client.set(key, dump_references(listed), ex=ttl_seconds(listed[-1].expires_ms, now))


def _json(session: SessionMixin, user: UserMixin, organization: Any, team: Any) -> str:
    stored: dict[str, Any] = {
        "id": session.id,
        "token": session.token,
        "userId": session.user_id,
        "expiresAt": js_date(session.expires_at),
        "createdAt": js_date(session.created_at),
        "updatedAt": js_date(session.updated_at),
        "ipAddress": session.ip_address,
        "userAgent": session.user_agent,
    }
    if session.impersonated_by is not None:
        stored["impersonatedBy"] = session.impersonated_by
    if organization is not None:
        stored["activeOrganizationId"] = id_of(organization)
    if team is not None:
        stored["activeTeamId"] = id_of(team)
    return json.dumps({"session": stored, "user": user_claims(user)})


__all__ = ["store_redis_session"]
