"""Benchmark: Fixloop's own time and GitHub calls per incident, with instant fakes.

    .venv/bin/python -m bench.overhead [--incidents 50] [--offline] [--calls]

The real app (create_app, in-process, on a real port) gets one `rollout-aborted` notification per
distinct failing Rollout (the demo cluster copied into N namespaces, all mapped to one repository),
one at a time. For each: the wall time from sending the notification to the end of the last job it
caused (the issue opened and handed to Copilot with a stored user token), the seconds the three fakes
spent answering (subtracted: that is the fakes' own OpenAPI checking, not Fixloop), and the GitHub
requests the fake recorded. Then one incident on a second repository (what is per repository, not per
process) and a repeat notification of an incident already handed off. The LLM is the fake one, answering
at once (``--offline``: the offline analyser instead). The percentiles leave out the first incident after
start, which pays one-off costs (App token, first imports) and has its own row.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.figures import Figure, median, percentile, table
from bench.world import OWNER, REPOS, World, temporary_directory

HANDED_OFF = "agent_working"
GOAL_MS = 300
GOAL_CALLS = 8


@dataclass
class Sample:
    wall: float  # seconds, notification sent -> last job finished
    fakes: float  # seconds the fakes spent answering in that time
    calls: list[str]  # "METHOD /path" of every GitHub request
    stage: str

    @property
    def own(self) -> float:
        return self.wall - self.fakes


@dataclass
class Overhead:
    incidents: list[Sample] = field(default_factory=list)  # first one first
    other_repo: Sample | None = None
    repeat: Sample | None = None

    @property
    def handed_off(self) -> int:
        return sum(sample.stage == HANDED_OFF for sample in self.incidents)


async def one_incident(world: World, namespace: str, repo: str, event: str = "rollout-aborted") -> Sample:
    mark, fakes = len(world.github.requests), world.clock.seconds
    sent = time.time()
    await world.notify(namespace, repo, event)
    finished = await world.finished_at(sent)
    calls = [f"{r.method} {r.template or r.path} {r.status}" for r in world.github.requests[mark:]]
    return Sample(finished - sent, world.clock.seconds - fakes, calls, await world.stage_of(namespace))


async def measure(incidents: int = 50, *, offline: bool = False) -> Overhead:
    main_repo, other_repo = (f"{OWNER}/{name}" for name in REPOS)
    with temporary_directory() as tmp:
        async with World(Path(tmp), use_llm=not offline) as world:
            namespaces = [f"bench-{index:03d}" for index in range(incidents)]
            for namespace in namespaces:
                world.add_rollout(namespace, main_repo)
            world.add_rollout("bench-other", other_repo)
            result = Overhead()
            for namespace in namespaces:
                result.incidents.append(await one_incident(world, namespace, main_repo))
            result.other_repo = await one_incident(world, "bench-other", other_repo)
            result.repeat = await one_incident(world, namespaces[-1], main_repo, "analysis-run-failed")
            if world.github.violations:
                raise RuntimeError(f"requests GitHub would refuse: {world.github.violations[:3]}")
            return result


def figures(result: Overhead) -> list[Figure]:
    # The first incident after start pays one-off costs (App token, lazy imports): its own row, so the
    # percentiles describe the steady state whatever the number of incidents.
    own = [sample.own * 1000 for sample in result.incidents[1:]] or [0.0]
    wall = [sample.wall * 1000 for sample in result.incidents[1:]] or [0.0]
    cold = result.incidents[0]
    later = [len(sample.calls) for sample in result.incidents[1:]] or [0]
    first = len(result.incidents[0].calls)
    other = len(result.other_repo.calls) if result.other_repo else 0
    repeat = len(result.repeat.calls) if result.repeat else 0
    count = len(result.incidents)
    return [
        Figure(
            f"incident overhead, notification -> handed off ({result.handed_off}/{count} handed off)",
            f"median {median(own):.0f} ms, p95 {percentile(own, 0.95):.0f} ms",
            f"< {GOAL_MS} ms",
            percentile(own, 0.95) < GOAL_MS and result.handed_off == count,
        ),
        Figure(
            "  same, wall time including the fakes' answers",
            f"median {median(wall):.0f} ms, p95 {percentile(wall, 0.95):.0f} ms",
        ),
        Figure(
            "  first incident after start (App token, first imports), own / wall",
            f"{cold.own * 1000:.0f} ms / {cold.wall * 1000:.0f} ms",
        ),
        Figure(
            "GitHub calls per incident", f"{median(later):.0f}", f"<= {GOAL_CALLS}", max(later) <= GOAL_CALLS
        ),
        Figure(
            "  first incident of a repository (installation, labels)",
            f"{other}",
            f"<= {GOAL_CALLS}",
            other <= GOAL_CALLS,
        ),
        Figure("  first incident after start (+ App token, GET /app)", f"{first}"),
        Figure(
            "  repeat notification of a handed-off incident",
            f"{repeat}",
            f"<= {GOAL_CALLS}",
            repeat <= GOAL_CALLS,
        ),
    ]


def print_calls(result: Overhead) -> None:
    later = Counter(call for sample in result.incidents[1:] for call in sample.calls)
    runs = max(1, len(result.incidents) - 1)
    sections = [
        ("first incident", result.incidents[0].calls),
        ("later incidents (calls per incident)", [f"{n / runs:.1f} x {call}" for call, n in later.items()]),
        ("first incident of another repository", result.other_repo.calls if result.other_repo else []),
        ("repeat notification", result.repeat.calls if result.repeat else []),
    ]
    for title, calls in sections:
        print(f"\n{title}:")
        for call in calls:
            print(f"  {call}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=50)
    parser.add_argument("--offline", action="store_true", help="the offline analyser instead of the fake LLM")
    parser.add_argument("--calls", action="store_true", help="list the GitHub requests")
    args = parser.parse_args()
    result = asyncio.run(measure(args.incidents, offline=args.offline))
    print(table(figures(result)))
    if args.calls:
        print_calls(result)


if __name__ == "__main__":
    main()
