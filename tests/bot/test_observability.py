"""The operator's view: `/metrics` after a lifecycle, `/readyz` saying what is not ready.

`meetbot run` itself (in this process) serves Slack in HTTP mode on `server.port` against the
fake Slack Web API and the provider simulators; real signed requests run a lifecycle, then
`/metrics` is read over loopback. The late and failed jobs come from the real job loop on the
bench's clock, which the test moves by hand.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
from urllib.parse import urlencode

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.config import parse_config
from bot.metrics import Metrics
from bot.readiness import Readiness
from bot.run import run
from bot.scheduler import JobLoop
from bot.server import InboundServer
from bot.simulated import SimulatedProviders
from commands.model import Meeting, Platform
from commands.replies import Reply
from commands.schedule.jobs import JobHandlers
from commands.store import MeetingStore
from tests.adapters.fake_slack import FakeSlack, slack_adapter
from tests.adapters.slack_rig import SECRET, default_users, signed_headers
from tests.bot.test_run import providers_and_storage
from tests.commands.conftest import Bench, Recorder, bench, person

__all__ = ["bench"]

PROVIDERS = ("bigbluebutton", "vconnct", "liveminutes")
FAMILIES = {
    "meetbot_commands",
    "meetbot_ack_seconds",
    "meetbot_provider_call_seconds",
    "meetbot_provider_errors",
    "meetbot_dm_fallbacks",
    "meetbot_jobs_due",
    "meetbot_jobs_late",
    "meetbot_jobs_failed",
    "meetbot_reminders_sent",
}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> tuple[set[str], Samples]:
    """The families named in an exposition, and each sample by (name, labels)."""
    families = list(text_string_to_metric_families(text))
    found: Samples = {}
    for family in families:
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return {family.name for family in families}, found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def matching(found: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= ls)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def command_body(fake: FakeSlack, text: str, user: str = "UALICE") -> str:
    return urlencode(
        {
            "command": "/meet",
            "text": text,
            "team_id": "T1",
            "channel_id": "C1",
            "user_id": user,
            "user_name": user.lower(),
            "response_url": f"{fake.url}/respond/{user}",
        }
    )


def said(fake: FakeSlack, words: str) -> bool:
    return any(words in str(c.params.get("text")) for c in fake.of("response_url"))


async def test_metrics_of_meetbot_run_after_a_lifecycle(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fake = FakeSlack(users=default_users())
    await fake.start()
    async with SimulatedProviders() as sims:
        config = parse_config(
            providers_and_storage(sims, tmp_path)
            + f"server: {{port: {port}, host: 127.0.0.1, public_url: '{base}'}}\n"
            + "slack:\n  mode: http\n  bot_token: xoxb-run\n"
            + f"  signing_secret: {SECRET}\n  api_url: {fake.url}/api/\n",
            env={},
        )
        stop = asyncio.Event()
        running = asyncio.create_task(run(config, stop))
        async with httpx.AsyncClient(timeout=10) as http:

            async def meet(text: str, user: str = "UALICE") -> None:
                body = command_body(fake, text, user)
                answer = await http.post(
                    f"{base}/slack/events", content=body, headers=signed_headers(body)
                )
                assert answer.status_code == 200

            for _ in range(200):  # until it listens and Slack is connected
                try:
                    if (await http.get(f"{base}/readyz")).status_code == 200:
                        break
                except httpx.ConnectError:
                    pass
                await asyncio.sleep(0.05)
            ready = await http.get(f"{base}/readyz")
            assert (ready.status_code, ready.json()) == (200, {"ready": True})

            await meet("create Algebra")
            await fake.wait_until(lambda: said(fake, "I sent you a direct message"))
            fake.errors["chat.postMessage"] = "cannot_dm_bot"  # Bob's DMs are closed
            await meet("join Algebra", "UBOB")
            await fake.wait_until(lambda: said(fake, "could not send you a direct message"))
            del fake.errors["chat.postMessage"]
            await meet("end Algebra", "UBOB")
            await fake.wait_until(lambda: said(fake, "Only moderators can end Algebra"))
            await meet("fly away")  # not a subcommand: counted as unknown, not by its text
            await fake.wait_until(lambda: said(fake, "there is no /meet fly"))
            # Inside its reminder's lead: the scheduler posts the reminder at once.
            await meet('create Soon --start "in 5m"')
            await fake.wait_until(
                lambda: any(
                    "Reminder: Soon" in str(c.params.get("text"))
                    for c in fake.of("chat.postMessage")
                )
            )
            sims.bigbluebutton.faults.fail_next = 10
            await meet("create Doomed")
            await fake.wait_until(lambda: said(fake, "not answering"))
            sims.bigbluebutton.faults.clear()
            answer = await http.get(f"{base}/metrics")
        stop.set()
        assert await asyncio.wait_for(running, 15) == 0
    await fake.stop()

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    families, found = samples(answer.text)
    assert families >= FAMILIES
    total = "meetbot_commands_total"
    assert value(found, total, subcommand="create", outcome="ok") == 2
    assert value(found, total, subcommand="join", outcome="ok") == 1
    assert value(found, total, subcommand="end", outcome="refused") == 1
    assert value(found, total, subcommand="unknown", outcome="refused") == 1
    assert value(found, total, subcommand="create", outcome="error") == 1
    assert not any("fly" in str(labels) for _name, labels in found), "no user text as a label"
    assert value(found, "meetbot_ack_seconds_count", platform="slack") == 6
    assert value(found, "meetbot_ack_seconds_bucket", platform="slack", le="3.0") == 6
    calls = matching(found, "meetbot_provider_call_seconds_count", provider="bigbluebutton")
    assert calls >= 3
    assert matching(found, "meetbot_provider_errors_total", error="unavailable") >= 1
    assert value(found, "meetbot_dm_fallbacks_total", platform="slack") == 1
    assert value(found, "meetbot_jobs_due_total", kind="remind") == 1
    assert value(found, "meetbot_reminders_sent_total", platform="slack") == 1


class Refusing(Recorder):
    """A chat that refuses every post (the bot was removed from the channel)."""

    async def announce(self, meeting: Meeting, reply: Reply) -> str | None:
        raise RuntimeError("channel_not_found")


async def test_late_and_failed_jobs_are_counted(bench: Bench):
    metrics = Metrics()
    alice = person("alice")
    for title in ("Algebra", "Biology"):
        await bench.say(alice, f'create {title} --start "in 30m" --remind 10')
    # The bot was down: the reminders (due in 20 min) are taken up 3 min late, within grace;
    # the chat refuses them first (a post that fails is retried after a backoff).
    bench.clock.advance(minutes=23)
    handlers = JobHandlers(bench.service)
    refused = JobLoop(handlers, {Platform.SLACK: Refusing()}, bench.clock, telemetry=metrics)
    assert await refused.run_due() == 0
    bench.clock.advance(minutes=1)
    recorder = Recorder()
    loop = JobLoop(handlers, {Platform.SLACK: recorder}, bench.clock, telemetry=metrics)
    assert await loop.run_due() == 2
    assert len(recorder.texts()) == 2

    _families, found = samples(metrics.exposition().decode())
    assert value(found, "meetbot_jobs_failed_total", kind="remind", final="false") == 2
    assert value(found, "meetbot_jobs_due_total", kind="remind") == 4
    # Late by their first time; a retry is due at its backoff's end, and on time then.
    assert value(found, "meetbot_jobs_late_total", kind="remind") == 2
    assert value(found, "meetbot_reminders_sent_total", platform="slack") == 2


async def test_readyz_says_what_is_not_ready_until_it_is(tmp_path, bench: Bench):
    fake = FakeSlack(users=default_users())
    await fake.start()
    folder = tmp_path / "store"
    folder.mkdir()
    store = await MeetingStore.open(f"sqlite:///{folder / 'ready.db'}")
    server = InboundServer()
    port = await server.start("127.0.0.1", 0)
    adapter = slack_adapter(bench, fake, signing_secret=SECRET)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

            async def readyz() -> tuple[int, object]:
                answer = await http.get("/readyz")
                return answer.status_code, answer.json()

            assert await readyz() == (503, {"ready": False, "not_ready": {"bot": "starting"}})
            server.readiness = Readiness(store, expected=["slack"])
            assert await readyz() == (503, {"ready": False, "not_ready": {"slack": "not started"}})
            server.readiness.attach("slack", adapter.not_ready)
            assert (await readyz())[1] == {
                "ready": False,
                "not_ready": {"slack": "bot token not verified"},
            }
            await adapter.verify()
            assert (await readyz())[1] == {"ready": False, "not_ready": {"slack": "not connected"}}
            server.slack = await adapter.shared_http()
            assert await readyz() == (200, {"ready": True})
            assert (await http.get("/healthz")).text == "ok"

            # The store's folder is gone (a lost volume): the next query fails.
            await store.close()
            shutil.rmtree(folder)
            status, body = await readyz()
            assert status == 503
            assert body["not_ready"]["store"].startswith("failed (")  # type: ignore[index]
            assert (await http.get("/healthz")).status_code == 200, "alive all the same"
    finally:
        await adapter.close()
        await server.close()
        await store.close()
        await fake.stop()


DEMO_LIFECYCLE = """\
/meet create "Algebra {provider}" --provider {provider}
/as bob
/meet join Algebra {provider}
/meet end Algebra {provider}
/as alice
/meet end Algebra {provider}
"""
SCHEDULED = """\
/meet create Weekly --start "in 30m" --remind 10
/wait 25m
/as done
"""


async def test_the_demo_serves_its_metrics_while_it_runs():
    # A real `meetbot demo` (its chat on stdin, kept open): it says where it serves, a
    # lifecycle on each provider and a reminder run, then /metrics is read from outside.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--now",
        "2027-03-17T08:00Z",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None

    async def until(words: str) -> str:
        assert process.stdout is not None
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, "the demo ended early"
            if words in line:
                return line

    try:
        serving = await until("Health and metrics:")
        metrics_url = next(word for word in serving.split() if word.endswith("/metrics"))
        script = "".join(DEMO_LIFECYCLE.format(provider=p) for p in PROVIDERS) + SCHEDULED
        process.stdin.write(script.encode())
        await process.stdin.drain()
        await until("(you are now done)")  # every line before it has run
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(metrics_url)
            ready = await http.get(metrics_url.replace("/metrics", "/readyz"))
    finally:
        process.stdin.close()
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()

    assert ready.status_code == 200
    families, found = samples(answer.text)
    assert families >= FAMILIES
    total = "meetbot_commands_total"
    assert value(found, total, subcommand="create", outcome="ok") == 4
    assert value(found, total, subcommand="join", outcome="ok") == 3
    assert value(found, total, subcommand="end", outcome="refused") == 3
    assert value(found, total, subcommand="end", outcome="ok") == 3
    for provider in PROVIDERS:
        calls = matching(found, "meetbot_provider_call_seconds_count", provider=provider)
        assert calls >= 2, provider
    assert value(found, "meetbot_jobs_due_total", kind="remind") == 1
    assert value(found, "meetbot_reminders_sent_total", platform="console") == 1
