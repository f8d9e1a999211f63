"""The incident issue: title and body (analysis, evidence, log samples, agent task, hidden marker).

The body stays under GitHub's 65,536-character limit: log samples go first, then evidence rows; the
marker and the task are never cut.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.analysis.evidence import Evidence
from app.analysis.neutralise import sanitise_title
from app.analysis.verdict import Verdict
from app.loop.incident.repo_config import RepoConfig
from app.loop.origin.suspects import Origin
from app.loop.render.facts import Signature, crashes, error_signatures, failed_metrics
from app.loop.render.markers import attempt_marker, incident_marker
from app.loop.render.samples import render_samples
from app.loop.render.suspects import issue_section
from app.loop.render.task import LiveAccess, build_agent_task, task_facts
from app.loop.render.text import cell, code_span, safe_inline, truncate

GITHUB_BODY_LIMIT = 65_536
MAX_BODY = 60_000  # a margin under GitHub's limit (it may count line ends as two characters)
ROW_STEPS = (20, 8, 3, 0)
TITLE_FALLBACK = "Canary {rollout} failed in {namespace}"
METRIC_HEADER = ("metric", "AnalysisRun", "phase", "values", "success", "failure", "message")
FOOTER = "<sub>Opened by Fixloop. Comment `/fixloop help` for the commands.</sub>"
_NAME_RE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Link:
    """A link the caller adds to the evidence (dashboard, logs, metrics); only http(s) is shown."""

    label: str
    url: str


def issue_title(verdict: Verdict, evidence: Evidence) -> str:
    title = sanitise_title(verdict.title)
    if title.strip():
        return title
    return sanitise_title(TITLE_FALLBACK.format(rollout=evidence.rollout, namespace=evidence.namespace))


def _name(text: str) -> str:
    """A Kubernetes name for HTML contexts: only the characters such names may hold."""
    return _NAME_RE.sub("", text)[:253] or "?"


def analysed_by(verdict: Verdict) -> str:
    """Who wrote the analysis, in words, and whether a configured A2A agent failed first."""
    kind, _, name = verdict.source.partition(":")
    who = {
        "a2a": f"the A2A agent {code_span(name, 60)}",
        "llm": f"the LLM {code_span(name, 60)}",
    }.get(kind, "Fixloop's offline analyser")
    if verdict.audit.get("a2a_failed"):
        who += " (the A2A agent gave no usable answer)"
    return who


def _analysis(verdict: Verdict) -> str:
    paragraphs = [p for p in verdict.summary.split("\n\n") if p.strip()][:5]
    summary = "\n\n".join(safe_inline(p, 1500) for p in paragraphs) or "_No summary._"
    about = cell(f"{verdict.classification}, confidence {verdict.confidence}%, {verdict.source}")
    cause = safe_inline(verdict.root_cause, 3000) or "_Not determined._"
    return (
        f"## Summary\n\n{summary}\n\n**Root cause** ({about}): {cause}\n\n"
        f"> Analysed by {analysed_by(verdict)} from the evidence below: check it before acting on it."
    )


def _table(header: Sequence[str], rows: list[str], limit: int) -> str:
    if not rows:
        return ""
    if limit == 0:
        return f"_{len(rows)} rows omitted to fit GitHub's size limit._"
    head = "| " + " | ".join(header) + " |\n|" + "---|" * len(header)
    more = f"\n\n_{len(rows) - limit} more rows not shown._" if len(rows) > limit else ""
    return head + "\n" + "\n".join(rows[:limit]) + more


def _signature_rows(signatures: list[Signature]) -> list[str]:
    return [
        f"| {code_span(s.template, 200, in_table=True)} | {s.canary} | {s.stable} | "
        f"{'canary only' if s.canary_only else 'more on canary'} |"
        for s in signatures
    ]


def _metric_rows(evidence: Evidence) -> list[str]:
    return [
        f"| {code_span(m.name, 80, in_table=True)} | {cell(m.analysis_run, 80)} | {cell(m.phase, 20)} | "
        f"{code_span(', '.join(m.values[-5:]) or '–', 120, in_table=True)} | "
        f"{code_span(m.success_condition or '–', 120, in_table=True)} | "
        f"{code_span(m.failure_condition or '–', 120, in_table=True)} | {cell(m.message or '–', 160)} |"
        for m in failed_metrics(evidence)
    ]


def _crash_rows(evidence: Evidence) -> list[str]:
    rows = []
    for c in crashes(evidence):
        exit_code = "–" if c.exit_code is None else str(c.exit_code)
        rows.append(
            f"| {code_span(c.pod, 80, in_table=True)} | {code_span(c.container or '–', 60, in_table=True)} | "
            f"{cell(c.reason or 'restarted', 80)} | {exit_code} | {c.restarts} |"
        )
    return rows


def _image_rows(evidence: Evidence) -> list[str]:
    return [
        f"| {code_span(i.container, 60, in_table=True)} | {code_span(i.stable, 200, in_table=True)} | "
        f"{code_span(i.canary, 200, in_table=True)} |"
        for i in evidence.images
    ]


def _event_rows(evidence: Evidence) -> list[str]:
    return [
        f"| {cell(e.kind, 40)}/{code_span(e.name, 80, in_table=True)} | {cell(e.reason, 60)} | {e.count} | "
        f"{cell(e.message, 200)} |"
        for e in evidence.events
        if e.type == "Warning"
    ]


def _links(links: Sequence[Link]) -> str:
    shown = [
        f"[{cell(link.label, 60)}]({link.url})"
        for link in links
        if re.fullmatch(r"https?://[^\s()<>\"'`]{1,500}", link.url)
    ]
    return "**Links:** " + " · ".join(shown) if shown else ""


def _evidence_head(evidence: Evidence, links: Sequence[Link], cluster: str = "") -> list[str]:
    where = f" · cluster {code_span(cluster)}" if cluster else ""  # named once there is a cluster registry
    head = [
        "## Evidence",
        f"Rollout {code_span(evidence.rollout)} in namespace {code_span(evidence.namespace)}{where} · "
        f"canary revision {code_span(evidence.canary_hash)} · stable {code_span(evidence.stable_hash)} · "
        f"phase {code_span(evidence.phase or 'unknown')}",
    ]
    if evidence.message:
        head.append(f"**Rollout message:** {code_span(evidence.message, 300)}")
    return [*head, _links(links)]


def _evidence(
    evidence: Evidence,
    signatures: list[Signature],
    links: Sequence[Link],
    rows: int,
    *,
    origin: Origin | None,
    cluster: str = "",
) -> str:
    sections = (
        ("Image (stable → canary)", ("container", "stable", "canary"), _image_rows(evidence)),
        (
            "Error signatures, canary vs stable",
            ("template", "canary", "stable", ""),
            _signature_rows(signatures),
        ),
        ("Crashes (canary)", ("pod", "container", "reason", "last exit", "restarts"), _crash_rows(evidence)),
        ("Failed analysis metrics", METRIC_HEADER, _metric_rows(evidence)),
        ("Warning events", ("object", "reason", "count", "message"), _event_rows(evidence)),
    )
    parts = _evidence_head(evidence, links, cluster)
    parts += [f"### {title}\n\n{_table(header, body, rows)}" for title, header, body in sections if body]
    parts.append(issue_section(origin))
    if evidence.gaps:
        gaps = "\n".join(f"- {safe_inline(gap, 300)}" for gap in evidence.gaps[:20])
        parts.append(f"### Not collected\n\n{gaps}")
    return "\n\n".join(part for part in parts if part)


def _assemble(head: str, analysis: str, evidence: str, task: str, *, samples: list[str], omitted: int) -> str:
    parts = [head, analysis, evidence]
    if samples or omitted:
        note = f"_{omitted} log samples omitted to fit GitHub's size limit._" if omitted else ""
        parts.append("### Log samples (redacted)\n\n" + "\n\n".join([*samples, note]).strip())
    parts += [task, FOOTER]
    return "\n\n".join(parts)


def render_issue_body(
    *,
    incident_id: int,
    evidence: Evidence,
    verdict: Verdict,
    config: RepoConfig,
    links: Sequence[Link] = (),
    attempt: int = 1,
    live: LiveAccess | None = None,
    origin: Origin | None = None,
    cluster: str = "",
) -> str:
    """The issue body, bounded: drops log samples, then evidence rows; never the marker or the task."""
    head = f"{incident_marker(incident_id)}\n{attempt_marker(attempt)}"
    signatures = error_signatures(evidence)
    facts = task_facts(
        evidence, verdict, config, attempt=attempt, signatures=signatures, live=live, origin=origin
    )
    task = build_agent_task(facts)
    analysis = _analysis(verdict)
    samples = render_samples(evidence, signatures)
    for rows in ROW_STEPS:
        evidence_md = _evidence(evidence, signatures, links, rows, origin=origin, cluster=cluster)
        for kept in range(len(samples), -1, -1):
            body = _assemble(
                head, analysis, evidence_md, task, samples=samples[:kept], omitted=len(samples) - kept
            )
            if len(body) <= MAX_BODY:
                return body
    evidence_md = "## Evidence\n\n_Omitted: too large for GitHub's size limit._"
    body = _assemble(head, truncate(analysis, 2000), evidence_md, task, samples=[], omitted=0)
    return truncate(body, MAX_BODY)
