"""The handlers of the clock's jobs: post a reminder, open an occurrence, end it when its time
is up. Each looks at the meeting and occurrence as they are now (a job planned weeks ago may
have nothing left to do), and answers with an `Outcome`: what to post, and the record to write.

Order matters, and differs: a reminder is posted first and recorded after, so it is never lost
(the one window left is a crash between the platform accepting the post and our record of it,
which a retry after the lease would post again); an opening or an end is recorded first (the
job's "done" in the same transaction as its effect) and then shown.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo

from commands import cards
from commands.attendance import sampling
from commands.limits import plural
from commands.model import ChatUser, Meeting, MeetingState, Occurrence, OccurrenceState
from commands.policy import RolePolicy
from commands.recordings.poll import RecordingPoll
from commands.replies import Reply, Visibility
from commands.schedule import occurrences
from commands.service import MeetingChanged, MeetingService
from commands.store import Job, JobKind, JobLost
from providers.base import Attendee, ProviderError

log = logging.getLogger("meetbot.schedule")

JUST_INVITED = timedelta(minutes=1)


@dataclass(frozen=True)
class Post:
    """Something to show in chat for a meeting: a new message, or its cards updated in place."""

    meeting: Meeting
    reply: Reply
    refresh: bool = False  # update the meeting's posted cards instead of posting anew
    under_card: bool = False  # a message of its own under the meeting's card (a recording)


#: writes a job's effect and its end; given the refs of the meeting's cards posted before it
#: (a reminder's), to remember with it
Record = Callable[[tuple[str, ...]], Awaitable[None]]


async def _nothing(_posted: tuple[str, ...]) -> None:
    return None


@dataclass
class Outcome:
    posts: list[Post] = field(default_factory=list)
    record: Record = _nothing
    post_first: bool = False  # reminders: never lost, so posted before they are recorded


class JobHandlers:
    def __init__(self, service: MeetingService, policy: RolePolicy | None = None) -> None:
        self.service = service
        self.store = service.store
        self.policy = policy or service.policy
        self.recording_poll = RecordingPoll(service)

    async def handle(self, job: Job, now: datetime) -> Outcome:
        meeting = await self.store.meeting_by_id(job.meeting_id)
        occurrence = await self.store.occurrence(job.occurrence_id) if job.occurrence_id else None
        if meeting is None or occurrence is None:
            return self._done(job, now)  # deleted since: nothing left to do
        handler = {
            JobKind.REMIND: self.remind,
            JobKind.OPEN: self.open,
            JobKind.END: self.end,
            JobKind.POLL_RECORDINGS: self.poll_recordings,
            JobKind.SAMPLE: self.sample,
        }[job.kind]
        return await handler(job, meeting, occurrence, now)

    # -- remind -------------------------------------------------------------------------------

    async def remind(
        self, job: Job, meeting: Meeting, occurrence: Occurrence, now: datetime
    ) -> Outcome:
        if occurrence.state.closed or occurrence.session_id is not None:
            return self._done(job, now)  # over, or already running: nothing to remind of
        late = now - job.due_at
        grace = self.service.timing.grace
        if late > grace:
            log.warning(
                "reminder of meeting %s (due %s) skipped: %s late, past the %s grace",
                meeting.id,
                job.due_at.isoformat(),
                _minutes(late),
                _minutes(grace),
            )
            return self._done(job, now)
        reminder = self.reminder(meeting, occurrence, now, late=late > timedelta(minutes=1))
        posts = [Post(meeting, reminder)]
        if now - meeting.created_at > JUST_INVITED:
            # (Invitees who got their invitation a moment ago need no reminder DM on top.)
            posts += [Post(meeting, dm) for dm in self.invitations(meeting, occurrence, now)]
        return Outcome(posts, self._finisher(job, now), post_first=True)

    def reminder(
        self, meeting: Meeting, occurrence: Occurrence, now: datetime, *, late: bool = False
    ) -> Reply:
        """The channel's reminder card: the time in each reader's zone where the platform can
        (the card's Starts field), a Join button that mints the presser's link."""
        zone = self.zone(meeting)
        start = occurrence.starts_at
        shown = replace(meeting, schedule=replace(meeting.schedule, start=start))
        if start > now:
            minutes = max(1, round((start - now).total_seconds() / 60))
            when = f"starts in {plural(minutes, 'min', 'min')} ({cards.when(start, zone)})"
        else:
            when = "starts now"
        text = f"Reminder: {meeting.title} {when}. Press Join for your personal link."
        if late:
            text += " (Posted late: the bot was not running when this was due.)"
        return Reply(text, Visibility.CHANNEL, card=cards.meeting_card(shown, zone))

    def invitations(self, meeting: Meeting, occurrence: Occurrence, now: datetime) -> list[Reply]:
        """The reminder to each invitee, privately, with a Join button of their own."""
        zone = self.zone(meeting)
        start = occurrence.starts_at
        minutes = max(1, round((start - now).total_seconds() / 60))
        found = []
        for key in meeting.invitees:
            invitee = _person(meeting, key)
            if invitee is None:
                continue
            host = _person(meeting, meeting.creator_key, meeting.creator_name) or invitee
            card = cards.invitation_reply(invitee, meeting, host, zone).card
            text = (
                f"Reminder: {meeting.title} starts in {minutes} min ({cards.when(start, zone)}); "
                f"{meeting.creator_name} invited you. Press Join (or type /meet join "
                f"{meeting.id}) for your personal link."
            )
            found.append(
                Reply(
                    text, Visibility.DIRECT, recipient=invitee, card=card, fallback_to_invoker=False
                )
            )
        return found

    # -- open ---------------------------------------------------------------------------------

    async def open(
        self, job: Job, meeting: Meeting, occurrence: Occurrence, now: datetime
    ) -> Outcome:
        """The occurrence's start: it is open for everyone, the series' next one is planned,
        and an earlier occurrence that nobody opened is marked missed."""
        if occurrence.state is not OccurrenceState.SCHEDULED:
            # Opened early by a moderator, ended, cancelled: only the next one may need planning.
            return Outcome(record=self._finisher(job, now, plan_after=occurrence))
        busy = meeting.state is MeetingState.RUNNING  # an earlier session still runs

        async def record(_posted: tuple[str, ...]) -> None:
            async with self.store.unit() as unit:
                await unit.finish(job, now)
                await unit.miss_before(meeting.id, occurrence.starts_at)
                state = OccurrenceState.MISSED if busy else OccurrenceState.OPEN
                await unit.update_occurrence(occurrence.evolve(state=state))
                await occurrences.plan_next(unit, meeting, occurrence, now)
                if not busy and meeting.schedule.start != occurrence.starts_at:
                    moved = replace(meeting.schedule, start=occurrence.starts_at)
                    await unit.update_meeting_if(meeting.evolve(schedule=moved), meeting.state)
            if not busy:
                opened = replace(meeting.schedule, start=occurrence.starts_at)
                await self.service.observers.opened(meeting.evolve(schedule=opened))

        if busy:
            return Outcome(record=record)
        shown = meeting.evolve(schedule=replace(meeting.schedule, start=occurrence.starts_at))
        text = f"{meeting.title} is open now. Press Join for your link."
        card = cards.channel_card_reply(shown, text, self.zone(meeting), state="open")
        return Outcome([Post(shown, card)], record)

    # -- end ----------------------------------------------------------------------------------

    async def end(
        self, job: Job, meeting: Meeting, occurrence: Occurrence, now: datetime
    ) -> Outcome:
        """The occurrence's time is up: end its session on the provider and here; an
        occurrence nobody opened in its time is missed, and the series goes on."""
        if occurrence.state.closed:
            return self._done(job, now)
        duration = meeting.schedule.duration_minutes or 0
        if meeting.state is MeetingState.RUNNING and occurrence.session_id is not None:
            try:
                ended = await self.service.end_meeting(meeting, job=job)
            except ProviderError as error:
                # The provider may have ended it itself (BigBlueButton's own duration): our
                # record must end all the same, or the card says "running" forever.
                log.info("ending meeting %s after its duration: %s", meeting.id, error)
                ended = await self.service.end_meeting(meeting, ended_on_provider=True, job=job)
            except MeetingChanged:
                return Outcome()  # a command ended it meanwhile (and finished nothing of ours)
            headline = f"{ended.title} ended: its {duration} min were up"
            ended_by = f"the clock (its {duration} min were up)"
            return Outcome([await self.ended_card(ended, headline, ended_by)])

        async def record(_posted: tuple[str, ...]) -> None:
            async with self.store.unit() as unit:
                await unit.finish(job, now)
                after = await occurrences.ended(unit, meeting, now, missed=True)
                await unit.update_meeting_if(after, meeting.state)
            await self.service.observers.ended(after)

        return Outcome(record=record)

    async def ended_card(self, meeting: Meeting, headline: str, ended_by: str) -> Post:
        summary = await self.service.ended_summary(meeting)
        reply = cards.ended_reply(meeting, headline, self.zone(meeting), summary, ended_by)
        return Post(meeting, reply, refresh=True)

    # -- recordings ---------------------------------------------------------------------------

    async def poll_recordings(
        self, job: Job, meeting: Meeting, occurrence: Occurrence, now: datetime
    ) -> Outcome:
        """The session ended: post its recordings as they become ready, each once, then
        look again later (`commands.recordings.poll`)."""
        result = await self.recording_poll.check(job, meeting, occurrence, now)
        message = result.message

        async def record(_posted: tuple[str, ...]) -> None:
            if message is not None:
                await self.recording_poll.poster.posted(message)
            async with self.store.unit() as unit:
                if result.again_at is None:
                    await unit.finish(job, now)
                else:
                    await unit.again(job, result.again_at)

        if message is None:
            return Outcome(record=record)
        # Posted before it is recorded, like a reminder: a failed post keeps the claim for
        # this job's retry.
        post = Post(meeting, message.reply, under_card=True)
        return Outcome([post], record, post_first=True)

    # -- sample -------------------------------------------------------------------------------

    async def sample(
        self, job: Job, meeting: Meeting, occurrence: Occurrence, now: datetime
    ) -> Outcome:
        """While the occurrence runs: ask its provider who is in it (one call), keep that in
        the store, and arm the job again for the next sample. A provider that fails a
        sample is asked again at the next one; an occurrence that is over is sampled no more."""
        session_id = occurrence.session_id
        running = meeting.state is MeetingState.RUNNING and occurrence.state is OccurrenceState.OPEN
        if not running or session_id is None:
            return self._done(job, now)
        provider = self.service.provider_for(meeting)
        seen: list[Attendee] | None = None
        try:
            seen = await sampling.ask(self.store, provider, meeting, session_id)
        except ProviderError as error:
            log.info("attendance of meeting %s not sampled: %s", meeting.id, error)
        next_at = now + self.service.timing.sample_every

        async def record(_posted: tuple[str, ...]) -> None:
            async with self.store.unit() as unit:
                await unit.again(job, next_at)
                if seen is not None:
                    await unit.record_sample(meeting.id, session_id, seen, now)

        return Outcome(record=record)

    # -- shared -------------------------------------------------------------------------------

    def zone(self, meeting: Meeting) -> tzinfo:
        return cards.channel_zone(meeting, self.policy)

    def _done(self, job: Job, now: datetime) -> Outcome:
        return Outcome(record=self._finisher(job, now))

    def _finisher(self, job: Job, now: datetime, *, plan_after: Occurrence | None = None) -> Record:
        async def record(posted: tuple[str, ...]) -> None:
            async with self.store.unit() as unit:
                await unit.finish(job, now)
                for ref in posted:
                    await unit.remember_card(job.meeting_id, ref)
                if plan_after is not None:
                    meeting = await self.store.meeting_by_id(job.meeting_id)
                    if meeting is not None:
                        await occurrences.plan_next(unit, meeting, plan_after, now)

        return record


def _person(meeting: Meeting, key: str, name: str | None = None) -> ChatUser | None:
    """A user of the meeting's tenant from their key (slack:T1:U1), named as we know them."""
    tenant_key, _, user_id = key.rpartition(":")
    if tenant_key != meeting.tenant.key or not user_id:
        return None
    return ChatUser(meeting.tenant, user_id, name or user_id)


def _minutes(span: timedelta) -> str:
    return plural(round(span.total_seconds() / 60), "min", "min")


__all__ = ["JobHandlers", "JobLost", "Outcome", "Post"]
