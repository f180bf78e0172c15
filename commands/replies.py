"""What a handler returns: replies with a visibility, an optional card and buttons.

Handlers return replies; adapters deliver them. Text here is plain text: user-supplied parts are
not trusted, and every adapter escapes the whole text for its platform (see `commands.render`),
so links and emphasis live in structure (cards, buttons), never in markup inside the text.

A reply that carries a personal join link is `secret`; it can only be EPHEMERAL or DIRECT, which
the constructor enforces, so no code path can post a moderator link in a channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from commands.model import ChatUser


class Visibility(StrEnum):
    CHANNEL = "channel"  # everyone in the conversation
    EPHEMERAL = "ephemeral"  # only the person who invoked the command sees it
    DIRECT = "direct"  # a direct message to `recipient`


class ButtonAction(StrEnum):
    JOIN = "join"
    END = "end"
    OPEN = "open"  # a plain link button
    # On a recording's message: act on the recording its `value` names (moderators only).
    PUBLISH_RECORDING = "publish_recording"
    UNPUBLISH_RECORDING = "unpublish_recording"
    DELETE_RECORDING = "delete_recording"


@dataclass(frozen=True)
class Button:
    label: str
    action: ButtonAction
    meeting_id: str | None = None  # JOIN / END act on this meeting, decided at click time
    url: str | None = None  # OPEN buttons only
    danger: bool = False
    value: str | None = None  # what else the action needs (a posted recording's number)


@dataclass(frozen=True)
class CardField:
    name: str
    value: str
    # A point in time: platforms that can show it in each viewer's own time zone do so (a
    # channel card is read in many zones), and `value` is what the others show.
    moment: datetime | None = None


@dataclass(frozen=True)
class Card:
    title: str
    fields: tuple[CardField, ...] = ()
    buttons: tuple[Button, ...] = ()
    link: str | None = None  # the one link a card may carry (a join link, in private replies)
    meeting_id: str | None = None  # the meeting this card shows, so adapters can update it


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply (an attendance CSV): each platform delivers it its own
    way (Slack uploads it, Discord attaches it, the terminal writes it to a folder)."""

    filename: str  # a plain name, no folders
    content: bytes
    mime: str = "application/octet-stream"
    label: str = "file"  # what it is, for people: "attendance CSV"

    def __post_init__(self) -> None:
        if not self.filename or "/" in self.filename or "\\" in self.filename:
            raise ValueError("an attachment's filename is a plain name, without folders")


class SecretReplyError(ValueError):
    """A reply with a personal link was about to be shown to a whole channel."""


@dataclass(frozen=True)
class Reply:
    text: str
    visibility: Visibility = Visibility.EPHEMERAL
    recipient: ChatUser | None = None  # required for DIRECT
    card: Card | None = None
    secret: bool = False  # carries a personal join link
    fallback_to_invoker: bool = True  # DIRECT that cannot be delivered: show it ephemerally
    attachment: Attachment | None = None  # a file for the reader (never on a CHANNEL reply)

    def __post_init__(self) -> None:
        if self.secret and self.visibility is Visibility.CHANNEL:
            raise SecretReplyError("a personal join link can never be posted to a channel")
        if self.visibility is Visibility.DIRECT and self.recipient is None:
            raise ValueError("a DIRECT reply needs a recipient")
        if self.card is not None and self.card.link and self.visibility is Visibility.CHANNEL:
            raise SecretReplyError("channel cards carry buttons, never a link")
        if self.attachment is not None and self.visibility is Visibility.CHANNEL:
            # Files here are reports for whoever asked (attendance): never the whole channel's.
            raise SecretReplyError("a file goes to whoever asked, never to a channel")
