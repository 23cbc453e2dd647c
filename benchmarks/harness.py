"""What every comparison shares: timing a process with its peak memory, interleaving the
sides round by round, the median ratio, and the one results table with the machine it ran on.

A comparison's figures come from one run: shipyard and the peer take turns (A, B, A, B …),
so a noisy neighbour slows both, and the ratio reported is the median of the per-round
ratios. A peer that could not run is a row saying "not measured" and why.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_mb: float


def timed(command: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """Wall time and peak resident memory of one process, from its start to its exit.

    The peak comes from GNU time (`/usr/bin/time`, Debian package `time`), which starts the
    command from its own small process: a child forked straight from this one would carry
    this process's memory into its high-water mark. Any interpreter in any virtualenv is
    measured the same way.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".maxrss") as maxrss:
        started = time.perf_counter()
        done = subprocess.run([GNU_TIME, "-f", "%M", "-o", maxrss.name, *command], env=env, cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - started
        report = maxrss.read().strip().splitlines()
    if done.returncode != 0:
        tail = [line for line in done.stderr.decode(errors="replace").strip().splitlines()
                if not line.startswith("Command exited with non-zero status")][-5:]
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: " + " / ".join(tail))
    return Sample(seconds, int(report[-1]) / 1024)


def interleave(rounds: int, sides: Mapping[str, Callable[[], T]]) -> dict[str, list[T]]:
    """Each side once per round, in the order given: A, B, A, B …"""
    results: dict[str, list[T]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            results[name].append(side())
    return results


def median_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median over rounds of numerator / denominator, each round with its own pair."""
    if len(numerators) != len(denominators) or not numerators:
        raise ValueError("a ratio needs the same, non-zero number of rounds on both sides")
    return statistics.median(n / d if d else float("inf") for n, d in zip(numerators, denominators))


@dataclass(frozen=True)
class Row:
    """One compared figure. ``ratio`` > 1 means shipyard is better (faster, smaller, more req/s)."""

    what: str
    peer: str
    shipyard: str
    peer_value: str
    ratio: float | None
    note: str = ""


def measured(what: str, peer: str, unit: str, ours: Sequence[float], theirs: Sequence[float], *,
             higher_is_better: bool, digits: int = 2) -> Row:
    """A row from per-round figures of both sides: medians shown, median per-round ratio."""
    ratio = median_ratio(ours, theirs) if higher_is_better else median_ratio(theirs, ours)
    return Row(what, peer, f"{statistics.median(ours):,.{digits}f} {unit}",
               f"{statistics.median(theirs):,.{digits}f} {unit}", ratio)


def not_measured(what: str, peer: str, ours: str, reason: str) -> Row:
    return Row(what, peer, ours, "not measured", None, reason)


def machine() -> dict[str, str]:
    """Date and the machine's shape, as docs/benchmarks.md records them."""
    memory_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:"))
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "arch": platform.machine(),
            "cpus": str(os.cpu_count()), "memory": f"{memory_kib / 1024 ** 2:.0f} GiB",
            "python": platform.python_version()}


def save_rows(path: Path, rows: Sequence[Row]) -> None:
    """Rows of one benchmark script, appended as JSON lines for `run_all.py` to gather."""
    with path.open("a") as out:
        for row in rows:
            out.write(json.dumps(asdict(row)) + "\n")


def load_rows(path: Path) -> list[Row]:
    if not path.exists():
        return []
    return [Row(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def _ratio(row: Row) -> str:
    return "—" if row.ratio is None else f"{row.ratio:,.1f}×"


def render_text(rows: Sequence[Row]) -> str:
    header = ("what", "peer", "shipyard", "peer figure", "ratio")
    cells = [header] + [(r.what, r.peer, r.shipyard, r.peer_value if not r.note else f"{r.peer_value}: {r.note}",
                         _ratio(r)) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(header))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: Sequence[Row], where: Mapping[str, str], command: str) -> str:
    lines = [f"Measured {where['date']} on {where['arch']}, {where['cpus']} CPUs, {where['memory']}, "
             f"Python {where['python']}, by `{command}`. Ratio > 1: shipyard better (median of the "
             "per-round ratios, the sides interleaved).", "",
             "| what | peer | shipyard | peer | ratio |", "|---|---|---|---|---|"]
    for r in rows:
        peer_value = r.peer_value if not r.note else f"{r.peer_value} ({r.note})"
        lines.append(f"| {r.what} | {r.peer} | {r.shipyard} | {peer_value} | {_ratio(r)} |")
    return "\n".join(lines) + "\n"
