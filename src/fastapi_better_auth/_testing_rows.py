"""The testing kit's core rows: users, sessions, accounts, API keys, and the tables to hold them.

Re-exported by :mod:`fastapi_better_auth.testing`. Rows follow Better-Auth's conventions (ids,
defaults, timestamps); add them to a session of your test database.
"""

import json
import secrets
import string
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ._naming import SchemaNaming
from ._schema import migrate as _migrate
from ._types import generate_id, utcnow
from .api_keys import ApiKey, hash_api_key
from .models import Account, Session, User


def make_user(**fields: Any) -> User:
    """A user row as Better-Auth creates one (role ``user``, not banned, unverified); override any field."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": generate_id(),
        "name": "Test User",
        "email_verified": False,
        "created_at": now,
        "updated_at": now,
        "role": "user",
        "banned": False,
    }
    values.update(fields)
    values.setdefault("email", f"{values['id'].lower()}@example.com")
    return User(**values)


def make_session(user: User | str, **fields: Any) -> Session:
    """A session row of ``user`` valid for 7 days (Better-Auth's default); override any field."""
    now = utcnow()
    values: dict[str, Any] = {
        "id": generate_id(),
        "token": generate_id(),
        "user_id": user if isinstance(user, str) else user.id,
        "expires_at": now + timedelta(days=7),
        "created_at": now,
        "updated_at": now,
        "ip_address": "",
        "user_agent": "",
    }
    values.update(fields)
    return Session(**values)


def make_account(user: User | str, **fields: Any) -> Account:
    """An email-and-password account of ``user`` (``providerId`` ``credential``); override any field."""
    user_id = user if isinstance(user, str) else user.id
    now = utcnow()
    values: dict[str, Any] = {
        "id": generate_id(),
        "account_id": user_id,
        "provider_id": "credential",
        "user_id": user_id,
        "password": None,
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return Account(**values)


def make_api_key(
    user: User | str,
    *,
    permissions: Mapping[str, list[str]] | None = None,
    **fields: Any,
) -> tuple[ApiKey, str]:
    """An ``apikey`` row of ``user`` as the API-key plugin creates one, and its plaintext key.

    The key is 64 letters (the plugin's ``defaultKeyLength``), stored hashed; the defaults are
    the plugin's (enabled, 10 requests a day, no ``remaining``). Add the row to your session
    and send the key as ``x-api-key``. Override any column: ``remaining=3``, ``expires_at=…``.
    """
    key = "".join(secrets.choice(string.ascii_letters) for _ in range(64))
    now = utcnow()
    values: dict[str, Any] = {
        "id": generate_id(),
        "config_id": "default",
        "start": key[:6],
        "reference_id": user if isinstance(user, str) else user.id,
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
    return ApiKey(**values), key


async def create_tables(
    engine: AsyncEngine, naming: SchemaNaming | None = None
) -> None:
    """Create Better-Auth's tables in a test database (the package's migration, as
    ``python -m fastapi_better_auth migrate upgrade`` runs it), under ``naming``.

    For your own tests' throwaway databases; in production Better-Auth's migration owns the schema.
    """
    await _migrate.upgrade(engine, naming)
