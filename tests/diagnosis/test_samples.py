"""Issue log samples: signature lines with context; a sidecar only with a canary-only signature."""

from __future__ import annotations

from app.analysis.evidence import ContainerState, Evidence, LogChunk, PodEvidence, Side
from app.loop.render.facts import error_signatures
from app.loop.render.samples import CONTEXT_LINES, render_samples

ACCESS = [f'[2026-03-02T10:00:{i:02d}.000Z] "GET /color HTTP/1.1" 200 - 0 6 1 0 "-"' for i in range(40)]
APP = [*(f"GET /color -> 200 #{i}" for i in range(30)), "", "ERROR cannot decode palette: EOF", "", "bye"]


def _pod(name: str, side: Side) -> PodEvidence:
    app = ContainerState("app", "acme/app:2", True, 0, False, "running")
    proxy = ContainerState("istio-proxy", "istio/proxyv2", True, 0, True, "running")
    return PodEvidence(name, side, "Running", "h", "node", "", (app, proxy))


def _evidence(proxy_lines: list[str]) -> Evidence:
    chunks = [
        LogChunk("c-1", "app", Side.CANARY, tuple(APP)),
        LogChunk("c-1", "istio-proxy", Side.CANARY, tuple(proxy_lines)),
        LogChunk("s-1", "app", Side.STABLE, tuple(APP[:30])),
        LogChunk("s-1", "istio-proxy", Side.STABLE, tuple(ACCESS)),
    ]
    pods = [_pod("c-1", Side.CANARY), _pod("s-1", Side.STABLE)]
    return Evidence("ns", "web", "h", "s", pods=pods, logs=chunks)


def test_signature_lines_with_context_and_no_sidecar_access_log() -> None:
    evidence = _evidence(ACCESS)
    (sample,) = render_samples(evidence, error_signatures(evidence))
    assert "c-1 / app" in sample and "cannot decode palette" in sample
    assert sample.count("GET /color -&gt; 200") + sample.count("GET /color -> 200") == CONTEXT_LINES - 1
    assert "#29" in sample and "#20" not in sample  # a few lines before, not the whole log


def test_a_sidecar_with_a_canary_only_signature_is_shown() -> None:
    proxy = [*ACCESS[:10], "ERROR upstream connect error or disconnect/reset before headers", *ACCESS[10:]]
    evidence = _evidence(proxy)
    samples = render_samples(evidence, error_signatures(evidence))
    assert len(samples) == 2 and any("istio-proxy" in s and "upstream connect error" in s for s in samples)
