"""What every provider simulator shares: a loopback aiohttp server and its fault knobs.

A simulator is an aiohttp `web.Application` built by its provider module; `SimulatorServer` runs
it on 127.0.0.1 and wraps every documented route in the fault middleware. The knobs are plain
attributes of `Faults` for tests, and also reachable over HTTP for the demo and for curl:

    GET  /_sim/faults              the current knobs as JSON
    POST /_sim/faults              set knobs: {"latency": 0.5, "fail_next": 2, ...}
    POST /_sim/reset               forget all state and clear the knobs

Knobs: `latency` (seconds added to every answer), `fail_next` (the next N requests answer
HTTP 500), `hang_next` (the next N requests get no answer for `hang_seconds`, so the client
times out), `malformed_next` (the next N answers are garbage of the provider's content type).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from typing import Self

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTROL_PREFIX = "/_sim/"


@dataclass
class Faults:
    """Fault-injection knobs, read on every request."""

    latency: float = 0.0
    fail_next: int = 0
    hang_next: int = 0
    hang_seconds: float = 30.0
    malformed_next: int = 0

    def update(self, values: dict[str, object]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown knob {name!r}; knobs are {', '.join(sorted(known))}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"knob {name!r} takes a number")
            setattr(self, name, float(value) if name in {"latency", "hang_seconds"} else int(value))

    def clear(self) -> None:
        for f in fields(self):
            setattr(self, f.name, f.default)


class Simulator:
    """Base of the three simulators: owns the fault knobs and builds the aiohttp app."""

    #: what a malformed answer looks like for this provider (body, content type)
    malformed_body: tuple[bytes, str] = (b"<html><body>Bad Gateway", "text/html")

    def __init__(self) -> None:
        self.faults = Faults()
        self._stopping = asyncio.Event()

    def routes(self, app: web.Application) -> None:
        """Add the provider's documented routes to `app`."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget every meeting, session, attendee and recording."""
        raise NotImplementedError

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._fault_middleware])
        app.router.add_get(CONTROL_PREFIX + "faults", self._get_faults)
        app.router.add_post(CONTROL_PREFIX + "faults", self._set_faults)
        app.router.add_post(CONTROL_PREFIX + "reset", self._reset)
        self.routes(app)
        return app

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        faults = self.faults
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if faults.hang_next > 0:
            faults.hang_next -= 1
            # Hold the answer until the client gives up (or the simulator stops).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), faults.hang_seconds)
            return web.Response(status=504, text="simulated hang")
        if faults.fail_next > 0:
            faults.fail_next -= 1
            return web.Response(status=500, text="simulated internal server error")
        if faults.malformed_next > 0:
            faults.malformed_next -= 1
            body, content_type = self.malformed_body
            return web.Response(status=200, body=body, content_type=content_type)
        return await handler(request)

    async def _get_faults(self, _request: web.Request) -> web.Response:
        return web.json_response(asdict(self.faults))

    async def _set_faults(self, request: web.Request) -> web.Response:
        try:
            values = await request.json()
            if not isinstance(values, dict):
                raise ValueError("send a JSON object of knobs")
            self.faults.update(values)
        except (ValueError, json.JSONDecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(asdict(self.faults))

    async def _reset(self, _request: web.Request) -> web.Response:
        self.reset()
        self.faults.clear()
        return web.json_response({"reset": True})

    def stop_hanging(self) -> None:
        """Release every request held by `hang_next`."""
        self._stopping.set()

    def arm(self) -> None:
        """Make `hang_next` hold requests again (after a stop and a new start)."""
        self._stopping.clear()


class SimulatorServer:
    """Runs one simulator on loopback; use as `async with SimulatorServer(sim) as server:`."""

    def __init__(self, simulator: Simulator, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        if self._runner is None:
            raise RuntimeError("simulator is not running")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        self.simulator.arm()
        self._runner = web.AppRunner(
            self.simulator.build_app(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        self.simulator.stop_hanging()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()
