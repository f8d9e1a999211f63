"""The attack suite, end to end: injections and secrets planted in pod logs, the cluster's free text and
LLM answers; a notification in; every request Fixloop sent to the LLM and to GitHub read back and checked.

Goals (issue 8): 0 planted secrets in any LLM or GitHub request, 0 injections live in GitHub. Each run
also checks that the planted text got there (its probe tags are found in what GitHub received), so the
zeros are measured on text that arrived.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.github.user_tokens import Grant
from tests.analysis.secret_corpus import Case, planted
from tests.attack import plant
from tests.attack.injection_corpus import Injection, chunks, injections
from tests.attack.sent import (
    Live,
    agent_facing,
    github_fields,
    leaked,
    live_in_github,
    outside_fence,
    own_markers,
    reached,
)
from tests.commands.helpers import Seeded
from tests.fakes.kube_demo import clone_demo
from tests.fakes.llm import FakeLLM, palette_verdict
from tests.figures import FigureRecorder
from tests.harness import AppHarness
from tests.loop_e2e.test_failure_to_issue import REPO

SLICES = 6  # incidents per run: each carries a slice of the corpora
# An issue starts a line with its first 5 summary paragraphs, /fixloop analyze with its first 3: slices
# of at most 8 injections give (nearly: a multi-paragraph injection takes two) every injection a line start.
LINE_STARTS = 8
ANALYZE_ROTATION = 5
SECRETS_PER_KIND = 20  # 12 kinds: 240 cases, over 400 secret values
BENIGN_REPLY = palette_verdict()


@pytest.fixture(params=["llm", "offline"])
def analyser(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def harness_env(analyser: str, fake_llm: FakeLLM) -> dict[str, str]:
    if analyser == "offline":
        return {}
    return {
        "OPENAI_API_KEY": fake_llm.api_key,
        "OPENAI_BASE_URL": fake_llm.base_url,
        "FIXLOOP_LLM_MODEL": fake_llm.model,
    }


@dataclass
class Attack:
    place: str
    corpus: list[Injection]
    cases: list[Case]
    slices: int = SLICES

    def sliced(self) -> list[tuple[list[Injection], list[Case]]]:
        cases = [self.cases[i :: self.slices] for i in range(self.slices)]
        return list(zip(chunks(self.corpus, self.slices), cases, strict=True))

    @property
    def secrets(self) -> list[str]:
        return [s for case in self.cases for s in case.secrets] + [s for i in self.corpus for s in i.secrets]

    @property
    def tags(self) -> list[str]:
        return [injection.tag for injection in self.corpus]


async def _seed(app: AppHarness) -> None:
    """An installation with Copilot configured and a writer who authorised Fixloop: the hand-off then
    sends Copilot the custom instructions built from the evidence (more text that must stay inert)."""
    assert app.github is not None
    installation = app.github.add_installation("acme", ["rollouts-demo"])
    app.github.put_file(REPO, ".github/fixloop.yml", "agent: copilot\n")
    alice = app.github.add_user("alice", copilot_seat=True)
    app.github.add_collaborator(REPO, "alice", "write")
    grant = Grant(app.github.user_token("alice"), "", None, None)
    await app.services.user_tokens.save(alice.id, "alice", grant, installation.id)


async def _run(app: AppHarness, fake_llm: FakeLLM, attack: Attack, analyser: str) -> None:
    assert app.kube is not None
    await _seed(app)
    for index, (mine, cases) in enumerate(attack.sliced()):
        ns = plant.namespace(index)
        clone_demo(app.kube, ns)
        if attack.place == "logs":
            plant.plant_logs(app.kube, ns, mine, cases)
        elif attack.place == "cluster":
            plant.plant_cluster(app.kube, ns, mine, cases)
        if analyser == "llm":
            reply = plant.llm_reply(mine, cases) if attack.place == "llm" else BENIGN_REPLY
            fake_llm.script(reply)
        answer = await app.notify(plant.notification(ns))
        assert answer.status == 202, await answer.text()
    await app.drain(timeout=120)
    assert fake_llm.pending == 0, "with an LLM configured, every incident asked it"


@dataclass
class Outcome:
    leaked_to_llm: list[str]
    leaked_to_github: list[str]
    live: Live
    reached_github: set[str]
    reached_llm: set[str]
    outside_fence: list[str]
    in_agent_task: set[str]


def _outcome(app: AppHarness, fake_llm: FakeLLM, attack: Attack) -> Outcome:
    assert app.github is not None
    issues = [i for i in app.github.issues(REPO) if i.pull is None]
    assert len(issues) == attack.slices, "one issue per planted slice"
    fields = github_fields(app.github.requests)
    prompts = [r.text for r in fake_llm.requests]
    return Outcome(
        leaked_to_llm=leaked(attack.secrets, prompts),
        leaked_to_github=leaked(attack.secrets, (f.text for f in fields)),
        live=live_in_github(
            fields,
            own_markers(range(1, attack.slices + 1)),
            attack.tags,
            own_links=(f"{app.github.web_url}/{REPO}/blob/",),  # permalinks to the stack frames
        ),
        reached_github=reached(attack.tags, fields),
        reached_llm={tag for tag in attack.tags if any(tag in prompt for prompt in prompts)},
        outside_fence=outside_fence(fake_llm.requests, attack.tags),
        in_agent_task=reached(attack.tags, agent_facing(fields)),
    )


def _measure(app: AppHarness, fake_llm: FakeLLM, attack: Attack, figures: FigureRecorder) -> None:
    seen = _outcome(app, fake_llm, attack)
    where, leaks = attack.place, len(seen.leaked_to_llm) + len(seen.leaked_to_github)
    figures.record("attack", f"{where}: secrets planted", len(attack.secrets), goal=">= 200")
    figures.record("attack", f"{where}: planted secrets that reached the LLM or GitHub", leaks, goal="0")
    figures.record("attack", f"{where}: injections planted", len(attack.corpus))
    figures.record("attack", f"{where}: injections that reached GitHub", len(seen.reached_github))
    if where != "llm" and fake_llm.requests:
        figures.record("attack", f"{where}: injections that reached the LLM (fenced)", len(seen.reached_llm))
    figures.record(
        "attack", f"{where}: live texts in GitHub (injections made live)", len(seen.live.findings), goal="0"
    )
    quoted = len(seen.in_agent_task)
    figures.record("attack", f"{where}: injections quoted in the agent's task (inert)", quoted)
    assert seen.leaked_to_llm == [] and seen.leaked_to_github == []
    assert not seen.live.findings, f"live in GitHub:\n{seen.live}"
    assert seen.outside_fence == [], seen.outside_fence
    missing = sorted(set(attack.tags) - seen.reached_github)
    assert not missing, f"planted text that never reached GitHub: {missing}"
    if where == "llm":
        assert seen.in_agent_task == set(), "the agent's task is never built from the LLM's prose"


@pytest.mark.parametrize("place", ["logs", "cluster"])
async def test_attack_from_the_cluster(
    app_harness: AppHarness, fake_llm: FakeLLM, figures: FigureRecorder, place: str, analyser: str
) -> None:
    attack = Attack(place, injections(), planted(per_kind=SECRETS_PER_KIND))
    await _run(app_harness, fake_llm, attack, analyser)
    _measure(app_harness, fake_llm, attack, figures)


async def _ask_for_fresh_analyses(app: AppHarness) -> None:
    """``/fixloop analyze`` from a writer on every issue: a second answer per incident, rendered by the
    command's own template (title, summary, root cause and fix hint)."""
    assert app.github is not None
    installation_id = await app.services.github.installation_for_repo(REPO)
    for incident in await app.services.store.list_incidents():
        assert incident.issue_number is not None
        issue = app.github.issue(REPO, incident.issue_number)
        seeded = Seeded(app, installation_id, incident, issue)
        _, payload = seeded.comment("/fixloop analyze")
        await seeded.post(payload)


@pytest.mark.parametrize("analyser", ["llm"])
async def test_attack_from_the_llm(
    app_harness: AppHarness, fake_llm: FakeLLM, figures: FigureRecorder, analyser: str
) -> None:
    corpus = injections()
    slices = -(-len(corpus) // LINE_STARTS)
    attack = Attack("llm", corpus, planted(per_kind=SECRETS_PER_KIND), slices=slices)
    await _run(app_harness, fake_llm, attack, analyser)
    for mine, cases in attack.sliced():  # incidents ask in any order: each answer is a whole slice
        fake_llm.script(plant.llm_reply(mine, cases, rotate=ANALYZE_ROTATION))
    await _ask_for_fresh_analyses(app_harness)
    assert fake_llm.pending == 0, "every incident and every /fixloop analyze asked the LLM"
    _measure(app_harness, fake_llm, attack, figures)
