"""Strict JSON for token segments: the same answer on every Python version."""

import json

import pytest

from fastapi_better_auth._jwk_keys import MAX_DEPTH, loads_object


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
