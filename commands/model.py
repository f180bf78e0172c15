"""The neutral nouns of the command layer: who asks, where, and the meetings they ask about.

Adapters build `ChatUser` and `Conversation` from platform payloads; everything below them speaks
only these types. A user's `key` ("slack:T1:U1") is the identity used for storage and
authorization, so two platforms or two tenants can never be confused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from providers.base import Role, Room


class Platform(StrEnum):
    SLACK = "slack"
    DISCORD = "discord"
    CONSOLE = "console"


@dataclass(frozen=True)
class Tenant:
    """A Slack team or a Discord guild (or the console's one pretend workspace)."""

    platform: Platform
    id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.id}"


class ZoneSource(StrEnum):
    """Where the zone a user's dates are read in came from, in the order they are tried."""

    PLATFORM = "platform"  # the platform's profile (Slack tells us each person's zone)
    USER = "user"  # the person's own choice, `/meet timezone ZONE`
    TENANT = "tenant"  # the workspace's or server's default in the config
    NONE = "none"  # nobody set one: UTC


@dataclass(frozen=True)
class PlatformFacts:
    """What the platform tells us about a user that the role policy may read."""

    is_admin: bool = False
    is_owner: bool = False
    roles: frozenset[str] = frozenset()  # Discord role names
    permissions: frozenset[str] = frozenset()  # Discord permissions: administrator, manage_guild…
    groups: frozenset[str] = frozenset()  # Slack user group handles
    timezone: str | None = None  # IANA name, for reading and showing dates
    # The platform's own unless `RolePolicy.local` filled `timezone` in from elsewhere.
    timezone_from: ZoneSource = ZoneSource.PLATFORM


@dataclass(frozen=True)
class ChatUser:
    """A person in a chat platform, within one tenant."""

    tenant: Tenant
    user_id: str
    display_name: str
    facts: PlatformFacts = field(default_factory=PlatformFacts)
    email: str | None = None

    @property
    def platform(self) -> Platform:
        return self.tenant.platform

    @property
    def key(self) -> str:
        return f"{self.tenant.key}:{self.user_id}"


@dataclass(frozen=True)
class Conversation:
    """Where a command was typed: a channel (maybe a thread) or a direct message."""

    tenant: Tenant
    channel_id: str
    thread_id: str | None = None
    is_direct: bool = False


@dataclass(frozen=True)
class RoleDecision:
    """A role and the reason for it, which the user sees next to their link."""

    role: Role
    reason: str


class MeetingState(StrEnum):
    SCHEDULED = "scheduled"  # created on the provider, no session started yet
    RUNNING = "running"
    ENDED = "ended"


@dataclass(frozen=True)
class Schedule:
    """When a meeting happens; all None for an ad-hoc meeting that starts now.

    `start` is the start of the current (or next) occurrence, which cards show; a series is
    expanded from `first_start` in the meeting's own `timezone`, so 09:00 stays 09:00 there
    across daylight-saving changes.
    """

    start: datetime | None = None
    duration_minutes: int | None = None
    rrule: str | None = None  # RFC 5545 recurrence, e.g. FREQ=WEEKLY;BYDAY=MO
    reminder_minutes: int | None = None
    timezone: str | None = None  # IANA name; None: UTC
    first_start: datetime | None = None  # the series' first occurrence (its DTSTART)

    @property
    def series_start(self) -> datetime | None:
        return self.first_start or self.start


class OccurrenceState(StrEnum):
    SCHEDULED = "scheduled"  # its time has not come
    OPEN = "open"  # its time came (or a moderator opened it early): people can join
    ENDED = "ended"  # it ran and was ended
    MISSED = "missed"  # its time passed and nobody opened a session
    CANCELLED = "cancelled"

    @property
    def closed(self) -> bool:
        return self in (OccurrenceState.ENDED, OccurrenceState.MISSED, OccurrenceState.CANCELLED)


@dataclass(frozen=True)
class Occurrence:
    """One happening of a meeting: the only one of a one-off, one of a series' slots."""

    id: int
    meeting_id: str
    starts_at: datetime
    state: OccurrenceState = OccurrenceState.SCHEDULED
    opened_at: datetime | None = None  # when its provider session was opened
    ended_at: datetime | None = None
    session_id: str | None = None

    def evolve(self, **changes: object) -> Occurrence:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Meeting:
    """Our record of a meeting. Stored only once the provider confirmed it exists."""

    id: str
    tenant: Tenant
    channel_id: str
    title: str
    provider: str
    room: Room  # provider ids, passwords, current session: moderator secrets, never shown
    creator_key: str
    creator_name: str
    created_at: datetime
    state: MeetingState = MeetingState.SCHEDULED
    schedule: Schedule = field(default_factory=Schedule)
    invitees: tuple[str, ...] = ()  # user keys
    started_at: datetime | None = None
    ended_at: datetime | None = None

    def evolve(self, **changes: object) -> Meeting:
        return replace(self, **changes)  # type: ignore[arg-type]
