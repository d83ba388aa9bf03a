"""Type-checked (mypy --strict), never executed: the public API reads as users write it."""

from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import select

from fastapi_better_auth import (
    AdminUser,
    AuthenticatedSession,
    AuthenticatedUser,
    BetterAuth,
    BetterAuthSettings,
    CurrentSession,
    CurrentUser,
    DbSession,
    OptionalUser,
    SchemaNaming,
    better_auth_router,
    current_user,
    require_role,
)
from fastapi_better_auth.api_keys import (
    ApiKey,
    ApiKeyInfo,
    ApiKeyMixin,
    ApiKeyPrincipal,
    CurrentPrincipal,
    Principal,
    get_api_key_model,
    require_api_key_permission,
    verify_api_key,
)
from fastapi_better_auth.models import SessionMixin, User, UserMixin, get_models
from fastapi_better_auth.organizations import (
    ORGANIZATION_ROLES,
    ORGANIZATION_STATEMENTS,
    CurrentMember,
    CurrentOrganization,
    MemberInfo,
    OrganizationInfo,
    Organizations,
    create_access_control,
    get_organization_models,
    has_org_permission,
    load_member,
    require_org_permission,
    require_org_role,
)
from fastapi_better_auth.organizations.access import AuthorizeResult
from fastapi_better_auth.testing import (
    TokenIssuer,
    make_api_key,
    make_session,
    make_user,
    user_claims,
)

app = FastAPI()
app.include_router(better_auth_router())
app.include_router(
    better_auth_router(
        BetterAuthSettings.load(url="http://x", database_url="sqlite://")
    )
)


@app.get("/me")
async def me(user: CurrentUser) -> str:
    return user.email


@app.get("/maybe")
async def maybe(user: OptionalUser) -> str | None:
    return None if user is None else user.id


@app.get("/session")
async def session(identity: CurrentSession) -> str | None:
    expires = identity.session.expires_at if identity.session else None
    return None if expires is None else expires.isoformat()


@app.get("/admin")
async def admin(user: AdminUser, db: DbSession) -> list[str]:
    rows = await db.execute(select(User.email).where(User.banned.is_(False)))
    return [email for (email,) in rows]


Editor = Annotated[AuthenticatedUser, Depends(require_role("editor"))]


@app.get("/edit")
async def edit(user: Editor) -> frozenset[str]:
    return user.roles


def other_naming() -> str:
    models = get_models(
        SchemaNaming.from_mappings(use_plural=True, column_case="snake")
    )
    return str(select(models.user.email).where(models.user.email_verified.is_(True)))


async def runtime() -> AuthenticatedSession:
    async with BetterAuth(
        BetterAuthSettings.load(url="http://x", database_url="sqlite://")
    ) as auth:
        return await auth.authenticator.from_jwt(
            TokenIssuer().mint(user_claims(make_user()))
        )


class PlanUser(AuthenticatedUser):
    plan: str = "free"
    two_factor_enabled: bool = False


PlanCurrentUser = Annotated[PlanUser, Depends(current_user)]
app.include_router(better_auth_router(user_model=PlanUser))


@app.get("/plan")
async def plan(user: PlanCurrentUser) -> str:
    return user.plan if user.two_factor_enabled else user.email


async def typed_runtime() -> BetterAuth:
    return BetterAuth(
        BetterAuthSettings.load(
            url="http://x", database_url="sqlite://", user_fields={"plan": "string"}
        ),
        user_model=None,
    )


# API keys (fastapi_better_auth.api_keys)


@app.get("/principal")
async def principal(caller: CurrentPrincipal) -> str | None:
    key: ApiKeyInfo | None = caller.api_key
    return None if key is None else key.name


@app.get("/keys-only")
async def keys_only(caller: ApiKeyPrincipal) -> str:
    return caller.user.id


@app.get(
    "/files", dependencies=[Depends(require_api_key_permission({"files": ["read"]}))]
)
async def files() -> None: ...


async def worker(auth: BetterAuth, key: str) -> Principal:
    return await verify_api_key(auth, key, permissions={"files": ["read"]})


row, plaintext = make_api_key(make_user(), permissions={"files": ["read"]})
remaining: int | None = row.remaining
key_model: type[ApiKey] | object = get_api_key_model(SchemaNaming(use_plural=True))
# the testing kit under another naming: the naming's rows, a user given as a row or an id
drizzle = SchemaNaming(column_case="snake", id_type="serial")
default_user: User = make_user()
named_user: UserMixin = make_user(naming=drizzle)
named_session: SessionMixin = make_session(named_user, naming=drizzle)
named_key: ApiKeyMixin = make_api_key("42", naming=drizzle)[0]
claims = user_claims(named_user)


# --- organizations ----------------------------------------------------------------------

org_ac = create_access_control({**ORGANIZATION_STATEMENTS, "project": ["create"]})
org_roles = {
    **ORGANIZATION_ROLES,
    "developer": org_ac.new_role({"project": ["create"]}),
}
Organizations(roles=org_roles, header="x-organization-id").install(app)
verdict: AuthorizeResult = org_roles["developer"].authorize(
    {"project": ["create"]}, "OR"
)
allowed: bool = has_org_permission(
    "member, developer", {"project": ["create"]}, org_roles
)


@app.get("/org")
async def org(organization: CurrentOrganization) -> OrganizationInfo:
    return organization


@app.get("/org/member")
async def org_member(member: CurrentMember) -> tuple[str, ...]:
    return member.roles


@app.post(
    "/org/projects",
    dependencies=[
        Depends(require_org_permission({"project": ["create"]})),
        Depends(require_org_role("owner", "developer")),
    ],
)
async def org_projects() -> None: ...


async def org_worker(auth: BetterAuth, identity: AuthenticatedSession) -> MemberInfo:
    return await load_member(auth, identity, "org-id")


member_table: object = get_organization_models(SchemaNaming()).member.__table__  # type: ignore[attr-defined]
