"""The terminal chat: /meet in a terminal or a pipe, with every reply shown with its audience.

One line at a time from the input: `/meet ...` runs a command as the current user, `/as NAME`
switches user, `/tz ZONE` sets that user's time zone, `/press join|end MEETING` presses a card
button (`/press publish|unpublish|delete N` a recording's), and a `#` that starts a word
(outside quotes) starts a comment, as in a shell script.
On a simulated clock (`--now`), `/wait 44m` (or `6d23h`) moves it on, and everything the clock
brings in that span is shown at the moment it happened, in the acting user's zone. Output says
who sees what: channel posts, ephemeral answers ("only NAME sees") and DMs ("DM to NAME"), so a
demo shows exactly what chat users would see. It exits at the end of the input.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TextIO

from commands.cards import user_zone, when
from commands.model import ChatUser, Conversation, Meeting, Platform, PlatformFacts, Tenant
from commands.parsing import Mention
from commands.render import escape_terminal
from commands.replies import Attachment, ButtonAction, Card, Reply, Visibility
from commands.requestid import request_scope
from commands.zonenames import resolve_zone

Dispatch = Callable[[ChatUser, Conversation, str], Awaitable[list[Reply]]]
Click = Callable[[ChatUser, Conversation, ButtonAction, str, str | None], Awaitable[list[Reply]]]

CONSOLE_TENANT = Tenant(Platform.CONSOLE, "local")
RECORDING_BUTTONS = {
    "publish": ButtonAction.PUBLISH_RECORDING,
    "unpublish": ButtonAction.UNPUBLISH_RECORDING,
    "delete": ButtonAction.DELETE_RECORDING,
}
_NAME = re.compile(r"^[\w.\-]{1,32}$")
_SPAN = re.compile(r"^(?:(\d{1,4})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?$")
MAX_WAIT = timedelta(days=400)

HELP = """Console commands:
  /meet SUBCOMMAND ...   run a /meet command (try /meet help)
  /as NAME               act as another user from now on
  /tz ZONE               your time zone (an IANA name such as Europe/Berlin)
  /wait SPAN             with --now: move the clock on (44m, 2h, 6d23h), showing what happens
  /press join|end ID     press a card's Join or End button
  /press publish|unpublish|delete N   press a recording's button (N: the number it shows)
  /open                  open your last personal link, as your browser would (you join)
  # ...                  a comment (also after a command)
End of input (Ctrl-D) quits."""


class ConsoleDirectory:
    """Console users are known by name; `@name` mentions refer to them."""

    def __init__(self, facts: dict[str, PlatformFacts] | None = None) -> None:
        self.facts = facts or {}

    def user(self, name: str) -> ChatUser:
        # No zone until `/tz` gives one: then the one set with /meet timezone, else UTC.
        return ChatUser(CONSOLE_TENANT, name, name, facts=self.facts.get(name, PlatformFacts()))

    async def lookup(self, tenant: Tenant, mention: Mention) -> ChatUser:
        return self.user(mention.user_id)


class Waiter(Protocol):
    async def wait(self, span: timedelta) -> None:
        """Move the simulated clock on by `span`, running what falls due in it."""


class ConsoleChat:
    """Reads lines, runs them, prints the replies."""

    def __init__(
        self,
        dispatch: Dispatch,
        click: Click,
        out: TextIO,
        *,
        directory: ConsoleDirectory | None = None,
        user: str = "alice",
        channel: str = "general",
        clock: Callable[[], datetime] | None = None,
        exports: Path | None = None,
    ) -> None:
        self.dispatch = dispatch
        self.click = click
        self.out = out
        self.directory = directory or ConsoleDirectory()
        self.user = self.directory.user(user)
        self.where = Conversation(CONSOLE_TENANT, channel)
        self.clock = clock
        # Set when the clock is simulated: `/wait` moves it; after each command, whatever
        # came due at once is run.
        self.waiter: Waiter | None = None
        self.after_command: Callable[[], Awaitable[object]] | None = None
        # How `/open` follows a link (set by whoever runs the console); the last personal
        # link each user was sent.
        self.browser: Callable[[str], Awaitable[int]] | None = None
        self.links: dict[str, str] = {}
        # Where files that come with a reply (an attendance CSV) are written.
        self.exports = exports

    async def run(self, lines: AsyncIterator[str]) -> None:
        self.say(
            f"meetbot console: you are {self.user.display_name} in #{self.where.channel_id}. "
            "/as NAME switches user; /meet help lists commands."
        )
        async for raw in lines:
            # One request id per line, as for one Slack request: what it logs carries it.
            with request_scope():
                await self.handle(raw.rstrip("\n"))

    async def handle(self, line: str) -> None:
        text = without_comment(line).strip()
        if not text:
            return
        self.say(f"\n[{self.user.display_name}] {clean(text)}")
        word, _, rest = text.partition(" ")
        if word == "/meet":
            self.show(await self.dispatch(self.user, self.where, rest))
        elif word == "/as":
            self.switch(rest.strip())
        elif word == "/tz":
            self.set_zone(rest.strip())
        elif word == "/wait":
            await self.wait(rest.strip())
            return
        elif word == "/press":
            await self.press(rest.split())
        elif word == "/open":
            await self.open_link()
        else:
            self.say(HELP)
        if self.after_command is not None:
            await self.after_command()

    def set_zone(self, text: str) -> None:
        """`/tz ZONE`: the acting user's zone, as a platform would tell it (so it wins over
        one set with /meet timezone)."""
        try:
            name = resolve_zone(text)
        except ValueError as error:
            self.say(f"  {error}")
            return
        facts = replace(self.user.facts, timezone=name)
        self.directory.facts[self.user.user_id] = facts
        self.user = self.directory.user(self.user.user_id)
        self.say(f"  (your time zone is now {name})")

    async def wait(self, spelled: str) -> None:
        if self.waiter is None or self.clock is None:
            self.say(
                "  /wait needs a simulated clock: start with --now 2027-03-08T08:00 "
                "(this console runs on the real clock)."
            )
            return
        span = parse_span(spelled)
        if span is None:
            self.say("  usage: /wait SPAN, e.g. /wait 44m, /wait 2h, /wait 6d23h")
            return
        await self.waiter.wait(span)
        self.say(f"clock: {self.stamp()}")

    def switch(self, name: str) -> None:
        if not _NAME.match(name):
            self.say("  /as takes a name of letters, digits, '.', '-' or '_' (at most 32).")
            return
        self.user = self.directory.user(name)
        self.say(f"  (you are now {name})")

    async def open_link(self) -> None:
        link = self.links.get(self.user.user_id)
        if link is None or self.browser is None:
            self.say("  You have no personal link yet: /meet join MEETING gives you one.")
            return
        status = await self.browser(link)
        outcome = "you are in the meeting" if status < 400 else f"the page answered {status}"
        self.say(f"  ({self.user.display_name} opened their link: {outcome})")

    async def press(self, words: list[str]) -> None:
        actions = {"join": ButtonAction.JOIN, "end": ButtonAction.END}
        if len(words) == 2 and words[0].lower() in RECORDING_BUTTONS:
            # A recording's button carries the number of the posted recording, not a meeting.
            action = RECORDING_BUTTONS[words[0].lower()]
            self.show(await self.click(self.user, self.where, action, "", words[1]))
            return
        if len(words) != 2 or words[0].lower() not in actions:
            self.say("  usage: /press join|end MEETING_ID, or /press publish|unpublish|delete N")
            return
        action = actions[words[0].lower()]
        self.show(await self.click(self.user, self.where, action, words[1], None))

    async def announce(self, meeting: Meeting, reply: Reply) -> str | None:
        """A post the bot makes on its own (a reminder, an opening), shown like any post,
        with the moment it happened when the clock is simulated. The terminal has no cards
        to update in place: nothing to remember."""
        self.say(f"\n{self.by_the_bot()} posts about {clean(meeting.title)}")
        self.show([reply])
        return None

    async def refresh(self, meeting: Meeting, reply: Reply) -> None:
        """A card updated in place, shown as the new card."""
        self.say(f"\n{self.by_the_bot()} the card of {clean(meeting.title)} now reads")
        self.show([reply])

    async def reply_under(self, meeting: Meeting, reply: Reply) -> None:
        """A message under the meeting's card (its recording), as a thread reply reads."""
        self.say(f"\n{self.by_the_bot()} replies under the card of {clean(meeting.title)}")
        self.show([reply])

    def by_the_bot(self) -> str:
        return f"[{self.stamp()}] meetbot" if self.waiter is not None else "[meetbot]"

    def stamp(self) -> str:
        """Now, in the acting user's zone: Mon 22 Mar 2027 08:45 CET."""
        now = self.clock() if self.clock is not None else None
        if now is None:
            return ""
        local = now.astimezone(user_zone(self.user))
        return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.secret and reply.recipient is not None and reply.card and reply.card.link:
                self.links[reply.recipient.user_id] = reply.card.link
            self.say(self.render(reply))
            if reply.attachment is not None:
                self.say(f"  {self.write(reply.attachment)}")

    def write(self, attachment: Attachment) -> str:
        """Write a reply's file into the exports folder (readable by this user only: an
        attendance list names people); says where, or why not."""
        if self.exports is None:
            return f"({attachment.label} not written: this console has no exports folder)"
        path = self.exports / Path(attachment.filename).name
        try:
            self.exports.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(attachment.content)
        except OSError as error:
            return f"({attachment.label} not written to {path}: {error.strerror})"
        return f"wrote {attachment.label}: {path}"

    def render(self, reply: Reply) -> str:
        if reply.visibility is Visibility.CHANNEL:
            header = f"#{self.where.channel_id}"
        elif reply.visibility is Visibility.DIRECT and reply.recipient is not None:
            header = f"DM to {clean(reply.recipient.display_name)}"
        else:
            header = f"only {self.user.display_name} sees"
        lines = [
            f"  {header} > {line}" if i == 0 else f"  {' ' * len(header)}   {line}"
            for i, line in enumerate(clean(reply.text).splitlines() or [""])
        ]
        if reply.card is not None:
            card = self.in_my_zone(reply.card)
            lines += [f"  {' ' * len(header)}   {line}" for line in render_card(card)]
        return "\n".join(lines)

    def in_my_zone(self, card: Card) -> Card:
        """The card with its moments in the acting user's zone (Slack and Discord show them in
        each reader's; the terminal's reader is whoever acts)."""
        zone = user_zone(self.user)
        fields = tuple(
            replace(f, value=when(f.moment, zone)) if f.moment is not None else f
            for f in card.fields
        )
        return replace(card, fields=fields)

    def say(self, text: str) -> None:
        # Every line out passes here: the last guard for the terminal (clean is idempotent).
        print(clean(text), file=self.out, flush=True)


def render_card(card: Card) -> list[str]:
    lines = [f"┌ {clean(card.title)}"]
    lines += [f"│ {clean(f.name)}: {clean(f.value)}" for f in card.fields]
    # A link button shows its address, as a terminal cannot be clicked; a personal link card
    # says its link in the text already.
    buttons = [
        f"[{clean(b.label)}]"
        if b.action is not ButtonAction.OPEN
        else f"[{clean(b.label)}: {b.url}]"
        for b in card.buttons
        if b.action is not ButtonAction.OPEN or (b.url and not card.link)
    ]
    pressed = next((b.value for b in card.buttons if b.action in RECORDING_BUTTONS.values()), None)
    if pressed is not None:
        buttons.append(f"(/press publish|unpublish|delete {clean(pressed)})")
    if buttons:
        lines.append("└ " + " ".join(buttons))
    else:
        lines[-1] = "└" + lines[-1][1:]
    return lines


_QUOTE_PAIRS = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c", "\u00ab": "\u00bb"}


def without_comment(line: str) -> str:
    """The line up to a `#` that starts a word outside quotes, as in a shell script:
    `/meet end Algebra 101   # refused` runs `/meet end Algebra 101`, while `C#` and
    `"Room #4"` keep their `#`."""
    closing: str | None = None
    previous = " "
    for index, char in enumerate(line):
        if closing is not None:
            if char in (closing, '"', "\u201d"):
                closing = None
        elif char in _QUOTE_PAIRS:
            closing = _QUOTE_PAIRS[char]
        elif char == "#" and previous.isspace():
            return line[:index]
        previous = char
    return line


def clean(text: str) -> str:
    """Terminal-safe text: no escape sequences, control or bidi characters from user input."""
    return escape_terminal(text)


def parse_span(text: str) -> timedelta | None:
    """`44m`, `2h`, `6d23h`, `1d2h30m` as a timedelta; None if it is not one (or not above 0,
    or over 400 days)."""
    match = _SPAN.match(text.strip().lower())
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes = (int(part or 0) for part in match.groups())
    span = timedelta(days=days, hours=hours, minutes=minutes)
    return span if timedelta(0) < span <= MAX_WAIT else None
