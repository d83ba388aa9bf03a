"""The same protected route with the other Better-Auth libraries for FastAPI, served by uvicorn.

Runs in its own virtualenv (``bench/.venv-peers``): ``fastapi-better-auth-bridge`` installs a
package named ``fastapi_better_auth`` too. ``BENCH_PEER`` is ``bridge`` or ``betterauth``;
``BENCH_ORIGIN`` is Better-Auth's origin (iss, aud, JWKS). Usage follows each README.
"""

import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI


def _bridge(app: FastAPI, origin: str) -> None:
    from fastapi_better_auth import BetterAuth, JwtVerifier, Session, User

    auth = BetterAuth(verifiers=[JwtVerifier(base_url=origin)])
    current = Annotated[Session[User], Depends(auth.current_session())]

    @app.get("/protected")
    async def protected(session: current) -> dict[str, str]:
        return {"id": session.user.id}


def _betterauth(app: FastAPI, origin: str) -> None:
    from fastapi_betterauth import BetterAuth, User

    better_auth = BetterAuth(origin)

    @app.get("/protected")
    async def protected(user: Annotated[User, Depends(better_auth)]) -> dict[str, Any]:
        return {"id": user["sub"]}


def create_app() -> FastAPI:
    origin = os.environ["BENCH_ORIGIN"]
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"id": "anonymous"}

    {"bridge": _bridge, "betterauth": _betterauth}[os.environ["BENCH_PEER"]](
        app, origin
    )
    return app
