"""What every benchmark returns (figures with their goals), the machine they ran on, and the table."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    name: str
    measured: str
    goal: str = ""
    met: bool | None = None  # None: no goal, shown for context

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("yes" if self.met else "NO")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (what the webhook benchmark has always reported)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> list[str]:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"machine: {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}",
        f"date: {now}, load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    ]


def table(figures: list[Figure]) -> str:
    """A Markdown table (it reads well in a terminal too, and pastes into the README as is)."""
    rows = [("figure", "measured", "goal", "met?")]
    rows += [(f.name, f.measured, f.goal, f.verdict) for f in figures]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)
