"""The list cursor's codec: what ``encode`` makes decodes to the same position, nothing else does.

The routes answer a refused cursor as a 422 (``tests/integration/test_admin_users.py``, with
the nesting and the offset cases over HTTP); here the codec alone, without a database.
"""

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fastapi_better_auth import AuthenticatedUser
from fastapi_better_auth._admin.cursor import Cursor, InvalidCursorError
from fastapi_better_auth._admin.listing import UserQuery
from fastapi_better_auth._admin.schemas import SortDirection, UserSortField

MOMENT = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)


def _raw(data: Any) -> str:
    """``data`` in the cursor's outer form (unpadded base64url of its JSON)."""
    text = json.dumps(data).encode()
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("sort_by", "value"),
    [
        ("created_at", MOMENT),
        ("updated_at", MOMENT.astimezone(timezone(timedelta(hours=-5)))),
        ("email", "ada@example.com"),
        ("name", "Ädä Lovelace 100%_/"),
        ("role", "user,admin"),
        ("role", None),
    ],
)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_cursor_encode_decode_round_trips_every_sort(
    sort_by: UserSortField, value: Any, direction: SortDirection
) -> None:
    cursor = Cursor(sort_by, direction, value, "user-1")
    text = cursor.encode()
    assert "=" not in text and text.isascii()
    assert Cursor.decode(text, sort_by, direction) == cursor


def test_cursor_after_is_the_row_position_in_the_query_order() -> None:
    row = AuthenticatedUser(
        id="u-9", email="zed@example.com", name="Zed", email_verified=True
    )
    query = UserQuery(limit=10, sort_by="email", sort_direction="desc")
    assert Cursor.after(row, query) == Cursor("email", "desc", row.email, "u-9")


@pytest.mark.parametrize(
    "text",
    [
        "%%%",  # not base64url
        "_w",  # bytes that are not UTF-8
        _raw({"v": 1}),  # not a list
        _raw([1, "email", "asc", "a@b.c"]),  # too short
        _raw([2, "email", "asc", "a@b.c", "u"]),  # another version
        _raw([1, 5, "asc", "a@b.c", "u"]),  # sort not a string
        _raw([1, "email", "asc", "a@b.c", ""]),  # empty id
        _raw([1, "email", "asc", "a@b.c", 7]),  # id not a string
        _raw([1, "email", "asc", None, "u"]),  # NULL where only role may be NULL
        _raw([1, "email", "asc", ["a"], "u"]),  # value not a string
        _raw([1, "email", "asc", "a\x00b", "u"]),  # NUL: PostgreSQL cannot bind it
        base64.urlsafe_b64encode(b"[" * 1500).rstrip(b"=").decode(),  # too deep
    ],
)
def test_cursor_decode_tampered_raises_invalid_cursor(text: str) -> None:
    with pytest.raises(InvalidCursorError, match="Not a cursor returned by this API"):
        Cursor.decode(text, "email", "asc")


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-05-01T12:30:15"]
)  # not a date; a date without zone
def test_cursor_decode_bad_datetime_raises_invalid_cursor(value: str) -> None:
    with pytest.raises(InvalidCursorError, match="Not a cursor returned"):
        Cursor.decode(_raw([1, "created_at", "asc", value, "u"]), "created_at", "asc")


@pytest.mark.parametrize(("sort_by", "direction"), [("name", "asc"), ("email", "desc")])
def test_cursor_decode_for_another_sort_names_the_cursor_sort(
    sort_by: UserSortField, direction: SortDirection
) -> None:
    text = Cursor("email", "asc", "a@b.c", "u").encode()
    with pytest.raises(InvalidCursorError, match="pages by email asc; send the same"):
        Cursor.decode(text, sort_by, direction)
