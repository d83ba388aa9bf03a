"""Strict JSON for token segments (the same answer on every Python version), and ECDSA's DER."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from fastapi_better_auth._jwks._jose import MAX_DEPTH, loads_object
from fastapi_better_auth._jwks._keys import der_signature


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


def _dss(r: bytes, s: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))


@pytest.mark.parametrize("size", [32, 66])
@pytest.mark.parametrize(
    ("r", "s"),
    [
        (b"\x00", b"\xff"),
        (b"\x80", b"\x01"),
        (b"\x7f", b"\x00"),
        (b"\x01", b"\x80"),
    ],
)
def test_der_signature_edge_integers_are_what_cryptography_encodes(
    size: int, r: bytes, s: bytes
) -> None:
    for left in (r * size, b"\x00" * (size - 1) + r, b"\x00" * size):
        for right in (s * size, b"\x00" * (size - 1) + s, b"\x00" * (size - 2) + s * 2):
            assert der_signature(left + right, size) == _dss(left, right)


@given(
    st.sampled_from([32, 66]).flatmap(
        lambda size: st.tuples(
            st.just(size), st.binary(min_size=2 * size, max_size=2 * size)
        )
    )
)
def test_der_signature_any_signature_is_what_cryptography_encodes(
    case: tuple[int, bytes],
) -> None:
    size, signature = case
    assert der_signature(signature, size) == _dss(signature[:size], signature[size:])
