"""Provider clients side by side: meetbot's against `bigbluebutton-api-python` and a bare
aiohttp client (the ceiling), on the same simulator process, in one run.

Five processes, so that no client flatters another by sharing its event loop or its GIL:
the three simulators (`bench/provider_sims.py`), and one worker for each client
(`bench/provider_worker.py meetbot|peer|bare`). Only one worker runs at a time; the simulator
is reset before each, so each meets the same empty server. Each round runs every case for
every client, the clients in a different order each round; a ratio is taken within a round
(side by side, minutes apart at most) and the figure is the median over the rounds.

Cases: BigBlueButton create, getMeetingInfo, isMeetingRunning and end, one call at a time
and 50 at once, and join-URL generation (no HTTP: CPU only, so one at a time); VConnct
create_meeting, start_meeting, join and end_meeting, and LiveMinutes createMeeting,
addParticipant, getMeetingStatus and cancelMeeting, against the bare client only (there is no
Python peer of theirs to speak of).

Targets (issue "Fast where a class of 1,500 clicks Join at 09:00"): BigBlueButton at 50 at
once at least 2x the peer and within 1.5x of the ceiling, one at a time at least 1.5x the
peer; VConnct and LiveMinutes at 50 at once within 1.5x of the ceiling.

    python bench/provider_clients.py [--rounds 3] [--scale 1.0] [--only bigbluebutton]

Needs the peer installed (`make bench` makes a virtualenv with it). Prints a table of medians,
then the figures line of `bench/figures.py`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from figures import emit, figure, load, machine

HERE = Path(__file__).resolve().parent
CONCURRENT = 50

BBB_OPS = ("create", "getMeetingInfo", "isMeetingRunning", "end")
VC_OPS = ("create_meeting", "start_meeting", "join", "end_meeting")
LM_OPS = ("createMeeting", "addParticipant", "getMeetingStatus", "cancelMeeting")
SHORT = {"bigbluebutton": "bbb", "vconnct": "vconnct", "liveminutes": "liveminutes"}


@dataclass(frozen=True)
class Case:
    provider: str
    op: str
    concurrency: int
    count: int

    kinds: ClassVar[dict[str, tuple[str, ...]]] = {
        "bigbluebutton": ("meetbot", "peer", "bare"),
        "vconnct": ("meetbot", "bare"),
        "liveminutes": ("meetbot", "bare"),
    }

    @property
    def mode(self) -> str:
        return "50 at once" if self.concurrency > 1 else "one at a time"

    @property
    def label(self) -> str:
        return f"{SHORT[self.provider]} {self.op} {self.mode}"

    @property
    def clients(self) -> tuple[str, ...]:
        return self.kinds[self.provider]


def cases(scale: float, only: str | None) -> list[Case]:
    many, few = max(50, int(1500 * scale)), max(20, int(400 * scale))
    planned = [
        *(Case("bigbluebutton", op, n, c) for op in BBB_OPS for n, c in ((1, few), (50, many))),
        Case("bigbluebutton", "join", 1, max(100, int(5000 * scale))),
        *(Case("vconnct", op, n, c) for op in VC_OPS for n, c in ((1, few), (50, many))),
        *(Case("liveminutes", op, n, c) for op in LM_OPS for n, c in ((1, few), (50, many))),
    ]
    return [case for case in planned if only is None or case.provider == only]


class Process:
    """A child of this bench that speaks one JSON line per command."""

    def __init__(self, *command: str) -> None:
        self.popen = subprocess.Popen(  # noqa: S603 - our own scripts
            [sys.executable, *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE.parent,
        )

    def line(self) -> dict[str, Any]:
        assert self.popen.stdout is not None
        text = self.popen.stdout.readline()
        if not text:
            raise RuntimeError(f"{self.popen.args!r} stopped (exit {self.popen.poll()})")
        answer: dict[str, Any] = json.loads(text)
        return answer

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.popen.stdin is not None
        self.popen.stdin.write(json.dumps(command) + "\n")
        self.popen.stdin.flush()
        return self.line()

    def stop(self) -> None:
        if self.popen.stdin is not None:
            self.popen.stdin.close()
        self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()


def reset(sims: dict[str, Any], provider: str) -> None:
    url = sims["urls"][provider] + "/_sim/reset"
    request = urllib.request.Request(url, method="POST")  # noqa: S310 - loopback http
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback http
        answer.read()


def run(rounds: int, scale: float, only: str | None) -> None:
    planned = cases(scale, only)
    sims_process = Process(str(HERE / "provider_sims.py"))
    sims = sims_process.line()
    workers = {
        kind: Process(str(HERE / "provider_worker.py"), kind, json.dumps(sims))
        for kind in ("meetbot", "peer", "bare")
    }
    # rates[case][kind] = one calls/s per round; cpu[case][kind] = CPU µs per call per round
    rates: dict[Case, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    cpu: dict[Case, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    # busy[case][kind] = the share of one core the simulator used while `kind` ran
    busy: dict[Case, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    loads = [load()]
    print(f"machine: {machine()}; load at start {loads[0]}", flush=True)
    try:
        for number in range(rounds):
            for case in planned:
                turn = number % len(case.clients)
                for kind in case.clients[turn:] + case.clients[:turn]:
                    reset(sims, case.provider)
                    answer = workers[kind].ask(
                        {
                            "provider": case.provider,
                            "op": case.op,
                            "concurrency": case.concurrency,
                            "count": case.count,
                            "tag": f"r{number}",
                        }
                    )
                    rates[case][kind].append(answer["count"] / answer["seconds"])
                    cpu[case][kind].append(answer["cpu"] / answer["count"] * 1e6)
                    busy[case][kind].append(answer["sim_cpu"] / answer["seconds"])
            loads.append(load())
            print(f"round {number + 1}/{rounds} done; load {loads[-1]}", flush=True)
    finally:
        for worker in workers.values():
            worker.stop()
        sims_process.stop()
    print_table(planned, rates, cpu, busy)
    emit(figures_of(planned, rates), machine=machine(), load=loads, rounds=rounds)


def per_round(rates: dict[str, list[float]], top: str, bottom: str) -> float:
    """The median over rounds of the ratio within each round."""
    return statistics.median(a / b for a, b in zip(rates[top], rates[bottom], strict=True))


def figures_of(
    planned: list[Case], rates: dict[Case, dict[str, list[float]]]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for case in planned:
        mine, name = rates[case], case.label
        out.append(figure(f"{name}: meetbot calls/s", statistics.median(mine["meetbot"]), "/s"))
        if "peer" in case.clients:
            target = None
            if case.op != "join":
                target = ">= 2" if case.concurrency > 1 else ">= 1.5"
            vs_peer = per_round(mine, "meetbot", "peer")
            out.append(figure(f"{name}: meetbot / peer", vs_peer, "x", target))
        target = "<= 1.5" if case.concurrency > 1 else None
        vs_ceiling = per_round(mine, "bare", "meetbot")
        out.append(figure(f"{name}: ceiling / meetbot", vs_ceiling, "x", target))
    return out


def print_table(
    planned: list[Case],
    rates: dict[Case, dict[str, list[float]]],
    cpu: dict[Case, dict[str, list[float]]],
    busy: dict[Case, dict[str, list[float]]],
) -> None:
    print()
    print(
        "medians over rounds: calls per second, their ratios, each client's CPU µs per call,"
        " and how busy the simulator was (% of one core) while meetbot / the bare client ran"
    )
    header = (
        f"{'case':<44}{'meetbot':>9}{'peer':>9}{'bare':>9}{'m/peer':>8}{'bare/m':>8}"
        f"{'µs m':>7}{'µs peer':>8}{'µs bare':>8}{'sim% m':>8}{'sim% b':>8}"
    )
    print(header)
    print("-" * len(header))
    for case in planned:
        mine = rates[case]
        peer = statistics.median(mine["peer"]) if mine["peer"] else None
        vs_peer = per_round(mine, "meetbot", "peer") if peer else None
        print(
            f"{case.label:<44}"
            f"{statistics.median(mine['meetbot']):>9.0f}"
            f"{(f'{peer:.0f}' if peer else '-'):>9}"
            f"{statistics.median(mine['bare']):>9.0f}"
            f"{(f'{vs_peer:.2f}' if vs_peer else '-'):>8}"
            f"{per_round(mine, 'bare', 'meetbot'):>8.2f}"
            f"{statistics.median(cpu[case]['meetbot']):>7.0f}"
            f"{_median_or_dash(cpu[case]['peer']):>8}"
            f"{_median_or_dash(cpu[case]['bare']):>8}"
            f"{statistics.median(busy[case]['meetbot']) * 100:>8.0f}"
            f"{statistics.median(busy[case]['bare']) * 100:>8.0f}"
        )
    print(flush=True)


def _median_or_dash(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every call count")
    parser.add_argument("--only", choices=sorted(Case.kinds), help="one provider only")
    args = parser.parse_args()
    run(args.rounds, args.scale, args.only)


if __name__ == "__main__":
    main()
