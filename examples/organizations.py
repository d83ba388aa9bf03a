"""Routes for the members of Better-Auth organizations, with the app's roles mirrored in Python."""

from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_better_auth import BetterAuthSettings, better_auth_router
from fastapi_better_auth.organizations import (
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    CurrentMember,
    MemberInfo,
    Organizations,
    create_access_control,
    require_org_permission,
    require_org_role,
)

# --8<-- [start:roles]
# the same statements and roles as organization({ ac, roles }) in auth.ts
ac = create_access_control({**ORGANIZATION_STATEMENTS, "project": ["create", "delete"]})
developer = ac.new_role({"project": ["create"]})
ORGANIZATIONS = Organizations(
    roles={
        **ORGANIZATION_ROLES,
        "developer": developer,
    },  # custom roles replace the defaults
    header="x-organization-id",  # opt in: a request may name one of the caller's organizations
)
# --8<-- [end:roles]


def create_app(settings: BetterAuthSettings | None = None) -> FastAPI:
    # --8<-- [start:app]
    app = FastAPI()
    app.include_router(better_auth_router(settings))
    ORGANIZATIONS.install(app)

    @app.get("/organization")
    async def organization(member: CurrentMember) -> dict[str, object]:
        """The caller's active (or named) organization and their roles in it."""
        return {"id": member.organization_id, "roles": member.roles}

    CanCreate = Annotated[
        MemberInfo, Depends(require_org_permission({"project": ["create"]}))
    ]

    @app.post("/projects")
    async def create_project(member: CanCreate) -> dict[str, str]:
        """Members whose role grants project:create (owner and admin do not, developer does)."""
        return {"organization": member.organization_id, "by": member.user_id}

    @app.get("/settings", dependencies=[Depends(require_org_role("owner", "admin"))])
    async def settings_page() -> dict[str, bool]:
        """Owners and admins of the organization."""
        return {"ok": True}

    # --8<-- [end:app]
    return app
