"""Fixloop's A2A client against a real A2A server (the a2a-sdk's, on loopback): good, hostile, garbage,
slow and down agents, and a card that tries to send the evidence elsewhere."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest
from a2a.types.a2a_pb2 import AgentCard, AgentInterface

from app.agents.a2a import A2AConfig, AgentFailure, analyse_with_agent, pin_interfaces
from app.analysis.evidence import LogChunk, Side
from app.analysis.verdict import Classification
from tests.analysis.demo import demo_evidence
from tests.analysis.secret_corpus import planted
from tests.fakes.a2a_agent import AGENT_NAME, AgentReply, FakeA2AAgent
from tests.fakes.llm import demo_verdict

TOKEN = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"
VERDICT = demo_verdict(confidence=88)


def config(agent: FakeA2AAgent, **changes: object) -> A2AConfig:
    return replace(A2AConfig(url=agent.url, timeout_seconds=5, backoff_seconds=0.01), **changes)  # type: ignore[arg-type]


async def test_a_data_answer_becomes_the_verdict(fake_a2a: FakeA2AAgent) -> None:
    fake_a2a.script(VERDICT)
    verdict = await analyse_with_agent(demo_evidence(), config=config(fake_a2a))
    assert verdict.title == VERDICT["title"] and verdict.confidence == 88
    assert verdict.classification is Classification.CODE
    assert verdict.source == f"a2a:{AGENT_NAME}"
    assert verdict.audit["analyser"] == "a2a" and verdict.audit["attempts"] == 1
    [prompt] = fake_a2a.received
    assert "<<<EVIDENCE" in prompt and "index out of range" in prompt, "the same fenced evidence as the LLM"
    assert '"classification"' in prompt, "the verdict schema travels with the prompt"


async def test_a_completed_task_with_a_text_artifact_is_read(fake_a2a: FakeA2AAgent) -> None:
    fake_a2a.script(AgentReply("```json\n" + json.dumps(VERDICT) + "\n```", as_task=True))
    verdict = await analyse_with_agent(demo_evidence(), config=config(fake_a2a))
    assert verdict.root_cause == VERDICT["root_cause"]


async def test_a_hostile_answer_is_redacted_and_bounded(fake_a2a: FakeA2AAgent) -> None:
    hostile = {**VERDICT, "summary": f"Leaked {TOKEN} " + "x" * 9000, "evidence": ["e"] * 50}
    fake_a2a.script(hostile)
    verdict = await analyse_with_agent(demo_evidence(), config=config(fake_a2a))
    assert TOKEN not in verdict.summary and "[REDACTED" in verdict.summary
    assert len(verdict.summary) <= 4000 and len(verdict.evidence) <= 12


async def test_garbage_is_asked_again_once_with_the_reason(fake_a2a: FakeA2AAgent) -> None:
    fake_a2a.script("I think it is the database.", VERDICT)
    verdict = await analyse_with_agent(demo_evidence(), config=config(fake_a2a))
    assert verdict.title == VERDICT["title"]
    assert "was not usable" in fake_a2a.received[1]
    assert verdict.audit["invalid_answers"][0].startswith("not JSON")


async def test_garbage_twice_is_a_failure(fake_a2a: FakeA2AAgent) -> None:
    fake_a2a.script("nope", {"title": "only a title"})
    with pytest.raises(AgentFailure) as caught:
        await analyse_with_agent(demo_evidence(), config=config(fake_a2a))
    assert "schema" in str(caught.value)
    assert len(caught.value.audit["invalid_answers"]) == 2


async def test_a_failed_task_is_a_failure_without_retries(fake_a2a: FakeA2AAgent) -> None:
    fake_a2a.script(AgentReply(fail="model overloaded"))
    with pytest.raises(AgentFailure, match="failed: model overloaded"):
        await analyse_with_agent(demo_evidence(), config=config(fake_a2a))
    assert len(fake_a2a.received) == 1


async def test_a_slow_agent_times_out_within_the_bounded_retries(fake_a2a: FakeA2AAgent) -> None:
    fake_a2a.delay = 2.0
    fake_a2a.script(VERDICT, VERDICT)
    started = time.monotonic()
    with pytest.raises(AgentFailure, match="no answer within"):
        await analyse_with_agent(
            demo_evidence(), config=config(fake_a2a, timeout_seconds=0.5, max_attempts=2)
        )
    assert time.monotonic() - started < 3.0
    fake_a2a.replies.clear()  # the agent got both questions; nobody waits for its late answers


async def test_an_agent_that_is_down_fails_fast() -> None:
    agent = await FakeA2AAgent().start()
    await agent.down()
    started = time.monotonic()
    with pytest.raises(AgentFailure, match="unreachable") as caught:
        await analyse_with_agent(demo_evidence(), config=config(agent))
    assert caught.value.audit["attempts"] == 3
    assert time.monotonic() - started < 2.0


async def test_a_card_pointing_elsewhere_is_refused() -> None:
    async with FakeA2AAgent() as other:
        agent = FakeA2AAgent()
        agent.interface_url = other.url  # the card would send the evidence to another server
        async with agent:
            with pytest.raises(AgentFailure, match="own origin"):
                await analyse_with_agent(demo_evidence(), config=config(agent))
        assert other.received == [] and agent.received == []


async def test_no_planted_secret_reaches_the_agent(fake_a2a: FakeA2AAgent) -> None:
    cases = planted(seed=11, per_kind=10)
    lines = tuple(line for case in cases for line in case.text.split("\n"))
    evidence = demo_evidence(logs=[LogChunk("web-x", "app", Side.CANARY, lines)], message=cases[0].text)
    fake_a2a.script(VERDICT)
    await analyse_with_agent(
        evidence, config=config(fake_a2a, token_budget=60_000), extra_prompt=cases[2].text
    )
    secrets = [s for case in cases for s in case.secrets]
    assert len(secrets) >= 100
    assert [s for s in secrets if s in fake_a2a.received[0]] == []


def test_the_origin_pin_normalises_default_ports_and_refuses_the_rest() -> None:
    def card(*urls: str) -> AgentCard:
        return AgentCard(
            name="x", supported_interfaces=[AgentInterface(protocol_binding="JSONRPC", url=u) for u in urls]
        )

    pinned = card(
        "https://Agent.example.com:443/rpc", "https://evil.example.com/rpc", "http://agent.example.com/rpc"
    )
    pin_interfaces(pinned, "https://agent.example.com")
    assert [i.url for i in pinned.supported_interfaces] == ["https://Agent.example.com:443/rpc"]
    for urls in (("https://agent.example.com:8443/",), ("https://agent.example.com:x/",), ()):
        with pytest.raises(AgentFailure, match="own origin"):
            pin_interfaces(card(*urls), "https://agent.example.com")
