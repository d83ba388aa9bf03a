"""Structured (JSON) logging for apps that mount the library, and what is never logged.

``configure_logging()`` is a convenience for apps without their own logging setup: one JSON
object per line, with the ``extra=`` fields of each record. Library modules only create
loggers; they never add handlers.
"""

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

#: Attributes every ``LogRecord`` has; anything else came from ``extra=`` and is emitted.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}

#: Field names whose values are replaced, whatever a caller puts in ``extra=``.
REDACTED_FIELDS = frozenset(
    {
        "authorization",
        "cookie",
        "set-cookie",
        "token",
        "password",
        "secret",
        "access_token",
        "refresh_token",
    }
)


class JSONFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            payload[key] = "[redacted]" if key.lower() in REDACTED_FIELDS else value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(
    level: int | str = logging.INFO, *, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's records to ``stream`` (stderr) as JSON lines; returns the handler.

    Calling it twice replaces the handler it added before instead of adding another.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_better_auth", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter())
    handler._better_auth = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler
