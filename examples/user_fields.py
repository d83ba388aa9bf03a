"""The user's own columns: Better-Auth's additionalFields and plugin columns, read typed."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import Field

from fastapi_better_auth import (
    AuthenticatedUser,
    BetterAuthSettings,
    better_auth_router,
    current_user,
)


# --8<-- [start:model]
class User(AuthenticatedUser):
    """Better-Auth's user with the columns this app reads (each needs a default)."""

    plan: str = "free"  # additionalFields.plan         → column "plan"
    locale: str | None = None  # additionalFields.locale → column "locale"
    username: str | None = None  # username() plugin
    display_username: str | None = None  # → "displayUsername"
    two_factor_enabled: bool = False  # twoFactor() plugin → "twoFactorEnabled"
    trial_ends_at: datetime | None = None  # type: "date"
    tags: list[str] = Field(default_factory=list)  # type: "string[]"
    # a Better-Auth name that is not the camelCase of the attribute ("isVip")
    is_vip: Annotated[bool, Field(json_schema_extra={"better_auth_field": "isVIP"})] = (
        False
    )


CurrentAppUser = Annotated[User, Depends(current_user)]
# --8<-- [end:model]


def create_app(settings: BetterAuthSettings | None = None) -> FastAPI:
    # --8<-- [start:app]
    app = FastAPI()
    app.include_router(better_auth_router(settings, user_model=User))

    @app.get("/plan")
    async def plan(user: CurrentAppUser) -> dict[str, str | bool]:
        return {"plan": user.plan, "two_factor": user.two_factor_enabled}

    # --8<-- [end:app]
    return app
