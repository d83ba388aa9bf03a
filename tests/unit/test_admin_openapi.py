"""The admin routes' OpenAPI document is pinned: paths, names, parameters, bodies and errors.

``tests/data/admin-openapi.json`` is the part of ``/openapi.json`` that documents ``/users``
and ``/users/{user_id}/sessions`` (with every schema it references), as generated before the
admin API moved into ``fastapi_better_auth._admin``. A change to it is a change of the public
HTTP API: regenerate it on purpose with ``python -m tests.unit.test_admin_openapi``.
"""

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from fastapi_better_auth import BetterAuthSettings, better_auth_router

FIXTURE = Path(__file__).parents[1] / "data" / "admin-openapi.json"


def admin_document() -> dict[str, Any]:
    """The admin paths of a default app's OpenAPI document and the schemas they reference."""
    settings = BetterAuthSettings.load(
        url="http://127.0.0.1:3000",
        database_url="postgresql+asyncpg://u@127.0.0.1:5432/db",
        secret="s" * 32,
    )
    app = FastAPI()
    app.include_router(better_auth_router(settings))
    document = app.openapi()
    paths = {
        path: item
        for path, item in document["paths"].items()
        if path.startswith("/api/v1/users")
    }
    schemas = document["components"]["schemas"]
    referenced: dict[str, Any] = {}
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name not in referenced:
            referenced[name] = schemas[name]
            pending |= _refs(schemas[name])
    return {"paths": paths, "schemas": dict(sorted(referenced.items()))}


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = {ref.rsplit("/", 1)[1]} if isinstance(ref, str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def test_admin_openapi_document_is_unchanged() -> None:
    assert admin_document() == json.loads(FIXTURE.read_text())


if __name__ == "__main__":  # pragma: no cover - regenerates the fixture on purpose
    FIXTURE.write_text(json.dumps(admin_document(), indent=1, sort_keys=True) + "\n")
