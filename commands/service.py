"""MeetingService: the /meet use cases, independent of any chat platform.

Rules every use case keeps:
- a meeting is looked up only inside the invoking tenant (`commands.finder`);
- the provider is asked first and the store written only once the provider confirmed;
- a personal link is minted for this user and role at the moment of asking, and logged with
  the rule that decided the role;
- moderator-only actions are refused with the role and its reason, changing nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from commands.attendance import sampling
from commands.errors import CommandError, NotSupported, PermissionDenied
from commands.finder import find_meeting
from commands.lifecycle.urls import TOKEN_KEY, CallbackUrls
from commands.limits import cannot, provider_label
from commands.model import (
    ChatUser,
    Conversation,
    Meeting,
    MeetingState,
    RoleDecision,
    Schedule,
    Tenant,
)
from commands.observers import Observers
from commands.policy import RolePolicy
from commands.recordings.planning import plan_poll
from commands.recordings.rules import RecordingRules
from commands.schedule import occurrences
from commands.schedule.planner import Timing, planned, planned_now
from commands.schedule.recurrence import rrule_for, zone_named
from commands.spec import SETTING_FLAGS
from commands.store import Job, JoinLogEntry, MeetingStore, SessionEntry, StoreError
from providers.base import (
    Attendee,
    Capability,
    JoinLink,
    MeetingProvider,
    MeetingSettings,
    Participant,
    ProviderError,
    ProviderNotFound,
    Role,
    Room,
    RoomSpec,
)

log = logging.getLogger("meetbot.commands")

__all__ = [
    "CreateRequest",
    "Created",
    "EndedSummary",
    "JoinGrant",
    "MeetingChanged",
    "MeetingService",
    "provider_label",
]


@dataclass(frozen=True)
class CreateRequest:
    title: str
    provider: str | None = None
    start: datetime | None = None
    duration_minutes: int | None = None
    repeat: str | None = None
    remind_minutes: int | None = None
    invitees: tuple[ChatUser, ...] = ()
    welcome: str | None = None
    settings: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Created:
    """What `create` made: the meeting as stored, the creator's link when it opened now, what
    the provider could not take (said, not skipped), and what failed after the meeting was
    made (it exists all the same, in the state it is really in)."""

    meeting: Meeting
    grant: JoinGrant | None = None
    not_applied: tuple[str, ...] = ()
    problem: ProviderError | None = None


@dataclass(frozen=True)
class EndedSummary:
    """A session that ended, as its ended card shows it."""

    started_at: datetime | None
    ended_at: datetime | None
    attendees: tuple[str, ...] | None  # names; None: the provider does not tell who came
    links: int  # people who took a link: not attendance


class MeetingChanged(Exception):
    """The meeting changed in the store since it was read (another end won the race)."""


@dataclass(frozen=True)
class JoinGrant:
    """A personal link, the role it grants and why."""

    meeting: Meeting
    link: JoinLink
    decision: RoleDecision
    opened: bool = False  # this join opened the session (the channel card should say so)


class MeetingService:
    """The /meet use cases. Construct once with its collaborators; it holds no other state
    than the locks that make concurrent joins open a session once."""

    def __init__(
        self,
        *,
        providers: Mapping[str, MeetingProvider],
        store: MeetingStore,
        policy: RolePolicy,
        default_provider: str,
        clock: Callable[[], datetime],
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12],
        timing: Timing | None = None,
        nudge: Callable[[], None] = lambda: None,
        observers: Observers | None = None,
        callbacks: CallbackUrls | None = None,
        recordings: RecordingRules | None = None,
    ) -> None:
        if default_provider not in providers:
            raise ValueError(f"default provider {default_provider!r} is not configured")
        self.providers = providers
        self.store = store
        self.policy = policy
        self.default_provider = default_provider
        self.clock = clock
        self.new_id = new_id
        self.timing = timing or Timing()
        # Where providers that call back (BigBlueButton) reach this bot; None: they are polled.
        self.callbacks = callbacks
        # The operator's switch for recordings (per tenant) and how long they are polled for.
        self.recordings = recordings or RecordingRules()
        # meeting id -> the lock of its opening (dropped with the last holder)
        self._opening: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Tells the scheduler a job is due now (a reminder inside its lead), so it need not
        # wait for its next round.
        self.nudge = nudge
        # Told of each step of a meeting's life once it is recorded (a platform's mirror).
        self.observers = observers or Observers()

    @property
    def early_join(self) -> timedelta:
        return self.timing.early_join

    def joinable_now(self, start: datetime | None) -> bool:
        """Whether attendees may join a meeting starting at `start` already (no start: yes)."""
        return start is None or start - self.early_join <= self.clock()

    # -- lookups and checks ------------------------------------------------------------------

    def provider_for(self, meeting: Meeting) -> MeetingProvider:
        provider = self.providers.get(meeting.provider)
        if provider is None:
            raise CommandError(
                f"{meeting.title} is on {provider_label(meeting.provider)}, which this bot "
                "is no longer configured for. An admin can add it back to the config."
            )
        return provider

    def require(self, provider: MeetingProvider, capability: Capability) -> None:
        if capability not in provider.capabilities:
            raise NotSupported(cannot(provider.name, capability))

    def decide(self, user: ChatUser, meeting: Meeting | None) -> RoleDecision:
        return self.policy.decide(user, meeting)

    def require_moderator(self, user: ChatUser, meeting: Meeting, action: str) -> RoleDecision:
        decision = self.decide(user, meeting)
        if decision.role is not Role.MODERATOR:
            raise PermissionDenied(
                f"Only moderators can {action} {meeting.title}; you are an attendee "
                f"({decision.reason})."
            )
        return decision

    async def find(
        self, where: Conversation, reference: str | None, *, include_ended: bool = True
    ) -> Meeting:
        return await find_meeting(self.store, where, reference, include_ended=include_ended)

    # -- create --------------------------------------------------------------------------------

    async def create(self, user: ChatUser, where: Conversation, request: CreateRequest) -> Created:
        """Create on the provider, then record it; open it now unless it is scheduled."""
        name = request.provider or self.policy.default_provider(where.tenant, self.default_provider)
        provider = self.providers.get(name)
        if provider is None:
            configured = ", ".join(provider_label(n) for n in self.providers)
            raise CommandError(
                f"{provider_label(name)} is not set up here; use one of {configured}."
            )
        if request.repeat and request.start is None:
            raise CommandError("--repeat needs --start: when is the first meeting?")
        if request.remind_minutes and request.start is None:
            raise CommandError("--remind needs --start: a reminder before when?")
        remind_minutes = self.reminder_lead(request)
        try:
            settings = MeetingSettings().with_changes(request.settings)
        except ValueError as error:
            raise CommandError(str(error)) from None
        not_applied = self._not_applied(provider, request)
        welcome = request.welcome
        if Capability.SETTINGS not in provider.capabilities:
            # Nothing reaches such a provider: the record must not claim otherwise.
            settings, welcome = MeetingSettings(), None

        now = self.clock()
        meeting_id = self.new_id()
        spec, token = self._spec(provider, meeting_id, user=user, where=where, request=request)
        spec = replace(spec, settings=settings, welcome=welcome)
        room = await provider.create_room(spec)
        if token is not None:
            room = room.evolve(extra={**room.extra, TOKEN_KEY: token})
        meeting = Meeting(
            id=meeting_id,
            tenant=where.tenant,
            channel_id=where.channel_id,
            title=request.title,
            provider=name,
            room=room,
            creator_key=user.key,
            creator_name=user.display_name,
            created_at=now,
            schedule=Schedule(
                start=request.start,
                duration_minutes=request.duration_minutes,
                rrule=rrule_for(request.repeat, request.start) if request.repeat else None,
                reminder_minutes=remind_minutes,
                timezone=zone_name(user),
                first_start=request.start,
            ),
            invitees=tuple(invitee.key for invitee in request.invitees),
        )
        if request.start is None:
            first = planned_now(meeting.schedule, now)
        else:
            first = planned(meeting.schedule, request.start, now)
        try:
            await self.store.add_meeting(meeting, first)
        except StoreError as error:
            # The provider has the room but we could not record it: take it back, so no
            # meeting exists that nobody can find, join or end from chat.
            log.error(
                "meeting %s could not be recorded (%s); removing it from %s",
                meeting_id,
                error,
                name,
            )
            await self._discard(provider, room)
            raise CommandError(
                f"{request.title} could not be saved, so it was not created. Please try again; "
                "if it keeps failing, tell whoever runs this bot."
            ) from None
        log.info("meeting %s created on %s in %s", meeting.id, name, where.tenant.key)
        if any(due <= now for _kind, due in first.jobs):
            self.nudge()
        if request.start is not None:
            # Scheduled, even if it starts in a minute: it opens at its time (or when a
            # moderator joins early), and its reminder is a job like any other.
            await self.observers.scheduled(meeting)
            return Created(meeting, not_applied=not_applied)
        try:
            grant = await self.join_meeting(user, meeting)
        except ProviderError as error:
            # The meeting exists (and is recorded as it is: opened or not); only this step
            # failed, and a Join retries it.
            log.info("meeting %s made, but not opened for its creator: %s", meeting.id, error)
            stored = await self.store.get_meeting(meeting.tenant, meeting.id)
            return Created(stored or meeting, not_applied=not_applied, problem=error)
        return Created(grant.meeting, grant, not_applied)

    def _spec(
        self,
        provider: MeetingProvider,
        meeting_id: str,
        *,
        user: ChatUser,
        where: Conversation,
        request: CreateRequest,
    ) -> tuple[RoomSpec, str | None]:
        """What to ask the provider for, with the URLs it calls back (and their token) when
        it calls back and this bot can be reached."""
        token, end_url, recording_url = None, None, None
        if self.callbacks is not None and Capability.CALLBACKS in provider.capabilities:
            token = self.callbacks.new_token()
            end_url = self.callbacks.ended(provider.name, meeting_id, token)
            recording_url = self.callbacks.recording(provider.name, meeting_id)
        spec = RoomSpec(
            meeting_id=meeting_id,
            tenant=where.tenant.key,
            title=request.title,
            host=self.participant(user),
            start=request.start,
            duration_minutes=request.duration_minutes,
            end_callback_url=end_url,
            recording_ready_url=recording_url,
        )
        return spec, token

    @staticmethod
    def _not_applied(provider: MeetingProvider, request: CreateRequest) -> tuple[str, ...]:
        """The options of `request` this provider has no place for (LiveMinutes: all ten
        settings and the welcome message)."""
        if Capability.SETTINGS in provider.capabilities:
            return ()
        flags = {setting: flag for flag, setting in SETTING_FLAGS.items()}
        skipped = [
            f"--{flags[name]}" if value else f"--no-{flags[name]}"
            for name, value in request.settings.items()
        ]
        if request.welcome:
            skipped.append("--welcome")
        return tuple(skipped)

    def reminder_lead(self, request: CreateRequest) -> int | None:
        """Minutes before the start to remind the channel; None for no reminder. `--remind 0`
        turns the configured default off for one meeting."""
        if request.start is None:
            return None
        minutes = request.remind_minutes
        if minutes is None:
            minutes = self.timing.default_remind_minutes
        return minutes or None

    @staticmethod
    async def _discard(provider: MeetingProvider, room: Room) -> None:
        try:
            if Capability.DELETE in provider.capabilities:
                await provider.delete_room(room)
            else:
                await provider.end(room)
        except ProviderError:
            log.exception(
                "could not remove unrecorded room %s from %s", room.room_id, room.provider
            )

    # -- join ----------------------------------------------------------------------------------

    async def join(self, user: ChatUser, where: Conversation, reference: str | None) -> JoinGrant:
        meeting = await self.find(where, reference, include_ended=False)
        return await self.join_meeting(user, meeting)

    async def join_meeting(self, user: ChatUser, meeting: Meeting) -> JoinGrant:
        """Mint `user`'s personal link now, opening the session first if it is not open."""
        if meeting.state is MeetingState.ENDED:
            raise CommandError(f"{meeting.title} has ended.")
        if await self.store.is_removed(meeting.id, user.key):
            raise PermissionDenied(
                f"A moderator removed you from {meeting.title}, so I cannot give you a link "
                "to it. Ask them if this is a mistake."
            )
        decision = self.decide(user, meeting)
        provider = self.provider_for(meeting)
        opened = False
        if meeting.state is MeetingState.SCHEDULED:
            # A class joining at its start all at once opens the session once: the others
            # wait here, then find it open.
            lock = self._opening.setdefault(meeting.id, asyncio.Lock())
            async with lock:
                fresh = await self.store.get_meeting(meeting.tenant, meeting.id) or meeting
                if fresh.state is MeetingState.SCHEDULED:
                    meeting = await self.open_session(fresh, decision)
                    opened = True
                else:
                    meeting = fresh
            if meeting.state is MeetingState.ENDED:
                raise CommandError(f"{meeting.title} has ended.")
        link = await provider.join_link(meeting.room, self.participant(user), decision.role)
        if link.role is not decision.role:
            # The provider granted less than we asked (LiveMinutes moderates by host link only).
            decision = RoleDecision(link.role, link.note or decision.reason)
        await self.store.log_join(
            JoinLogEntry(
                meeting_id=meeting.id,
                user_key=user.key,
                user_name=user.display_name,
                role=decision.role,
                reason=decision.reason,
                at=self.clock(),
            )
        )
        return JoinGrant(meeting, link, decision, opened)

    async def open_session(self, meeting: Meeting, decision: RoleDecision) -> Meeting:
        """Start the session of a scheduled meeting: moderators any time, others from the
        start time on (a little early is fine). The session is opened in the creator's name."""
        start = meeting.schedule.start
        now = self.clock()
        if decision.role is Role.ATTENDEE and start is not None and not self.joinable_now(start):
            zone = zone_named(meeting.schedule.timezone)
            opens = (start - self.early_join).astimezone(zone)
            raise CommandError(
                f"{meeting.title} starts at {start.astimezone(zone):%a %d %b %H:%M %Z}; you "
                f"can join from {opens:%H:%M}, or a moderator can open it earlier."
            )
        provider = self.provider_for(meeting)
        room = meeting.room
        if Capability.START_SESSION in provider.capabilities:
            creator = Participant(meeting.creator_key, meeting.creator_name)
            started = await provider.start_session(room, creator)
            room = started.room
        session_id = room.session_id or room.create_time or f"{meeting.id}-{int(now.timestamp())}"
        running = meeting.evolve(room=room, state=MeetingState.RUNNING, started_at=now)
        # Who is in it is asked while it runs, by a job (`commands.schedule.jobs`).
        sample = (
            self.timing.sample_every if Capability.ATTENDANCE in provider.capabilities else None
        )
        async with self.store.unit() as unit:
            if not await unit.update_meeting_if(running, meeting.state):
                raise MeetingChanged(meeting.id)
            await occurrences.opened(unit, running, now, session_id, sample_every=sample)
        await self.store.add_session(
            meeting.id, SessionEntry(session_id=session_id, started_at=now)
        )
        await self.observers.opened(running)
        return running

    # -- end -----------------------------------------------------------------------------------

    async def end(self, user: ChatUser, where: Conversation, reference: str | None) -> Meeting:
        meeting = await self.find(where, reference)
        if meeting.state is MeetingState.ENDED:
            raise CommandError(f"{meeting.title} has already ended.")
        self.require_moderator(user, meeting, "end")
        if meeting.state is MeetingState.SCHEDULED and meeting.schedule.rrule:
            raise CommandError(
                f"{meeting.title} is not running now. /meet cancel {meeting.id} skips its next "
                "occurrence; /meet cancel --series ends the series."
            )
        try:
            return await self.end_meeting(meeting)
        except (ProviderError, MeetingChanged):
            # Two ends at once (End pressed twice): the first one ended it.
            now = await self.store.get_meeting(meeting.tenant, meeting.id)
            if now is not None and (now.state, now.ended_at) != (meeting.state, meeting.ended_at):
                raise CommandError(f"{meeting.title} has already ended.") from None
            raise

    async def links_handed_out(self, meeting: Meeting) -> int:
        """How many different people took a link to the meeting's latest session (a repeating
        meeting counts each occurrence on its own). Not attendance: who came is the provider's
        to tell."""
        sessions = await self.store.sessions(meeting.tenant, meeting.id)
        since = sessions[-1].started_at if sessions else None
        joined = await self.store.join_log(meeting.tenant, meeting.id)
        return len({e.user_key for e in joined if since is None or e.at >= since})

    async def end_meeting(
        self, meeting: Meeting, *, ended_on_provider: bool = False, job: Job | None = None
    ) -> Meeting:
        """End the meeting on its provider (unless it already ended there) and in our records;
        a repeating meeting goes on waiting for its next occurrence. Raises `MeetingChanged`
        when another end got there first (nothing is written twice). `job` (the clock's end)
        is marked done in the same transaction."""
        provider = self.provider_for(meeting)
        running = meeting.state is MeetingState.RUNNING
        if running and (
            not ended_on_provider or Capability.ATTENDANCE_AFTER_END in provider.capabilities
        ):
            # The last look, for the ended card: before the end (BigBlueButton forgets its
            # attendees then), or after it where the provider still knows.
            await self.keep_attendance(meeting)
        if running and not ended_on_provider:
            try:
                await provider.end(meeting.room)
            except ProviderNotFound:
                log.info("meeting %s was already gone on %s", meeting.id, meeting.provider)
        now = self.clock()
        async with self.store.unit() as unit:
            if job is not None:
                await unit.finish(job, now)
            ending = await unit.current_occurrence(meeting.id)
            after = await occurrences.ended(unit, meeting, now)
            if not await unit.update_meeting_if(after, meeting.state):
                raise MeetingChanged(meeting.id)
            polled = await plan_poll(unit, self.recordings, meeting, provider, ending, now=now)
        if polled:
            self.nudge()  # its first look is due now
        links = await self.links_handed_out(meeting)
        for session in await self.store.sessions(meeting.tenant, meeting.id):
            if session.ended_at is None:
                await self.store.end_session(meeting.id, session.session_id, now, links)
        await self.observers.ended(after)
        return after

    async def keep_attendance(self, meeting: Meeting) -> list[Attendee]:
        """Ask the provider who is in the running session and keep it in the store (so it
        outlives the provider's memory); best effort: a failure keeps what was kept before."""
        provider = self.provider_for(meeting)
        session_id = await sampling.session_of(self.store, meeting)
        if Capability.ATTENDANCE not in provider.capabilities or session_id is None:
            return []
        try:
            seen = await sampling.ask(self.store, provider, meeting, session_id)
        except ProviderError as error:
            log.info("attendance of meeting %s not kept: %s", meeting.id, error)
            return []
        async with self.store.unit() as unit:
            await unit.record_sample(meeting.id, session_id, seen, self.clock())
        return seen

    async def ended_summary(self, meeting: Meeting) -> EndedSummary:
        """What the ended card says of the session that just ended: when it ran, who came
        (as the provider reported it) and how many people took a link."""
        sessions = await self.store.sessions(meeting.tenant, meeting.id)
        last = sessions[-1] if sessions else None
        seen = (
            await self.store.attendance_entries(meeting.tenant, meeting.id, last.session_id)
            if last is not None
            else []
        )
        names = {
            entry.user_key: entry.user_name
            for entry in await self.store.join_log(meeting.tenant, meeting.id)
        }
        reported = Capability.ATTENDANCE in self.provider_for(meeting).capabilities
        return EndedSummary(
            started_at=last.started_at if last is not None else meeting.started_at,
            ended_at=(last.ended_at if last is not None else None) or meeting.ended_at,
            attendees=tuple(names.get(entry.user_id or "", entry.name) for entry in seen)
            if reported
            else None,
            links=await self.links_handed_out(meeting),
        )

    # -- cards posted in chat ------------------------------------------------------------------

    async def card_refs(self, tenant: Tenant, meeting_id: str) -> tuple[str, ...]:
        meeting = await self.store.get_meeting(tenant, meeting_id)
        return await self.store.card_refs(meeting.id) if meeting is not None else ()

    async def remember_card(self, tenant: Tenant, meeting_id: str, ref: str) -> None:
        """Where a card of the meeting was posted (platform message ref), to update it later."""
        meeting = await self.store.get_meeting(tenant, meeting_id)
        if meeting is not None:
            await self.store.remember_card(meeting.id, ref)

    # -- participants --------------------------------------------------------------------------

    @staticmethod
    def participant(user: ChatUser) -> Participant:
        return Participant(user_id=user.key, display_name=user.display_name, email=user.email)


def zone_name(user: ChatUser) -> str | None:
    """The IANA name of the user's zone, which a meeting they schedule keeps as its own."""
    name = user.facts.timezone
    return name if name and zone_named(name) is not UTC else None
