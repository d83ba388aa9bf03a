"""SQLAlchemy mapping of the organization plugin's tables, under any ``SchemaNaming``.

Columns, order, keys and indexes are those better-auth 1.7.25 migrates with
``organization({ teams: { enabled: true } })`` (``dist/plugins/organization/organization.mjs``
lines 583-860; checked against its live DDL by the schema tests). Defaults (``role`` "member",
``status`` "pending", ``memberCount`` 0) are applied in JavaScript, so the database has none
but ``invitation.createdAt``. A column referencing an ``id`` takes the id's type under
``generateId: "uuid"``/``"serial"`` (``db/get-migration.mjs`` 543-546). The session's
``activeOrganizationId``/``activeTeamId`` are mapped apart (:class:`SessionActivityMixin`), so the
core ``Session`` model stays valid for apps without the plugin. Better-Auth owns these tables.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, Table, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from .._naming import SchemaNaming
from .._tables import NAMING_CONVENTION, UUID_ID, _Physical
from .._types import SerialId, UTCDateTime, new_id, utcnow
from ..models import get_models

_FK_ID = "better_auth_foreign_key_id"


def _now() -> datetime:
    return utcnow()


class _OrgPhysical(_Physical):
    """The core's renaming, plus the id type for columns that reference an ``id``."""

    @classmethod
    def __table_cls__(
        cls, name: str, metadata: MetaData, *args: Any, **kw: Any
    ) -> Table:
        for arg in args:
            if isinstance(arg, Column) and arg.info.get(_FK_ID):
                if cls.__naming__.id_type == "uuid":
                    arg.type = UUID_ID
                    arg.info["better_auth_id"] = "uuid"
                elif cls.__naming__.id_type == "serial":
                    arg.type = SerialId()
        return super().__table_cls__(name, metadata, *args, **kw)


def _references(
    cls: Any, model: str, order: int, *, nullable: bool = False
) -> Mapped[str]:
    naming: SchemaNaming = cls.__naming__
    if model == "user":  # the core's table, in the core models' metadata
        target: Any = get_models(naming).user.__table__.c.id  # type: ignore[attr-defined]
    elif model == "organization" and hasattr(cls, "__organization__"):
        target = cls.__organization__.__table__.c.id  # in another metadata
    else:
        target = f"{naming.table(model)}.{naming.column(model, 'id')}"
    return mapped_column(
        Text,
        ForeignKey(target, ondelete="CASCADE"),
        nullable=nullable,
        sort_order=order,
        info={_FK_ID: True},
    )


class OrganizationMixin(_OrgPhysical):
    """Columns of the ``organization`` table; ``metadata`` is JSON text, Python ``metadata_``."""

    __model__ = "organization"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    logo: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_now)
    metadata_: Mapped[str | None] = mapped_column(Text)  # column "metadata"


class MemberMixin(_OrgPhysical):
    """Columns of the ``member`` table: a user's membership and comma-joined ``role``."""

    __model__ = "member"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)

    @declared_attr
    def organization_id(cls) -> Mapped[str]:
        return _references(cls, "organization", 1)

    @declared_attr
    def user_id(cls) -> Mapped[str]:
        return _references(cls, "user", 2)

    role: Mapped[str] = mapped_column(Text, default="member", sort_order=3)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_now, sort_order=4
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        return (Index(None, "organization_id"), Index(None, "user_id"))


class InvitationMixin(_OrgPhysical):
    """Columns of the ``invitation`` table (``teamId`` has no foreign key in Better-Auth's DDL)."""

    __model__ = "invitation"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)

    @declared_attr
    def organization_id(cls) -> Mapped[str]:
        return _references(cls, "organization", 1)

    email: Mapped[str] = mapped_column(Text, sort_order=2)
    role: Mapped[str | None] = mapped_column(Text, sort_order=3)
    team_id: Mapped[str | None] = mapped_column(Text, sort_order=4)
    status: Mapped[str] = mapped_column(Text, default="pending", sort_order=5)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, sort_order=6)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime,
        default=_now,
        server_default=text("CURRENT_TIMESTAMP"),
        sort_order=7,
    )

    @declared_attr
    def inviter_id(cls) -> Mapped[str]:
        return _references(cls, "user", 8)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        return (Index(None, "email"), Index(None, "organization_id"))


class TeamMixin(_OrgPhysical):
    """Columns of the ``team`` table (``teams: { enabled: true }``)."""

    __model__ = "team"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(Text, sort_order=1)
    member_count: Mapped[int] = mapped_column(Integer, default=0, sort_order=2)

    @declared_attr
    def organization_id(cls) -> Mapped[str]:
        return _references(cls, "organization", 3)

    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_now, sort_order=4
    )
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, sort_order=5)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        return (Index(None, "organization_id"),)


class TeamMemberMixin(_OrgPhysical):
    """Columns of the ``teamMember`` table; ``membershipKey`` is Better-Auth's own dedup key."""

    __model__ = "teamMember"

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)

    @declared_attr
    def team_id(cls) -> Mapped[str]:
        return _references(cls, "team", 1)

    @declared_attr
    def user_id(cls) -> Mapped[str]:
        return _references(cls, "user", 2)

    membership_key: Mapped[str | None] = mapped_column(Text, unique=True, sort_order=3)
    created_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=_now, sort_order=4
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        return (Index(None, "team_id"), Index(None, "user_id"))


class OrganizationRoleMixin(_OrgPhysical):
    """Columns of ``organizationRole`` (``dynamicAccessControl``): roles an organization defines.

    ``permission`` is JSON text, ``{"resource": ["action", …]}``; mapped in a metadata of its own,
    since the table exists only when the option is on (organization.mjs 663-701).
    """

    __model__ = "organizationRole"
    __organization__: ClassVar[type[Any]]

    id: Mapped[str] = mapped_column(Text, primary_key=True, default=new_id)

    @declared_attr
    def organization_id(cls) -> Mapped[str]:
        return _references(cls, "organization", 1)

    role: Mapped[str] = mapped_column(Text, sort_order=2)
    permission: Mapped[str] = mapped_column(Text, sort_order=3)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime,
        default=_now,
        server_default=text("CURRENT_TIMESTAMP"),
        sort_order=4,
    )
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, sort_order=5)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        return (Index(None, "organization_id"), Index(None, "role"))


class SessionActivityMixin(_OrgPhysical):
    """The two columns the plugin adds to ``session``, mapped on their own for reading them."""

    __model__ = "session"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    active_organization_id: Mapped[str | None] = mapped_column(Text)
    active_team_id: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class OrganizationModels:
    """The organization plugin's mapped classes under one naming.

    ``metadata`` holds the five plugin tables (their foreign keys to ``user`` point into the
    core models' metadata); ``organization_role`` (``dynamicAccessControl``) and
    ``session_activity`` are mapped in metadatas of their own.
    """

    naming: SchemaNaming
    metadata: MetaData
    organization: type[OrganizationMixin]
    member: type[MemberMixin]
    invitation: type[InvitationMixin]
    team: type[TeamMixin]
    team_member: type[TeamMemberMixin]
    session_activity: type[SessionActivityMixin]
    organization_role: type[OrganizationRoleMixin]


def _base(naming: SchemaNaming) -> type[DeclarativeBase]:
    class NamedBase(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING_CONVENTION)
        __naming__: ClassVar[SchemaNaming] = naming

    return NamedBase


@lru_cache(maxsize=16)
def get_organization_models(naming: SchemaNaming | None = None) -> OrganizationModels:
    """The organization plugin's models under ``naming``; the same object for the same naming."""
    chosen = naming if naming is not None else SchemaNaming()
    base = _base(chosen)

    def mapped(mixin: type[Any], name: str, on: type[Any] = base, **extra: Any) -> Any:
        namespace = {"__module__": __name__, "__qualname__": name, **extra}
        return type(name, (mixin, on), namespace)

    organization = mapped(OrganizationMixin, "Organization")
    return OrganizationModels(
        chosen,
        base.metadata,
        organization,
        mapped(MemberMixin, "Member"),
        mapped(InvitationMixin, "Invitation"),
        mapped(TeamMixin, "Team"),
        mapped(TeamMemberMixin, "TeamMember"),
        mapped(SessionActivityMixin, "SessionActivity", _base(chosen)),
        mapped(
            OrganizationRoleMixin,
            "OrganizationRole",
            _base(chosen),
            __organization__=organization,
        ),
    )
