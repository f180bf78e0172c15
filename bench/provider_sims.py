"""The three provider simulators in a process of their own, for `bench/provider_clients.py`.

Prints one JSON line with their base URLs and credentials on stdout, then serves on loopback
until SIGTERM/SIGINT. The simulators keep a license's room and user limits; here they are
raised, since a bench creates thousands of rooms (the driver resets the simulators between runs).

    python bench/provider_sims.py
"""

from __future__ import annotations

import asyncio
import json
import os
import signal

from bot.simulated import (
    DEMO_BBB_SECRET,
    DEMO_LM_ACCOUNT_SID,
    DEMO_LM_AUTH_TOKEN,
    DEMO_VCONNCT_LICENSE,
    SimulatedProviders,
)


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sims = SimulatedProviders()
    sims.vconnct.max_rooms = 10**7
    sims.liveminutes.max_users = 10**7
    sims.liveminutes.max_sessions = 10**7
    async with sims:
        urls = {name: server.url for name, server in sims.servers.items()}
        print(
            json.dumps(
                {
                    "urls": urls,
                    "bbb_secret": DEMO_BBB_SECRET,
                    "vconnct_license": DEMO_VCONNCT_LICENSE,
                    "lm_account_sid": DEMO_LM_ACCOUNT_SID,
                    "lm_auth_token": DEMO_LM_AUTH_TOKEN,
                    "pid": os.getpid(),  # the workers read its CPU time
                }
            ),
            flush=True,
        )
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
