"""Cross-tenant steering (issue 14): a team that can annotate a Rollout points it at another team's repo.

The victim's repository consents to its own namespaces only (``sources:``). The attacker's Rollout, in
a namespace of the same cluster, carries ``fixloop.dev/repo`` of the victim and fails with injections
planted in its logs, over every notification shape Argo sends. Goals: 0 issues, 0 hand-offs, 0
patches, 0 LLM requests for the attacker's source; the victim's own failure still gets its issue.
"""

from __future__ import annotations

import pytest

from app.github.user_tokens import Grant
from tests.attack import plant
from tests.attack.injection_corpus import injections
from tests.attack.test_attack_e2e import BENIGN_REPLY
from tests.fakes.kube_demo import clone_demo, cloned_notification
from tests.fakes.llm import FakeLLM
from tests.figures import FigureRecorder
from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO

ATTACKER = "team-mallory"
VICTIM = "team-victim-web"
CONFIG = 'agent: copilot\nsources: [{cluster: default, namespaces: ["team-victim-*"]}]\n'
EVENTS = ("rollout-aborted", "analysis-run-failed", "rollout-aborted")


@pytest.fixture
def harness_env(fake_llm: FakeLLM) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": fake_llm.api_key,
        "OPENAI_BASE_URL": fake_llm.base_url,
        "FIXLOOP_LLM_MODEL": fake_llm.model,
    }


async def test_a_non_consenting_source_gets_no_issue_no_handoff_no_patch(
    app_harness: AppHarness, fake_llm: FakeLLM, figures: FigureRecorder
) -> None:
    github, kube = app_harness.github, app_harness.kube
    assert github is not None and kube is not None
    installation = github.add_installation("acme", ["rollouts-demo"])
    github.put_file(REPO, ".github/fixloop.yml", CONFIG)
    alice = github.add_user("alice", copilot_seat=True)
    github.add_collaborator(REPO, "alice", "write")
    grant = Grant(github.user_token("alice"), "", None, None)
    await app_harness.services.user_tokens.save(alice.id, "alice", grant, installation.id)
    clone_demo(kube, ATTACKER, REPO)
    plant.plant_logs(kube, ATTACKER, injections()[:8], [])
    for event in EVENTS:
        answer = await app_harness.notify(cloned_notification(ATTACKER, REPO, event))
        assert answer.status == 202, await answer.text()
    names_only = {"event": "rollout-aborted", "namespace": ATTACKER, "name": "rollouts-demo"}
    assert (await app_harness.notify(names_only)).status == 202
    await app_harness.drain()

    issues = [i for i in github.issues(REPO) if i.pull is None]
    handoffs = [a for i in github.issues(REPO) for a in i.agent_assignments]
    figures.record("attack", "cross-tenant issues", len(issues), goal="0")
    figures.record("attack", "cross-tenant hand-offs", len(handoffs), goal="0")
    figures.record("attack", "cross-tenant patches", len(kube.patches), goal="0")
    assert (len(issues), len(handoffs), len(kube.patches)) == (0, 0, 0)
    assert fake_llm.requests == [], "the attacker's crafted evidence never reaches the LLM"
    assert await app_harness.services.store.list_incidents() == []

    # Control: the victim's own namespace is consented, and its failure is handled as always.
    clone_demo(kube, VICTIM, REPO)
    fake_llm.script(BENIGN_REPLY)
    assert (await app_harness.notify(cloned_notification(VICTIM, REPO))).status == 202
    await app_harness.drain()
    opened = [i for i in github.issues(REPO) if i.pull is None]
    assert len(opened) == 1 and opened[0].agent_assignments
    assert kube.patches == []
