"""SQLAlchemy 2 models of the tables Better-Auth creates (core, ``admin`` and ``jwt`` plugins).

Python names are ours (snake_case); database names are Better-Auth's. Each table's columns are
declared once, in a mixin (kept in ``_tables``); :func:`get_models` maps those mixins onto the
physical names of a given :class:`~fastapi_better_auth.SchemaNaming` (plural tables, snake_case
or renamed fields).
``User``, ``Session``, ``Account``, ``Verification`` and ``Jwks`` are the mapping under
Better-Auth's default naming: singular tables (``"user"`` quoted) and camelCase columns.

Better-Auth owns the schema: create it with Better-Auth's migration or with
``python -m fastapi_better_auth migrate upgrade``, never with ``create_all`` on a shared database.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from ._naming import SchemaNaming
from ._tables import (
    NAMING_CONVENTION,
    AccountMixin,
    JwksMixin,
    SessionMixin,
    UserMixin,
    VerificationMixin,
)
from ._tables import UUID_ID as UUID_ID
from ._types import generate_id

__all__ = [
    "Account",
    "AccountMixin",
    "Base",
    "BetterAuthModels",
    "Jwks",
    "JwksMixin",
    "Session",
    "SessionMixin",
    "User",
    "UserMixin",
    "Verification",
    "VerificationMixin",
    "generate_id",
    "get_models",
]


@dataclass(frozen=True)
class BetterAuthModels:
    """The five mapped classes and their metadata under one naming."""

    naming: SchemaNaming
    metadata: MetaData
    user: type[UserMixin]
    session: type[SessionMixin]
    account: type[AccountMixin]
    verification: type[VerificationMixin]
    jwks: type[JwksMixin]


class Base(DeclarativeBase):
    """Declarative base of the default-named models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __naming__: ClassVar[SchemaNaming] = SchemaNaming()


class User(UserMixin, Base):
    """A Better-Auth user (table ``"user"``)."""


class Session(SessionMixin, Base):
    """A Better-Auth session (table ``session``); ``token`` is the bearer credential."""


class Account(AccountMixin, Base):
    """A credential or linked provider account (table ``account``)."""


class Verification(VerificationMixin, Base):
    """A verification value (table ``verification``)."""


class Jwks(JwksMixin, Base):
    """A signing key of the ``jwt`` plugin (table ``jwks``)."""


_DEFAULT = BetterAuthModels(
    SchemaNaming(), Base.metadata, User, Session, Account, Verification, Jwks
)


@lru_cache(maxsize=16)
def get_models(naming: SchemaNaming | None = None) -> BetterAuthModels:
    """The models mapped under ``naming``; the same object for the same naming.

    The default naming returns the module's ``User``, ``Session``… classes.
    """
    if naming is None or naming == _DEFAULT.naming:
        return _DEFAULT
    chosen: SchemaNaming = naming

    class NamedBase(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)
        __naming__: ClassVar[SchemaNaming] = chosen

    def mapped(mixin: type[Any], name: str) -> Any:
        return type(
            name, (mixin, NamedBase), {"__module__": __name__, "__qualname__": name}
        )

    return BetterAuthModels(
        naming,
        NamedBase.metadata,
        mapped(UserMixin, "User"),
        mapped(SessionMixin, "Session"),
        mapped(AccountMixin, "Account"),
        mapped(VerificationMixin, "Verification"),
        mapped(JwksMixin, "Jwks"),
    )
