import asyncio
from dataclasses import replace

from app.analysis.evidence import Evidence
from app.analysis.gate import CanaryGate
from app.analysis.llm import LLMConfig, analyse
from app.analysis.offline import analyse_offline
from app.analysis.verdict import Verdict
from tests.analysis.demo import demo_evidence, healthy_evidence
from tests.fakes.llm import FakeLLM


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingAnalyser:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    async def __call__(self, evidence: Evidence) -> Verdict:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return analyse_offline(evidence)


def loader(evidence: Evidence | None):  # type: ignore[no-untyped-def]
    async def load() -> Evidence | None:
        return evidence

    return load


async def test_healthy_canary_is_promoted_and_cached_per_revision() -> None:
    analyser, clock = CountingAnalyser(), Clock()
    gate = CanaryGate(analyser, cache_seconds=300, clock=clock)
    first = await gate.decide("demo/rollouts-demo/7b6cd8d9f4", loader(healthy_evidence()))
    assert first.promote is True and first.confidence >= 60 and not first.cached
    assert set(first.to_dict()) == {"promote", "confidence", "classification", "summary"}
    again = await gate.decide("demo/rollouts-demo/7b6cd8d9f4", loader(healthy_evidence()))
    assert again.cached and again.to_dict() == first.to_dict() and analyser.calls == 1
    await gate.decide("demo/rollouts-demo/other", loader(healthy_evidence()))
    assert analyser.calls == 2
    clock.now += 301
    await gate.decide("demo/rollouts-demo/7b6cd8d9f4", loader(healthy_evidence()))
    assert analyser.calls == 3


async def test_failing_canary_is_not_promoted() -> None:
    gate = CanaryGate(CountingAnalyser(), cache_seconds=300)
    answer = await gate.decide("k", loader(demo_evidence()))
    assert answer.promote is False and answer.confidence >= 80 and answer.classification == "code"
    assert "panics" in answer.summary


async def test_single_flight_shares_one_analysis() -> None:
    analyser = CountingAnalyser(delay=0.2)
    gate = CanaryGate(analyser, cache_seconds=300)
    answers = await asyncio.gather(*(gate.decide("k", loader(healthy_evidence())) for _ in range(10)))
    assert analyser.calls == 1 and len({a.to_dict()["promote"] for a in answers}) == 1


async def test_fail_closed_without_evidence_or_canary_pods() -> None:
    gate = CanaryGate(CountingAnalyser(), cache_seconds=300)
    none = await gate.decide("k1", loader(None))
    assert none.promote is False and none.confidence == 0 and "no evidence" in none.summary
    no_pods = await gate.decide("k2", loader(replace(healthy_evidence(), pods=[])))
    assert no_pods.promote is False and no_pods.confidence == 0 and "no canary pods" in no_pods.summary


async def test_fail_closed_on_errors_and_timeouts_without_caching_them() -> None:
    async def broken(evidence: Evidence) -> Verdict:
        raise RuntimeError("boom")

    gate = CanaryGate(broken, cache_seconds=300)
    answer = await gate.decide("k", loader(healthy_evidence()))
    assert answer.promote is False and answer.confidence == 0 and "RuntimeError" in answer.summary
    slow = CountingAnalyser(delay=0.5)
    gate = CanaryGate(slow, cache_seconds=300, timeout_seconds=0.05)
    late = await gate.decide("k", loader(healthy_evidence()))
    assert late.promote is False and late.confidence == 0 and "did not finish" in late.summary
    await asyncio.sleep(0.6)  # the analysis went on in the background and is now cached
    done = await gate.decide("k", loader(healthy_evidence()))
    assert done.promote is True and done.cached and slow.calls == 1


async def test_llm_timeout_fails_closed_even_when_offline_would_promote(fake_llm: FakeLLM) -> None:
    fake_llm.delay = 1.0
    fake_llm.script({"unused": True})
    config = LLMConfig(
        api_key=fake_llm.api_key, base_url=fake_llm.base_url, timeout_seconds=0.1, max_attempts=1
    )

    async def analyse_fn(evidence: Evidence) -> Verdict:
        return await analyse(evidence, settings_like=config)

    gate = CanaryGate(analyse_fn, cache_seconds=300)
    answer = await gate.decide("k", loader(healthy_evidence()))
    assert answer.promote is False and answer.confidence == 0
    assert "LLM analysis failed" in answer.summary and "timeout" in answer.summary
    fake_llm.delay = 0.0
    fake_llm.script(
        {
            "title": "Healthy",
            "summary": "No regression.",
            "root_cause": "None.",
            "evidence": [],
            "suspected_files": [],
            "fix_hint": "",
            "classification": "unknown",
            "promote": True,
            "confidence": 80,
        }
    )
    later = await gate.decide("k", loader(healthy_evidence()))  # the failure was not cached
    assert later.promote is True and later.confidence == 80
