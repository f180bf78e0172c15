"""The BigBlueButton simulator on its own, driven with plain httpx the way someone with curl and
the BBB documentation would: queries encoded and signed by hand, nothing from our client."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import httpx
import pytest

from providers.simulators._server import SimulatorServer
from providers.simulators.bigbluebutton import BigBlueButtonSimulator

SECRET = "sim-shared-secret-0123456789"
PASSWORDS = [("attendeePW", "ap-1"), ("moderatorPW", "mp-1")]


def sign(call: str, query: str, algorithm: str = "sha1", secret: str = SECRET) -> str:
    digest = hashlib.new(algorithm, f"{call}{query}{secret}".encode()).hexdigest()
    return f"{query}&checksum={digest}" if query else f"checksum={digest}"


def tag(body: str, name: str) -> str | None:
    found = re.search(f"<{name}>(.*?)</{name}>", body, re.DOTALL)
    return found.group(1) if found else None


@dataclass
class Bench:
    sim: BigBlueButtonSimulator
    base: str
    curl: httpx.AsyncClient

    @property
    def api(self) -> str:
        return self.base + "/bigbluebutton/api"

    async def call(
        self, call: str, params: list[tuple[str, str]] | None = None, algorithm: str = "sha1"
    ) -> httpx.Response:
        query = urlencode(params or [], quote_via=quote_plus)
        return await self.curl.get(f"{self.api}/{call}?{sign(call, query, algorithm)}")

    async def xml(self, call: str, params: list[tuple[str, str]] | None = None) -> str:
        answer = await self.call(call, params)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/xml")
        return answer.text

    async def create(self, meeting_id: str, *extra: tuple[str, str]) -> str:
        return await self.xml("create", [("name", "Room"), ("meetingID", meeting_id), *extra])

    async def join(self, meeting_id: str, name: str, *extra: tuple[str, str]) -> httpx.Response:
        return await self.call("join", [("fullName", name), ("meetingID", meeting_id), *extra])


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    sim = BigBlueButtonSimulator(SECRET)
    async with SimulatorServer(sim) as server, httpx.AsyncClient() as curl:
        yield Bench(sim, server.url, curl)


def join_errors(answer: httpx.Response) -> list[dict[str, str]]:
    """The errors of a join refused the BBB way: 302 to the logout URL with `errors=[...]`."""
    assert answer.status_code == 302
    location = answer.headers["location"]
    errors: list[dict[str, str]] = json.loads(parse_qs(urlsplit(location).query)["errors"][0])
    return errors


# -- checksums ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
async def test_the_algorithm_is_told_by_the_checksum_length(bench: Bench, algorithm: str) -> None:
    answer = await bench.call("getMeetings", algorithm=algorithm)
    assert tag(answer.text, "returncode") == "SUCCESS"
    assert tag(answer.text, "messageKey") == "noMeetings"


@pytest.mark.parametrize(
    "query",
    [
        "checksum=" + "0" * 40,  # right length, wrong value
        "checksum=" + hashlib.sha1(f"getMeetings{SECRET}".encode()).hexdigest()[:39],
        "checksum=" + hashlib.md5(f"getMeetings{SECRET}".encode()).hexdigest(),
        sign("getMeetings", "", secret="not-the-secret"),
        sign("getMeetingInfo", ""),  # signed for another call
        "",  # no checksum at all
        "checksum=" + "z" * 40,
    ],
)
async def test_a_wrong_checksum_is_a_checksum_error(bench: Bench, query: str) -> None:
    answer = await bench.curl.get(f"{bench.api}/getMeetings?{query}")
    assert answer.status_code == 200
    assert tag(answer.text, "returncode") == "FAILED"
    assert tag(answer.text, "messageKey") == "checksumError"


async def test_a_repeated_checksum_is_refused_even_when_right(bench: Bench) -> None:
    good = sign("getMeetings", "")
    answer = await bench.curl.get(f"{bench.api}/getMeetings?{good}&{good}")
    assert tag(answer.text, "messageKey") == "checksumError"


async def test_the_raw_query_is_hashed_as_sent(bench: Bench) -> None:
    # %20 instead of +, the checksum first, upper-case hex: all verify, because the server
    # hashes the query exactly as received.
    await bench.create("room-1")
    query = "meetingID=room-1&name=With%20Space"
    digest = hashlib.sha256(f"getMeetingInfo{query}{SECRET}".encode()).hexdigest().upper()
    answer = await bench.curl.get(f"{bench.api}/getMeetingInfo?checksum={digest}&{query}")
    assert tag(answer.text, "returncode") == "SUCCESS"
    # The same parameters re-encoded differently no longer match what was hashed.
    answer = await bench.curl.get(
        f"{bench.api}/getMeetingInfo?meetingID=room-1&name=With+Space&checksum={digest}"
    )
    assert tag(answer.text, "messageKey") == "checksumError"


async def test_an_algorithm_the_server_does_not_allow_is_refused() -> None:
    sim = BigBlueButtonSimulator(SECRET, supported_checksums=("sha256",))
    async with SimulatorServer(sim) as server, httpx.AsyncClient() as curl:
        api = server.url + "/bigbluebutton/api/getMeetings?"
        refused = await curl.get(api + sign("getMeetings", "", "sha1"))
        accepted = await curl.get(api + sign("getMeetings", "", "sha256"))
    assert tag(refused.text, "messageKey") == "checksumError"
    assert tag(accepted.text, "returncode") == "SUCCESS"


# -- transport ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/bigbluebutton/api", "/bigbluebutton/api/"])
async def test_the_version_document_needs_no_checksum(bench: Bench, path: str) -> None:
    answer = await bench.curl.get(bench.base + path)
    assert answer.status_code == 200
    assert tag(answer.text, "returncode") == "SUCCESS"
    assert tag(answer.text, "version") == "2.0"


async def test_failures_are_http_200_and_unknown_calls_are_404(bench: Bench) -> None:
    missing = await bench.call("getMeetingInfo", [("meetingID", "nope")])
    assert missing.status_code == 200
    assert tag(missing.text, "messageKey") == "notFound"
    assert (await bench.call("noSuchCall")).status_code == 404


async def test_malformed_knob_answers_something_that_is_not_xml(bench: Bench) -> None:
    bench.sim.faults.malformed_next = 1
    answer = await bench.call("getMeetings")
    assert answer.status_code == 200
    assert "<returncode>" not in answer.text
    assert tag((await bench.call("getMeetings")).text, "returncode") == "SUCCESS"


# -- create ------------------------------------------------------------------------------------


async def test_create_is_idempotent_on_the_documented_rule(bench: Bench) -> None:
    first = await bench.create("room-1", *PASSWORDS, ("meta_Topic", "Algebra"))
    assert tag(first, "returncode") == "SUCCESS"
    assert not tag(first, "messageKey")
    create_time = tag(first, "createTime")

    same = await bench.create("room-1", *PASSWORDS)
    assert tag(same, "returncode") == "SUCCESS"
    assert tag(same, "messageKey") == "duplicateWarning"
    assert tag(same, "createTime") == create_time

    without = await bench.create("room-1")
    assert tag(without, "messageKey") == "duplicateWarning"
    assert tag(without, "moderatorPW") == "mp-1", "the existing meeting's data comes back"

    other = await bench.create("room-1", ("attendeePW", "ap-1"), ("moderatorPW", "other"))
    assert tag(other, "returncode") == "FAILED"
    assert tag(other, "messageKey") == "idNotUnique"

    info = await bench.xml("getMeetingInfo", [("meetingID", "room-1")])
    assert tag(info, "topic") == "Algebra", "meta names come back lower-cased"


async def test_an_ended_meeting_is_replaced_by_a_new_session(bench: Bench) -> None:
    first = await bench.create("room-1", *PASSWORDS)
    await bench.xml("end", [("meetingID", "room-1")])
    again = await bench.create("room-1", ("attendeePW", "x"), ("moderatorPW", "y"))
    assert tag(again, "returncode") == "SUCCESS"
    assert not tag(again, "messageKey")
    assert int(tag(again, "createTime") or 0) > int(tag(first, "createTime") or 0)


@pytest.mark.parametrize(
    "params",
    [
        [("name", "Room"), ("meetingID", "a,b")],
        [("name", "R"), ("meetingID", "room-1")],
        [("name", "\x01R\x02"), ("meetingID", "room-1")],  # control characters are stripped
        [("name", "😀" * 129), ("meetingID", "room-1")],  # 258 UTF-16 units
        [("name", "Room"), ("meetingID", "x")],
    ],
)
async def test_create_validates_like_the_server(
    bench: Bench, params: list[tuple[str, str]]
) -> None:
    answer = await bench.xml("create", params)
    assert tag(answer, "messageKey") == "validationError"
    assert bench.sim.meetings == {}


# -- join, running, end ------------------------------------------------------------------------


async def test_running_only_once_someone_opened_a_join_link(bench: Bench) -> None:
    create_time = tag(await bench.create("room-1", *PASSWORDS), "createTime") or ""
    running = await bench.xml("isMeetingRunning", [("meetingID", "room-1")])
    assert tag(running, "running") == "false"

    joined = await bench.join(
        "room-1", "Zoë", ("role", "moderator"), ("userID", "u-1"), ("createTime", create_time)
    )
    assert joined.status_code == 302
    client_page = joined.headers["location"]
    assert urlsplit(client_page).path.startswith("/client/")
    assert tag(await bench.xml("isMeetingRunning", [("meetingID", "room-1")]), "running") == (
        "false"
    ), "a join URL alone does not put anyone in the meeting"

    assert (await bench.curl.get(client_page)).status_code == 200
    assert (await bench.curl.get(client_page)).status_code == 404, "a session token is one-use"
    running = await bench.xml("isMeetingRunning", [("meetingID", "room-1")])
    assert tag(running, "running") == "true"
    info = await bench.xml("getMeetingInfo", [("meetingID", "room-1")])
    assert tag(info, "fullName") == "Zoë"
    assert tag(info, "role") == "MODERATOR"
    assert tag(info, "userID") == "u-1"
    assert tag(info, "participantCount") == "1"


async def test_a_password_decides_the_role_when_no_role_is_sent(bench: Bench) -> None:
    await bench.create("room-1", *PASSWORDS)
    for name, password in (("Mod", "mp-1"), ("View", "ap-1")):
        answer = await bench.join("room-1", name, ("password", password))
        await bench.curl.get(answer.headers["location"])
    info = await bench.xml("getMeetingInfo", [("meetingID", "room-1")])
    assert re.findall("<role>(.*?)</role>", info) == ["MODERATOR", "VIEWER"]
    refused = await bench.join("room-1", "Nobody", ("password", "wrong"))
    assert refused.status_code == 200
    assert tag(refused.text, "messageKey") == "Params required"


async def test_join_without_redirect_answers_xml(bench: Bench) -> None:
    await bench.create("room-1")
    answer = await bench.join("room-1", "Ann", ("role", "VIEWER"), ("redirect", "false"))
    assert tag(answer.text, "messageKey") == "successfullyJoined"
    assert "/client/" in (tag(answer.text, "url") or "")


async def test_join_errors_redirect_to_the_logout_url(bench: Bench) -> None:
    created = await bench.create("room-1", ("logoutURL", "https://chat.example/bye?x=1"))
    create_time = tag(created, "createTime") or ""
    stale = await bench.join("room-1", "Ann", ("role", "VIEWER"), ("createTime", "1"))
    assert stale.headers["location"].startswith("https://chat.example/bye?x=1&errors=")
    assert join_errors(stale)[0]["key"] == "mismatchCreateTimeParam"

    bad = await bench.curl.get(f"{bench.api}/join?fullName=A&meetingID=room-1&checksum={'0' * 40}")
    assert join_errors(bad)[0]["key"] == "checksumError"
    unknown = await bench.join("nope", "Ann", ("role", "VIEWER"))
    assert join_errors(unknown)[0]["key"] == "invalidMeetingIdentifier"
    # Without a meeting (so without its logoutURL) the server's own default page is used.
    assert unknown.headers["location"].startswith("/logged-out?errors=")
    assert (await bench.curl.get(bench.base + unknown.headers["location"])).status_code == 200
    assert join_errors(await bench.join("room-1", "", ("role", "VIEWER")))[0]["key"] == (
        "missingParamFullName"
    )

    await bench.xml("end", [("meetingID", "room-1")])
    ended = await bench.join("room-1", "Ann", ("role", "VIEWER"), ("createTime", create_time))
    assert join_errors(ended)[0]["key"] == "meetingForciblyEnded"


async def test_end_then_info_shows_a_forcibly_ended_meeting(bench: Bench) -> None:
    await bench.create("room-1", *PASSWORDS)
    joined = await bench.join("room-1", "Ann", ("role", "VIEWER"))
    await bench.curl.get(joined.headers["location"])

    wrong = await bench.xml("end", [("meetingID", "room-1"), ("password", "nope")])
    assert tag(wrong, "messageKey") == "invalidPassword"
    ended = await bench.xml("end", [("meetingID", "room-1"), ("password", "mp-1")])
    assert tag(ended, "returncode") == "SUCCESS"
    assert tag(ended, "messageKey") == "sentEndMeetingRequest"

    info = await bench.xml("getMeetingInfo", [("meetingID", "room-1")])
    assert tag(info, "hasBeenForciblyEnded") == "true"
    assert tag(info, "running") == "false"
    assert tag(info, "endTime") != "0"
    assert tag(info, "participantCount") == "0"
    assert tag(await bench.xml("end", [("meetingID", "nope")]), "messageKey") == "notFound"
    missing = await bench.xml("isMeetingRunning")
    assert tag(missing, "messageKey") == "missingParamMeetingID"


# -- listings and recordings -------------------------------------------------------------------


async def test_empty_listings_say_so(bench: Bench) -> None:
    meetings = await bench.xml("getMeetings")
    assert (tag(meetings, "returncode"), tag(meetings, "messageKey")) == ("SUCCESS", "noMeetings")
    recordings = await bench.xml("getRecordings", [("meetingID", "room-1")])
    assert tag(recordings, "returncode") == "SUCCESS"
    assert tag(recordings, "messageKey") == "noRecordings"


async def test_a_recorded_meeting_leaves_a_published_recording(bench: Bench) -> None:
    await bench.create("room-1", ("record", "true"))
    joined = await bench.join("room-1", "Ann", ("role", "MODERATOR"))
    await bench.curl.get(joined.headers["location"])
    await bench.xml("end", [("meetingID", "room-1")])

    listing = await bench.xml("getRecordings", [("meetingID", "room-1")])
    record_id = tag(listing, "recordID") or ""
    assert tag(listing, "published") == "true"
    assert tag(listing, "state") == "published"
    playback = tag(listing, "url") or ""
    assert playback.startswith(bench.base)
    assert (await bench.curl.get(playback)).status_code == 200

    unpublish = [("recordID", record_id), ("publish", "false")]
    assert tag(await bench.xml("publishRecordings", unpublish), "published") == "false"
    assert tag(await bench.xml("getRecordings", [("recordID", record_id)]), "state") == (
        "unpublished"
    )
    update = [("recordID", record_id), ("meta_Topic", "Sets")]
    assert tag(await bench.xml("updateRecordings", update), "updated") == "true"
    assert tag(await bench.xml("getRecordings", [("recordID", record_id)]), "topic") == "Sets"

    assert tag(await bench.xml("deleteRecordings", [("recordID", record_id)]), "deleted") == "true"
    gone = await bench.xml("getRecordings", [("meetingID", "room-1")])
    assert tag(gone, "messageKey") == "noRecordings"
    deleted = await bench.xml("getRecordings", [("meetingID", "room-1"), ("state", "deleted")])
    assert tag(deleted, "state") == "deleted"
    again = await bench.xml("deleteRecordings", [("recordID", record_id)])
    assert tag(again, "messageKey") == "notFound"


async def test_recording_calls_check_their_parameters(bench: Bench) -> None:
    recording = bench.sim.add_recording("room-1", published=False)
    no_flag = await bench.xml("publishRecordings", [("recordID", recording.record_id)])
    assert tag(no_flag, "messageKey") == "missingParamPublish"
    no_id = await bench.xml("deleteRecordings")
    assert tag(no_id, "messageKey") == "missingParamRecordID"
    unknown = await bench.xml("publishRecordings", [("recordID", "r-x"), ("publish", "true")])
    assert tag(unknown, "messageKey") == "notFound"
    listing = await bench.xml("getRecordings", [("state", "unpublished")])
    assert tag(listing, "recordID") == recording.record_id


async def test_reset_forgets_everything(bench: Bench) -> None:
    await bench.create("room-1")
    bench.sim.add_recording("room-1")
    assert (await bench.curl.post(bench.base + "/_sim/reset")).json() == {"reset": True}
    assert bench.sim.meetings == {}
    assert bench.sim.recordings == {}
    assert tag(await bench.xml("getMeetings"), "messageKey") == "noMeetings"


def test_hand_signing_here_reproduces_the_documented_example() -> None:
    # Guards the helpers above: the docs' create example and its printed checksum.
    query = urlencode(
        [
            ("name", "Test Meeting"),
            ("meetingID", "abc123"),
            ("attendeePW", "111222"),
            ("moderatorPW", "333444"),
        ],
        quote_via=quote_plus,
    )
    signed = sign("create", query, secret="639259d4-9dd8-4b25-bf01-95f9567eaf4b")
    assert signed == (
        "name=Test+Meeting&meetingID=abc123&attendeePW=111222&moderatorPW=333444"
        "&checksum=1fcbb0c4fc1f039f73aa6d697d2db9ba7f803f17"
    )
