from dataclasses import replace

from app.analysis.evidence import ContainerState, KubeEvent, LogChunk, MetricResult, PodEvidence, Side
from app.analysis.offline import analyse_offline
from app.analysis.verdict import Classification
from tests.analysis.demo import CANARY, demo_evidence, demo_logs, healthy_evidence

PANIC_TITLE = "Canary rollouts-demo panics: runtime error: index out of range [0] with length 0"


def test_demo_panic_names_title_and_root_cause() -> None:
    verdict = analyse_offline(demo_evidence())
    assert verdict.title == PANIC_TITLE
    assert "New in the canary" in verdict.root_cause and "index out of range" in verdict.root_cause
    assert "never in stable" in verdict.root_cause
    assert verdict.suspected_files == ("main.go",)
    assert verdict.classification is Classification.CODE
    assert verdict.promote is False and verdict.confidence >= 80
    assert verdict.source == "offline"
    assert any("success-rate" in item for item in verdict.evidence)
    assert "index out of range" in verdict.evidence[0]


def test_ignore_colour_changes_keeps_colours_out_of_the_cause() -> None:
    # colour lines at error level that only the canary logs: without the instruction they would be a cause
    colour_errors = tuple(f"ERROR unexpected color {c} served to client" for c in ("purple", "orange"))
    evidence = demo_evidence(logs=demo_logs(canary_extra=colour_errors))
    plain = analyse_offline(evidence)
    assert plain.title == PANIC_TITLE  # the panic still ranks first
    assert plain.audit["novel_errors"] == 3
    ignoring = analyse_offline(evidence, extra_prompt="Ignore color changes.")
    assert ignoring.title == PANIC_TITLE
    assert ignoring.audit["novel_errors"] == 1 and ignoring.audit["ignored_templates"] >= 2
    assert "unexpected color" not in ignoring.root_cause + ignoring.summary
    assert not any("unexpected color" in item for item in ignoring.evidence)


def test_colour_only_novelty_is_not_a_cause() -> None:
    no_panic = [
        replace(
            c,
            lines=tuple(
                x
                for x in c.lines
                if "panic" not in x
                and "goroutine" not in x
                and "main." not in x
                and "\t" not in x
                and not x.endswith("Z ")
            ),
        )
        for c in demo_logs()
    ]
    canary_colours = tuple(
        f"2026-03-02T10:00:0{i}Z ERROR served colour {c}" for i, c in enumerate(("red", "green"))
    )
    stable_colours = ("2026-03-02T10:00:00Z ERROR served colour blue",)
    logs = [
        replace(c, lines=c.lines + (canary_colours if c.side is Side.CANARY else stable_colours))
        for c in no_panic
    ]
    verdict = analyse_offline(demo_evidence(logs=logs, metrics=[], pods=[], events=[], aborted=False))
    assert verdict.audit["value_changes"] == 2 and verdict.audit["novel_errors"] == 0
    assert "colour" not in verdict.title


def test_ignored_keywords_need_an_instruction() -> None:
    verdict = analyse_offline(demo_evidence(), extra_prompt="Be brief.")
    assert verdict.audit["ignored_templates"] == 0


def test_oomkilled_crash_without_log_signal() -> None:
    pod = PodEvidence(
        f"web-{CANARY}-a",
        Side.CANARY,
        "Running",
        CANARY,
        containers=(
            ContainerState(
                "app",
                "web:2",
                restart_count=4,
                state="waiting",
                reason="CrashLoopBackOff",
                last_termination_reason="OOMKilled",
                last_exit_code=137,
            ),
        ),
    )
    evidence = demo_evidence(pods=[pod], logs=[], metrics=[], events=[])
    verdict = analyse_offline(evidence)
    assert verdict.title == "Canary rollouts-demo is OOMKilled (exit code 137)"
    assert verdict.classification is Classification.CODE and not verdict.promote


def test_image_pull_backoff_is_infra() -> None:
    pod = PodEvidence(
        f"web-{CANARY}-a",
        Side.CANARY,
        "Pending",
        CANARY,
        containers=(
            ContainerState("app", "ghcr.io/acme/web:nope", state="waiting", reason="ImagePullBackOff"),
        ),
    )
    event = KubeEvent("Pod", f"web-{CANARY}-a", "Warning", "FailedScheduling", "0/3 nodes are available")
    verdict = analyse_offline(demo_evidence(pods=[pod], logs=[], metrics=[], events=[event]))
    assert verdict.classification is Classification.INFRA
    assert "ImagePullBackOff" in verdict.title and not verdict.promote


def test_metric_provider_error_is_infra() -> None:
    metric = MetricResult(
        "r", "error-rate", "Error", "prometheus", message="Post http://prom:9090: connection refused"
    )
    verdict = analyse_offline(demo_evidence(pods=[], logs=[], metrics=[metric], events=[]))
    assert verdict.classification is Classification.INFRA and not verdict.promote


def test_failed_metric_alone_names_value_and_condition() -> None:
    evidence = demo_evidence(pods=[], logs=[], events=[])
    verdict = analyse_offline(evidence)
    assert verdict.title == "Canary rollouts-demo fails metric success-rate: 0.71, 0.64 vs result[0] >= 0.95"
    assert not verdict.promote


def test_healthy_canary_may_be_promoted() -> None:
    verdict = analyse_offline(healthy_evidence())
    assert verdict.promote is True and verdict.confidence >= 60
    assert "looks healthy" in verdict.title


def test_no_evidence_does_not_promote() -> None:
    evidence = healthy_evidence()
    verdict = analyse_offline(replace(evidence, logs=[], metrics=[]))
    assert verdict.promote is False and verdict.confidence == 0


def test_python_and_java_traces_name_files() -> None:
    lines = (
        "Traceback (most recent call last):",
        '  File "/app/orders/handler.py", line 12, in submit',
        "    currency = order['currency']",
        "KeyError: 'currency'",
    )
    evidence = demo_evidence(
        logs=[LogChunk(f"web-{CANARY}-a", "app", Side.CANARY, lines)], pods=[], metrics=[]
    )
    verdict = analyse_offline(evidence)
    assert verdict.title == "Canary rollouts-demo raises KeyError: 'currency'"
    assert verdict.suspected_files == ("orders/handler.py",)
