"""The observer seam: what a meeting's observers hear, from which use case and job, and that
no observer's failure (refused, slow, or a bug) ever fails a command or a job."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from commands.model import Meeting, MeetingState
from commands.observers import ObserverFailed, Observers, Step

from .conftest import Bench, Recorder, card_id, person, scheduler, texts

ALICE, BOB = person("alice"), person("bob")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Heard:
    """An observer that keeps what it heard: (step, state, start of the current occurrence)."""

    def __init__(self) -> None:
        self.steps: list[tuple[Step, MeetingState, datetime | None]] = []

    def _heard(self, step: Step, meeting: Meeting) -> None:
        self.steps.append((step, meeting.state, meeting.schedule.start))

    async def scheduled(self, meeting: Meeting) -> None:
        self._heard("scheduled", meeting)

    async def opened(self, meeting: Meeting) -> None:
        self._heard("opened", meeting)

    async def changed(self, meeting: Meeting) -> None:
        self._heard("changed", meeting)

    async def ended(self, meeting: Meeting) -> None:
        self._heard("ended", meeting)

    async def deleted(self, meeting: Meeting) -> None:
        self._heard("deleted", meeting)


class Failing(Heard):
    """Fails every step the way it is told to, after hearing it."""

    def __init__(self, failure: BaseException | None = None, hang: bool = False) -> None:
        super().__init__()
        self.failure = failure
        self.hang = hang

    def _heard(self, step: Step, meeting: Meeting) -> None:
        super()._heard(step, meeting)
        if self.failure is not None:
            raise self.failure

    async def scheduled(self, meeting: Meeting) -> None:
        self._heard("scheduled", meeting)
        if self.hang:
            await asyncio.Event().wait()


def listen(bench: Bench, *observers: Heard, timeout: float = 10.0) -> None:
    bench.service.observers = Observers(*observers, timeout=timeout)


async def test_a_series_is_heard_scheduled_opened_ended_and_deleted(bench: Bench):
    heard = Heard()
    listen(bench, heard)
    loop = scheduler(bench, Recorder())
    await bench.say(ALICE, 'create Weekly --start "2026-11-26 09:00" --repeat weekly')
    first, second = at("2026-11-26 09:00"), at("2026-12-03 09:00")
    assert heard.steps == [("scheduled", MeetingState.SCHEDULED, first)]

    bench.clock.now = first
    await loop.run_due()  # the occurrence opens by the clock
    await bench.say(BOB, "join Weekly")  # its session opens with the first join
    await bench.say(ALICE, "end Weekly")
    assert heard.steps[1:] == [
        ("opened", MeetingState.SCHEDULED, first),
        ("opened", MeetingState.RUNNING, first),
        ("ended", MeetingState.SCHEDULED, second),
    ]
    await bench.say(ALICE, "delete Weekly")
    assert heard.steps[-1] == ("deleted", MeetingState.SCHEDULED, second)


async def test_an_occurrence_nobody_opened_is_heard_ended_with_the_next_one(bench: Bench):
    heard = Heard()
    listen(bench, heard)
    loop = scheduler(bench, Recorder())
    await bench.say(ALICE, 'create Daily --start "2026-11-26 09:00" --duration 30m --repeat daily')
    bench.clock.now = at("2026-11-26 09:30")
    await loop.run_due()  # opened by the clock, then its time is up with nobody in it
    assert heard.steps[-2:] == [
        ("opened", MeetingState.SCHEDULED, at("2026-11-26 09:00")),
        ("ended", MeetingState.SCHEDULED, at("2026-11-27 09:00")),
    ]


async def test_an_ad_hoc_meeting_is_heard_opened_and_ended_not_scheduled(bench: Bench):
    heard = Heard()
    listen(bench, heard)
    await bench.say(ALICE, "create Now --provider vconnct")
    await bench.say(ALICE, "settings Now --title Later")
    await bench.say(ALICE, "end Later")
    assert [step for step, _state, _start in heard.steps] == ["opened", "changed", "ended"]


@pytest.mark.parametrize(
    ("failure", "level", "said"),
    [
        (ObserverFailed("Discord answered HTTP 403"), logging.WARNING, "HTTP 403"),
        (RuntimeError("a bug of ours"), logging.ERROR, "failed on meeting"),
    ],
)
async def test_a_failing_observer_fails_no_command(
    bench: Bench, caplog: pytest.LogCaptureFixture, failure: Exception, level: int, said: str
):
    failing, after = Failing(failure), Heard()
    listen(bench, failing, after)
    caplog.set_level(logging.INFO, logger="meetbot.observers")
    replies = await bench.say(ALICE, 'create Review --start "2026-12-01 14:30"')
    assert "Review" in texts(replies)
    assert "wrong" not in texts(replies)
    meeting_id = card_id(replies)
    assert await bench.store.get_meeting(ALICE.tenant, meeting_id) is not None
    assert after.steps, "the next observer is still told"
    [record] = [r for r in caplog.records if r.name == "meetbot.observers"]
    assert record.levelno == level
    assert said in record.getMessage()
    assert (record.exc_info is not None) is (level == logging.ERROR), "a traceback only if ours"

    ended = await bench.say(ALICE, "end Review")
    assert "ended" in texts(ended)
    stored = await bench.store.get_meeting(ALICE.tenant, meeting_id)
    assert stored is not None
    assert stored.state is MeetingState.ENDED


async def test_a_slow_observer_holds_no_command(bench: Bench, caplog: pytest.LogCaptureFixture):
    listen(bench, Failing(hang=True), timeout=0.05)
    caplog.set_level(logging.INFO, logger="meetbot.observers")
    replies = await bench.say(ALICE, 'create Review --start "2026-12-01 14:30"')
    assert "Review" in texts(replies)
    [record] = [r for r in caplog.records if r.name == "meetbot.observers"]
    assert record.levelno == logging.WARNING
    assert "no answer within 0.05s" in record.getMessage()
