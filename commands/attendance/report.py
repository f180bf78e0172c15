"""One session's attendance, person by person: the join log (who was given which link, with
which role and why) beside what the provider reported (who came, when, for how long).

The two are joined by chat user (the provider's user id is the chat user's key on
BigBlueButton and LiveMinutes) or, where the provider knows only names (VConnct), by name.
"Left at" and minutes present are said only where the provider tells who is in a meeting now
(`Capability.PRESENCE`): the last sample that saw someone is when they were last there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commands.model import Meeting
from commands.store import JoinLogEntry, SessionEntry
from commands.store.records import AttendanceEntry
from providers.base import Role


@dataclass(frozen=True)
class PersonRow:
    """One person of a session: from the join log, from the provider, or both."""

    name: str
    chat_user: str | None = None  # the chat user's key, when they took a link
    role: Role | None = None
    why: str | None = None  # the rule that gave the role
    link_given_at: datetime | None = None
    joined_at: datetime | None = None  # None: the provider never saw them in it
    left_at: datetime | None = None  # None: still in it, or the provider does not tell
    minutes_present: int | None = None

    @property
    def attended(self) -> bool:
        return self.joined_at is not None


@dataclass(frozen=True)
class SessionAttendance:
    """Who attended one session of a meeting and who was given a link to it."""

    meeting: Meeting
    session_id: str | None
    people: tuple[PersonRow, ...]
    presence: bool  # the provider tells who is in (left at, minutes present are known)
    running: bool
    last_sample: datetime | None = None

    @property
    def attendees(self) -> tuple[PersonRow, ...]:
        return tuple(p for p in self.people if p.attended)

    @property
    def linked(self) -> tuple[PersonRow, ...]:
        return tuple(p for p in self.people if p.link_given_at is not None)

    @property
    def in_now(self) -> tuple[PersonRow, ...]:
        """Who the last sample saw, while the session runs."""
        if not self.running:
            return ()
        return tuple(p for p in self.attendees if p.left_at is None)


def joins_of(joined: list[JoinLogEntry], session: SessionEntry | None) -> list[JoinLogEntry]:
    """The join log entries of one session: links given while it ran."""
    if session is None:
        return joined
    return [
        entry
        for entry in joined
        if entry.at >= session.started_at
        and (session.ended_at is None or entry.at <= session.ended_at)
    ]


def people(
    joined: list[JoinLogEntry],
    seen: list[AttendanceEntry],
    *,
    presence: bool,
    over: bool,
    last_sample: datetime | None,
) -> tuple[PersonRow, ...]:
    """One row per person, in the order they were first given a link or first seen."""
    rows: dict[str, PersonRow] = {}
    by_name: dict[str, str] = {}
    for entry in joined:
        first = rows.get(entry.user_key)
        rows[entry.user_key] = PersonRow(
            name=entry.user_name,
            chat_user=entry.user_key,
            role=entry.role,  # the latest link's role and reason
            why=entry.reason,
            link_given_at=first.link_given_at if first is not None else entry.at,
        )
        by_name.setdefault(entry.user_name.casefold(), entry.user_key)
    for attendee in seen:
        key = attendee.user_id if attendee.user_id in rows else None
        if key is None and attendee.user_id is None:
            key = by_name.get(attendee.name.casefold())
        left, minutes = None, None
        if presence:
            gone = over or (last_sample is not None and attendee.last_seen < last_sample)
            left = attendee.last_seen if gone else None
            span = attendee.last_seen - attendee.first_seen
            minutes = max(0, int((span.total_seconds() + 30) // 60))  # to the nearest, half up
        base = rows.get(key) if key is not None else None
        if base is not None and base.attended:
            base = None  # two provider entries of one name: both are shown
            key = None
        row = PersonRow(
            name=base.name if base is not None else attendee.name,
            chat_user=base.chat_user if base is not None else None,
            role=base.role if base is not None and base.role else attendee.role,
            why=base.why if base is not None else None,
            link_given_at=base.link_given_at if base is not None else None,
            joined_at=attendee.first_seen,
            left_at=left,
            minutes_present=minutes,
        )
        rows[key if key is not None else f"seen:{attendee.person}"] = row
    return tuple(rows.values())
