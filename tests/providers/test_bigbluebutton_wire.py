"""BigBlueButton without a server: golden checksum vectors, the exact query bytes on the wire,
parameter mapping, XML parsing and error decisions, all through a hand transport
(`tests/providers/transport.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit

import pytest

from providers._http import ProviderRequest, ProviderResponse, RetryPolicy, Sleep
from providers.base import (
    Capability,
    MeetingSettings,
    Participant,
    Role,
    Room,
    RoomState,
    RoomUpdate,
)
from providers.bigbluebutton import BigBlueButtonClient
from providers.bigbluebutton.api import derive_password
from providers.bigbluebutton.checksum import checksum, encode_query, signed_query
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
from tests.providers.transport import HandTransport, path, query, reply

DOC_SECRET = "639259d4-9dd8-4b25-bf01-95f9567eaf4b"  # the example secret of the BBB docs
API = "https://bbb.test/bigbluebutton/api"
CREATE_Q = "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"
JOIN_Q = "fullName=Zo%C3%AB+O%27Brien&meetingID=abc123&role=MODERATOR&userID=u-42"
CALLBACK_Q = (
    "meetingID=abc123&meta_endCallbackUrl=https%3A%2F%2Fapp.example.com%2Fcb%3Fid%3D1%26x%3Dy"
    "&name=Test+Meeting&record=true"
)
CREATE_DIGESTS = {
    "sha1": "1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17",
    "sha256": "da9185f7f333cfdfcd6eeac32dca3777510c4c436020d8b887ba5515bd1d189e",
    "sha384": "891ac633df39d0a1b4f8d597f3e190833216c4b29c4fb51ea3ca72757eeb958d"
    "6e7b49a845cf29f5c6019c7d29d029d1",
    "sha512": "de73ad61d11a5c801b68d4bd6ec5248546085cefb0b25c85f3c46249ea93a3a4"
    "b120f92c0a8a58d7512cb77821884951a3b01245f3435dbbef49fff3cc3988b4",
}
GET_MEETINGS_DIGESTS = {
    "sha1": "2027baa7771026e9e93392f55031535d1444c41f",
    "sha256": "a5370c5f3d97d56d53b435684cdbc429c2898a3bf9f435518b4279e1e0dbfc8c",
}
JOIN_DIGESTS = {
    "sha1": "73634e17633105dbc9e7f552db1b0562acc5dd7b",
    "sha256": "5169dc24b4696f579a676fd53576ada096fac711f4058dafaacd2340b9e2a8e9",
}
GOLDEN = [
    *(("create", CREATE_Q, algorithm, digest) for algorithm, digest in CREATE_DIGESTS.items()),
    *(("getMeetings", "", algorithm, digest) for algorithm, digest in GET_MEETINGS_DIGESTS.items()),
    *(("join", JOIN_Q, algorithm, digest) for algorithm, digest in JOIN_DIGESTS.items()),
    ("create", CALLBACK_Q, "sha1", "dd4031b1b9291abe559fe9f1110d2a898bc8dc91"),
    ("isMeetingRunning", "meetingID=abc123", "sha1", "8478733ccb8695b8aaaff48b3c1e281a75a6f046"),
    ("getMeetingInfo", "meetingID=abc123", "sha1", "f4a4a2107fae99c5a388a49250a191aab50f3a4a"),
    ("end", "meetingID=abc123", "sha1", "8487e6301244e8f902dc849b0319eaca5e292d78"),
]

CREATED = (
    b"<response><returncode>SUCCESS</returncode><meetingID>abc123</meetingID>"
    b"<internalMeetingID>x-1715261728123</internalMeetingID><attendeePW>111222</attendeePW>"
    b"<moderatorPW>333444</moderatorPW><createTime>1715261728123</createTime>"
    b"<messageKey></messageKey><message></message></response>"
)
RUNNING_FALSE = b"<response><returncode>SUCCESS</returncode><running>false</running></response>"
NO_MEETINGS = (
    b"<response><returncode>SUCCESS</returncode><meetings/><messageKey>noMeetings</messageKey>"
    b"<message>no meetings were found on this server</message></response>"
)
ONE_ATTENDEE = (
    b"<response><returncode>SUCCESS</returncode><meetingName>Solo room</meetingName>"
    b"<meetingID>m1</meetingID><createTime>1715261728123</createTime><running>true</running>"
    b"<hasBeenForciblyEnded>false</hasBeenForciblyEnded><startTime>1715261728142</startTime>"
    b"<endTime>0</endTime><participantCount>1</participantCount>"
    b"<moderatorCount>1</moderatorCount><attendees><attendee><userID>u-1</userID>"
    b"<fullName>Solo</fullName><role>MODERATOR</role><isPresenter>true</isPresenter>"
    b"</attendee></attendees><metadata><meetbot-tenant>t1</meetbot-tenant></metadata>"
    b"</response>"
)
ONE_RECORDING = (
    b"<response><returncode>SUCCESS</returncode><recordings><recording>"
    b"<recordID>r-1</recordID><meetingID>m1</meetingID><name>Solo room</name>"
    b"<published>true</published><state>published</state><startTime>1715261728142</startTime>"
    b"<endTime>1715265328142</endTime><participants>3</participants><metadata/>"
    b"<playback><format><type>podcast</type><url>https://bbb.test/podcast/r-1</url></format>"
    b"<format><type>presentation</type><url>https://bbb.test/presentation/r-1</url>"
    b"<length>60</length></format></playback></recording></recordings></response>"
)

Answer = Callable[[ProviderRequest], ProviderResponse]


class Wire:
    """Records every request as it would go on the wire and answers from a function."""

    def __init__(self, answer: Answer | bytes) -> None:
        self.requests: list[ProviderRequest] = []
        self._answer = answer

    def __call__(self, request: ProviderRequest) -> ProviderResponse:
        self.requests.append(request)
        if isinstance(self._answer, bytes):
            return reply(200, content=self._answer)
        return self._answer(request)

    @property
    def last(self) -> ProviderRequest:
        return self.requests[-1]

    @property
    def query(self) -> str:
        """The last query string, exactly as sent."""
        return query(self.last)

    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)


def no_http(request: ProviderRequest) -> ProviderResponse:
    raise AssertionError(f"no HTTP expected, got {request.method} {path(request)}")


class Factory:
    """Builds clients on MockTransport wires and closes them all at the end of a test."""

    def __init__(self) -> None:
        self._opened: list[HandTransport] = []

    def __call__(
        self,
        wire: Wire | None = None,
        *,
        url: str = API,
        secret: str = DOC_SECRET,
        algorithm: str = "sha1",
        join_with_password: bool = False,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> BigBlueButtonClient:
        """A client whose every request goes to `wire`; without one, any request fails."""
        http = HandTransport(wire or Wire(no_http))
        self._opened.append(http)
        return BigBlueButtonClient(
            url=url,
            secret=secret,
            checksum=algorithm,
            join_with_password=join_with_password,
            transport=http,
            retry=retry,
            sleep=sleep,
        )

    async def aclose(self) -> None:
        for http in self._opened:
            await http.aclose()


@pytest.fixture
async def bbb() -> AsyncIterator[Factory]:
    factory = Factory()
    yield factory
    await factory.aclose()


# -- checksums ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["abc123", "", "Zoë O'Brien", "a b+c&d=e", "~-_.", "!'()*", "50%", "x\n", "日本", "🎓 Class"],
)
def test_the_query_is_what_urlencode_with_quote_plus_makes(value: str) -> None:
    # The checksum covers these bytes: the fast encoder must not drift from the reference.
    params = [("meetingID", value), (value or "k", "v"), ("meta_ü", value)]
    assert encode_query(params) == urlencode(params, quote_via=quote_plus)


@pytest.mark.parametrize(("call", "query", "algorithm", "expected"), GOLDEN)
def test_golden_checksum_vectors(call: str, query: str, algorithm: str, expected: str) -> None:
    assert checksum(call, query, DOC_SECRET, algorithm) == expected


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
async def test_create_sends_exactly_the_golden_query(bbb: Factory, algorithm: str) -> None:
    wire = Wire(CREATED)
    client = bbb(wire, url=API + "/", algorithm=algorithm)
    created = await client.create(
        "abc123", "Test Meeting", attendee_pw="111222", moderator_pw="333444"
    )
    expected = f"{CREATE_Q}&checksum={CREATE_DIGESTS[algorithm]}"
    assert wire.query == expected
    assert path(wire.last) == "/bigbluebutton/api/create"
    assert wire.last.method == "GET"
    assert created.create_time == "1715261728123"
    assert not created.duplicate


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
async def test_a_call_without_parameters_hashes_only_the_call_name(
    bbb: Factory, algorithm: str
) -> None:
    wire = Wire(NO_MEETINGS)
    assert await bbb(wire, algorithm=algorithm).get_meetings() == []
    assert wire.query == f"checksum={GET_MEETINGS_DIGESTS[algorithm]}"


async def test_single_parameter_calls_match_their_vectors(
    bbb: Factory,
) -> None:
    wire = Wire(lambda r: reply(200, content=ONE_ATTENDEE if "Info" in path(r) else RUNNING_FALSE))
    client = bbb(wire)
    assert await client.is_meeting_running("abc123") is False
    assert wire.query == "meetingID=abc123&checksum=8478733ccb8695b8aaaff48b3c1e281a75a6f046"
    await client.get_meeting_info("abc123")
    assert wire.query == "meetingID=abc123&checksum=f4a4a2107fae99c5a388a49250a191aab50f3a4a"


async def test_end_sends_the_moderator_password_signed(
    bbb: Factory,
) -> None:
    wire = Wire(
        b"<response><returncode>SUCCESS</returncode>"
        b"<messageKey>sentEndMeetingRequest</messageKey></response>"
    )
    await bbb(wire).end_meeting("abc123")
    password = derive_password(DOC_SECRET, "abc123", "moderator")
    expected = signed_query("end", [("meetingID", "abc123"), ("password", password)], DOC_SECRET)
    assert wire.query == expected


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_join_url_is_the_golden_join_vector(algorithm: str, bbb: Factory) -> None:
    client = bbb(algorithm=algorithm)
    url = client.join_url("abc123", "Zoë O'Brien", Role.MODERATOR, user_id="u-42")
    assert url == f"{API}/join?{JOIN_Q}&checksum={JOIN_DIGESTS[algorithm]}"


def test_join_url_escapes_what_browsers_would_rewrite(bbb: Factory) -> None:
    url = bbb().join_url("m1", "It's (really) me!*", Role.ATTENDEE, create_time="17")
    query = urlsplit(url).query
    assert query.startswith("fullName=It%27s+%28really%29+me%21%2A&meetingID=m1&role=VIEWER")
    assert "&createTime=17&checksum=" in query


def test_join_with_password_sends_the_derived_password_instead_of_a_role(bbb: Factory) -> None:
    client = bbb(join_with_password=True)
    attendee_pw, moderator_pw = client.passwords("m1")
    moderator = dict(parse_qsl(urlsplit(client.join_url("m1", "A", Role.MODERATOR)).query))
    attendee = dict(parse_qsl(urlsplit(client.join_url("m1", "B", Role.ATTENDEE)).query))
    assert moderator["password"] == moderator_pw
    assert attendee["password"] == attendee_pw
    assert "role" not in moderator
    assert "role" not in attendee


def test_passwords_are_fixed_per_meeting_and_secret(bbb: Factory) -> None:
    first, again = bbb().passwords("m1"), bbb().passwords("m1")
    assert first == again
    assert first[0] != first[1]
    assert bbb().passwords("m2") != first
    assert bbb(secret="another-secret").passwords("m1") != first
    assert DOC_SECRET not in "".join(first)


def test_bad_algorithm_is_refused_at_construction(bbb: Factory) -> None:
    with pytest.raises(ValueError, match="checksum must be one of"):
        bbb(algorithm="md5")


# -- what create sends -------------------------------------------------------------------------


async def test_settings_and_metadata_become_create_parameters(
    bbb: Factory,
) -> None:
    wire = Wire(CREATED)
    client = bbb(wire)
    settings = MeetingSettings(
        record=True,
        lock_settings_disable_note=True,
        allow_start_stop_recording=False,
        webcam_only_for_moderators=True,
    )
    await client.create(
        "abc123",
        "Test Meeting",
        settings=settings,
        welcome="Hi %%CONFNAME%%",
        logout_url="https://chat.example/bye",
        duration_minutes=45,
        metadata={"meetbot-tenant": "slack:T1", "meetbot-meeting-id": "abc123"},
    )
    sent = dict(wire.params())
    assert sent["record"] == "true"
    assert sent["lockSettingsDisableNotes"] == "true"
    assert "lockSettingsDisableNote" not in sent
    assert sent["allowStartStopRecording"] == "false"
    assert sent["webcamsOnlyForModerator"] == "true"
    assert sent["autoStartRecording"] == "false"
    for name in ("Cam", "Mic", "PrivateChat", "PublicChat"):
        assert sent[f"lockSettingsDisable{name}"] == "false"
    assert sent["lockSettingsLockedLayout"] == "false"
    assert sent["welcome"] == "Hi %%CONFNAME%%"
    assert sent["logoutURL"] == "https://chat.example/bye"
    assert sent["duration"] == "45"
    assert sent["meta_meetbot-tenant"] == "slack:T1"
    assert sent["meta_meetbot-meeting-id"] == "abc123"
    assert (sent["attendeePW"], sent["moderatorPW"]) == client.passwords("abc123")
    assert len(sent) == 4 + 10 + 3 + 2 + 1  # ids and passwords, settings, extras, meta, checksum

    await client.create("abc123", "Test Meeting")
    assert not any(key.startswith(("lock", "record", "webcams")) for key, _ in wire.params())


@pytest.mark.parametrize(
    ("meeting_id", "name"),
    [("a,b", "Fine name"), ("x", "Fine name"), ("ok-id", "Q"), ("ok-id", "😀" * 129)],
)
async def test_create_input_outside_the_documented_limits_is_not_sent(
    bbb: Factory, meeting_id: str, name: str
) -> None:
    wire = Wire(CREATED)
    with pytest.raises(ProviderInputError):
        await bbb(wire).create(meeting_id, name)
    assert wire.requests == []


async def test_a_neutral_title_is_padded_or_refused(
    bbb: Factory,
) -> None:
    wire = Wire(CREATED)
    client = bbb(wire)
    room = Room("bigbluebutton", "abc123", "Q")
    await client.start_session(room, _host())
    assert dict(wire.params())["name"] == "Q "
    for title in ("", "  \x07 "):
        with pytest.raises(ProviderInputError, match="needs a title"):
            await client.start_session(room.evolve(title=title), _host())
    with pytest.raises(ProviderInputError, match="at most 256"):
        await client.update_room(room, RoomUpdate(title="x" * 257))
    assert len(wire.requests) == 1


def test_a_join_link_needs_a_name(bbb: Factory) -> None:
    with pytest.raises(ProviderInputError):
        bbb().join_url("m1", " \t", Role.ATTENDEE)


@pytest.mark.parametrize("ids", [[], [""]])
async def test_recording_calls_need_ids(bbb: Factory, ids: list[str]) -> None:
    wire = Wire(CREATED)
    client = bbb(wire)
    with pytest.raises(ProviderInputError):
        await client.publish_recordings(ids, True)
    with pytest.raises(ProviderInputError):
        await client.delete_recordings(ids)
    with pytest.raises(ProviderInputError):
        await client.update_recordings(ids, {"a": "b"})
    assert wire.requests == []


# -- reading answers ---------------------------------------------------------------------------


async def test_one_attendee_is_still_a_list_and_times_are_utc(
    bbb: Factory,
) -> None:
    info = await bbb(Wire(ONE_ATTENDEE)).get_meeting_info("m1")
    assert [(a.full_name, a.user_id, a.role) for a in info.attendees] == [
        ("Solo", "u-1", "MODERATOR")
    ]
    assert info.start_time == datetime(2024, 5, 9, 13, 35, 28, 142000, tzinfo=UTC)
    assert info.end_time is None  # endTime 0 while running
    assert info.metadata == {"meetbot-tenant": "t1"}
    assert (info.participant_count, info.moderator_count) == (1, 1)


async def test_empty_lists_are_empty(bbb: Factory) -> None:
    body = ONE_ATTENDEE.replace(
        ONE_ATTENDEE[ONE_ATTENDEE.index(b"<attendees>") : ONE_ATTENDEE.index(b"<metadata>")],
        b"<attendees/>",
    )
    info = await bbb(Wire(body)).get_meeting_info("m1")
    assert info.attendees == []
    no_recordings = (
        b"<response><returncode>SUCCESS</returncode><recordings></recordings>"
        b"<messageKey>noRecordings</messageKey></response>"
    )
    assert await bbb(Wire(no_recordings)).get_recordings(meeting_ids=["m1"]) == []


async def test_recordings_are_read_with_every_format(
    bbb: Factory,
) -> None:
    wire = Wire(ONE_RECORDING)
    client = bbb(wire)
    [recording] = await client.get_recordings(meeting_ids=["m1", "m2"], state="any")
    assert dict(wire.params())["meetingID"] == "m1,m2"
    assert [p.type for p in recording.playback] == ["podcast", "presentation"]
    assert recording.playback[1].length == 60
    [neutral] = await client.recordings(Room("bigbluebutton", "m1", "Solo room"))
    assert neutral.url == "https://bbb.test/presentation/r-1"
    assert neutral.participants == 3
    assert neutral.ended_at == datetime(2024, 5, 9, 14, 35, 28, 142000, tzinfo=UTC)


def meeting_answers(*, running: bool, forcibly_ended: bool, end_time: int) -> Wire:
    info = (
        "<response><returncode>SUCCESS</returncode><meetingID>m1</meetingID>"
        f"<running>{str(running).lower()}</running>"
        f"<hasBeenForciblyEnded>{str(forcibly_ended).lower()}</hasBeenForciblyEnded>"
        f"<startTime>1715261728142</startTime><endTime>{end_time}</endTime>"
        "<participantCount>0</participantCount><attendees/></response>"
    ).encode()
    is_running = RUNNING_FALSE.replace(b"false", str(running).lower().encode())

    def answer(request: ProviderRequest) -> ProviderResponse:
        body = is_running if path(request).endswith("/isMeetingRunning") else info
        return reply(200, content=body)

    return Wire(answer)


@pytest.mark.parametrize(
    ("running", "forcibly_ended", "end_time", "state"),
    [
        (True, False, 0, RoomState.RUNNING),
        (False, False, 0, RoomState.WAITING),
        (False, True, 0, RoomState.ENDED),  # end was asked, the end time not written yet
        (False, False, 1715265328142, RoomState.ENDED),  # ended on its own (duration)
    ],
)
async def test_status_reads_the_meeting_state(
    bbb: Factory, running: bool, forcibly_ended: bool, end_time: int, state: RoomState
) -> None:
    wire = meeting_answers(running=running, forcibly_ended=forcibly_ended, end_time=end_time)
    status = await bbb(wire).status(Room("bigbluebutton", "m1", "Room"))
    assert status.state is state
    assert status.running is (state is RoomState.RUNNING)
    assert (status.ended_at is not None) is (end_time > 0)


FAILED = (
    "<response><returncode>FAILED</returncode><messageKey>{}</messageKey>"
    "<message>{}</message></response>"
)


@pytest.mark.parametrize(
    ("body", "error", "key"),
    [
        (FAILED.format("checksumError", "Checksums do not match"), ProviderAuthError, None),
        (
            FAILED.format("notFound", "A meeting with that ID does not exist"),
            ProviderNotFound,
            "notFound",
        ),
        (
            FAILED.format("invalidMeetingIdentifier", "gone"),
            ProviderNotFound,
            "invalidMeetingIdentifier",
        ),
        (FAILED.format("idNotUnique", "A meeting already exists"), ProviderRejected, "idNotUnique"),
        # The same words under another key: only the key decides.
        (
            FAILED.format("validationError", "Checksums do not match"),
            ProviderRejected,
            "validationError",
        ),
    ],
)
async def test_failures_are_decided_on_the_message_key(
    bbb: Factory,
    body: str,
    error: type[ProviderError],
    key: str | None,
) -> None:
    with pytest.raises(error) as caught:
        await bbb(Wire(body.encode())).get_meeting_info("m1")
    assert type(caught.value) is error
    if key is not None:
        assert isinstance(caught.value, ProviderRejected)
        assert caught.value.key == key


async def test_answer_text_is_read_as_its_xml_says(bbb: Factory) -> None:
    # Declared encoding, a harmless DTD, a comment, entities and CDATA: text as written.
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><!DOCTYPE response [<!ELEMENT response ANY>]>'
        "<!-- a note --><response><returncode>FAILED</returncode><messageKey>k</messageKey>"
        "<message>Zoë &amp; <![CDATA[<Co>]]>&#33;</message></response>"
    ).encode("latin-1")
    with pytest.raises(ProviderRejected) as caught:
        await bbb(Wire(body)).get_meeting_info("m1")
    assert caught.value.provider_message == "Zoë & <Co>!"


async def test_the_multi_error_form(bbb: Factory) -> None:
    body = (
        b"<response><returncode>FAILED</returncode><errors>"
        b"<error><key>MissingParam</key><message>You did not pass a meetingID.</message></error>"
        b"<error><key>MissingParam</key><message>You did not pass a name.</message></error>"
        b"</errors></response>"
    )
    with pytest.raises(ProviderRejected) as caught:
        await bbb(Wire(body)).get_meeting_info("m1")
    assert caught.value.key == "MissingParam"
    assert caught.value.provider_message == (
        "You did not pass a meetingID.; You did not pass a name."
    )
    one = (
        b"<response><returncode>FAILED</returncode>"
        b"<errors><error><key>notFound</key></error></errors></response>"
    )
    with pytest.raises(ProviderNotFound):
        await bbb(Wire(one)).get_meeting_info("m1")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>nginx: 502 Bad Gateway",
        b"",
        b'{"returncode": "SUCCESS"}',
        b"<meetings><meeting/></meetings>",
        b"<response><running>true</running></response>",
        b"<response><returncode>MAYBE</returncode></response>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaa">]>'
        b"<response><returncode>&a;</returncode></response>",
        # An external entity, and an entity left undeclared behind an external DTD: neither
        # is read, both are refused.
        b'<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<response><returncode>&e;</returncode></response>",
        b'<!DOCTYPE r SYSTEM "http://example.org/r.dtd">'
        b"<response><returncode>&e;</returncode></response>",
        b"<response><returncode>&e;</returncode></response>",
        b"<response><returncode>SUCCESS</returncode></response><response/>",
    ],
)
async def test_unreadable_answers_are_protocol_errors(bbb: Factory, body: bytes) -> None:
    with pytest.raises(ProviderProtocolError):
        await bbb(Wire(body)).is_meeting_running("m1")


@pytest.mark.parametrize("status", [302, 401, 403, 404, 405, 413])
async def test_a_status_other_than_200_is_a_protocol_error(bbb: Factory, status: int) -> None:
    # Even with a SUCCESS body: BBB itself answers 200, so something else answered.
    wire = Wire(lambda _r: reply(status, content=RUNNING_FALSE))
    with pytest.raises(ProviderProtocolError, match=f"HTTP {status}"):
        await bbb(wire).is_meeting_running("m1")


async def test_5xx_is_unavailable_and_retried_without_real_sleeps(
    bbb: Factory,
) -> None:
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    statuses = iter([502, 503, 200])
    wire = Wire(lambda _r: reply(next(statuses), content=RUNNING_FALSE))
    client = bbb(wire, retry=RetryPolicy(attempts=3, base_delay=0.1), sleep=sleep)
    assert await client.is_meeting_running("m1") is False
    assert delays == [0.1, 0.2]
    assert len({r.url for r in wire.requests}) == 1, "a retry sends the very same signed URL"
    wire = Wire(lambda _r: reply(500))
    with pytest.raises(ProviderUnavailable) as caught:
        await bbb(wire, retry=RetryPolicy(attempts=1)).is_meeting_running("m1")
    assert caught.value.status == 500


async def test_provider_text_in_errors_is_redacted(
    bbb: Factory,
) -> None:
    body = FAILED.format("someKey", f"bad salt {DOC_SECRET} in config").encode()
    with pytest.raises(ProviderRejected) as caught:
        await bbb(Wire(body)).get_meetings()
    assert DOC_SECRET not in str(caught.value)
    assert caught.value.provider_message == "bad salt *** in config"


async def test_version_document_needs_no_checksum(
    bbb: Factory,
) -> None:
    body = (
        b"<response><returncode>SUCCESS</returncode><version>2.0</version>"
        b"<apiVersion>2.0</apiVersion><bbbVersion>3.0.19</bbbVersion></response>"
    )
    wire = Wire(body)
    version = await bbb(wire, url=API + "/").api_version()
    assert wire.last.url == API
    assert (version.version, version.api_version, version.bbb_version) == ("2.0", "2.0", "3.0.19")
    older = await bbb(
        Wire(b"<response><returncode>SUCCESS</returncode><version>0.9</version></response>")
    ).api_version()
    assert (older.version, older.bbb_version) == ("0.9", None)


# -- the provider surface ----------------------------------------------------------------------


def _host() -> Participant:
    return Participant("u-host", "Host")


def test_capabilities_list_exactly_what_is_supported(bbb: Factory) -> None:
    client = bbb()
    assert client.name == "bigbluebutton"
    for missing in (
        Capability.SESSIONS,
        Capability.DEFAULT_SETTINGS,
        Capability.REMOVE_PARTICIPANT,
        Capability.DELETE,
    ):
        assert missing not in client.capabilities
    assert Capability.RECORDINGS in client.capabilities
    assert Capability.ROLES in client.capabilities


async def test_unsupported_operations_say_so_without_http(
    bbb: Factory,
) -> None:
    wire = Wire(CREATED)
    client = bbb(wire)
    room = Room("bigbluebutton", "m1", "Room")
    for call in (
        client.sessions(room),
        client.default_settings(),
        client.remove_participant(room, "u-1"),
        client.delete_room(room),
        client.update_room(room, RoomUpdate(moderator_password="new-one")),
    ):
        with pytest.raises(ProviderUnsupported):
            await call
    assert wire.requests == []


async def test_update_room_changes_only_what_is_given(
    bbb: Factory,
) -> None:
    wire = Wire(CREATED)
    client = bbb(wire)
    room = Room("bigbluebutton", "m1", "Room", welcome="hello")
    updated = await client.update_room(room, RoomUpdate(settings=MeetingSettings(record=True)))
    assert (updated.title, updated.welcome) == ("Room", "hello")
    assert (await client.settings(updated)).record
    renamed = await client.update_room(updated, RoomUpdate(title="New", welcome=""))
    assert (renamed.title, renamed.welcome, renamed.settings.record) == ("New", "", True)
    assert wire.requests == []


def test_the_secret_is_not_in_the_repr(bbb: Factory) -> None:
    client = bbb()
    assert DOC_SECRET not in repr(client)
    assert "bbb.test" in repr(client)


async def test_an_owned_client_is_closed_and_an_injected_one_is_not() -> None:
    async with HandTransport(no_http) as injected:
        await BigBlueButtonClient(url=API, secret=DOC_SECRET, transport=injected).aclose()
        assert not injected.closed
    owned = BigBlueButtonClient(url=API, secret=DOC_SECRET)
    await owned.aclose()
    assert owned._http.transport.closed  # type: ignore[attr-defined]


async def test_an_unreachable_server_is_unavailable_not_a_transport_error() -> None:
    # Port 9 (discard) on loopback: nothing listens there in a test run.
    client = BigBlueButtonClient(
        url="http://127.0.0.1:9/bigbluebutton/api",
        secret=DOC_SECRET,
        retry=RetryPolicy(attempts=1),
    )
    try:
        with pytest.raises(ProviderUnavailable, match="could not reach"):
            await client.get_meetings()
    finally:
        await client.aclose()
