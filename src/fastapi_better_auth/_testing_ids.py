"""Ids of the testing kit's rows, as Better-Auth's ``generateId`` makes them under a naming.

``"text"``: 32 random ``[A-Za-z0-9]`` characters; ``"uuid"``: a version-4 UUID's text (what
``gen_random_uuid()`` and ``crypto.randomUUID()`` give); ``"serial"``: none, the database numbers
the row when it is flushed, as Better-Auth leaves it to the database.
"""

import uuid
from typing import Any

from ._naming import SchemaNaming
from ._types import generate_id


def new_id(naming: SchemaNaming | None) -> dict[str, str]:
    """The ``id`` of a new row under ``naming``: ``{}`` for serial ids, left to the database."""
    id_type = "text" if naming is None else naming.id_type
    if id_type == "serial":
        return {}
    return {"id": str(uuid.uuid4()) if id_type == "uuid" else generate_id()}


def id_of(row: Any) -> str:
    """The id a row refers to: ``row`` itself when it is an id, else the row's ``id``.

    A row under serial ids has none until the database numbers it: refusing it here names the
    fix, where inserting ``NULL`` would fail later on a constraint.
    """
    if isinstance(row, (str, int)):
        return str(row)
    value = row.id
    if value is None:
        raise ValueError(
            f"this {type(row).__name__} row has no id yet: under serial ids the database "
            "numbers it, so add it to the session and `await session.flush()` first "
            "(or pass an id)"
        )
    return str(value)


def local_part(values: dict[str, Any]) -> str:
    """A unique, lower-case name for an email or slug: the row's id, or a random one without."""
    value = values.get("id")
    return (generate_id() if value is None else str(value)).lower()
