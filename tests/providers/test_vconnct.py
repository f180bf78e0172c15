"""VConnct client against its simulator over loopback HTTP: all twelve endpoints, each error."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from providers._http import ProviderRequest, ProviderResponse, RetryPolicy
from providers.base import (
    SETTING_NAMES,
    MeetingSettings,
    Participant,
    Role,
    RoomSpec,
    RoomState,
    RoomUpdate,
)
from providers.errors import (
    ProviderAuthError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
)
from providers.simulators._server import SimulatorServer
from providers.simulators.vconnct import VConnctSimulator
from providers.vconnct import VConnctClient
from tests.providers.transport import HandTransport, path, reply

LICENSE = "vc-license-key-secret"
ALICE = Participant("slack:T1:UALICE", "Alice")
BOB = Participant("slack:T1:UBOB", "Bob O'Neil")


@pytest.fixture
async def vc():
    sim = VConnctSimulator(LICENSE)
    async with SimulatorServer(sim) as server:
        client = VConnctClient(
            url=server.url,
            license=LICENSE,
            language="ar",
            timeout=0.5,
            retry=RetryPolicy(attempts=2, base_delay=0),
        )
        try:
            yield sim, server.url, client
        finally:
            await client.aclose()


async def test_every_endpoint(vc):
    sim, url, client = vc
    settings = MeetingSettings(record=True, lock_settings_disable_mic=True)
    created = await client.create_meeting(
        settings, title="Algebra", moderator_password="modpw", welcome_text="hi"
    )
    assert created.settings == settings
    assert sim.last_headers["license"] == LICENSE
    assert sim.last_headers["Accept-Language"] == "ar"
    sent = sim.last_body["meeting_setting"]
    assert [s["setting"] for s in sent] == list(SETTING_NAMES)
    assert all(isinstance(s["value"], bool) for s in sent)

    mid = created.meeting_id
    assert await client.list_setting(mid) == settings
    assert await client.list_general_meeting_setting() == MeetingSettings(
        allow_start_stop_recording=False
    )
    updated = await client.update_meeting(
        mid,
        settings.with_changes({"record": False}),
        title="Algebra II",
        moderator_password="modpw",
    )
    assert updated.title == "Algebra II"
    assert not (await client.list_setting(mid)).record
    await client.update_meeting(mid, settings, moderator_password="modpw")

    moderator_url = await client.start_meeting(
        mid, "Alice", attendee_password="attpw", moderator_password="modpw"
    )
    assert moderator_url.startswith(url + "/api/join?fullName=Alice")
    viewer_url = await client.join(mid, "Bob", "viewer", password="attpw")
    assert "password=attpw" in viewer_url
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(viewer_url)).status_code == 200
    meetings = await client.list_meetings()
    assert [(m.meeting_id, m.is_running) for m in meetings] == [(mid, True)]
    sessions = await client.list_sessions(mid)
    assert len(sessions) == 1
    assert [a.full_name for a in await client.list_attendance(sessions[0].session_id)] == ["Bob"]
    with pytest.raises(ProviderRejected, match="running meeting cannot be deleted"):
        await client.delete_scheduled_meeting(mid)
    await client.end_meeting(mid)
    record = await client.get_record(sessions[0].session_id)
    assert record.startswith(url + "/playback/presentation/2.3/")
    await client.delete_scheduled_meeting(mid)
    assert await client.list_meetings() == []


async def test_neutral_flow(vc):
    _sim, _url, client = vc
    spec = RoomSpec(
        "ours-1", "slack:T1", "Physics", ALICE, MeetingSettings(record=True), welcome="Welcome"
    )
    room = await client.create_room(spec)
    assert room.moderator_password
    assert (await client.status(room)).state is RoomState.WAITING
    assert await client.attendance(room) == []

    started = await client.start_session(room, ALICE)
    room = started.room
    assert started.moderator_url is not None
    assert room.attendee_password
    assert room.session_id is not None

    mod = await client.join_link(room, ALICE, Role.MODERATOR)
    att = await client.join_link(room, BOB, Role.ATTENDEE)
    assert room.moderator_password in mod.url
    assert room.moderator_password not in att.url
    async with httpx.AsyncClient() as browser:
        await browser.get(mod.url)
        await browser.get(att.url)
    assert (await client.status(room)).state is RoomState.RUNNING
    assert sorted(a.name for a in await client.attendance(room)) == ["Alice", "Bob O'Neil"]
    assert [s.session_id for s in await client.sessions(room)] == [room.session_id]

    await client.end(room)
    ended = await client.status(room)
    assert ended.state is RoomState.ENDED, "the session we started has ended"
    assert ended.ended_at is not None
    recordings = await client.recordings(room)
    assert [r.session_id for r in recordings] == [room.session_id]

    room = await client.update_room(
        room,
        RoomUpdate(title="Physics 2", settings=MeetingSettings(lock_settings_disable_cam=True)),
    )
    assert (await client.settings(room)).lock_settings_disable_cam
    assert room.title == "Physics 2"
    assert [r.title for r in await client.list_rooms()] == ["Physics 2"]
    await client.delete_room(room)
    assert (await client.status(room)).state is RoomState.ABSENT
    assert (await client.health()).ok
    with pytest.raises(ProviderUnsupported):
        await client.remove_participant(room, "x")


async def test_wrong_join_password_is_rejected_verbatim(vc):
    _sim, _url, client = vc
    room = await client.create_room(RoomSpec("o", "t", "T", ALICE))
    room = (await client.start_session(room, ALICE)).room
    with pytest.raises(ProviderRejected) as caught:
        await client.join(room.room_id, "Eve", "moderator", password="guess")
    assert caught.value.provider_message == "the moderator password is wrong"
    assert caught.value.key == "400"


async def test_bad_license_unknown_meeting_timeout_500_malformed(vc, caplog):
    sim, url, client = vc
    bad = VConnctClient(url=url, license="not-the-license")
    try:
        with pytest.raises(ProviderAuthError, match="invalid or expired license"):
            await bad.list_meetings()
        assert not (await bad.health()).ok
    finally:
        await bad.aclose()
    with pytest.raises(ProviderNotFound, match="does not exist"):
        await client.list_sessions("0db9ac9d-0000-0000-0000-000000000000")
    sim.faults.hang_next = 2
    with pytest.raises(ProviderUnavailable, match="no answer within"):
        await client.list_meetings()
    sim.faults.fail_next = 1
    assert await client.list_meetings() == []  # a GET is retried after one 500
    sim.faults.fail_next = 1
    with pytest.raises(ProviderUnavailable, match="HTTP 500"):
        await client.create_meeting(MeetingSettings())  # a POST is not
    assert sim.meetings == {}
    sim.faults.malformed_next = 1
    with (
        caplog.at_level("DEBUG"),
        pytest.raises(ProviderProtocolError, match="without the envelope"),
    ):
        await client.list_meetings()
    assert LICENSE not in caplog.text
    assert LICENSE not in repr(client)


async def test_configured_join_path_is_used():
    seen: list[str] = []

    def answer(request: ProviderRequest) -> ProviderResponse:
        seen.append(path(request))
        body = {"status": True, "status_code": 200, "message": "success", "data": {"url": "u"}}
        return reply(200, json=body)

    async with HandTransport(answer) as http:
        client = VConnctClient(
            url="http://vc.test", license=LICENSE, transport=http, join_path="api/v1/join_meeting"
        )
        await client.join("m", "Bob", "viewer")
    assert seen == ["/api/v1/join_meeting/"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
async def test_the_envelope_is_read_in_every_encoding_json_allows(encoding: str):
    body = {"status": True, "status_code": 200, "message": "ok", "data": {"url": "https://ü"}}
    content = json.dumps(body, ensure_ascii=False).encode(encoding)
    async with HandTransport(lambda _r: reply(200, content=content)) as http:
        client = VConnctClient(url="http://vc.test", license=LICENSE, transport=http)
        assert await client.join("m", "Bob", "viewer") == "https://ü"


@pytest.mark.parametrize("content", [b"", b"nope", b"[]", b'{"data": 1}', b"\xff\xfe"])
async def test_a_body_without_the_envelope_is_a_protocol_error(content: bytes):
    async with HandTransport(lambda _r: reply(200, content=content)) as http:
        client = VConnctClient(url="http://vc.test", license=LICENSE, transport=http)
        with pytest.raises(ProviderProtocolError, match="without the envelope"):
            await client.join("m", "Bob", "viewer")


async def test_license_echoed_by_the_server_is_redacted():
    def answer(request: ProviderRequest) -> ProviderResponse:
        body = {
            "status": False,
            "status_code": 400,
            "message": "error",
            "error_messages": [f"license {LICENSE} has expired rooms"],
        }
        return reply(400, json=body)

    async with HandTransport(answer) as http:
        client = VConnctClient(url="http://vc.test", license=LICENSE, transport=http)
        with pytest.raises(ProviderRejected) as caught:
            await client.list_meetings()
    assert LICENSE not in str(caught.value)
    assert "license *** has expired rooms" in caught.value.provider_message


async def test_simulator_by_hand_like_curl(vc):
    _sim, url, _client = vc
    nine = [{"setting": n, "value": False} for n in SETTING_NAMES[:-1]]
    async with httpx.AsyncClient(headers={"license": LICENSE}) as curl:
        answer = await curl.post(
            url + "/api/v1/create_meeting/", json={"title": "x", "meeting_setting": nine}
        )
        assert answer.status_code == 400
        assert answer.json()["error_messages"] == [f"setting {SETTING_NAMES[-1]} is required"]
        wrong_type = [*nine, {"setting": SETTING_NAMES[-1], "value": "yes"}]
        answer = await curl.post(
            url + "/api/v1/create_meeting/", json={"meeting_setting": wrong_type}
        )
        assert "must be true or false" in answer.json()["error_messages"][0]
    async with httpx.AsyncClient() as curl:
        answer = await curl.get(url + "/api/v1/list_meetings/")
        assert answer.status_code == 401
        assert answer.json()["status"] is False
    assert json.loads(json.dumps(answer.json()))["status_code"] == 401


# Each of the twelve seed endpoints, called with ids that exist, so that only the injected fault
# decides the outcome.
Endpoint = Callable[[VConnctClient, str, str], Awaitable[object]]
ENDPOINTS: dict[str, Endpoint] = {
    "create_meeting": lambda c, _m, _s: c.create_meeting(MeetingSettings(), title="x"),
    "update_meeting": lambda c, m, _s: c.update_meeting(m, MeetingSettings(), title="y"),
    "start_meeting": lambda c, m, _s: c.start_meeting(m, "Alice", moderator_password="modpw"),
    "join": lambda c, m, _s: c.join(m, "Bob", "viewer", password="attpw"),
    "end_meeting": lambda c, m, _s: c.end_meeting(m),
    "delete_scheduled_meeting": lambda c, m, _s: c.delete_scheduled_meeting(m),
    "list_sessions": lambda c, m, _s: c.list_sessions(m),
    "list_meetings": lambda c, _m, _s: c.list_meetings(),
    "list_attendance": lambda c, _m, s: c.list_attendance(s),
    "list_setting": lambda c, m, _s: c.list_setting(m),
    "list_general_meeting_setting": lambda c, _m, _s: c.list_general_meeting_setting(),
    "get_record": lambda c, _m, s: c.get_record(s),
}


async def _meeting_with_a_session(client: VConnctClient) -> tuple[str, str]:
    created = await client.create_meeting(MeetingSettings(), title="T", moderator_password="modpw")
    await client.start_meeting(
        created.meeting_id, "Alice", attendee_password="attpw", moderator_password="modpw"
    )
    sessions = await client.list_sessions(created.meeting_id)
    return created.meeting_id, sessions[0].session_id


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_each_endpoint_with_a_bad_license_is_an_auth_error(vc, endpoint):
    _sim, url, client = vc
    meeting_id, session_id = await _meeting_with_a_session(client)
    bad = VConnctClient(url=url, license="not-the-license")
    try:
        with pytest.raises(ProviderAuthError, match="invalid or expired license") as caught:
            await ENDPOINTS[endpoint](bad, meeting_id, session_id)
    finally:
        await bad.aclose()
    assert "not-the-license" not in str(caught.value)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_each_endpoint_answering_500_is_unavailable(vc, endpoint):
    sim, _url, client = vc
    meeting_id, session_id = await _meeting_with_a_session(client)
    sim.faults.fail_next = 5
    with pytest.raises(ProviderUnavailable, match="HTTP 500") as caught:
        await ENDPOINTS[endpoint](client, meeting_id, session_id)
    assert caught.value.retryable


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_each_endpoint_that_never_answers_times_out(vc, endpoint):
    sim, _url, client = vc
    meeting_id, session_id = await _meeting_with_a_session(client)
    sim.faults.hang_next = 5
    sim.faults.hang_seconds = 2
    with pytest.raises(ProviderUnavailable, match=r"no answer within 0\.5s"):
        await ENDPOINTS[endpoint](client, meeting_id, session_id)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_each_endpoint_with_a_malformed_body_is_a_protocol_error(vc, endpoint):
    sim, _url, client = vc
    meeting_id, session_id = await _meeting_with_a_session(client)
    sim.faults.malformed_next = 1
    with pytest.raises(ProviderProtocolError):
        await ENDPOINTS[endpoint](client, meeting_id, session_id)


@pytest.mark.parametrize(
    "endpoint",
    [
        e
        for e in ENDPOINTS
        if e not in {"create_meeting", "list_meetings", "list_general_meeting_setting"}
    ],
)
async def test_each_endpoint_on_an_unknown_id_carries_the_providers_message(vc, endpoint):
    _sim, _url, client = vc
    unknown = "0db9ac9d-0000-0000-0000-000000000000"
    with pytest.raises((ProviderNotFound, ProviderRejected)) as caught:
        await ENDPOINTS[endpoint](client, unknown, unknown)
    assert caught.value.provider_message  # the server's own words, shown verbatim
