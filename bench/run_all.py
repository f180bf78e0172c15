"""`make bench`: every figure-printing bench in turn, then one summary line per figure.

Each bench in `BENCHES` is a script run in its own process (it starts its own children: the
simulators, fakes and clients it compares) with `--rounds N`; it prints what it likes and
ends with the figures line that `bench/figures.py` defines. To add a bench, write such a
script and add its file name to `BENCHES`.

The machine's load (as `uptime` prints it) is recorded before and after each bench: on a
shared machine, figures taken under load are slower, which is why the targets are ratios
measured side by side in the same run where there is a counterpart to measure against.

    python bench/run_all.py [--rounds 3] [--only provider_clients.py] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from figures import load, machine, mark

HERE = Path(__file__).resolve().parent

# Each with the most rounds it runs: the long ones (minutes a round, Slack's limits set the
# fan-out's pace) run once, whatever `--rounds` says.
BENCHES = {
    "provider_clients.py": None,  # provider clients against their peer and the bare ceiling
    "footprint.py": None,  # `meetbot run`: time to ready, peak RSS, lazy imports
    "slack_burst.py": None,  # 500 and 1,500 signed /meet join within a second
    "store_scale.py": 1,  # join, list, status at 0, 10,000 and 100,000 meetings
    "reminder_burst.py": 1,  # 10,000 reminders due at once
    "fanout.py": 1,  # /meet create --invite to 1,000 people, at Slack's rate limits
}


def run_one(script: str, rounds: int) -> dict[str, Any]:
    """Run one bench, passing its output through; its figures line, parsed."""
    process = subprocess.Popen(  # noqa: S603 - our own scripts
        [sys.executable, str(HERE / script), "--rounds", str(rounds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE.parent,
    )
    assert process.stdout is not None
    last: dict[str, Any] | None = None
    for line in process.stdout:
        if line.startswith('{"figures"'):
            last = json.loads(line)
        else:
            print(line, end="", flush=True)
    if process.wait() != 0 or last is None:
        raise SystemExit(f"bench/{script} failed (exit {process.returncode})")
    return last


def line_of(result: dict[str, Any]) -> str:
    value = f"{result['value']:.3g}" if abs(result["value"]) < 1000 else f"{result['value']:.0f}"
    target = f"  (target {result['target']})" if result["target"] else ""
    return f"{mark(result['pass']):<12}{result['name']}: {value}{result['unit']}{target}"


def markdown(runs: list[tuple[str, dict[str, Any], str, str]], rounds: int) -> str:
    rows = [
        f"Machine: {machine()}; {rounds} rounds; {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        "",
        "| bench | figure | value | target | mark |",
        "|---|---|---|---|---|",
    ]
    for script, result, before, after in runs:
        for item in result["figures"]:
            rows.append(
                f"| {script} | {item['name']} | {item['value']:.4g} {item['unit']} "
                f"| {item['target'] or ''} | {mark(item['pass'])} |"
            )
        rows.append(f"| {script} | load (1, 5, 15 min) before / after | {before} / {after} | | |")
    return "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", action="append", choices=list(BENCHES), help="these only")
    parser.add_argument("--markdown", metavar="FILE", help="also write the figures as a table")
    args = parser.parse_args()
    runs: list[tuple[str, dict[str, Any], str, str]] = []
    print(f"machine: {machine()}", flush=True)
    for script in args.only or BENCHES:
        before = load()
        print(f"\n== bench/{script} (load {before})", flush=True)
        cap = BENCHES[script]
        result = run_one(script, min(args.rounds, cap) if cap else args.rounds)
        runs.append((script, result, before, load()))
    print("\n== summary (median over rounds; ratios taken within each round)")
    for script, result, before, after in runs:
        print(f"-- bench/{script}  (load before {before}, after {after})")
        for item in result["figures"]:
            print(line_of(item))
    short = [i for _s, r, _b, _a in runs for i in r["figures"] if i["pass"] is False]
    met = [i for _s, r, _b, _a in runs for i in r["figures"] if i["pass"] is True]
    print(f"\n{len(met)} targets met, {len(short)} falling short", flush=True)
    if args.markdown:
        Path(args.markdown).write_text(markdown(runs, args.rounds))


if __name__ == "__main__":
    main()
