"""The one output format every bench that `bench/run_all.py` drives speaks, and its helpers.

A bench is a script that prints whatever it likes (tables, progress) and, as its LAST line of
stdout, one JSON object:

    {"figures": [{"name": "bbb create 50 at once: meetbot / peer", "value": 2.4, "unit": "x",
                  "target": ">= 2", "pass": true}, ...]}

- `name`: what was measured, unique within the bench; `value`: a number; `unit`: "x", "/s",
  "ms", "s", "MiB", ...;
- `target`: the goal as `OP NUMBER` with OP one of `>=`, `<=` (so a reader and the driver see
  the same thing), or null for a figure shown for context only;
- `pass`: whether `value` meets `target` (null when there is no target).

`figure()` builds one entry and decides `pass` from the target, `emit()` prints the line.
The driver passes `--rounds N` to every bench; a bench takes the median over its rounds
itself (ratios per round, side by side, then their median), so its figures are final.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
from pathlib import Path
from typing import Any


def meets(value: float, target: str | None) -> bool | None:
    """Whether `value` meets a target written `>= 2` or `<= 1.5` (None without a target)."""
    if target is None:
        return None
    op, _, number = target.partition(" ")
    goal = float(number)
    if op == ">=":
        return value >= goal
    if op == "<=":
        return value <= goal
    raise ValueError(f"a target is '>= N' or '<= N', not {target!r}")


def figure(name: str, value: float, unit: str, target: str | None = None) -> dict[str, Any]:
    """One entry of the figures line."""
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "target": target,
        "pass": meets(value, target),
    }


def emit(figures: list[dict[str, Any]], **extra: Any) -> None:
    """Print the figures line: the last line a bench writes to stdout."""
    print(json.dumps({"figures": figures, **extra}), flush=True)


def mark(passed: bool | None) -> str:
    """The mark a summary line carries."""
    return {True: "PASS", False: "FALLS SHORT", None: "info"}[passed]


def load() -> str:
    """The machine's load averages (1, 5, 15 min), as `uptime` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> str:
    """Cores, CPU model and Python: the machine a figure came from."""
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"
