"""kill -9 of a real `meetbot console` in the middle of posting a reminder, then a restart:
every reminder is posted exactly once, none lost, none twice.

The first process runs on a simulated clock. Its output pipe is made small and the test stops
reading once the channel's reminder is out, so the process blocks while it DMs the invitees
(after the reminder was recorded) and is killed there. The restart, on the same store a few
minutes later (inside the grace, and past the dead process's lease), does what came due while
it was down and what comes due next, and does not post the first reminder again.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sys
from pathlib import Path

from bot.simulated import SimulatedProviders
from tests.reliability.configs import providers_yaml

INVITEES = " ".join(f"@guest{n}" for n in range(40))


def waiting_on(pid: int) -> str:
    return Path(f"/proc/{pid}/wchan").read_text()


async def blocked_writing(pid: int, seconds: float = 20) -> None:
    """Until the process sleeps in a pipe write (its reader stopped reading)."""
    for _ in range(int(seconds / 0.05)):
        if "pipe" in await asyncio.to_thread(waiting_on, pid):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the process never blocked writing ({waiting_on(pid)!r})")


async def test_a_restart_after_kill_9_posts_each_reminder_once(tmp_path):
    async with SimulatedProviders() as sims:
        config = tmp_path / "c.yaml"
        config.write_text(
            providers_yaml(sims) + f"storage: {{url: 'sqlite:///{tmp_path / 'm.db'}'}}\n"
        )
        read_end, write_end = os.pipe()
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # small: a few posts fill it
        first = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "console", "--config", str(config)),
            *("--now", "2027-03-08T08:00Z"),
            stdin=asyncio.subprocess.PIPE,
            stdout=write_end,
            stderr=asyncio.subprocess.DEVNULL,
        )
        os.close(write_end)
        assert first.stdin is not None
        first.stdin.write(
            (
                f'/meet create Crash --start "in 30m" --remind 15 --invite {INVITEES}\n'
                '/meet create Later --start "in 1h" --remind 15\n'
                "/wait 20m\n"
            ).encode()
        )
        await first.stdin.drain()
        reader = os.fdopen(read_end, "rb", buffering=0)
        seen = b""
        while b"#general > Reminder: Crash" not in seen:
            chunk = await asyncio.to_thread(reader.read, 4096)
            assert chunk, "the console ended before its reminder"
            seen += chunk
        await blocked_writing(first.pid)  # DMing the invitees, the reminder recorded
        first.send_signal(signal.SIGKILL)
        await first.wait()
        reader.close()
        assert seen.count(b"Reminder: Crash starts") == 1

        second = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "console", "--config", str(config)),
            *("--now", "2027-03-08T08:21Z"),  # six minutes after the crash
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(second.communicate(b"/wait 30m\n"), 60)
    after = out.decode()
    assert second.returncode == 0, err.decode()
    assert "Reminder: Crash starts" not in after, "posted once, before the crash"
    assert after.count("#general > Reminder: Later starts in 15 min") == 1
    assert "Crash is open now" in after
