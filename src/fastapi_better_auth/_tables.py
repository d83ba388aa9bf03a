"""The columns of Better-Auth's tables, declared once, and how they land on physical names.

Each table is a mixin of Python-named columns; :class:`_Physical` renames them, at mapping time,
to the physical names of the class's :class:`~fastapi_better_auth.SchemaNaming` (and types the
ids under ``generateId``, the dates under ``epoch_ms``). The public classes built from these
mixins, and the factory that maps them under any naming, are in :mod:`fastapi_better_auth.models`.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Column, ForeignKey, Index, MetaData, Table, Text, Uuid, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from ._naming import SchemaNaming, to_camel
from ._types import JSBoolean, SerialId, UTCDateTime, UTCEpochMsDateTime, new_id, utcnow

#: PostgreSQL's own names for unnamed constraints, which is what Better-Auth's DDL gets.
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "uq": "%(table_name)s_%(column_0_name)s_key",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "ix": "%(table_name)s_%(column_0_name)s_idx",
}

_NOW = text("CURRENT_TIMESTAMP")
#: Ids under ``generateId: "uuid"``: PostgreSQL ``uuid`` (as str in Python), ``text`` elsewhere.
UUID_ID = Text().with_variant(Uuid(as_uuid=False), "postgresql")
_ID_KEYS = frozenset({"id", "user_id"})
#: Keeps Better-Auth's column order although ``user_id`` is declared through ``declared_attr``.
_AFTER_USER_ID = 1


def _now_default() -> datetime:
    return utcnow()


class _Physical:
    """Maps a mixin's attributes onto the physical names of the class's naming."""

    __model__: ClassVar[str]
    __naming__: ClassVar[SchemaNaming]

    if TYPE_CHECKING:  # the declarative base provides the keyword constructor

        def __init__(self, **kwargs: Any) -> None: ...

    @declared_attr.directive
    def __tablename__(cls) -> str:
        return cls.__naming__.table(cls.__model__)

    @classmethod
    def __table_cls__(
        cls, name: str, metadata: MetaData, *args: Any, **kw: Any
    ) -> Table:
        naming = cls.__naming__
        for arg in args:
            if isinstance(arg, Column):
                arg.name = naming.column(cls.__model__, to_camel(arg.key))
                if naming.id_type == "uuid" and arg.key in _ID_KEYS:
                    arg.type = UUID_ID
                    arg.info["better_auth_id"] = "uuid"
                elif naming.id_type == "serial" and arg.key in _ID_KEYS:
                    arg.type = SerialId()
                    if arg.primary_key:  # the database numbers rows (an identity)
                        arg.default = None
                if naming.sqlite_dates == "epoch_ms" and isinstance(
                    arg.type, UTCDateTime
                ):
                    arg.type = UTCEpochMsDateTime()
        return Table(name, metadata, *args, **kw)


def _user_fk(cls: Any) -> Mapped[str]:
    target = f"{cls.__naming__.table('user')}.{cls.__naming__.column('user', 'id')}"
    return mapped_column(Text, ForeignKey(target, ondelete="CASCADE"), nullable=False)


class UserMixin(_Physical):
    """Columns of Better-Auth's ``user`` table, with the admin plugin's."""

    __model__ = "user"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text, unique=True)
    email_verified: Mapped[bool] = mapped_column(JSBoolean, default=False)
    image: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_now_default, server_default=_NOW
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_now_default, server_default=_NOW
    )
    role: Mapped[str | None] = mapped_column(Text)
    banned: Mapped[bool | None] = mapped_column(JSBoolean, default=False)
    ban_reason: Mapped[str | None] = mapped_column(Text)
    ban_expires: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SessionMixin(_Physical):
    """Columns of Better-Auth's ``session`` table, with the admin plugin's ``impersonatedBy``."""

    __model__ = "session"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    token: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_now_default, server_default=_NOW
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now_default)
    ip_address: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def user_id(cls) -> Mapped[str]:
        return _user_fk(cls)

    impersonated_by: Mapped[str | None] = mapped_column(Text, sort_order=_AFTER_USER_ID)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index]:
        return (Index(None, "user_id"),)


class AccountMixin(_Physical):
    """Columns of Better-Auth's ``account`` table (credentials and linked OAuth accounts)."""

    __model__ = "account"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(Text)
    provider_id: Mapped[str] = mapped_column(Text)

    @declared_attr
    def user_id(cls) -> Mapped[str]:
        return _user_fk(cls)

    access_token: Mapped[str | None] = mapped_column(Text, sort_order=_AFTER_USER_ID)
    refresh_token: Mapped[str | None] = mapped_column(Text, sort_order=_AFTER_USER_ID)
    id_token: Mapped[str | None] = mapped_column(Text, sort_order=_AFTER_USER_ID)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, sort_order=_AFTER_USER_ID
    )
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, sort_order=_AFTER_USER_ID
    )
    scope: Mapped[str | None] = mapped_column(Text, sort_order=_AFTER_USER_ID)
    password: Mapped[str | None] = mapped_column(Text, sort_order=_AFTER_USER_ID)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime,
        default=_now_default,
        server_default=_NOW,
        sort_order=_AFTER_USER_ID,
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_now_default, sort_order=_AFTER_USER_ID
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index]:
        return (Index(None, "user_id"),)


class VerificationMixin(_Physical):
    """Columns of Better-Auth's ``verification`` table (email and reset tokens)."""

    __model__ = "verification"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)
    identifier: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_now_default, server_default=_NOW
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_now_default, server_default=_NOW
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index]:
        return (Index(None, "identifier"),)


class JwksMixin(_Physical):
    """Columns of the ``jwt`` plugin's ``jwks`` table; its ``id`` is the JWT ``kid``."""

    __model__ = "jwks"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)
    public_key: Mapped[str] = mapped_column(Text)
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now_default)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alg: Mapped[str | None] = mapped_column(Text)
    crv: Mapped[str | None] = mapped_column(Text)
