"""The fleet page's three views: the incident list, one incident, the agent scorecard (bodies only)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from app.analysis.verdict import verdict_from_dict
from app.loop.incident.scorecard import Scorecard, Tally
from app.loop.incident.state import IncidentState, cluster_of
from app.loop.render.comments import LearnedSummary
from app.store import AuditEntry, Incident, Transition
from app.ui.render import age, e, link, stage_badge, table, when

LIST_HEADERS = ("Incident", "Repository", "Rollout", "Cluster", "Stage", "Agent", "Attempt", "Age", "Issue")


def agent_of(incident: Incident) -> str:
    return IncidentState.of(incident).handoff.agent or "-"


def issue_url(web_url: str, incident: Incident) -> str | None:
    if incident.issue_number is None:
        return None
    return f"{web_url}/{incident.repo}/issues/{incident.issue_number}"


def incident_list(incidents: Sequence[Incident], web_url: str, hidden_note: str) -> str:
    now = time.time()
    rows = []
    for i in incidents:
        url = issue_url(web_url, i)
        rows.append(
            [
                link(f"/ui/incidents/{i.id}", f"#{i.id}"),
                e(i.repo),
                e(f"{i.namespace}/{i.rollout}"),
                e(cluster_of(i)),
                stage_badge(i.stage),
                e(agent_of(i)),
                e(i.attempt),
                e(age(now - i.created_at)),
                link(url, f"#{i.issue_number}") if url else "-",
            ]
        )
    listing = table(LIST_HEADERS, rows, empty="No incidents in the repositories you can read.")
    return listing + (f'<p class="muted">{e(hidden_note)}</p>' if hidden_note else "")


def incident_detail(
    incident: Incident, transitions: Sequence[Transition], audit: Sequence[AuditEntry], web_url: str
) -> str:
    state = IncidentState.of(incident)
    verdict = verdict_from_dict(state.verdict or {})
    return (
        f"<p><strong>{e(verdict.title or 'No analysis yet')}</strong></p>"
        + _facts(incident, state, web_url)
        + "<h2>Evidence</h2>"
        + _evidence(state)
        + "<h2>Timeline</h2>"
        + _timeline(transitions, audit)
    )


def _facts(incident: Incident, state: IncidentState, web_url: str) -> str:
    url = issue_url(web_url, incident)
    pr, deployment = state.fix.pr, state.fix.deployment_id
    rows = [
        ["Repository", link(f"{web_url}/{incident.repo}", incident.repo)],
        ["Rollout", e(f"{incident.namespace}/{incident.rollout}")],
        ["Cluster", e(cluster_of(incident))],
        ["Stage", stage_badge(incident.stage)],
        ["Agent", e(agent_of(incident))],
        ["Attempt", e(incident.attempt)],
        ["Opened", e(when(incident.created_at))],
        ["Issue", link(url, f"{incident.repo}#{incident.issue_number}") if url else "-"],
        ["Pull request", link(f"{web_url}/{incident.repo}/pull/{pr}", f"#{pr}") if pr else "-"],
        [
            "Deployment",
            link(f"{web_url}/{incident.repo}/deployments", str(deployment)) if deployment else "-",
        ],
    ]
    return table(("", ""), ([f"<strong>{e(k)}</strong>", v] for k, v in rows), empty="")


def _evidence(state: IncidentState) -> str:
    verdict = verdict_from_dict(state.verdict or {})
    facts = [
        ["Summary", e(verdict.summary or "-")],
        ["Root cause", e(verdict.root_cause or "-")],
        ["Classification", e(verdict.classification.value)],
        ["Confidence", e(f"{verdict.confidence}%")],
        ["Analysed by", e(verdict.source)],
    ]
    body = table(("", ""), ([f"<strong>{e(k)}</strong>", v] for k, v in facts), empty="")
    if verdict.evidence:
        body += "<ul>" + "".join(f"<li>{e(item)}</li>" for item in verdict.evidence[:20]) + "</ul>"
    signatures = LearnedSummary.from_dict(state.learned).signatures if state.learned else {}
    rows = ([f"<code>{e(template)}</code>", e(count)] for template, count in list(signatures.items())[:20])
    return body + table(("Failure signature (canary)", "Count"), rows, empty="No log signature recorded.")


def _timeline(transitions: Sequence[Transition], audit: Sequence[AuditEntry]) -> str:
    events = [(t.at, f"{t.from_stage or 'start'} → {t.to_stage}", t.cause) for t in transitions]
    for a in audit:
        if a.kind == "soak":
            events.append((a.at, f"soak: {a.detail.get('outcome', '?')}", str(a.detail.get("cause", ""))))
        elif a.kind == "handoff":
            outcome = a.detail.get("outcome", "?")
            events.append((a.at, f"hand-off to {a.detail.get('agent', '?')}: {outcome}", ""))
    events.sort(key=lambda item: item[0])
    rows = ([e(when(at)), e(what), e(cause)] for at, what, cause in events)
    return table(("When", "What", "Cause"), rows, empty="No transitions recorded.")


SCORE_HEADERS = (
    "Hand-offs",
    "PRs opened",
    "Merged",
    "Verified",
    "Held through soak",
    "Failed in soak",
    "Median issue → verified",
    "Attempts per verified fix",
)


def scorecard_view(card: Scorecard) -> str:
    by_agent = [[e(agent), *_score_cells(t)] for agent, t in card.by_agent().items()]
    by_repo = [[e(repo), *_score_cells(t)] for repo, t in card.by_repo().items()]
    empty = "Nothing handed off yet in the repositories you can read."
    return (
        "<h2>By agent</h2>"
        + table(("Agent", *SCORE_HEADERS), by_agent, empty=empty)
        + "<h2>By repository</h2>"
        + table(("Repository", *SCORE_HEADERS), by_repo, empty=empty)
    )


def _score_cells(t: Tally) -> list[str]:
    median = t.median_to_verified
    attempts = t.attempts_per_verified
    values: list[object] = [t.handoffs, t.prs_opened, t.merged, t.verified, t.held, t.failed_in_soak]
    values.append("-" if median is None else age(median))
    values.append("-" if attempts is None else f"{attempts:.1f}")
    return [e(v) for v in values]
