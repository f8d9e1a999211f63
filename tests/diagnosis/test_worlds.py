"""Every diagnosis world, offline and through the fake LLM: signature, class, and whether an agent may act.

The score of each mode is recorded under "measured figures"; a world that misses fails its test too.
"""

from __future__ import annotations

from typing import Any

from app.analysis.evidence import Evidence
from app.analysis.llm import LLMConfig, analyse
from app.analysis.offline import analyse_offline
from app.loop.steps.handoff_gate import infra_reason
from app.rollouts.evidence import collect_evidence
from app.rollouts.kube import KubeClient
from tests.diagnosis.worlds import WORLDS, World, seed_world
from tests.fakes.kube import FakeKube
from tests.fakes.llm import FakeLLM
from tests.figures import FigureRecorder

ROLLOUT = "rollouts-demo"


async def evidence_of(fake_kube: FakeKube, kube: KubeClient, world: World) -> Evidence:
    seed_world(fake_kube, world)
    return await collect_evidence(kube, world.namespace, ROLLOUT, max_pods_per_side=5, tail_lines=2000)


def naive_code_verdict(world: World) -> dict[str, Any]:
    """An LLM that calls every failure a code bug: the gate must not follow it for an infra world."""
    return {
        "title": f"Canary {ROLLOUT} has a bug",
        "summary": "The new version is broken.",
        "root_cause": "A bug in the new code.",
        "evidence": [],
        "suspected_files": [],
        "fix_hint": "Fix the bug.",
        "classification": "code",
        "promote": False,
        "confidence": 90,
    }


async def test_worlds_offline(fake_kube: FakeKube, kube: KubeClient, figures: FigureRecorder) -> None:
    misses = []
    for world in WORLDS:
        evidence = await evidence_of(fake_kube, kube, world)
        verdict = analyse_offline(evidence)
        gate = infra_reason(evidence, verdict)
        got = (world.signature in verdict.title, verdict.classification, not gate)
        if got != (True, world.classification, world.handoff) or verdict.summary == verdict.root_cause:
            misses.append(f"{world.name}: {verdict.title!r} {verdict.classification} gate={gate!r}")
    score = len(WORLDS) - len(misses)
    figures.record(
        "diagnosis",
        "worlds with signature, class and hand-off right, offline",
        f"{score}/{len(WORLDS)}",
        goal=f"{len(WORLDS)}/{len(WORLDS)}",
    )
    assert not misses, misses


async def test_worlds_through_the_fake_llm(
    fake_kube: FakeKube, kube: KubeClient, fake_llm: FakeLLM, figures: FigureRecorder
) -> None:
    config = LLMConfig(
        api_key=fake_llm.api_key,
        base_url=fake_llm.base_url,
        model=fake_llm.model,
        max_attempts=1,
        backoff_seconds=0.01,
    )
    seen, gated, misses = 0, 0, []
    for world in WORLDS:
        evidence = await evidence_of(fake_kube, kube, world)
        fake_llm.script(naive_code_verdict(world))
        sent = len(fake_llm.requests)
        verdict = await analyse(evidence, settings_like=config)
        prompt = "\n".join(request.text for request in fake_llm.requests[sent:])
        seen += world.signature in prompt
        held = bool(infra_reason(evidence, verdict)) is (not world.handoff)
        gated += held
        if world.signature not in prompt or not held or not verdict.source.startswith("llm"):
            misses.append(
                f"{world.name}: in prompt={world.signature in prompt} gate held={held} {verdict.source}"
            )
    total = len(WORLDS)
    figures.record(
        "diagnosis",
        "worlds whose signature reached the LLM's prompt",
        f"{seen}/{total}",
        goal=f"{total}/{total}",
    )
    figures.record(
        "diagnosis",
        "worlds gated right behind an LLM that says 'code'",
        f"{gated}/{total}",
        goal=f"{total}/{total}",
    )
    assert not misses, misses
