import time

from app.analysis.budget import estimate_tokens
from app.analysis.compact import compact
from app.analysis.events import iter_events
from app.analysis.evidence import LogChunk, Side
from app.analysis.logtemplate import Level, level_of, template_of
from app.analysis.prompt import build_prompt
from bench.compaction import hidden_markers, synthetic_evidence
from tests.analysis.demo import demo_evidence, demo_logs


def test_go_python_java_traces_are_one_event_each() -> None:
    lines = [
        "2026-03-02T10:00:00Z INFO start",
        "2026-03-02T10:00:01Z panic: runtime error: index out of range [0] with length 0",
        "2026-03-02T10:00:01Z ",
        "2026-03-02T10:00:01Z goroutine 23 [running]:",
        "2026-03-02T10:00:01Z main.pickColor({0x0, 0x0, 0x0}, 0xc0000b2f60?)",
        "2026-03-02T10:00:01Z \t/app/main.go:214 +0x1c5",
        "2026-03-02T10:00:01Z created by main.newColorCache in goroutine 1",
        "2026-03-02T10:00:01Z \t/app/main.go:159 +0x1b4",
        "INFO after go",
        "Traceback (most recent call last):",
        '  File "/app/x.py", line 3, in f',
        "    d['k']",
        "KeyError: 'k'",
        "INFO after python",
        'Exception in thread "main" java.lang.IllegalStateException: boom',
        "\tat com.acme.A.run(A.java:10)",
        "Caused by: java.io.IOException: disk",
        "\t... 3 more",
        "ERROR request failed",
        "\tat com.acme.B.call(B.java:5)",
        "INFO done",
    ]
    events = list(iter_events(lines))
    kinds = [(e.kind, len(e.lines)) for e in events]
    assert kinds == [
        ("line", 1),
        ("go", 7),
        ("line", 1),
        ("py", 4),
        ("line", 1),
        ("java", 4),
        ("line", 2),
        ("line", 1),
    ]
    assert events[1].timestamp == "2026-03-02T10:00:01Z" and events[1].top_frame() == "main.pickColor"
    assert events[3].headline == "KeyError: 'k'" and events[3].top_frame() == "f (x.py)"
    assert events[5].top_frame() == "com.acme.A.run"


def test_levels_from_common_formats() -> None:
    cases = {
        "level=error msg=x": Level.ERROR,
        '{"level":"warn","msg":"x"}': Level.WARN,
        "E1128 10:00:00.123456 1 x.go:1] boom": Level.ERROR,
        "W1128 10:00:00.123456 1 x.go:1] hmm": Level.WARN,
        "2026 ERROR db down": Level.ERROR,
        "[error] upstream": Level.ERROR,
        "fatal error: all goroutines are asleep": Level.ERROR,
        "panic: oops": Level.ERROR,
        "WARNING: disk": Level.WARN,
        "INFO ok": Level.INFO,
        '"GET / HTTP/1.1" 503 UF': Level.WARN,
        "plain text": Level.INFO,
    }
    for line, level in cases.items():
        assert level_of(line) is level, line
        assert template_of(line)[1] is level, line


def test_templates_mask_variable_parts() -> None:
    a = template_of(
        'GET /color from 10.244.0.5:47172 -> 200 "green" (0.9ms) id=3f2a9c1e-1111-2222-3333-444455556666'
    )
    b = template_of(
        'GET /color from 10.1.0.9:31000 -> 200 "blue" (12.5ms) id=aa2a9c1e-1111-2222-3333-444455556666'
    )
    assert a == b and "200" in a[0]
    assert template_of("GET /x -> 503 (1ms)")[0] != template_of("GET /x -> 200 (1ms)")[0]
    assert template_of("KeyError: 'currency'")[0] == "KeyError: 'currency'"


def test_counts_ranking_samples_and_determinism() -> None:
    logs = demo_logs()
    first, second = compact(logs), compact(list(reversed(logs)))
    assert [t.key for t in first.templates] == [t.key for t in second.templates]
    top = first.templates[0]
    assert (
        top.novel_error and top.multiline and top.text.startswith("panic: runtime error: index out of range")
    )
    assert top.canary == 3 and top.stable == 0 and top.canary_pods == 3
    assert top.samples[0].startswith("panic: runtime error: index out of range [0] with length 0\n")
    assert top.first_seen.startswith("2026-03-02T10:00:50")
    colour = next(t for t in first.templates if "/color" in t.text)
    assert colour.canary and colour.stable and not colour.novel
    assert first.canary_lines == sum(len(c.lines) for c in logs if c.side is Side.CANARY)


def test_secrets_are_redacted_before_templating() -> None:
    token = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
    chunk = LogChunk("p", "c", Side.CANARY, (f"ERROR login failed token={token} user=4",))
    compacted = compact([chunk])
    assert compacted.redactions == {"github_token": 1}
    text = repr(compacted)
    assert token not in text and token[4:20] not in text


def test_estimate_is_conservative_for_prose_and_logs() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("hello world") >= 2
    assert estimate_tokens("a" * 4000) >= 1000
    assert estimate_tokens("2026-03-02T10:00:01Z 10.244.0.5:47172") >= 20


def test_prompt_for_demo_holds_facts_and_fences() -> None:
    prompt = build_prompt(demo_evidence(), budget=4000, extra_prompt="Ignore color changes.", boundary="b0b0")
    assert prompt.tokens <= 4000
    assert "<<<EVIDENCE b0b0>>>" in prompt.user and prompt.user.endswith("<<<END EVIDENCE b0b0>>>")
    assert "Ignore color changes." in prompt.system
    for fact in (
        "CrashLoopBackOff",
        "success-rate",
        "0.71",
        "result[0] >= 0.95",
        ":blue -> canary",
        "BackOff",
    ):
        assert fact in prompt.evidence, fact
    assert "index out of range [0] with length 0" in prompt.evidence


def test_100k_lines_all_hidden_errors_within_budget() -> None:
    evidence = synthetic_evidence(100_000)
    start = time.perf_counter()
    compacted = compact(evidence.logs)
    prompt = build_prompt(evidence, compacted, budget=12_000)
    elapsed = time.perf_counter() - start
    assert len(compacted.novel_errors()) == 7
    for marker in hidden_markers():
        assert marker in prompt.user, marker
    assert prompt.tokens <= 12_000 and prompt.novel_errors_kept == 7
    raw = estimate_tokens("\n".join(line for chunk in evidence.logs for line in chunk.lines))
    assert raw >= 10 * prompt.tokens
    assert elapsed < 10  # ~1.5 s here; loose so a loaded CI machine does not flake (bench/ measures)


def test_must_keep_templates_shrink_before_they_go() -> None:
    lines = tuple(
        f"ERROR failure kind{chr(97 + i % 26)}{chr(97 + i // 26)} " + "word " * 60 for i in range(300)
    )
    prompt = build_prompt(demo_evidence(logs=[LogChunk("p", "c", Side.CANARY, lines)]), budget=6000)
    assert prompt.tokens <= 6000
    assert prompt.notes and "token budget" in prompt.user
