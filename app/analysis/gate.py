"""The AI canary gate: promote or not, for Argo Rollouts' ``web`` metric provider (the endpoint is elsewhere).

One analysis per canary revision, cached for ``cache_seconds``; concurrent questions about the same
revision share one analysis (single flight). It fails closed: no evidence, no canary pods, an analysis
that raises or outlasts ``timeout_seconds``, or an LLM that failed (the offline fallback's verdict is not
trusted to promote then) all answer ``promote: false, confidence: 0`` with the reason in the summary.
Failures are not cached, so the next measurement tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.analysis.evidence import Evidence, Side
from app.analysis.verdict import Classification, Verdict

logger = logging.getLogger(__name__)

AnalyseFn = Callable[[Evidence], Awaitable[Verdict]]
EvidenceLoader = Callable[[], Awaitable[Evidence | None]]
SUMMARY_MAX = 500


@dataclass(frozen=True)
class GateAnswer:
    promote: bool
    confidence: int
    classification: str
    summary: str
    cached: bool = False  # not part of the answer Argo sees

    def to_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "confidence": self.confidence,
            "classification": self.classification,
            "summary": self.summary,
        }


def refuse(reason: str) -> GateAnswer:
    """The fail-closed answer."""
    return GateAnswer(False, 0, Classification.UNKNOWN.value, f"Not promoting: {reason}"[:SUMMARY_MAX])


def answer_from(verdict: Verdict) -> GateAnswer:
    """The gate's answer for a verdict; fail closed when the LLM was tried and failed."""
    if verdict.audit.get("llm_failed"):
        why = verdict.audit.get("fallback", "LLM error")
        return refuse(f"the LLM analysis failed ({why}); offline analysis said: {verdict.title}")
    summary = verdict.title if not verdict.summary else f"{verdict.title}: {verdict.summary}"
    confidence = max(0, min(100, verdict.confidence))
    return GateAnswer(verdict.promote, confidence, verdict.classification.value, summary[:SUMMARY_MAX])


class CanaryGate:
    def __init__(
        self,
        analyse_fn: AnalyseFn,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        timeout_seconds: float | None = None,
    ) -> None:
        self._analyse = analyse_fn
        self._ttl = cache_seconds
        self._clock = clock
        self._timeout = timeout_seconds
        self._cache: dict[str, tuple[float, GateAnswer]] = {}
        self._inflight: dict[str, asyncio.Task[GateAnswer]] = {}

    async def decide(self, key: str, evidence_loader: EvidenceLoader) -> GateAnswer:
        """The gate's answer for one canary revision (``key``, e.g. ``ns/rollout/pod-template-hash``)."""
        cached = self._cache.get(key)
        if cached and cached[0] > self._clock():
            return GateAnswer(**{**cached[1].to_dict(), "cached": True})
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._run(key, evidence_loader))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        try:
            # shield: one caller giving up (Argo's own timeout) does not cancel the shared analysis
            return await asyncio.wait_for(asyncio.shield(task), self._timeout)
        except TimeoutError:
            return refuse(
                f"the analysis did not finish within {self._timeout:g} s; it goes on in the background"
            )

    async def _run(self, key: str, evidence_loader: EvidenceLoader) -> GateAnswer:
        try:
            evidence = await evidence_loader()
            if evidence is None:
                return refuse("no evidence could be read for this revision")
            if not evidence.pods_on(Side.CANARY):
                return refuse("no canary pods found")
            verdict = await self._analyse(evidence)
        except Exception as exc:
            logger.exception("canary gate analysis failed for %s", key)
            return refuse(f"the analysis failed: {type(exc).__name__}")
        answer = answer_from(verdict)
        if not verdict.audit.get("llm_failed"):
            self._cache[key] = (self._clock() + self._ttl, answer)
        return answer

    def forget(self, key: str) -> None:
        self._cache.pop(key, None)
