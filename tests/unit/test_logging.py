"""JSON log lines carry extra fields and never a credential."""

import io
import json
import logging

from fastapi_better_auth import configure_logging
from fastapi_better_auth._logging import JSONFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "fastapi_better_auth.test",
        logging.INFO,
        __file__,
        1,
        "hello %s",
        ("world",),
        None,
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_formatter_emits_message_and_extra_fields() -> None:
    line = json.loads(JSONFormatter().format(_record(user_id="u1", kid="k1")))
    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["logger"] == "fastapi_better_auth.test"
    assert line["user_id"] == "u1"
    assert line["kid"] == "k1"
    assert line["time"].endswith("+00:00")


def test_json_formatter_redacts_credential_fields() -> None:
    line = JSONFormatter().format(
        _record(authorization="Bearer abc.def", token="t0k3n", cookie="c=1")
    )
    assert "abc.def" not in line
    assert "t0k3n" not in line
    assert "c=1" not in line
    assert json.loads(line)["token"] == "[redacted]"


def test_json_formatter_includes_exceptions() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    assert "ValueError: boom" in json.loads(JSONFormatter().format(record))["exception"]


def test_configure_logging_twice_keeps_one_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    stream = io.StringIO()
    try:
        configure_logging(stream=stream)
        handler = configure_logging("DEBUG", stream=stream)
        ours = [h for h in root.handlers if getattr(h, "_better_auth", False)]
        assert ours == [handler]
        logging.getLogger("fastapi_better_auth.test").warning(
            "hi", extra={"user_id": "u"}
        )
        assert json.loads(stream.getvalue().splitlines()[-1])["user_id"] == "u"
    finally:
        root.handlers[:] = before
        root.setLevel(level)
