"""The agent scorecard as Prometheus families, from the last computed snapshot
(``app.loop.incident.scorecard``).

A collector, not live counters: the figures are totals over the store's history, the same in every
replica and after a restart. Labels are bounded: ``agent`` is one of Fixloop's agent names, ``repo``
holds the busiest repositories up to a cap, the rest summed as ``other``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

MAX_REPO_LABELS = 50
TO_VERIFIED_BUCKETS = (900, 3600, 3 * 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600)
COUNTS = {
    "handoffs": "Issues handed to the agent",
    "prs_opened": "Pull requests opened on the agent's attempts",
    "merged": "Pull requests merged on the agent's attempts",
    "verified": "Fixes verified by the canary",
    "held": "Verified fixes that held through the soak window",
    "failed_in_soak": "Verified fixes whose failure signature came back within the soak window",
    "failed_in_canary": "Fixes that failed in the canary",
}


class TallyLike(Protocol):
    handoffs: int
    prs_opened: int
    merged: int
    verified: int
    held: int
    failed_in_soak: int
    failed_in_canary: int
    to_verified: list[float]
    attempts: list[int]


class ScorecardCollector(Collector):
    def __init__(self) -> None:
        self.rows: Mapping[tuple[str, str], TallyLike] = {}  # (repo, agent) -> tally; set before a scrape

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        labels = ["agent", "repo"]
        for name, text in COUNTS.items():
            family = CounterMetricFamily(f"fixloop_agent_{name}", text, labels=labels)
            for (repo, agent), tally in self.rows.items():
                family.add_metric([agent, repo], getattr(tally, name))
            yield family
        timing = HistogramMetricFamily(
            "fixloop_agent_issue_to_verified_seconds",
            "Time from the issue (or its reopening) to the verified fix",
            labels=labels,
        )
        attempts = GaugeMetricFamily(
            "fixloop_agent_attempts_per_verified_fix", "Mean attempt number of verified fixes", labels=labels
        )
        for (repo, agent), tally in self.rows.items():
            timing.add_metric([agent, repo], _buckets(tally.to_verified), sum(tally.to_verified))
            if tally.attempts:
                attempts.add_metric([agent, repo], sum(tally.attempts) / len(tally.attempts))
        yield timing
        yield attempts

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter(())  # no fixed samples to describe; collected at scrape time


def _buckets(values: Sequence[float]) -> list[tuple[str, float]]:
    ordered = sorted(values)
    cumulative = [(str(float(b)), float(bisect.bisect_right(ordered, b))) for b in TO_VERIFIED_BUCKETS]
    return [*cumulative, ("+Inf", float(len(ordered)))]
