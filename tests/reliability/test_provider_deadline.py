"""A provider that drips its answer cannot keep a call alive past its timeout (issue item 13).

httpx's timeout is per read, so a server sending a byte every 50 ms never trips a 0.5 s one;
each attempt therefore has an overall deadline of the configured timeout, and a call with
retries is bounded by attempts x timeout + the backoff between them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.app import build_provider
from bot.config import ProviderName
from bot.simulated import (
    DEMO_BBB_SECRET,
    DEMO_LM_ACCOUNT_SID,
    DEMO_LM_AUTH_TOKEN,
    DEMO_VCONNCT_LICENSE,
)
from providers._http import RetryPolicy
from providers.base import MeetingProvider, MeetingSettings, Participant, RoomSpec
from providers.bigbluebutton import BigBlueButtonClient
from providers.errors import ProviderUnavailable
from providers.liveminutes import LiveMinutesClient
from providers.vconnct import VConnctClient
from tests.reliability.fault_proxy import Fault, ProxiedProviders

TIMEOUT = 0.5
RETRY = RetryPolicy(attempts=2, base_delay=0.05)
MARGIN = 0.4  # seconds for the loopback round trips and a busy shared machine


def drip(path: str) -> Fault:
    """A three-second drip of the real answer, a byte every 50 ms: no read timeout fires."""
    return Fault("drip", "after", path=path, interval=0.05, duration=3.0)


@pytest.fixture
async def providers() -> AsyncIterator[ProxiedProviders]:
    async with ProxiedProviders(timeout=TIMEOUT) as proxied:
        yield proxied


def bound(attempts: int) -> float:
    backoff = sum(RETRY.delay(attempt) for attempt in range(1, attempts))
    return TIMEOUT * attempts + backoff + MARGIN


Call = Callable[[ProxiedProviders], Awaitable[object]]


async def bbb_get_meetings(providers: ProxiedProviders) -> object:
    client = BigBlueButtonClient(
        url=providers.proxy("bigbluebutton").url + "/bigbluebutton/api",
        secret=DEMO_BBB_SECRET,
        timeout=TIMEOUT,
        retry=RETRY,
    )
    try:
        return await client.get_meetings()
    finally:
        await client.aclose()


async def vconnct_settings(providers: ProxiedProviders) -> object:
    client = VConnctClient(
        url=providers.proxy("vconnct").url,
        license=DEMO_VCONNCT_LICENSE,
        timeout=TIMEOUT,
        retry=RETRY,
    )
    try:
        return await client.list_general_meeting_setting()
    finally:
        await client.aclose()


async def liveminutes_status(providers: ProxiedProviders) -> object:
    client = LiveMinutesClient(
        url=providers.proxy("liveminutes").url,
        account_sid=DEMO_LM_ACCOUNT_SID,
        auth_token=DEMO_LM_AUTH_TOKEN,
        timeout=TIMEOUT,
        retry=RETRY,
    )
    try:
        await client.create_meeting("algebra", "alice")  # so the dripped answer is a good one
        return await client.get_meeting_status("algebra")
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("name", "call", "path"),
    [
        ("bigbluebutton", bbb_get_meetings, "/getMeetings"),
        ("vconnct", vconnct_settings, "list_general_meeting_setting"),
        ("liveminutes", liveminutes_status, "getMeetingStatus"),
    ],
)
async def test_a_drip_is_cut_at_the_deadline_of_every_attempt(
    providers: ProxiedProviders, name: ProviderName, call: Call, path: str
) -> None:
    proxy = providers.proxy(name)
    proxy.add(*[drip(path) for _ in range(RETRY.attempts)])
    started = time.perf_counter()
    with pytest.raises(ProviderUnavailable, match=f"no answer within {TIMEOUT:g}s") as caught:
        await call(providers)
    elapsed = time.perf_counter() - started
    assert caught.value.retryable
    assert elapsed < bound(RETRY.attempts), f"{name} took {elapsed:.2f}s"
    # Both attempts were made, each one cut short.
    assert len(proxy.requests(path, forwarded=True)) == RETRY.attempts


async def test_the_configured_timeout_is_the_deadline_of_a_create(
    providers: ProxiedProviders,
) -> None:
    # Through the config, as meetbot runs: one attempt (a create is not retried), cut at the
    # section's timeout; the provider went on to create the meeting, which is then found in
    # its list and adopted (one more quick call), not left behind.
    proxy = providers.proxy("vconnct")
    proxy.add(drip("create_meeting"))
    client: MeetingProvider = build_provider(providers.providers_config(), "vconnct")
    spec = RoomSpec("m1", "slack:T1", "Algebra", Participant("alice", "Alice"), MeetingSettings())
    started = time.perf_counter()
    try:
        room = await client.create_room(spec)
    finally:
        await client.aclose()
    assert time.perf_counter() - started < bound(1)
    assert list(providers.simulators.vconnct.meetings) == [room.room_id]
