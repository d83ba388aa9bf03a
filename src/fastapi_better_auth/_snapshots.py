"""The columns the per-request reads select, their prebuilt selects, and the snapshots of their rows
(and of a JWT's claims: the user as Better-Auth described it when it signed the token).

Built once per naming and declared user fields (``_hot_queries`` is cached), through mapped
attributes only, so every naming works; ``_store`` runs them. Declared extra user columns are
added to a copy of the user table, so the mapped models stay exactly Better-Auth's.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Column, MetaData, Select, Table, bindparam, inspect, select
from sqlalchemy.types import NullType, Text, TypeEngine

from ._schemas import AuthenticatedUser, SessionInfo
from ._types import JSBoolean, UTCDateTime
from ._user_fields import CORE, UserFields
from .models import BetterAuthModels


def user_columns(models: BetterAuthModels) -> list[Any]:
    user = models.user
    return [
        user.id,
        user.email,
        user.name,
        user.email_verified,
        user.image,
        user.role,
        user.banned,
        user.ban_reason,
        user.ban_expires,
        user.created_at,
        user.updated_at,
    ]


def session_columns(models: BetterAuthModels) -> list[Any]:
    session = models.session
    return [
        session.id.label("session_id"),
        session.user_id,
        session.expires_at,
        session.created_at.label("session_created_at"),
        session.updated_at.label("session_updated_at"),
        session.ip_address,
        session.user_agent,
        session.impersonated_by,
    ]


def session_info(row: Any) -> SessionInfo:
    return SessionInfo(
        id=row.session_id,
        user_id=row.user_id,
        expires_at=row.expires_at,
        created_at=row.session_created_at,
        updated_at=row.session_updated_at,
        ip_address=row.ip_address,
        user_agent=row.user_agent,
        impersonated_by=row.impersonated_by,
    )


def user_snapshot(row: Any, fields: UserFields = CORE) -> AuthenticatedUser:
    core = {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "email_verified": bool(row.email_verified),
        "image": row.image,
        "role": row.role,
        "banned": bool(row.banned),
        "ban_reason": row.ban_reason,
        "ban_expires": row.ban_expires,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if not fields.fields:
        return AuthenticatedUser(**core)
    values = {
        field.attribute: getattr(row, _EXTRA + field.attribute)
        for field in fields.fields
    }
    return fields.build(core, values)


_USER_FIELDS = ("id", "email", "name", "email_verified", "image", "role", "banned",
                "ban_reason", "ban_expires", "created_at", "updated_at")  # fmt: skip
#: Session fields and the labels rows carry them under (those of :func:`session_columns`).
_SESSION_FIELDS = (("id", "session_id"), ("user_id", "user_id"), ("expires_at", "expires_at"),
                   ("created_at", "session_created_at"), ("updated_at", "session_updated_at"),
                   ("ip_address", "ip_address"), ("user_agent", "user_agent"),
                   ("impersonated_by", "impersonated_by"))  # fmt: skip


#: Label prefix of the declared extra user columns in the per-request reads.
_EXTRA = "user__"
#: Column types that read an extra field as Better-Auth stores it (others arrive as the driver gives them).
_EXTRA_TYPES: dict[str, TypeEngine[Any]] = {
    "string": Text(),
    "boolean": JSBoolean(),
    "date": UTCDateTime(),
}


def _with_extra_columns(models: BetterAuthModels, fields: UserFields) -> Any:
    """A copy of the user table (in its own metadata) with the declared extra columns.

    The mapped table stays exactly Better-Auth's core: models, migrations and the admin
    writes never see the app's columns.
    """
    table = cast(Table, inspect(models.user).local_table).to_metadata(MetaData())
    naming = models.naming
    for field in fields.fields:
        kind = _EXTRA_TYPES.get(field.type, NullType())
        table.append_column(
            Column(
                naming.column("user", field.name), kind, key=_EXTRA + field.attribute
            )
        )
    return table.c


@dataclass(frozen=True)
class _HotQueries:
    user_by_id: Select[Any]
    session_by_id: Select[Any]
    session_by_token: Select[Any]


@lru_cache(maxsize=16)
def _hot_queries(models: BetterAuthModels, fields: UserFields = CORE) -> _HotQueries:
    """The per-request reads, built once per naming and declared user fields, with bound parameters.

    The same SQL as the ORM-attribute queries, labelled with the same names, but built once and
    compiled on the Core path (no ORM compile step per request). Declared extra user columns
    are selected too, labelled ``user__<attribute>``.
    """
    user = (
        _with_extra_columns(models, fields)
        if fields.fields
        else inspect(models.user).columns
    )
    session = inspect(models.session).columns
    user_cols = [user[name].label(name) for name in _USER_FIELDS]
    user_cols += [
        user[_EXTRA + f.attribute].label(_EXTRA + f.attribute) for f in fields.fields
    ]
    session_cols = [session[name].label(label) for name, label in _SESSION_FIELDS]
    joined = select(*session_cols, *user_cols).select_from(
        session["id"].table.join(user["id"].table, user["id"] == session["user_id"])
    )
    return _HotQueries(
        user_by_id=select(*user_cols).where(user["id"] == bindparam("user_id")),
        session_by_id=joined.where(
            session["id"] == bindparam("session_id"),
            session["user_id"] == bindparam("user_id"),
        ),
        session_by_token=joined.where(session["token"] == bindparam("token")),
    )


def _date_claim(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


def user_from_claims(
    claims: dict[str, Any], fields: UserFields = CORE
) -> AuthenticatedUser:
    """The user as Better-Auth's default JWT payload (the whole user row) described it at minting.

    Declared extra fields are read from the claims of the same names (Better-Auth's payload
    carries every field it returns); a missing claim leaves the field's default.
    """
    core = {
        "id": claims["sub"],
        "email": _text_claim(claims, "email") or "",
        "name": _text_claim(claims, "name") or "",
        "email_verified": claims.get("emailVerified") is True,
        "image": _text_claim(claims, "image"),
        "role": _text_claim(claims, "role"),
        "banned": claims.get("banned") is True,
        "ban_reason": _text_claim(claims, "banReason"),
        "ban_expires": _date_claim(claims.get("banExpires")),
        "created_at": _date_claim(claims.get("createdAt")),
        "updated_at": _date_claim(claims.get("updatedAt")),
    }
    if not fields.fields:
        return AuthenticatedUser(**core)
    return fields.build(
        core, {field.attribute: claims.get(field.name) for field in fields.fields}
    )
