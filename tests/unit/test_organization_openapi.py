"""The ``/organizations`` routes document themselves: names, the error shape per status, bodies."""

from typing import Any

from fastapi import FastAPI

from fastapi_better_auth import BetterAuthSettings, better_auth_router
from fastapi_better_auth.organizations import Organizations

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


def _document(organizations: Organizations | None) -> dict[str, Any]:
    settings = BetterAuthSettings.load(
        url="http://127.0.0.1:3000",
        database_url="postgresql+asyncpg://u@127.0.0.1:5432/db",
        secret="s" * 32,
    )
    app = FastAPI()
    app.include_router(better_auth_router(settings, organizations=organizations))
    return app.openapi()


def test_routes_are_opt_in() -> None:
    paths = _document(None)["paths"]
    assert not [p for p in paths if p.startswith("/api/v1/organizations")]


def test_each_route_documents_its_errors_in_the_library_shape() -> None:
    paths = _document(Organizations())["paths"]
    base = "/api/v1/organizations"
    expected = {
        (base, "get"): {"401", "403", "503"},
        (base + "/{organization_id}", "get"): {"401", "403", "422", "503"},
        (base + "/{organization_id}/members", "get"): {"401", "403", "422", "503"},
        (base + "/{organization_id}/members/{member_id}/role", "put"): {
            "400", "401", "403", "404", "409", "422", "503"
        },
        (base + "/{organization_id}/members/{member_id}", "delete"): {
            "401", "403", "404", "409", "422", "503"
        },
    }  # fmt: skip
    found = {
        (path, method): set(operation["responses"]) - {"200"}
        for path, item in paths.items()
        if path.startswith(base)
        for method, operation in item.items()
    }
    assert found == expected
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        for status in statuses - {"422"}:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == ERROR, (path, status)
    role = paths[base + "/{organization_id}/members/{member_id}/role"]["put"]
    assert role["summary"] == "Change a member's role (member: update)"
    body = role["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/MemberRoleUpdate"}
