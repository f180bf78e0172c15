"""The /meet text parser: titles, options, mentions, dates; malformed input is a usage error."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.errors import UsageError
from commands.parsing import Mention, parse
from commands.spec import MEET, SUBCOMMANDS, describe, overview

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def p(text: str):
    return parse(text, now=NOW, tz=BERLIN)


def test_empty_text_is_help():
    assert p("").sub.name == "help"
    assert p("   ").sub.name == "help"


def test_create_with_quoted_title_flags_and_settings():
    inv = p('create "Algebra 101" --provider VConnct --record --no-allow-start-stop-recording')
    assert inv.sub.name == "create"
    assert inv.text("title") == "Algebra 101"
    assert inv.text("provider") == "vconnct"
    assert inv.settings == {"record": True, "allow_start_stop_recording": False}


def test_unquoted_title_words_are_joined_and_apostrophes_need_no_quotes():
    inv = p("create Zoë O'Brien's   office hour --lock-mic")
    assert inv.text("title") == "Zoë O'Brien's office hour"
    assert inv.settings == {"lock_settings_disable_mic": True}


def test_curly_quotes_and_em_dash_from_phones():
    inv = p("create \u201cWeekly sync\u201d \u2014record")
    assert inv.text("title") == "Weekly sync"
    assert inv.settings == {"record": True}


def test_inline_values_and_boolean_words():
    inv = p("create Demo --duration=1h30m --record=off --remind=15")
    assert inv.number("duration") == 90
    assert inv.number("remind") == 15
    assert inv.settings == {"record": False}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U123>", Mention("U123")),
        ("<@U123|ana>", Mention("U123", "ana")),
        ("<@81234567890>", Mention("81234567890")),
        ("<@!81234567890>", Mention("81234567890")),
        ("@ben", Mention("ben")),
    ],
)
def test_mentions_in_every_platform_form(text, expected):
    inv = p(f"create Sync --invite {text}")
    assert inv.mentions("invite") == (expected,)


def test_stray_mentions_in_create_become_invitees():
    inv = p("create Sync <@U1> <@U2|bo> --record")
    assert inv.text("title") == "Sync"
    assert inv.mentions("invite") == (Mention("U1"), Mention("U2", "bo"))


@pytest.mark.parametrize("broadcast", ["@everyone", "@here", "@channel", "@Everyone"])
def test_broadcast_words_are_words_not_people(broadcast):
    inv = p(f"create {broadcast} party")
    assert inv.text("title") == f"{broadcast} party"
    assert inv.mentions("invite") == ()
    with pytest.raises(UsageError, match="one or more @mentions"):
        p(f"create Party --invite {broadcast}")


def test_start_time_is_read_in_the_users_time_zone():
    inv = p('create Standup --start "tomorrow 9:00" --repeat weekdays')
    start = inv.moment("start")
    assert start == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 in Berlin is 08:00 UTC
    assert inv.text("repeat") == "weekdays"


def test_join_without_meeting_is_fine_and_with_meeting_takes_the_rest():
    assert p("join").text("meeting") is None
    assert p("join Algebra 101").text("meeting") == "Algebra 101"


def test_remove_requires_a_user():
    with pytest.raises(UsageError, match="--user is required") as caught:
        p("remove Algebra")
    assert caught.value.usage.startswith("/meet remove")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("crate Demo", "Did you mean create?"),
        ('"create" Demo', "there is no /meet create"),
        ("create", '"TITLE" is required'),
        ("create Demo --recrd", "Did you mean --record?"),
        ("create Demo --provider zoom", "one of: bigbluebutton, vconnct, liveminutes"),
        ("create Demo --duration soon", "not a duration"),
        ("create Demo --duration 0m", "at least one minute"),
        ("create Demo --start yesterday", "not a date"),
        ("create Demo --start 2020-01-01", "already passed"),
        ("create Demo --start 2099-01-01", "a year ahead"),
        ("create Demo --remind -5", "takes minutes"),
        ("create Demo --record --record", "given twice"),
        ("create Demo --record=maybe", "on or off"),
        ('create "Demo', "quote is not closed"),
        ("create Demo --provider", "needs a value"),
        ("create Demo --invite", "one or more @mentions"),
        ("list extra words", "unexpected words"),
        ("end Demo <@U1>", "does not take @mentions"),
        ("create " + "x" * 600, "too long"),
        ('create ""', "cannot be empty"),
        ("create Demo --no-provider x", "has no option --no-provider"),
    ],
)
def test_malformed_commands_are_usage_errors(text, message):
    with pytest.raises(UsageError) as caught:
        p(text)
    assert message in str(caught.value)
    assert caught.value.usage.startswith("/meet")


HUGE = "1" + "0" * 310  # past the largest float


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"create Demo --duration {HUGE}h", "at most 7 days"),
        (f"create Demo --duration {HUGE}.5h", "at most 7 days"),
        (f"create Demo --duration {HUGE}h{HUGE}m", "at most 7 days"),
        # A start is not a duration: the seven-day cap is not its limit, a year ahead is.
        (f'create Demo --start "in {HUGE}h"', "too long to be a date"),
        (f'create Demo --start "in {HUGE}"', "too long to be a date"),
        ('create Demo --start "in 999999h"', "at most a year ahead"),
        ("create Demo --remind \u00b2", "takes minutes"),  # a digit to isdigit(), not to int()
    ],
)
def test_huge_and_odd_numbers_are_usage_errors(text, message):
    with pytest.raises(UsageError) as caught:
        p(text)
    assert message in str(caught.value)


def test_control_characters_are_removed_from_titles():
    inv = p("create Evil\x00\x1b[31mTitle\u202e")
    assert inv.text("title") == "Evil Title"


def test_every_subcommand_has_usage_and_help():
    text = overview()
    for sub in MEET:
        assert sub.name in text
        assert describe(sub).startswith(f"/meet {sub.name}")
    assert "--no-record" in describe(SUBCOMMANDS["create"])


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_usage(text):
    for candidate in (text, "create " + text, "join " + text, "settings x " + text):
        outcome: object
        try:
            outcome = p(candidate).sub.name
        except UsageError as error:
            outcome = error
        if isinstance(outcome, UsageError):
            assert outcome.usage
            assert str(outcome)
        else:
            assert outcome in SUBCOMMANDS


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "--record",
                "--no-record",
                "--start",
                "tomorrow",
                "--invite",
                "<@U1>",
                '"',
                "\u201c",
                "--duration",
                "1h",
                "x",
                "--provider",
                "bigbluebutton",
                "=",
                "--remind",
                "5",
                "@a",
                "—x",
            ]
        ),
        max_size=12,
    )
)
def test_token_soup_never_raises_anything_but_usage(words):
    with contextlib.suppress(UsageError):
        p("create " + " ".join(words))
