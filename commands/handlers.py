"""One handler per /meet subcommand: read the Invocation, run the use case, build the replies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from commands import cards
from commands.attendance.csvfile import attendance_csv
from commands.attendance.report import SessionAttendance
from commands.changes import MeetingChanges, Removal
from commands.errors import CommandError, UsageError
from commands.explain import problem_words
from commands.limits import plural, provider_label
from commands.model import ChatUser, Conversation, MeetingState, Tenant
from commands.parsing import Invocation, Mention
from commands.queries import MeetingQueries
from commands.replies import Reply, Visibility
from commands.schedule.editing import Edit, ScheduleChanges
from commands.schedule.recurrence import describe_rule
from commands.service import Created, CreateRequest, MeetingService
from commands.spec import SUBCOMMANDS, describe, overview
from commands.userzones import timezone_text
from providers.base import Capability, RoomUpdate


class Directory(Protocol):
    """Turns a mention into a ChatUser; each adapter knows its platform's way."""

    async def lookup(self, tenant: Tenant, mention: Mention) -> ChatUser: ...


class PlainDirectory:
    """A directory that knows only what the mention itself says."""

    async def lookup(self, tenant: Tenant, mention: Mention) -> ChatUser:
        return ChatUser(tenant, mention.user_id, mention.label or mention.user_id)


@dataclass(frozen=True)
class Context:
    user: ChatUser
    where: Conversation
    invocation: Invocation


Handler = Callable[[Context], Awaitable[list[Reply]]]


def ephemeral(text: str) -> list[Reply]:
    return [Reply(text, Visibility.EPHEMERAL)]


def names(people: tuple[ChatUser, ...]) -> str:
    return ", ".join(person.display_name for person in people)


def removal_text(removal: Removal) -> str:
    """What a removal did, and plainly what it could not (a link already handed out that the
    provider cannot take back)."""
    meeting = removal.meeting
    provider = provider_label(meeting.provider)
    lines = []
    if removal.creator_kept:
        lines.append(
            f"I cannot remove {names(removal.creator_kept)}: they created {meeting.title}."
        )
    if removal.removed:
        lines.append(
            f"Removed {names(removal.removed)} from {meeting.title}: no new link for them."
        )
    kept_links = tuple(p for p in removal.with_links if p not in removal.revoked)
    if removal.revoked:
        lines.append(f"The link {names(removal.revoked)} had no longer works.")
    if kept_links:
        lines.append(
            f"{provider} cannot take back a link already handed out: the one "
            f"{names(kept_links)} got keeps working until this session ends "
            f"(end {meeting.title} and open it again to shut it out)."
        )
    never = tuple(p for p in removal.removed if p not in removal.with_links)
    if never:
        lines.append(f"{names(never)} had no link yet, and will not get one.")
    return "\n".join(lines)


_DONE = {"publish": "published", "unpublish": "unpublished", "delete": "deleted"}


class Handlers:
    """The subcommand handlers, bound to the service they drive."""

    def __init__(self, service: MeetingService, directory: Directory) -> None:
        self.service = service
        self.queries = MeetingQueries(service)
        self.changes = MeetingChanges(service)
        self.schedules = ScheduleChanges(service)
        self.directory = directory
        self.table: dict[str, Handler] = {
            "help": self.help,
            "create": self.create,
            "join": self.join,
            "end": self.end,
            "list": self.list_meetings,
            "status": self.status,
            "attendance": self.attendance,
            "recordings": self.recordings,
            "settings": self.settings,
            "history": self.history,
            "remove": self.remove,
            "edit": self.edit,
            "cancel": self.cancel,
            "delete": self.delete,
            "timezone": self.timezone,
        }
        missing = set(SUBCOMMANDS) - set(self.table)
        if missing:
            raise RuntimeError(f"subcommands without a handler: {sorted(missing)}")

    async def users(self, ctx: Context, name: str) -> tuple[ChatUser, ...]:
        mentions = ctx.invocation.mentions(name)
        found = [await self.directory.lookup(ctx.where.tenant, m) for m in mentions]
        return tuple(dict.fromkeys(found))

    async def help(self, ctx: Context) -> list[Reply]:
        topic = ctx.invocation.text("topic")
        if topic is None:
            return ephemeral(overview())
        sub = SUBCOMMANDS.get(topic.lower().removeprefix("/meet ").strip())
        if sub is None:
            return ephemeral(f"There is no /meet {topic}.\n\n{overview()}")
        return ephemeral(describe(sub))

    async def create(self, ctx: Context) -> list[Reply]:
        inv, user = ctx.invocation, ctx.user
        self.service.recordings.refuse_flags(ctx.where.tenant, inv.settings)
        invitees = tuple(u for u in await self.users(ctx, "invite") if u.key != user.key)
        request = CreateRequest(
            title=inv.text("title") or "",
            provider=inv.text("provider"),
            start=inv.moment("start"),
            duration_minutes=inv.number("duration"),
            repeat=inv.text("repeat"),
            remind_minutes=inv.number("remind"),
            invitees=invitees,
            welcome=inv.text("welcome"),
            settings=dict(inv.settings),
        )
        created = await self.service.create(user, ctx.where, request)
        meeting, grant = created.meeting, created.grant
        zone = cards.user_zone(user)
        replies = [cards.channel_card_reply(meeting, self._create_headline(user, created), zone)]
        if grant is not None:
            replies += cards.link_replies(user, grant)
        elif created.problem is not None:
            what = (
                "it is open, but your link could not be made"
                if meeting.state is MeetingState.RUNNING
                else "it is not open yet"
            )
            replies.append(
                Reply(
                    f"{meeting.title} was created, but {what}: {problem_words(created.problem)}. "
                    f"Press Join (or /meet join {meeting.id}) to try again.",
                    Visibility.EPHEMERAL,
                )
            )
        else:
            lead = meeting.schedule.reminder_minutes
            reminder = (
                f" I will remind this channel {lead} min before it starts."
                if lead
                else " No reminder will be posted (--remind MINUTES asks for one)."
            )
            soon = self.service.joinable_now(meeting.schedule.start)
            when = "now" if soon else "when it is time (you may open it early)"
            replies.append(
                Reply(
                    f"Scheduled. You moderate {meeting.title}; /meet join {meeting.id} (or the "
                    f"Join button) gives you your link {when}.{reminder}",
                    Visibility.EPHEMERAL,
                )
            )
        if created.not_applied:
            replies.append(
                Reply(
                    f"{provider_label(meeting.provider)} has no meeting settings or welcome "
                    f"message, so these were not applied: {', '.join(created.not_applied)}.",
                    Visibility.EPHEMERAL,
                )
            )
        replies += [cards.invitation_reply(i, meeting, user, zone) for i in invitees]
        return replies

    def _create_headline(self, user: ChatUser, created: Created) -> str:
        meeting = created.meeting
        if meeting.state is MeetingState.RUNNING:
            return f"{user.display_name} started {meeting.title}. Press Join for your link."
        if created.problem is not None:
            return (
                f"{user.display_name} created {meeting.title}; it is not open yet. "
                "Press Join to open it."
            )
        start = meeting.schedule.start
        zone = cards.user_zone(user)
        when = f" for {cards.when(start, zone)}" if start is not None else ""
        headline = f"{user.display_name} scheduled {meeting.title}{when}."
        if start is not None and self.service.joinable_now(start):
            # Inside the early-join window: people can join already, yet it is not "started".
            headline += f" It opens at {start.astimezone(zone):%H:%M} (you can join now)."
        return headline

    async def join(self, ctx: Context) -> list[Reply]:
        grant = await self.service.join(ctx.user, ctx.where, ctx.invocation.text("meeting"))
        return cards.join_replies(ctx.user, grant)

    async def end(self, ctx: Context) -> list[Reply]:
        meeting = await self.service.end(ctx.user, ctx.where, ctx.invocation.text("meeting"))
        summary = await self.service.ended_summary(meeting)
        who = ctx.user.display_name
        headline = f"{who} ended {meeting.title}"
        return [cards.ended_reply(meeting, headline, cards.user_zone(ctx.user), summary, who)]

    async def list_meetings(self, ctx: Context) -> list[Reply]:
        inv = ctx.invocation
        server = inv.text("server")
        if server is not None:
            listing = await self.queries.server(ctx.user, ctx.where, server)
            total = len(listing.ours) + listing.others
            lines = [f"{provider_label(server)} runs {plural(total, 'meeting')}."]
            lines += [
                f"  {m.title} (id {m.id}): {'running' if r.running else 'not running'}, "
                f"{r.participant_count if r.participant_count is not None else '?'} in it"
                for m, r in listing.ours
            ]
            if listing.others:
                lines.append(f"  …and {listing.others} not from this workspace.")
            return ephemeral("\n".join(lines))
        meetings = await self.queries.meetings(
            ctx.where, all_channels=inv.flag("all"), include_ended=inv.flag("ended")
        )
        if not meetings:
            where = "this workspace" if inv.flag("all") else "this channel"
            return ephemeral(f"No meetings in {where}. Create one with /meet create TITLE.")
        zone = cards.user_zone(ctx.user)
        lines = []
        for m in meetings:
            start = m.schedule.start
            at = (
                f", {cards.when(start, zone)}"
                if start and m.state is MeetingState.SCHEDULED
                else ""
            )
            lines.append(f"  {m.title} (id {m.id}): {m.state}{at}, {provider_label(m.provider)}")
        return ephemeral("Meetings:\n" + "\n".join(lines))

    async def status(self, ctx: Context) -> list[Reply]:
        meeting, status = await self.queries.status(ctx.where, ctx.invocation.text("meeting"))
        lines = [f"{meeting.title} (id {meeting.id}) is {meeting.state}."]
        if status is not None:
            provider = provider_label(meeting.provider)
            lines.append(
                f"{provider} says: {status.state.value}"
                + (f" ({status.detail})" if status.detail else "")
            )
            here = await self.queries.present(meeting)
            if meeting.state is MeetingState.RUNNING and (here is None or here.last_sample is None):
                # Not sampled yet (it just started): ask now, as the next sample would.
                await self.service.keep_attendance(meeting)
                here = await self.queries.present(meeting)
            if here is not None and here.last_sample is not None:
                lines.append(self._present_text(ctx, here))
            elif status.participant_count is not None:
                lines.append(f"In it now: {status.participant_count}")
            if status.started_at is not None:
                lines.append(f"Since: {cards.when(status.started_at, cards.user_zone(ctx.user))}")
        return ephemeral("\n".join(lines))

    async def attendance(self, ctx: Context) -> list[Reply]:
        inv = ctx.invocation
        found = await self.queries.attendance(
            ctx.user, ctx.where, inv.text("meeting"), inv.text("session")
        )
        meeting = found.meeting
        which = f" (session {found.session_id})" if inv.text("session") else ""
        if inv.flag("csv"):
            attachment = attendance_csv(found)
            everyone = plural(len(found.people), "person", "people")
            text = f"Attendance of {meeting.title}{which}: {everyone} in {attachment.filename}."
            return [Reply(text, Visibility.EPHEMERAL, attachment=attachment)]
        return ephemeral(self._attendance_text(ctx, found, which))

    def _attendance_text(self, ctx: Context, found: SessionAttendance, which: str) -> str:
        """The moderators' summary: who came (when, for how long where the provider tells),
        and apart from them, who took a link and was not seen."""
        meeting, attendees = found.meeting, found.attendees
        provider = self.service.provider_for(meeting)
        kept_only = Capability.ATTENDANCE_AFTER_END not in provider.capabilities
        linked = found.linked
        links = f"{plural(len(linked), 'link')} handed out"
        if linked:
            links += f" (to {', '.join(p.name for p in linked)})"
        if not attendees:
            if found.running:
                return f"Nobody has joined {meeting.title}{which} yet; {links}."
            if kept_only:
                return (
                    f"{provider_label(meeting.provider)} no longer knows who attended "
                    f"{meeting.title}{which}: it forgets when a meeting ends, and nobody was "
                    f"seen in it before. {links[0].upper()}{links[1:]}."
                )
            return f"Nobody was seen in {meeting.title}{which}; {links}."
        zone = cards.user_zone(ctx.user)
        source = " as seen while it ran" if kept_only and not found.running else ""
        lines = [
            f"Attendance of {meeting.title}{which}{source}: {len(attendees)} came; "
            f"{plural(len(linked), 'link')} handed out."
        ]
        for person in attendees:
            said = [cards.role_word(person.role)]
            if person.joined_at is not None:
                said.append(f"joined {person.joined_at.astimezone(zone):%H:%M}")
            if found.presence:
                if person.left_at is None and found.running:
                    said.append("still in")
                elif person.left_at is not None:
                    said.append(f"left {person.left_at.astimezone(zone):%H:%M}")
            if person.minutes_present is not None:
                said.append(f"{person.minutes_present} min")
            lines.append(f"  {person.name}: {', '.join(said)}")
        absent = [p.name for p in linked if not p.attended]
        if absent:
            lines.append(f"Took a link, not seen in it: {', '.join(absent)}")
        lines.append(f"/meet attendance {meeting.id} --csv gives everyone as a file.")
        return "\n".join(lines)

    def _present_text(self, ctx: Context, here: SessionAttendance) -> str:
        """Who is in the meeting now, from the latest attendance sample."""
        assert here.last_sample is not None
        seen_at = f"{here.last_sample.astimezone(cards.user_zone(ctx.user)):%H:%M:%S}"
        if here.presence:
            names = [p.name for p in here.in_now]
            who = f"{', '.join(names)} ({len(names)})" if names else "nobody"
            return f"In it now: {who}, as seen at {seen_at}"
        names = [p.name for p in here.attendees]
        who = f"{', '.join(names)} ({len(names)})" if names else "nobody yet"
        provider = provider_label(here.meeting.provider)
        return f"Joined so far: {who}, as seen at {seen_at} ({provider} does not tell who left)"

    async def recordings(self, ctx: Context) -> list[Reply]:
        inv = ctx.invocation
        self.service.recordings.require(ctx.where.tenant)
        actions = [(a, inv.text(a)) for a in ("publish", "unpublish", "delete") if inv.text(a)]
        if len(actions) > 1:
            raise CommandError("Give one of --publish, --unpublish or --delete at a time.")
        if actions:
            action, recording_id = actions[0]
            meeting = await self.queries.manage_recording(
                ctx.user,
                ctx.where,
                inv.text("meeting"),
                recording_id=recording_id or "",
                action=action,
            )
            return ephemeral(f"Recording {recording_id} of {meeting.title}: {_DONE[action]}.")
        meeting, recordings = await self.queries.recordings(ctx.where, inv.text("meeting"))
        if not recordings:
            return ephemeral(f"{meeting.title} has no recordings yet.")
        lines = [
            f"  {r.recording_id}: {r.url or 'processing'}" + (f" ({r.state})" if r.state else "")
            for r in recordings
        ]
        return ephemeral(f"Recordings of {meeting.title}:\n" + "\n".join(lines))

    async def recording_button(
        self, user: ChatUser, where: Conversation, action: str, meeting_id: str, claim: str
    ) -> list[Reply]:
        """Publish, Unpublish or Delete pressed on a recording's message: what the typed
        --publish/--unpublish/--delete does, with the same checks (moderators only)."""
        self.service.recordings.require(where.tenant)
        posted = await self.service.store.posted_recording(int(claim)) if claim.isdigit() else None
        if posted is None or (meeting_id and posted[0] != meeting_id):
            raise CommandError("That button belongs to no recording I know.")
        mid, recording_id = posted
        meeting = await self.queries.manage_recording(
            user, where, mid, recording_id=recording_id, action=action
        )
        return ephemeral(f"Recording {recording_id} of {meeting.title}: {_DONE[action]}.")

    async def settings(self, ctx: Context) -> list[Reply]:
        inv = ctx.invocation
        reference = inv.text("meeting")
        if inv.flag("defaults"):
            # The defaults of the meeting meant (named, or the channel's one open meeting),
            # else of the workspace's default provider.
            provider = None
            if reference is not None:
                provider = (await self.service.find(ctx.where, reference)).provider
            else:
                here = await self.queries.meetings(
                    ctx.where, all_channels=False, include_ended=False
                )
                if len(here) == 1:
                    provider = here[0].provider
            name, defaults = await self.queries.default_settings(ctx.where, provider)
            return ephemeral(f"{provider_label(name)} defaults:\n{cards.settings_text(defaults)}")
        changes = dict(inv.settings)
        self.service.recordings.refuse_flags(ctx.where.tenant, changes)
        title, welcome = inv.text("title"), inv.text("welcome")
        if not changes and title is None and welcome is None:
            meeting, current = await self.queries.settings(ctx.where, reference)
            return ephemeral(f"Settings of {meeting.title}:\n{cards.settings_text(current)}")
        meeting = await self.service.find(ctx.where, reference, include_ended=False)
        update = RoomUpdate(
            title=title,
            welcome=welcome,
            settings=meeting.room.settings.with_changes(changes) if changes else None,
        )
        meeting = await self.changes.update(ctx.user, ctx.where, meeting.id, update)
        text = f"Updated {meeting.title}:\n{cards.settings_text(meeting.room.settings)}"
        capabilities = self.service.provider_for(meeting).capabilities
        if meeting.state is MeetingState.RUNNING and Capability.LIVE_UPDATE not in capabilities:
            text += (
                f"\n{provider_label(meeting.provider)} keeps the running session as it was; "
                "the changes apply from the next session on."
            )
        return ephemeral(text)

    async def history(self, ctx: Context) -> list[Reply]:
        meeting, sessions = await self.queries.history(ctx.where, ctx.invocation.text("meeting"))
        if not sessions:
            return ephemeral(f"{meeting.title} has not run yet.")
        zone = cards.user_zone(ctx.user)
        lines = []
        for s in sessions:
            started = cards.when(s.started_at, zone) if s.started_at else "?"
            ended = cards.when(s.ended_at, zone) if s.ended_at else "still running"
            lines.append(f"  {s.session_id}: {started} → {ended}")
        return ephemeral(f"Sessions of {meeting.title}:\n" + "\n".join(lines))

    async def remove(self, ctx: Context) -> list[Reply]:
        removed = list(await self.users(ctx, "user"))
        removal = await self.changes.remove(
            ctx.user, ctx.where, ctx.invocation.text("meeting"), removed
        )
        return ephemeral(removal_text(removal))

    async def edit(self, ctx: Context) -> list[Reply]:
        inv = ctx.invocation
        edit = Edit(
            start=inv.moment("start"),
            repeat=inv.text("repeat"),
            remind_minutes=inv.number("remind"),
            duration_minutes=inv.number("duration"),
        )
        meeting = await self.schedules.edit(ctx.user, ctx.where, inv.text("meeting"), edit)
        zone = cards.user_zone(ctx.user)
        schedule = meeting.schedule
        said = [f"{ctx.user.display_name} changed {meeting.title}"]
        if schedule.rrule and schedule.start is not None:
            said.append(describe_rule(schedule.rrule, schedule.start, zone))
        upcoming = await self.service.store.upcoming_start(meeting.id)
        if upcoming is not None:
            said.append(f"next: {cards.when(upcoming, zone)}")
        if schedule.reminder_minutes:
            said.append(f"reminder {schedule.reminder_minutes} min before")
        return [cards.channel_card_reply(meeting, "; ".join(said) + ".", zone)]

    async def cancel(self, ctx: Context) -> list[Reply]:
        inv = ctx.invocation
        done = await self.schedules.cancel(
            ctx.user, ctx.where, inv.text("meeting"), series=inv.flag("series")
        )
        meeting, zone = done.meeting, cards.user_zone(ctx.user)
        if done.series:
            text = f"{ctx.user.display_name} cancelled every occurrence of {meeting.title} to come."
        else:
            text = (
                f"{ctx.user.display_name} cancelled {meeting.title} of "
                f"{cards.when(done.cancelled[0], zone)}."
            )
            upcoming = await self.service.store.upcoming_start(meeting.id)
            if upcoming is not None:
                text += f" Next: {cards.when(upcoming, zone)}."
        return [cards.channel_card_reply(meeting, text, zone)]

    async def delete(self, ctx: Context) -> list[Reply]:
        meeting = await self.changes.delete(ctx.user, ctx.where, ctx.invocation.text("meeting"))
        return [Reply(f"{ctx.user.display_name} deleted {meeting.title}.", Visibility.CHANNEL)]

    async def timezone(self, ctx: Context) -> list[Reply]:
        zone = ctx.invocation.text("zone")
        service = self.service
        try:
            text = await timezone_text(
                service.store, service.policy, ctx.user, zone, service.clock()
            )
        except ValueError as error:  # text that names no one zone: say so, with a suggestion
            raise UsageError(str(error), ctx.invocation.sub.usage()) from None
        return ephemeral(text)
