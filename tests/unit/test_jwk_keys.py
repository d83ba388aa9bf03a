"""Strict JSON for token segments: the same answer on every Python version."""

import json

import pytest

from fastapi_better_auth._jwks._jose import MAX_DEPTH, loads_object


def test_loads_object_nesting_past_the_limit_is_refused() -> None:
    deep = '{"a":' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"
    with pytest.raises(ValueError, match="nested"):
        loads_object(deep.encode())


def test_loads_object_nesting_at_the_limit_is_accepted() -> None:
    ok = '{"a":' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    assert "a" in loads_object(ok.encode())


def test_loads_object_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"name": "[{" * 100 + '\\"quoted\\"', "ok": True})
    assert loads_object(text.encode())["ok"] is True


@pytest.mark.parametrize(
    "text",
    [b'{"a":1}', b' {"a":1}', b'{"a":1}\n', b'\t{"a":[1,{"b":2}]}\r\n'],
)
def test_loads_object_whitespace_around_the_object_is_json(text: bytes) -> None:
    assert loads_object(text) == json.loads(text)


@pytest.mark.parametrize(
    "text", [b"", b" ", b'{"a":1}x', b'{"a":1}{"b":2}', b"nul", b'{"a":1', b" [1]"]
)
def test_loads_object_anything_but_one_object_is_refused(text: bytes) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        loads_object(text)
