"""The LiveMinutes simulator alone, driven the way the document tells a curl user to:
`curl -u AccountSid:AuthToken -d meetingKey=... http://<server>/<method>`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from providers.simulators._server import SimulatorServer
from providers.simulators.liveminutes import LiveMinutesSimulator

SID, TOKEN = "trw76p0066423", "eurn568nfkkg9862iomdnnv987iir"  # the document's example pair
FAILED = {"resultcode": 0}


@dataclass
class Curl:
    sim: LiveMinutesSimulator
    url: str
    http: httpx.AsyncClient  # authenticated as the document says

    async def call(self, method: str, **form: str) -> object:
        answer = await self.http.post(f"{self.url}/{method}", data=form)
        assert answer.status_code == 200  # every API answer is 200; resultcode tells the rest
        assert answer.headers["Content-Type"].startswith("application/json")
        return answer.json()

    async def page(self, url: str) -> int:
        async with httpx.AsyncClient() as browser:  # a browser has no API credentials
            return (await browser.get(url)).status_code


@pytest.fixture
async def curl() -> AsyncIterator[Curl]:
    sim = LiveMinutesSimulator(SID, TOKEN)
    async with SimulatorServer(sim) as server, httpx.AsyncClient(auth=(SID, TOKEN)) as http:
        yield Curl(sim, server.url, http)


async def test_a_meeting_from_creation_to_cancellation(curl: Curl) -> None:
    base = re.escape(curl.url)
    made = await curl.call("createMeeting", meetingKey="kjhgngf", hostid="alice", title="Math")
    assert isinstance(made, dict)
    assert set(made) == {"resultcode", "meetingKey", "meetingUrl", "hostUrl"}
    assert (made["resultcode"], made["meetingKey"]) == (1, "kjhgngf")
    assert re.fullmatch(base + r"/[A-Z0-9]{6}", made["meetingUrl"])
    assert re.fullmatch(base + r"/e/LIVE[A-Z0-9]{20}", made["hostUrl"])
    assert curl.sim.meetings["kjhgngf"].form["title"] == "Math"

    added = await curl.call("addParticipant", meetingKey="kjhgngf", puid="123", nickname="Bo")
    assert isinstance(added, dict)
    assert set(added) == {"resultcode", "meetingKey", "participantUrl"}
    bob = added["participantUrl"]
    assert re.fullmatch(base + r"/e/LIVE[A-Z0-9]{20}", bob)
    assert bob != made["hostUrl"]
    assert await curl.call("getParticipantUrl", meetingKey="kjhgngf", puid="123") == {
        "resultcode": 1,
        "participantUrl": bob,
    }
    assert await curl.call("getMeetingUrl", meetingKey="kjhgngf") == {
        "resultcode": 1,
        "meetingUrl": made["meetingUrl"],
    }
    # Statuses are strings in the document's examples.
    assert await curl.call("getMeetingStatus", meetingKey="kjhgngf") == {
        "resultcode": 1,
        "status": "1",
    }
    assert await curl.call("getParticipantStatus", meetingKey="kjhgngf", puid="123") == {
        "resultcode": 1,
        "status": "2",
    }

    assert await curl.page(made["meetingUrl"]) == 200
    assert await curl.call("getMeetingStatus", meetingKey="kjhgngf") == {
        "resultcode": 1,
        "status": "1",
    }  # the meeting page alone puts nobody in the meeting
    assert await curl.page(bob) == 200
    assert await curl.call("getMeetingStatus", meetingKey="kjhgngf") == {
        "resultcode": 1,
        "status": "8",
    }
    assert await curl.call("getParticipantStatus", meetingKey="kjhgngf", puid="123") == {
        "resultcode": 1,
        "status": "10",
    }
    assert await curl.page(bob + "/leave") == 200
    assert await curl.call("getParticipantStatus", meetingKey="kjhgngf", puid="123") == {
        "resultcode": 1,
        "status": "11",
    }
    assert await curl.page(made["hostUrl"]) == 200
    assert await curl.page(made["hostUrl"] + "/leave") == 200
    assert await curl.call("getMeetingStatus", meetingKey="kjhgngf") == {
        "resultcode": 1,
        "status": "11",
    }

    assert await curl.call("cancelMeeting", meetingKey="kjhgngf") == {
        "resultcode": 1,
        "meetingKey": "kjhgngf",
    }
    assert await curl.call("getMeetingStatus", meetingKey="kjhgngf") == {
        "resultcode": 1,
        "status": "12",
    }
    for url in (made["hostUrl"], bob, made["meetingUrl"]):
        assert await curl.page(url) == 404
    assert await curl.call("getMeetingUrl", meetingKey="kjhgngf") == FAILED
    assert await curl.call("getParticipantUrl", meetingKey="kjhgngf", puid="123") == FAILED
    assert await curl.call("addParticipant", meetingKey="kjhgngf", puid="456") == FAILED
    # Cancelling again is harmless; the meeting is still there, finished.
    assert await curl.call("cancelMeeting", meetingKey="kjhgngf") == {
        "resultcode": 1,
        "meetingKey": "kjhgngf",
    }


async def test_participants_refuse_and_are_cancelled(curl: Curl) -> None:
    await curl.call("createMeeting", meetingKey="k", hostid="alice")
    first = await curl.call("addParticipant", meetingKey="k", puid="456", email="c@example.org")
    again = await curl.call("addParticipant", meetingKey="k", puid="456")
    assert first == again  # the same person keeps one URL
    assert isinstance(first, dict)
    url = first["participantUrl"]
    assert curl.sim.users == {"alice", "456"}

    assert await curl.page(url + "/refuse") == 200
    assert await curl.call("getParticipantStatus", meetingKey="k", puid="456") == {
        "resultcode": 1,
        "status": "3",
    }
    assert await curl.call("cancelParticipant", meetingKey="k", puid="456") == {
        "resultcode": 1,
        "meetingKey": "k",
    }
    assert await curl.page(url) == 404
    assert await curl.call("getParticipantStatus", meetingKey="k", puid="456") == FAILED
    assert await curl.call("cancelParticipant", meetingKey="k", puid="456") == FAILED
    host = curl.sim.meetings["k"].host_token
    assert await curl.page(f"{curl.url}/e/{host}/refuse") == 404  # the host cannot refuse


@pytest.mark.parametrize(
    ("method", "form"),
    [
        ("createMeeting", {"hostid": "alice"}),  # no meetingKey
        ("createMeeting", {"meetingKey": "new"}),  # no hostid
        ("createMeeting", {"meetingKey": "new", "hostid": ""}),
        ("createMeeting", {"meetingKey": "new", "hostid": "h" * 51}),
        ("createMeeting", {"meetingKey": "k", "hostid": "alice"}),  # the key is taken
        ("addParticipant", {"meetingKey": "k"}),
        ("addParticipant", {"meetingKey": "k", "puid": "p" * 51}),
        ("addParticipant", {"meetingKey": "unknown", "puid": "123"}),
        ("getParticipantUrl", {"meetingKey": "k", "puid": "never-added"}),
        ("getMeetingUrl", {}),
        ("getMeetingUrl", {"meetingKey": "unknown"}),
        ("cancelMeeting", {"meetingKey": "unknown"}),
        ("cancelParticipant", {"meetingKey": "k"}),
        ("getMeetingStatus", {"meetingKey": ""}),
        ("getParticipantStatus", {"meetingKey": "unknown", "puid": "123"}),
    ],
)
async def test_every_failure_is_resultcode_zero(
    curl: Curl, method: str, form: dict[str, str]
) -> None:
    await curl.call("createMeeting", meetingKey="k", hostid="alice")
    assert await curl.call(method, **form) == FAILED


async def test_a_cancelled_key_stays_taken(curl: Curl) -> None:
    await curl.call("createMeeting", meetingKey="k", hostid="alice")
    await curl.call("cancelMeeting", meetingKey="k")
    assert await curl.call("createMeeting", meetingKey="k", hostid="alice") == FAILED


async def test_limits_of_fifty_characters_are_inclusive(curl: Curl) -> None:
    made = await curl.call("createMeeting", meetingKey="k", hostid="h" * 50)
    added = await curl.call("addParticipant", meetingKey="k", puid="p" * 50)
    assert isinstance(made, dict)
    assert isinstance(added, dict)
    assert made["resultcode"] == added["resultcode"] == 1


async def test_an_empty_meeting_key_gets_one_made_by_the_server(curl: Curl) -> None:
    made = await curl.call("createMeeting", meetingKey="", hostid="alice")
    assert isinstance(made, dict)
    assert made["resultcode"] == 1
    key = made["meetingKey"]
    assert re.fullmatch(r"[a-z0-9]{7}", key)
    assert await curl.call("getMeetingStatus", meetingKey=key) == {"resultcode": 1, "status": "1"}


@pytest.mark.parametrize(
    "auth",
    [
        (SID, "wrong-token"),
        ("wrong-sid", TOKEN),
        (SID, ""),
        None,
    ],
)
async def test_wrong_or_missing_credentials_are_resultcode_zero(
    curl: Curl, auth: tuple[str, str] | None
) -> None:
    await curl.call("createMeeting", meetingKey="k", hostid="alice")
    async with httpx.AsyncClient(auth=auth) as other:
        answer = await other.post(curl.url + "/getMeetingStatus", data={"meetingKey": "k"})
    assert (answer.status_code, answer.json()) == (200, FAILED)


@pytest.mark.parametrize("header", ["Bearer abc", "Basic not-base64!", "Basic dXNlcg=="])
async def test_malformed_authorization_is_resultcode_zero(curl: Curl, header: str) -> None:
    await curl.call("createMeeting", meetingKey="k", hostid="alice")
    async with httpx.AsyncClient() as other:
        answer = await other.post(
            curl.url + "/getMeetingStatus",
            data={"meetingKey": "k"},
            headers={"Authorization": header},
        )
    assert answer.json() == FAILED
    assert curl.sim.requests[-1].basic_auth is None


@pytest.mark.parametrize("verb", ["GET", "PUT", "DELETE"])
async def test_only_post_is_allowed(curl: Curl, verb: str) -> None:
    answer = await curl.http.request(verb, curl.url + "/getMeetingStatus")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"
    assert len(curl.sim.requests) == 0


async def test_requests_are_recorded_as_they_arrived(curl: Curl) -> None:
    await curl.call("createMeeting", meetingKey="k", hostid="alice")
    # A JSON body is not what the document sends: no form fields arrive, so it fails.
    answer = await curl.http.post(curl.url + "/getMeetingStatus", json={"meetingKey": "k"})
    assert answer.json() == FAILED
    form_request, json_request = curl.sim.requests
    assert form_request.method == "createMeeting"
    assert form_request.content_type == "application/x-www-form-urlencoded"
    assert form_request.basic_auth == (SID, TOKEN)
    assert form_request.form == {"meetingKey": "k", "hostid": "alice"}
    assert (json_request.content_type, json_request.form) == ("application/json", {})


async def test_user_and_session_limits() -> None:
    sim = LiveMinutesSimulator(SID, TOKEN, max_users=2, max_sessions=2)
    async with SimulatorServer(sim) as server, httpx.AsyncClient(auth=(SID, TOKEN)) as http:
        curl = Curl(sim, server.url, http)
        assert await curl.call("createMeeting", meetingKey="a", hostid="alice") != FAILED
        assert await curl.call("addParticipant", meetingKey="a", puid="bob") != FAILED
        # alice and bob are the two users; each can be in further sessions...
        assert await curl.call("createMeeting", meetingKey="b", hostid="bob") != FAILED
        assert await curl.call("addParticipant", meetingKey="b", puid="alice") != FAILED
        # ...but a third user cannot be created, and a third session cannot either.
        assert await curl.call("addParticipant", meetingKey="b", puid="carol") == FAILED
        assert await curl.call("createMeeting", meetingKey="c", hostid="alice") == FAILED
        assert sorted(sim.meetings) == ["a", "b"]


async def test_faults_and_reset(curl: Curl) -> None:
    await curl.call("createMeeting", meetingKey="k", hostid="alice")
    curl.sim.faults.malformed_next = 1
    garbage = await curl.http.post(curl.url + "/getMeetingStatus", data={"meetingKey": "k"})
    assert garbage.status_code == 200
    assert garbage.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError, match="Expecting value"):
        garbage.json()

    assert (await curl.http.post(curl.url + "/_sim/reset")).json() == {"reset": True}
    assert curl.sim.meetings == {}
    assert curl.sim.users == set()
    assert len(curl.sim.requests) == 0
    assert await curl.call("getMeetingStatus", meetingKey="k") == FAILED
