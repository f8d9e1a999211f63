"""``GET|POST /analysis/{namespace}/{rollout}``: the AI canary gate for Argo Rollouts' ``web`` provider.

Argo waits for this answer, so the analysis runs here, bounded by ``GATE_TIMEOUT`` and shared by every
measurement of the same canary revision (cached per revision). It fails closed: no cluster, no canary,
an error or a timeout answer ``promote: false, confidence: 0`` with the reason, which the shipped
AnalysisTemplate judges neither success nor failure: Inconclusive, so the rollout pauses for a human.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from aiohttp import web

from app.analysis.evidence import Evidence
from app.analysis.gate import CanaryGate, GateAnswer, refuse
from app.analysis.llm import analyse
from app.analysis.verdict import Verdict
from app.rollouts.evidence import collect_evidence
from app.rollouts.model import parse_rollout
from app.web import bearer_token, json_error

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

GATE_TIMEOUT = 25.0  # below the 30 s timeoutSeconds of the shipped AnalysisTemplate
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class GateEndpoint:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._gate = CanaryGate(
            self._analyse, services.settings.gate_cache_seconds, timeout_seconds=GATE_TIMEOUT
        )

    async def handle(self, request: web.Request) -> web.Response:
        cluster = self._services.clusters.identify(bearer_token(request))  # the token names the cluster
        if cluster is None:
            return json_error(401, "missing or wrong 'Authorization: Bearer' token")
        namespace, name = request.match_info["namespace"], request.match_info["rollout"]
        if not (_NAME.match(namespace) and _NAME.match(name)):
            return json_error(400, "namespace and rollout must be Kubernetes names")
        answer = await self._decide(cluster.name, namespace, name)
        log.info(
            "gate %s %s/%s: promote=%s confidence=%s",
            cluster.name,
            namespace,
            name,
            answer.promote,
            answer.confidence,
        )
        return web.json_response(answer.to_dict())

    async def _decide(self, cluster: str, namespace: str, name: str) -> GateAnswer:
        kube = self._services.kube_for(cluster)  # that cluster's evidence only
        if kube is None:
            return refuse("Fixloop has no Kubernetes access")
        try:
            view = parse_rollout(await kube.get_rollout(namespace, name))
        except Exception as exc:  # fail closed on any failure to read the Rollout
            return refuse(f"the Rollout could not be read ({type(exc).__name__})")
        if not view.current_pod_hash:
            return refuse("the Rollout has no canary revision yet")

        async def load() -> Evidence | None:
            assert kube is not None
            return await collect_evidence(
                kube,
                namespace,
                name,
                max_pods_per_side=self._services.settings.max_pods_per_side,
                tail_lines=self._services.settings.log_tail_lines,
            )

        return await self._gate.decide(f"{cluster}/{namespace}/{name}/{view.current_pod_hash}", load)

    async def _analyse(self, evidence: Evidence) -> Verdict:
        return await analyse(
            evidence, settings_like=self._services.llm_config, metrics=self._services.metrics
        )
