"""The issue's log samples: the lines that carry the failing signatures, with a few lines around them.

One sample per canary container log (pod, container, instance), previous instances first. A log
contributes the events (a stack trace whole) whose template is one of the failing signatures, with
``CONTEXT_LINES`` before and after; a sidecar's log (istio-proxy, ...) only when it carries a canary-only
signature, never its access log wholesale. With no signature at all (a crash that logs nothing, a metric
failure) the tails of the app containers' crashed instances are shown, else the app logs' tails.
"""

from __future__ import annotations

import re

from app.analysis.compact import event_template
from app.analysis.events import MAX_EVENT_LINES, iter_events
from app.analysis.evidence import Evidence, LogChunk, Side
from app.analysis.redact import redact_lines
from app.loop.render.facts import MAX_TEMPLATE, Signature, select_failing
from app.loop.render.text import details, fence, safe_block

MAX_SAMPLES = 6
CONTEXT_LINES = 3
MAX_SAMPLE_LINES = 60
TAIL_LINES = 20  # of a log with no signature
_NAME_RE = re.compile(r"[^A-Za-z0-9._-]")


def _name(text: str) -> str:
    return _NAME_RE.sub("", text)[:253] or "?"


def _signature_ranges(lines: list[str], wanted: frozenset[str]) -> list[tuple[int, int]]:
    """[start, end) line ranges of the events whose template is wanted, widened by the context."""
    ranges, position = [], 0
    for event in iter_events(lines):
        size = len(event.lines)
        text, _ = event_template(event)
        if (text.splitlines() or [""])[0][:MAX_TEMPLATE] in wanted:  # a blank line templates to ""
            end = min(len(lines), position + size + CONTEXT_LINES)
            ranges.append((max(0, position - CONTEXT_LINES), end))
        if size >= MAX_EVENT_LINES:
            break  # a cut trace consumed lines it does not keep: positions after it are unknown
        position += size
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _excerpt(lines: list[str], ranges: list[tuple[int, int]]) -> list[str]:
    out: list[str] = []
    for start, end in ranges:
        if out or start > 0:
            out.append("…")
        out += lines[start:end]
        if len(out) >= MAX_SAMPLE_LINES:
            return [*out[:MAX_SAMPLE_LINES], "…"]
    return out + (["…"] if ranges and ranges[-1][1] < len(lines) else [])


def _render(chunk: LogChunk, lines: list[str], note: str) -> str:
    flags = " (previous instance)" if chunk.previous else ""
    flags += ", truncated" if chunk.truncated else ""
    summary = f"Log of {chunk.side.value} pod {_name(chunk.pod)} / {_name(chunk.container)}{flags}{note}"
    return details(summary, fence(safe_block("\n".join(lines), 8000)))


def _sidecars(evidence: Evidence) -> set[tuple[str, str]]:
    return {(pod.name, c.name) for pod in evidence.pods for c in pod.containers if c.is_sidecar}


def render_samples(evidence: Evidence, signatures: list[Signature]) -> list[str]:
    """The samples, rendered (collapsed ``<details>`` blocks), at most ``MAX_SAMPLES``."""
    chunks = sorted(
        (chunk for chunk in evidence.logs_on(Side.CANARY) if chunk.lines), key=lambda c: not c.previous
    )
    sidecars = _sidecars(evidence)
    failing = select_failing(signatures)
    wanted = frozenset(s.template for s in failing)
    canary_only = frozenset(s.template for s in failing if s.canary_only)
    samples = []
    for chunk in chunks:
        sidecar = (chunk.pod, chunk.container) in sidecars
        lines = redact_lines(chunk.lines)
        ranges = _signature_ranges(lines, canary_only if sidecar else wanted) if wanted else []
        if ranges:
            samples.append(_render(chunk, _excerpt(lines, ranges), ", around the signatures"))
    if not samples:
        crashed = [c for c in chunks if c.previous] or chunks
        for chunk in crashed:
            if (chunk.pod, chunk.container) not in sidecars:
                tail = redact_lines(chunk.lines[-TAIL_LINES:])
                samples.append(_render(chunk, tail, f", last {len(tail)} lines"))
    return samples[:MAX_SAMPLES]
