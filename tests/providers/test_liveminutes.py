"""LiveMinutes client against its simulator over loopback HTTP, and each error path."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import httpx
import pytest

from providers._http import RetryPolicy
from providers.base import Participant, Role, RoomSpec, RoomState
from providers.errors import (
    ProviderAuthError,
    ProviderInputError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
)
from providers.liveminutes import LiveMinutesClient, MeetingStatus, ParticipantStatus
from providers.simulators._server import SimulatorServer
from providers.simulators.liveminutes import LiveMinutesSimulator

SID, TOKEN = "AC-test-sid", "lm-auth-token-secret"
HOST = Participant("slack:T1:UALICE", "Alice", "alice@example.org")
BOB = Participant("slack:T1:UBOB", "Bob")


@pytest.fixture
async def lm():
    sim = LiveMinutesSimulator(SID, TOKEN)
    async with SimulatorServer(sim) as server:
        client = LiveMinutesClient(
            url=server.url,
            account_sid=SID,
            auth_token=TOKEN,
            timeout=0.5,
            retry=RetryPolicy(attempts=2, base_delay=0),
        )
        try:
            yield sim, server.url, client
        finally:
            await client.aclose()


async def test_every_method_form_encoded_with_basic_auth(lm):
    sim, url, client = lm
    start = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    created = await client.create_meeting(
        "m1",
        "alice",
        title="Algebra",
        lang="en",
        description="d",
        time=start,
        duration=45,
        host_nickname="Alice",
        host_email="a@example.org",
    )
    assert created.meeting_key == "m1"
    assert created.host_url.startswith(url + "/e/LIVE")
    first = sim.requests[0]
    assert first.content_type == "application/x-www-form-urlencoded"
    assert first.authorization == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert first.form["time"] == "2026-12-01 09:30:00"
    assert first.form["duration"] == "45"
    assert first.form["hostnickname"] == "Alice"

    url_added = await client.add_participant("m1", "bob", nickname="Bob", email="b@example.org")
    assert await client.get_participant_url("m1", "bob") == url_added
    assert (await client.get_meeting_url("m1")).startswith(url + "/")
    assert await client.get_meeting_status("m1") is MeetingStatus.START
    assert await client.get_participant_status("m1", "bob") is ParticipantStatus.ACCEPTED
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(url_added)).status_code == 200
    assert await client.get_meeting_status("m1") is MeetingStatus.IN_PROGRESS
    assert await client.get_participant_status("m1", "bob") is ParticipantStatus.IN_PROGRESS
    await client.cancel_participant("m1", "bob")
    with pytest.raises(ProviderRejected):
        await client.get_participant_url("m1", "bob")
    await client.cancel_meeting("m1")
    assert await client.get_meeting_status("m1") is MeetingStatus.FINISHED
    assert {r.method for r in sim.requests} >= {
        "createMeeting",
        "addParticipant",
        "getParticipantUrl",
        "getMeetingUrl",
        "cancelMeeting",
        "cancelParticipant",
        "getMeetingStatus",
        "getParticipantStatus",
    }


async def test_neutral_flow(lm):
    sim, _url, client = lm
    spec = RoomSpec(meeting_id="room-1", tenant="slack:T1", title="Standup", host=HOST)
    room = await client.create_room(spec)
    assert room.host_id == HOST.user_id
    assert room.host_url is not None

    host = await client.join_link(room, HOST, Role.MODERATOR)
    assert (host.url, host.role, host.note) == (room.host_url, Role.MODERATOR, None)
    bob = await client.join_link(room, BOB, Role.MODERATOR)
    assert bob.role is Role.ATTENDEE
    assert "one moderator, the host" in (bob.note or "")
    again = await client.join_link(room, BOB, Role.ATTENDEE)
    assert again.url == bob.url
    assert again.note is None
    assert sim.meetings["room-1"].participants[BOB.user_id].nickname == "Bob"

    assert (await client.status(room)).state is RoomState.WAITING
    async with httpx.AsyncClient() as browser:
        await browser.get(host.url)
        await browser.get(bob.url)
    status = await client.status(room)
    assert status.state is RoomState.RUNNING
    assert status.meeting_url is not None

    attendance = await client.attendance(room, participant_ids=[BOB.user_id, HOST.user_id, "x"])
    assert [(a.user_id, a.present, a.status) for a in attendance] == [
        (BOB.user_id, True, "in the meeting")
    ]
    await client.remove_participant(room, BOB.user_id)
    assert await client.attendance(room, participant_ids=[BOB.user_id]) == []

    await client.end(room)
    assert (await client.status(room)).state is RoomState.ENDED
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(host.url)).status_code == 404


async def test_capabilities_and_unsupported_operations(lm):
    _sim, _url, client = lm
    room = await client.create_room(RoomSpec("r", "slack:T1", "T", HOST))
    for call in (
        client.recordings(room),
        client.sessions(room),
        client.settings(room),
        client.start_session(room, HOST),
        client.default_settings(),
        client.list_rooms(),
    ):
        with pytest.raises(ProviderUnsupported, match="has no"):
            await call
    assert "recordings" not in {c.value for c in client.capabilities}


async def test_wrong_credentials_give_the_documented_resultcode_zero(lm):
    _sim, url, _client = lm
    bad = LiveMinutesClient(url=url, account_sid=SID, auth_token="wrong-token-value")
    try:
        with pytest.raises(ProviderRejected) as caught:
            await bad.create_meeting("m", "alice")
        assert caught.value.key == "resultcode 0"
        assert "AccountSid/AuthToken are wrong, or the meeting" in str(caught.value)
        assert not isinstance(caught.value, ProviderNotFound)
    finally:
        await bad.aclose()


@pytest.mark.parametrize("field", ["hostid", "puid"])
async def test_documented_length_limits_are_checked_before_sending(lm, field):
    sim, _url, client = lm
    long_id = "u" * 51
    call = (
        client.create_meeting("m", long_id)
        if field == "hostid"
        else client.add_participant("m", long_id)
    )
    with pytest.raises(ProviderInputError, match="at most 50"):
        await call
    assert sim.requests == []


async def test_timeout_500_retry_and_malformed(lm):
    sim, _url, client = lm
    await client.create_meeting("m", "alice")
    sim.faults.hang_next = 2
    with pytest.raises(ProviderUnavailable, match="no answer within"):
        await client.get_meeting_status("m")
    sim.faults.fail_next = 1
    assert await client.get_meeting_status("m") is MeetingStatus.START  # retried once
    sim.faults.fail_next = 1
    with pytest.raises(ProviderUnavailable, match="HTTP 500"):
        await client.add_participant("m", "bob")  # not idempotent: never retried
    sim.faults.malformed_next = 1
    with pytest.raises(ProviderProtocolError, match="not JSON"):
        await client.get_meeting_url("m")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"resultcode": 1, "status": "99"}, "unknown status '99'"),
        ({"resultcode": 7}, "unknown resultcode"),
        ({"status": "1"}, "without a resultcode"),
        ([1, 2], "without a resultcode"),
    ],
)
async def test_odd_answers_are_protocol_errors(body, message):
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    async with httpx.AsyncClient(transport=transport) as http:
        client = LiveMinutesClient(
            url="http://lm.test", account_sid=SID, auth_token=TOKEN, client=http
        )
        with pytest.raises(ProviderProtocolError, match=message):
            await client.get_meeting_status("m")


async def test_http_401_is_an_auth_error_and_secrets_never_leak(caplog):
    transport = httpx.MockTransport(lambda request: httpx.Response(401, text=f"bad {TOKEN}"))
    async with httpx.AsyncClient(transport=transport) as http:
        client = LiveMinutesClient(
            url="http://lm.test", account_sid=SID, auth_token=TOKEN, client=http
        )
        with caplog.at_level("DEBUG"), pytest.raises(ProviderAuthError) as caught:
            await client.cancel_meeting("m")
        health = await client.health()
    assert not health.ok
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(client)


async def test_health_against_the_simulator(lm):
    _sim, _url, client = lm
    health = await client.health()
    assert health.ok
    assert "cannot be verified" in (health.detail or "")


async def test_simulator_by_hand_like_curl(lm):
    _sim, url, _client = lm
    async with httpx.AsyncClient(auth=(SID, TOKEN)) as curl:
        made = (
            await curl.post(url + "/createMeeting", data={"meetingKey": "k", "hostid": "h"})
        ).json()
        assert made["resultcode"] == 1
        assert made["meetingKey"] == "k"
        dup = await curl.post(url + "/createMeeting", data={"meetingKey": "k", "hostid": "h"})
        assert dup.json() == {"resultcode": 0}
        assert (await curl.get(url + "/createMeeting")).status_code == 405
        missing = await curl.post(url + "/addParticipant", data={"meetingKey": "k"})
        assert missing.json() == {"resultcode": 0}
    async with httpx.AsyncClient(auth=(SID, "nope")) as curl:
        refused = await curl.post(url + "/getMeetingStatus", data={"meetingKey": "k"})
        assert refused.json() == {"resultcode": 0}
