"""Hypothesis strategies for /meet, derived from `commands.spec.MEET`, and the checks every
rendered reply must pass on every platform.

Each option kind has valid, edge and hostile values; a command line is its subcommand with a
random mix of positional words and options (sometimes malformed), so every option of every
subcommand is exercised. Typed options (Discord) get values of the types Discord enforces.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from hypothesis import strategies as st

from commands.spec import MEET, Kind, Option, Subcommand

HUGE = "1" + "0" * 310  # past the largest float

# Text a hostile or careless user might type anywhere: mentions of every platform, broadcasts,
# markdown, links, bidi and control characters, terminal escapes, very long text.
HOSTILE = (
    "@everyone",
    "@here",
    "@channel",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S1|@teachers>",
    "<@U123>",
    "<@U1|@everyone>",
    "<@&1>",
    "<@&123456789012345678>",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<#123>",
    "**bold** __under__ ~~gone~~ ||spoiler|| `code` > quote",
    "[click](https://evil.example)",
    "<https://evil.example|click>",
    "\u202eevil",
    "\u2066isolated\u2069",
    "\u061cmark",
    "zero\u200bwidth\ufeff",
    "nul\x00byte",
    "\x1b[2Jclear",
    "\x1b]0;title\x07",
    "tab\tand\r\nnewline",
    "O'Brien",
    '"',
    "\u201cquoted\u201d",
    "\u2014record",
    "--",
    "--record",
    "=",
    "\U0001f600 emoji",
    "x" * 600,
    "Z" * 4100,  # past the command length limit
)
_HOSTILE = st.sampled_from(HOSTILE)
_WORDS = st.sampled_from(("Algebra", "101", "Standup", "weekly", "Zoë", "sync", "x"))
TITLES = ("Algebra 101", "Standup", "@everyone party", "<!channel> sync", "Zoë's **class**")

_VALUES: dict[Kind, st.SearchStrategy[str]] = {
    Kind.TEXT: st.one_of(_WORDS, _HOSTILE, st.text(max_size=40)),
    Kind.MEETING: st.one_of(st.sampled_from(TITLES), _WORDS, _HOSTILE, st.text(max_size=20)),
    Kind.WHEN: st.sampled_from(
        (
            "tomorrow 9am",
            "tomorrow 9:00",
            "monday 10:00",
            "in 2h",
            "in 90",
            "now",
            "2026-12-01 14:30",
            "today 23:59",
            "in 0m",
            "in 1.5h",
            f"in {HUGE}h",
            f"in {HUGE}",
            "in -5m",
            "in \u0661\u0662m",
            "9999-12-31 23:59",
            "0001-01-01 00:00",
            "2026-02-30 10:00",
            "2020-01-01",
            "2099-01-01",
            "yesterday",
            "tomorrow 25:00",
            "tomorrow at noon",
            "friday 99999999999999999999am",
            "",
        )
    ),
    Kind.DURATION: st.sampled_from(
        (
            "45m",
            "1h30m",
            "90",
            "1.5h",
            "2 hours",
            "0m",
            "10080",
            "10081",
            f"{HUGE}h",
            f"{HUGE}.5h",
            HUGE,
            f"0.{HUGE}h",
            "-5m",
            "1e5",
            "\u00bdh",
            "\u0661\u0662m",
            "",
        )
    ),
    Kind.MINUTES: st.sampled_from(
        ("0", "10", "10080", "10081", "-1", HUGE, "\u00b2", "\u0661\u0662", "abc", "")
    ),
}

MENTIONS = (
    "<@U1>",
    "<@U2|ana>",
    "<@W3>",
    "<@81234567890>",
    "<@!81234567890>",
    "@ben",
    "@everyone",
    "@here",
    "<!channel>",
    "<@&1>",
    "<@U1|@everyone>",
    "<@U1|\u202ebidi>",
    "<@U1|<!here>",
    "<@>",
)


def _quoted(value: str) -> st.SearchStrategy[str]:
    """A value as typed: bare, or in straight or curly quotes (which may not survive)."""
    return st.sampled_from((value, f'"{value}"', f"\u201c{value}\u201d"))


def option_tokens(option: Option) -> st.SearchStrategy[str]:
    """One option as typed after the subcommand, valid or not."""
    if option.positional:
        return _VALUES.get(option.kind, _VALUES[Kind.TEXT]).flatmap(_quoted)
    flag = option.flag
    if option.kind is Kind.FLAG:
        return st.sampled_from(
            (flag, f"--no-{option.name}", f"{flag}=on", f"{flag}=off", f"{flag}=maybe", flag)
        )
    if option.kind is Kind.USERS:
        return st.lists(st.sampled_from(MENTIONS), min_size=0, max_size=4).map(
            lambda mentions: " ".join((flag, *mentions))
        )
    if option.kind is Kind.CHOICE:
        values = st.sampled_from((*option.choices, *(c.upper() for c in option.choices), "zoom"))
    else:
        values = _VALUES.get(option.kind, _VALUES[Kind.TEXT])
    return values.flatmap(
        lambda value: st.sampled_from((f"{flag} ", f"{flag}=")).flatmap(
            lambda joint: _quoted(value).map(lambda typed: joint + typed)
        )
    )


STRAY = st.one_of(
    st.sampled_from(
        ("--unknown", "--", "extra", '"unclosed', "<@U9>", "@zed", "--record", "--no-record")
    ),
    _HOSTILE,  # where no words are taken, they are quoted back in the usage error
    _HOSTILE.map(lambda text: "--" + text),  # an unknown option is named back too
)


def command_line(sub: Subcommand) -> st.SearchStrategy[str]:
    """`SUB` and some of its options in any order, now and then with a stray token."""
    maybe = [st.one_of(st.none(), st.none(), option_tokens(o)) for o in sub.options]
    chosen = st.tuples(*maybe).map(lambda parts: [p for p in parts if p is not None])
    stray = st.lists(STRAY, max_size=1)
    name = st.sampled_from((sub.name, sub.name, sub.name.upper()))
    return st.tuples(name, chosen, stray).flatmap(
        lambda t: st.permutations(t[1] + t[2]).map(lambda parts: " ".join((t[0], *parts)))
    )


ANY_COMMAND_LINE: st.SearchStrategy[str] = st.one_of(
    *(command_line(sub) for sub in MEET),
    # No such subcommand: the reply names what was typed.
    st.tuples(st.one_of(_HOSTILE, st.text(max_size=12)), st.text(max_size=20)).map(" ".join),
)


def typed_value(option: Option) -> st.SearchStrategy[object]:
    """A typed option value of the type and bounds Discord itself enforces."""
    if option.kind is Kind.FLAG:
        return st.booleans()
    if option.kind is Kind.CHOICE:
        return st.sampled_from(option.choices)
    if option.kind is Kind.MINUTES:
        return st.integers(0, 10080)
    if option.kind is Kind.USERS:
        return st.lists(st.sampled_from(MENTIONS), min_size=1, max_size=3).map(" ".join)
    return _VALUES.get(option.kind, _VALUES[Kind.TEXT]).filter(lambda v: len(v) <= 6000)


def typed_options(sub: Subcommand) -> st.SearchStrategy[dict[str, object]]:
    """Typed options of `sub`: the required ones always, the others sometimes."""
    return st.fixed_dictionaries(
        {o.name: typed_value(o) for o in sub.options if o.required},
        optional={o.name: typed_value(o) for o in sub.options if not o.required},
    )


# -- what no rendered reply may carry ---------------------------------------------------------

# What pings on each platform. Slack: `<!channel>`-style broadcasts and user groups, `<@U1>`
# users (and the bare broadcast words, which escape_slack also breaks). Discord: `<@1>`,
# `<@!1>` users, `<@&1>` roles, and `@everyone` / `@here` written out.
LIVE_ON_SLACK = re.compile(
    r"<!(?:channel|here|everyone|subteam)|<@[A-Za-z0-9]|@(?:everyone|here|channel)\b",
    re.IGNORECASE,
)
LIVE_ON_DISCORD = re.compile(r"<@[!&]?\d+>|@(?:everyone|here)\b")


def live_mentions(rendered: Any, live: re.Pattern[str]) -> list[str]:
    """Every live mention in a rendered message (a string, or JSON-able structure)."""
    text = rendered if isinstance(rendered, str) else json.dumps(rendered, ensure_ascii=False)
    return live.findall(text)


def terminal_unsafe(text: str) -> list[str]:
    """Characters a terminal would act on: controls (but newline) and format characters."""
    return [ch for ch in text if ch != "\n" and unicodedata.category(ch) in {"Cc", "Cf", "Cs"}]
