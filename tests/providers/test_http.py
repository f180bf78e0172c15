"""ProviderHttp on its aiohttp transport against a real loopback server: timeouts, retries,
5xx, transport failures, redaction, and the pool under 50 calls at once."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import pytest
from aiohttp import web
from yarl import URL

from providers._http import AiohttpTransport, ProviderHttp, Redactor, RetryPolicy
from providers.bigbluebutton.api import BigBlueButtonApi
from providers.errors import ProviderNotFound, ProviderUnavailable
from providers.simulators._server import Simulator, SimulatorServer
from providers.simulators.bigbluebutton import BigBlueButtonSimulator
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
    transport = AiohttpTransport()
    async with SimulatorServer(sim) as server:
        yield sim, server.url, transport
    await transport.aclose()


async def test_success_is_returned_untouched(echo):
    sim, url, client = echo
    http = ProviderHttp("echo", client)
    response = await http.send("GET", url + "/ping", operation="ping", idempotent=True)
    assert response.text == "ok"
    assert response.headers["content-type"].startswith("text/plain")
    assert sim.hits == 1


class Meter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    def provider_call(self, provider: str, call: str, seconds: float, error: str | None) -> None:
        assert seconds >= 0
        self.calls.append((provider, call, error))


async def test_measured_tells_the_meter_every_outcome_but_a_cancel():
    meter = Meter()
    http = ProviderHttp("echo", AiohttpTransport(), meter=meter)
    with http.measured("fine"):
        pass
    with pytest.raises(ProviderNotFound), http.measured("missing"):
        raise ProviderNotFound("echo", "missing", "no such room")
    with pytest.raises(KeyError), http.measured("broken"):
        raise KeyError("x")
    with pytest.raises(asyncio.CancelledError), http.measured("cancelled"):
        raise asyncio.CancelledError
    assert meter.calls == [
        ("echo", "fine", None),
        ("echo", "missing", "not_found"),
        ("echo", "broken", "other"),
    ]


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
    assert isinstance(caught.value.__cause__, TimeoutError)


async def test_connection_refused_becomes_provider_unavailable():
    transport = AiohttpTransport()
    http = ProviderHttp("echo", transport, retry=RetryPolicy(attempts=1))
    # Port 9 (discard) on loopback: nothing listens there in a test run.
    with pytest.raises(ProviderUnavailable, match="could not reach the server"):
        await http.send("GET", "http://127.0.0.1:9/ping", operation="ping", idempotent=True)
    await transport.aclose()


@pytest.mark.parametrize("url", ["http://[::1/ping", "ftp://127.0.0.1/ping", "http:///ping"])
async def test_malformed_url_becomes_provider_unavailable(url):
    # A typo in a configured provider URL must not escape as an aiohttp or yarl exception.
    transport = AiohttpTransport()
    http = ProviderHttp("echo", transport, retry=RetryPolicy(attempts=1))
    with pytest.raises(ProviderUnavailable, match="could not reach the server"):
        await http.send("GET", url, operation="ping", idempotent=True)
    await transport.aclose()


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
    sim, url, _transport = echo
    async with httpx.AsyncClient() as client:
        await _check_knobs(sim, url, client)


async def _check_knobs(sim: EchoSimulator, url: str, client: httpx.AsyncClient) -> None:
    answer = await client.post(url + "/_sim/faults", json={"fail_next": 1, "latency": 0})
    assert answer.json()["fail_next"] == 1
    assert (await client.get(url + "/ping")).status_code == 500
    assert (await client.get(url + "/ping")).status_code == 200
    bad = await client.post(url + "/_sim/faults", json={"nope": 1})
    assert bad.status_code == 400
    assert "unknown knob" in bad.json()["error"]
    assert (await client.post(url + "/_sim/reset")).json() == {"reset": True}
    assert sim.hits == 0


class WireSimulator(EchoSimulator):
    """Also records what arrived: the raw path, cookies, and which connection it came on."""

    def __init__(self) -> None:
        super().__init__()
        self.raw_paths: list[str] = []
        self.cookies: list[str | None] = []
        self.peers: set[object] = set()

    def routes(self, app: web.Application) -> None:
        super().routes(app)
        app.router.add_get("/raw", self._raw)
        app.router.add_get("/moved", self._moved)

    async def _raw(self, request: web.Request) -> web.Response:
        self.raw_paths.append(request.raw_path)
        self.cookies.append(request.headers.get("Cookie"))
        self.peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        await asyncio.sleep(0.01)  # long enough for the other calls to pile up behind it
        response = web.Response(text="ok")
        response.set_cookie("session", "abc")
        return response

    async def _moved(self, _request: web.Request) -> web.Response:
        raise web.HTTPFound("/ping")


async def test_the_url_goes_out_exactly_as_given_and_nothing_is_followed_or_kept():
    # A BigBlueButton checksum covers the query byte for byte: no re-quoting on the way.
    sim = WireSimulator()
    transport = AiohttpTransport()
    http = ProviderHttp("echo", transport, retry=RetryPolicy(attempts=1))
    raw = "/raw?fullName=Zo%C3%AB+O%27Brien&x=%7E%21%2A&checksum=ab12"
    async with SimulatorServer(sim) as server:
        for _ in range(2):
            await http.send("GET", server.url + raw, operation="raw", idempotent=True)
        moved = await http.send("GET", server.url + "/moved", operation="m", idempotent=True)
    await transport.aclose()
    assert sim.raw_paths == [raw, raw]
    assert sim.cookies == [None, None], "a provider's cookie is not sent back"
    assert moved.status_code == 302
    assert sim.hits == 0, "a redirect is the caller's to judge, not followed"


async def test_fifty_at_once_share_a_bounded_pool():
    sim = WireSimulator()
    transport = AiohttpTransport(max_connections=10)
    http = ProviderHttp("echo", transport, retry=RetryPolicy(attempts=1))
    async with SimulatorServer(sim) as server:
        answers = await asyncio.gather(
            *(
                http.send("GET", server.url + "/raw", operation="raw", idempotent=True)
                for _ in range(50)
            )
        )
    await transport.aclose()
    assert [a.text for a in answers] == ["ok"] * 50
    assert len(sim.peers) <= 10


async def test_a_closed_transport_refuses_calls():
    transport = AiohttpTransport()
    await transport.aclose()
    http = ProviderHttp("echo", transport, retry=RetryPolicy(attempts=1))
    with pytest.raises(ProviderUnavailable, match="could not reach the server"):
        await http.send("GET", "http://127.0.0.1:9/ping", operation="ping", idempotent=True)


async def test_fifty_at_once_cost_no_more_per_call_than_one_at_a_time():
    """A class clicking Join at once must not make each call dearer than calling alone.

    On httpx's pool each request polled every pooled connection while choosing one, so a
    call made 50 at once cost about 1.35x the CPU of the same call alone (and more with a
    server on its own process). CPU time, not wall time, and the median of five rounds, so a
    busy machine moves both sides alike.
    """
    secret = "s3cret-s3cret-s3cret"
    sim = BigBlueButtonSimulator(secret)
    async with SimulatorServer(sim) as server:
        api = BigBlueButtonApi(url=server.url + "/bigbluebutton/api", secret=secret)
        await api.create("m1", "Class")

        async def cpu(lanes: int, calls: int = 150) -> float:
            left = iter(range(calls))

            async def lane() -> None:
                for _ in left:
                    assert not await api.is_meeting_running("m1")

            started = time.process_time()
            await asyncio.gather(*(lane() for _ in range(lanes)))
            return time.process_time() - started

        await cpu(50, 100)  # the pool fills up
        ratios = [await cpu(50) / await cpu(1) for _ in range(5)]
        await api.aclose()
    assert statistics.median(ratios) < 1.1, ratios


def test_proxies_come_from_the_environment_once_per_host(monkeypatch: pytest.MonkeyPatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "bbb.inside.test")
    transport = AiohttpTransport()
    assert transport._proxy(URL("https://bbb.example.org/api")) == "http://proxy.test:3128"
    assert transport._proxy(URL("https://bbb.inside.test/api")) is None
    assert transport._proxy(URL("http://bbb.example.org/api")) is None, "no HTTP_PROXY set"
    monkeypatch.delenv("HTTPS_PROXY")
    # Read once: a provider's host keeps the proxy it was first given.
    assert transport._proxy(URL("https://bbb.example.org/api")) == "http://proxy.test:3128"
