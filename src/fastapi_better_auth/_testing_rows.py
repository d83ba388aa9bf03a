"""The testing kit's core rows: users, sessions, accounts, API keys, and the tables to hold them.

Re-exported by :mod:`fastapi_better_auth.testing`. Rows follow Better-Auth's conventions (ids,
defaults, timestamps) under any naming (``naming=settings.naming``: plural tables, snake_case
columns, ``generateId: "uuid"`` or ``"serial"``); add them to a session of your test database.
Under serial ids a row has no id until it is flushed: flush a user before building its rows.
"""

import json
import secrets
import string
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, overload

from sqlalchemy.ext.asyncio import AsyncEngine

from ._naming import SchemaNaming
from ._schema import migrate as _migrate
from ._testing_ids import id_of, local_part, new_id
from ._types import generate_id, js_date, utcnow
from .api_keys import ApiKey, ApiKeyMixin, get_api_key_model, hash_api_key
from .models import (
    Account,
    AccountMixin,
    Session,
    SessionMixin,
    User,
    UserMixin,
    get_models,
)

#: A user given to a row helper: the row (flushed, under serial ids) or its id.
UserRef = UserMixin | str | int


@overload
def make_user(*, naming: None = None, **fields: Any) -> User: ...
@overload
def make_user(*, naming: SchemaNaming, **fields: Any) -> UserMixin: ...
def make_user(*, naming: SchemaNaming | None = None, **fields: Any) -> UserMixin:
    """A user row as Better-Auth creates one (role ``user``, not banned, unverified); override any field."""
    now = utcnow()
    values: dict[str, Any] = {
        **new_id(naming),
        "name": "Test User",
        "email_verified": False,
        "created_at": now,
        "updated_at": now,
        "role": "user",
        "banned": False,
    }
    values.update(fields)
    values.setdefault("email", f"{local_part(values)}@example.com")
    return get_models(naming).user(**values)


@overload
def make_session(user: UserRef, *, naming: None = None, **fields: Any) -> Session: ...
@overload
def make_session(
    user: UserRef, *, naming: SchemaNaming, **fields: Any
) -> SessionMixin: ...
def make_session(
    user: UserRef, *, naming: SchemaNaming | None = None, **fields: Any
) -> SessionMixin:
    """A session row of ``user`` (a row or an id) valid for 7 days (Better-Auth's default); override any field."""
    now = utcnow()
    values: dict[str, Any] = {
        **new_id(naming),
        "token": generate_id(),
        "user_id": id_of(user),
        "expires_at": now + timedelta(days=7),
        "created_at": now,
        "updated_at": now,
        "ip_address": "",
        "user_agent": "",
    }
    values.update(fields)
    return get_models(naming).session(**values)


@overload
def make_account(user: UserRef, *, naming: None = None, **fields: Any) -> Account: ...
@overload
def make_account(
    user: UserRef, *, naming: SchemaNaming, **fields: Any
) -> AccountMixin: ...
def make_account(
    user: UserRef, *, naming: SchemaNaming | None = None, **fields: Any
) -> AccountMixin:
    """An email-and-password account of ``user`` (``providerId`` ``credential``); override any field."""
    user_id = id_of(user)
    now = utcnow()
    values: dict[str, Any] = {
        **new_id(naming),
        "account_id": user_id,
        "provider_id": "credential",
        "user_id": user_id,
        "password": None,
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return get_models(naming).account(**values)


@overload
def make_api_key(
    user: UserRef,
    *,
    permissions: Mapping[str, list[str]] | None = None,
    naming: None = None,
    **fields: Any,
) -> tuple[ApiKey, str]: ...
@overload
def make_api_key(
    user: UserRef,
    *,
    permissions: Mapping[str, list[str]] | None = None,
    naming: SchemaNaming,
    **fields: Any,
) -> tuple[ApiKeyMixin, str]: ...
def make_api_key(
    user: UserRef,
    *,
    permissions: Mapping[str, list[str]] | None = None,
    naming: SchemaNaming | None = None,
    **fields: Any,
) -> tuple[ApiKeyMixin, str]:
    """An ``apikey`` row of ``user`` as the API-key plugin creates one, and its plaintext key.

    The key is 64 letters (the plugin's ``defaultKeyLength``), stored hashed; the defaults are
    the plugin's (enabled, 10 requests a day, no ``remaining``). Add the row to your session
    and send the key as ``x-api-key``. Override any column: ``remaining=3``, ``expires_at=…``.
    """
    key = "".join(secrets.choice(string.ascii_letters) for _ in range(64))
    now = utcnow()
    values: dict[str, Any] = {
        **new_id(naming),
        "config_id": "default",
        "start": key[:6],
        "reference_id": id_of(user),
        "key": hash_api_key(key),
        "enabled": True,
        "rate_limit_enabled": True,
        "rate_limit_time_window": 86_400_000,
        "rate_limit_max": 10,
        "request_count": 0,
        "created_at": now,
        "updated_at": now,
        "permissions": None if permissions is None else json.dumps(dict(permissions)),
    }
    values.update(fields)
    return get_api_key_model(naming)(**values), key


async def create_tables(
    engine: AsyncEngine, naming: SchemaNaming | None = None, *, api_keys: bool = False
) -> None:
    """Create Better-Auth's tables in a test database (the package's migration, as
    ``python -m fastapi_better_auth migrate upgrade`` runs it), under ``naming``.

    ``api_keys=True`` adds the API-key plugin's ``apikey`` table (from its model: the
    migration leaves plugin tables to Better-Auth). For your own tests' throwaway databases;
    in production Better-Auth's migration owns the schema.
    """
    await _migrate.upgrade(engine, naming)
    if api_keys:
        metadata = get_api_key_model(naming).metadata  # type: ignore[attr-defined]
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)


def user_claims(user: UserMixin) -> dict[str, Any]:
    """The payload Better-Auth's ``/token`` signs for a user row: the whole row, dates as ISO strings."""
    return {
        "name": user.name,
        "email": user.email,
        "emailVerified": bool(user.email_verified),
        "image": user.image,
        "createdAt": js_date(user.created_at),
        "updatedAt": js_date(user.updated_at),
        "role": user.role,
        "banned": bool(user.banned),
        "banReason": user.ban_reason,
        "banExpires": js_date(user.ban_expires),
        "id": user.id,
    }
