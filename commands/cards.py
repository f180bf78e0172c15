"""How meetings look in chat: the channel card, the private link card, and times.

Channel cards carry Join/End buttons and never a link: a personal link is minted for whoever
clicks. Link cards are private (EPHEMERAL or DIRECT) by construction of `Reply`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from commands.limits import plural, provider_label
from commands.model import ChatUser, Meeting, MeetingState, RoleDecision
from commands.policy import RolePolicy
from commands.replies import Button, ButtonAction, Card, CardField, Reply, Visibility
from commands.schedule.recurrence import describe_rule, zone_named
from commands.service import EndedSummary, JoinGrant
from commands.spec import SETTING_FLAGS
from providers.base import MeetingSettings, Role

_STATE_WORDS = {
    MeetingState.SCHEDULED: "scheduled",
    MeetingState.RUNNING: "running",
    MeetingState.ENDED: "ended",
}


def user_zone(user: ChatUser) -> tzinfo:
    """The user's time zone, UTC when the platform did not tell us or named an unknown one."""
    return zone_named(user.facts.timezone)


def when(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    label = getattr(zone, "key", None) or local.tzname() or "UTC"
    return f"{local:%a %d %b %Y %H:%M} ({label})"


def meeting_card(
    meeting: Meeting, zone: tzinfo, joined: int | None = None, *, state: str | None = None
) -> Card:
    """The card posted in the channel, updated as the meeting changes state (`state` words
    it differently, e.g. "open" for an occurrence whose time came but nobody is in yet)."""
    fields = [
        CardField("Provider", provider_label(meeting.provider)),
        CardField("Host", meeting.creator_name),
        CardField("State", state or _STATE_WORDS[meeting.state]),
    ]
    schedule = meeting.schedule
    if meeting.state is MeetingState.SCHEDULED and schedule.start is not None:
        fields.append(CardField("Starts", when(schedule.start, zone), moment=schedule.start))
    if schedule.duration_minutes:
        fields.append(CardField("Duration", f"{schedule.duration_minutes} min"))
    if schedule.rrule and schedule.start is not None:
        fields.append(CardField("Repeats", describe_rule(schedule.rrule, schedule.start, zone)))
    if meeting.state is MeetingState.ENDED and meeting.started_at and meeting.ended_at:
        minutes = max(1, round((meeting.ended_at - meeting.started_at).total_seconds() / 60))
        fields.append(CardField("Lasted", f"{minutes} min"))
    if joined is not None:
        fields.append(CardField("Links handed out", str(joined)))
    fields.append(CardField("Id", meeting.id))
    buttons: tuple[Button, ...] = ()
    if meeting.state is not MeetingState.ENDED:
        buttons = (
            Button("Join", ButtonAction.JOIN, meeting_id=meeting.id),
            Button("End", ButtonAction.END, meeting_id=meeting.id, danger=True),
        )
    return Card(meeting.title, tuple(fields), buttons, meeting_id=meeting.id)


def channel_card_reply(
    meeting: Meeting,
    text: str,
    zone: tzinfo,
    joined: int | None = None,
    *,
    state: str | None = None,
) -> Reply:
    return Reply(text, Visibility.CHANNEL, card=meeting_card(meeting, zone, joined, state=state))


def ended_reply(
    meeting: Meeting, headline: str, zone: tzinfo, summary: EndedSummary, ended_by: str
) -> Reply:
    """The card of a meeting that just ended (by a command, the clock, or inside the room):
    `headline`; when it started and ended, how long it ran, who came (as the provider
    reported it) and, apart, how many took a link; who or what ended it; and the next
    occurrence of a series."""
    attendees = summary.attendees
    text = f"{headline}; {plural(summary.links, 'link')} handed out."
    if attendees is not None:
        text += f" Attended: {attendee_words(meeting, attendees)}."
    if meeting.state is MeetingState.SCHEDULED and meeting.schedule.start is not None:
        text += f" Next: {when(meeting.schedule.start, zone)}."
    card = meeting_card(meeting, zone)
    fields = [f for f in card.fields if f.name not in ("Lasted", "Id")]
    start, end = summary.started_at, summary.ended_at
    if start is not None:
        fields.append(CardField("Started", when(start, zone), moment=start))
    if end is not None:
        fields.append(CardField("Ended", when(end, zone), moment=end))
    if start is not None and end is not None:
        fields.append(CardField("Lasted", span_words(end - start)))
    fields.append(CardField("Attendees", attendee_words(meeting, attendees)))
    fields.append(CardField("Links handed out", str(summary.links)))
    fields.append(CardField("Ended by", ended_by))
    fields.append(CardField("Id", meeting.id))
    return Reply(text, Visibility.CHANNEL, card=replace(card, fields=tuple(fields)))


def span_words(span: timedelta) -> str:
    """How long something lasted, as people say it: under 1 min, 45 min, 1 h 05 min."""
    minutes = round(span.total_seconds() / 60)
    if span < timedelta(minutes=1):
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def attendee_words(meeting: Meeting, names: tuple[str, ...] | None, shown: int = 20) -> str:
    """Who came, with how many: "bob, carol (2)"; a long list is cut after `shown` names."""
    if names is None:
        return f"{provider_label(meeting.provider)} does not tell who came"
    if not names:
        return "nobody was seen in it"
    listed = ", ".join(names[:shown])
    if len(names) > shown:
        listed += f" and {len(names) - shown} more"
    return f"{listed} ({len(names)})"


def channel_zone(meeting: Meeting, policy: RolePolicy) -> tzinfo:
    """The zone a channel post's text is written in: the tenant's, else the meeting's own (its
    creator's); cards carry moments each reader's platform shows in their own zone."""
    return zone_named(policy.timezone(meeting.tenant) or meeting.schedule.timezone)


def join_replies(user: ChatUser, grant: JoinGrant) -> list[Reply]:
    """The link privately; and when this join opened the meeting, the channel card says so."""
    replies = link_replies(user, grant)
    if grant.opened:
        text = f"{grant.meeting.title} is open now. Press Join for your link."
        replies.append(channel_card_reply(grant.meeting, text, user_zone(user)))
    return replies


def link_replies(user: ChatUser, grant: JoinGrant) -> list[Reply]:
    """The personal link as a DM, and a private note where the command was typed."""
    meeting, decision = grant.meeting, grant.decision
    card = Card(
        f"Your link to {meeting.title}",
        (
            CardField("Role", decision.role.value),
            CardField("Why", decision.reason),
            CardField("Provider", provider_label(meeting.provider)),
        ),
        (Button("Open meeting", ButtonAction.OPEN, url=grant.link.url),),
        link=grant.link.url,
        meeting_id=meeting.id,
    )
    text = (
        f"Your personal link to {meeting.title}: {grant.link.url}\n"
        f"You join as {role_phrase(decision)}. It is yours alone; please don't share it."
    )
    return [
        Reply(text, Visibility.DIRECT, recipient=user, card=card, secret=True),
        Reply(
            f"I sent you a direct message with your link to {meeting.title}.", Visibility.EPHEMERAL
        ),
    ]


def role_phrase(decision: RoleDecision) -> str:
    return f"{decision.role.value} ({decision.reason})"


def invitation_reply(invitee: ChatUser, meeting: Meeting, inviter: ChatUser, zone: tzinfo) -> Reply:
    """An invitation DM: a Join button, so the link is minted when it is clicked."""
    start = meeting.schedule.start
    when_text = f" at {when(start, zone)}" if start is not None else " now"
    card = Card(
        meeting.title,
        (
            CardField("Invited by", inviter.display_name),
            CardField("Provider", provider_label(meeting.provider)),
            CardField("Id", meeting.id),
        ),
        (Button("Join", ButtonAction.JOIN, meeting_id=meeting.id),),
        meeting_id=meeting.id,
    )
    return Reply(
        f"{inviter.display_name} invites you to {meeting.title}{when_text}. "
        f"Press Join (or type /meet join {meeting.id}) for your personal link.",
        Visibility.DIRECT,
        recipient=invitee,
        card=card,
        fallback_to_invoker=False,
    )


def settings_text(settings: MeetingSettings) -> str:
    flags = {setting: flag for flag, setting in SETTING_FLAGS.items()}
    return "\n".join(
        f"  --{flags[name]}: {'on' if value else 'off'}" for name, value in settings.items()
    )


def role_word(role: Role | None) -> str:
    return role.value if role is not None else "participant"
