"""The kept-alive connections of the Web API's burst calls: reuse, the server's closes, chunked
and garbled answers, timeouts and TLS, against real servers on loopback."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import trustme
from aiohttp import web

from adapters.slack import keepalive
from adapters.slack.keepalive import Origin, WireError

HEADERS = b"Content-Type: application/json\r\n"


@pytest.fixture
async def aiohttp_server() -> AsyncIterator[tuple[str, list[str]]]:
    """An aiohttp server answering every POST with its body, noting each connection's peer."""
    peers: list[str] = []

    async def echo(request: web.Request) -> web.Response:
        peers.append(str(request.transport.get_extra_info("peername")))  # type: ignore[union-attr]
        return web.json_response(
            {"got": (await request.read()).decode(), "q": request.query_string}
        )

    app = web.Application()
    app.router.add_post("/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/api/", peers
    finally:
        await runner.cleanup()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def raw_server(handler: Handler) -> tuple[asyncio.Server, str]:
    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
            await reader.read()  # until the client hangs up
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


async def test_calls_reuse_one_connection_and_carry_body_query_and_host(aiohttp_server):
    base, peers = aiohttp_server
    origin = Origin(base, timeout=5)
    try:
        for number in range(5):
            answer = await origin.post(f"/api/chat.postMessage?n={number}", b"hello", HEADERS)
            assert answer.status == 200
            assert answer.headers["content-type"].startswith("application/json")
            assert answer.body == f'{{"got": "hello", "q": "n={number}"}}'.encode()
    finally:
        await origin.close()
    assert len(set(peers)) == 1  # five calls, one connection


async def test_at_most_limit_connections_at_once(aiohttp_server):
    base, peers = aiohttp_server
    origin = Origin(base, timeout=5, limit=3)
    try:
        answers = await asyncio.gather(*(origin.post("/api/x", b"{}", HEADERS) for _ in range(30)))
    finally:
        await origin.close()
    assert [answer.status for answer in answers] == [200] * 30
    assert len(set(peers)) <= 3


async def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_call_sent_again():
    connections = 0

    async def one_answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # The server keeps the connection "alive", then drops it unannounced, as an idle
        # timeout does: the next request on it meets a closed socket.
        await asyncio.sleep(0.05)
        writer.close()
        await writer.wait_closed()

    server, base = await raw_server(one_answer_then_close)
    origin = Origin(base, timeout=5)
    try:
        assert (await origin.post("/a", b"1", HEADERS)).body == b"ok"
        await asyncio.sleep(0.2)
        assert (await origin.post("/a", b"2", HEADERS)).body == b"ok"
    finally:
        await origin.close()
        server.close()
    assert connections == 2


async def test_connection_close_and_chunked_answers_are_read_whole_and_not_reused():
    connections = 0

    async def chunked_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nConnection: close\r\n"
            b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"ok"\r\n8\r\n: false}\r\n0\r\n\r\n'
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server, base = await raw_server(chunked_then_close)
    origin = Origin(base, timeout=5)
    try:
        first = await origin.post("/a", b"1", HEADERS)
        second = await origin.post("/a", b"2", HEADERS)
    finally:
        await origin.close()
        server.close()
    assert (first.status, first.headers["retry-after"], first.body) == (429, "7", b'{"ok": false}')
    assert second.status == 429
    assert connections == 2


async def test_garbage_is_a_wire_error_and_a_silent_server_a_timeout():
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SMTP ready, not HTTP\r\n\r\n")
        await writer.drain()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)  # and no answer

    garbled, garbled_base = await raw_server(garbage)
    quiet, quiet_base = await raw_server(silent)
    answering = Origin(garbled_base, timeout=5)
    waiting = Origin(quiet_base, timeout=0.2)
    try:
        with pytest.raises(WireError, match="unreadable HTTP answer"):
            await answering.post("/a", b"1", HEADERS)
        with pytest.raises(TimeoutError):
            await waiting.post("/a", b"1", HEADERS)
        assert not waiting._idle  # the timed-out connection is not handed to the next call
    finally:
        await answering.close()
        await waiting.close()
        garbled.close()
        quiet.close()


async def test_a_connection_idle_too_long_is_not_reused(aiohttp_server, monkeypatch):
    base, peers = aiohttp_server
    origin = Origin(base, timeout=5)
    try:
        await origin.post("/api/x", b"{}", HEADERS)
        monkeypatch.setattr(keepalive, "IDLE_SECONDS", 0.0)
        await origin.post("/api/x", b"{}", HEADERS)
    finally:
        await origin.close()
    assert len(set(peers)) == 2


async def test_https_checks_the_certificate_and_the_host_name():
    authority = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(served)

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                return
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    server = await asyncio.start_server(ok, "127.0.0.1", 0, ssl=served)
    port = server.sockets[0].getsockname()[1]
    try:
        untrusting = Origin(f"https://127.0.0.1:{port}/", timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError):
            await untrusting.post("/a", b"1", HEADERS)
        await untrusting.close()

        trusting = ssl.create_default_context()
        authority.configure_trust(trusting)
        origin = Origin(f"https://127.0.0.1:{port}/", timeout=5, tls=trusting)
        assert (await origin.post("/a", b"1", HEADERS)).body == b"ok"
        misnamed = Origin(f"https://localhost:{port}/", timeout=5, tls=trusting)
        with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
            await misnamed.post("/a", b"1", HEADERS)
        await misnamed.close()
        assert (await origin.post("/a", b"1", HEADERS)).body == b"ok"
        await origin.close()
    finally:
        server.close()


def test_only_http_urls_are_taken():
    with pytest.raises(ValueError, match="not an http"):
        Origin("ftp://example.org/", timeout=5)


async def test_a_target_that_would_smuggle_a_second_request_is_refused(aiohttp_server):
    base, peers = aiohttp_server
    origin = Origin(base, timeout=5)
    try:
        for target in ("/a HTTP/1.1\r\nX-Evil: 1\r\n\r\nPOST /b", "/a b", "a", "/caf\u00e9"):
            with pytest.raises(ValueError, match="not a request target"):
                await origin.post(target, b"{}", HEADERS)
    finally:
        await origin.close()
    assert peers == [], "nothing was sent"
