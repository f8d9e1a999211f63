"""Planting the corpora where Fixloop reads untrusted text: pod logs, the cluster's free text, LLM answers.

Each slice of the corpora goes into its own copy of the demo cluster (namespace ``attack-<n>``), so each
slice becomes its own incident and issue: one slice per incident keeps every planted string within the
rows and lengths an issue shows, so that what is checked is text that reached GitHub.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tests.analysis.secret_corpus import Case
from tests.attack.injection_corpus import Injection
from tests.fakes.kube import FakeKube
from tests.fakes.kube_demo import DEMO_NAMESPACE, LOGS
from tests.loop_e2e.test_failure_to_issue import demo_notification

CANARY_PODS = (
    "rollouts-demo-7b6cd8d9f4-9dk2x",
    "rollouts-demo-7b6cd8d9f4-hq5lw",
    "rollouts-demo-7b6cd8d9f4-zp8rc",
)
CONTAINER = "rollouts-demo"
ANALYSIS_RUN = "rollouts-demo-7b6cd8d9f4-2-3"
STAMP = "2026-03-02T10:01:{second:02d}Z"


def namespace(index: int) -> str:
    return f"attack-{index}"


def notification(ns: str) -> dict[str, Any]:
    body = demo_notification()
    body["rollout"]["metadata"]["namespace"] = ns
    return body


def _demo_log(pod: str, previous: bool) -> list[str]:
    path = LOGS / DEMO_NAMESPACE / pod / f"{CONTAINER}{'.previous' if previous else ''}.log"
    return Path(path).read_text(encoding="utf-8").splitlines()


def _secret_lines(cases: list[Case]) -> list[str]:
    return [f"{STAMP.format(second=i % 60)} ERROR {c.text}" for i, c in enumerate(cases)]


def plant_logs(kube: FakeKube, ns: str, injections: list[Injection], cases: list[Case]) -> None:
    """Injections in the log of the canary's crashed instances (the issue shows those samples first): each
    as a bare line, so a line-start command stays at the start of a line, and three times as an error, so
    it ranks among the error signatures (the issue's table, the agent's task, the prompt). Secrets go
    into the current instances' logs, as error lines too."""
    for index, pod in enumerate(CANARY_PODS):
        mine = injections[index :: len(CANARY_PODS)]
        bare = [line for inj in mine for line in inj.text.splitlines()]
        errors = [f"{STAMP.format(second=30 + i)} ERROR {inj.text}" for i, inj in enumerate(mine)] * 3
        previous = _demo_log(pod, previous=True) + bare + [e for x in errors for e in x.splitlines()]
        kube.set_logs(ns, pod, CONTAINER, previous, previous=True)
        secrets = _secret_lines(cases[index :: len(CANARY_PODS)])
        kube.set_logs(ns, pod, CONTAINER, _demo_log(pod, previous=False) + secrets)


def _event(ns: str, index: int, pod: str, message: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.attack{index:04d}", "namespace": ns},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": ns},
        "reason": "BackOff",
        "message": message,
        "type": "Warning",
        "count": 1,
        "firstTimestamp": "2026-03-02T10:01:30Z",
        "lastTimestamp": "2026-03-02T10:01:30Z",
        "source": {"component": "kubelet"},
    }


def _metric(injection: Injection, secrets: list[Case]) -> dict[str, Any]:
    measurements = [
        {"phase": "Failed", "value": case.text, "startedAt": "2026-03-02T10:01:05Z"} for case in secrets
    ]
    return {
        "name": f"probe-{injection.tag}",
        "phase": "Failed",
        "count": max(len(measurements), 1),
        "failed": max(len(measurements), 1),
        "message": injection.text,
        "measurements": measurements,
    }


def plant_cluster(kube: FakeKube, ns: str, injections: list[Injection], cases: list[Case]) -> None:
    """Injections and secrets in the free text Fixloop reads from the cluster: Warning Events' messages,
    AnalysisRun metric messages and measured values, the Rollout's status message; all of it in the
    Rollout's annotations too (which Fixloop must not copy anywhere)."""
    rollout = kube.get("Rollout", ns, "rollouts-demo")
    notes = {f"attack.example/note-{inj.tag}": inj.text for inj in injections}
    notes |= {f"attack.example/secret-{i}": case.text for i, case in enumerate(cases)}
    first = injections[0]
    # the annotations Fixloop does read: an agent name (validated) and a base branch for Copilot
    notes |= {
        "fixloop.dev/agent": first.text,
        "fixloop.dev/base-branch": f"main {first.text} {cases[0].text}",
    }
    rollout["metadata"]["annotations"].update(notes)
    rollout["status"]["message"] = f"{first.text} {cases[0].text}"
    kube.add(rollout)
    on_events, on_metrics = injections[1::2], injections[2::2]
    events = [
        _event(ns, i, CANARY_PODS[i % len(CANARY_PODS)], f"{inj.text} {case.text}")
        for i, (inj, case) in enumerate(zip(on_events, cases[1:], strict=False))
    ]
    kube.add(*events)
    run = copy.deepcopy(kube.get("AnalysisRun", ns, ANALYSIS_RUN))
    spare = cases[1 + len(events) :]
    per_metric = max(len(spare) // max(len(on_metrics), 1), 1)
    run["status"]["metricResults"] += [
        _metric(inj, spare[i * per_metric : (i + 1) * per_metric]) for i, inj in enumerate(on_metrics)
    ]
    kube.add(run)


def llm_reply(injections: list[Injection], cases: list[Case], *, rotate: int = 0) -> dict[str, Any]:
    """A schema-valid answer carrying the corpora in every text field: the title, the summary (each
    injection a paragraph of its own, so each may start a line of the issue), the root cause, the fix
    hint, evidence quotes and suspected files. ``rotate`` brings other injections first."""
    texts = [inj.text for inj in injections[rotate:] + injections[:rotate]]
    secrets = [case.text for case in cases]
    return {
        "title": texts[0].splitlines()[0][:100],
        "summary": "\n\n".join(texts),
        "root_cause": "\n".join(texts[1:] + texts[:1] + secrets[: len(secrets) // 2]),
        "evidence": (texts + secrets)[:12],
        "suspected_files": texts[:10],
        "fix_hint": "\n".join(texts[::-1] + secrets[len(secrets) // 2 :]),
        "classification": "code",
        "promote": False,
        "confidence": 90,
    }
