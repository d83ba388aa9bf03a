"""What the organization routes take and answer (pydantic; no FastAPI)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ._reads import OrganizationInfo


class MemberUser(BaseModel):
    """The user of a membership, as Better-Auth's ``list-members`` shows it (adapter.mjs 236-241)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    email: str
    image: str | None = None


class OrganizationMember(BaseModel):
    """A ``member`` row: who belongs to the organization, with which comma-joined roles."""

    model_config = ConfigDict(frozen=True)

    id: str
    organization_id: str
    user_id: str
    role: str
    created_at: datetime
    user: MemberUser | None = None


class MemberList(BaseModel):
    """A page of members, oldest first (ties by id), and how many the organization has."""

    members: list[OrganizationMember]
    total: int
    limit: int
    next_cursor: str | None = None


class OrganizationList(BaseModel):
    """The caller's organizations."""

    organizations: list[OrganizationInfo]


class MemberRoleUpdate(BaseModel):
    """``update-member-role``'s ``role``: one role, a comma-joined list, or a list of roles."""

    model_config = ConfigDict(extra="forbid")

    role: str | list[str] = Field(
        description='The new role(s), e.g. "admin" or ["admin", "sales"]; each must be '
        "a configured role (or one stored for the organization, with dynamic access control).",
        examples=["admin"],
    )
