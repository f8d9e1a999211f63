"""Facts derived from the evidence for the issue, the task and the follow-up comments.

Error signatures are log templates: an error line with its variable parts (times, numbers, ids, addresses)
replaced by placeholders, counted on each side. Lines are redacted before they are templated, so a secret
is never half-masked by the templating and then missed by the redactor.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from app.analysis.evidence import Evidence, LogChunk, MetricResult, Side
from app.analysis.redact import redact

MAX_TEMPLATE = 240
MAX_SIGNATURES = 20
MAX_LINES_PER_CHUNK = 2000  # the tail of each log is enough to find its errors
FAILED_PHASES = frozenset({"Failed", "Error", "Inconclusive"})

_ERROR_RE = re.compile(
    r"\b(error|err|exception|fatal|panic|panicked|traceback|critical|crit|severe|fail(?:ed|ure)?|"
    r"crash(?:ed)?|oom|segfault|refused|timed? ?out|unavailable|denied)\b|\bE\d{4} ",
    re.IGNORECASE,
)
_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_UNIT = r"(?:ms|s|m|h|b|kb|mb|gb|kib|mib|gib|%)"
_LEADING_TIME_RE = re.compile(rf"^\[?{_TIME}\]?\s*")
# Only words holding a digit can hold a variable part: template those alone (a date keeps its time).
_DIGIT_WORD_RE = re.compile(r"\S*\d\S*(?: \d{2}:\d{2}:\d{2}\S*)?")
# One pass over the line; at each position the first alternative that matches wins.
_VARIABLE_RE = re.compile(
    "|".join(
        (
            rf"(?P<time>\b{_TIME})",
            r"(?P<uuid>\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b)",
            r"(?P<ip>\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b)",
            r"(?P<hex>\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b)",
            rf"(?P<n>(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?{_UNIT}?(?![A-Za-z_]))",
        )
    ),
    re.IGNORECASE,
)


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


def is_error_line(line: str) -> bool:
    return bool(_ERROR_RE.search(line))


def _placeholder(match: re.Match[str]) -> str:
    return f"<{match.lastgroup}>"


def template_of(line: str) -> str:
    """The template of an already redacted log line (only its start: templates are bounded anyway)."""
    text = _LEADING_TIME_RE.sub("", line[: MAX_TEMPLATE * 2])
    text = _DIGIT_WORD_RE.sub(lambda word: _VARIABLE_RE.sub(_placeholder, word.group()), text)
    return " ".join(text.split())[:MAX_TEMPLATE]


def _redacted_lines(chunk: LogChunk) -> list[str]:
    return redact("\n".join(chunk.lines[-MAX_LINES_PER_CHUNK:])).splitlines()


def _count(evidence: Evidence, side: Side, examples: dict[str, str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for chunk in evidence.logs_on(side):
        for line in _redacted_lines(chunk):
            if is_error_line(line):
                template = template_of(line)
                counts[template] += 1
                examples.setdefault(template, line.strip())
    return counts


def error_signatures(evidence: Evidence, limit: int = MAX_SIGNATURES) -> list[Signature]:
    """Error templates the canary logged more often than stable: canary-only first, then by count."""
    examples: dict[str, str] = {}
    canary = _count(evidence, Side.CANARY, examples)
    stable = _count(evidence, Side.STABLE, examples)
    found = [
        Signature(template, count, stable[template], examples[template])
        for template, count in canary.items()
        if template and count > stable[template]
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
    """Every error template of the canary with its count (for verification against old signatures)."""
    return _count(evidence, Side.CANARY, {})


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
            reason = " / ".join(r for r in (c.reason, c.last_termination_reason) if r)
            if reason or c.restart_count or (c.last_exit_code not in (None, 0)):
                found.append(Crash(pod.name, c.name, reason, c.last_exit_code, c.restart_count))
    return found
