"""The attack suite's corpora answered by a hostile A2A agent: every injection and secret of the corpus in
its (schema-valid) verdicts; 0 secrets and 0 live injections in what GitHub received, the agent's text
never in the agent's task, and no planted cluster secret in what the agent received."""

from __future__ import annotations

import pytest

from tests.analysis.secret_corpus import planted
from tests.attack import plant
from tests.attack.injection_corpus import chunks, injections
from tests.attack.sent import agent_facing, github_fields, leaked, live_in_github, own_markers, reached
from tests.attack.test_attack_e2e import LINE_STARTS, SECRETS_PER_KIND, _seed
from tests.fakes.a2a_agent import FakeA2AAgent
from tests.fakes.kube_demo import clone_demo
from tests.figures import FigureRecorder
from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO


@pytest.fixture
def harness_env(fake_a2a: FakeA2AAgent) -> dict[str, str]:
    return {"FIXLOOP_A2A_URL": fake_a2a.url}


async def test_a_hostile_a2a_agent_goes_nowhere(
    app_harness: AppHarness, fake_a2a: FakeA2AAgent, figures: FigureRecorder
) -> None:
    corpus, cases = injections(), planted(per_kind=SECRETS_PER_KIND)
    slices = -(-len(corpus) // LINE_STARTS)
    assert app_harness.kube is not None and app_harness.github is not None
    await _seed(app_harness)
    sliced = list(zip(chunks(corpus, slices), [cases[i::slices] for i in range(slices)], strict=True))
    for index, (mine, mine_cases) in enumerate(sliced):
        ns = plant.namespace(index)
        clone_demo(app_harness.kube, ns)
        plant.plant_logs(app_harness.kube, ns, [], mine_cases)  # cluster secrets: must not reach the agent
        fake_a2a.script(plant.llm_reply(mine, mine_cases))
        assert (await app_harness.notify(plant.notification(ns))).status == 202
    await app_harness.drain(timeout=120)
    assert fake_a2a.replies == [], "every incident asked the agent"
    issues = [i for i in app_harness.github.issues(REPO) if i.pull is None]
    assert len(issues) == slices and all("Analysed by the A2A agent" in (i.body or "") for i in issues)
    secrets = [s for case in cases for s in case.secrets] + [s for i in corpus for s in i.secrets]
    tags = [injection.tag for injection in corpus]
    fields = github_fields(app_harness.github.requests)
    leaks = leaked(secrets, [*fake_a2a.received, *(f.text for f in fields)])
    live = live_in_github(
        fields,
        own_markers(range(1, slices + 1)),
        tags,
        own_links=(f"{app_harness.github.web_url}/{REPO}/blob/",),  # permalinks to the stack frames
    )
    figures.record("attack", "a2a: secrets planted (cluster and agent answers)", len(secrets), goal=">= 200")
    figures.record("attack", "a2a: planted secrets that reached the agent or GitHub", len(leaks), goal="0")
    figures.record("attack", "a2a: injections planted in the agent's answers", len(tags))
    figures.record("attack", "a2a: injections that reached GitHub", len(reached(tags, fields)))
    figures.record("attack", "a2a: live texts in GitHub (injections made live)", len(live.findings), goal="0")
    assert leaks == []
    assert not live.findings, f"live in GitHub:\n{live}"
    assert reached(tags, fields) == set(tags), "the zeros are measured on text that arrived"
    assert reached(tags, agent_facing(fields)) == set(), "the agent's task is never built from its prose"
