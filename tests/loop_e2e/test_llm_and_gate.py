"""With an LLM configured: its title is used (sanitised), no planted secret reaches the LLM or GitHub,
and the canary gate answers over HTTP, fail closed."""

from __future__ import annotations

import pytest

from tests.analysis.secret_corpus import planted
from tests.fakes.llm import FakeLLM, palette_verdict
from tests.figures import FigureRecorder
from tests.harness import NOTIFY_TOKEN, AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification, seed

CANARY_PODS = (
    "rollouts-demo-7b6cd8d9f4-9dk2x",
    "rollouts-demo-7b6cd8d9f4-hq5lw",
    "rollouts-demo-7b6cd8d9f4-zp8rc",
)
REPLY = palette_verdict(title="Colour picker panics on an empty palette @octocat /fixloop close")


@pytest.fixture
def harness_env(fake_llm: FakeLLM) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": fake_llm.api_key,
        "OPENAI_BASE_URL": fake_llm.base_url,
        "FIXLOOP_LLM_MODEL": fake_llm.model,
    }


async def test_the_llm_title_is_used_after_sanitising(app_harness: AppHarness, fake_llm: FakeLLM) -> None:
    seed(app_harness)
    fake_llm.script(REPLY)
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    assert app_harness.github is not None
    issue = app_harness.github.issues(REPO)[0]
    assert issue.title.startswith("Colour picker panics on an empty palette")
    assert "@octocat" not in issue.title and "/fixloop" not in issue.title
    assert "main.pickColor reads colors[0]" in (issue.body or "")
    assert len(fake_llm.requests) == 1


async def test_no_planted_secret_reaches_the_llm_or_github(
    app_harness: AppHarness, fake_llm: FakeLLM, figures: FigureRecorder
) -> None:
    seed(app_harness)
    assert app_harness.kube is not None and app_harness.github is not None
    cases = planted(per_kind=20)
    lines = [f"2026-03-02T10:05:{i % 60:02d}Z ERROR {case.text}" for i, case in enumerate(cases)]
    for pod in CANARY_PODS:
        app_harness.kube.set_logs("demo", pod, "rollouts-demo", lines)
    fake_llm.script(REPLY)
    await app_harness.notify(demo_notification())
    await app_harness.drain()
    secrets = [secret for case in cases for secret in case.secrets]
    assert len(secrets) >= 200
    sent_to_llm = "\n".join(r.text for r in fake_llm.requests)
    sent_to_github = "\n".join(str(r.body) for r in app_harness.github.requests)
    leaked = [s for s in secrets if s in sent_to_llm or s in sent_to_github]
    figures.record("attack", "secrets planted in pod logs", len(secrets), goal=">= 200")
    figures.record("attack", "planted secrets that reached the LLM or GitHub", len(leaked), goal="0")
    assert leaked == []
    assert app_harness.github.issues(REPO), "the issue was still opened"


async def gate(app_harness: AppHarness, token: str | None = NOTIFY_TOKEN) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = await app_harness.client.get("/analysis/demo/rollouts-demo", headers=headers)
    return answer.status, await answer.json()


async def test_gate_answers_for_the_canary_revision_and_caches_it(
    app_harness: AppHarness, fake_llm: FakeLLM
) -> None:
    seed(app_harness)
    fake_llm.script(REPLY)
    status, answer = await gate(app_harness)
    assert status == 200
    assert answer == {
        "promote": False,
        "confidence": 92,
        "classification": "code",
        "summary": answer["summary"],
    }
    assert (await gate(app_harness))[1] == answer
    assert len(fake_llm.requests) == 1, "one analysis per revision"


async def test_gate_fails_closed_when_the_llm_fails(app_harness: AppHarness, fake_llm: FakeLLM) -> None:
    seed(app_harness)
    fake_llm.fail_next(500, times=10)
    status, answer = await gate(app_harness)
    assert status == 200
    assert answer["promote"] is False and answer["confidence"] == 0
    assert "Not promoting" in str(answer["summary"])


async def test_gate_needs_the_bearer_token(app_harness: AppHarness) -> None:
    assert (await gate(app_harness, token=None))[0] == 401
    assert (await gate(app_harness, token="wrong"))[0] == 401


async def test_gate_without_canary_pods_refuses(app_harness: AppHarness) -> None:
    assert app_harness.kube is not None
    app_harness.kube.load_demo()
    rollout = app_harness.kube.get("Rollout", "demo", "rollouts-demo")
    rollout["status"]["currentPodHash"] = "0000000000"
    app_harness.kube.add(rollout)
    status, answer = await gate(app_harness)
    assert status == 200 and answer["promote"] is False and answer["confidence"] == 0
