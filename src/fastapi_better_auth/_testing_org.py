"""The testing kit's organization rows: organizations, members, a session's active organization.

Re-exported by :mod:`fastapi_better_auth.testing`. Rows are built under any naming (the
``naming`` of your settings, ``BetterAuthSettings.naming``), with Better-Auth's conventions.
"""

from typing import Any

from sqlalchemy import Update, update

from ._naming import SchemaNaming
from ._types import generate_id, utcnow
from .models import Session
from .organizations import OrganizationMixin, TeamMixin, get_organization_models


def make_organization(*, naming: SchemaNaming | None = None, **fields: Any) -> Any:
    """An ``organization`` row as Better-Auth creates one (a unique slug); override any field."""
    values: dict[str, Any] = {
        "id": generate_id(),
        "name": "Test Organization",
        "created_at": utcnow(),
    }
    values.update(fields)
    values.setdefault("slug", f"org-{values['id'].lower()}")
    return get_organization_models(naming).organization(**values)


def _id(row: Any) -> str:
    return row if isinstance(row, str) else str(row.id)


def make_member(
    organization: OrganizationMixin | str,
    user: Any,
    role: str = "member",
    *,
    naming: SchemaNaming | None = None,
    **fields: Any,
) -> Any:
    """A ``member`` row: ``user`` (a row or an id) in ``organization`` with ``role`` (comma-joined)."""
    values: dict[str, Any] = {
        "id": generate_id(),
        "organization_id": _id(organization),
        "user_id": _id(user),
        "role": role,
        "created_at": utcnow(),
    }
    values.update(fields)
    return get_organization_models(naming).member(**values)


def set_active_organization(
    session: Session | str,
    organization: OrganizationMixin | str | None,
    *,
    team: TeamMixin | str | None = None,
    naming: SchemaNaming | None = None,
) -> Update:
    """The ``UPDATE`` that makes ``organization`` the session's active one, as Better-Auth's
    ``organization/set-active`` does: execute it after adding the session row.

    ``team`` also sets ``activeTeamId`` (a column only ``teams: { enabled: true }`` adds).
    """
    activity = get_organization_models(naming).session_activity
    values: dict[str, Any] = {
        "active_organization_id": None if organization is None else _id(organization)
    }
    if team is not None:
        values["active_team_id"] = _id(team)
    return update(activity).where(activity.id == _id(session)).values(**values)


__all__ = ["make_member", "make_organization", "set_active_organization"]
