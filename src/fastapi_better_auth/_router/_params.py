"""The admin routes' path and query parameters: their types, and the checks a type cannot make.

PostgreSQL's ``text`` cannot hold a NUL character and ``OFFSET`` is a 64-bit integer; these
types turn such input into FastAPI's 422 before it reaches the database. A cursor must decode
for the requested sort, so :func:`decode_cursor` checks it and answers the same 422 naming the
parameter (the page size's bound, a setting too, is ``_route_helpers.page_size``).
"""

from typing import Annotated

from fastapi import Path, Query

from .._admin.cursor import Cursor, InvalidCursorError
from .._admin.schemas import SortDirection, UserSortField
from .._naming import SchemaNaming
from .._route_helpers import invalid_cursor

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
PageLimit = Annotated[
    int | None,
    Query(ge=1, description="Page size; default 50, at most `max_page_size`."),
]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=256,
        pattern=NO_NUL,
        description="Case-insensitive, anywhere in email or name.",
    ),
]
RoleFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=NO_NUL,
        description="Users holding this one role.",
    ),
]
BannedFilter = Annotated[
    bool | None, Query(description="Banned now (an expired ban is none).")
]
CursorText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_CURSOR,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page: the page after it, in the "
        "same sort (not with `offset`).",
    ),
]


def decode_cursor(
    text: str,
    sort_by: UserSortField,
    sort_direction: SortDirection,
    offset: int,
    naming: SchemaNaming,
) -> Cursor:
    """The decoded ``cursor``, or FastAPI's 422 (``loc: ["query", "cursor"]``) naming why."""
    try:
        if offset:
            raise InvalidCursorError("Send either cursor or offset, not both.")
        position = Cursor.decode(text, sort_by, sort_direction)
        if not naming.valid_id(position.id):
            raise InvalidCursorError("Not a cursor returned by this API.")
    except InvalidCursorError as error:
        raise invalid_cursor(text, error) from error
    return position
