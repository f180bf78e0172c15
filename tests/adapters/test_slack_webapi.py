"""The lean Web API caller for posts answers as slack_sdk does: fields, or SlackApiError."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError

from adapters.slack import webapi
from adapters.slack.people import slack_error
from adapters.slack.webapi import SlackWebApi


class Server:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], str]] = []
        self.answers: list[web.Response] = []

    async def respond(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.seen.append((request.path, request.content_type, dict(request.query), body))
        assert "Authorization" not in request.headers, "a response_url carries its own key"
        return (
            web.Response(text="ok")
            if request.match_info["key"] != "gone"
            else web.Response(status=404, text="expired_url")
        )

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.seen.append((request.path, request.content_type, dict(request.query), body))
        assert request.headers["Authorization"] == "Bearer xoxb-test"
        if self.answers:
            return self.answers.pop(0)
        return web.json_response({"ok": True, "ts": "1.2", "channel": {"id": "D1"}})


@pytest.fixture
async def api() -> AsyncIterator[tuple[SlackWebApi, Server]]:
    server = Server()
    app = web.Application()
    app.router.add_post("/api/{method}", server.handle)
    app.router.add_post("/hooks/{key}", server.respond)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = SlackWebApi(f"http://127.0.0.1:{port}/api", "xoxb-test", timeout=5)
    client.test_port = port  # type: ignore[attr-defined]
    try:
        yield client, server
    finally:
        await client.close()
        await runner.cleanup()


async def test_posts_are_json_and_the_dm_open_a_form_query(api):
    client, server = api
    posted = await client.chat_postMessage(channel="C1", text="hi", blocks=[{"type": "divider"}])
    assert posted["ts"] == "1.2"
    opened = await client.conversations_open(users="U1")
    assert opened["channel"]["id"] == "D1"
    (path, kind, _query, body), (path2, kind2, query2, body2) = server.seen
    assert (path, kind) == ("/api/chat.postMessage", "application/json")
    assert json.loads(body) == {"channel": "C1", "text": "hi", "blocks": [{"type": "divider"}]}
    assert (path2, kind2, query2, body2) == (
        "/api/conversations.open",
        "application/x-www-form-urlencoded",
        {"users": "U1"},
        "",
    )


async def test_slack_errors_and_garbage_are_slack_api_errors(api):
    client, server = api
    server.answers = [
        web.json_response({"ok": False, "error": "not_in_channel"}),
        web.Response(status=500, text="<html>oops</html>"),
    ]
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="hi")
    assert slack_error(refused.value) == "not_in_channel"
    with pytest.raises(SlackApiError) as broken:
        await client.chat_update(channel="C1", ts="1.2", text="hi")
    assert slack_error(broken.value) == "HTTP 500"


async def test_a_429_is_waited_out_then_given_up(api):
    client, server = api
    limited = {"ok": False, "error": "ratelimited"}
    server.answers = [web.json_response(limited, status=429, headers={"Retry-After": "0"})]
    assert (await client.chat_postMessage(channel="C1", text="hi"))["ok"]
    assert len(server.seen) == 2, "tried again after Retry-After"
    server.answers = [
        web.json_response(limited, status=429, headers={"Retry-After": "0"}) for _ in range(3)
    ]
    with pytest.raises(SlackApiError) as given_up:
        await client.chat_postMessage(channel="C1", text="hi")
    assert slack_error(given_up.value) == "ratelimited"
    assert len(server.seen) == 5, "twice more at most, then the caller's to retry"


async def test_response_urls_get_the_message_as_json_without_the_token(api):
    client, server = api
    port = client.test_port
    respond = client.responder(f"http://127.0.0.1:{port}/hooks/T1?x=1")
    assert await respond(text="sent you a DM", response_type="ephemeral", blocks=None) == 200
    assert await client.post_response(f"http://127.0.0.1:{port}/hooks/gone", {"text": "x"}) == 404
    (path, kind, query, body), (gone, *_rest) = server.seen
    assert (path, kind, query) == ("/hooks/T1", "application/json", {"x": "1"})
    assert json.loads(body) == {"text": "sent you a DM", "response_type": "ephemeral"}
    assert gone == "/hooks/gone"


async def test_response_url_hosts_kept_are_few(api):
    client, _server = api
    port = client.test_port
    # Six spellings of the loopback address: six origins, as far as the client can tell.
    for host in ("127.0.0.1", "localhost", "127.1", "127.0.1", "2130706433", "0x7f.1"):
        assert await client.post_response(f"http://{host}:{port}/hooks/K", {"text": "x"}) == 200
    assert len(client._responses) == webapi.MAX_ORIGINS
