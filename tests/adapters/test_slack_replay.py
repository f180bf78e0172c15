"""HTTP mode against captured and malformed requests: a signed request acts once, however often
it is sent and to whichever replica; a timestamp that is not a plain number of seconds is 401,
quietly (no traceback, at most one short log line), and touches nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest

from tests.adapters.slack_rig import SlackRig, open_rig, signed_headers

# What the server side logs under: ours, Bolt's own, aiohttp's (which logs unhandled errors).
SERVER_LOGGERS = ("meetbot", "slack_bolt", "slack_sdk", "aiohttp")


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[SlackRig]:
    async with open_rig(tmp_path) as running:
        yield running


def server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(SERVER_LOGGERS)]


async def test_a_replayed_create_within_the_window_acts_once(rig: SlackRig):
    body = rig.command_body("create Replayed")
    headers = signed_headers(body)
    assert (await rig.send(body, headers)).status_code == 200
    await rig.fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)

    replay = await rig.send(body, headers)
    await rig.adapter.close()  # lets whatever the replay started finish

    meetings = await rig.bench.store.find_meetings(rig.bench.channel.tenant)
    assert len(meetings) == 1, f"the replay made {len(meetings)} meetings"
    assert len(rig.dm_to("UALICE")) == 1, "the replay sent a second link"
    assert replay.status_code == 401


async def test_a_replay_to_another_replica_is_refused(tmp_path):
    async with (
        open_rig(tmp_path) as first,
        open_rig(tmp_path, fake=first.fake, sims=first.bench.sims) as second,
    ):
        assert first.bench.db == second.bench.db  # one SQLite file, two bots
        body = first.command_body("create Twice")
        headers = signed_headers(body)
        assert (await first.send(body, headers)).status_code == 200
        await first.fake.wait_until(lambda: len(first.dm_to("UALICE")) == 1)

        replay = await second.send(body, headers)
        await first.adapter.close()
        await second.adapter.close()

        meetings = await first.bench.store.find_meetings(first.bench.channel.tenant)
        assert len(meetings) == 1, f"the replay made {len(meetings)} meetings"
        assert len(first.dm_to("UALICE")) == 1, "the replay sent a second link"
        assert replay.status_code == 401


def _timestamps() -> dict[str, str]:
    now = int(time.time())
    return {
        "word": "abc",
        "fractional": f"{now}.5",
        "empty": "",
        "negative": "-5",
        "negative-now": f"-{now}",
        "huge": "9" * 30,
        "past-int-parsing": "9" * 5000,
        "plus-sign": f"+{now}",
        "exponent": "1.7e9",
    }


@pytest.mark.parametrize("name", list(_timestamps()))
async def test_a_malformed_timestamp_is_401_quietly_and_touches_nothing(
    rig: SlackRig, caplog: pytest.LogCaptureFixture, name: str
):
    timestamp = _timestamps()[name]
    body = rig.command_body("create Forged")
    # Signed over the malformed timestamp with the right secret: only the form is wrong.
    headers = signed_headers(body, timestamp=timestamp)
    caplog.set_level(logging.DEBUG)

    answer = await rig.send(body, headers)
    await rig.adapter.close()

    records = server_records(caplog)
    assert [r for r in records if r.levelno >= logging.ERROR] == [], "an ERROR was logged"
    assert answer.status_code == 401
    assert rig.fake.calls == []
    assert await rig.bench.store.find_meetings(rig.bench.channel.tenant) == []
    assert len(records) <= 1, [r.getMessage()[:120] for r in records]
    for record in records:
        assert record.levelno < logging.WARNING
        message = record.getMessage()
        assert len(message) < 200, message[:200]
        assert headers["X-Slack-Signature"] not in message
        assert "Forged" not in message, "the body is not logged"
