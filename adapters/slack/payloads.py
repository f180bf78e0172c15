"""The shapes of signed request meetbot acts on, checked before Bolt reads them.

Bolt and our listeners read a payload the way Slack documents it (`body["actions"][0]`,
`team["id"]`); a signed body of another shape (from Slack, or from whoever holds the secret)
would raise inside them: a 500 and an ERROR traceback. We serve `/meet` commands and
`block_actions` (the card buttons), and let Bolt's housekeeping through (`ssl_check`,
`url_verification`); anything else is refused here, with the reason.

Bolt also tells a form from an interaction by looking for the text "payload" anywhere in the
raw body, so `/meet create payload review` would reach it as an empty request; `read` parses
by the form's fields instead, and the endpoint hands Bolt that reading.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

# A slash command has a dozen fields; a form with hundreds is not from Slack.
MAX_FIELDS = 100


class Unreadable(ValueError):
    """The request is not one we act on; the message says why, in a few words."""


def read(text: str, content_type: str | None, command: str) -> dict[str, Any]:
    """The body of a verified request, as Slack meant it, if it has a shape we serve."""
    if content_type == "application/json" or text.startswith("{"):
        body = _object(_json(text))  # what the Events API sends; we serve only its handshake
        if body.get("type") != "url_verification" or not isinstance(body.get("challenge"), str):
            raise Unreadable("not an event meetbot serves")
        return body
    try:
        form = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except ValueError:
        raise Unreadable("too many form fields") from None
    if "payload" in form:
        interaction = _object(_json(form["payload"]))
        _check_interaction(interaction)
        return interaction
    if "ssl_check" not in form:
        _check_command(form, command)
    return dict(form)


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        raise Unreadable("the body is not JSON") from None


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unreadable("the body is not an object")
    return value


def _check_command(body: dict[str, str], command: str) -> None:
    if body.get("command") != command:
        raise Unreadable(f"not a {command} command")
    for field in ("team_id", "user_id", "channel_id", "response_url"):
        if not body.get(field):
            raise Unreadable(f"a command without {field}")


def _check_interaction(payload: dict[str, Any]) -> None:
    if payload.get("type") != "block_actions":
        raise Unreadable("not an interaction meetbot serves")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        raise Unreadable("block_actions without actions")
    for action in actions:
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            raise Unreadable("an action without an action_id")
        if not isinstance(action.get("value", ""), str):
            raise Unreadable("an action whose value is not text")
    user = payload.get("user")
    if not isinstance(user, dict) or not _text(user.get("id")):
        raise Unreadable("block_actions without a user")
    team = payload.get("team")
    if team is not None and not isinstance(team, dict):
        raise Unreadable("block_actions whose team is not an object")
    if not _text((team or {}).get("id")) and not _text(user.get("team_id")):
        raise Unreadable("block_actions without a team")
    channel = payload.get("channel")
    if channel is not None and not (isinstance(channel, dict) and _text(channel.get("id"))):
        raise Unreadable("block_actions whose channel has no id")
    if not _text(payload.get("response_url")):
        raise Unreadable("block_actions without a response_url")


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)
