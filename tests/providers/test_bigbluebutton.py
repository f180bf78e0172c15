"""BigBlueButton: golden checksum vectors, exact bytes on the wire, the client against the
simulator over loopback HTTP, and each error path."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from providers._http import RetryPolicy
from providers.base import MeetingSettings, Participant, Role, RoomSpec, RoomState, RoomUpdate
from providers.bigbluebutton import BigBlueButtonClient
from providers.bigbluebutton.checksum import checksum, signed_query
from providers.errors import (
    ProviderAuthError,
    ProviderInputError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
)
from providers.simulators._server import SimulatorServer
from providers.simulators.bigbluebutton import BigBlueButtonSimulator

DOC_SECRET = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"  # the example secret of the BBB docs
SECRET = "sim-shared-secret-0123456789"
CREATE_Q = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"
JOIN_Q = "fullName=Zo%C3%AB+O%27Brien&meetingID=abc123&role=MODERATOR&userID=u-42"
GOLDEN = [
    ("create", CREATE_Q, "sha1", "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"),
    (
        "create",
        CREATE_Q,
        "sha256",
        "da9185f7f333cfdfcd6eeac32dca3777510c4c436020d8b887ba5515bd1d189e",
    ),
    (
        "create",
        CREATE_Q,
        "sha384",
        "891ac633df39d0a1b4f8d597f3e190833216c4b29c4fb51ea3ca72757eeb958d"
        "6e7b49a845cf29f5c6019c7d29d029d1",
    ),
    (
        "create",
        CREATE_Q,
        "sha512",
        "de73ad61d11a5c801b68d4bd6ec5248546085cefb0b25c85f3c46249ea93a3a4"
        "b120f92c0a8a58d7512cb77821884951a3b01245f3435dbbef49fff3cc3988b4",
    ),
    ("getMeetings", "", "sha1", "2027baa7771026e9e93392f55031535d1444c41f"),
    (
        "getMeetings",
        "",
        "sha256",
        "a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c",
    ),
    ("join", JOIN_Q, "sha1", "73634e17633105dbc9e7f552db1b0562acc5dd7b"),
    ("join", JOIN_Q, "sha256", "5169dc24b4696f579a676fd53576ada096fac711f4058dafaacd2340b9e2a8e9"),
    (
        "create",
        "meetingID=abc123&meta_endCallbackUrl=https%3A%2F%2Fapp.example.com%2Fcb%3Fid%3D1%26x%3Dy"
        "&name=Test+Meeting&record=true",
        "sha1",
        "dd4031b1b9291abe559fe9f1110d2a898bc8dc91",
    ),
    ("isMeetingRunning", "meetingID=abc123", "sha1", "8478733ccb8695b8aaaff48b3c1e281a75a6f046"),
    ("getMeetingInfo", "meetingID=abc123", "sha1", "f4a4a2107fae99c5a388a49250a191aab50f3a4a"),
    ("end", "meetingID=abc123", "sha1", "8487e6301244e8f902dc849b0319eaca5e292d78"),
]
ALICE = Participant("slack:T1:UALICE", "Alice")
NAMES = ["Zoë O'Brien & co + 李雷", 'Ann "the" Boss', "a+b=c & d", "Ünïcødé ✓ (x)!*"]


@pytest.mark.parametrize(("call", "query", "algorithm", "expected"), GOLDEN)
def test_golden_checksum_vectors(call, query, algorithm, expected):
    assert checksum(call, query, DOC_SECRET, algorithm) == expected


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
async def test_the_hashed_query_is_byte_for_byte_the_sent_query(algorithm):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            text="<response><returncode>SUCCESS</returncode><running>false</running></response>",
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        client = BigBlueButtonClient(
            url="https://bbb.test/bigbluebutton/api/",
            secret=DOC_SECRET,
            checksum=algorithm,
            client=http,
        )
        assert await client.is_meeting_running("abc123") is False
    query = seen[0].url.query
    expected = checksum("isMeetingRunning", "meetingID=abc123", DOC_SECRET, algorithm)
    assert query == f"meetingID=abc123&checksum={expected}".encode()
    assert seen[0].url.path == "/bigbluebutton/api/isMeetingRunning"


def test_join_url_matches_the_golden_join_vector():
    client = BigBlueButtonClient(url="https://bbb.test/bigbluebutton/api", secret=DOC_SECRET)
    url = client.join_url("abc123", "Zoë O'Brien", Role.MODERATOR, user_id="u-42")
    assert urlsplit(url).query == f"{JOIN_Q}&checksum=73634e17633105dbc9e7f552db1b0562acc5dd7b"


def test_signed_query_without_parameters():
    assert signed_query("getMeetings", [], DOC_SECRET) == (
        "checksum=2027baa7771026e9e93392f55031535d1444c41f"
    )


def test_bad_algorithm_is_refused_at_construction():
    with pytest.raises(ValueError, match="checksum must be one of"):
        BigBlueButtonClient(url="https://bbb.test/bigbluebutton/api", secret="s", checksum="md5")


@pytest.fixture(params=["sha1", "sha512"])
async def bbb(request):
    sim = BigBlueButtonSimulator(SECRET)
    async with SimulatorServer(sim) as server:
        client = BigBlueButtonClient(
            url=server.url + "/bigbluebutton/api",
            secret=SECRET,
            checksum=request.param,
            timeout=0.5,
            retry=RetryPolicy(attempts=2, base_delay=0),
        )
        try:
            yield sim, server.url, client
        finally:
            await client.aclose()


async def open_link(url: str) -> httpx.Response:
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        return await browser.get(url)


async def test_neutral_flow_against_the_simulator(bbb):
    sim, _url, client = bbb
    spec = RoomSpec(
        "mb-room-1",
        "slack:T1",
        "Algebra 101",
        ALICE,
        MeetingSettings(record=True, lock_settings_disable_note=True),
        welcome="Hi",
    )
    room = await client.create_room(spec)
    assert room.create_time is not None
    sent = dict(sim.received[-1][1])
    assert sent["record"] == "true"
    assert sent["lockSettingsDisableNotes"] == "true"
    assert sent["allowStartStopRecording"] == "true"
    assert sent["meta_meetbot-meeting-id"] == "mb-room-1"
    assert sent["meta_meetbot-tenant"] == "slack:T1"
    assert (await client.status(room)).state is RoomState.WAITING

    again = (await client.start_session(room, ALICE)).room
    assert again.create_time == room.create_time, "a repeated create is the same session"

    bob = Participant("slack:T1:UBOB", "Bob")
    moderator = await client.join_link(room, ALICE, Role.MODERATOR)
    attendee = await client.join_link(room, bob, Role.ATTENDEE)
    assert parse_qs(urlsplit(moderator.url).query)["role"] == ["MODERATOR"]
    assert parse_qs(urlsplit(attendee.url).query)["role"] == ["VIEWER"]
    for link in (moderator, attendee):
        page = await open_link(link.url)
        assert page.status_code == 200
        assert "/client/" in str(page.url)
    status = await client.status(room)
    assert status.state is RoomState.RUNNING
    assert status.participant_count == 2
    people = await client.attendance(room)
    assert {(a.name, a.user_id, a.role) for a in people} == {
        ("Alice", ALICE.user_id, Role.MODERATOR),
        ("Bob", bob.user_id, Role.ATTENDEE),
    }
    assert [r.room_id for r in await client.list_rooms()] == ["mb-room-1"]
    assert (await client.health()).ok

    await client.end(room)
    assert (await client.status(room)).state is RoomState.ENDED
    assert await client.attendance(room) == []
    recordings = await client.recordings(room)
    assert len(recordings) == 1
    assert recordings[0].published
    await client.publish_recording(room, recordings[0].recording_id, False)
    assert not (await client.recordings(room))[0].published
    assert await client.update_recordings([recordings[0].recording_id], {"topic": "x"})
    await client.delete_recording(room, recordings[0].recording_id)
    assert await client.recordings(room) == []

    # A stale link (earlier session) is refused once the meeting runs again.
    fresh = (await client.start_session(room, ALICE)).room
    assert fresh.create_time != room.create_time
    stale = await open_link(moderator.url)
    assert "mismatchCreateTimeParam" in stale.text or "meetingForciblyEnded" in stale.text


async def test_settings_update_and_unsupported(bbb):
    _sim, _url, client = bbb
    room = await client.create_room(RoomSpec("mb-2", "t", "Room two", ALICE))
    updated = await client.update_room(room, RoomUpdate(settings=MeetingSettings(record=True)))
    assert (await client.settings(updated)).record
    for call in (
        client.sessions(room),
        client.default_settings(),
        client.remove_participant(room, "x"),
        client.delete_room(room),
    ):
        with pytest.raises(ProviderUnsupported):
            await call


@pytest.mark.parametrize("name", NAMES)
async def test_join_urls_with_hard_names_are_accepted(bbb, name):
    _sim, _url, client = bbb
    room = await client.create_room(RoomSpec("mb-names", "t", "Names", ALICE))
    link = await client.join_link(room, Participant("u-1", name), Role.ATTENDEE)
    assert (await open_link(link.url)).status_code == 200
    info = await client.get_meeting_info("mb-names")
    assert [a.full_name for a in info.attendees] == [name]
    assert info.metadata["meetbot-meeting-id"] == "mb-names"


async def test_repeated_create_is_a_duplicate_warning_not_an_error(bbb):
    _sim, url, client = bbb
    first = await client.create("mb-dup", "Dup")
    second = await client.create("mb-dup", "Dup")
    assert not first.duplicate
    assert second.duplicate
    assert (second.attendee_pw, second.moderator_pw) == (first.attendee_pw, first.moderator_pw)
    # Other passwords for the same meeting ID: the server says idNotUnique.
    query = signed_query(
        "create",
        [("name", "Dup"), ("meetingID", "mb-dup"), ("attendeePW", "x1"), ("moderatorPW", "y2")],
        SECRET,
    )
    async with httpx.AsyncClient() as raw:
        body = (await raw.get(f"{url}/bigbluebutton/api/create?{query}")).text
    assert "<messageKey>idNotUnique</messageKey>" in body


async def test_errors_are_decided_on_message_keys(bbb):
    _sim, _url, client = bbb
    with pytest.raises(ProviderNotFound) as missing:
        await client.get_meeting_info("nope")
    assert missing.value.key == "notFound"
    with pytest.raises(ProviderNotFound):
        await client.end_meeting("nope")
    with pytest.raises(ProviderRejected) as rejected:
        await client.publish_recordings(["no-such"], True)
    assert rejected.value.key == "notFound"
    with pytest.raises(ProviderInputError):
        await client.create("a,b", "Bad id")
    assert (
        await client.status(
            (await client.create_room(RoomSpec("mb-x", "t", "X", ALICE))).evolve(room_id="gone")
        )
    ).state is RoomState.ABSENT


async def test_wrong_secret_timeout_500_and_malformed(bbb, caplog):
    sim, url, client = bbb
    wrong = BigBlueButtonClient(url=url + "/bigbluebutton/api", secret="not-the-secret")
    try:
        with caplog.at_level("DEBUG"), pytest.raises(ProviderAuthError) as caught:
            await wrong.get_meetings()
        assert not (await wrong.health()).ok
    finally:
        await wrong.aclose()
    assert "not-the-secret" not in str(caught.value) + caplog.text + repr(wrong)
    sim.faults.hang_next = 2
    with pytest.raises(ProviderUnavailable, match="no answer within"):
        await client.get_meetings()
    sim.faults.fail_next = 1
    assert await client.get_meetings() == []  # retried after one 500
    sim.faults.fail_next = 2
    with pytest.raises(ProviderUnavailable, match="HTTP 500"):
        await client.get_meetings()
    sim.faults.malformed_next = 1
    with pytest.raises(ProviderProtocolError, match="not XML"):
        await client.get_meetings()
    assert SECRET not in caplog.text


async def test_wrong_url_is_a_clear_protocol_error(bbb):
    _sim, url, _client = bbb
    client = BigBlueButtonClient(url=url + "/wrong/api", secret=SECRET)
    try:
        with pytest.raises(ProviderProtocolError, match="ending in /bigbluebutton/api"):
            await client.get_meetings()
    finally:
        await client.aclose()


MULTI_ERROR = (
    b"<response><returncode>FAILED</returncode><errors><error><key>MissingParam</key>"
    b"<message>You did not pass a meetingID parameter.</message></error></errors>"
    b"</response>"
)
ONE_ATTENDEE = (
    b"<response><returncode>SUCCESS</returncode><meetingID>m</meetingID>"
    b"<running>true</running><startTime>1715261728142</startTime><endTime>0</endTime>"
    b"<attendees><attendee><userID>u</userID><fullName>Solo</fullName>"
    b"<role>MODERATOR</role></attendee></attendees><metadata/></response>"
)


async def test_multi_error_form_and_single_attendee_list():
    bodies = iter([MULTI_ERROR, ONE_ATTENDEE])
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=next(bodies)))
    async with httpx.AsyncClient(transport=transport) as http:
        client = BigBlueButtonClient(
            url="https://bbb.test/bigbluebutton/api", secret="s", client=http
        )
        with pytest.raises(ProviderRejected) as caught:
            await client.get_meeting_info("m")
        assert caught.value.key == "MissingParam"
        assert caught.value.provider_message == "You did not pass a meetingID parameter."
        info = await client.get_meeting_info("m")
    assert [a.full_name for a in info.attendees] == ["Solo"]
    assert info.start_time is not None
    assert info.end_time is None


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
async def test_simulator_by_hand_checksum_by_length(algorithm):
    sim = BigBlueButtonSimulator(SECRET)
    async with SimulatorServer(sim) as server, httpx.AsyncClient() as curl:
        api = server.url + "/bigbluebutton/api"
        assert "<returncode>SUCCESS</returncode>" in (await curl.get(api)).text
        good = hashlib.new(algorithm, f"getMeetings{SECRET}".encode()).hexdigest()
        answer = (await curl.get(f"{api}/getMeetings?checksum={good}")).text
        assert "<messageKey>noMeetings</messageKey>" in answer
        wrong = (await curl.get(f"{api}/getMeetings?checksum={'0' * len(good)}")).text
        assert "<messageKey>checksumError</messageKey>" in wrong
        twice = (await curl.get(f"{api}/getMeetings?checksum={good}&checksum={good}")).text
        assert "<messageKey>checksumError</messageKey>" in twice


async def test_simulator_refuses_algorithms_it_does_not_support():
    sim = BigBlueButtonSimulator(SECRET, supported_checksums=("sha256",))
    async with SimulatorServer(sim) as server, httpx.AsyncClient() as curl:
        digest = hashlib.sha1(f"getMeetings{SECRET}".encode()).hexdigest()
        answer = await curl.get(f"{server.url}/bigbluebutton/api/getMeetings?checksum={digest}")
    assert answer.status_code == 200
    assert "checksumError" in answer.text
