"""Reading organizations and members for the routes: the caller's organizations, a member page.

``list_members`` pages as ``GET /users`` does (``limit`` capped by ``max_page_size``, an opaque
keyset ``cursor`` of :mod:`fastapi_better_auth._admin.cursor`), in one order: oldest member
first, ties by id, which the ``member`` table's ``organizationId`` index narrows to one
organization. Each member carries its user as Better-Auth's ``list-members`` does
(``dist/plugins/organization/adapter.mjs`` 188-246). Framework-free.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .._admin.cursor import Cursor
from ..models import get_models
from ._bodies import MemberUser, OrganizationMember
from ._models import OrganizationModels
from ._reads import OrganizationInfo


@dataclass(frozen=True)
class MemberPage:
    """One page of members, the organization's member count, the next page's cursor."""

    members: list[OrganizationMember]
    total: int
    next_cursor: str | None


async def list_organizations(
    db: AsyncConnection, models: OrganizationModels, user_id: str
) -> list[OrganizationInfo]:
    """The organizations ``user_id`` is a member of, oldest first (``organization/list``)."""
    org, member = models.organization, models.member
    rows = await db.execute(
        select(org.id, org.name, org.slug, org.logo, org.metadata_, org.created_at)
        .join(member, member.organization_id == org.id)
        .where(member.user_id == user_id)
        .order_by(org.created_at, org.id)
    )
    return [
        OrganizationInfo(
            id=r[0], name=r[1], slug=r[2], logo=r[3], metadata=r[4], created_at=r[5]
        )
        for r in rows
    ]


async def list_members(
    db: AsyncConnection,
    models: OrganizationModels,
    organization_id: str,
    limit: int,
    after: Cursor | None,
) -> MemberPage:
    """A page of the organization's members after ``after``; total counted only when needed."""
    member = models.member
    user = get_models(models.naming).user
    query = (
        select(
            member.id,
            member.organization_id,
            member.user_id,
            member.role,
            member.created_at,
            user.name,
            user.email,
            user.image,
        )
        .outerjoin(user, user.id == member.user_id)
        .where(member.organization_id == organization_id)
        .order_by(member.created_at, member.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(
            or_(
                member.created_at > after.value,
                (member.created_at == after.value) & (member.id > after.id),
            )
        )
    rows = list(await db.execute(query))
    more = len(rows) > limit
    members = [_member(row) for row in rows[:limit]]
    if after is None and not more:
        total = len(members)
    else:
        total = int(
            (
                await db.execute(
                    select(func.count())
                    .select_from(member)
                    .where(member.organization_id == organization_id)
                )
            ).scalar_one()
        )
    last = members[-1] if more else None
    next_cursor = (
        None
        if last is None
        else Cursor("created_at", "asc", last.created_at, last.id).encode()
    )
    return MemberPage(members, total, next_cursor)


def _member(row: Any) -> OrganizationMember:
    user = (
        None
        if row[5] is None
        else MemberUser(id=row[2], name=row[5], email=row[6], image=row[7])
    )
    return OrganizationMember(
        id=row[0],
        organization_id=row[1],
        user_id=row[2],
        role=row[3],
        created_at=row[4],
        user=user,
    )
