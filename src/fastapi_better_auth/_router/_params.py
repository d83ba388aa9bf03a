"""Path and query parameter types shared by the routers: ids and text PostgreSQL can store.

PostgreSQL's ``text`` cannot hold a NUL character and ``OFFSET`` is a 64-bit integer; these
types turn such input into FastAPI's 422 before it reaches the database.
"""

from typing import Annotated

from fastapi import Path

NO_NUL = r"^[^\x00]*$"
MAX_OFFSET = 2**63 - 1
#: A list cursor: unpadded base64url, long enough for a 256-character sort value and an id.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
MAX_CURSOR = 2048

UserId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=255,
        pattern=NO_NUL,
        description="A Better-Auth user id.",
    ),
]
SessionId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=255,
        pattern=NO_NUL,
        description="A Better-Auth session id.",
    ),
]
