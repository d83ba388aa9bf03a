"""Strict JOSE decoding (``_jwks/_jose.py``): canonical base64url, and JSON with one answer on every Python."""

import json

import pytest

from fastapi_better_auth._jwks._jose import MAX_DEPTH, b64url_decode, loads_object


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


@pytest.mark.parametrize("value", ["AA=", "A", "A+", "A/", "AB", "AAB", "AAAAB", "é"])
def test_b64url_decode_non_canonical_raises(value: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(value)


@pytest.mark.parametrize(
    ("value", "raw"),
    [("", b""), ("AA", b"\x00"), ("AAE", b"\x00\x01"), ("-_8", b"\xfb\xff")],
)
def test_b64url_decode_canonical_returns_bytes(value: str, raw: bytes) -> None:
    assert b64url_decode(value) == raw


def test_loads_object_strict_json_rules() -> None:
    assert loads_object(b'{"a": {"b": [1]}}') == {"a": {"b": [1]}}
    for bad in (
        b'{"a":1,"a":1}',
        b'{"a":{"b":1,"b":2}}',
        b'{"a":Infinity}',
        b'{"a":-Infinity}',
        b"[]",
        b"\xc3",
    ):
        with pytest.raises(ValueError, match=r"\w"):
            loads_object(bad)
