"""Fixloop's LLM client against a real OpenAI-compatible server: llama.cpp (llama-cpp-python[server]
0.3.36) running SmolLM2-135M on loopback, behind a recording proxy that shows the wire protocol.

What is tested is the protocol path, not the tiny model's wisdom: the json_schema -> json_object
fallback (and its memory per endpoint), and that the outcome is a schema-valid verdict or a clean
offline fallback with the reason recorded, never an exception; then one incident end to end.
Budgets are small (prompt ~1.3k tokens, answer <= 200) so a completion takes seconds on 2 busy cores.
"""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from app.analysis.answer import InvalidAnswer, parse_answer
from app.analysis.llm import LLMConfig, analyse, needs_json_object
from app.analysis.verdict import Verdict
from tests.analysis.demo import demo_evidence
from tests.fakes.llm import FakeLLM, demo_verdict
from tests.figures import FigureRecorder
from tests.harness import AppHarness
from tests.llm_server.llama import MODEL_ALIAS
from tests.llm_server.proxy import Exchange, RecordingProxy
from tests.loop_e2e.test_failure_to_issue import REPO, demo_notification, seed

SUITE = "llm server"
TOKEN_BUDGET = 1200  # Fixloop's floor: the prompt shrinks to its fixed part plus the top templates
MAX_OUTPUT_TOKENS = 200


def config(proxy: RecordingProxy, **changes: object) -> LLMConfig:
    base = LLMConfig(
        api_key="local-test-key",  # llama.cpp's server runs without --api_key: any bearer is accepted
        base_url=proxy.base_url,
        model=MODEL_ALIAS,
        timeout_seconds=180,
        token_budget=TOKEN_BUDGET,
        max_output_tokens=MAX_OUTPUT_TOKENS,
        backoff_seconds=0.2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def usable(exchange: Exchange) -> bool:
    """Whether Fixloop's own validator accepts this answer as a verdict."""
    try:
        parse_answer(*exchange.answer)
    except InvalidAnswer:
        return False
    return True


def assert_clean_outcome(verdict: Verdict, completions: list[Exchange]) -> bool:
    """The verdict is the LLM's exactly when one of its answers was schema-valid, else a recorded
    offline fallback. Returns whether the LLM's verdict was used."""
    answered = [e for e in completions if e.status == 200]
    valid = [e for e in answered if usable(e)]
    if verdict.source == f"llm:{MODEL_ALIAS}":
        assert len(valid) == 1 and answered[-1] is valid[0], "the first valid answer ends the exchange"
        parse_answer(*valid[0].answer)
        return True
    assert verdict.source == "offline", verdict.source
    assert valid == [], "a schema-valid answer was thrown away"
    assert verdict.audit["llm_failed"] is True and verdict.audit["fallback"].startswith(
        "invalid answer twice"
    )
    assert len(verdict.audit["invalid_answers"]) == len(answered) == 2
    assert verdict.title and verdict.root_cause, "the offline analyser still answers"
    return False


async def test_json_schema_is_refused_so_json_object_is_used_and_remembered(
    llama_proxy: RecordingProxy, figures: FigureRecorder
) -> None:
    verdict = await analyse(demo_evidence(), settings_like=config(llama_proxy))

    first, *rest = llama_proxy.completions
    assert (
        first.response_format == "json_schema" and first.request["response_format"]["json_schema"]["strict"]
    )
    figures.record(
        SUITE, "json_schema accepted", "yes" if first.status == 200 else f"no (http {first.status})"
    )
    # llama-cpp-python 0.3.36 validates response_format.type against text|json_object and answers 500
    assert first.status == 500, first.response
    assert "response_format" in str(first.response) and "json_schema" in str(first.response)
    assert rest and all(e.response_format == "json_object" for e in rest)
    assert all(e.status == 200 for e in rest), [e.response for e in rest]
    assert "JSON Schema" in rest[0].request["messages"][0]["content"], "the schema moves into the prompt"
    assert verdict.audit["json_object_fallback"] is True and verdict.audit["response_format"] == "json_object"
    assert verdict.audit["errors"][0] == "json_schema rejected (http 500)"
    assert needs_json_object(llama_proxy.base_url), "the endpoint is remembered as json_object only"

    used_llm = assert_clean_outcome(verdict, llama_proxy.completions)
    latencies = [e.seconds for e in rest]
    figures.record(SUITE, "response_format used", verdict.audit["response_format"])
    figures.record(SUITE, "fallback to json_object taken", "yes")
    figures.record(SUITE, "completion latency median (s)", f"{statistics.median(latencies):.1f}")
    figures.record(SUITE, "completion latency max (s)", f"{max(latencies):.1f}")
    figures.record(SUITE, "tokens in/out", f"{verdict.audit['tokens_in']}/{verdict.audit['tokens_out']}")
    figures.record(SUITE, "verdict schema-valid", "yes" if used_llm else "no")
    figures.record(SUITE, "verdict source", verdict.source if used_llm else "offline (clean fallback)")
    if not used_llm:
        figures.record(SUITE, "why the answers were refused", verdict.audit["invalid_answers"][-1][:60])

    # The next incident to the same endpoint goes straight to json_object: no refused request first.
    seen = len(llama_proxy.completions)
    again = await analyse(demo_evidence(), settings_like=config(llama_proxy, max_output_tokens=48))
    second_call = llama_proxy.completions[seen:]
    assert second_call and all(e.response_format == "json_object" for e in second_call)
    assert again.audit["json_object_fallback"] is False and again.audit["response_format"] == "json_object"
    assert_clean_outcome(again, second_call)
    figures.record(SUITE, "next call's first response_format", second_call[0].response_format)


@pytest.fixture
def harness_env(llama_proxy: RecordingProxy) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "local-test-key",
        "OPENAI_BASE_URL": llama_proxy.base_url,
        "FIXLOOP_LLM_MODEL": MODEL_ALIAS,
        "FIXLOOP_LLM_TOKEN_BUDGET": str(TOKEN_BUDGET),
        "FIXLOOP_LLM_TIMEOUT": "180",
    }


async def test_a_failed_canary_opens_one_issue_with_the_real_server(
    app_harness: AppHarness, llama_proxy: RecordingProxy, figures: FigureRecorder
) -> None:
    services = app_harness.services
    assert services.llm_config.base_url == llama_proxy.base_url and services.llm_config.enabled
    # The answer budget has no setting (1500 by default): lowered here to keep the CPU time in seconds.
    services.llm_config = replace(services.llm_config, max_output_tokens=MAX_OUTPUT_TOKENS)
    seed(app_harness)
    answer = await app_harness.notify(demo_notification())
    assert answer.status == 202, await answer.text()
    await app_harness.drain(timeout=300)

    assert app_harness.github is not None
    issues = app_harness.github.issues(REPO)
    assert len(issues) == 1
    incidents = await services.store.list_incidents()
    assert len(incidents) == 1 and incidents[0].issue_number == issues[0].number
    completions = llama_proxy.completions
    assert [e.response_format for e in completions[:2]] == ["json_schema", "json_object"]
    verdict = incidents[0].data["verdict"]
    assert verdict["audit"]["json_object_fallback"] is True
    if verdict["source"] == "offline":
        assert verdict["audit"]["fallback"] and verdict["audit"]["llm_failed"] is True
        assert "index out of range" in issues[0].title, "the offline verdict names the panic"
    else:
        assert verdict["source"] == f"llm:{MODEL_ALIAS}" and any(usable(e) for e in completions[1:])
    figures.record(SUITE, "e2e: issues opened", len(issues), goal="1")
    figures.record(SUITE, "e2e: verdict source", verdict["source"])
    figures.record(SUITE, "e2e: LLM latency (s)", f"{verdict['audit']['latency_ms'] / 1000:.1f}")


# Regressions for what the real server showed, pinned with the shared FakeLLM (fast, exact).


async def test_the_json_object_memory_survives_unusable_answers(fake_llm: FakeLLM) -> None:
    """Found here: the refusal was remembered only when a verdict came back, so a model that answered
    badly (SmolLM2 does) made every later incident send the refused json_schema request again."""
    fake_llm.reject_json_schema = True
    fake_llm.script("not json", "still not json")
    first = await analyse(demo_evidence(), settings_like=fake_config(fake_llm))
    assert first.source == "offline" and first.audit["json_object_fallback"] is True
    assert needs_json_object(fake_llm.base_url)
    fake_llm.script(FAKE_REPLY)
    again = await analyse(demo_evidence(), settings_like=fake_config(fake_llm))
    assert again.source == "llm:fake-model"
    assert [r.body["response_format"]["type"] for r in fake_llm.requests[3:]] == ["json_object"]


async def test_a_server_error_that_names_no_schema_is_retried_not_a_format_switch(fake_llm: FakeLLM) -> None:
    """llama.cpp's 500 names response_format/json_schema; a bare 502 is a transient error: retried
    with backoff, json_schema kept, nothing remembered."""
    fake_llm.fail_next(502)
    fake_llm.script(FAKE_REPLY)
    verdict = await analyse(demo_evidence(), settings_like=fake_config(fake_llm))
    assert verdict.source == "llm:fake-model" and verdict.audit["json_object_fallback"] is False
    assert [r.body["response_format"]["type"] for r in fake_llm.requests] == ["json_schema", "json_schema"]
    assert verdict.audit["errors"] == ["http 502"] and not needs_json_object(fake_llm.base_url)


def fake_config(fake: FakeLLM) -> LLMConfig:
    return LLMConfig(
        api_key=fake.api_key,
        base_url=fake.base_url,
        model="fake-model",
        timeout_seconds=5,
        backoff_seconds=0.01,
    )


FAKE_REPLY = demo_verdict()
