"""ProviderHttp against a real loopback server: timeouts, retries, 5xx, redaction."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web

from providers._http import ProviderHttp, Redactor, RetryPolicy
from providers.errors import ProviderUnavailable
from providers.simulators._server import Simulator, SimulatorServer
from tests.providers.sleeps import SleepRecorder


class EchoSimulator(Simulator):
    """The smallest simulator: counts requests and answers 'ok'."""

    def __init__(self) -> None:
        super().__init__()
        self.hits = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/ping", self._ping)

    def reset(self) -> None:
        self.hits = 0

    async def _ping(self, _request: web.Request) -> web.Response:
        self.hits += 1
        return web.Response(text="ok")


@pytest.fixture
async def echo():
    sim = EchoSimulator()
    async with SimulatorServer(sim) as server, httpx.AsyncClient() as client:
        yield sim, server.url, client


async def test_success_is_returned_untouched(echo):
    sim, url, client = echo
    http = ProviderHttp("echo", client)
    response = await http.send("GET", url + "/ping", operation="ping", idempotent=True)
    assert response.text == "ok"
    assert sim.hits == 1


async def test_idempotent_call_is_retried_after_500_with_backoff(echo):
    sim, url, client = echo
    sim.faults.fail_next = 2
    sleep = SleepRecorder()
    http = ProviderHttp("echo", client, retry=RetryPolicy(attempts=3, base_delay=0.1), sleep=sleep)
    response = await http.send("GET", url + "/ping", operation="ping", idempotent=True)
    assert response.text == "ok"
    assert sleep.delays == [0.1, 0.2]


async def test_non_idempotent_call_is_never_retried(echo):
    sim, url, client = echo
    sim.faults.fail_next = 1
    sleep = SleepRecorder()
    http = ProviderHttp("echo", client, sleep=sleep)
    with pytest.raises(ProviderUnavailable) as caught:
        await http.send("GET", url + "/ping", operation="ping", idempotent=False)
    assert caught.value.status == 500
    assert caught.value.retryable
    assert sleep.delays == []
    assert sim.hits == 0


async def test_timeout_becomes_provider_unavailable(echo):
    sim, url, client = echo
    sim.faults.hang_next = 1
    http = ProviderHttp("echo", client, timeout=0.2, retry=RetryPolicy(attempts=1))
    with pytest.raises(ProviderUnavailable, match=r"no answer within 0.2s") as caught:
        await http.send("GET", url + "/ping", operation="ping", idempotent=True)
    # Whichever fires first, httpx's read timeout or the attempt's deadline of the same length.
    assert isinstance(caught.value.__cause__, httpx.TimeoutException | TimeoutError)


async def test_connection_refused_becomes_provider_unavailable():
    async with httpx.AsyncClient() as client:
        http = ProviderHttp("echo", client, retry=RetryPolicy(attempts=1))
        # Port 9 (discard) on loopback: nothing listens there in a test run.
        with pytest.raises(ProviderUnavailable, match="could not reach the server"):
            await http.send("GET", "http://127.0.0.1:9/ping", operation="ping", idempotent=True)


@pytest.mark.parametrize("url", ["http://[::1/ping", "ftp://127.0.0.1/ping", "http:///ping"])
async def test_malformed_url_becomes_provider_unavailable(url):
    # A typo in a configured provider URL must not escape as an httpx exception.
    async with httpx.AsyncClient() as client:
        http = ProviderHttp("echo", client, retry=RetryPolicy(attempts=1))
        with pytest.raises(ProviderUnavailable, match="could not reach the server"):
            await http.send("GET", url, operation="ping", idempotent=True)


async def test_log_line_has_no_query_string(echo, caplog):
    _sim, url, client = echo
    http = ProviderHttp("echo", client)
    with caplog.at_level("INFO", logger="meetbot.providers"):
        await http.send(
            "GET", url + "/ping?checksum=abc123secret", operation="ping", idempotent=True
        )
    assert "/ping" in caplog.text
    assert "abc123secret" not in caplog.text


def test_redactor_replaces_every_secret_longest_first():
    redact = Redactor(["s3cret", "s3cret-longer", None, "ab"])
    assert redact("x s3cret-longer y s3cret ab") == "x *** y *** ab"


async def test_fault_knobs_over_http(echo):
    sim, url, client = echo
    answer = await client.post(url + "/_sim/faults", json={"fail_next": 1, "latency": 0})
    assert answer.json()["fail_next"] == 1
    assert (await client.get(url + "/ping")).status_code == 500
    assert (await client.get(url + "/ping")).status_code == 200
    bad = await client.post(url + "/_sim/faults", json={"nope": 1})
    assert bad.status_code == 400
    assert "unknown knob" in bad.json()["error"]
    assert (await client.post(url + "/_sim/reset")).json() == {"reset": True}
    assert sim.hits == 0
