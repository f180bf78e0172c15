"""CommandRouter: the single entry point adapters call, and the only place errors become replies.

`dispatch` takes the raw text after `/meet`; `click` takes a button press. Both always return
replies: usage and permission problems as the user's own ephemeral message, provider failures
explained without internals, and anything unexpected logged with a request id that the user
also sees, never a traceback. The request id is the adapter's for this request
(`commands.requestid`), so the reference a user quotes finds every log line of their request.
Each run is counted for the operator's metrics by subcommand and outcome (`Telemetry`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from commands import cards
from commands.errors import CommandError, UsageError
from commands.explain import provider_message
from commands.handlers import Context, Directory, Handlers, PlainDirectory
from commands.model import ChatUser, Conversation, Meeting, MeetingState
from commands.parsing import Invocation, parse, parse_options
from commands.replies import ButtonAction, Reply, Visibility
from commands.requestid import ensure_request
from commands.service import MeetingService
from commands.spec import SUBCOMMANDS
from commands.store import StoreError
from commands.telemetry import NO_TELEMETRY, CommandOutcome, Telemetry
from commands.userzones import with_own_zone
from providers.base import ProviderError

log = logging.getLogger("meetbot.commands")

UNKNOWN = "unknown"  # the label of a subcommand that does not exist

RECORDING_ACTIONS = {
    ButtonAction.PUBLISH_RECORDING: "publish",
    ButtonAction.UNPUBLISH_RECORDING: "unpublish",
    ButtonAction.DELETE_RECORDING: "delete",
}
BUTTON_SUBCOMMANDS = {
    ButtonAction.JOIN: "join",
    ButtonAction.END: "end",
    ButtonAction.PUBLISH_RECORDING: "recordings",
    ButtonAction.UNPUBLISH_RECORDING: "recordings",
    ButtonAction.DELETE_RECORDING: "recordings",
}


class CommandRouter:
    """Parses, dispatches to a handler, and turns every failure into a reply."""

    def __init__(
        self,
        service: MeetingService,
        *,
        directory: Directory | None = None,
        clock: Callable[[], datetime] | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.service = service
        self.handlers = Handlers(service, directory or PlainDirectory())
        self.clock = clock or service.clock
        self.telemetry = telemetry

    def with_directory(self, directory: Directory) -> CommandRouter:
        """The same router resolving mentions another way (e.g. through one request's client)."""
        return CommandRouter(
            self.service, directory=directory, clock=self.clock, telemetry=self.telemetry
        )

    async def dispatch(self, user: ChatUser, where: Conversation, text: str) -> list[Reply]:
        """Run `/meet <text>` for `user` in `where`."""
        with ensure_request() as request_id:
            name = _named(text)
            try:
                user = await self.local(user)
                invocation = parse(text, now=self.clock(), tz=cards.user_zone(user))
                name = invocation.sub.name
                handler = self.handlers.table[name]
                replies = await handler(Context(user, where, invocation))
            except Exception as error:
                # Every failure must become a reply; explain() logs the unexpected ones.
                self.telemetry.command(name, _outcome(error))
                return self.explain(error, request_id, user, where)
            self.telemetry.command(name, "ok")
            return replies

    async def dispatch_options(
        self, user: ChatUser, where: Conversation, name: str, options: Mapping[str, object]
    ) -> list[Reply]:
        """Run `/meet <name>` with typed options (Discord), with the same checks as text."""
        with ensure_request() as request_id:
            label = name if name in SUBCOMMANDS else UNKNOWN
            try:
                user = await self.local(user)
                invocation = parse_options(
                    name, options, now=self.clock(), tz=cards.user_zone(user)
                )
                handler = self.handlers.table[invocation.sub.name]
                replies = await handler(Context(user, where, invocation))
            except Exception as error:
                # Every failure must become a reply.
                self.telemetry.command(label, _outcome(error))
                return self.explain(error, request_id, user, where)
            self.telemetry.command(label, "ok")
            return replies

    async def local(self, user: ChatUser) -> ChatUser:
        """`user` with the zone their dates are read in: the platform's, else their own
        (`/meet timezone`), else the tenant's."""
        return await with_own_zone(self.service.store, self.service.policy, user)

    async def suggest(self, where: Conversation, typed: str, limit: int = 25) -> list[Meeting]:
        """Open meetings of the tenant whose title contains, or id starts with, `typed`."""
        states = (MeetingState.SCHEDULED, MeetingState.RUNNING)
        meetings = await self.service.store.find_meetings(where.tenant, states=states)
        wanted = typed.strip().casefold()
        found = [m for m in meetings if wanted in m.title.casefold() or m.id.startswith(wanted)]
        return found[:limit]

    async def click(
        self,
        user: ChatUser,
        where: Conversation,
        action: ButtonAction,
        meeting_id: str,
        value: str | None = None,
    ) -> list[Reply]:
        """A Join or End button on a card, or a recording's Publish, Unpublish or Delete
        (`value`: the posted recording's number): the same checks as the typed command.
        Counted as the subcommand the button stands for."""
        name = BUTTON_SUBCOMMANDS.get(action, UNKNOWN)
        with ensure_request() as request_id:
            try:
                replies = await self._click(user, where, action, meeting_id, value)
            except Exception as error:
                # Every failure must become a reply; explain() logs the unexpected ones.
                self.telemetry.command(name, _outcome(error))
                return self.explain(error, request_id, user, where)
            self.telemetry.command(name, "ok")
            return replies

    async def _click(
        self,
        user: ChatUser,
        where: Conversation,
        action: ButtonAction,
        meeting_id: str,
        value: str | None,
    ) -> list[Reply]:
        user = await self.local(user)
        if action is ButtonAction.JOIN:
            grant = await self.service.join(user, where, meeting_id)
            return cards.join_replies(user, grant)
        if action is ButtonAction.END:
            sub = SUBCOMMANDS["end"]
            ctx = Context(user, where, Invocation(sub, {"meeting": meeting_id}))
            return await self.handlers.end(ctx)
        if action in RECORDING_ACTIONS:
            return await self.handlers.recording_button(
                user, where, RECORDING_ACTIONS[action], meeting_id, value or ""
            )
        raise CommandError(f"That button ({action}) does nothing here.")

    def explain(
        self, error: Exception, request_id: str, user: ChatUser, where: Conversation
    ) -> list[Reply]:
        if isinstance(error, UsageError):
            return _private(f"{error}\nUsage: {error.usage}")
        if isinstance(error, CommandError):
            return _private(str(error))
        if isinstance(error, ProviderError):
            return _private(provider_message(error, request_id))
        if isinstance(error, StoreError):
            # Its message names the failing call, never SQL or data: one line is enough.
            log.error("request %s failed for %s: %s", request_id, user.key, error)
            return _private(
                f"I could not reach my records just now (reference {request_id}). "
                "Please try again in a moment; an admin can look it up in the logs."
            )
        log.exception(
            "request %s failed for %s in %s", request_id, user.key, where.tenant.key, exc_info=error
        )
        return _private(
            f"Something went wrong on my side (reference {request_id}). "
            "Nothing was changed; an admin can look it up in the logs."
        )


def _private(text: str) -> list[Reply]:
    return [Reply(text, Visibility.EPHEMERAL)]


def _named(text: str) -> str:
    """The subcommand `text` names, for the metrics before it is parsed (a parse may fail):
    one of the known names, `help` for none, else `unknown` (never user text as a label)."""
    words = text.split(maxsplit=1)
    if not words:
        return "help"
    word = words[0].lower()
    return word if word in SUBCOMMANDS else UNKNOWN


def _outcome(error: Exception) -> CommandOutcome:
    # A CommandError is the user's side (usage, permission, not found); the rest are ours or
    # the provider's.
    return "refused" if isinstance(error, CommandError) else "error"
