"""The three provider simulators started together, with demo credentials and a matching config.

Used by `meetbot simulate` (and by the demo): start them on loopback, print where they are, and
hand out a `ProvidersConfig` that points the real clients at them.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Self

from pydantic import SecretStr

from bot.config import (
    BigBlueButtonConfig,
    LiveMinutesConfig,
    ProviderName,
    ProvidersConfig,
    VConnctConfig,
)
from providers.simulators._server import SimulatorServer
from providers.simulators.bigbluebutton import BigBlueButtonSimulator
from providers.simulators.liveminutes import LiveMinutesSimulator
from providers.simulators.vconnct import VConnctSimulator

# Credentials of the local simulators only; they guard nothing but a loopback demo.
DEMO_BBB_SECRET = "demo-bbb-shared-secret-0123456789"  # noqa: S105 - simulator demo credential
DEMO_VCONNCT_LICENSE = "demo-vconnct-license-key"
DEMO_LM_ACCOUNT_SID = "ACdemo0000000000"
DEMO_LM_AUTH_TOKEN = "demo-liveminutes-auth-token"  # noqa: S105 - simulator demo credential


@dataclass(frozen=True)
class Ports:
    """Where to listen; 0 picks a free port."""

    bigbluebutton: int = 0
    vconnct: int = 0
    liveminutes: int = 0


class SimulatedProviders:
    """All three simulators on loopback: `async with SimulatedProviders() as sims:`."""

    def __init__(self, ports: Ports | None = None, host: str = "127.0.0.1") -> None:
        ports = ports or Ports()
        self.bigbluebutton = BigBlueButtonSimulator(DEMO_BBB_SECRET)
        self.vconnct = VConnctSimulator(DEMO_VCONNCT_LICENSE)
        self.liveminutes = LiveMinutesSimulator(DEMO_LM_ACCOUNT_SID, DEMO_LM_AUTH_TOKEN)
        self.servers: dict[ProviderName, SimulatorServer] = {
            "bigbluebutton": SimulatorServer(
                self.bigbluebutton, host=host, port=ports.bigbluebutton
            ),
            "vconnct": SimulatorServer(self.vconnct, host=host, port=ports.vconnct),
            "liveminutes": SimulatorServer(self.liveminutes, host=host, port=ports.liveminutes),
        }
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Self:
        try:
            for server in self.servers.values():
                await self._stack.enter_async_context(server)
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._stack.aclose()

    def providers_config(self, default: ProviderName = "bigbluebutton") -> ProvidersConfig:
        """A providers section that points the real clients at these simulators."""
        return ProvidersConfig(
            default=default,
            bigbluebutton=BigBlueButtonConfig(
                url=self.servers["bigbluebutton"].url + "/bigbluebutton/api",
                secret=SecretStr(DEMO_BBB_SECRET),
            ),
            vconnct=VConnctConfig(
                url=self.servers["vconnct"].url, license=SecretStr(DEMO_VCONNCT_LICENSE)
            ),
            liveminutes=LiveMinutesConfig(
                url=self.servers["liveminutes"].url,
                account_sid=DEMO_LM_ACCOUNT_SID,
                auth_token=SecretStr(DEMO_LM_AUTH_TOKEN),
            ),
        )

    def describe(self) -> str:
        """What a person needs to use the simulators by hand: URLs, credentials, knobs."""
        bbb = self.servers["bigbluebutton"].url
        vconnct = self.servers["vconnct"].url
        lm = self.servers["liveminutes"].url
        return "\n".join(
            [
                "meetbot provider simulators (loopback only; demo credentials):",
                f"  BigBlueButton  {bbb}/bigbluebutton/api",
                f"                 secret: {DEMO_BBB_SECRET}",
                f"  VConnct        {vconnct}/api/v1/",
                f"                 license header: {DEMO_VCONNCT_LICENSE}",
                f"  LiveMinutes    {lm}/",
                f"                 basic auth: {DEMO_LM_ACCOUNT_SID}:{DEMO_LM_AUTH_TOKEN}",
                "",
                "Fault knobs on each: GET/POST <url>/_sim/faults "
                '{"latency": 0.5, "fail_next": 1, "hang_next": 1, "malformed_next": 1}; '
                "POST <url>/_sim/reset",
                "",
                "Try:",
                f"  curl -s {bbb}/bigbluebutton/api",
                f"  curl -s -H 'license: {DEMO_VCONNCT_LICENSE}' "
                f"{vconnct}/api/v1/list_general_meeting_setting/",
                f"  curl -s -u {DEMO_LM_ACCOUNT_SID}:{DEMO_LM_AUTH_TOKEN} "
                f"-d meetingKey=demo -d hostid=alice {lm}/createMeeting",
            ]
        )
