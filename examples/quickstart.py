"""The 10-line example of the README and the docs' home page."""

from fastapi import FastAPI

from fastapi_better_auth import CurrentUser, better_auth_router

app = FastAPI()
app.include_router(better_auth_router())  # reads BETTER_AUTH_* at startup


@app.get("/private")
async def private(user: CurrentUser) -> dict[str, str]:
    return {"hello": user.name}
