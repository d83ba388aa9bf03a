"""The testing kit's organization rows: organizations, members, a session's active organization.

Re-exported by :mod:`fastapi_better_auth.testing`. Rows are built under any naming (the
``naming`` of your settings, ``BetterAuthSettings.naming``), with Better-Auth's conventions;
their ids follow the naming's ``generateId`` as the core rows' do (``_testing_ids``).
"""

from typing import Any

from sqlalchemy import Update, update

from ._naming import SchemaNaming
from ._testing_ids import id_of, local_part, new_id
from ._types import utcnow
from .models import SessionMixin
from .organizations import OrganizationMixin, TeamMixin, get_organization_models


def make_organization(*, naming: SchemaNaming | None = None, **fields: Any) -> Any:
    """An ``organization`` row as Better-Auth creates one (a unique slug); override any field."""
    values: dict[str, Any] = {
        **new_id(naming),
        "name": "Test Organization",
        "created_at": utcnow(),
    }
    values.update(fields)
    values.setdefault("slug", f"org-{local_part(values)}")
    return get_organization_models(naming).organization(**values)


def make_member(
    organization: OrganizationMixin | str,
    user: Any,
    role: str = "member",
    *,
    naming: SchemaNaming | None = None,
    **fields: Any,
) -> Any:
    """A ``member`` row: ``user`` (a row or an id) in ``organization`` with ``role`` (comma-joined).

    Under serial ids, flush the user and organization rows first (the database numbers them).
    """
    values: dict[str, Any] = {
        **new_id(naming),
        "organization_id": id_of(organization),
        "user_id": id_of(user),
        "role": role,
        "created_at": utcnow(),
    }
    values.update(fields)
    return get_organization_models(naming).member(**values)


def set_active_organization(
    session: SessionMixin | str,
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
        "active_organization_id": None if organization is None else id_of(organization)
    }
    if team is not None:
        values["active_team_id"] = id_of(team)
    return update(activity).where(activity.id == id_of(session)).values(**values)


__all__ = ["make_member", "make_organization", "set_active_organization"]
