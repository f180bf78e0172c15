"""The process's logging: its level, the libraries kept quiet, and redaction of every line.

Two layers keep secrets out of the log at every level:
- libraries that log request bodies, SQL parameters or full URLs are held above the levels at
  which they do (httpx and httpcore print each URL with its query, which for BigBlueButton carries
  the checksum and, on `end`, the moderator password; the chat libraries print whole request
  bodies, and a DM body may be a moderator link; aiosqlite prints every statement with its
  parameters, which hold meeting passwords; SQLAlchemy prints statements and parameters);
- every formatted line, tracebacks included, passes a redactor that replaces the configured
  secrets and cuts every URL down to its scheme and host, since a join link is a credential.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
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

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return redact_urls(text)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """meetbot's own handler, so configuring again replaces it rather than adding another."""


def configure_logging(level: str) -> None:
    """Log to stderr at `level` through a redacting formatter; `redact_secrets` adds the
    configuration's secrets once it is loaded."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(RedactingFormatter())
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
