"""The fault proxy against the real simulators: every fault kind, before and after forwarding.

"After" is the case reliability tests are about: the provider acted (the simulator holds the
meeting) and the client still saw an error. "Before" means the provider never saw the request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from bot.app import build_providers
from bot.simulated import (
    DEMO_BBB_SECRET,
    DEMO_LM_ACCOUNT_SID,
    DEMO_LM_AUTH_TOKEN,
    DEMO_VCONNCT_LICENSE,
)
from providers._http import NO_RETRY, RetryPolicy
from providers.base import MeetingSettings, Participant, RoomSpec
from providers.bigbluebutton import BigBlueButtonClient
from providers.errors import ProviderError, ProviderProtocolError, ProviderUnavailable
from providers.liveminutes import LiveMinutesClient
from providers.vconnct import VConnctClient
from tests.reliability.fault_proxy import (
    GARBAGE_BODY,
    Fault,
    FaultKind,
    FaultProxy,
    ProxiedProviders,
    When,
)

SHORT = 0.3  # seconds: the client timeout where a hang has to run into it
LM_AUTH = (DEMO_LM_ACCOUNT_SID, DEMO_LM_AUTH_TOKEN)
VCONNCT_SETTINGS = "/api/v1/list_general_meeting_setting/"
HOST = Participant("alice", "Alice")


@pytest.fixture
async def providers() -> AsyncIterator[ProxiedProviders]:
    async with ProxiedProviders(timeout=SHORT) as proxied:
        yield proxied


def liveminutes(providers: ProxiedProviders, timeout: float = SHORT) -> LiveMinutesClient:
    return LiveMinutesClient(
        url=providers.proxy("liveminutes").url,
        account_sid=DEMO_LM_ACCOUNT_SID,
        auth_token=DEMO_LM_AUTH_TOKEN,
        timeout=timeout,
        retry=NO_RETRY,
    )


# What the LiveMinutes client makes of each fault on createMeeting (never retried, as it is
# not idempotent). A drip shorter than the timeout is slow but complete, so it succeeds after;
# before, it drips the garbage body.
EXPECTED: dict[tuple[FaultKind, When], type[ProviderError] | None] = {
    ("status500", "before"): ProviderUnavailable,
    ("status500", "after"): ProviderUnavailable,
    ("hang", "before"): ProviderUnavailable,
    ("hang", "after"): ProviderUnavailable,
    ("garbage", "before"): ProviderProtocolError,
    ("garbage", "after"): ProviderProtocolError,
    ("reset", "before"): ProviderUnavailable,
    ("reset", "after"): ProviderUnavailable,
    ("drip", "before"): ProviderProtocolError,
    ("drip", "after"): None,
}


@pytest.mark.parametrize(("kind", "when"), list(EXPECTED))
async def test_every_fault_on_liveminutes_create(providers, kind, when):
    proxy = providers.proxy("liveminutes")
    fault = Fault(kind, when, path="createMeeting", interval=0.02, duration=0.2)
    proxy.add(fault)
    client = liveminutes(providers, timeout=1.0 if kind == "drip" else SHORT)
    expected = EXPECTED[kind, when]
    try:
        if expected is None:
            created = await client.create_meeting("algebra", "alice")
            assert created.meeting_key == "algebra"
        else:
            with pytest.raises(expected):
                await client.create_meeting("algebra", "alice")
    finally:
        await client.aclose()
    # After: the provider acted although the client was told otherwise; before: it did nothing.
    assert ("algebra" in providers.simulators.liveminutes.meetings) == (when == "after")
    [seen] = proxy.seen
    assert seen.fault == fault
    assert seen.method == "POST"
    assert seen.path == "/createMeeting"
    assert seen.forwarded == (when == "after")
    assert seen.upstream_status == (200 if when == "after" else None)
    assert len(proxy.requests("createMeeting", forwarded=True)) == (when == "after")
    assert proxy.pending == ()


async def test_every_client_works_through_its_proxy(providers):
    config = providers.providers_config("vconnct")
    assert config.default == "vconnct"
    assert config.bigbluebutton is not None
    assert config.vconnct is not None
    assert config.liveminutes is not None
    assert config.bigbluebutton.url == providers.proxy("bigbluebutton").url + "/bigbluebutton/api"
    assert config.bigbluebutton.secret.get_secret_value() == DEMO_BBB_SECRET
    assert config.vconnct.url == providers.proxy("vconnct").url
    assert config.vconnct.license.get_secret_value() == DEMO_VCONNCT_LICENSE
    assert config.liveminutes.url == providers.proxy("liveminutes").url
    assert (config.liveminutes.account_sid, config.liveminutes.auth_token.get_secret_value()) == (
        LM_AUTH
    )
    assert {config.bigbluebutton.timeout, config.vconnct.timeout, config.liveminutes.timeout} == {
        SHORT
    }
    assert providers.providers_config(timeout=2.5).vconnct.timeout == 2.5
    clients = build_providers(config)
    try:
        for name, client in clients.items():
            health = await client.health()
            assert health.ok, (name, health.detail)
            # BigBlueButton's checksum is over the raw query: it survived the proxy unchanged.
            assert providers.proxy(name).requests(forwarded=True), name
    finally:
        for client in clients.values():
            await client.aclose()


async def test_a_timeout_outside_the_config_range_is_refused(providers):
    with pytest.raises(ValidationError, match="timeout"):
        providers.providers_config(timeout=0)


async def test_links_the_provider_hands_out_point_at_the_proxy(providers):
    # The proxy passes the Host header on, so the simulator builds its URLs from the proxy's
    # address, as a provider behind a real reverse proxy does.
    client = liveminutes(providers)
    try:
        created = await client.create_meeting("physics", "alice")
    finally:
        await client.aclose()
    assert created.meeting_url.startswith(providers.proxy("liveminutes").url + "/")
    assert created.host_url.startswith(providers.proxy("liveminutes").url + "/e/")


async def test_faults_match_method_and_path_and_are_taken_in_order(providers):
    proxy = providers.proxy("liveminutes")
    first_500 = Fault("status500", path="addParticipant")
    get_garbage = Fault("garbage", method="GET")
    second_500 = Fault("status500", "after", path="addParticipant")
    proxy.add(first_500, get_garbage, second_500)
    client = liveminutes(providers)
    try:
        await client.create_meeting("chem", "alice")  # POST createMeeting: matches none
        assert proxy.pending == (first_500, get_garbage, second_500)
        with pytest.raises(ProviderUnavailable):
            await client.add_participant("chem", "bob")
        assert proxy.pending == (get_garbage, second_500)
        with pytest.raises(ProviderUnavailable):
            await client.add_participant("chem", "bob")
        assert proxy.pending == (get_garbage,)
        assert await client.add_participant("chem", "bob")
    finally:
        await client.aclose()
    assert [(s.path, s.fault, s.forwarded) for s in proxy.seen] == [
        ("/createMeeting", None, True),
        ("/addParticipant", first_500, False),
        ("/addParticipant", second_500, True),
        ("/addParticipant", None, True),
    ]
    assert len(proxy.requests("addParticipant", method="post", forwarded=True)) == 2
    proxy.clear()
    assert proxy.pending == ()
    assert proxy.seen == ()


async def test_after_fault_on_vconnct_create_leaves_a_meeting_behind(providers):
    proxy = providers.proxy("vconnct")
    proxy.add(Fault("reset", "after", method="POST", path="create_meeting"))
    client = VConnctClient(
        url=proxy.url, license=DEMO_VCONNCT_LICENSE, timeout=SHORT, retry=NO_RETRY
    )
    try:
        with pytest.raises(ProviderUnavailable, match="could not reach the server"):
            await client.create_meeting(MeetingSettings(), title="Biology")
    finally:
        await client.aclose()
    [meeting] = providers.simulators.vconnct.meetings.values()
    assert meeting.title == "Biology"
    assert len(proxy.requests("create_meeting", forwarded=True)) == 1


async def test_bigbluebutton_create_after_fault_is_retried_and_reaches_the_server_twice(providers):
    # BigBlueButton's create is idempotent, so the client retries it: the proxy shows that the
    # server got it twice, and that it holds the one meeting.
    proxy = providers.proxy("bigbluebutton")
    proxy.add(Fault("status500", "after", path="/create"))
    client = BigBlueButtonClient(
        url=proxy.url + "/bigbluebutton/api",
        secret=DEMO_BBB_SECRET,
        timeout=SHORT,
        retry=RetryPolicy(attempts=2, base_delay=0.01),
    )
    try:
        room = await client.create_room(RoomSpec("bbb-1", "slack:T1", "Algebra", HOST))
    finally:
        await client.aclose()
    assert room.room_id == "bbb-1"
    assert [s.fault is not None for s in proxy.requests("/create", forwarded=True)] == [True, False]
    assert list(providers.simulators.bigbluebutton.meetings) == ["bbb-1"]


async def test_garbage_body_is_the_faults_own(providers):
    proxy = providers.proxy("vconnct")
    proxy.add(Fault("garbage", "after"), Fault("garbage", body=b"\xff\x00 not json"))
    async with httpx.AsyncClient(headers={"license": DEMO_VCONNCT_LICENSE}) as http:
        first = await http.get(proxy.url + VCONNCT_SETTINGS)
        second = await http.get(proxy.url + VCONNCT_SETTINGS)
    assert (first.status_code, first.content) == (200, GARBAGE_BODY)
    assert (second.status_code, second.content) == (200, b"\xff\x00 not json")
    assert [s.forwarded for s in proxy.seen] == [True, False]


async def test_drip_keeps_a_read_timeout_from_firing_and_ends_with_the_real_answer(providers):
    proxy = providers.proxy("vconnct")
    async with httpx.AsyncClient(
        headers={"license": DEMO_VCONNCT_LICENSE}, timeout=httpx.Timeout(0.1)
    ) as http:
        direct = await http.get(providers.server("vconnct").url + VCONNCT_SETTINGS)
        proxy.add(Fault("drip", "after", interval=0.02, duration=0.4))
        started = time.perf_counter()
        dripped = await http.get(proxy.url + VCONNCT_SETTINGS)
        elapsed = time.perf_counter() - started
    # Four times the read timeout, and it never fired: a byte came every 20 ms.
    assert elapsed >= 0.4
    assert dripped.status_code == 200
    assert dripped.headers["content-type"] == direct.headers["content-type"]
    assert dripped.content.rstrip(b" ") == direct.content
    assert dripped.json() == direct.json()


async def test_drip_sends_a_byte_per_interval(providers):
    proxy = providers.proxy("vconnct")
    proxy.add(Fault("drip", interval=0.02, duration=0.2))
    arrivals: list[float] = []
    async with (
        httpx.AsyncClient() as http,
        http.stream("GET", proxy.url + VCONNCT_SETTINGS) as response,
    ):
        started = time.perf_counter()
        async for chunk in response.aiter_raw():
            arrivals.extend(time.perf_counter() - started for _ in chunk)
    assert response.status_code == 200
    assert len(arrivals) == int(response.headers["content-length"])
    assert len(arrivals) >= 11  # ten drops and the rest
    assert arrivals[-1] >= 0.15  # spread over the drip, not sent at once


async def test_reset_sends_part_of_the_body_then_resets_the_connection(providers):
    proxy = providers.proxy("vconnct")
    for when in ("before", "after"):
        proxy.add(Fault("reset", when))
        reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
        writer.write(
            b"GET " + VCONNCT_SETTINGS.encode() + b" HTTP/1.1\r\nHost: sim\r\n"
            b"license: " + DEMO_VCONNCT_LICENSE.encode() + b"\r\n\r\n"
        )
        received = b""
        with pytest.raises(ConnectionResetError):  # noqa: PT012 - reading up to the reset
            while chunk := await reader.read(65536):
                received += chunk
        writer.close()
        head, _, body = received.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        assert head.startswith(b"HTTP/1.1 200")
        assert 0 < len(body) < length, when
    assert [s.forwarded for s in proxy.seen] == [False, True]


async def test_a_hang_ends_when_the_client_gives_up(providers):
    proxy = providers.proxy("vconnct")
    proxy.add(Fault("hang"))
    async with httpx.AsyncClient(timeout=0.1) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(proxy.url + VCONNCT_SETTINGS)
        # The proxy still serves: the hung handler went with its client.
        answer = await http.get(
            proxy.url + VCONNCT_SETTINGS, headers={"license": DEMO_VCONNCT_LICENSE}
        )
    assert answer.json()["status"] is True


async def test_stopping_the_proxy_releases_hangs_and_drips_at_once():
    async with ProxiedProviders() as providers:
        proxy = providers.proxy("vconnct")
        proxy.add(Fault("hang"), Fault("drip", "after", duration=60))
        async with httpx.AsyncClient(timeout=30) as http:
            hung = asyncio.create_task(http.get(proxy.url + VCONNCT_SETTINGS))
            dripping = asyncio.create_task(
                http.get(proxy.url + VCONNCT_SETTINGS, headers={"license": DEMO_VCONNCT_LICENSE})
            )
            async with asyncio.timeout(2):
                await proxy.wait_seen(2)
                await proxy.wait_seen(1, forwarded=True)  # the drip is under way
            started = time.perf_counter()
            await proxy.stop()
            results = await asyncio.gather(hung, dripping, return_exceptions=True)
            assert time.perf_counter() - started < 1.5
    assert all(isinstance(result, httpx.TransportError) for result in results), results


async def test_an_unreachable_upstream_is_a_502():
    async with FaultProxy("http://127.0.0.1:9") as proxy, httpx.AsyncClient() as http:
        answer = await http.get(proxy.url + "/anything?x=1")
    assert answer.status_code == 502
    [seen] = proxy.seen
    assert (seen.target, seen.forwarded) == ("/anything?x=1", False)


@pytest.mark.parametrize(
    "arguments",
    [{"kind": "explode"}, {"kind": "hang", "when": "during"}, {"kind": "drip", "interval": 0}],
)
def test_a_mistyped_fault_is_refused(arguments):
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Fault(**arguments)


def test_the_proxy_has_no_url_before_it_starts():
    with pytest.raises(RuntimeError, match="not running"):
        _ = FaultProxy("http://127.0.0.1:1").url
