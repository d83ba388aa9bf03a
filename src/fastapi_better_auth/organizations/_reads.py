"""The organization guards' reads: the caller's membership, and an organization's stored roles.

Framework-free (a worker can call them with a :class:`~fastapi_better_auth.BetterAuth`); each is
one pooled read through ``BetterAuth.read``, never cached, so removals and role changes count at
once. The session's active organization is read where Better-Auth keeps the session: its
``session`` row, or with ``secondaryStorage`` its Redis entry (``SessionStore.activity``). Errors are the library's (``NoActiveOrganizationError``, ``NotOrganizationMemberError``).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from .._errors import (
    ConfigurationError,
    NoActiveOrganizationError,
    NotOrganizationMemberError,
)
from .._policy import parse_role_list
from .._runtime import BetterAuth
from .._schemas import AuthenticatedSession
from ._models import get_organization_models
from .access import Role, with_dynamic_roles


class OrganizationInfo(BaseModel):
    """An ``organization`` row."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    slug: str
    logo: str | None = None
    metadata: str | None = None
    created_at: datetime


class MemberInfo(BaseModel):
    """The caller's ``member`` row in the organization of this request, read on this request."""

    model_config = ConfigDict(frozen=True)

    id: str
    organization_id: str
    user_id: str
    role: str
    created_at: datetime
    organization: OrganizationInfo
    #: The session's ``activeTeamId`` when the organization is the session's active one.
    active_team_id: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def roles(self) -> tuple[str, ...]:
        """``role`` as the organization plugin reads it (``parseRoleList``: split, trimmed)."""
        return parse_role_list(self.role)


async def load_member(
    auth: BetterAuth,
    identity: AuthenticatedSession,
    named: str | None,
    *,
    teams: bool = False,
) -> MemberInfo:
    """The caller's membership of ``named``, else of the session's active organization.

    ``teams`` (``Organizations(teams=True)``) also reads the session's ``activeTeamId``, a
    column Better-Auth adds only with ``teams: { enabled: true }``. The session is read only
    where it decides: with no organization named, or with ``teams``. Sessions in Redis answer
    from Redis, as Better-Auth's ``findSession`` finds them (:func:`_stored_activity`).

    Raises:
        NoActiveOrganizationError: none named and none active on the session.
        NotOrganizationMemberError: not a member, or no such organization.
        DatabaseUnavailableError: the database cannot be reached
            (``SessionStoreUnavailableError``: Redis cannot).
    """
    naming = auth.settings.naming
    models = get_organization_models(naming)
    org, member, activity = models.organization, models.member, models.session_activity
    if named is not None and not naming.valid_id(named):
        raise NotOrganizationMemberError()
    # the session's activity decides the organization, or a named one's team (the active
    # organization's only): a named organization without teams needs no session read
    wanted = named is None or teams
    session_id = None if identity.session is None or not wanted else identity.session.id
    stored = await _stored_activity(auth, identity) if wanted else None
    if stored is not None and stored[0] is not None and not naming.valid_id(stored[0]):
        raise NotOrganizationMemberError()  # no query with an id the column cannot hold

    async def query(db: AsyncConnection) -> tuple[Any, str | None]:
        team = None
        organization_id = named
        row: Any = stored
        if session_id is not None and stored is None:
            columns = [activity.active_organization_id]
            if teams:
                columns.append(activity.active_team_id)
            row = (
                await db.execute(select(*columns).where(activity.id == session_id))
            ).first()
        if row is not None:
            if organization_id is None:
                organization_id = row[0]
            if teams and organization_id == row[0]:
                team = row[1]
        if organization_id is None:
            raise NoActiveOrganizationError()
        statement = (
            select(*_columns(member, org))
            .join(org, org.id == member.organization_id)
            .where(
                member.organization_id == organization_id,
                member.user_id == identity.user.id,
            )
            .limit(1)
        )
        return (await db.execute(statement)).first(), team

    row, team = await _read(auth, query)
    if row is None:
        raise NotOrganizationMemberError()
    return MemberInfo(
        id=row[0],
        organization_id=row[1],
        user_id=row[2],
        role=row[3],
        created_at=row[4],
        active_team_id=team,
        organization=OrganizationInfo(
            id=row[1],
            name=row[5],
            slug=row[6],
            logo=row[7],
            metadata=row[8],
            created_at=row[9],
        ),
    )


async def _stored_activity(
    auth: BetterAuth, identity: AuthenticatedSession
) -> tuple[str | None, str | None] | None:
    """The session's active organization and team where ``findSession`` finds the session.

    With ``secondaryStorage`` Redis answers (no ``session`` table without
    ``storeSessionInDatabase``); None: the ``session`` table does, for a session Redis does
    not hold under ``storeSessionInDatabase``, or when there is no Redis.

    Raises:
        SessionStoreUnavailableError: Redis cannot be reached.
    """
    store, session = auth.session_store, identity.session
    if store is None or session is None:
        return None
    present, activity = await store.activity(session.user_id, session.id)
    return activity if present or not store.in_database else None


def _columns(member: Any, org: Any) -> tuple[Any, ...]:
    return (
        member.id,
        member.organization_id,
        member.user_id,
        member.role,
        member.created_at,
        org.name,
        org.slug,
        org.logo,
        org.metadata_,
        org.created_at,
    )


async def load_roles(
    auth: BetterAuth, roles: Mapping[str, Role], organization_id: str
) -> dict[str, Role]:
    """``roles`` plus the organization's ``organizationRole`` rows (``dynamicAccessControl``).

    Raises:
        ValueError: a stored ``permission`` is not ``{"resource": ["action", …]}``.
        DatabaseUnavailableError: the database cannot be reached.
    """
    table = get_organization_models(auth.settings.naming).organization_role

    async def query(db: AsyncConnection) -> list[tuple[str, str]]:
        rows = await db.execute(
            select(table.role, table.permission).where(
                table.organization_id == organization_id
            )
        )
        return [(row[0], row[1]) for row in rows]

    return with_dynamic_roles(roles, await _read(auth, query))


async def _read(auth: BetterAuth, query: Any) -> Any:
    """``auth.read(query)``; a missing plugin table or column is a misconfiguration, named."""
    try:
        return await auth.read(query)
    except (
        DBAPIError
    ) as error:  # unavailable databases are DatabaseUnavailableError already
        raise ConfigurationError(
            "the organization plugin's tables or session columns are missing or named "
            "otherwise: migrate with Better-Auth's organization() plugin on (teams and "
            "dynamicAccessControl as configured), and set BETTER_AUTH_USE_PLURAL and "
            "BETTER_AUTH_COLUMN_CASE as Better-Auth names them "
            f"({type(error.orig).__name__})"
        ) from error
