"""Which signed bodies reach Bolt, and how they are read (without Bolt's "payload" guess)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from adapters.slack.payloads import Unreadable, read

COMMAND = {
    "command": "/meet",
    "text": "create payload review",
    "team_id": "T1",
    "user_id": "U1",
    "channel_id": "C1",
    "response_url": "https://hooks.slack.com/commands/x",
}
BUTTON = {
    "type": "block_actions",
    "team": {"id": "T1"},
    "user": {"id": "U1"},
    "channel": {"id": "C1"},
    "response_url": "https://hooks.slack.com/actions/x",
    "actions": [{"action_id": "meet_join", "value": "m1"}],
}


def form(fields: dict[str, str]) -> str:
    return urlencode(fields)


def interaction(payload: object) -> str:
    return urlencode({"payload": json.dumps(payload)})


def test_a_command_that_says_payload_is_read_as_the_command():
    assert read(form(COMMAND), "application/x-www-form-urlencoded", "/meet") == COMMAND


def test_a_button_press_is_its_payload():
    assert read(interaction(BUTTON), None, "/meet") == BUTTON


def test_bolts_handshakes_pass():
    assert read(form({"ssl_check": "1", "token": "x"}), None, "/meet")["ssl_check"] == "1"
    handshake = json.dumps({"type": "url_verification", "challenge": "c"})
    assert read(handshake, "application/json", "/meet")["challenge"] == "c"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (form({**COMMAND, "command": "/other"}), "not a /meet command"),
        (form({k: v for k, v in COMMAND.items() if k != "response_url"}), "without response_url"),
        ("&".join(["a=1"] * 101), "too many form fields"),
        ("payload=" + "[" * 100_000, "not JSON"),
        (interaction([BUTTON]), "not an object"),
        (interaction({**BUTTON, "type": "view_submission"}), "not an interaction"),
        (interaction({**BUTTON, "actions": []}), "without actions"),
        (interaction({**BUTTON, "actions": [{"value": "m1"}]}), "without an action_id"),
        (interaction({**BUTTON, "actions": [{"action_id": "a", "value": 1}]}), "not text"),
        (interaction({**BUTTON, "user": "U1"}), "without a user"),
        (interaction({**BUTTON, "team": "T1"}), "team is not an object"),
        (interaction({**BUTTON, "team": None}), "without a team"),
        (interaction({**BUTTON, "channel": {"name": "x"}}), "channel has no id"),
        (json.dumps({"type": "event_callback"}), "not an event meetbot serves"),
    ],
)
def test_other_shapes_are_refused_with_the_reason(body, reason):
    with pytest.raises(Unreadable, match=reason):
        read(body, None, "/meet")


def test_a_team_may_come_from_the_user_alone():
    press = {**BUTTON, "team": None, "user": {"id": "U1", "team_id": "T1"}}
    assert read(interaction(press), None, "/meet") == press
