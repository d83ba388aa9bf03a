"""Better-Auth's ``admin({ ac, roles })`` mirrored in Python: a ``support`` role that may list users."""

from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_better_auth import (
    AuthenticatedUser,
    BetterAuthSettings,
    better_auth_router,
    require_permission,
)
from fastapi_better_auth.access import (
    ADMIN_PLUGIN_ROLES,
    ADMIN_PLUGIN_STATEMENTS,
    AdminAccess,
    create_access_control,
)

# --8<-- [start:roles]
# the same statements and roles as admin({ ac, roles }) in auth.ts
ac = create_access_control(ADMIN_PLUGIN_STATEMENTS)
support = ac.new_role({"user": ["list"]})
ADMIN_ACCESS = AdminAccess(
    ac=ac,
    roles={
        **ADMIN_PLUGIN_ROLES,
        "support": support,
    },  # custom roles replace the defaults
)
# --8<-- [end:roles]


def create_app(settings: BetterAuthSettings | None = None) -> FastAPI:
    # --8<-- [start:app]
    app = FastAPI()
    app.include_router(better_auth_router(settings, admin_access=ADMIN_ACCESS))

    Moderator = Annotated[
        AuthenticatedUser, Depends(require_permission({"user": ["ban"]}))
    ]

    @app.post("/reports/{report_id}/hide")
    async def hide_report(report_id: str, moderator: Moderator) -> dict[str, str]:
        """Users whose admin-plugin role grants user:ban (admin does, support does not)."""
        return {"report": report_id, "hidden_by": moderator.id}

    # --8<-- [end:app]
    return app
