"""The terminal chat: /meet in a terminal or a pipe, with every reply shown with its audience.

One line at a time from the input: `/meet ...` runs a command as the current user, `/as NAME`
switches user, `/press join|end MEETING` presses a card button, and a `#` that starts a word
(outside quotes) starts a comment, as in a shell script. Output
says who sees what: channel posts, ephemeral answers ("only NAME sees") and DMs ("DM to NAME"),
so a demo shows exactly what chat users would see. It exits at the end of the input.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TextIO

from commands.model import ChatUser, Conversation, Meeting, Platform, PlatformFacts, Tenant
from commands.parsing import Mention
from commands.render import escape_terminal
from commands.replies import ButtonAction, Card, Reply, Visibility

Dispatch = Callable[[ChatUser, Conversation, str], Awaitable[list[Reply]]]
Click = Callable[[ChatUser, Conversation, ButtonAction, str], Awaitable[list[Reply]]]

CONSOLE_TENANT = Tenant(Platform.CONSOLE, "local")
_NAME = re.compile(r"^[\w.\-]{1,32}$")

HELP = """Console commands:
  /meet SUBCOMMAND ...   run a /meet command (try /meet help)
  /as NAME               act as another user from now on
  /press join|end ID     press a card's Join or End button
  # ...                  a comment (also after a command)
End of input (Ctrl-D) quits."""


class ConsoleDirectory:
    """Console users are known by name; `@name` mentions refer to them."""

    def __init__(self, facts: dict[str, PlatformFacts] | None = None) -> None:
        self.facts = facts or {}

    def user(self, name: str) -> ChatUser:
        return ChatUser(
            CONSOLE_TENANT, name, name, facts=self.facts.get(name, PlatformFacts(timezone="UTC"))
        )

    async def lookup(self, tenant: Tenant, mention: Mention) -> ChatUser:
        return self.user(mention.user_id)


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
    ) -> None:
        self.dispatch = dispatch
        self.click = click
        self.out = out
        self.directory = directory or ConsoleDirectory()
        self.user = self.directory.user(user)
        self.where = Conversation(CONSOLE_TENANT, channel)

    async def run(self, lines: AsyncIterator[str]) -> None:
        self.say(
            f"meetbot console: you are {self.user.display_name} in #{self.where.channel_id}. "
            "/as NAME switches user; /meet help lists commands."
        )
        async for raw in lines:
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
        elif word == "/press":
            await self.press(rest.split())
        else:
            self.say(HELP)

    def switch(self, name: str) -> None:
        if not _NAME.match(name):
            self.say("  /as takes a name of letters, digits, '.', '-' or '_' (at most 32).")
            return
        self.user = self.directory.user(name)
        self.say(f"  (you are now {name})")

    async def press(self, words: list[str]) -> None:
        actions = {"join": ButtonAction.JOIN, "end": ButtonAction.END}
        if len(words) != 2 or words[0].lower() not in actions:
            self.say("  usage: /press join|end MEETING_ID")
            return
        action = actions[words[0].lower()]
        self.show(await self.click(self.user, self.where, action, words[1]))

    async def announce(self, meeting: Meeting, reply: Reply) -> None:
        """A post the bot makes on its own (a reminder), shown like any channel post."""
        self.say(f"\n[meetbot] reminder for {clean(meeting.title)}")
        self.show([reply])

    async def refresh(self, meeting: Meeting, reply: Reply) -> None:
        """A card updated in place, shown as the new card."""
        self.say(f"\n[meetbot] the card of {clean(meeting.title)} now reads")
        self.show([reply])

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            self.say(self.render(reply))

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
            lines += [f"  {' ' * len(header)}   {line}" for line in render_card(reply.card)]
        return "\n".join(lines)

    def say(self, text: str) -> None:
        # Every line out passes here: the last guard for the terminal (clean is idempotent).
        print(clean(text), file=self.out, flush=True)


def render_card(card: Card) -> list[str]:
    lines = [f"┌ {clean(card.title)}"]
    lines += [f"│ {clean(f.name)}: {clean(f.value)}" for f in card.fields]
    buttons = [f"[{clean(b.label)}]" for b in card.buttons if b.action is not ButtonAction.OPEN]
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
