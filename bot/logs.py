"""The process's logging: its level, the libraries kept quiet, and redaction of every line.

Two layers keep secrets out of the log at every level:
- libraries that log request bodies, SQL parameters or full URLs are held above the levels at
  which they do (httpx and httpcore print each URL with its query, which for BigBlueButton carries
  the checksum and, on `end`, the moderator password; the chat libraries print whole request
  bodies, and a DM body may be a moderator link; aiosqlite prints every statement with its
  parameters, which hold meeting passwords; SQLAlchemy prints statements and parameters);
- every formatted line, tracebacks included, passes a redactor that replaces the configured
  secrets and cuts every URL down to its scheme and host, since a join link is a credential.

Two formats: `text` (one line per record, a traceback on the lines after it) and `json` (one
object per line: time, level, logger, message, request_id when a request is being served,
exc when there is a traceback), each field redacted before it is encoded, so an escape that
JSON adds cannot hide a secret from the redactor. The request id is the one the adapters set
for each Slack request, Discord interaction and console line (`commands.requestid`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

from commands.requestid import current_request_id

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_FORMAT = "%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s"
# Scheme and host stay readable (which server was slow); path and query are the secret part.
_URL = re.compile(r"\b(https?|wss?)://([^/\s?#'\"<>]+)[^\s'\"<>]*", re.IGNORECASE)
_MIN_SECRET_LENGTH = 4

# name -> the lowest level at which that library's lines carry no secret
LIBRARY_FLOORS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "slack_sdk": logging.INFO,
    "slack_bolt": logging.INFO,
    "discord": logging.INFO,
    "aiosqlite": logging.WARNING,
    "sqlalchemy": logging.WARNING,
}


def redact_urls(text: str) -> str:
    """`https://host/path?query` -> `https://host/…`."""
    return _URL.sub(lambda m: f"{m.group(1)}://{m.group(2)}/…", text)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then removes secrets and URL paths from the whole text."""

    def __init__(self, fmt: str = _FORMAT) -> None:
        super().__init__(fmt)
        self._secrets: list[str] = []

    def add_secrets(self, secrets: Iterable[str | None]) -> None:
        known = set(self._secrets) | {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted(known, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return redact_urls(text)

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request = f" [{request_id}]" if request_id else ""
        return self.redact(super().format(record))


class JsonFormatter(RedactingFormatter):
    """One JSON object per record, on one line; every field redacted as a text line is."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = str(request_id)
        if record.exc_info:
            line["exc"] = self.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = self.redact(record.exc_text)
        if record.stack_info:
            line["stack"] = self.redact(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False)


class _RequestIds(logging.Filter):
    """Stamps each record with the id of the request being served when it was written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """meetbot's own handler, so configuring again replaces it rather than adding another."""


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Log to stderr at `level` in `log_format` through a redacting formatter;
    `redact_secrets` adds the configuration's secrets once it is loaded."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.addFilter(_RequestIds())
    handler.setFormatter(JsonFormatter() if log_format == "json" else RedactingFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(floor, numeric))


def redact_secrets(secrets: Iterable[str | None]) -> None:
    """Replace these in every line from now on, wherever meetbot's handlers write."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, RedactingFormatter):
            handler.formatter.add_secrets(secrets)
