"""Run every benchmark (or the ones named) and print one table: figure | measured | goal | met?

    .venv/bin/python -m bench                    # all: webhook, saturation, compaction, overhead, rss
    .venv/bin/python -m bench overhead rss       # a subset (`calls` is another name for `overhead`)
    .venv/bin/python -m bench --quick            # shorter runs, a smaller store: a first look

Each one also runs alone: ``python -m bench.webhook``, ``bench.compaction``, ``bench.overhead``,
``bench.rss``. They share the machine with their own load client and fakes, so the figures are an
upper bound of what the app needs; run them on a quiet machine (nothing else using the CPUs).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from bench import closed_loop, compaction, overhead, rss, webhook
from bench.figures import Figure, machine, table


@dataclass(frozen=True)
class Sizes:
    webhook_seconds: float
    compaction_runs: int
    incidents: int
    stored: int


FULL = Sizes(webhook_seconds=15, compaction_runs=5, incidents=50, stored=10_000)
QUICK = Sizes(webhook_seconds=5, compaction_runs=2, incidents=15, stored=2_000)


def run_webhook(sizes: Sizes) -> list[Figure]:
    """On SQLite (the default) and on the local PostgreSQL (what several replicas need)."""
    found: list[Figure] = []
    for database in ("sqlite", "postgresql"):
        found += webhook.figures(asyncio.run(webhook.measure(500, sizes.webhook_seconds, database)))
    return found


def run_saturation(sizes: Sizes) -> list[Figure]:
    """Closed loop against the naive durable intake, in the same run (``--closed-loop``)."""
    found: list[Figure] = []
    for event in ("issues.opened", "issue_comment.created"):  # unstored by Fixloop; stored and run
        load = closed_loop.Load(seconds=min(sizes.webhook_seconds, 10), event=event)
        found += closed_loop.figures(asyncio.run(closed_loop.measure(load)), load)
    return found


def run_compaction(sizes: Sizes) -> list[Figure]:
    return compaction.figures(compaction.measure(100_000, sizes.compaction_runs))


def run_overhead(sizes: Sizes) -> list[Figure]:
    return overhead.figures(asyncio.run(overhead.measure(sizes.incidents)))


def run_rss(sizes: Sizes) -> list[Figure]:
    return rss.figures(asyncio.run(rss.measure(sizes.stored)))


BENCHMARKS: dict[str, Callable[[Sizes], list[Figure]]] = {
    "webhook": run_webhook,
    "saturation": run_saturation,
    "compaction": run_compaction,
    "overhead": run_overhead,
    "rss": run_rss,
}
BROKEN = "finishes"
ALIASES = {"calls": "overhead", "memory": "rss", "ack": "webhook", "closed-loop": "saturation"}


def run(name: str, sizes: Sizes) -> list[Figure]:
    """One benchmark's figures; a benchmark that breaks is a failed row, and the others still run."""
    print(f"running {name}...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        found = BENCHMARKS[name](sizes)
    except Exception as exc:  # a broken benchmark must not hide the others' figures
        traceback.print_exc()
        return [Figure(f"{name}: did not finish", f"{type(exc).__name__}: {exc}"[:80], BROKEN, False)]
    print(f"  {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [*BENCHMARKS, *ALIASES]
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(names)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="shorter runs and a smaller store")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(names)}")
    chosen = {ALIASES.get(n, n) for n in args.names} or set(BENCHMARKS)
    sizes = QUICK if args.quick else FULL
    figures = [figure for name in BENCHMARKS if name in chosen for figure in run(name, sizes)]
    print()
    print(table(figures))
    print()
    for line in machine():
        print(line)
    if args.quick:
        print("quick mode: shorter runs and a smaller store than the goals name")
    # A missed goal is a figure to report, not an error; a benchmark that broke is.
    return 1 if any(f.goal == BROKEN for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
