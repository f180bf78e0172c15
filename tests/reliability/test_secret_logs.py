"""No log line at any level carries a secret, a meeting password or a join link.

A real `meetbot console` process runs a whole lifecycle on each provider at `--log-level DEBUG`
against the simulators (served by this test process), with its store in a file we can read
afterwards. Its log (stderr) is then searched for every configured secret, every password and
host link the store holds, and every personal link the chat showed: in the text format, and in
the JSON format both as written and as decoded (an escape must not hide a secret).
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.simulated import (
    DEMO_BBB_SECRET,
    DEMO_LM_AUTH_TOKEN,
    DEMO_VCONNCT_LICENSE,
    SimulatedProviders,
)
from tests.bot.test_cli import run_meetbot
from tests.commands.conftest import Bench, person
from tests.reliability.configs import providers_yaml

LIFECYCLE = """\
/meet create "Algebra {provider}" --provider {provider} --record --invite @bob @carol
/meet status
/as bob
/meet join Algebra {provider}
/as alice
/meet attendance Algebra {provider}
/meet recordings Algebra {provider}
/meet settings Algebra {provider} --lock-mic
/meet history Algebra {provider}
/meet remove Algebra {provider} --user @carol
/meet list --server {provider}
/meet end Algebra {provider}
/meet delete Algebra {provider}
"""


def stored_secrets(db: Path) -> set[str]:
    """Every password and host link the store keeps for its meetings."""
    found: set[str] = set()
    with closing(sqlite3.connect(db)) as connection, connection:
        for (room,) in connection.execute("SELECT room FROM meetings"):
            data = json.loads(room)
            for key in ("moderator_password", "attendee_password", "host_url"):
                if data.get(key):
                    found.add(data[key])
    return found


def decoded(err: str) -> str:
    """Every line of a JSON log parsed, and its fields' text, one after another."""
    texts: list[str] = []
    for line in err.splitlines():
        record = json.loads(line)  # every line is one object
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        texts.extend(str(v) for v in record.values())
    return "\n".join(texts)


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("provider", ["bigbluebutton", "vconnct", "liveminutes"])
async def test_a_debug_log_of_a_whole_lifecycle_carries_no_secret(tmp_path, provider, log_format):
    async with SimulatedProviders() as sims:
        db = tmp_path / "meetbot.db"
        config = tmp_path / "config.yaml"
        config.write_text(providers_yaml(sims) + f"storage: {{url: 'sqlite:///{db}'}}\n")
        # The delete at the end would drop the passwords from the store: keep a second,
        # undeleted meeting of the same kind so its secrets stay readable afterwards.
        script = (
            f'/meet create "Kept {provider}" --provider {provider}\n/as bob\n'
            f"/meet join Kept {provider}\n/as alice\n" + LIFECYCLE.format(provider=provider)
        )
        # The options after the subcommand, as well as before it.
        code, out, err = await run_meetbot(
            "console",
            "--config",
            str(config),
            "--log-level",
            "DEBUG",
            "--log-format",
            log_format,
            stdin=script,
        )
    assert code == 0, err
    assert "Traceback" not in err
    if log_format == "json":
        records = [json.loads(line) for line in err.splitlines()]
        assert any(r["level"] == "DEBUG" for r in records), "the DEBUG log is really on"
        provider_lines = [r for r in records if r["logger"] == "meetbot.providers"]
        assert provider_lines
        # A command's lines carry its request id (a job's, such as the recordings' poll after
        # the end, have none); the lines of different commands differ.
        creates = [r for r in provider_lines if "create" in r["message"].casefold()]
        assert creates
        assert all(r.get("request_id") for r in creates)
        assert len({r.get("request_id") for r in provider_lines}) > 5
        err += "\n" + decoded(err)
    else:
        assert " DEBUG " in err, "the DEBUG log is really on"
        assert "meetbot.providers [" in err, "with the request id"
    secrets = {DEMO_BBB_SECRET, DEMO_VCONNCT_LICENSE, DEMO_LM_AUTH_TOKEN}
    secrets |= stored_secrets(db)
    links = set(re.findall(r"https?://\S+", out))
    assert links, "the chat showed personal links"
    assert len(secrets) > 3, "the store held passwords or host links to look for"
    for secret in secrets | links:
        assert secret not in err, f"{secret[:12]}... is in the log"


async def test_a_store_failure_logs_no_sql_parameters(bench: Bench, caplog):
    # Any write to the meetings table fails, as a full disk or a broken replica would.
    with closing(sqlite3.connect(bench.db)) as connection, connection:
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON meetings BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
    caplog.set_level(logging.WARNING)
    replies = await bench.say(person("alice"), 'create "Secret plans" --provider vconnct')
    assert "could not be saved" in replies[0].text
    [failure] = [r for r in caplog.records if "could not be recorded" in r.getMessage()]
    # One line: what failed and how (the store's message), no traceback, no SQL, no data.
    assert failure.exc_info is None
    logged = logging.Formatter().format(failure)
    assert len(logged.splitlines()) == 1
    assert "IntegrityError" in logged
    for secret in ("INSERT", "moderator_password", "Secret plans"):
        assert secret not in logged
