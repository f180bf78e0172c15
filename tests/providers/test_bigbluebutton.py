"""The BigBlueButton client against the simulator over loopback HTTP: every API call, the
neutral provider flow, hard names in join links, idempotent create, and each error path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from providers._http import RetryPolicy
from providers.base import (
    MeetingProvider,
    MeetingSettings,
    Participant,
    Role,
    RoomSpec,
    RoomState,
    RoomUpdate,
)
from providers.bigbluebutton import BigBlueButtonClient
from providers.bigbluebutton.checksum import signed_query
from providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderNotFound,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
)
from providers.simulators._server import SimulatorServer
from providers.simulators.bigbluebutton import BigBlueButtonSimulator
from tests.providers.sleeps import SleepRecorder

SECRET = "sim-shared-secret-0123456789"
ALICE = Participant("slack:T1:UALICE", "Alice")
BOB = Participant("slack:T1:UBOB", "Bob")
HARD_NAMES = [
    "Zoë O'Brien & co + 李雷",
    'Ann "the" Boss',
    "a+b=c & d%20e",
    "Ünïcødé ✓ (x)!*~",
    "Алексей Иванов",
]


@dataclass
class Setup:
    sim: BigBlueButtonSimulator
    base: str
    client: BigBlueButtonClient
    sleeps: SleepRecorder

    @property
    def api(self) -> str:
        return self.base + "/bigbluebutton/api"

    def other_client(
        self,
        *,
        url: str | None = None,
        secret: str = SECRET,
        join_with_password: bool = False,
        retry: RetryPolicy | None = None,
    ) -> BigBlueButtonClient:
        """A client with its own pooled connection; the caller closes it."""
        return BigBlueButtonClient(
            url=url or self.api,
            secret=secret,
            join_with_password=join_with_password,
            timeout=0.3,
            retry=retry,
        )


@pytest.fixture(params=["sha1", "sha512"])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    sim = BigBlueButtonSimulator(SECRET)
    sleeps = SleepRecorder()
    async with SimulatorServer(sim) as server:
        client = BigBlueButtonClient(
            url=server.url + "/bigbluebutton/api",
            secret=SECRET,
            checksum=request.param,
            timeout=0.3,
            retry=RetryPolicy(attempts=2, base_delay=0.05),
            sleep=sleeps,
        )
        try:
            yield Setup(sim, server.url, client, sleeps)
        finally:
            await client.aclose()


async def open_link(url: str) -> httpx.Response:
    """What a browser does with a join link: follow the redirect and load the page."""
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        return await browser.get(url)


def spec(
    meeting_id: str = "mb-room-1",
    *,
    title: str = "Algebra 101",
    settings: MeetingSettings | None = None,
    welcome: str | None = None,
    logout_url: str | None = None,
    duration_minutes: int | None = None,
) -> RoomSpec:
    return RoomSpec(
        meeting_id,
        "slack:T1",
        title,
        ALICE,
        settings or MeetingSettings(),
        welcome=welcome,
        logout_url=logout_url,
        duration_minutes=duration_minutes,
    )


# -- the neutral provider ----------------------------------------------------------------------


async def test_the_neutral_flow_from_create_to_recordings(setup: Setup) -> None:
    client: MeetingProvider = setup.client
    room = await client.create_room(
        spec(
            settings=MeetingSettings(record=True, lock_settings_disable_note=True),
            welcome="Hi",
            logout_url="https://chat.example/bye",
            duration_minutes=60,
        )
    )
    assert room.create_time is not None
    assert room.moderator_password
    assert room.attendee_password
    assert room.moderator_password != room.attendee_password
    call, sent = setup.sim.received[-1]
    assert call == "create"
    assert (sent["record"], sent["lockSettingsDisableNotes"]) == ("true", "true")
    assert sent["allowStartStopRecording"] == "true"
    assert sent["meta_meetbot-meeting-id"] == "mb-room-1"
    assert sent["meta_meetbot-tenant"] == "slack:T1"
    assert (sent["welcome"], sent["logoutURL"], sent["duration"]) == (
        "Hi",
        "https://chat.example/bye",
        "60",
    )
    assert (await client.status(room)).state is RoomState.WAITING

    started = await client.start_session(room, ALICE)
    assert started.moderator_url is None
    assert started.room.create_time == room.create_time, "a repeated create is the same session"
    assert setup.sim.received[-1][1]["duration"] == "60", "every create sends the same room"

    moderator = await client.join_link(started.room, ALICE, Role.MODERATOR)
    attendee = await client.join_link(started.room, BOB, Role.ATTENDEE)
    assert (moderator.role, attendee.role) == (Role.MODERATOR, Role.ATTENDEE)
    moderator_query = parse_qs(urlsplit(moderator.url).query)
    assert moderator_query["role"] == ["MODERATOR"]
    assert moderator_query["createTime"] == [room.create_time]
    assert parse_qs(urlsplit(attendee.url).query)["role"] == ["VIEWER"]
    for link in (moderator, attendee):
        page = await open_link(link.url)
        assert page.status_code == 200
        assert urlsplit(str(page.url)).path.startswith("/client/")

    status = await client.status(room)
    assert status.state is RoomState.RUNNING
    assert (status.participant_count, status.moderator_count) == (2, 1)
    assert status.started_at is not None
    assert status.started_at.tzinfo is not None
    assert status.ended_at is None
    people = await client.attendance(room)
    assert {(a.name, a.user_id, a.role, a.present) for a in people} == {
        ("Alice", ALICE.user_id, Role.MODERATOR, True),
        ("Bob", BOB.user_id, Role.ATTENDEE, True),
    }
    summaries = await client.list_rooms()
    assert [(r.room_id, r.title, r.running, r.participant_count) for r in summaries] == [
        ("mb-room-1", "Algebra 101", True, 2)
    ]

    await client.end(room)
    ended = await client.status(room)
    assert ended.state is RoomState.ENDED
    assert ended.ended_at is not None
    assert await client.attendance(room) == []

    [recording] = await client.recordings(room)
    assert recording.published
    assert recording.url is not None
    assert (await open_link(recording.url)).status_code == 200
    await client.publish_recording(room, recording.recording_id, False)
    assert [r.published for r in await client.recordings(room)] == [False]
    await client.publish_recording(room, recording.recording_id, True)
    assert [r.state for r in await client.recordings(room)] == ["published"]
    await client.delete_recording(room, recording.recording_id)
    assert await client.recordings(room) == []


async def test_a_new_session_after_the_end_refuses_old_links(setup: Setup) -> None:
    client = setup.client
    room = await client.create_room(spec())
    old_link = await client.join_link(room, BOB, Role.ATTENDEE)
    await client.end(room)
    assert (await client.status(room)).state is RoomState.ENDED

    fresh = (await client.start_session(room, ALICE)).room
    assert fresh.create_time != room.create_time
    assert fresh.session_id == fresh.create_time
    assert (await client.status(fresh)).state is RoomState.WAITING
    stale = await open_link(old_link.url)
    assert "mismatchCreateTimeParam" in str(stale.url)
    assert (await client.status(fresh)).state is RoomState.WAITING
    new_link = await client.join_link(fresh, BOB, Role.ATTENDEE)
    assert (await open_link(new_link.url)).status_code == 200
    assert (await client.status(fresh)).state is RoomState.RUNNING


async def test_a_meeting_the_server_removed_while_empty_is_opened_again_on_join(
    setup: Setup,
) -> None:
    # Real servers drop a meeting nobody joined within minutes of its create (and one that
    # everyone left); a class joining later must still get links that work.
    client = setup.client
    room = await client.create_room(spec())
    early = await client.join_link(room, ALICE, Role.MODERATOR)
    setup.sim.meetings.pop(room.room_id)  # what the server does to an empty meeting
    client.live_seconds = 0  # the next join asks the server again
    late = await client.join_link(room, BOB, Role.ATTENDEE)
    assert (await open_link(late.url)).status_code == 200
    assert (await client.status(room)).state is RoomState.RUNNING
    assert "mismatchCreateTimeParam" in str((await open_link(early.url)).url)


async def test_a_burst_of_joins_shares_one_create(setup: Setup) -> None:
    client = setup.client
    room = await client.create_room(spec())
    before = len(setup.sim.received)
    links = await asyncio.gather(
        *(
            client.join_link(room, Participant(f"u{i}", f"Student {i}"), Role.ATTENDEE)
            for i in range(50)
        )
    )
    assert [call for call, _ in setup.sim.received[before:]] == ["create"]
    assert len({link.url for link in links}) == 50
    assert all(
        parse_qs(urlsplit(link.url).query)["createTime"] == [room.create_time] for link in links
    )


async def test_changes_apply_from_the_next_session(setup: Setup) -> None:
    client = setup.client
    room = await client.create_room(spec())
    changed = await client.update_room(
        room, RoomUpdate(title="Geometry", settings=MeetingSettings(record=True))
    )
    assert (await client.settings(changed)).record
    calls = len(setup.sim.received)
    assert calls == 1, "an update sends nothing"
    # While the meeting lives, a create changes nothing on the server.
    await client.start_session(changed, ALICE)
    assert (await client.get_meeting_info(room.room_id)).name == "Algebra 101"
    await client.end(changed)
    await client.start_session(changed, ALICE)
    assert (await client.get_meeting_info(room.room_id)).name == "Geometry"
    assert setup.sim.meetings[room.room_id].flag("record")


async def test_a_room_that_is_not_on_the_server(setup: Setup) -> None:
    room = (await setup.client.create_room(spec())).evolve(room_id="mb-gone")
    status = await setup.client.status(room)
    assert status.state is RoomState.WAITING, "a join opens it again"
    assert await setup.client.attendance(room) == []
    assert await setup.client.recordings(room) == []
    with pytest.raises(ProviderNotFound) as caught:
        await setup.client.end(room)
    assert caught.value.key == "notFound"


async def test_join_with_password_for_servers_before_2_4(setup: Setup) -> None:
    client = setup.other_client(join_with_password=True)
    try:
        room = await client.create_room(spec())
        for person, role in ((ALICE, Role.MODERATOR), (BOB, Role.ATTENDEE)):
            link = await client.join_link(room, person, role)
            assert "role" not in parse_qs(urlsplit(link.url).query)
            assert (await open_link(link.url)).status_code == 200
        people = await client.attendance(room)
        assert {(a.user_id, a.role) for a in people} == {
            (ALICE.user_id, Role.MODERATOR),
            (BOB.user_id, Role.ATTENDEE),
        }
    finally:
        await client.aclose()


@pytest.mark.parametrize("name", HARD_NAMES)
async def test_join_links_with_hard_names_are_accepted(setup: Setup, name: str) -> None:
    room = await setup.client.create_room(spec("mb-names", title=name))
    link = await setup.client.join_link(room, Participant("u-1", name), Role.ATTENDEE)
    page = await open_link(link.url)
    assert urlsplit(str(page.url)).path.startswith("/client/"), page.url
    info = await setup.client.get_meeting_info("mb-names")
    assert [a.full_name for a in info.attendees] == [name]
    assert info.name == name
    assert info.metadata["meetbot-meeting-id"] == "mb-names"


# -- the API calls -----------------------------------------------------------------------------


async def test_version_and_health(setup: Setup) -> None:
    version = await setup.client.api_version()
    assert (version.version, version.bbb_version) == ("2.0", "3.0-sim")
    health = await setup.client.health()
    assert health.ok
    assert health.version == "3.0-sim"


async def test_a_repeated_create_is_a_duplicate_warning(setup: Setup) -> None:
    first = await setup.client.create("mb-dup", "Dup")
    second = await setup.client.create("mb-dup", "Dup", welcome="ignored on a repeat")
    assert not first.duplicate
    assert second.duplicate
    assert second.create_time == first.create_time
    assert (second.attendee_pw, second.moderator_pw) == (first.attendee_pw, first.moderator_pw)
    assert (first.attendee_pw, first.moderator_pw) == setup.client.passwords("mb-dup")


async def test_other_passwords_are_id_not_unique(setup: Setup) -> None:
    await setup.client.create("mb-dup", "Dup")
    # A curl user sending other passwords for the same meeting ID.
    query = signed_query(
        "create",
        [("name", "Dup"), ("meetingID", "mb-dup"), ("attendeePW", "x1"), ("moderatorPW", "y2")],
        SECRET,
    )
    async with httpx.AsyncClient() as raw:
        body = (await raw.get(f"{setup.api}/create?{query}")).text
    assert "<messageKey>idNotUnique</messageKey>" in body
    # The same through the client surfaces as a rejection in the provider's words.
    with pytest.raises(ProviderRejected) as caught:
        await setup.client.create("mb-dup", "Dup", attendee_pw="x1", moderator_pw="y2")
    assert type(caught.value) is ProviderRejected
    assert caught.value.key == "idNotUnique"
    assert caught.value.provider_message.startswith("A meeting already exists")


async def test_end_with_a_password_the_meeting_does_not_have(setup: Setup) -> None:
    # A meeting someone else created with their own passwords: our derived one is refused.
    await setup.client.create("mb-theirs", "Theirs", attendee_pw="a1", moderator_pw="m1")
    with pytest.raises(ProviderRejected) as caught:
        await setup.client.end_meeting("mb-theirs")
    assert caught.value.key == "invalidPassword"
    assert caught.value.provider_message == "The supplied moderator password is incorrect."
    assert not (await setup.client.get_meeting_info("mb-theirs")).forcibly_ended


async def test_meetings_and_running(setup: Setup) -> None:
    client = setup.client
    assert await client.get_meetings() == []
    assert await client.is_meeting_running("mb-a") is False
    await client.create("mb-a", "Room A")
    await client.create("mb-b", "Room B")
    assert await client.is_meeting_running("mb-a") is False
    await open_link(client.join_url("mb-a", "Ann", Role.MODERATOR, user_id="u-ann"))
    assert await client.is_meeting_running("mb-a") is True
    meetings = {m.meeting_id: m for m in await client.get_meetings()}
    assert set(meetings) == {"mb-a", "mb-b"}
    assert [a.user_id for a in meetings["mb-a"].attendees] == ["u-ann"]
    assert meetings["mb-b"].attendees == []
    await client.end_meeting("mb-a")
    info = await client.get_meeting_info("mb-a")
    assert (info.forcibly_ended, info.running) == (True, False)


async def test_recording_calls(setup: Setup) -> None:
    client = setup.client
    assert await client.get_recordings(meeting_ids=["mb-r"]) == []
    first = setup.sim.add_recording("mb-r")
    second = setup.sim.add_recording("mb-r", published=False)
    setup.sim.add_recording("mb-other")
    found = await client.get_recordings(meeting_ids=["mb-r"])
    assert {r.record_id for r in found} == {first.record_id, second.record_id}
    only_second = await client.get_recordings(record_ids=[second.record_id])
    assert [(r.record_id, r.published) for r in only_second] == [(second.record_id, False)]
    published = await client.get_recordings(meeting_ids=["mb-r"], state="published")
    assert [r.record_id for r in published] == [first.record_id]

    assert await client.publish_recordings([first.record_id, second.record_id], False) is False
    assert not any(r.published for r in await client.get_recordings(meeting_ids=["mb-r"]))
    assert await client.update_recordings([first.record_id], {"topic": "Sets"}) is True
    [updated] = await client.get_recordings(record_ids=[first.record_id])
    assert updated.metadata == {"topic": "Sets"}
    assert await client.update_recordings([first.record_id], {"topic": ""})
    assert (await client.get_recordings(record_ids=[first.record_id]))[0].metadata == {}
    assert await client.delete_recordings([first.record_id]) is True
    [deleted] = await client.get_recordings(record_ids=[first.record_id], state="deleted")
    assert deleted.state == "deleted"
    with pytest.raises(ProviderNotFound) as caught:
        await client.publish_recordings(["no-such-recording"], True)
    assert caught.value.provider_message == "We could not find recordings"


# -- failures ----------------------------------------------------------------------------------


async def test_a_wrong_secret_is_an_auth_error_and_never_shown(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    wrong_secret = "not-the-secret-at-all"
    wrong = setup.other_client(secret=wrong_secret)
    errors: list[ProviderError] = []
    try:
        with caplog.at_level(logging.DEBUG):
            for call in (wrong.get_meetings(), wrong.create_room(spec())):
                with pytest.raises(ProviderAuthError) as caught:
                    await call
                errors.append(caught.value)
            health = await wrong.health()
    finally:
        await wrong.aclose()
    assert not health.ok
    assert health.version == "3.0-sim", "the server answered; only the secret is wrong"
    shown = caplog.text + repr(wrong) + "".join(f"{e!s}{e!r}{e.message}" for e in errors)
    assert "checksumError" in shown
    for secret in (wrong_secret, SECRET):
        assert secret not in shown
    assert setup.sim.meetings == {}


async def test_a_hanging_server_is_unavailable(setup: Setup) -> None:
    setup.sim.faults.hang_next = 1
    client = setup.other_client(retry=RetryPolicy(attempts=1))
    try:
        with pytest.raises(ProviderUnavailable, match=r"no answer within 0.3s") as caught:
            await client.get_meetings()
    finally:
        await client.aclose()
    assert caught.value.retryable
    assert not isinstance(caught.value.__cause__, ProviderError)


async def test_one_500_is_retried_and_two_are_unavailable(setup: Setup) -> None:
    setup.sim.faults.fail_next = 1
    room = await setup.client.create_room(spec())
    assert setup.sleeps.delays == [0.05]
    assert room.create_time is not None
    assert [c for c, _ in setup.sim.received] == ["create"], "the 500 never reached the API"

    setup.sim.faults.fail_next = 2
    # One call (status makes two at once, which would share the two 500s between them).
    with pytest.raises(ProviderUnavailable, match="HTTP 500") as caught:
        await setup.client.get_meeting_info(room.room_id)
    assert caught.value.status == 500


async def test_a_malformed_answer_is_a_protocol_error(setup: Setup) -> None:
    setup.sim.faults.malformed_next = 1
    with pytest.raises(ProviderProtocolError, match="not XML"):
        await setup.client.get_meeting_info("mb-room-1")
    assert setup.sleeps.delays == [], "an unreadable answer is not retried"


async def test_a_wrong_url_is_a_clear_protocol_error(setup: Setup) -> None:
    client = setup.other_client(url=setup.base + "/wrong/api")
    try:
        with pytest.raises(ProviderProtocolError, match="ending in /bigbluebutton/api"):
            await client.get_meetings()
    finally:
        await client.aclose()
