"""Benchmark: log compaction and prompt building on 100k generated lines (canary + stable).

    .venv/bin/python -m bench.compaction [--lines 100000] [--runs 5]

The logs hide 7 canary-only error templates (Go panic, Python and Java traces, logfmt, JSON, klog, plain)
among noise both sides share. Reported: compaction and prompt-build time (median of the runs), the
prompt's tokens against the raw logs' tokens and against the seed plugin's approach (the whole log of
the first canary pod and the first stable pod), whether all 7 templates made it in, and peak memory.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

from app.analysis.budget import estimate_tokens
from app.analysis.compact import compact
from app.analysis.evidence import Evidence, LogChunk, MetricResult, Side
from app.analysis.prompt import build_prompt
from bench.figures import Figure

GOAL_SECONDS = 2.0
GOAL_FEWER = 10

_VERBS = ("loaded", "refreshed", "served", "scheduled", "flushed", "synced", "evicted", "opened", "closed")
_NOUNS = ("cache", "session", "order", "cart", "profile", "inventory", "price", "catalog", "report", "queue")
_WHERE = ("from upstream", "for tenant", "in region", "on shard", "via grpc", "via http", "for batch")

# The 7 canary-only errors; {r} is a random number, {h} a random hex id.
HIDDEN_ERRORS: tuple[tuple[str, ...], ...] = (
    (
        "panic: runtime error: invalid memory address or nil pointer dereference",
        "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x{h}]",
        "",
        "goroutine {r} [running]:",
        "main.(*PriceService).Quote(0x0, {{0xc000{h}, 0x5}})",
        "\t/app/pricing/service.go:{r} +0x2b",
        "main.handleQuote({{0x7f{h}, 0xc000{h}}}, 0xc000{h})",
        "\t/app/handlers.go:88 +0x1a5",
    ),
    ('level=error msg="failed to decode order" order_id={r} err="json: cannot unmarshal string into total"',),
    (
        '{{"level":"error","ts":"2026-03-02T10:00:{r2}Z",'
        '"msg":"payment gateway rejected request","trace":"{h}"}}',
    ),
    (
        "Traceback (most recent call last):",
        '  File "/app/orders/handler.py", line {r}, in submit',
        "    currency = order['currency']",
        "KeyError: 'currency'",
    ),
    (
        'Exception in thread "worker-{r}" java.lang.IllegalStateException: Cache not initialised',
        "\tat com.acme.cache.FeatureCache.get(FeatureCache.java:{r})",
        "\tat com.acme.flags.Flags.enabled(Flags.java:31)",
        "\t... 12 more",
    ),
    ("ERROR db: deadlock detected while updating table inventory (pid {r})",),
    ("E0302 10:00:{r2}.{r}     1 controller.go:88] failed to sync feature flags: context deadline exceeded",),
)


def _noise_templates(rng: random.Random) -> list[str]:
    out = []
    for verb in _VERBS:
        for noun in _NOUNS:
            where = rng.choice(_WHERE)
            style = rng.randrange(3)
            if style == 0:
                out.append(
                    f'level=info msg="{noun} {verb}" {where.split()[-1]}={{r}} took={{ms}}ms req={{h}}'
                )
            elif style == 1:
                out.append(f'{{{{"level":"info","msg":"{noun} {verb} {where}","id":"{{h}}","n":{{r}}}}}}')
            else:
                out.append(f"INFO {noun} {verb} {where} {{r}} in {{ms}}ms (request {{h}})")
    out += [
        "WARN slow query on {r} rows took {ms}ms (request {h})",
        'level=error msg="upstream timeout" upstream=10.0.{r2}.7:8080 after={ms}ms',
        '[2026-03-02T10:00:00.000Z] "GET /api/orders/{r} HTTP/1.1" 200 - via_upstream - "-" {r} {r2} "{h}"',
    ]
    return out


def _fill(line: str, rng: random.Random) -> str:
    return line.format(
        r=rng.randrange(1, 99999),
        r2=f"{rng.randrange(60):02d}",
        h=f"{rng.getrandbits(48):012x}",
        ms=rng.randrange(1, 900),
    )


def _pod_lines(rng: random.Random, noise: list[str], count: int, hidden: bool) -> list[str]:
    lines: list[str] = []
    while len(lines) < count:
        second = len(lines) // 20
        clock = f"{10 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        stamp = f"2026-03-02T{clock}.{rng.randrange(1000):03d}Z"
        if hidden and rng.random() < 0.0008:
            lines += [f"{stamp} {_fill(part, rng)}" for part in rng.choice(HIDDEN_ERRORS)]
        else:
            lines.append(f"{stamp} {_fill(rng.choice(noise), rng)}")
    if hidden:  # every hidden error at least once in every canary pod
        lines += [f"{stamp} {_fill(part, rng)}" for error in HIDDEN_ERRORS for part in error]
    return lines


def synthetic_evidence(total_lines: int = 100_000, pods_per_side: int = 3, seed: int = 7) -> Evidence:
    """Evidence whose logs hold ``total_lines`` lines, half per side, 7 canary-only error templates."""
    rng = random.Random(seed)
    noise = _noise_templates(rng)
    per_pod = total_lines // (2 * pods_per_side)
    logs = []
    for side, prefix in ((Side.CANARY, "shop-7b6cd8d9f4"), (Side.STABLE, "shop-687d76d795")):
        for index in range(pods_per_side):
            lines = _pod_lines(rng, noise, per_pod, hidden=side is Side.CANARY)
            logs.append(LogChunk(f"{prefix}-{index}", "app", side, tuple(lines)))
    metric = MetricResult(
        "shop-7b6cd8d9f4-2",
        "error-rate",
        "Failed",
        "prometheus",
        "sum(rate(errors[1m]))",
        "result[0] < 0.05",
        values=("0.21",),
        failed=1,
    )
    return Evidence(
        "shop", "shop", "7b6cd8d9f4", "687d76d795", "Degraded", aborted=True, logs=logs, metrics=[metric]
    )


def hidden_markers() -> tuple[str, ...]:
    """A phrase from each hidden error, to find it in a prompt."""
    return (
        "nil pointer dereference",
        "failed to decode order",
        "payment gateway rejected",
        "KeyError",
        "Cache not initialised",
        "deadlock detected",
        "failed to sync feature flags",
    )


def _median_seconds(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Compaction:
    lines: int
    templates: int
    compact_s: float
    prompt_s: float
    prompt_tokens: int
    budget: int
    raw_tokens: int
    seed_tokens: int  # the seed plugin's approach: whole log of the first canary and first stable pod
    found: int
    hidden: int
    peak_bytes: int


def measure(lines: int = 100_000, runs: int = 5, budget: int = 12_000) -> Compaction:
    evidence = synthetic_evidence(lines)
    compacted = compact(evidence.logs)
    prompt = build_prompt(evidence, compacted, budget=budget)
    compact_s = _median_seconds(lambda: compact(evidence.logs), runs)
    prompt_s = _median_seconds(lambda: build_prompt(evidence, compacted, budget=budget), runs)
    tracemalloc.start()
    build_prompt(evidence, compact(evidence.logs), budget=budget)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    raw = estimate_tokens("\n".join(line for chunk in evidence.logs for line in chunk.lines))
    first_pods = [next(c for c in evidence.logs if c.side is side) for side in (Side.CANARY, Side.STABLE)]
    seed_tokens = estimate_tokens("\n".join(line for chunk in first_pods for line in chunk.lines))
    found = sum(marker in prompt.user for marker in hidden_markers())
    return Compaction(
        compacted.raw_lines,
        len(compacted.templates),
        compact_s,
        prompt_s,
        prompt.tokens,
        budget,
        raw,
        seed_tokens,
        found,
        len(hidden_markers()),
        peak,
    )


def figures(result: Compaction) -> list[Figure]:
    fewer = result.raw_tokens / result.prompt_tokens
    return [
        Figure(
            f"compaction of {result.lines:,} log lines -> {result.templates} templates, median",
            f"{result.compact_s:.2f} s (+ prompt {result.prompt_s * 1000:.0f} ms)",
            f"< {GOAL_SECONDS:g} s",
            result.compact_s < GOAL_SECONDS,
        ),
        Figure(
            "  prompt tokens",
            f"{result.prompt_tokens:,}",
            f"<= {result.budget:,}",
            result.prompt_tokens <= result.budget,
        ),
        Figure(
            "  raw log tokens / prompt tokens",
            f"{result.raw_tokens:,} ({fewer:.0f}x)",
            f">= {GOAL_FEWER}x",
            fewer >= GOAL_FEWER,
        ),
        Figure(
            "  seed's approach (first canary + first stable pod, whole logs)",
            f"{result.seed_tokens:,} ({result.seed_tokens / result.prompt_tokens:.0f}x)",
        ),
        Figure(
            "  hidden canary-only errors in the prompt",
            f"{result.found}/{result.hidden}",
            f"{result.hidden}/{result.hidden}",
            result.found == result.hidden,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=int, default=12_000)
    args = parser.parse_args()
    result = measure(args.lines, args.runs, args.budget)
    rows = [
        ("lines (canary + stable)", f"{result.lines:,}"),
        ("templates", f"{result.templates:,}"),
        ("compaction, median", f"{result.compact_s:.2f} s"),
        ("prompt build, median", f"{result.prompt_s * 1000:.0f} ms"),
        ("prompt tokens (estimate)", f"{result.prompt_tokens:,} (budget {result.budget:,})"),
        (
            "raw log tokens",
            f"{result.raw_tokens:,} ({result.raw_tokens / result.prompt_tokens:.0f}x the prompt)",
        ),
        (
            "first canary + first stable pod",
            f"{result.seed_tokens:,} ({result.seed_tokens / result.prompt_tokens:.0f}x the prompt)",
        ),
        ("hidden canary-only errors in prompt", f"{result.found}/{result.hidden}"),
        ("peak memory (tracemalloc)", f"{result.peak_bytes / 2**20:.0f} MiB"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
