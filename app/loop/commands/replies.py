"""Bodies the slash commands post: the fresh analysis (``analyze``) and the status summary (``status``).

Fixed words plus values through ``code_span`` / ``safe_inline``: evidence, LLM text and names are
untrusted, and a reply must not ping anyone or carry a command.
"""

from __future__ import annotations

from app.analysis.evidence import Evidence
from app.analysis.verdict import Verdict
from app.loop.incident.records import TrackedPR
from app.loop.incident.state import IncidentState
from app.loop.render.facts import failing_signatures
from app.loop.render.text import cell, code_span, safe_inline, truncate
from app.rollouts.model import RolloutView
from app.store import Incident

ANALYSIS_MARKER = "<!-- fixloop:fresh-analysis -->"
MAX_COMMENT = 60_000
CAUTION = "> Written by the analysis from fresh evidence: check it before acting on it."


def render_analysis(evidence: Evidence, verdict: Verdict, actor: str) -> str:
    paragraphs = [p for p in verdict.summary.split("\n\n") if p.strip()][:3]
    summary = "\n\n".join(safe_inline(p, 1500) for p in paragraphs) or "_No summary._"
    about = cell(f"{verdict.classification}, confidence {verdict.confidence}%, {verdict.source}")
    where = code_span(f"{evidence.namespace}/{evidence.rollout}")
    parts = [
        ANALYSIS_MARKER,
        f"### Fresh analysis, asked by {code_span(actor)}",
        f"Rollout {where}, canary revision {code_span(evidence.canary_hash or '?')}, "
        f"phase {code_span(evidence.phase or '?')}.",
        f"**{safe_inline(verdict.title, 200)}**" if verdict.title.strip() else "",
        summary,
        f"**Root cause** ({about}): {safe_inline(verdict.root_cause, 3000) or '_Not determined._'}",
        f"**Fix hint**: {safe_inline(verdict.fix_hint, 1500)}" if verdict.fix_hint.strip() else "",
        _signatures(evidence),
        _gaps(evidence),
        CAUTION,
    ]
    return truncate("\n\n".join(part for part in parts if part), MAX_COMMENT)


def _signatures(evidence: Evidence) -> str:
    found = failing_signatures(evidence, limit=5)
    if not found:
        return ""
    items = "\n".join(
        f"- {code_span(s.template, 240)} (canary {s.canary}×, stable {s.stable}×)" for s in found
    )
    return f"Failing log signatures:\n\n{items}"


def _gaps(evidence: Evidence) -> str:
    if not evidence.gaps:
        return ""
    return "Not collected:\n\n" + "\n".join(f"- {safe_inline(gap, 300)}" for gap in evidence.gaps[:10])


def render_status_text(incident: Incident, *, max_attempts: int, rollout: str) -> str:
    """``rollout`` is already safe markdown: the Rollout's state, or why it could not be read."""
    state = IncidentState.of(incident)
    stage = incident.stage
    lines = [
        f"incident {incident.id} is {code_span(stage.label)}, attempt {incident.attempt} of {max_attempts}.",
        f"  - Pull requests: {_prs(state.prs)}",
    ]
    if state.fix.sha:
        merged = "merged" if state.fix.pr is None else f"#{state.fix.pr} merged"
        lines.append(f"  - Fix: {merged} as {code_span(state.fix.sha[:12])}")
    lines.append(f"  - Rollout: {rollout}")
    return "\n".join(lines)


def _prs(prs: dict[int, TrackedPR]) -> str:
    if not prs:
        return "none yet"
    return ", ".join(f"#{number} ({code_span(pr.state)})" for number, pr in sorted(prs.items()))


def rollout_state(view: RolloutView) -> str:
    ref = code_span(f"{view.namespace}/{view.name}")
    flags = [f"phase {code_span(view.phase or 'unknown')}"]
    if view.aborted:
        flags.append("aborted")
    if view.paused:
        flags.append("paused")
    if view.step_index is not None and view.step_count:
        flags.append(f"step {min(view.step_index, view.step_count)} of {view.step_count}")
    canary = code_span(view.current_pod_hash or "?")
    stable = code_span(view.stable_rs or "?")
    return f"{ref}: {', '.join(flags)}; canary revision {canary}, stable {stable}"
