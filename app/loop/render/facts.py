"""Facts derived from the evidence for the issue, the task and the follow-up comments.

Error signatures are the log templates of ``app.analysis.compact`` (the same ones the analysis ranks),
at error level, counted on each side; lines are redacted before they are templated.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

from app.analysis.compact import Template, compact
from app.analysis.evidence import Evidence, LogChunk, MetricResult, Side
from app.analysis.logtemplate import Level

MAX_TEMPLATE = 240
MAX_SIGNATURES = 20
FAILED_PHASES = frozenset({"Failed", "Error", "Inconclusive"})


@dataclass(frozen=True)
class Signature:
    """An error template with how often each side logged it, and one redacted example line."""

    template: str
    canary: int
    stable: int
    example: str = ""

    @property
    def canary_only(self) -> bool:
        return self.canary > 0 and self.stable == 0


def _templates(evidence: Evidence) -> tuple[Template, ...]:
    """The log templates of both sides, from the same compaction the analysis uses (lines redacted first)."""
    return _compacted(tuple(evidence.logs))


# One incident's issue body, task and status each ask for the signatures of the same logs (often from
# fresh Evidence copies read back from the store): compact them once, ~15 ms a time for 2,000-line tails.
# A handful of entries: each holds the log tails of one incident.
@functools.lru_cache(maxsize=4)
def _compacted(logs: tuple[LogChunk, ...]) -> tuple[Template, ...]:
    return compact(logs, samples=1).templates


def error_signatures(evidence: Evidence, limit: int = MAX_SIGNATURES) -> list[Signature]:
    """Error templates the canary logged more often than stable: canary-only first, then by count."""
    found = [
        Signature(
            t.text.splitlines()[0][:MAX_TEMPLATE], t.canary, t.stable, t.samples[0] if t.samples else ""
        )
        for t in _templates(evidence)
        if t.level is Level.ERROR and t.canary > t.stable
    ]
    found.sort(key=lambda s: (not s.canary_only, -s.canary, s.template))
    return found[:limit]


def failing_signatures(evidence: Evidence, limit: int = 10) -> list[Signature]:
    """The signatures that define the failure: canary-only ones, else those the canary logged more."""
    return select_failing(error_signatures(evidence), limit)


def select_failing(signatures: list[Signature], limit: int = 10) -> list[Signature]:
    only = [signature for signature in signatures if signature.canary_only]
    return (only or signatures)[:limit]


def canary_counts(evidence: Evidence) -> Counter[str]:
    """Every template the canary logged, with its count (for verification against old signatures)."""
    return Counter(
        {t.text.splitlines()[0][:MAX_TEMPLATE]: t.canary for t in _templates(evidence) if t.canary}
    )


def failed_metrics(evidence: Evidence) -> list[MetricResult]:
    return [metric for metric in evidence.metrics if metric.phase in FAILED_PHASES]


@dataclass(frozen=True)
class Crash:
    pod: str
    container: str
    reason: str
    exit_code: int | None
    restarts: int


def crashes(evidence: Evidence) -> list[Crash]:
    """Canary containers that crashed, restarted or are stuck waiting, and pods with a pod-level reason."""
    found: list[Crash] = []
    for pod in evidence.pods_on(Side.CANARY):
        if pod.reason:
            found.append(Crash(pod.name, "", pod.reason, None, 0))
        for c in pod.containers:
            # "Completed" (exit 0) is how an init container ends well: not a crash
            reason = " / ".join(r for r in (c.reason, c.last_termination_reason) if r and r != "Completed")
            if reason or c.restart_count or (c.last_exit_code not in (None, 0)):
                found.append(Crash(pod.name, c.name, reason, c.last_exit_code, c.restart_count))
    return found
