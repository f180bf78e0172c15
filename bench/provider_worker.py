"""One client of the provider bench, in a process of its own: meetbot's, the peer's, or bare.

    python bench/provider_worker.py meetbot|peer|bare SIMS_JSON

- `meetbot`: the product's clients (`BigBlueButtonApi`, `VConnctClient`, `LiveMinutesClient`)
  as `bot/app.py` builds them, calls in flight as asyncio tasks;
- `peer`: `bigbluebutton-api-python` 0.0.11 (BigBlueButton only), blocking calls on a pool of
  threads, as its users run it (it opens a connection per call with urllib);
- `bare`: the ceiling: one aiohttp session, the same signed URL or body built by hand, the
  answer's bytes read and its success marker checked, nothing else.

It reads one command per line on stdin and answers each with one line on stdout:

    {"provider": "bigbluebutton", "op": "create", "concurrency": 50, "count": 1500, "tag": "r1"}
    -> {"seconds": 0.52, "cpu": 0.49, "sim_cpu": 0.45, "count": 1500}

(`cpu`: this worker's CPU seconds in the timed part; `sim_cpu`: the simulator process's.)

Before the clock starts the worker makes what the op needs (meetings to end, to ask about,
to join) with its own aiohttp session, so only the op itself is timed, in `concurrency`
lanes that each take the next call as soon as their last one is answered.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote_plus, urlencode

import aiohttp

from providers._http import basic_auth
from providers.base import MeetingSettings, Role
from providers.bigbluebutton.api import BigBlueButtonApi, derive_password
from providers.liveminutes.client import LiveMinutesClient
from providers.vconnct.client import VConnctClient

AsyncCall = Callable[[Any], Awaitable[object]]
SyncCall = Callable[[Any], object]

VC_SETTINGS = [{"setting": n, "value": v} for n, v in MeetingSettings().items()]
FIXED = 50  # meetings asked about by the read-only ops, in turn


class Sims:
    """Where the simulators are and their credentials (the line `provider_sims.py` prints)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.bbb = raw["urls"]["bigbluebutton"] + "/bigbluebutton/api"
        self.vconnct = raw["urls"]["vconnct"]
        self.lm = raw["urls"]["liveminutes"]
        self.secret: str = raw["bbb_secret"]
        self.license: str = raw["vconnct_license"]
        self.lm_sid: str = raw["lm_account_sid"]
        self.lm_token: str = raw["lm_auth_token"]
        self.raw = raw


def bbb_url(sims: Sims, call: str, params: list[tuple[str, str]]) -> str:
    """A signed BigBlueButton URL, the shortest way: quote_plus query, sha1 checksum."""
    query = urlencode(params, quote_via=quote_plus)
    digest = hashlib.sha1((call + query + sims.secret).encode()).hexdigest()  # noqa: S324
    return f"{sims.bbb}/{call}?{query}&checksum={digest}"


class Bare:
    """The ceiling, and the maker of every op's fixtures for all three kinds."""

    def __init__(self, sims: Sims) -> None:
        self.sims = sims
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, limit_per_host=100)
        )
        self.vc_headers = {"license": sims.license, "Accept": "application/json"}
        self.lm_headers = {"Authorization": basic_auth((sims.lm_sid, sims.lm_token))}

    async def bbb(self, call: str, params: list[tuple[str, str]]) -> bytes:
        async with self.http.get(bbb_url(self.sims, call, params)) as answer:
            body = await answer.read()
        if answer.status != 200 or b"<returncode>SUCCESS" not in body:
            raise RuntimeError(f"{call}: {answer.status} {body[:200]!r}")
        return body

    async def vc(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.sims.vconnct + path
        async with self.http.request(method, url, headers=self.vc_headers, **kwargs) as answer:
            body = await answer.read()
        if answer.status not in (200, 201):
            raise RuntimeError(f"{path}: {answer.status} {body[:200]!r}")
        return body

    async def lm(self, method: str, form: dict[str, str]) -> bytes:
        url = f"{self.sims.lm}/{method}"
        async with self.http.post(url, data=form, headers=self.lm_headers) as answer:
            body = await answer.read()
        if answer.status != 200 or b'"resultcode": 1' not in body:
            raise RuntimeError(f"{method}: {answer.status} {body[:200]!r}")
        return body

    # -- fixtures -----------------------------------------------------------------------------

    async def bbb_meetings(self, tag: str, count: int) -> list[tuple[str, str]]:
        """(meetingID, moderator password) of new meetings, with meetbot's derived passwords,
        so that every kind can end them."""
        made = [
            (f"{tag}-m{i}", derive_password(self.sims.secret, f"{tag}-m{i}", "moderator"))
            for i in range(count)
        ]
        await lanes(
            lambda made: self.bbb(
                "create",
                [
                    ("name", f"Class {made[0]}"),
                    ("meetingID", made[0]),
                    ("attendeePW", derive_password(self.sims.secret, made[0], "attendee")),
                    ("moderatorPW", made[1]),
                ],
            ),
            made,
            50,
        )
        return made

    async def vc_meetings(self, count: int, *, start: bool) -> list[str]:
        async def one(i: int) -> str:
            body = await self.vc(
                "POST",
                "/api/v1/create_meeting/",
                json={"title": f"Class {i}", "meeting_setting": VC_SETTINGS},
            )
            meeting_id: str = json.loads(body)["data"]["meeting_id"]
            if start:
                await self.vc(
                    "POST",
                    "/api/v1/start_meeting/",
                    json={"meeting_id": meeting_id, "moderator_name": "Teacher"},
                )
            return meeting_id

        results: list[str] = []

        async def keep(i: int) -> None:
            results.append(await one(i))

        await lanes(keep, list(range(count)), 50)
        return results

    async def lm_meetings(self, tag: str, count: int) -> list[str]:
        keys = [f"{tag}-m{i}" for i in range(count)]
        await lanes(
            lambda key: self.lm("createMeeting", {"meetingKey": key, "hostid": "teacher"}),
            keys,
            50,
        )
        return keys

    async def fixtures(  # noqa: PLR0911 - one branch per op
        self, provider: str, op: str, count: int, tag: str
    ) -> list[Any]:
        """The argument of each timed call (made here, untimed)."""
        if provider == "bigbluebutton":
            if op == "create":
                return [f"{tag}-c{i}" for i in range(count)]
            if op == "end":
                return await self.bbb_meetings(tag, count)
            made = await self.bbb_meetings(tag, 1 if op == "join" else FIXED)
            return [(made[i % len(made)][0], i) for i in range(count)]
        if provider == "vconnct":
            if op == "create_meeting":
                return list(range(count))
            if op in ("start_meeting", "end_meeting"):
                return await self.vc_meetings(count, start=op == "end_meeting")
            started = await self.vc_meetings(1, start=True)
            return [(started[0], i) for i in range(count)]
        if op == "createMeeting":
            return [f"{tag}-c{i}" for i in range(count)]
        if op == "cancelMeeting":
            return await self.lm_meetings(tag, count)
        fixed = await self.lm_meetings(tag, 1 if op == "addParticipant" else FIXED)
        return [(fixed[i % len(fixed)], i) for i in range(count)]

    # -- the ceiling's own calls --------------------------------------------------------------

    def call(self, provider: str, op: str) -> AsyncCall:
        """The bare client's version of `op`."""
        if provider == "bigbluebutton":
            return self._bbb_call(op)
        if provider == "vconnct":
            return self._vc_call(op)
        return self._lm_call(op)

    def _bbb_call(self, op: str) -> AsyncCall:
        if op == "create":
            return lambda mid: self.bbb(
                "create",
                [
                    ("name", f"Class {mid}"),
                    ("meetingID", mid),
                    ("attendeePW", "ap"),
                    ("moderatorPW", "mp"),
                ],
            )
        if op == "end":
            return lambda made: self.bbb("end", [("meetingID", made[0]), ("password", made[1])])
        if op == "join":

            async def join(arg: tuple[str, int]) -> str:
                mid, i = arg
                params = [
                    ("fullName", f"Student {i}"),
                    ("meetingID", mid),
                    ("role", "VIEWER"),
                    ("userID", f"U{i}"),
                ]
                return bbb_url(self.sims, "join", params)

            return join
        return lambda arg: self.bbb(op, [("meetingID", arg[0])])

    def _vc_call(self, op: str) -> AsyncCall:
        if op == "create_meeting":
            return lambda i: self.vc(
                "POST",
                "/api/v1/create_meeting/",
                json={"title": f"Class {i}", "meeting_setting": VC_SETTINGS},
            )
        if op == "start_meeting":
            return lambda mid: self.vc(
                "POST",
                "/api/v1/start_meeting/",
                json={"meeting_id": mid, "moderator_name": "Teacher"},
            )
        if op == "end_meeting":
            return lambda mid: self.vc("GET", "/api/v1/end_meeting/", params={"meeting_id": mid})
        return lambda arg: self.vc(
            "POST",
            "/api/v1/start_meeting/",
            json={"meeting_id": arg[0], "fullname": f"Student {arg[1]}", "role": "viewer"},
        )

    def _lm_call(self, op: str) -> AsyncCall:
        if op == "createMeeting":
            return lambda key: self.lm("createMeeting", {"meetingKey": key, "hostid": "teacher"})
        if op == "cancelMeeting":
            return lambda key: self.lm("cancelMeeting", {"meetingKey": key})
        if op == "addParticipant":
            return lambda arg: self.lm(
                "addParticipant",
                {"meetingKey": arg[0], "puid": f"U{arg[1]}", "nickname": f"Student {arg[1]}"},
            )
        return lambda arg: self.lm("getMeetingStatus", {"meetingKey": arg[0]})


class Meetbot:
    """The product's three clients, each with the pooled HTTP client it builds for itself."""

    def __init__(self, sims: Sims) -> None:
        self.bbb = BigBlueButtonApi(url=sims.bbb, secret=sims.secret)
        self.vc = VConnctClient(url=sims.vconnct, license=sims.license)
        self.lm = LiveMinutesClient(url=sims.lm, account_sid=sims.lm_sid, auth_token=sims.lm_token)

    def call(self, provider: str, op: str) -> AsyncCall:  # noqa: PLR0911 - one per op
        bbb, vc, lm = self.bbb, self.vc, self.lm
        if provider == "bigbluebutton":
            if op == "create":
                return lambda mid: bbb.create(mid, f"Class {mid}")
            if op == "end":
                return lambda made: bbb.end_meeting(made[0])
            if op == "getMeetingInfo":
                return lambda arg: bbb.get_meeting_info(arg[0])
            if op == "isMeetingRunning":
                return lambda arg: bbb.is_meeting_running(arg[0])

            async def join(arg: tuple[str, int]) -> str:
                mid, i = arg
                return bbb.join_url(mid, f"Student {i}", Role.ATTENDEE, user_id=f"U{i}")

            return join
        if provider == "vconnct":
            if op == "create_meeting":
                return lambda i: vc.create_meeting(MeetingSettings(), title=f"Class {i}")
            if op == "start_meeting":
                return lambda mid: vc.start_meeting(mid, "Teacher")
            if op == "end_meeting":
                return vc.end_meeting
            return lambda arg: vc.join(arg[0], f"Student {arg[1]}", "viewer")
        if op == "createMeeting":
            return lambda key: lm.create_meeting(key, "teacher")
        if op == "cancelMeeting":
            return lm.cancel_meeting
        if op == "addParticipant":
            return lambda arg: lm.add_participant(
                arg[0], f"U{arg[1]}", nickname=f"Student {arg[1]}"
            )
        return lambda arg: lm.get_meeting_status(arg[0])


class Peer:
    """bigbluebutton-api-python 0.0.11: blocking calls, one thread per call in flight."""

    def __init__(self, sims: Sims) -> None:
        # Imported by name: it is installed only in the bench's virtualenv, and has no types.
        module = importlib.import_module("bigbluebutton_api_python")
        self.bbb: Any = module.BigBlueButton(sims.bbb + "/", sims.secret)

    def call(self, op: str) -> SyncCall:
        bbb = self.bbb
        if op == "create":
            # A new dict each time: the library writes into its `params` argument.
            return lambda mid: bbb.create_meeting(
                mid, params={"name": f"Class {mid}", "attendeePW": "ap", "moderatorPW": "mp"}
            )
        if op == "end":
            return lambda made: bbb.end_meeting(made[0], made[1])
        if op == "getMeetingInfo":
            return lambda arg: bbb.get_meeting_info(arg[0])
        if op == "isMeetingRunning":
            return lambda arg: bbb.is_meeting_running(arg[0])
        return lambda arg: bbb.get_join_meeting_url(
            f"Student {arg[1]}", arg[0], "ap", params={"userID": f"U{arg[1]}"}
        )


async def lanes(call: AsyncCall, args: list[Any], concurrency: int) -> None:
    """Every call of `args` made, `concurrency` at a time."""
    pending: Iterator[Any] = iter(args)

    async def lane() -> None:
        for arg in pending:
            await call(arg)

    await asyncio.gather(*(lane() for _ in range(concurrency)))


def threaded(call: SyncCall, args: list[Any], concurrency: int, pool: ThreadPoolExecutor) -> None:
    """The same with threads: `concurrency` threads, each taking the next call when done."""
    pending = iter(args)
    lock = threading.Lock()

    def lane() -> None:
        while True:
            with lock:
                arg = next(pending, StopIteration)
            if arg is StopIteration:
                return
            call(arg)

    for future in [pool.submit(lane) for _ in range(concurrency)]:
        future.result()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of another process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def serve(kind: str, sims: Sims) -> None:
    bare = Bare(sims)
    meetbot = Meetbot(sims) if kind == "meetbot" else None
    peer = Peer(sims) if kind == "peer" else None
    pool = ThreadPoolExecutor(max_workers=64)
    loop = asyncio.get_running_loop()
    counter = itertools.count()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command = json.loads(line)
            provider, op = command["provider"], command["op"]
            count, concurrency = int(command["count"]), int(command["concurrency"])
            tag = f"{command.get('tag', 'run')}-{kind}-{next(counter)}"
            args = await bare.fixtures(provider, op, count, tag)
            sim_cpu = process_cpu(sims.raw["pid"])
            cpu, started = time.process_time(), time.perf_counter()
            if peer is not None:
                call = peer.call(op)
                await loop.run_in_executor(None, threaded, call, args, concurrency, pool)
            else:
                async_call = (meetbot.call if meetbot else bare.call)(provider, op)
                await lanes(async_call, args, concurrency)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            sim_cpu = process_cpu(sims.raw["pid"]) - sim_cpu
            answer = {"seconds": seconds, "cpu": cpu, "sim_cpu": sim_cpu, "count": count}
            print(json.dumps(answer), flush=True)
    finally:
        pool.shutdown()
        await bare.http.close()
        if meetbot is not None:
            for client in (meetbot.bbb, meetbot.vc, meetbot.lm):
                await client.aclose()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], Sims(json.loads(sys.argv[2]))))
