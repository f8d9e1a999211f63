"""Demo-like evidence built in code: the rollouts-demo canary panics, and serves random colours."""

from __future__ import annotations

import random

from app.analysis.evidence import (
    ContainerState,
    Evidence,
    ImageChange,
    KubeEvent,
    LogChunk,
    MetricResult,
    PodEvidence,
    Side,
)

CANARY, STABLE = "7b6cd8d9f4", "687d76d795"
COLOURS = ("red", "green", "yellow", "purple", "orange", "blue")
PANIC = (
    "panic: runtime error: index out of range [0] with length 0",
    "",
    "goroutine 23 [running]:",
    "main.pickColor({0x0, 0x0, 0x0}, 0xc0000b2f60?)",
    "\t/go/src/github.com/argoproj/rollouts-demo/main.go:214 +0x1c5",
    "main.(*colorCache).refresh(0xc0000a6140)",
    "\t/go/src/github.com/argoproj/rollouts-demo/main.go:188 +0x9d",
    "created by main.newColorCache in goroutine 1",
    "\t/go/src/github.com/argoproj/rollouts-demo/main.go:159 +0x1b4",
)


def _stamp(second: int) -> str:
    return f"2026-03-02T10:{second // 60 % 60:02d}:{second % 60:02d}.000Z"


def colour_lines(rng: random.Random, count: int, colours: tuple[str, ...], start: int = 0) -> list[str]:
    return [
        f"{_stamp(start + i)} GET /color from 10.244.0.{rng.randrange(2, 250)}:{rng.randrange(30000, 60000)} "
        f'-> 200 "{rng.choice(colours)}" ({rng.randrange(1, 30) / 10}ms)'
        for i in range(count)
    ]


def demo_logs(seed: int = 1, canary_extra: tuple[str, ...] = ()) -> list[LogChunk]:
    rng = random.Random(seed)
    logs = []
    for index in range(3):
        lines = [f"{_stamp(0)} Started server on :8080", *colour_lines(rng, 40, COLOURS, 1)]
        lines += [f"{_stamp(50)} {line}" for line in PANIC] + [f"{_stamp(51)} {x}" for x in canary_extra]
        logs.append(LogChunk(f"rollouts-demo-{CANARY}-{index}", "rollouts-demo", Side.CANARY, tuple(lines)))
        stable = [f"{_stamp(0)} Started server on :8080", *colour_lines(rng, 60, ("blue",), 1)]
        logs.append(LogChunk(f"rollouts-demo-{STABLE}-{index}", "rollouts-demo", Side.STABLE, tuple(stable)))
    return logs


def demo_evidence(**changes: object) -> Evidence:
    image = "argoproj/rollouts-demo"
    evidence = Evidence(
        namespace="demo",
        rollout="rollouts-demo",
        canary_hash=CANARY,
        stable_hash=STABLE,
        phase="Degraded",
        message='RolloutAborted: Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)',
        aborted=True,
        pods=[
            PodEvidence(
                f"rollouts-demo-{CANARY}-{i}",
                Side.CANARY,
                "Running",
                CANARY,
                containers=(
                    ContainerState(
                        "rollouts-demo",
                        f"{image}:yellow",
                        restart_count=3,
                        state="waiting",
                        reason="CrashLoopBackOff",
                        last_termination_reason="Error",
                        last_exit_code=2,
                    ),
                ),
            )
            for i in range(3)
        ]
        + [
            PodEvidence(
                f"rollouts-demo-{STABLE}-{i}",
                Side.STABLE,
                "Running",
                STABLE,
                containers=(ContainerState("rollouts-demo", f"{image}:blue", ready=True, state="running"),),
            )
            for i in range(3)
        ],
        logs=demo_logs(),
        events=[
            KubeEvent("Pod", f"rollouts-demo-{CANARY}-0", "Warning", "BackOff", "Back-off restarting", 5)
        ],
        metrics=[
            MetricResult(
                f"rollouts-demo-{CANARY}-2",
                "success-rate",
                "Failed",
                "prometheus",
                'sum(rate(http_requests_total{code!~"5.."}[1m])) / sum(rate(http_requests_total[1m]))',
                "result[0] >= 0.95",
                values=("0.71", "0.64"),
                failed=2,
            )
        ],
        images=[ImageChange("rollouts-demo", f"{image}:blue", f"{image}:yellow")],
    )
    for key, value in changes.items():
        setattr(evidence, key, value)
    return evidence


def healthy_evidence() -> Evidence:
    """Both sides alike: no new errors, no crashes, metrics pass."""
    rng = random.Random(5)
    logs = []
    for side, hash_ in ((Side.CANARY, CANARY), (Side.STABLE, STABLE)):
        for i in range(2):
            lines = [f"{_stamp(0)} Started server on :8080", *colour_lines(rng, 300, ("blue",), 1)]
            logs.append(LogChunk(f"rollouts-demo-{hash_}-{i}", "rollouts-demo", side, tuple(lines)))
    pods = [
        PodEvidence(
            f"rollouts-demo-{h}-{i}",
            side,
            "Running",
            h,
            containers=(
                ContainerState("rollouts-demo", "argoproj/rollouts-demo:blue", ready=True, state="running"),
            ),
        )
        for side, h in ((Side.CANARY, CANARY), (Side.STABLE, STABLE))
        for i in range(2)
    ]
    metric = MetricResult("r-1", "success-rate", "Successful", "prometheus", values=("0.99",))
    return Evidence("demo", "rollouts-demo", CANARY, STABLE, "Paused", pods=pods, logs=logs, metrics=[metric])
