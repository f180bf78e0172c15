"""Replies as Slack messages: Block Kit blocks and notification text, escaped and within limits.

All text goes out as mrkdwn passed through `escape_slack`, so user text can neither mention
anyone (`<!channel>`, `<@U1>`) nor inject links. Buttons carry the meeting id in `value`; the
link of a private card is an "Open meeting" URL button (which Slack still sends us, to ack).
A recording's buttons carry `MEETING:N`, N the number of the posted recording.
"""

from __future__ import annotations

from typing import Any

from commands.render import escape_slack, truncate
from commands.replies import ButtonAction, Card, CardField, Reply

ACTION_IDS = {
    ButtonAction.JOIN: "meet_join",
    ButtonAction.END: "meet_end",
    ButtonAction.OPEN: "meet_open",
    ButtonAction.PUBLISH_RECORDING: "meet_recording_publish",
    ButtonAction.UNPUBLISH_RECORDING: "meet_recording_unpublish",
    ButtonAction.DELETE_RECORDING: "meet_recording_delete",
}
ACTION_BY_ID = {action_id: action for action, action_id in ACTION_IDS.items()}

# Slack's limits: section text 3000, a field 2000, at most 10 fields, button text 75,
# button value 2000, url 3000; message text is cut at 40000 but shorter reads better.
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
BUTTON_TEXT_LIMIT = 75


def text_of(reply: Reply) -> str:
    """The message's plain `text`: what notifications and screen readers show."""
    return truncate(escape_slack(reply.text), SECTION_LIMIT)


def blocks_of(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [_section(escape_slack(reply.text))]
    if reply.card is not None:
        blocks += card_blocks(reply.card)
    return blocks


def _field_value(field: CardField) -> str:
    if field.moment is None:
        return escape_slack(field.value)
    # Slack shows a date token in each reader's own time zone; the text after | is the fallback
    # (it cannot hold | or >, which our own date text never does).
    epoch = int(field.moment.timestamp())
    fallback = escape_slack(field.value).replace("|", "/")
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"


def card_blocks(card: Card) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "divider"}, _section(f"*{escape_slack(card.title)}*")]
    fields = [
        {
            "type": "mrkdwn",
            "text": truncate(f"*{escape_slack(f.name)}*\n{_field_value(f)}", FIELD_LIMIT),
        }
        for f in card.fields[:MAX_FIELDS]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    buttons = [
        _button(b.label, b.action, button_value(b.meeting_id, b.value), b.url, b.danger)
        for b in card.buttons
    ]
    if buttons:
        block_id = f"meet:{card.meeting_id}" if card.meeting_id else "meet"
        blocks.append({"type": "actions", "block_id": block_id, "elements": buttons})
    return blocks


def button_value(meeting_id: str | None, value: str | None) -> str | None:
    if meeting_id and value:
        return f"{meeting_id}:{value}"
    return meeting_id


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def _button(
    label: str, action: ButtonAction, meeting_id: str | None, url: str | None, danger: bool
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(label, BUTTON_TEXT_LIMIT)},
        "action_id": ACTION_IDS[action],
    }
    if meeting_id:
        button["value"] = meeting_id
    if url:
        button["url"] = url
    if action is ButtonAction.JOIN:
        button["style"] = "primary"
    elif danger:
        button["style"] = "danger"
    return button
