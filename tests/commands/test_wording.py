"""What people read: each provider's limits in plain sentences, counts with the right noun, a
repeating schedule in words, and help that says who may do what."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from commands.limits import cannot, plural
from commands.replies import Visibility
from commands.schedule.recurrence import describe_rule, rrule_for
from commands.spec import SUBCOMMANDS, describe
from providers.base import Capability

from .conftest import Bench, only, person

ALICE = person("alice", is_admin=True)
BERLIN = ZoneInfo("Europe/Berlin")


def test_every_missing_capability_is_a_plain_sentence():
    for capability in Capability:
        sentence = cannot("liveminutes", capability)
        assert sentence.startswith("LiveMinutes ")
        assert sentence.endswith(".")
        assert f"has no {capability.value}" not in sentence or capability in {
            Capability.RECORDINGS,
            Capability.SETTINGS,
            Capability.DEFAULT_SETTINGS,
        }
    assert cannot("liveminutes", Capability.UPDATE) == (
        "LiveMinutes cannot change a meeting once it is created."
    )
    assert cannot("bigbluebutton", "changing the moderator password") == (
        "BigBlueButton does not support changing the moderator password."
    )


async def test_changing_a_liveminutes_meeting_reads_as_english(bench: Bench):
    await bench.say(ALICE, "create Chat --provider liveminutes")
    said = (await bench.say(ALICE, "settings Chat --title Other"))[0].text
    assert said == "LiveMinutes cannot change a meeting once it is created."


async def test_a_server_running_one_meeting_says_one_meeting(bench: Bench):
    await bench.say(ALICE, "create Seminar --provider vconnct")
    said = (await bench.say(ALICE, "list --server vconnct"))[0].text
    assert said.startswith("VConnct runs 1 meeting.")


def test_counts_take_the_right_noun():
    assert plural(1, "link") == "1 link"
    assert plural(0, "link") == "0 links"
    assert plural(2, "person", "people") == "2 people"


@pytest.mark.parametrize(
    ("repeat", "start", "words"),
    [
        ("daily", datetime(2027, 3, 8, 8, 0, tzinfo=UTC), "every day at 09:00"),
        (
            "weekdays",
            datetime(2027, 3, 8, 8, 0, tzinfo=UTC),
            "every weekday (Monday to Friday) at 09:00",
        ),
        ("weekly", datetime(2027, 3, 8, 8, 0, tzinfo=UTC), "every Monday at 09:00"),
        ("monthly", datetime(2027, 3, 2, 8, 0, tzinfo=UTC), "every month on the 2nd at 09:00"),
        (
            "monthly",
            datetime(2027, 3, 31, 7, 0, tzinfo=UTC),
            "every month on the 31st at 09:00; months without a 31st are skipped",
        ),
    ],
)
def test_a_repeating_schedule_is_said_in_words(repeat, start, words):
    assert describe_rule(rrule_for(repeat, start), start, BERLIN) == words


async def test_a_card_never_shows_rrule_text(bench: Bench):
    created = await bench.say(ALICE, 'create Standup --start "tomorrow 9:00" --repeat daily')
    card = only(created, Visibility.CHANNEL)[0].card
    assert card is not None
    repeats = next(f.value for f in card.fields if f.name == "Repeats")
    assert repeats == "every day at 09:00"
    assert "FREQ" not in str(card)


def test_help_says_anyone_may_look_at_settings_and_recordings():
    for name in ("settings", "recordings"):
        text = describe(SUBCOMMANDS[name])
        assert "anyone may look" in text
        assert "only moderators of the meeting may change" in text
