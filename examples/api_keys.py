"""API keys of Better-Auth's API-key plugin next to sessions and JWTs, on the same routes."""

from typing import Annotated

from fastapi import Depends, FastAPI

from fastapi_better_auth import BetterAuthSettings, better_auth_router
from fastapi_better_auth.api_keys import (
    CurrentPrincipal,
    Principal,
    require_api_key_permission,
)


def create_app(settings: BetterAuthSettings | None = None) -> FastAPI:
    # --8<-- [start:app]
    app = FastAPI()
    app.include_router(better_auth_router(settings))

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str | None]:
        """A user by session or JWT, or by one of their API keys (`x-api-key`)."""
        key = principal.api_key
        return {"user": principal.user.id, "key": None if key is None else key.id}

    ReadFiles = Annotated[
        Principal, Depends(require_api_key_permission({"files": ["read"]}))
    ]

    @app.get("/files")
    async def files(principal: ReadFiles) -> list[str]:
        """Only API keys granted `files: ["read"]`."""
        return [f"{principal.user.id}/report.pdf"]

    # --8<-- [end:app]
    return app
