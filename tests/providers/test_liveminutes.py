"""LiveMinutesClient against its simulator over loopback HTTP, the neutral provider, and every
error path (with MockTransport where the simulator, being faithful, cannot misbehave)."""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from providers._http import ProviderRequest, ProviderResponse, RetryPolicy, TransportError
from providers.base import (
    Capability,
    MeetingProvider,
    Participant,
    Role,
    Room,
    RoomSpec,
    RoomState,
    RoomUpdate,
)
from providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderInputError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
)
from providers.liveminutes import (
    CreatedMeeting,
    LiveMinutesClient,
    MeetingStatus,
    ParticipantStatus,
)
from providers.simulators._server import SimulatorServer
from providers.simulators.liveminutes import LiveMinutesSimulator
from tests.providers.sleeps import SleepRecorder
from tests.providers.transport import Handler, HandTransport, form, reply

SID, TOKEN = "AC-test-sid", "lm-auth-token-secret"
BASIC = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
HOST = Participant("slack:T1:UALICE", "Alice", "alice@example.org")
BOB = Participant("slack:T1:UBOB", "Bob")
CAROL = Participant("slack:T1:UCAROL", "Carol", "carol@example.org")
FORM = "application/x-www-form-urlencoded"
ROOM = Room("liveminutes", "r", "T", host_id=HOST.user_id)
LONG = "u" * 51


@dataclass
class Rig:
    sim: LiveMinutesSimulator
    url: str
    client: LiveMinutesClient
    sleep: SleepRecorder

    def methods(self) -> list[str]:
        return [request.method for request in self.sim.requests]


@pytest.fixture
async def lm() -> AsyncIterator[Rig]:
    sim = LiveMinutesSimulator(SID, TOKEN)
    sleep = SleepRecorder()
    async with SimulatorServer(sim) as server:
        client = LiveMinutesClient(
            url=server.url + "/",  # a trailing slash in the config must not double up
            account_sid=SID,
            auth_token=TOKEN,
            timeout=0.3,
            retry=RetryPolicy(attempts=2, base_delay=0.05),
            sleep=sleep,
        )
        try:
            yield Rig(sim, server.url, client, sleep)
        finally:
            await client.aclose()


def mock_client(handler: Handler) -> tuple[LiveMinutesClient, HandTransport]:
    """A client on a hand transport (which holds no connections, so closing it is optional)."""
    http = HandTransport(handler)
    client = LiveMinutesClient(
        url="http://lm.test",
        account_sid=SID,
        auth_token=TOKEN,
        transport=http,
        retry=RetryPolicy(attempts=1),
    )
    return client, http


def answering(body: object, status: int = 200) -> LiveMinutesClient:
    """A client whose every request gets `body` as JSON (or as text if it is a str)."""

    def handler(_request: ProviderRequest) -> ProviderResponse:
        if isinstance(body, str):
            return reply(status, text=body)
        return reply(status, json=body)

    return mock_client(handler)[0]


async def browse(url: str) -> int:
    async with httpx.AsyncClient() as browser:
        return (await browser.get(url)).status_code


# -- the eight methods over loopback ---------------------------------------------------------


async def test_every_method_is_a_form_post_with_basic_auth(lm: Rig) -> None:
    client = lm.client
    created = await client.create_meeting("m1", "alice", title="Algebra", host_nickname="Alice")
    assert created.meeting_key == "m1"
    assert created.meeting_url.startswith(lm.url + "/")
    assert created.host_url.startswith(lm.url + "/e/LIVE")

    bob_url = await client.add_participant("m1", "bob", nickname="Bob", email="b@example.org")
    assert await client.get_participant_url("m1", "bob") == bob_url
    assert await client.get_meeting_url("m1") == created.meeting_url
    assert await client.get_meeting_status("m1") is MeetingStatus.START
    assert await client.get_participant_status("m1", "bob") is ParticipantStatus.ACCEPTED
    await client.cancel_participant("m1", "bob")
    await client.cancel_meeting("m1")
    assert await client.get_meeting_status("m1") is MeetingStatus.FINISHED

    assert lm.methods() == [
        "createMeeting",
        "addParticipant",
        "getParticipantUrl",
        "getMeetingUrl",
        "getMeetingStatus",
        "getParticipantStatus",
        "cancelParticipant",
        "cancelMeeting",
        "getMeetingStatus",
    ]
    for request in lm.sim.requests:
        assert request.content_type == FORM
        assert request.authorization == f"Basic {BASIC}"
    forms = [request.form for request in lm.sim.requests]
    assert forms[0] == {
        "meetingKey": "m1",
        "hostid": "alice",
        "title": "Algebra",
        "hostnickname": "Alice",
    }
    assert forms[1] == {
        "meetingKey": "m1",
        "puid": "bob",
        "nickname": "Bob",
        "email": "b@example.org",
    }
    assert forms[2] == forms[5] == forms[6] == {"meetingKey": "m1", "puid": "bob"}
    assert forms[3] == forms[4] == forms[7] == {"meetingKey": "m1"}


async def test_create_meeting_sends_every_documented_field(lm: Rig) -> None:
    paris = timezone(timedelta(hours=2))
    await lm.client.create_meeting(
        "m1",
        "alice",
        title="Algebra",
        lang="fr",
        description="Chapter 3",
        time=datetime(2026, 6, 1, 11, 30, 5, tzinfo=paris),
        duration=90.5,
        host_nickname="Alice",
        host_email="a@example.org",
    )
    assert lm.sim.meetings["m1"].form == {
        "meetingKey": "m1",
        "hostid": "alice",
        "title": "Algebra",
        "lang": "fr",
        "description": "Chapter 3",
        "time": "2026-06-01 09:30:05",  # sent in UTC
        "duration": "90.5",
        "hostnickname": "Alice",
        "hostemail": "a@example.org",
    }


@pytest.mark.parametrize(
    ("time", "duration", "wire"),
    [
        (datetime(2026, 12, 1, 9, 30, tzinfo=UTC), 45, ("2026-12-01 09:30:00", "45")),
        (datetime(2026, 12, 1, 9, 30), 45.0, ("2026-12-01 09:30:00", "45")),  # naive is UTC
        (None, 1_000_000, (None, "1000000")),  # never "1e+06"
        (None, 0.25, (None, "0.25")),
    ],
)
async def test_time_and_duration_wire_format(
    lm: Rig, time: datetime | None, duration: float, wire: tuple[str | None, str]
) -> None:
    await lm.client.create_meeting("m", "alice", time=time, duration=duration)
    form = lm.sim.meetings["m"].form
    assert (form.get("time"), form.get("duration")) == wire


# -- the neutral provider --------------------------------------------------------------------


async def test_neutral_flow(lm: Rig) -> None:
    client = lm.client
    spec = RoomSpec(
        meeting_id="room-1",
        tenant="slack:T1",
        title="Standup",
        host=HOST,
        start=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        duration_minutes=30,
        language="en",
        description="daily",
    )
    room = await client.create_room(spec)
    assert (room.provider, room.room_id, room.title, room.host_id) == (
        "liveminutes",
        "room-1",
        "Standup",
        HOST.user_id,
    )
    assert room.host_url is not None
    assert room.meeting_url is not None
    sent = lm.sim.meetings["room-1"].form
    assert sent["hostid"] == HOST.user_id
    assert sent["hostnickname"] == "Alice"
    assert sent["hostemail"] == "alice@example.org"
    assert (sent["time"], sent["duration"], sent["lang"]) == ("2026-12-01 09:00:00", "30", "en")

    host = await client.join_link(room, HOST, Role.MODERATOR)
    assert (host.url, host.role, host.note) == (room.host_url, Role.MODERATOR, None)
    assert lm.methods() == ["createMeeting"]  # the host link needs no request

    bob = await client.join_link(room, BOB, Role.MODERATOR)
    assert bob.role is Role.ATTENDEE
    assert bob.note == "LiveMinutes has one moderator, the host; you join as a participant"
    assert lm.methods()[-2:] == ["getParticipantUrl", "addParticipant"]
    assert lm.sim.meetings["room-1"].participants[BOB.user_id].nickname == "Bob"

    again = await client.join_link(room, BOB, Role.ATTENDEE)
    assert (again.url, again.role, again.note) == (bob.url, Role.ATTENDEE, None)
    assert lm.methods()[-1] == "getParticipantUrl"  # found, so not added twice

    waiting = await client.status(room)
    assert waiting.state is RoomState.WAITING
    assert waiting.meeting_url == room.meeting_url

    assert await browse(host.url) == 200
    assert await browse(bob.url) == 200
    running = await client.status(room)
    assert (running.state, running.detail) == (RoomState.RUNNING, "in progress")
    assert running.running

    attendance = await client.attendance(room, participant_ids=[BOB.user_id, HOST.user_id, "x"])
    assert [(a.name, a.user_id, a.role, a.status, a.present) for a in attendance] == [
        (BOB.user_id, BOB.user_id, Role.ATTENDEE, "in the meeting", True)
    ]

    await client.remove_participant(room, BOB.user_id)
    assert await client.attendance(room, participant_ids=[BOB.user_id]) == []
    assert await browse(bob.url) == 404

    await client.end(room)
    ended = await client.status(room)
    assert (ended.state, ended.detail) == (RoomState.ENDED, "finished")
    assert ended.meeting_url == room.meeting_url
    assert lm.methods()[-1] == "getMeetingStatus"  # an ended meeting's URL is not asked for
    assert await browse(host.url) == 404


async def test_host_asking_as_attendee_gets_a_participant_url(lm: Rig) -> None:
    room = await lm.client.create_room(RoomSpec("r", "slack:T1", "T", HOST))
    link = await lm.client.join_link(room, HOST, Role.ATTENDEE)
    assert link.url != room.host_url
    assert (link.role, link.note) == (Role.ATTENDEE, None)


async def test_the_host_stepping_out_does_not_end_the_room(lm: Rig) -> None:
    # Status 11 ("host quited") is the host leaving the room; only 12 (finish) is an end.
    room = await lm.client.create_room(RoomSpec("r", "slack:T1", "T", HOST))
    assert room.host_url is not None
    assert await browse(room.host_url) == 200
    assert await browse(room.host_url + "/leave") == 200
    status = await lm.client.status(room)
    assert (status.state, status.detail) == (RoomState.RUNNING, "the host stepped out")
    assert await browse(room.host_url) == 200, "the host can come back"
    await lm.client.end(room)
    assert (await lm.client.status(room)).state is RoomState.ENDED


async def test_attendance_reports_every_participant_status(lm: Rig) -> None:
    client = lm.client
    room = await client.create_room(RoomSpec("r", "slack:T1", "T", HOST))
    links = {p.user_id: await client.join_link(room, p, Role.ATTENDEE) for p in (BOB, CAROL)}
    dave = await client.join_link(room, Participant("dave", "Dave"), Role.ATTENDEE)
    await client.join_link(room, Participant("erin", "Erin"), Role.ATTENDEE)
    assert await browse(links[BOB.user_id].url) == 200
    assert await browse(links[CAROL.user_id].url) == 200
    assert await browse(links[CAROL.user_id].url + "/leave") == 200
    assert await browse(dave.url + "/refuse") == 200
    sent_before = len(lm.sim.requests)

    ids = [BOB.user_id, CAROL.user_id, "dave", "erin", "nobody", "z" * 51, "", BOB.user_id]
    attendance = await client.attendance(room, participant_ids=ids)
    assert [(a.user_id, a.status, a.present) for a in attendance] == [
        (BOB.user_id, "in the meeting", True),
        (CAROL.user_id, "left", False),
        ("dave", "refused", False),
        ("erin", "invited", False),
    ]
    # One request per distinct id that could exist; the over-long and empty ids are not asked.
    assert len(lm.sim.requests) - sent_before == 5


async def test_attendance_asks_at_most_ten_at_once() -> None:
    in_flight = peak = 0
    ten_waiting, release = asyncio.Event(), asyncio.Event()

    async def handler(_request: ProviderRequest) -> ProviderResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 10:
            ten_waiting.set()
        await release.wait()
        in_flight -= 1
        return reply(200, json={"resultcode": 1, "status": "10"})

    client, http = mock_client(handler)
    async with http:
        ids = [f"u{i}" for i in range(25)]
        task = asyncio.create_task(client.attendance(ROOM, participant_ids=ids))
        await ten_waiting.wait()
        for _ in range(5):  # give an eleventh request every chance to start, were it allowed
            await asyncio.sleep(0)
        assert in_flight == 10
        release.set()
        attendance = await task
    assert peak == 10
    assert [a.user_id for a in attendance] == ids
    assert all(a.present for a in attendance)


async def test_attendance_raises_the_first_failure_after_the_rest_finished() -> None:
    finished: list[str] = []
    failed = asyncio.Event()

    async def handler(request: ProviderRequest) -> ProviderResponse:
        puid = form(request)["puid"]
        if puid == "u1":
            failed.set()
            return reply(500)
        await failed.wait()
        for _ in range(100):  # still busy well after the failure has been raised
            await asyncio.sleep(0)
        finished.append(puid)
        return reply(200, json={"resultcode": 1, "status": "2"})

    client, http = mock_client(handler)
    async with http:
        with pytest.raises(ProviderUnavailable, match="HTTP 500"):
            await client.attendance(ROOM, participant_ids=["u0", "u1", "u2"])
        # Nothing was left running behind the error.
        assert sorted(finished) == ["u0", "u2"]


async def test_capabilities_and_unsupported_operations(lm: Rig) -> None:
    client = lm.client
    assert isinstance(client, MeetingProvider)
    assert client.name == "liveminutes"
    assert client.capabilities == {
        Capability.STATUS,
        Capability.ATTENDANCE,
        Capability.ATTENDANCE_AFTER_END,
        Capability.PRESENCE,
        Capability.REMOVE_PARTICIPANT,
        Capability.DELETE,
    }
    room = await client.create_room(RoomSpec("r", "slack:T1", "T", HOST))
    calls: list[Awaitable[object]] = [
        client.start_session(room, HOST),
        client.sessions(room),
        client.recordings(room),
        client.publish_recording(room, "rec", True),
        client.delete_recording(room, "rec"),
        client.settings(room),
        client.default_settings(),
        client.update_room(room, RoomUpdate(title="New")),
        client.list_rooms(),
    ]
    for call in calls:
        with pytest.raises(ProviderUnsupported, match="has no"):
            await call
    assert lm.methods() == ["createMeeting"]  # none of them reached the server


async def test_delete_room_cancels_the_meeting(lm: Rig) -> None:
    room = await lm.client.create_room(RoomSpec("r", "slack:T1", "T", HOST))
    await lm.client.delete_room(room)
    assert lm.methods()[-1] == "cancelMeeting"
    assert await lm.client.get_meeting_status("r") is MeetingStatus.FINISHED


# -- health ------------------------------------------------------------------------------------


async def test_health_says_the_credentials_cannot_be_verified(lm: Rig) -> None:
    health = await lm.client.health()
    assert health.ok
    assert health.detail == "reachable; credentials cannot be verified without a meeting"
    assert lm.methods() == ["getMeetingStatus"]
    # Wrong credentials look the same: resultcode 0 is all the API answers.
    wrong = LiveMinutesClient(url=lm.url, account_sid=SID, auth_token="not-the-token")
    try:
        assert (await wrong.health()).ok
    finally:
        await wrong.aclose()


@pytest.mark.parametrize("status", [401, 403])
async def test_http_401_and_403_are_auth_errors_and_make_health_fail(status: int) -> None:
    client = answering(f"denied {TOKEN}", status)
    with pytest.raises(ProviderAuthError, match=f"HTTP {status}") as caught:
        await client.cancel_meeting("m")
    assert TOKEN not in str(caught.value)
    health = await client.health()
    assert not health.ok
    assert "refused" in (health.detail or "")


async def test_health_raises_when_the_server_is_unavailable(lm: Rig) -> None:
    lm.sim.faults.fail_next = 2
    with pytest.raises(ProviderUnavailable):
        await lm.client.health()


# -- errors ------------------------------------------------------------------------------------


async def test_wrong_credentials_give_resultcode_zero_with_both_causes(lm: Rig) -> None:
    await lm.client.create_meeting("m", "alice")  # the meeting exists: only auth can fail
    wrong = LiveMinutesClient(url=lm.url, account_sid=SID, auth_token="wrong-token-value")
    try:
        with pytest.raises(ProviderRejected) as caught:
            await wrong.get_meeting_status("m")
    finally:
        await wrong.aclose()
    error = caught.value
    assert not isinstance(error, ProviderNotFound)  # it may just as well be the credentials
    assert (error.provider, error.operation, error.key) == (
        "liveminutes",
        "getMeetingStatus",
        "resultcode 0",
    )
    assert error.provider_message == (
        "LiveMinutes answered getMeetingStatus with resultcode 0: either authentication failed "
        "(AccountSid or AuthToken wrong) or the meeting does not exist; it does not say which"
    )


@pytest.mark.parametrize(
    ("method", "cause"),
    [
        ("create_meeting", "could not be created"),
        ("add_participant", "the meeting does not exist;"),
        ("get_participant_status", "has no participant with that puid"),
    ],
)
async def test_resultcode_zero_names_the_method_and_its_other_cause(
    lm: Rig, method: str, cause: str
) -> None:
    await lm.client.create_meeting("taken", "alice")
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "create_meeting": lambda: lm.client.create_meeting("taken", "alice"),
        "add_participant": lambda: lm.client.add_participant("nope", "bob"),
        "get_participant_status": lambda: lm.client.get_participant_status("taken", "bob"),
    }
    with pytest.raises(ProviderRejected, match="authentication failed") as caught:
        await calls[method]()
    assert cause in caught.value.provider_message
    assert caught.value.operation in caught.value.provider_message


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.create_meeting("m", LONG), "hostid is 51 characters"),
        (lambda c: c.add_participant("m", LONG), "puid is 51 characters"),
        (lambda c: c.get_participant_url("m", LONG), "puid is 51 characters"),
        (lambda c: c.cancel_participant("m", LONG), "puid is 51 characters"),
        (lambda c: c.get_participant_status("m", LONG), "puid is 51 characters"),
        (lambda c: c.create_meeting("", "alice"), "meetingKey must not be empty"),
        (lambda c: c.create_meeting("m", ""), "hostid must not be empty"),
        (lambda c: c.add_participant("m", ""), "puid must not be empty"),
        (lambda c: c.get_meeting_url(""), "meetingKey must not be empty"),
        (lambda c: c.cancel_meeting(""), "meetingKey must not be empty"),
        (lambda c: c.get_meeting_status(""), "meetingKey must not be empty"),
        (lambda c: c.create_meeting("m", "a", duration=math.inf), "duration must be a finite"),
        (
            lambda c: c.create_room(RoomSpec("m", "t", "T", Participant(LONG, "Long"))),
            "hostid is 51 characters",
        ),
        (
            lambda c: c.join_link(ROOM, Participant(LONG, "Long"), Role.ATTENDEE),
            "puid is 51 characters",
        ),
    ],
)
async def test_documented_limits_are_checked_before_anything_is_sent(
    lm: Rig, call: Callable[[LiveMinutesClient], Awaitable[object]], message: str
) -> None:
    with pytest.raises(ProviderInputError, match=message) as caught:
        await call(lm.client)
    if "characters" in message:
        assert str(caught.value).endswith("characters; LiveMinutes allows at most 50")
    assert lm.methods() == []


async def test_fifty_characters_are_allowed(lm: Rig) -> None:
    fifty = "u" * 50
    await lm.client.create_meeting("m", fifty)
    await lm.client.add_participant("m", fifty)
    assert await lm.client.get_participant_status("m", fifty) is ParticipantStatus.ACCEPTED


async def test_timeout_is_unavailable_and_an_idempotent_call_retries_it(lm: Rig) -> None:
    await lm.client.create_meeting("m", "alice")
    lm.sim.faults.hang_next = 1
    with pytest.raises(ProviderUnavailable, match=r"no answer within 0.3s"):
        await lm.client.add_participant("m", "bob")  # not idempotent: one attempt only
    lm.sim.faults.hang_next = 1
    assert await lm.client.get_meeting_status("m") is MeetingStatus.START
    assert lm.sleep.delays == [0.05]


async def test_http_500_is_unavailable_and_an_idempotent_call_retries_it(lm: Rig) -> None:
    await lm.client.create_meeting("m", "alice")
    lm.sim.faults.fail_next = 1
    with pytest.raises(ProviderUnavailable, match="HTTP 500") as caught:
        await lm.client.add_participant("m", "bob")
    assert caught.value.status == 500
    assert lm.sleep.delays == []
    assert "bob" not in lm.sim.meetings["m"].participants

    lm.sim.faults.fail_next = 1
    assert await lm.client.get_meeting_url("m") == f"{lm.url}/{lm.sim.meetings['m'].code}"
    assert lm.sleep.delays == [0.05]

    lm.sim.faults.fail_next = 2
    with pytest.raises(ProviderUnavailable, match="HTTP 500"):
        await lm.client.cancel_meeting("m")  # two attempts, both failed
    assert lm.sleep.delays == [0.05, 0.05]


async def test_malformed_answer_is_a_protocol_error(lm: Rig) -> None:
    await lm.client.create_meeting("m", "alice")
    lm.sim.faults.malformed_next = 1
    with pytest.raises(ProviderProtocolError, match="HTTP 200 with a body that is not JSON"):
        await lm.client.get_meeting_url("m")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"resultcode": 1, "status": "99"}, "unknown status '99' (not a MeetingStatus code)"),
        ({"resultcode": 1, "status": 4}, "unknown status 4"),
        ({"resultcode": 1, "status": True}, "unknown status True"),
        ({"resultcode": 1, "status": None}, "unknown status None"),
        ({"resultcode": 1}, "without status"),
        ({"resultcode": 7}, "unknown resultcode 7"),
        ({"resultcode": "ok"}, "unknown resultcode 'ok'"),
        ({"resultcode": True, "status": "1"}, "unknown resultcode True"),
        ({"status": "1"}, "without a resultcode"),
        ([1, 2], "without a resultcode"),
        ("<html>Not Found</html>", "not JSON"),
        ("", "not JSON"),
    ],
)
async def test_odd_answers_are_protocol_errors(body: object, message: str) -> None:
    with pytest.raises(
        ProviderProtocolError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        await answering(body).get_meeting_status("m")


async def test_an_unknown_participant_status_is_named() -> None:
    with pytest.raises(
        ProviderProtocolError, match=r"unknown status '1' \(not a ParticipantStatus code\)"
    ):
        await answering({"resultcode": 1, "status": "1"}).get_participant_status("m", "p")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"resultcode": "1", "status": "8"}, MeetingStatus.IN_PROGRESS),
        ({"resultcode": 1, "status": 11}, MeetingStatus.HOST_QUIT),
    ],
)
async def test_string_and_number_spellings_are_both_read(
    body: object, expected: MeetingStatus
) -> None:
    assert await answering(body).get_meeting_status("m") is expected


@pytest.mark.parametrize(
    ("call", "body", "missing"),
    [
        (lambda c: c.create_meeting("m", "h"), {"resultcode": 1, "meetingUrl": "u"}, "hostUrl"),
        (lambda c: c.create_meeting("m", "h"), {"resultcode": 1, "hostUrl": "u"}, "meetingUrl"),
        (lambda c: c.add_participant("m", "p"), {"resultcode": 1}, "participantUrl"),
        (lambda c: c.get_participant_url("m", "p"), {"resultcode": 1}, "participantUrl"),
        (lambda c: c.get_meeting_url("m"), {"resultcode": 1, "meetingUrl": 3}, "meetingUrl"),
    ],
)
async def test_missing_documented_fields_are_protocol_errors(
    call: Callable[[LiveMinutesClient], Awaitable[object]], body: object, missing: str
) -> None:
    with pytest.raises(ProviderProtocolError, match=f"resultcode 1 without {missing}"):
        await call(answering(body))


async def test_the_json_decides_not_the_http_status() -> None:
    assert await answering({"resultcode": 1, "status": "1"}, 404).get_meeting_status("m") == 1
    with pytest.raises(ProviderRejected):
        await answering({"resultcode": 0}, 201).get_meeting_status("m")


async def test_the_server_key_is_used_when_it_differs() -> None:
    body = {"resultcode": 1, "meetingKey": "srv", "meetingUrl": "http://l/A", "hostUrl": "h"}
    created = await answering(body).create_meeting("mine", "alice")
    assert created == CreatedMeeting("srv", "http://l/A", "h")


# -- secrets and escapes -----------------------------------------------------------------------


async def test_the_auth_token_never_reaches_logs_errors_or_repr(
    lm: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("DEBUG"):
        room = await lm.client.create_room(RoomSpec("r", "slack:T1", "T", HOST))
        await lm.client.join_link(room, BOB, Role.MODERATOR)
        lm.sim.faults.fail_next = 1  # a retry adds a warning line to the log
        await lm.client.status(room)
        errors: list[ProviderError] = []
        for call in (
            lambda: lm.client.get_meeting_status("nope"),
            lambda: lm.client.add_participant("r", LONG),
            lambda: answering({"resultcode": 1, "status": TOKEN}).get_meeting_status("m"),
            lambda: answering({"resultcode": TOKEN}).get_meeting_status("m"),
        ):
            with pytest.raises(ProviderError) as caught:
                await call()
            errors.append(caught.value)
    assert "liveminutes createMeeting POST /createMeeting" in caplog.text  # logging did happen
    assert "retry 1/1" in caplog.text
    assert "***" in str(errors[2])
    for text in [caplog.text, repr(lm.client), str(lm.client), *map(str, errors)]:
        assert TOKEN not in text
        assert BASIC not in text
    assert SID in repr(lm.client)


async def test_no_transport_exception_escapes() -> None:
    sim = LiveMinutesSimulator(SID, TOKEN)
    async with SimulatorServer(sim) as server:
        url = server.url
    # The server is gone: every method meets a refused connection.
    client = LiveMinutesClient(
        url=url, account_sid=SID, auth_token=TOKEN, retry=RetryPolicy(attempts=1)
    )
    calls: list[Awaitable[object]] = [
        client.create_meeting("m", "h"),
        client.add_participant("m", "p"),
        client.get_participant_url("m", "p"),
        client.get_meeting_url("m"),
        client.cancel_meeting("m"),
        client.cancel_participant("m", "p"),
        client.get_meeting_status("m"),
        client.get_participant_status("m", "p"),
        client.health(),
    ]
    try:
        for call in calls:
            with pytest.raises(ProviderUnavailable, match="could not reach the server"):
                await call
    finally:
        await client.aclose()

    def broken(_request: ProviderRequest) -> ProviderResponse:
        raise TransportError("ServerDisconnectedError")

    broken_client, http = mock_client(broken)
    async with http:
        with pytest.raises(ProviderUnavailable) as caught:
            await broken_client.get_meeting_url("m")
    assert isinstance(caught.value.__cause__, TransportError)  # translated, not leaked
    assert "ServerDisconnectedError" in caught.value.message


async def test_aclose_closes_only_a_client_it_built(lm: Rig) -> None:
    owned = LiveMinutesClient(url=lm.url, account_sid=SID, auth_token=TOKEN)
    await owned.aclose()
    assert owned._http.transport.closed  # type: ignore[attr-defined]

    client, http = mock_client(lambda _r: reply(200, json={"resultcode": 1}))
    async with http:
        await client.aclose()
        assert not http.closed
        await client.cancel_meeting("m")  # the injected pool still works
