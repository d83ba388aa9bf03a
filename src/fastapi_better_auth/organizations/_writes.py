"""Changing a member's role and removing a member, with Better-Auth's rules, in one transaction.

Mirrors better-auth 1.7.25 ``dist/plugins/organization/routes/crud-members.mjs``:
``updateMemberRole`` (lines 268-366) and ``removeMember`` (169-228), in their order, with the
library's error shape instead of Better-Auth's statuses (the guide has the table). Two changes:
a member of another organization, or none, is the same 404 (Better-Auth answers 400 or 403,
telling them apart); and every rule is decided on rows locked for the transaction, so two
owners demoting each other at once cannot leave the organization without one (Better-Auth
reads, then writes: both demotions can pass). Framework-free.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, false, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .._errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    NotOrganizationMemberError,
    OrganizationPermissionError,
)
from .._policy import parse_role_list
from ..access import ORGANIZATION_ROLES, has_org_permission, with_dynamic_roles
from ._config import Organizations
from ._models import OrganizationModels
from .access import Role

#: Better-Auth's messages (organization/error-codes.mjs 14-35).
MEMBER_NOT_FOUND = "Member not found"
NOT_ALLOWED_TO_UPDATE = "You are not allowed to update this member"
NOT_ALLOWED_TO_DELETE = "You are not allowed to delete this member"
LAST_OWNER_DEMOTED = "You cannot leave the organization without an owner"
LAST_OWNER_REMOVED = "You cannot leave the organization as the only owner"


@dataclass(frozen=True)
class Membership:
    """A locked ``member`` row."""

    id: str
    user_id: str
    role: str
    created_at: datetime

    def holds(self, role: str) -> bool:
        return role in parse_role_list(self.role)


@dataclass(frozen=True)
class Locked:
    """The organization's members, locked until the transaction ends, and the caller's row."""

    members: dict[str, Membership]
    actor: Membership

    def target(self, member_id: str) -> Membership:
        """The member ``member_id`` of this organization (another's is not found either).

        Raises:
            NotFoundError: no such member here.
        """
        found = self.members.get(member_id)
        if found is None:
            raise NotFoundError(MEMBER_NOT_FOUND)
        return found

    def holders(self, role: str) -> int:
        return sum(member.holds(role) for member in self.members.values())


async def lock_members(
    db: AsyncSession, models: OrganizationModels, organization_id: str, user_id: str
) -> Locked:
    """Every member row of the organization, locked, in id order (no deadlock between callers).

    PostgreSQL: ``SELECT … FOR UPDATE`` (a waiting caller reads the rows as committed). SQLite
    has no row locks: a write that changes nothing takes the database's write lock first, as
    the admin API's last-admin guard does (``_policy.lock_active_admins``).

    Raises:
        NotOrganizationMemberError: the caller is not a member (or no such organization).
    """
    member = models.member
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(
            update(member).where(false()).values(id=member.id),
            execution_options={"synchronize_session": False},
        )
    rows = await db.execute(
        select(member.id, member.user_id, member.role, member.created_at)
        .where(member.organization_id == organization_id)
        .order_by(member.id)
        .with_for_update()
    )
    members = {r[0]: Membership(r[0], r[1], r[2] or "", r[3]) for r in rows}
    actor = next((m for m in members.values() if m.user_id == user_id), None)
    if actor is None:
        raise NotOrganizationMemberError()
    return Locked(members, actor)


async def _roles(
    db: AsyncSession, models: OrganizationModels, config: Organizations, org: str
) -> Mapping[str, Role]:
    """``hasPermission``'s roles: the app's, plus the stored ones (has-permission.mjs 25-48).

    Raises:
        OrganizationPermissionError: a stored role is malformed (Better-Auth: 500): no grant.
    """
    if not config.dynamic_access_control:
        return config.effective_roles
    table = models.organization_role
    rows = await db.execute(
        select(table.role, table.permission).where(table.organization_id == org)
    )
    try:
        return with_dynamic_roles(config.effective_roles, [(r[0], r[1]) for r in rows])
    except ValueError as error:
        raise OrganizationPermissionError() from error


async def update_member_role(
    db: AsyncSession,
    models: OrganizationModels,
    config: Organizations,
    organization_id: str,
    actor_user_id: str,
    member_id: str,
    role: str | Sequence[str],
) -> Membership:
    """Set ``member_id``'s role(s), stored comma-joined and trimmed (``parseRoles``).

    Raises:
        InvalidRequestError: no role (crud-members.mjs 270-275), or one not configured
            (``ROLE_NOT_FOUND``, 307-331).
        NotOrganizationMemberError: the caller is no member of the organization.
        NotFoundError: no such member in it (280-283).
        OrganizationPermissionError: a non-owner touching an owner or granting the creator
            role (284-290), or a role without ``member: ["update"]`` (300-306).
        ConflictError: the last owner demoting themselves (291-299).
    """
    to_set = parse_role_list(role)
    if not to_set:
        raise InvalidRequestError("A role is required.")
    locked = await lock_members(db, models, organization_id, actor_user_id)
    target, actor, creator = locked.target(member_id), locked.actor, config.creator_role
    actor_is_creator = actor.holds(creator)
    if (target.holds(creator) or creator in to_set) and not actor_is_creator:
        raise OrganizationPermissionError(NOT_ALLOWED_TO_UPDATE)
    demotes_self = actor.id == target.id and creator not in to_set
    if actor_is_creator and demotes_self and locked.holders(creator) <= 1:
        raise ConflictError(LAST_OWNER_DEMOTED)
    roles = await _roles(db, models, config, organization_id)
    if not has_org_permission(
        actor.role,
        {"member": ["update"]},
        roles,
        creator_role=creator,
        allow_creator_all_permissions=True,
    ):
        raise OrganizationPermissionError(NOT_ALLOWED_TO_UPDATE)
    # static names: Better-Auth's defaults *and* the configured ones (307); then stored ones
    valid = {*ORGANIZATION_ROLES, *config.effective_roles, *roles}
    unknown = [name for name in to_set if name not in valid]
    if unknown:
        raise InvalidRequestError(f"ROLE_NOT_FOUND: {', '.join(unknown)}")
    stored = ",".join(to_set)
    member = models.member
    await db.execute(
        update(member).where(member.id == target.id).values(role=stored),
        execution_options={"synchronize_session": False},
    )
    return replace(target, role=stored)


async def remove_member(
    db: AsyncSession,
    models: OrganizationModels,
    config: Organizations,
    organization_id: str,
    actor_user_id: str,
    member_id: str,
    *,
    session_id: str | None = None,
) -> Membership:
    """Delete ``member_id`` (and, with teams, its team memberships in this organization).

    A caller removing themselves leaves the organization on ``session_id`` too: its
    ``activeOrganizationId`` is cleared if it was this one (crud-members.mjs 221).

    Raises:
        NotOrganizationMemberError: the caller is no member of the organization.
        NotFoundError: no such member in it (crud-members.mjs 192, 206).
        OrganizationPermissionError: a non-owner removing an owner (196), or a role without
            ``member: ["delete"]`` (200-205; no creator bypass here).
        ConflictError: removing the last owner (197-198).
    """
    locked = await lock_members(db, models, organization_id, actor_user_id)
    target, creator = locked.target(member_id), config.creator_role
    if target.holds(creator):
        if not locked.actor.holds(creator):
            raise OrganizationPermissionError(NOT_ALLOWED_TO_DELETE)
        if locked.holders(creator) <= 1:
            raise ConflictError(LAST_OWNER_REMOVED)
    roles = await _roles(db, models, config, organization_id)
    if not has_org_permission(
        locked.actor.role, {"member": ["delete"]}, roles, creator_role=creator
    ):
        raise OrganizationPermissionError(NOT_ALLOWED_TO_DELETE)
    await db.execute(
        delete(models.member).where(models.member.id == target.id),
        execution_options={"synchronize_session": False},
    )
    if config.teams:
        await _leave_teams(db, models, organization_id, target.user_id)
    if session_id is not None and target.user_id == actor_user_id:
        activity = models.session_activity
        await db.execute(
            update(activity)
            .where(
                activity.id == session_id,
                activity.active_organization_id == organization_id,
            )
            .values(active_organization_id=None),
            execution_options={"synchronize_session": False},
        )
    return target


async def _leave_teams(
    db: AsyncSession, models: OrganizationModels, organization_id: str, user_id: str
) -> None:
    """``deleteMember`` with teams (adapter.mjs 333-353): team rows go, seats are released."""
    team, team_member = models.team, models.team_member
    teams = (
        await db.scalars(select(team.id).where(team.organization_id == organization_id))
    ).all()
    for team_id in teams:
        deleted: Any = await db.execute(
            delete(team_member).where(
                team_member.team_id == team_id, team_member.user_id == user_id
            ),
            execution_options={"synchronize_session": False},
        )
        count = int(deleted.rowcount or 0)
        if count:
            await db.execute(
                update(team)
                .where(team.id == team_id, team.member_count >= count)
                .values(member_count=team.member_count - count),
                execution_options={"synchronize_session": False},
            )
