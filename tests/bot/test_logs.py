"""The log's two formats through the real handler `meetbot` installs: JSON lines that parse,
carry the request id and the traceback, and are redacted like text lines, escapes included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging, redact_secrets
from commands.requestid import request_scope

# A secret JSON would escape (a quote and a backslash): redacted before it is encoded.
SECRET = 'pa"ss\\word-42'
LINK = "https://bbb.example.org/bigbluebutton/api/join?password=hunter2&checksum=abc"


@pytest.fixture
def root_level() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        yield
    finally:
        configure_logging("WARNING")
        root.handlers[:] = handlers
        root.setLevel(level)


def test_json_lines_parse_and_carry_the_request_id_the_traceback_and_no_secret(capsys, root_level):
    configure_logging("DEBUG", "json")
    redact_secrets([SECRET])
    log = logging.getLogger("meetbot.test")
    with request_scope("c0ffee00"):
        try:
            raise RuntimeError(f"provider said {SECRET} at {LINK}")
        except RuntimeError:
            log.exception("join for %s failed\nsecond line", SECRET)
    log.debug("outside any request: %s", LINK)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, "one object per line, the traceback inside it"
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "ERROR"
    assert first["logger"] == "meetbot.test"
    assert first["request_id"] == "c0ffee00"
    assert first["message"] == "join for *** failed\nsecond line"
    assert first["time"].endswith("+00:00")
    assert "Traceback" in first["exc"]
    assert "RuntimeError: provider said *** at https://bbb.example.org/…" in first["exc"]
    assert "request_id" not in second
    assert second["message"] == "outside any request: https://bbb.example.org/…"
    for line in lines:
        for secret in (SECRET, json.dumps(SECRET)[1:-1], "hunter2", "checksum", "/join"):
            assert secret not in line


def test_text_lines_name_the_request(capsys, root_level):
    configure_logging("INFO")
    with request_scope("abad1dea"):
        logging.getLogger("meetbot.test").info("hello")
    logging.getLogger("meetbot.test").info("bye")
    err = capsys.readouterr().err
    assert " INFO meetbot.test [abad1dea]: hello" in err
    assert " INFO meetbot.test: bye" in err
