import json
import time
from dataclasses import replace

from app.analysis.evidence import LogChunk, Side
from app.analysis.llm import LLMConfig, analyse, needs_json_object
from app.analysis.verdict import Classification
from app.metrics import Metrics
from app.settings import Secret, Settings
from tests.analysis.demo import demo_evidence
from tests.analysis.secret_corpus import planted
from tests.fakes.llm import FakeLLM, Reply, demo_verdict

TOKEN = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"
REPLY = demo_verdict(summary=f"The new version indexes an empty slice. Leaked {TOKEN}")


def config(fake: FakeLLM, **changes: object) -> LLMConfig:
    base = LLMConfig(
        api_key=fake.api_key,
        base_url=fake.base_url,
        model="fake-model",
        timeout_seconds=5,
        backoff_seconds=0.01,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_scripted_reply_becomes_the_verdict_redacted(fake_llm: FakeLLM) -> None:
    fake_llm.script(REPLY)
    metrics = Metrics()
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm), metrics=metrics)
    assert verdict.title == REPLY["title"] and verdict.source == "llm:fake-model"
    assert TOKEN not in verdict.summary and "[REDACTED:github_token]" in verdict.summary
    assert verdict.classification is Classification.CODE and verdict.confidence == 90
    audit = verdict.audit
    assert audit["attempts"] == 1 and audit["response_format"] == "json_schema" and audit["tokens_in"] > 0
    assert len(audit["prompt_sha256"]) == 64 and len(audit["evidence_sha256"]) == 64
    assert audit["latency_ms"] >= 0 and audit["redactions"]["answer:github_token"] == 1
    body = fake_llm.requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "fixloop_verdict"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "untrusted" in body["messages"][0]["content"]
    assert metrics.llm_calls.labels(outcome="ok")._value.get() == 1
    assert metrics.llm_tokens.labels(direction="in")._value.get() == audit["tokens_in"]


async def test_json_schema_rejected_like_llama_cpp_falls_back_and_is_remembered(fake_llm: FakeLLM) -> None:
    fake_llm.reject_json_schema = True
    fake_llm.script(REPLY, REPLY)
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert verdict.source == "llm:fake-model" and verdict.audit["json_object_fallback"] is True
    kinds = [r.body["response_format"]["type"] for r in fake_llm.requests]
    assert kinds == ["json_schema", "json_object"]
    assert '"fixloop_verdict"' not in fake_llm.requests[1].text and "JSON Schema" in fake_llm.requests[1].text
    assert needs_json_object(fake_llm.base_url)
    again = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert again.audit["response_format"] == "json_object" and again.audit["attempts"] == 1
    assert fake_llm.requests[2].body["response_format"]["type"] == "json_object"


async def test_400_naming_response_format_falls_back(fake_llm: FakeLLM) -> None:
    error = {
        "error": {
            "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported",
            "type": "invalid_request_error",
            "param": "response_format",
            "code": None,
        }
    }
    fake_llm.fail_next(400, body=error)
    fake_llm.script(REPLY)
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert verdict.source == "llm:fake-model" and verdict.audit["json_object_fallback"] is True


async def test_garbage_twice_gives_the_offline_verdict(fake_llm: FakeLLM) -> None:
    fake_llm.script("Sure! Here is my analysis: the canary is broken.", '{"title": "half"}')
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert verdict.source == "offline" and verdict.audit["llm_failed"] is True
    assert verdict.title.startswith("Canary rollouts-demo panics")
    assert len(verdict.audit["invalid_answers"]) == 2
    retry = fake_llm.requests[1].body["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert "not usable" in retry[3]["content"]


async def test_garbage_then_valid_answer_is_used(fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply('{"title": "cut', finish_reason="length"), "```json\n" + json.dumps(REPLY) + "\n```"
    )
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert verdict.source == "llm:fake-model" and verdict.audit["invalid_answers"][0].startswith(
        "the answer was cut"
    )


async def test_timeout_gives_offline_with_audit(fake_llm: FakeLLM) -> None:
    fake_llm.delay = 1.0
    fake_llm.script(REPLY, REPLY)
    verdict = await analyse(
        demo_evidence(), settings_like=config(fake_llm, timeout_seconds=0.2, max_attempts=2)
    )
    assert verdict.source == "offline" and verdict.audit["llm_failed"] is True
    assert verdict.audit["errors"] == ["timeout", "timeout"] and "timeout" in verdict.audit["fallback"]


async def test_429_then_success_honours_retry_after(fake_llm: FakeLLM) -> None:
    fake_llm.fail_next(429, {"retry-after": "0.4"}, {"error": {"message": "Rate limit", "type": "requests"}})
    fake_llm.script(REPLY)
    start = time.monotonic()
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert time.monotonic() - start >= 0.4
    assert verdict.source == "llm:fake-model" and verdict.audit["attempts"] == 2
    assert verdict.audit["errors"] == ["http 429"]


async def test_long_retry_after_is_not_waited_for(fake_llm: FakeLLM) -> None:
    fake_llm.fail_next(429, {"retry-after": "3600"})
    start = time.monotonic()
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert time.monotonic() - start < 5
    assert verdict.source == "offline" and "3600" in verdict.audit["fallback"]


async def test_5xx_retried_then_offline(fake_llm: FakeLLM) -> None:
    fake_llm.fail_next(503, times=3)
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert verdict.source == "offline" and verdict.audit["attempts"] == 3 and len(fake_llm.requests) == 3


async def test_wrong_key_is_not_retried(fake_llm: FakeLLM) -> None:
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm, api_key="sk-wrong"))
    assert verdict.source == "offline" and "401" in verdict.audit["fallback"]
    assert len(fake_llm.requests) == 1


async def test_no_key_or_cap_reached_never_calls(fake_llm: FakeLLM) -> None:
    no_key = await analyse(demo_evidence(), settings_like=config(fake_llm, api_key=""))
    assert no_key.source == "offline" and no_key.audit["llm_failed"] is False
    capped = await analyse(demo_evidence(), settings_like=config(fake_llm), tokens_used=60_000)
    assert capped.audit["fallback"] == "incident token cap reached"
    assert fake_llm.requests == []


async def test_no_planted_secret_reaches_the_llm(fake_llm: FakeLLM) -> None:
    cases = planted(seed=7, per_kind=5)
    lines = tuple(line for case in cases for line in case.text.split("\n"))
    evidence = demo_evidence(
        logs=[LogChunk("web-x", "app", Side.CANARY, lines)], message=cases[0].text, gaps=[cases[1].text]
    )
    fake_llm.script(REPLY)
    await analyse(evidence, settings_like=config(fake_llm, token_budget=60_000), extra_prompt=cases[2].text)
    sent = "".join(request.text for request in fake_llm.requests)
    assert [s for case in cases for s in case.secrets if s in sent] == []


async def test_config_from_settings_hides_the_key() -> None:
    settings = Settings(openai_api_key=Secret("sk-live-secret"), llm_model="m", llm_token_budget=5000)
    llm = LLMConfig.from_settings(settings)
    assert llm.api_key == "sk-live-secret" and llm.model == "m" and llm.token_budget == 5000
    assert "sk-live-secret" not in repr(llm)


async def test_secret_in_the_title_is_redacted(fake_llm: FakeLLM) -> None:
    fake_llm.script({**REPLY, "title": f"Canary leaks {TOKEN}", "evidence": [f"token={TOKEN}"]})
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert verdict.title == "Canary leaks [REDACTED:github_token]"
    assert verdict.evidence == ("token=[REDACTED:github_token]",)


async def test_reasoning_model_parameters_are_adapted(fake_llm: FakeLLM) -> None:
    message = (
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens'."
    )
    fake_llm.fail_next(
        400,
        body={
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": "unsupported_parameter",
            }
        },
    )
    fake_llm.script(REPLY)
    verdict = await analyse(demo_evidence(), settings_like=config(fake_llm))
    assert verdict.source == "llm:fake-model"
    retry = fake_llm.requests[1].body
    assert "max_tokens" not in retry and "temperature" not in retry and retry["max_completion_tokens"] == 1500
