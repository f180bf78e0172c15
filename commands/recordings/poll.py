"""Looking for a session's recordings when no callback comes (no server, no public URL, a
provider that never calls back such as VConnct, or a callback lost on the way).

When a session of a meeting that may record ends, however it ended, a poll job is planned in
the same transaction as the end (`commands.recordings.planning`): due at once, then again
after 1, 2, 4 ... minutes (the time since the end, at most an hour), until
`recordings.poll_hours` after the end or until every recording of that session is posted.
Each poll asks the provider for the meeting's recordings and posts one that is ready and not
posted yet (claimed first, so a callback racing it posts nothing more); after a post it looks
again at once. The job is in the store, so it
outlives a restart; one that came due while the bot was down runs when it is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.model import Meeting, Occurrence
from commands.recordings.posts import RecordingMessage, RecordingPoster, is_ready
from commands.service import MeetingService
from commands.store import Job
from providers.base import Capability, ProviderError, Recording

log = logging.getLogger("meetbot.recordings")

FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# A provider's clock may be a little off ours: a recording that ended this long before the
# session opened may still be its own.
SKEW = timedelta(minutes=5)
# A look whose post failed is retried by the job loop; after this many tries the poll goes
# back to its own schedule (fresh attempts), so a chat outage of minutes never makes the loop
# give the job up and lose the recording: it keeps trying until `poll_hours`.
TRIES_PER_LOOK = 3


def next_poll(ended_at: datetime, now: datetime) -> datetime:
    """Backoff: wait as long as it has been since the end, from a minute up to an hour."""
    return now + min(LONGEST_WAIT, max(FIRST_WAIT, now - ended_at))


def of_session(recording: Recording, occurrence: Occurrence) -> bool:
    """Whether `recording` can be of the occurrence's session (not of an earlier one, which
    its own poll posted, or which was made while recordings were off)."""
    opened = occurrence.opened_at or occurrence.starts_at
    return recording.ended_at is None or recording.ended_at >= opened - SKEW


@dataclass(frozen=True)
class PollResult:
    message: RecordingMessage | None = None  # a recording to post now (claimed)
    again_at: datetime | None = None  # when to look again; None: the job is done


class RecordingPoll:
    def __init__(self, service: MeetingService) -> None:
        self.service = service
        self.store = service.store
        self.poster = RecordingPoster(service)

    async def check(
        self, job: Job, meeting: Meeting, occurrence: Occurrence, now: datetime
    ) -> PollResult:
        rules = self.service.recordings
        ended = occurrence.ended_at or job.due_at
        deadline = ended + rules.poll_for
        provider = self.service.providers.get(meeting.provider)
        if (
            not rules.enabled_for(meeting.tenant)
            or provider is None
            or Capability.RECORDINGS not in provider.capabilities
        ):
            return PollResult()  # switched off (or the provider removed) since it was planned
        if now >= deadline:
            log.info("recordings of meeting %s: no longer looked for", meeting.id)
            return PollResult()
        later = min(next_poll(ended, now), deadline)
        if job.attempts > TRIES_PER_LOOK:
            log.info("recordings of meeting %s: posting failed, tried again later", meeting.id)
            return PollResult(again_at=later)
        try:
            found = await provider.recordings(meeting.room)
        except ProviderError as error:
            log.info("recordings of meeting %s not read, tried again later: %s", meeting.id, error)
            return PollResult(again_at=later)
        return await self._post_one(
            job, meeting, [r for r in found if of_session(r, occurrence)], now, later
        )

    async def _post_one(
        self,
        job: Job,
        meeting: Meeting,
        ours: list[Recording],
        now: datetime,
        later: datetime,
    ) -> PollResult:
        """Claim the first of the session's recordings that is ready and not posted yet."""
        waiting = False
        for recording in ours:
            if await self.store.is_recording_posted(meeting.id, recording.recording_id):
                continue
            if not is_ready(recording):
                waiting = True  # still processing
                continue
            message = await self.poster.claim(meeting, recording, f"job-{job.id}")
            if message is None:
                waiting = True  # a callback is posting it right now
                continue
            return PollResult(message, again_at=now)  # then at once for the next one
        if ours and not waiting:
            return PollResult()  # every recording of the session is out
        return PollResult(again_at=later)
