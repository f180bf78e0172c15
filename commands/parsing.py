"""Turning the text after `/meet` into an `Invocation`, for platforms without typed options.

Understands double-quoted titles (straight or curly quotes), `--flag value`, `--flag=value`,
`--no-flag` for settings, an em dash that a phone keyboard made of `--`, and user mentions in
Slack (`<@U123>`, `<@U123|name>`), Discord (`<@123>`, `<@!123>`) and console (`@name`) form;
`@everyone`, `@here` and `@channel` name no one person and stay words.
Anything malformed raises `UsageError` carrying the subcommand's usage; nothing else escapes.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from commands.errors import UsageError
from commands.render import strip_escapes
from commands.spec import (
    SETTING_FLAGS,
    SUBCOMMANDS,
    Kind,
    Option,
    Subcommand,
    overview,
)
from commands.timeparse import parse_duration, parse_when

MAX_COMMAND_LENGTH = 4000
MAX_TEXT_LENGTH = 500
MAX_MENTIONS = 100

_MENTION = re.compile(r"^<@!?(?P<id>[A-Za-z0-9]+)(?:\|(?P<label>[^>]*))?>$")
_CONSOLE_MENTION = re.compile(r"^@(?P<id>[\w.\-]{1,64})$")
# Everyone in a channel is no one person to invite or remove: these stay plain words.
_BROADCASTS = {"everyone", "here", "channel"}
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c", "\u00ab": "\u00bb"}


@dataclass(frozen=True)
class Mention:
    """A user named in a command. `user_id` is the platform's id (or a console name)."""

    user_id: str
    label: str | None = None


@dataclass(frozen=True)
class Invocation:
    """A parsed command: the subcommand and its values by option name."""

    sub: Subcommand
    values: Mapping[str, object] = field(default_factory=dict)
    settings: Mapping[str, bool] = field(default_factory=dict)  # provider setting -> value

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def flag(self, name: str) -> bool:
        return self.values.get(name) is True

    def number(self, name: str) -> int | None:
        value = self.values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def moment(self, name: str) -> datetime | None:
        value = self.values.get(name)
        return value if isinstance(value, datetime) else None

    def mentions(self, name: str) -> tuple[Mention, ...]:
        value = self.values.get(name)
        return value if isinstance(value, tuple) else ()


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool


def parse(text: str, *, now: datetime, tz: tzinfo) -> Invocation:
    """Parse `/meet` arguments. Empty text means help."""
    if len(text) > MAX_COMMAND_LENGTH:
        raise UsageError(
            f"that command is too long (over {MAX_COMMAND_LENGTH} characters)", overview()
        )
    tokens = _tokenize(text)
    if not tokens:
        return Invocation(SUBCOMMANDS["help"])
    name = tokens[0].text.lower()
    sub = SUBCOMMANDS.get(name)
    if sub is None or tokens[0].quoted:
        guess = difflib.get_close_matches(name, list(SUBCOMMANDS), n=1)
        hint = f" Did you mean {guess[0]}?" if guess else ""
        raise UsageError(f"there is no /meet {tokens[0].text[:40]}.{hint}", overview())
    return _Parser(sub, now, tz).parse(tokens[1:])


def parse_options(
    name: str, options: Mapping[str, object], *, now: datetime, tz: tzinfo
) -> Invocation:
    """An Invocation from typed options (Discord): the same checks and conversions as text.

    `options` maps option names (as in the spec) to str, int or bool; None means not given.
    """
    sub = SUBCOMMANDS.get(name)
    if sub is None:
        raise UsageError(f"there is no /meet {name[:40]}", overview())
    return _Parser(sub, now, tz).from_options(options)


class _Parser:
    def __init__(self, sub: Subcommand, now: datetime, tz: tzinfo) -> None:
        self.sub = sub
        self.now = now
        self.tz = tz
        self.values: dict[str, object] = {}
        self.settings: dict[str, bool] = {}
        self.words: list[str] = []
        self.mentions: list[Mention] = []

    def fail(self, message: str) -> UsageError:
        return UsageError(message, self.sub.usage())

    def parse(self, tokens: list[_Token]) -> Invocation:
        index = 0
        while index < len(tokens):
            token = tokens[index]
            index += 1
            if not token.quoted and token.text.startswith("--") and len(token.text) > 2:
                index = self._option(token.text[2:], tokens, index)
            elif not token.quoted and (mention := _mention(token.text)) is not None:
                self.mentions.append(mention)
            else:
                self.words.append(token.text)
        self._place_words_and_mentions()
        for option in self.sub.options:
            if option.required and option.name not in self.values:
                what = option.metavar or option.flag if option.positional else option.flag
                raise self.fail(f"{what} is required")
        return Invocation(self.sub, self.values, self.settings)

    def from_options(self, options: Mapping[str, object]) -> Invocation:
        for name, value in options.items():
            option = self.sub.option(name)
            if option is None:
                raise self.fail(f"/meet {self.sub.name} has no option {name}")
            if value is None:
                continue
            if option.kind is Kind.FLAG:
                self._store(option, bool(value))
            elif option.kind is Kind.USERS:
                words = str(value).split()
                stray = next((w for w in words if _mention(w) is None), None)
                if stray is not None or not words:
                    # A typed option holds only mentions: a stray word is a mistake to show,
                    # not one to drop silently.
                    shown = f", not {stray[:40]!r}" if stray is not None else ""
                    raise self.fail(f"{option.name} takes @mentions of people{shown}")
                self._store(option, tuple(m for m in map(_mention, words) if m is not None))
            elif option.kind is Kind.MINUTES and isinstance(value, int):
                self._store(option, self._convert(option, str(value)))
            elif option.positional:
                self.values[option.name] = _text(str(value), option, self)
            else:
                self._store(option, self._convert(option, str(value)))
        for option in self.sub.options:
            if option.required and option.name not in self.values:
                raise self.fail(f"{option.name} is required")
        return Invocation(self.sub, self.values, self.settings)

    def _option(self, spelled: str, tokens: list[_Token], index: int) -> int:
        name, has_inline, inline = spelled.partition("=")
        name = name.lower()
        option = self.sub.option(name)
        negated = False
        if option is None and name.startswith("no-"):
            option = self.sub.option(name[3:])
            negated = option is not None and option.kind is Kind.FLAG
            if not negated:
                option = None
        if option is None or option.positional:
            raise self.fail(f"/meet {self.sub.name} has no option --{name[:40]}.{self._hint(name)}")
        if option.name in self.values or SETTING_FLAGS.get(option.name) in self.settings:
            raise self.fail(f"--{option.name} is given twice")
        if option.kind is Kind.FLAG:
            value = not negated
            if has_inline:
                value = _boolean(inline, option, self) != negated
            self._store(option, value)
            return index
        if option.kind is Kind.USERS:
            return self._users(option, inline if has_inline else None, tokens, index)
        if has_inline:
            raw = inline
        elif index < len(tokens) and not (
            not tokens[index].quoted and tokens[index].text.startswith("--")
        ):
            raw = tokens[index].text
            index += 1
        else:
            raise self.fail(f"--{option.name} needs a value")
        self._store(option, self._convert(option, raw))
        return index

    def _users(self, option: Option, inline: str | None, tokens: list[_Token], index: int) -> int:
        """Consume the @mentions that follow a USERS option."""
        found = [_mention(inline)] if inline is not None else []
        while index < len(tokens) and not tokens[index].quoted:
            mention = _mention(tokens[index].text)
            if mention is None:
                break
            found.append(mention)
            index += 1
        mentions = tuple(m for m in found if m is not None)
        if not mentions:
            raise self.fail(f"--{option.name} takes one or more @mentions")
        self._store(option, mentions)
        return index

    def _store(self, option: Option, value: object) -> None:
        setting = SETTING_FLAGS.get(option.name)
        if setting is not None and isinstance(value, bool):
            self.settings[setting] = value
        else:
            self.values[option.name] = value

    def _convert(self, option: Option, raw: str) -> object:
        try:
            if option.kind is Kind.CHOICE:
                choice = raw.lower()
                if choice not in option.choices:
                    raise ValueError(f"--{option.name} is one of: {', '.join(option.choices)}")
                return choice
            if option.kind is Kind.DURATION:
                return parse_duration(raw)
            if option.kind is Kind.MINUTES:
                # isdecimal, not isdigit: "²" is a digit that int() cannot read.
                if not raw.isdecimal() or len(raw.lstrip("0")) > 5 or not 0 <= int(raw) <= 10080:
                    raise ValueError(f"--{option.name} takes minutes, 0 to 10080")
                return int(raw)
            if option.kind is Kind.WHEN:
                return parse_when(raw, self.now, self.tz)
        except ValueError as error:
            raise self.fail(str(error)) from None
        return _text(raw, option, self)

    def _place_words_and_mentions(self) -> None:
        positional = self.sub.positional
        if self.words:
            if positional is None:
                raise self.fail(f"unexpected words: {' '.join(self.words)[:60]}")
            self.values[positional.name] = _text(" ".join(self.words), positional, self)
        if self.mentions:
            users = next((o for o in self.sub.options if o.kind is Kind.USERS), None)
            if users is None:
                raise self.fail(f"/meet {self.sub.name} does not take @mentions")
            earlier = self.values.get(users.name, ())
            merged = (*earlier, *self.mentions) if isinstance(earlier, tuple) else self.mentions
            self.values[users.name] = tuple(merged)
        users_value = next(
            (v for v in self.values.values() if isinstance(v, tuple) and len(v) > MAX_MENTIONS),
            None,
        )
        if users_value is not None:
            raise self.fail(f"at most {MAX_MENTIONS} people per command")

    def _hint(self, name: str) -> str:
        names = [o.name for o in self.sub.options if not o.positional]
        guess = difflib.get_close_matches(name, names, n=1)
        return f" Did you mean --{guess[0]}?" if guess else ""


def _boolean(raw: str, option: Option, parser: _Parser) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise parser.fail(f"--{option.name} is on or off (true/false), not {raw[:20]!r}")


def _text(raw: str, option: Option, parser: _Parser) -> str:
    # Control characters can break cards and terminals: escape sequences go whole (no "[2J"
    # left in a title), other unprintables become spaces; whitespace runs collapse.
    unescaped = strip_escapes(raw)
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in unescaped).split())
    if not cleaned:
        raise parser.fail(f"{option.metavar or option.flag} cannot be empty")
    if len(cleaned) > MAX_TEXT_LENGTH:
        raise parser.fail(
            f"{option.metavar or option.flag} is too long (at most {MAX_TEXT_LENGTH} characters)"
        )
    return cleaned


def _mention(text: str) -> Mention | None:
    match = _MENTION.match(text)
    if match is not None:
        return Mention(match.group("id"), match.group("label") or None)
    match = _CONSOLE_MENTION.match(text)
    if match is not None and match.group("id").lower() not in _BROADCASTS:
        return Mention(match.group("id"))
    return None


def _tokenize(text: str) -> list[_Token]:
    """Split on whitespace; double quotes (straight or curly) group words.

    Single quotes are left alone so that titles like O'Brien need no quoting.
    """
    # Phones turn "--" into an em or en dash; read it as the "--" that was meant.
    text = re.sub(r"(^|\s)[\u2014\u2013](?=\w)", r"\1--", text)
    tokens: list[_Token] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
            continue
        closing = _QUOTES.get(char)
        if closing is not None:
            end = _find_closing(text, index + 1, closing)
            if end < 0:
                raise UsageError("a quote is not closed", overview())
            tokens.append(_Token(text[index + 1 : end], quoted=True))
            index = end + 1
            continue
        end = index
        while end < length and not text[end].isspace() and text[end] not in _QUOTES:
            end += 1
        tokens.append(_Token(text[index:end], quoted=False))
        index = end
    return tokens


def _find_closing(text: str, start: int, closing: str) -> int:
    # Accept any closing double-quote form: people mix straight and curly quotes.
    candidates = [text.find(q, start) for q in {closing, '"', "\u201d"}]
    found = [c for c in candidates if c >= 0]
    return min(found) if found else -1
