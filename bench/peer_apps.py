"""The same protected route with the other Better-Auth libraries for FastAPI, served by uvicorn.

Runs in its own virtualenv (``bench/.venv-peers``): ``fastapi-better-auth-bridge`` installs a
package named ``fastapi_better_auth`` too. ``BENCH_PEER`` is ``bridge`` or ``betterauth``;
``BENCH_ORIGIN`` is Better-Auth's origin (iss, aud, JWKS). Usage follows each README.
"""

import importlib
import os
from typing import Annotated, Any

from fastapi import Depends, FastAPI


def _bridge(app: FastAPI, origin: str) -> None:
    # Another distribution's ``fastapi_better_auth`` (only in the peers' virtualenv), hence ``Any``
    # for mypy; FastAPI does not use a dependency parameter's type, only its ``Depends``.
    bridge: Any = importlib.import_module("fastapi_better_auth")
    auth = bridge.BetterAuth(verifiers=[bridge.JwtVerifier(base_url=origin)])
    current = Annotated[Any, Depends(auth.current_session())]

    @app.get("/protected")
    async def protected(session: current) -> dict[str, str]:
        return {"id": session.user.id}


def _betterauth(app: FastAPI, origin: str) -> None:
    betterauth: Any = importlib.import_module("fastapi_betterauth")
    better_auth = betterauth.BetterAuth(origin)

    @app.get("/protected")
    async def protected(user: Annotated[Any, Depends(better_auth)]) -> dict[str, Any]:
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
