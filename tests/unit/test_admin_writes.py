"""The admin writes on a SQLite file: an id the schema cannot hold is a 404, never a query."""

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from fastapi_better_auth import SchemaNaming
from fastapi_better_auth._admin import writes
from fastapi_better_auth._admin.schemas import BanRequest, RoleUpdate, UserUpdate
from fastapi_better_auth._naming import IdType
from fastapi_better_auth._types import utcnow
from fastapi_better_auth.errors import UserNotFoundError
from fastapi_better_auth.models import get_models
from fastapi_better_auth.testing import create_tables
from tests.helpers import settings_for


@pytest.mark.anyio
@pytest.mark.parametrize("id_type", ["uuid", "serial"])
async def test_writes_to_an_id_of_another_shape_raise_user_not_found(
    tmp_path: Path, id_type: IdType
) -> None:
    naming = SchemaNaming(id_type=id_type)
    models = get_models(naming)
    url = f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"
    settings = settings_for("http://127.0.0.1:1", url)
    engine = create_async_engine(url)
    await create_tables(engine, naming)
    now = utcnow()
    try:
        async with AsyncSession(engine) as db:
            for write in (
                writes.update_user(
                    db, models, "x-1", UserUpdate(name="A"), now, as_admin=True
                ),
                writes.set_role(
                    db, models, settings, "x-1", RoleUpdate(role="user"), now
                ),
                writes.ban_user(
                    db, models, settings, "x-1", BanRequest(), now, actor_id="root"
                ),
                writes.unban_user(db, models, "x-1", now),
            ):
                with pytest.raises(UserNotFoundError):
                    await write
    finally:
        await engine.dispose()
