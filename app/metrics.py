"""Prometheus metrics, one registry per app instance (so tests can run several apps in one process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from app.metrics_scorecard import ScorecardCollector

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_LOOP_BUCKETS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self._count_intake_and_jobs(self.registry)
        self._count_outbound_calls(self.registry)
        self._count_rollout_notifications(self.registry)
        self._track_incidents(self.registry)
        self.scorecard = ScorecardCollector()
        self.registry.register(self.scorecard)

    def _count_intake_and_jobs(self, r: CollectorRegistry) -> None:
        """Webhook deliveries in, jobs through the durable queue."""
        self.deliveries = Counter(
            "fixloop_webhook_deliveries",
            "Webhook deliveries by source, event and outcome",
            ["source", "event", "outcome"],
            registry=r,
        )
        self.jobs = Counter(
            "fixloop_jobs", "Jobs finished by kind and outcome", ["kind", "outcome"], registry=r
        )
        self.job_latency = Histogram(
            "fixloop_job_latency_seconds",
            "From enqueue to completion",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge("fixloop_job_queue_depth", "Jobs by status", ["status"], registry=r)

    def _count_outbound_calls(self, r: CollectorRegistry) -> None:
        """Calls out to GitHub, Kubernetes, the LLM, A2A agents; MCP tool calls in."""
        self.github_calls = Counter(
            "fixloop_github_calls",
            "GitHub API calls by method and status",
            ["method", "status"],
            registry=r,
        )
        self.github_rate_remaining = Gauge(
            "fixloop_github_rate_limit_remaining",
            "Last seen x-ratelimit-remaining",
            ["installation"],
            registry=r,
        )
        self.kube_calls = Counter(
            "fixloop_kube_calls", "Kubernetes API calls", ["verb", "outcome"], registry=r
        )
        self.llm_calls = Counter("fixloop_llm_calls", "LLM calls by outcome", ["outcome"], registry=r)
        self.llm_tokens = Counter("fixloop_llm_tokens", "LLM tokens used", ["direction"], registry=r)
        self.a2a_calls = Counter(
            "fixloop_a2a_calls", "A2A agent analyses by outcome", ["outcome"], registry=r
        )
        self.mcp_calls = Counter(
            "fixloop_mcp_calls", "MCP tool calls by tool and outcome", ["tool", "outcome"], registry=r
        )

    def _count_rollout_notifications(self, r: CollectorRegistry) -> None:
        """Argo Rollouts notifications and the ones not acted on."""
        self.notifications = Counter(
            "fixloop_rollout_notifications",
            "Argo Rollouts notifications by event, outcome and cluster (a registry name, or unverified)",
            ["event", "outcome", "cluster"],
            registry=r,
        )
        self.sources_refused = Counter(
            "fixloop_sources_refused",
            "Failures not acted on: the repository does not consent to the Rollout's cluster/namespace",
            ["cluster"],
            registry=r,
        )
        self.unmapped = Counter(
            "fixloop_unmapped_rollouts",
            "Notifications ignored: no repo mapping or no installation",
            ["reason"],
            registry=r,
        )

    def _track_incidents(self, r: CollectorRegistry) -> None:
        """Incidents: their stages, how long the loop takes, how it ends."""
        self.incidents = Gauge("fixloop_incidents", "Incidents by stage", ["stage"], registry=r)
        self.incident_transitions = Counter(
            "fixloop_incident_transitions",
            "Incident stage transitions",
            ["to_stage"],
            registry=r,
        )
        self.loop_duration = Histogram(
            "fixloop_loop_duration_seconds",
            "Time from the failure to a milestone (issue, pr, merge, verified)",
            ["milestone"],
            buckets=_LOOP_BUCKETS,
            registry=r,
        )
        self.attempts = Histogram(
            "fixloop_incident_attempts",
            "Attempts per finished incident",
            buckets=(1, 2, 3, 4, 5, 8),
            registry=r,
        )
        self.handoffs = Counter("fixloop_handoffs", "Agent hand-offs", ["agent", "outcome"], registry=r)
        self.soak_outcomes = Counter(
            "fixloop_soak_outcomes",
            "Soak watches ended: held (window ran out) or failed (the signature came back)",
            ["outcome"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
