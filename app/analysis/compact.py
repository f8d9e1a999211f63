"""Log compaction: the logs of both sides reduced to ranked templates with counts and a few samples.

Lines are redacted first (so templating can never leave half a secret behind), grouped into events
(stack traces whole), templated, and counted per side. Ranking puts what is new in the canary first:
templates the stable pods never logged, weighted by level, then by how much more often the canary logs
a template than stable does, per line logged on each side. Output is deterministic for the same input.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.analysis.events import Event, iter_events
from app.analysis.evidence import LogChunk, Side
from app.analysis.logtemplate import LEVEL_WEIGHT, Level, mask, template_of
from app.analysis.redact import Redactor

SAMPLES_PER_TEMPLATE = 3
MAX_SAMPLE_LINES = 40  # lines of a stack trace kept in one sample
NOVELTY_BONUS = 100.0
RATIO_WEIGHT = 10.0
RATIO_CAP = 10.0  # log2 of the canary/stable frequency ratio is clamped to ±this
TRACE_BONUS = 20.0  # a stack trace (panic, traceback, exception) tells more than a line


@dataclass(frozen=True)
class Template:
    key: str  # short stable id (hash of level and text)
    text: str
    level: Level
    canary: int
    stable: int
    score: float
    first_seen: str = ""
    last_seen: str = ""
    samples: tuple[str, ...] = ()  # redacted, canary samples first; a trace is one sample
    multiline: bool = False
    canary_pods: int = 0
    stable_pods: int = 0

    @property
    def novel(self) -> bool:
        """Logged by the canary, never by stable."""
        return self.canary > 0 and self.stable == 0

    @property
    def novel_error(self) -> bool:
        return self.novel and self.level is Level.ERROR


@dataclass(frozen=True)
class CompactedLogs:
    templates: tuple[Template, ...]  # ranked, most telling first
    canary_lines: int = 0
    stable_lines: int = 0
    canary_events: int = 0
    stable_events: int = 0
    redactions: dict[str, int] = field(default_factory=dict)

    def novel_errors(self) -> list[Template]:
        return [t for t in self.templates if t.novel_error]

    @property
    def raw_lines(self) -> int:
        return self.canary_lines + self.stable_lines


@dataclass
class _Tally:
    text: str
    level: Level
    multiline: bool = False
    counts: Counter[Side] = field(default_factory=Counter)
    pods: dict[Side, set[str]] = field(default_factory=lambda: {Side.CANARY: set(), Side.STABLE: set()})
    samples: dict[Side, list[str]] = field(default_factory=lambda: {Side.CANARY: [], Side.STABLE: []})
    first_seen: str = ""
    last_seen: str = ""

    def add(self, event: Event, side: Side, pod: str, samples: int) -> None:
        self.counts[side] += 1
        self.pods[side].add(pod)
        kept = self.samples[side]
        if len(kept) < samples:
            text = "\n".join(event.lines[:MAX_SAMPLE_LINES])
            if text not in kept:
                kept.append(text)
        if event.timestamp:
            if not self.first_seen or event.timestamp < self.first_seen:
                self.first_seen = event.timestamp
            self.last_seen = max(self.last_seen, event.timestamp)


def event_template(event: Event) -> tuple[str, Level]:
    """(template text, level) of one event; a trace's names its headline and top frame."""
    if not event.multiline:
        return template_of(event.lines[0])
    headline = event.headline
    text, level = template_of(headline)
    if event.kind != "line":
        level = Level.ERROR
    frame = event.top_frame()
    return (f"{text} [at {mask(frame)}]" if frame else text), level


def score(
    level: Level, canary: int, stable: int, canary_lines: int, stable_lines: int, *, trace: bool = False
) -> float:
    """Novelty first, then stack traces, then the log-ratio of per-line frequencies, weighted by level."""
    eps = 1.0 / max(canary_lines + stable_lines, 1)
    ratio = (canary / max(canary_lines, 1) + eps) / (stable / max(stable_lines, 1) + eps)
    log_ratio = max(-RATIO_CAP, min(RATIO_CAP, math.log2(ratio)))
    novelty = NOVELTY_BONUS if canary and not stable else 0.0
    bonus = TRACE_BONUS if trace and canary else 0.0
    weight = LEVEL_WEIGHT[level]
    return round(weight * (novelty + bonus + RATIO_WEIGHT * log_ratio) + math.log2(1 + canary), 6)


def compact(
    chunks: Iterable[LogChunk], *, samples: int = SAMPLES_PER_TEMPLATE, redactor: Redactor | None = None
) -> CompactedLogs:
    """Template, count and rank the log lines of both sides."""
    redactor = redactor or Redactor()
    tallies: dict[tuple[str, Level], _Tally] = {}
    lines = Counter[Side]()
    events = Counter[Side]()
    for chunk in chunks:
        lines[chunk.side] += len(chunk.lines)
        for event in iter_events(redactor.redact_lines(chunk.lines)):
            events[chunk.side] += 1
            text, level = event_template(event)
            tally = tallies.get((text, level))
            if tally is None:
                tally = tallies[(text, level)] = _Tally(text, level, event.multiline)
            tally.add(event, chunk.side, chunk.pod, samples)
    ranked = sorted(
        (_template(t, lines[Side.CANARY], lines[Side.STABLE], samples) for t in tallies.values()),
        key=lambda t: (-t.score, t.text, t.level.value),
    )
    return CompactedLogs(
        templates=tuple(ranked),
        canary_lines=lines[Side.CANARY],
        stable_lines=lines[Side.STABLE],
        canary_events=events[Side.CANARY],
        stable_events=events[Side.STABLE],
        redactions=dict(sorted(redactor.counts.items())),
    )


def _template(tally: _Tally, canary_lines: int, stable_lines: int, samples: int) -> Template:
    canary, stable = tally.counts[Side.CANARY], tally.counts[Side.STABLE]
    key = hashlib.sha1(f"{tally.level}\0{tally.text}".encode(), usedforsecurity=False).hexdigest()[:12]
    return Template(
        key=key,
        text=tally.text,
        level=tally.level,
        canary=canary,
        stable=stable,
        score=score(tally.level, canary, stable, canary_lines, stable_lines, trace=tally.multiline),
        first_seen=tally.first_seen,
        last_seen=tally.last_seen,
        samples=tuple((tally.samples[Side.CANARY] + tally.samples[Side.STABLE])[:samples]),
        multiline=tally.multiline,
        canary_pods=len(tally.pods[Side.CANARY]),
        stable_pods=len(tally.pods[Side.STABLE]),
    )
