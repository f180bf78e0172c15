"""Hostile traffic at the Slack HTTP endpoint, on the real Bolt app with real signed requests.

Forged, replayed and malformed requests, and fuzzed payload fields sent correctly signed (as if
Slack itself sent something odd). Whatever arrives, the endpoint never answers 5xx, never logs
an ERROR, refuses unsigned traffic with at most one quiet line each, and nothing the fake Slack
receives carries a live mention or a join link outside a DM or an ephemeral answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.adapters.fake_slack import Call, blocks_text
from tests.adapters.slack_rig import SECRET, SlackRig, open_rig, signed_headers

FORM = "application/x-www-form-urlencoded"
SERVER_LOGGERS = ("meetbot", "slack_bolt", "slack_sdk", "aiohttp")
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,31}")
LIVE_MENTION = re.compile(r"<!(?:channel|here|everyone)|<@[UW]|<!subteam\^", re.IGNORECASE)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[SlackRig]:
    async with open_rig(tmp_path) as running:
        yield running


def sign_bytes(body: bytes, timestamp: str | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def provider_origins(rig: SlackRig) -> list[str]:
    return [urlsplit(server.url).netloc for server in rig.bench.sims.servers.values()]


def leaks(rig: SlackRig, calls: list[Call], invoker: object = None) -> list[str]:
    """What must never reach Slack: a live mention anywhere, a join link in the channel, a
    DM to someone who is no Slack user (`@everyone` typed out)."""
    found = []
    origins = provider_origins(rig)
    for call in calls:
        invited = str(call.params.get("users"))
        if (
            call.method == "conversations.open"
            and invited != invoker
            and not SLACK_USER.fullmatch(invited)
        ):
            found.append(f"a DM opened for {call.params.get('users')!r}, no Slack user")
        if call.method not in ("chat.postMessage", "chat.update", "response_url"):
            continue
        shown = blocks_text(call.params)
        if LIVE_MENTION.search(shown):
            found.append(f"live mention in {call.method}: {shown[:300]}")
        posted_to = str(call.params.get("channel"))
        # A DM: to a user id (Slack's DM with the app) or to a D... id conversations.open gave.
        dm = posted_to.startswith("D") or bool(SLACK_USER.fullmatch(posted_to))
        private = (call.method == "chat.postMessage" and dm) or (
            call.method == "response_url" and call.params.get("response_type") == "ephemeral"
        )
        if not private and any(origin in shown for origin in origins):
            found.append(f"join link outside a DM in {call.method}: {shown[:300]}")
    return found


def errors_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.name.startswith(SERVER_LOGGERS) and r.levelno >= logging.ERROR
    ]


async def settled(rig: SlackRig) -> None:
    await rig.adapter.drained()


# -- forged ---------------------------------------------------------------------------------


def _forgeries(rig: SlackRig) -> dict[str, tuple[str, dict[str, str]]]:
    body = rig.command_body("create Forged")
    good = signed_headers(body)
    other = signed_headers(rig.command_body("create Other"))
    return {
        "wrong secret": (body, signed_headers(body, secret="not-the-secret")),
        "tampered body": (body, {**good, "X-Slack-Signature": other["X-Slack-Signature"]}),
        "no headers": (body, {"Content-Type": good["Content-Type"]}),
        "no signature": (body, {k: v for k, v in good.items() if k != "X-Slack-Signature"}),
        "no timestamp": (
            body,
            {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"},
        ),
        "signature version v1": (
            body,
            {**good, "X-Slack-Signature": "v1=" + good["X-Slack-Signature"][3:]},
        ),
        "upper-case hex": (
            body,
            {**good, "X-Slack-Signature": "v0=" + good["X-Slack-Signature"][3:].upper()},
        ),
        "empty signature": (body, {**good, "X-Slack-Signature": ""}),
        "stale": (body, signed_headers(body, timestamp=int(time.time()) - 301)),
        "from the future": (body, signed_headers(body, timestamp=int(time.time()) + 310)),
        "fractional timestamp": (body, signed_headers(body, timestamp=f"{int(time.time())}.0")),
    }


async def test_forged_requests_are_401_and_do_nothing(
    rig: SlackRig, caplog: pytest.LogCaptureFixture
):
    # One rig for all of them (each case is a request, not a rig): problems are collected
    # by case, so a failure names every forgery that got through.
    caplog.set_level(logging.DEBUG)
    problems = []
    for name, (body, headers) in _forgeries(rig).items():
        caplog.clear()
        answer = await rig.send(body, headers)
        await settled(rig)
        ours = [r for r in caplog.records if r.name.startswith(SERVER_LOGGERS)]
        if answer.status_code != 401:
            problems.append(f"{name}: answered {answer.status_code}")
        if errors_in(caplog) or len(ours) > 1:
            problems.append(f"{name}: logged {[r.getMessage()[:100] for r in ours]}")
    assert problems == []
    assert rig.fake.calls == []
    assert await rig.bench.store.find_meetings(rig.bench.channel.tenant) == []


async def test_a_flood_of_forgeries_logs_no_warning_and_one_info_per_kind(
    rig: SlackRig, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    forgeries = list(_forgeries(rig).values())
    for _ in range(10):
        answers = await asyncio.gather(*(rig.send(*forgery) for forgery in forgeries))
        assert {a.status_code for a in answers} == {401}
    ours = [r for r in caplog.records if r.name.startswith(SERVER_LOGGERS)]
    assert len(ours) <= 10 * len(forgeries)
    assert [r for r in ours if r.levelno >= logging.WARNING] == []
    infos = [r.getMessage() for r in ours if r.levelno == logging.INFO]
    assert len(infos) <= len(forgeries), infos
    assert rig.fake.calls == []


# -- replayed -------------------------------------------------------------------------------


async def test_a_replayed_command_and_a_replayed_click_are_refused(rig: SlackRig):
    create = rig.command_body("create Replay")
    create_headers = signed_headers(create)
    assert (await rig.send(create, create_headers)).status_code == 200
    await rig.fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)
    [meeting] = await rig.bench.store.find_meetings(rig.bench.channel.tenant)

    click = rig.click_body("meet_join", meeting.id, "UBOB")
    click_headers = signed_headers(click)
    assert (await rig.send(click, click_headers)).status_code == 200
    await rig.fake.wait_until(lambda: len(rig.dm_to("UBOB")) == 1)

    replays = await asyncio.gather(
        *(rig.send(create, create_headers) for _ in range(5)),
        *(rig.send(click, click_headers) for _ in range(5)),
    )
    await settled(rig)
    assert {r.status_code for r in replays} == {401}
    assert {r.headers.get("X-Slack-No-Retry") for r in replays} == {"1"}
    assert len(await rig.bench.store.find_meetings(rig.bench.channel.tenant)) == 1
    assert len(rig.dm_to("UALICE")) == 1
    assert len(rig.dm_to("UBOB")) == 1


# -- malformed (correctly signed: as if Slack sent it) ------------------------------------------


def _payload(rig: SlackRig, value: object) -> bytes:
    return urlencode({"payload": json.dumps(value)}).encode()


def _malformed(rig: SlackRig) -> dict[str, bytes]:
    respond = f"{rig.fake.url}/respond/x"
    button = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "UBOB", "username": "bob", "team_id": "T1"},
        "channel": {"id": "C1"},
        "response_url": respond,
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "meet_join", "value": "nope", "type": "button"}],
    }
    return {
        "not a form": b"%%%&&&===",
        "bad percent escapes": b"command=%2Fmeet&text=%zz%&user_id=%",
        "not UTF-8": b"command=/meet&text=\xff\xfe",
        "empty body": b"",
        "payload not JSON": b"payload=not-json",
        "payload a list": _payload(rig, [1, 2]),
        "payload a string": _payload(rig, "block_actions"),
        "payload null": _payload(rig, None),
        "payload nested deep": urlencode({"payload": "[" * 50_000}).encode(),
        "json body a list": b"[1, 2, 3]",
        "json body broken": b"{not json",
        "command without fields": b"command=%2Fmeet",
        "command without user": urlencode(
            {"command": "/meet", "text": "create X", "team_id": "T1", "channel_id": "C1"}
        ).encode(),
        "unknown command": urlencode(
            {"command": "/other", "text": "x", "team_id": "T1", "user_id": "U1"}
        ).encode(),
        "actions missing": _payload(rig, {**button, "actions": None}),
        "actions empty": _payload(rig, {**button, "actions": []}),
        "actions a dict": _payload(rig, {**button, "actions": {"action_id": "meet_join"}}),
        "actions of numbers": _payload(rig, {**button, "actions": [42]}),
        "action id a number": _payload(rig, {**button, "actions": [{"action_id": 7}]}),
        "unknown action id": _payload(
            rig, {**button, "actions": [{"action_id": "meet_explode", "value": "x"}]}
        ),
        "value an object": _payload(
            rig, {**button, "actions": [{"action_id": "meet_join", "value": {"a": 1}}]}
        ),
        "team a string": _payload(rig, {**button, "team": "T1"}),
        "user a list": _payload(rig, {**button, "user": ["UBOB"]}),
        "user missing": _payload(rig, {k: v for k, v in button.items() if k != "user"}),
        "channel a number": _payload(rig, {**button, "channel": 5}),
        "type unknown": _payload(rig, {**button, "type": "self_destruct"}),
        "type a number": _payload(rig, {**button, "type": 3}),
        "view submission": _payload(rig, {"type": "view_submission", "view": None}),
        "event callback": json.dumps({"type": "event_callback", "event": "x"}).encode(),
        "huge text": urlencode(
            {
                "command": "/meet",
                "text": "create " + "A" * 900_000,
                "team_id": "T1",
                "user_id": "UALICE",
                "channel_id": "C1",
                "response_url": respond,
            }
        ).encode(),
        "many fields": b"&".join([b"a=1"] * 100_000),
    }


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
async def test_malformed_requests_are_never_a_5xx_or_an_error(
    rig: SlackRig, caplog: pytest.LogCaptureFixture, signed: bool
):
    caplog.set_level(logging.DEBUG)
    problems = []
    for name, body in _malformed(rig).items():
        headers = sign_bytes(body) if signed else {"Content-Type": FORM}
        if body.startswith((b"[", b"{")):
            headers["Content-Type"] = "application/json"
        caplog.clear()
        before = len(rig.fake.calls)
        answer = await rig.send(body, headers)
        await settled(rig)
        calls = rig.fake.calls[before:]
        if answer.status_code >= 500 or (not signed and answer.status_code != 401):
            problems.append(f"{name}: answered {answer.status_code} {answer.text[:100]}")
        problems += [f"{name}: {line}" for line in errors_in(caplog) + leaks(rig, calls)]
        if not signed and calls:
            problems.append(f"{name}: unsigned, yet called {[c.method for c in calls]}")
    assert problems == []


async def test_an_enormous_body_is_refused_before_it_is_read_whole(rig: SlackRig, caplog):
    body = b"command=%2Fmeet&text=" + b"A" * (2 * 1024 * 1024)
    caplog.set_level(logging.DEBUG)
    for headers in (sign_bytes(body), {"Content-Type": "application/x-www-form-urlencoded"}):
        answer = await rig.send(body, headers)
        assert answer.status_code == 413
    assert errors_in(caplog) == []
    assert rig.fake.calls == []


# -- fuzzed fields, correctly signed ------------------------------------------------------------


class Looped:
    # Not a dataclass: hypothesis prints those field by field with a failing example.
    def __init__(self, loop: asyncio.AbstractEventLoop, rig: SlackRig, meeting_id: str) -> None:
        self.loop, self.rig, self.meeting_id = loop, rig, meeting_id

    def __repr__(self) -> str:
        return "<Slack rig on its own loop>"


@pytest.fixture
def looped(tmp_path: Path) -> Iterator[Looped]:
    """A rig on a loop of its own, for hypothesis (which drives a synchronous test), with one
    meeting already open so that fuzzed buttons can press on something real."""
    loop = asyncio.new_event_loop()
    opened = open_rig(tmp_path)
    rig = loop.run_until_complete(opened.__aenter__())
    try:

        async def prepare() -> str:
            await rig.command("create Target --invite <@UBOB|bob>")
            await rig.fake.wait_until(lambda: len(rig.dm_to("UALICE")) == 1)
            await rig.adapter.drained()
            [meeting] = await rig.bench.store.find_meetings(rig.bench.channel.tenant)
            return meeting.id

        meeting_id = loop.run_until_complete(prepare())
        yield Looped(loop, rig, meeting_id)
    finally:
        loop.run_until_complete(opened.__aexit__(None, None, None))
        loop.close()


@contextmanager
def watching_errors() -> Iterator[list[logging.LogRecord]]:
    """ERROR records of the server's loggers, while the block runs."""
    found: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name.startswith(SERVER_LOGGERS):
                found.append(record)

    handler = Keep(logging.ERROR)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield found
    finally:
        root.removeHandler(handler)


_sent = itertools.count()


def run_signed(looped: Looped, body: bytes, content_type: str, invoker: object) -> None:
    loop, rig = looped.loop, looped.rig
    # Hypothesis repeats examples: a timestamp of its own keeps each a request, not a replay.
    timestamp = str(int(time.time()) - next(_sent) % 250)

    async def go() -> httpx.Response:
        headers = {**sign_bytes(body, timestamp), "Content-Type": content_type}
        answer = await rig.send(body, headers)
        await rig.adapter.drained()
        return answer

    before = len(rig.fake.calls)
    with watching_errors() as errors:
        answer = loop.run_until_complete(go())
    assert answer.status_code < 500, answer.text[:200]
    assert [f"{r.name}: {r.getMessage()[:300]}" for r in errors] == []
    assert leaks(rig, rig.fake.calls[before:], invoker) == []


MENTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@UBOB>",
    "<@UBOB|bob>",
    "<@W123ABC>",
    "<!subteam^S123|@team>",
    "@everyone",
    "@here",
    "@bob",
    "<http://evil.example|click>",
    "&lt;!channel&gt;",
    '"',
    "--invite",
    "--start",
    "--welcome",
    "\u2014invite",
]
SUBCOMMANDS = ["create", "join", "end", "list", "status", "settings", "remove", "help", "history"]

words = st.one_of(st.text(max_size=24), st.sampled_from(MENTIONS))
phrases = st.lists(words, max_size=6).map(" ".join)
command_text = st.one_of(
    st.text(max_size=200),
    st.builds(lambda sub, rest: f"{sub} {rest}", st.sampled_from(SUBCOMMANDS), phrases),
    # A title full of mentions and markup, on a command that posts it to the channel.
    st.builds(
        lambda title, rest: f'create "{title}" {rest}',
        st.lists(words, min_size=1, max_size=4).map(" ".join),
        st.sampled_from(["", "--provider vconnct", "--start tomorrow", "--welcome <!here>"]),
    ),
    # People to invite: Slack's <@U…|name>, and things that only look like mentions.
    st.builds(
        lambda who: f"create Invites --invite {who}",
        st.lists(
            st.one_of(st.sampled_from(MENTIONS), st.from_regex(r"@\w{1,8}", fullmatch=True)),
            min_size=1,
            max_size=3,
        ).map(" ".join),
    ),
)
slack_ids = st.one_of(
    st.sampled_from(["UALICE", "UBOB", "T1", "C1", "", "D1", "everyone"]),
    st.from_regex(r"[UWTCD][A-Z0-9]{1,11}", fullmatch=True),
    st.text(max_size=40),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30))
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@FUZZ
@given(
    text=command_text,
    user_id=slack_ids,
    team_id=slack_ids,
    channel_id=slack_ids,
    user_name=st.text(max_size=40),
)
@example(
    text="create Invites --invite @everyone <@UBOB|bob>",
    user_id="UALICE",
    team_id="T1",
    channel_id="C1",
    user_name="alice",
)
def test_fuzzed_slash_commands(looped, text, user_id, team_id, channel_id, user_name):
    rig = looped.rig
    body = urlencode(
        {
            "command": "/meet",
            "text": text,
            "team_id": team_id,
            "user_id": user_id,
            "user_name": user_name,
            "channel_id": channel_id,
            "trigger_id": "1.2.3",
            "response_url": f"{rig.fake.url}/respond/fuzz",
        }
    ).encode()
    run_signed(looped, body, "application/x-www-form-urlencoded", invoker=user_id)


BUTTON_FIELDS = ["type", "team", "user", "channel", "actions"]


@FUZZ
@given(data=st.data())
def test_fuzzed_button_payloads(looped, data):
    rig, meeting_id = looped.rig, looped.meeting_id
    action = st.fixed_dictionaries(
        {
            "action_id": st.one_of(
                st.sampled_from(["meet_join", "meet_end", "meet_open"]), st.text(max_size=20)
            ),
            "value": st.one_of(st.just(meeting_id), st.text(max_size=40)),
        },
        optional={"type": st.sampled_from(["button", "static_select"]), "block_id": st.text()},
    )
    shaped = {
        "type": st.just("block_actions"),
        "team": st.fixed_dictionaries({"id": slack_ids}, optional={"domain": st.text()}),
        "user": st.fixed_dictionaries(
            {"id": slack_ids}, optional={"username": st.text(max_size=20), "team_id": slack_ids}
        ),
        "channel": st.fixed_dictionaries({"id": slack_ids}, optional={"name": st.text()}),
        "actions": st.lists(action, min_size=1, max_size=2),
    }
    # Most examples keep Slack's shape with fuzzed values inside; the others break one field.
    broken = data.draw(st.sampled_from([None, None, None, *BUTTON_FIELDS]), label="broken")
    payload: dict[str, object] = {
        field: data.draw(json_values if field == broken else strategy, label=field)
        for field, strategy in shaped.items()
    }
    payload["response_url"] = f"{rig.fake.url}/respond/fuzz"
    payload["trigger_id"] = "1.2.3"
    body = urlencode({"payload": json.dumps(payload)}).encode()
    user = payload["user"]
    invoker = user.get("id") if isinstance(user, dict) else None
    run_signed(looped, body, "application/x-www-form-urlencoded", invoker)


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_fuzzed_raw_bodies(looped, body):
    content_type = (
        "application/json" if body[:1] in (b"{", b"[") else "application/x-www-form-urlencoded"
    )
    run_signed(looped, body, content_type, invoker=None)
