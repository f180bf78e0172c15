"""The scheduler loop: claim the jobs that are due, run each through its handler, show what it
posts through the platform's adapter; then bring up to date the cards of meetings that ended
without a command (see commands.watch).

`tick()` does one round and is what tests call (no sleeping); `run()` repeats it until asked to
stop, sleeping until the next job is due (at most `interval`), or less when `nudge()` says a
job came due, so a reminder goes out at its time rather than at the next poll. Jobs are claimed
in batches with a lease (`worker` names this process), so two schedulers on one store never
run the same job, and a job a dead process had claimed is taken over once its lease runs out.
The next batch is claimed while the last one's tail still runs, so one slow post does not hold
up the ones behind it. A post that fails is tried again with backoff, a bounded number of
times (a channel the bot was removed from must not be tried forever).

With a `lookahead` (`meetbot run` has one; tests and the terminal chat's simulated clock do
not), reminders are claimed that long before they are due, read and rendered then, and each
posted at its due time: when 10,000 come due in the same minute, only the posts are left for
that minute. The price: a meeting cancelled or edited within the lookahead before its reminder
may still get the reminder as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from commands.model import Meeting, Platform
from commands.replies import Reply
from commands.schedule.jobs import JobHandlers, Outcome, Post
from commands.store import Job, JobKind, JobLost, StoreError
from commands.store.timeline import CLAIM_BATCH
from commands.telemetry import NO_TELEMETRY, Telemetry
from commands.watch import MeetingWatch

log = logging.getLogger("meetbot.schedule")

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)
CONCURRENCY = 200  # jobs in flight at once (posts to many channels)
NOT_HERE_BACKOFF = timedelta(minutes=5)
MIN_PAUSE = 0.05  # seconds between rounds that found nothing to do
LOOKAHEAD = timedelta(seconds=30)  # how long before its time a reminder is prepared (`run`)
EARLY_KINDS = (JobKind.REMIND,)  # prepared early: their handlers only read and render
AWAKE = 1000  # prepared jobs waiting on a timer for their time at once (the rest queue)
LATE = timedelta(minutes=1)  # a job carried out later than this after its time counts as late


class Announcer(Protocol):
    async def announce(self, meeting: Meeting, reply: Reply) -> str | None:
        """Post `reply` for the meeting: in its channel, or as a DM to its recipient; answers
        where a channel card was posted (a platform message ref), to update it later."""

    async def refresh(self, meeting: Meeting, reply: Reply) -> None:
        """Show `reply` in place of the meeting's cards already posted."""

    async def reply_under(self, meeting: Meeting, reply: Reply) -> None:
        """Post `reply` as a message of its own under the meeting's card (a recording): in
        its thread, as a reply to it; in the channel when the card is not known."""


#: a post made ready ahead: calling it makes the post and answers where its card went
Ready = Callable[[], Awaitable[str | None]]


@runtime_checkable
class Prepares(Protocol):
    """An announcer that can do everything for a new post but the post itself ahead of time
    (render it, encode its request), so that a burst due at once is left with the posts."""

    def prepare(self, meeting: Meeting, reply: Reply) -> Ready: ...


async def show(announcer: Announcer, post: Post) -> str | None:
    """Show a post through the announcer of its platform, as the post asks; answers where a
    new card of the meeting went (to follow its state), if it was one."""
    if post.refresh:
        await announcer.refresh(post.meeting, post.reply)
    elif post.under_card:
        await announcer.reply_under(post.meeting, post.reply)
    else:
        posted = await announcer.announce(post.meeting, post.reply)
        return posted if post.reply.card is not None else None
    return None


class JobLoop:
    def __init__(
        self,
        handlers: JobHandlers,
        announcers: Mapping[Platform, Announcer],
        clock: Callable[[], datetime],
        *,
        interval: float = 30.0,
        watch: MeetingWatch | None = None,
        worker: str | None = None,
        lease: timedelta = LEASE,
        batch: int = CLAIM_BATCH,
        lookahead: timedelta = timedelta(0),
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> None:
        self.handlers = handlers
        self.telemetry = telemetry
        self.store = handlers.store
        self.announcers = announcers
        self.clock = clock
        self.interval = interval
        self.watch = watch
        self.worker = worker or f"meetbot-{secrets.token_hex(4)}"
        self.lease = lease
        self.batch = batch
        self.lookahead = lookahead
        self._wake = asyncio.Event()
        self._gate = asyncio.Semaphore(CONCURRENCY)
        self._early: set[asyncio.Task[None]] = set()  # prepared, waiting for their time
        self._awake = asyncio.Semaphore(AWAKE)

    def nudge(self) -> None:
        """A job came due now: run a round without waiting for the interval."""
        self._wake.set()

    async def tick(self) -> int:
        """Run what is due now; returns how many jobs were done."""
        done = await self.run_due()
        if self.watch is not None:
            await self.refresh_cards(self.watch)
        return done

    async def run_due(self, stop: asyncio.Event | None = None) -> int:
        """Claim and run every due job (in batches, due order within each); returns how many
        were done. With `stop` set, no further batch is claimed (the claimed ones finish)."""
        running: set[asyncio.Task[bool]] = set()
        done = 0
        try:
            while stop is None or not stop.is_set():
                jobs = await self.store.claim_jobs(
                    self.clock(), self.worker, lease=self.lease, limit=self.batch
                )
                running |= {asyncio.create_task(self._guarded(job)) for job in jobs}
                if len(jobs) < self.batch:
                    break  # nothing more is due now
                # Claim the next batch once this one is down to what is in flight: the jobs
                # behind a slow one need not wait for it.
                while len(running) > CONCURRENCY:
                    finished, running = await asyncio.wait(
                        running, return_when=asyncio.FIRST_COMPLETED
                    )
                    done += sum(task.result() for task in finished)
            if running:
                finished, running = await asyncio.wait(running)
                done += sum(task.result() for task in finished)
        finally:
            for task in running:
                task.cancel()  # only when this round itself is cancelled
        return done

    async def _guarded(self, job: Job) -> bool:
        async with self._gate:
            try:
                return await self.run_job(job)
            except Exception as error:
                await self._failed(job, error)
                return False

    async def _failed(self, job: Job, error: Exception) -> None:
        """A job that raised: one failed job must not stop the others; it is tried again
        after backoff."""
        if isinstance(error, JobLost):
            log.info("job %s was taken over by another worker; its effects were not kept", job.id)
        elif isinstance(error, StoreError):
            # The store's message says what failed: one line, no traceback.
            log.error(
                "job %s (%s of meeting %s) failed: %s", job.id, job.kind, job.meeting_id, error
            )
            await self._retry_quietly(job, "the store failed")
        else:
            log.error(
                "job %s (%s of meeting %s) failed",
                job.id,
                job.kind,
                job.meeting_id,
                exc_info=error,
            )
            await self._retry(job, "failed unexpectedly")

    async def prepare_ahead(self) -> int:
        """Claim the reminders due within the lookahead, prepare each now and post it at its
        time (in a task of its own); returns how many were claimed."""
        if not self.lookahead:
            return 0
        claimed = 0
        while True:
            now = self.clock()
            jobs = await self.store.claim_jobs(
                now,
                self.worker,
                lease=self.lease,
                limit=self.batch,
                before=now + self.lookahead,
                kinds=EARLY_KINDS,
            )
            for job in jobs:
                task = asyncio.create_task(self._run_early(job))
                self._early.add(task)
                task.add_done_callback(self._early.discard)
            claimed += len(jobs)
            if len(jobs) < self.batch:
                return claimed

    async def _run_early(self, job: Job) -> None:
        try:
            async with self._gate:
                # Rendered as of its due time ("starts in 15 min"), which is when it is seen.
                outcome = await self.handlers.handle(job, max(self.clock(), job.due_at))
                ready = self._ready_first(outcome)
            # Only so many wait for their time on a timer: 10,000 woken at one instant held up
            # the first post by their wake-ups (+0.6 s); the others queue here, untimed, and
            # go as soon as one before them is done.
            async with self._awake:
                wait = (job.due_at - self.clock()).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
                # The gate bounds the posts in flight, not the records after them: a slot is
                # not held while the job's end waits for its turn at the store.
                await self.carry_out(job, outcome, ready, posting=self._gate)
        except Exception as error:
            await self._failed(job, error)

    async def run_job(self, job: Job) -> bool:
        return await self.carry_out(job, await self.handlers.handle(job, self.clock()))

    def _ready_first(self, outcome: Outcome) -> Ready | None:
        """The outcome's main post made ready now, where its announcer can."""
        if not outcome.post_first or not outcome.posts:
            return None
        main = outcome.posts[0]
        announcer = self.announcers.get(main.meeting.tenant.platform)
        if main.refresh or main.under_card or not isinstance(announcer, Prepares):
            return None
        return announcer.prepare(main.meeting, main.reply)

    async def carry_out(
        self,
        job: Job,
        outcome: Outcome,
        ready: Ready | None = None,
        *,
        posting: asyncio.Semaphore | None = None,
    ) -> bool:
        """Show what the job's handler said and record its effect, in the order it asked
        (its main post made `ready` ahead, if it was; each post inside `posting`, if given)."""
        gate = posting or contextlib.nullcontext()
        now = self.clock()
        posts = [p for p in outcome.posts if p.meeting.tenant.platform in self.announcers]
        if outcome.posts and not posts:
            # That platform is not running in this process: leave the job for a while (for a
            # process that runs it, or for this one once it is configured).
            later = now + NOT_HERE_BACKOFF
            await self.store.release_job(job, error="platform not running", retry_at=later, at=now)
            return False
        self.telemetry.job_due(job.kind, late=now - job.due_at > LATE)
        try:
            if outcome.post_first:
                main, *rest = posts
                async with gate:
                    card = await self._deliver_first(main, ready)
                # Recorded as soon as the channel has it, its card with it: the window in
                # which a crash would post it twice is this one post, not the invitees' DMs
                # that follow.
                await outcome.record(() if card is None else (card,))
                async with gate:
                    await self._show(rest)
            else:
                await outcome.record(())
                async with gate:
                    await self._show(posts)
        except JobLost:
            log.info("job %s was taken over by another worker; its effects were not kept", job.id)
            return False
        except _PostFailed as failure:
            await self._retry(job, failure.reason)
            return False
        if job.kind is JobKind.REMIND and posts:
            self.telemetry.reminder_sent(posts[0].meeting.tenant.platform)
        return True

    async def _deliver_first(self, main: Post, ready: Ready | None) -> str | None:
        """The job's main post (the channel's), which must go out before the job is done;
        answers where its card is."""
        try:
            if ready is not None:
                posted = await ready()
                return posted if main.reply.card is not None else None
            return await self._post(main)
        except Exception as error:
            # Any failure of the platform (an API error, the network): the job retries.
            raise _PostFailed(f"{type(error).__name__}: {error}") from error

    async def _show(self, posts: list[Post]) -> None:
        for post in posts:
            try:
                card = await self._post(post)
                if card is not None:
                    await self.store.remember_card(post.meeting.id, card)
            except Exception:
                # A card we cannot edit or a DM we cannot send is not worth a retry.
                log.exception("could not show a post of meeting %s", post.meeting.id)

    async def _post(self, post: Post) -> str | None:
        """Show the post; answers where a new card of the meeting went (to follow its state)."""
        return await show(self.announcers[post.meeting.tenant.platform], post)

    async def _retry_quietly(self, job: Job, reason: str) -> None:
        """Retry the job if the store lets us; if not, its lease runs out and it is claimed
        again then (by this process or another)."""
        with contextlib.suppress(StoreError):
            await self._retry(job, reason)

    async def _retry(self, job: Job, reason: str) -> None:
        now = self.clock()
        self.telemetry.job_failed(job.kind, final=job.attempts >= MAX_ATTEMPTS)
        if job.attempts >= MAX_ATTEMPTS:
            log.warning("job %s of meeting %s given up: %s", job.id, job.meeting_id, reason)
            await self.store.release_job(job, error=reason, retry_at=None, at=now)
            return
        backoff = timedelta(seconds=min(600, 15 * 2 ** (job.attempts - 1)))
        log.info("job %s of meeting %s retried in %s: %s", job.id, job.meeting_id, backoff, reason)
        await self.store.release_job(job, error=reason, retry_at=now + backoff, at=now)

    async def refresh_cards(self, watch: MeetingWatch) -> int:
        """End what ended without a command and update its cards; returns how many."""
        updates = await watch.sweep(self.clock())
        for update in updates:
            announcer = self.announcers.get(update.meeting.tenant.platform)
            if announcer is None:
                continue  # the meeting is ended in our records; its card stays as it was
            try:
                await announcer.refresh(update.meeting, update.reply)
            except Exception:
                # A card we cannot edit (deleted message, bot removed) is not worth a retry.
                log.exception("could not update the card of meeting %s", update.meeting.id)
        return len(updates)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self._rounds(stop)
        finally:
            # Reminders prepared but not yet due stay claimed until their lease runs out;
            # then this process after a restart (or another) takes them.
            for task in self._early:
                task.cancel()
            await asyncio.gather(*self._early, return_exceptions=True)

    async def _rounds(self, stop: asyncio.Event) -> None:
        swept = -float("inf")
        while not stop.is_set():
            self._wake.clear()
            try:
                done = await self.run_due(stop)
                done += await self.prepare_ahead()
                # The watch asks providers: at its own pace, not at every job's due time.
                if self.watch is not None and time.monotonic() - swept >= self.interval:
                    swept = time.monotonic()
                    await self.refresh_cards(self.watch)
                pause = await self._pause()
                if not done:
                    pause = max(pause, MIN_PAUSE)  # never spin on a job that cannot run yet
            except StoreError as error:
                # A database hiccup (a restart, a failover): one line; the next round retries.
                log.error("scheduler round failed: %s", error)
                pause = self.interval
            except Exception:
                # The loop must outlive a bad round; the next tick retries.
                log.exception("scheduler round failed")
                pause = self.interval
            stopping = asyncio.ensure_future(stop.wait())
            woken = asyncio.ensure_future(self._wake.wait())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.wait({stopping, woken}, return_when=asyncio.FIRST_COMPLETED), pause
                )
            for waiter in (stopping, woken):
                waiter.cancel()

    async def _pause(self) -> float:
        """Seconds until the next job can be claimed, at most `interval` (a job planned
        meanwhile by another process is seen by then; one planned here nudges)."""
        ready = await self.store.next_claimable()
        if self.lookahead:
            early = await self.store.next_claimable(EARLY_KINDS)
            if early is not None and ready is not None:
                ready = min(ready, early - self.lookahead)
        if ready is None:
            return self.interval
        return max(0.0, min(self.interval, (ready - self.clock()).total_seconds()))


class _PostFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


__all__ = ["Announcer", "JobLoop", "Outcome"]
