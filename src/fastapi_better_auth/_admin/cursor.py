"""The ``cursor`` of ``GET /users``: a position in one sort order, as an opaque string.

The codec is apart from the queries so its one job, parsing text a client sends back, can be
read and tested alone: anything but a cursor this API made for the same sort (mangled,
tampered, nested past the JSON parser's limit, made for another sort) is an
:class:`InvalidCursorError`, which the route answers as a 422.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .._schemas import AuthenticatedUser
from .schemas import SortDirection, UserSortField

#: Version tag of the cursor's JSON form; a cursor of another version is refused.
_CURSOR_VERSION = 1
#: Sort fields whose cursor value is a datetime.
_DATETIME_FIELDS = frozenset({"created_at", "updated_at"})


class Ordered(Protocol):
    """What a cursor is taken in: a sort field and a direction (a ``UserQuery``)."""

    @property
    def sort_by(self) -> UserSortField: ...

    @property
    def sort_direction(self) -> SortDirection: ...


class InvalidCursorError(ValueError):
    """A ``cursor`` that this API did not make for this sort (mangled, or for another one)."""


@dataclass(frozen=True)
class Cursor:
    """A position in one sort order: after the row with this sort value and this id.

    ``encode`` gives the opaque string clients pass back; it is neither secret nor signed
    (an admin who forges one just starts the page at the position they wrote).
    """

    sort_by: UserSortField
    sort_direction: SortDirection
    value: datetime | str | None
    id: str

    @classmethod
    def after(cls, row: AuthenticatedUser, query: "Ordered") -> "Cursor":
        """The position just after ``row`` in ``query``'s order."""
        value = getattr(row, query.sort_by)
        return cls(query.sort_by, query.sort_direction, value, row.id)

    def encode(self) -> str:
        """The opaque form: unpadded base64url of a small JSON array."""
        value = (
            self.value.isoformat() if isinstance(self.value, datetime) else self.value
        )
        data = [_CURSOR_VERSION, self.sort_by, self.sort_direction, value, self.id]
        raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(
        cls, text: str, sort_by: UserSortField, sort_direction: SortDirection
    ) -> "Cursor":
        """Parse a cursor made by ``encode`` for this sort.

        Raises:
            InvalidCursorError: not such a cursor, or one made for another sort.
        """
        try:
            raw = base64.b64decode(
                text + "=" * (-len(text) % 4), altchars=b"-_", validate=True
            )
            data = json.loads(raw.decode())
        # RecursionError: a cursor nested past the JSON parser's depth limit (Python < 3.13)
        except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InvalidCursorError("Not a cursor returned by this API.") from exc
        if not (
            isinstance(data, list)
            and len(data) == 5
            and data[0] == _CURSOR_VERSION
            and all(isinstance(item, str) for item in data[1:3])
            and isinstance(data[4], str)
            and data[4]
        ):
            raise InvalidCursorError("Not a cursor returned by this API.")
        _, cursor_sort, cursor_direction, value, row_id = data
        if (cursor_sort, cursor_direction) != (sort_by, sort_direction):
            raise InvalidCursorError(
                f"This cursor pages by {cursor_sort} {cursor_direction}; send the same "
                "sort_by and sort_direction as the request that returned it."
            )
        return cls(sort_by, sort_direction, _cursor_value(sort_by, value), row_id)


def _cursor_value(sort_by: UserSortField, value: Any) -> datetime | str | None:
    if value is None and sort_by == "role":  # the only nullable sort field
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidCursorError("Not a cursor returned by this API.")
    if sort_by not in _DATETIME_FIELDS:
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCursorError("Not a cursor returned by this API.") from exc
    if moment.tzinfo is None:
        raise InvalidCursorError("Not a cursor returned by this API.")
    return moment
