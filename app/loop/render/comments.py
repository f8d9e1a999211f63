"""Follow-up comments: recurrence (only when something new is learned), reopening, verification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.analysis.evidence import Evidence
from app.loop.render.facts import Signature, canary_counts, failed_metrics, failing_signatures
from app.loop.render.markers import RECURRENCE_MARKER, REOPENED_MARKER, VERIFIED_MARKER
from app.loop.render.text import cell, code_span, truncate

COUNT_JUMP = 2  # a signature logged at least twice as often as before is news
MAX_COMMENT = 60_000


@dataclass(frozen=True)
class LearnedSummary:
    """What an incident already told its issue: stored with the incident, compared with new evidence."""

    revision: str
    signatures: dict[str, int] = field(default_factory=dict)  # template → canary count

    @classmethod
    def from_evidence(cls, evidence: Evidence) -> LearnedSummary:
        counts = {s.template: s.canary for s in failing_signatures(evidence, limit=20)}
        return cls(evidence.canary_hash, counts)

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "signatures": dict(self.signatures)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearnedSummary:
        raw = data.get("signatures") or {}
        return cls(str(data.get("revision", "")), {str(k): int(v) for k, v in raw.items()})


def diff_learned(previous: LearnedSummary | None, new_evidence: Evidence) -> list[str]:
    """What the new evidence adds: new signatures, counts that at least doubled, a new revision.

    Items are safe markdown (untrusted text already redacted and shown as code). Empty: say nothing.
    """
    if previous is None:
        return []
    learned: list[str] = []
    if new_evidence.canary_hash and new_evidence.canary_hash != previous.revision:
        learned.append(
            f"New canary revision {code_span(new_evidence.canary_hash)} (was {code_span(previous.revision)})"
        )
    for sig in failing_signatures(new_evidence, limit=20):
        before = previous.signatures.get(sig.template)
        if before is None:
            learned.append(
                f"New signature, logged {sig.canary}× by the canary: {code_span(sig.template, 240)}"
            )
        elif before > 0 and sig.canary >= COUNT_JUMP * before:
            learned.append(f"Count jump {before}× → {sig.canary}×: {code_span(sig.template, 240)}")
    return learned


def render_recurrence_comment(learned: Sequence[str], evidence: Evidence, *, attempt: int) -> str:
    """A comment for a recurrence that taught something new (``diff_learned`` not empty)."""
    items = "\n".join(f"- {item}" for item in learned)
    return truncate(
        f"{RECURRENCE_MARKER}\n### The failure happened again\n\n"
        f"Rollout {code_span(evidence.rollout)} in {code_span(evidence.namespace)} failed again "
        f"(attempt {attempt}). New since the last report:\n\n{items}",
        MAX_COMMENT,
    )


def render_reopened_note(evidence: Evidence, signatures: Sequence[Signature]) -> str:
    """The note posted when an issue closed as verified is reopened: the same signature came back."""
    items = "\n".join(
        f"- {code_span(s.template, 240)} (logged {s.canary}× by the canary)" for s in signatures[:10]
    )
    return truncate(
        f"{REOPENED_MARKER}\n### Reopened: the same signature came back\n\n"
        f"The canary {code_span(evidence.canary_hash)} of {code_span(evidence.rollout)} in "
        f"{code_span(evidence.namespace)} failed with a signature this issue was closed for:\n\n{items}\n\n"
        "Fixloop starts a new attempt on this issue.",
        MAX_COMMENT,
    )


def _signature_rows(original: Evidence, new: Evidence) -> tuple[list[str], bool]:
    now = canary_counts(new)
    rows = ["| signature | before (canary) | now (canary) | |", "|---|---|---|---|"]
    absent = True
    for sig in failing_signatures(original):
        count = now.get(sig.template, 0)
        absent = absent and count == 0
        mark = "absent ✅" if count == 0 else "still seen ❌"
        rows.append(f"| {code_span(sig.template, 160, in_table=True)} | {sig.canary} | {count} | {mark} |")
    return rows, absent


def _metric_rows(original: Evidence, new: Evidence) -> list[str]:
    phases = {m.name: m.phase for m in new.metrics}
    rows = ["| metric | before | now |", "|---|---|---|"]
    for metric in failed_metrics(original):
        now = phases.get(metric.name, "not run")
        rows.append(f"| {code_span(metric.name, 80, in_table=True)} | {cell(metric.phase)} | {cell(now)} |")
    return rows


def render_verified_comment(original: Evidence, new: Evidence, *, fix_pr: int | None, sha: str) -> str:
    """The closing comment: the original failure signatures checked against the new canary's evidence."""
    sig_rows, absent = _signature_rows(original, new)
    verdict = "are absent from" if absent else "are NOT all absent from"
    pr = f" from #{fix_pr}" if fix_pr else ""
    parts = [
        VERIFIED_MARKER,
        "### Verified in the canary",
        f"The fix{pr} (commit {code_span(sha[:12])}) went through the canary of {code_span(new.rollout)} "
        f"in {code_span(new.namespace)} as revision {code_span(new.canary_hash)}, and the rollout completed. "
        f"The original failure signatures {verdict} the new canary's logs:",
        "\n".join(sig_rows) if len(sig_rows) > 2 else "_The original failure had no log signature._",
    ]
    metric_rows = _metric_rows(original, new)
    if len(metric_rows) > 2:
        parts += ["Analysis metrics that failed before:", "\n".join(metric_rows)]
    return truncate("\n\n".join(parts), MAX_COMMENT)
