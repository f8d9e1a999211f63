import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.analysis.evidence import Evidence, KubeEvent, LogChunk, MetricResult, Side
from app.analysis.verdict import Verdict
from app.loop.incident.repo_config import RepoConfig
from app.loop.incident.stages import Stage, Transition
from app.loop.render.comments import (
    LearnedSummary,
    diff_learned,
    render_recurrence_comment,
    render_reopened_note,
    render_verified_comment,
)
from app.loop.render.facts import failing_signatures
from app.loop.render.issue import GITHUB_BODY_LIMIT, Link, issue_title, render_issue_body
from app.loop.render.markers import (
    RECURRENCE_MARKER,
    REOPENED_MARKER,
    STATUS_MARKER,
    VERIFIED_MARKER,
    find_attempt,
    find_incident_id,
    has_marker,
)
from app.loop.render.status import (
    DeploymentView,
    LinkedPR,
    PrState,
    StatusView,
    render_mermaid,
    render_status_comment,
)
from app.loop.render.task import build_agent_task, task_facts
from app.loop.render.text import code_span, fence
from tests.loop.factories import HOSTILE, HOSTILE_LINES, TOKEN, assert_inert, make_evidence, make_verdict

CONFIG = RepoConfig()
T0 = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)


def body_for(
    evidence: Evidence | None = None, verdict: Verdict | None = None, links: tuple[Link, ...] = ()
) -> str:
    return render_issue_body(
        incident_id=42,
        evidence=evidence or make_evidence(),
        verdict=verdict or make_verdict(),
        config=CONFIG,
        links=links,
    )


def test_title_from_verdict_or_fixed_fallback() -> None:
    assert issue_title(make_verdict(), make_evidence()) == "Orders crash on missing color key"
    assert issue_title(make_verdict(title="  "), make_evidence()) == "Canary web failed in shop"
    assert len(issue_title(make_verdict(title="x" * 500), make_evidence())) <= 100


def test_body_holds_analysis_evidence_task_and_marker() -> None:
    links = (Link("Argo dashboard", "https://argo.example/rollouts/shop/web"), Link("bad", "javascript:x"))
    body = body_for(links=links)
    assert find_incident_id(body) == 42 and find_attempt(body) == 1
    assert "The canary crashes when an order has no color." in body
    assert "| `ERROR db: connection refused to <*> after <*>` | 2 | 0 | canary only |" in body
    assert "CrashLoopBackOff" in body and "OOMKilled" in body and "| 137 |" in body
    assert "`error-rate`" in body and "`0.12, 0.31`" in body and "`result[0] < 0.05`" in body
    assert "`ghcr.io/acme/web:1.2` | `ghcr.io/acme/web:1.3`" in body
    assert "[Argo dashboard](https://argo.example/rollouts/shop/web)" in body and "javascript:" not in body
    assert "BackOff" in body
    assert "<details>" in body and "Log of canary pod web-7f9c8d6b5-abcde / app" in body
    task = build_agent_task(task_facts(make_evidence(), make_verdict(), CONFIG))
    assert task in body
    assert "SECRET-LLM-HINT" not in body


def test_hostile_text_from_logs_and_llm_is_inert_and_redacted() -> None:
    evidence = make_evidence(canary_lines=HOSTILE_LINES)
    evidence = replace(
        evidence,
        message=HOSTILE,
        gaps=[HOSTILE],
        events=[KubeEvent("Pod", "web-x", "Warning", "BackOff", HOSTILE)],
        metrics=[MetricResult("run", "error-rate", "Failed", message=HOSTILE, values=(HOSTILE,))],
    )
    verdict = make_verdict(title=HOSTILE, summary=HOSTILE, root_cause=HOSTILE, suspected_files=(HOSTILE,))
    body = body_for(evidence=evidence, verdict=verdict)
    assert_inert(body)
    assert "please look" in body  # shown, but inert
    assert TOKEN not in issue_title(verdict, evidence)


def test_body_stays_under_github_limit_with_huge_evidence() -> None:
    big_line = "ERROR the order service could not reach its database " * 8
    evidence = make_evidence()
    evidence = replace(
        evidence,
        logs=[
            LogChunk(f"web-7f9c8d6b5-{i}", "app", Side.CANARY, tuple(f"{big_line} {j}" for j in range(300)))
            for i in range(20)
        ]
        + [LogChunk("web-x", "app", Side.CANARY, ("ERROR " + "`" * 20 + " x",) * 5000)],
        metrics=[MetricResult(f"run-{i}", f"m{i}", "Failed", values=("1",) * 50) for i in range(800)],
        events=[KubeEvent("Pod", f"p{i}", "Warning", "BackOff", "x" * 500) for i in range(800)],
        gaps=["gap " * 200] * 100,
    )
    verdict = make_verdict(summary="\n\n".join(["s" * 5000] * 50), root_cause="r" * 50_000)
    body = body_for(evidence=evidence, verdict=verdict)
    assert len(body) < GITHUB_BODY_LIMIT
    assert find_incident_id(body) == 42
    assert build_agent_task(task_facts(evidence, verdict, CONFIG)) in body
    assert "omitted to fit" in body


def test_fence_is_longer_than_any_backtick_run() -> None:
    block = fence("a ```` b\n`````")
    assert block.startswith("``````text\n") and block.endswith("\n``````")
    assert code_span("a `` b") == "``` a `` b ```"
    assert code_span("x|y", in_table=True) == "`x\\|y`"


def test_mermaid_highlights_the_current_stage() -> None:
    chart = render_mermaid(Stage.PR_OPEN, frozenset({Stage.DETECTED, Stage.ANALYSED}))
    assert chart.startswith("```mermaid\nflowchart LR\n") and chart.endswith("\n```")
    assert "classDef current" in chart
    assert re.findall(r"^\s*class (\S+) current$", chart, re.MULTILINE) == ["pr_open"]
    assert "class analysed,detected visited" in chart
    for stage in Stage:
        assert f'{stage.value}["{stage.label}"]' in chart


def status_view(**kw: object) -> StatusView:
    fields: dict[str, object] = {
        "incident_id": 42,
        "stage": Stage.PR_OPEN,
        "attempt": 2,
        "max_attempts": 3,
        "transitions": [
            Transition(Stage.DETECTED, Stage.ANALYSED, "rollout-aborted", T0),
            Transition(Stage.ANALYSED, Stage.ISSUE_OPEN, "issue #7 opened", T0 + timedelta(minutes=1)),
            Transition(
                Stage.ISSUE_OPEN, Stage.AGENT_WORKING, f"assigned {HOSTILE}", T0 + timedelta(minutes=2)
            ),
            Transition(Stage.AGENT_WORKING, Stage.PR_OPEN, "PR #9 linked", T0 + timedelta(minutes=30)),
        ],
        "prs": [
            LinkedPR(9, "https://github.com/acme/web/pull/9", PrState.DRAFT, f"Fix {HOSTILE}", "Copilot")
        ],
        "deployment": DeploymentView("canary/shop/web", "in_progress", "0123456789abcdef"),
    }
    fields.update(kw)
    return StatusView(**fields)  # type: ignore[arg-type]


def test_status_comment_shows_stage_timeline_prs_and_chart() -> None:
    text = render_status_comment(status_view())
    assert text.startswith(STATUS_MARKER) and has_marker(text, STATUS_MARKER)
    assert "### Fixloop status: pr open" in text and "**attempt** 2/3" in text
    assert "| 2025-01-02 03:34 | agent working → **pr open** | 1 | PR #9 linked |" in text
    assert "| [#9](https://github.com/acme/web/pull/9) | draft |" in text
    assert "`canary/shop/web`: **in_progress**" in text
    assert "Review and merge" in text
    assert re.findall(r"^\s*class (\S+) current$", text, re.MULTILINE) == ["pr_open"]
    assert_inert(text)


def test_status_comment_links_oauth_when_a_user_token_is_missing() -> None:
    view = status_view(
        stage=Stage.NEEDS_HUMAN,
        oauth_url="https://fixloop.example/github/oauth/start",
        problem="Copilot assignment needs a user token",
    )
    text = render_status_comment(view)
    assert "(https://fixloop.example/github/oauth/start)" in text and "`/fixloop retry`" in text
    assert "Copilot assignment needs a user token" in text


def test_diff_learned_only_reports_news() -> None:
    first = make_evidence()
    summary = LearnedSummary.from_dict(LearnedSummary.from_evidence(first).to_dict())
    assert diff_learned(summary, first) == []
    assert diff_learned(None, first) == []
    doubled = make_evidence(canary_lines=make_evidence().logs[0].lines * 2)
    jumps = diff_learned(summary, doubled)
    assert [j.split(":")[0] for j in jumps] == ["Count jump 2× → 4×", "Count jump 1× → 2×"]
    new = make_evidence(canary_lines=(*first.logs[0].lines, "ERROR cache exploded"), canary_hash="99aa")
    learned = diff_learned(summary, new)
    assert any(item.startswith("New canary revision `99aa`") for item in learned)
    assert any("New signature" in item and "ERROR cache exploded" in item for item in learned)
    comment = render_recurrence_comment(learned, new, attempt=1)
    assert has_marker(comment, RECURRENCE_MARKER) and "cache exploded" in comment


def test_learned_items_from_hostile_logs_are_inert() -> None:
    summary = LearnedSummary.from_evidence(make_evidence())
    learned = diff_learned(summary, make_evidence(canary_lines=HOSTILE_LINES))
    assert learned
    assert_inert(render_recurrence_comment(learned, make_evidence(), attempt=2))


def test_reopened_note() -> None:
    evidence = make_evidence()
    note = render_reopened_note(evidence, failing_signatures(evidence))
    assert has_marker(note, REOPENED_MARKER) and "the same signature came back" in note
    assert "db: connection refused" in note


def test_verified_comment_shows_original_signatures_absent() -> None:
    original = make_evidence()
    healthy = make_evidence(canary_lines=("INFO request served in 9ms",), canary_hash="abc123")
    healthy = replace(healthy, metrics=[MetricResult("r", "error-rate", "Successful")])
    text = render_verified_comment(original, healthy, fix_pr=9, sha="0123456789abcdef")
    assert has_marker(text, VERIFIED_MARKER)
    assert "are absent from" in text and "from #9" in text and "`0123456789ab`" in text
    assert "| `ERROR db: connection refused to <*> after <*>` | 2 | 0 | absent ✅ |" in text
    assert "| `error-rate` | Failed | Successful |" in text
    still = render_verified_comment(original, original, fix_pr=None, sha="abc")
    assert "NOT all absent" in still and "still seen ❌" in still


def test_log_samples_go_before_evidence_rows() -> None:
    wide = tuple(f"INFO {'payload ' * 150} {j}" for j in range(60))
    evidence = replace(
        make_evidence(),
        logs=[LogChunk(f"web-7f9c8d6b5-{i}", "app", Side.CANARY, wide) for i in range(8)],
        metrics=[MetricResult("run", f"error-rate-{i}", "Failed", values=("0.5",)) for i in range(15)],
    )
    verdict = make_verdict(summary="\n\n".join(["s" * 1500] * 5), root_cause="r" * 3000)
    body = body_for(evidence=evidence, verdict=verdict)
    assert len(body) < GITHUB_BODY_LIMIT
    assert "log samples omitted to fit" in body and "<details>" in body
    assert all(f"`error-rate-{i}`" in body for i in range(15))
    assert "rows omitted" not in body and "more rows not shown" not in body
