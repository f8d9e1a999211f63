"""What ``.github/fixloop.yml`` configures: the typed result of parsing it (``incident.repo_config``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.clusters import SourceRule
from app.loop.incident.stages import Stage

CONFIG_PATH = ".github/fixloop.yml"
MAX_CONFIG_CHARS = 64 * 1024
MAX_EXTRA_PROMPT = 2000
MAX_LABELS = 10
MAX_HUMANS = 10  # GitHub accepts at most 10 assignees
MAX_TIMEOUT_HOURS = 720
DEFAULT_LABELS: tuple[str, ...] = ("fixloop", "rollout-failure")


class AgentName(StrEnum):
    COPILOT = "copilot"
    JULES = "jules"
    CLAUDE = "claude"
    CODEX = "codex"
    OPENHANDS = "openhands"
    NONE = "none"  # a human: assign_humans, or nobody


class RedeployMode(StrEnum):
    IMAGE = "image"  # set the Rollout's image from the template once the image for the SHA exists
    GITOPS = "gitops"  # change nothing; wait for the Rollout to move to an image built from the SHA
    RETRY = "retry"  # clear the abort: config-only fixes


@dataclass(frozen=True)
class StageTimeouts:
    """Hours a stage may last before the incident escalates to needs_human."""

    agent_pr: float = 24.0  # hand-off → a PR from the agent
    image_build: float = 2.0  # merge → the image for the merge SHA exists
    canary: float = 6.0  # redeploy → the canary completes or aborts


@dataclass(frozen=True)
class AnalysisConfig:
    """Who analyses: ``a2a_url`` names an A2A agent (https; its host must be in FIXLOOP_A2A_ALLOWED_HOSTS)."""

    a2a_url: str = ""


@dataclass(frozen=True)
class RepoConfig:
    agent: AgentName = AgentName.NONE
    extra_prompt: str = ""
    labels: tuple[str, ...] = DEFAULT_LABELS
    max_attempts: int = 3
    redeploy: RedeployMode = RedeployMode.IMAGE
    image: str | None = None  # e.g. "ghcr.io/acme/web:{sha}"
    environment: str | None = None  # None: canary/<namespace>/<rollout>, see environment_for
    assign_humans: tuple[str, ...] = ()
    on_pr_closed: Stage = Stage.NEEDS_HUMAN  # agent_working | needs_human
    stage_timeouts: StageTimeouts = field(default_factory=StageTimeouts)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    soak_hours: float = 24.0  # after verification: the same signature back within it reopens the issue
    # Which clusters/namespaces may open issues here (app.clusters); None: the operator's default_sources.
    sources: tuple[SourceRule, ...] | None = None
    keys_set: frozenset[str] = frozenset()  # keys the file set to a valid value (for precedence)

    def image_for(self, sha: str) -> str | None:
        """The image reference for a commit, from the template; None without a template."""
        return self.image.replace("{sha}", sha) if self.image else None

    def environment_for(self, namespace: str, rollout: str) -> str:
        return self.environment or f"canary/{namespace}/{rollout}"


DEFAULT_CONFIG = RepoConfig()


@dataclass(frozen=True)
class ConfigProblem:
    key: str | None  # None: the file as a whole
    line: int | None  # 1-based
    message: str
    column: int | None = None


@dataclass(frozen=True)
class ConfigResult:
    config: RepoConfig
    problems: list[ConfigProblem] = field(default_factory=list)
