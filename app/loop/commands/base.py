"""What every slash command shares: the invocation, its outcome or refusal, the reply, the mapped Rollout.

Replies are fixed sentences; every value in them from outside (names, logins, error messages) goes
through ``code_span`` or ``safe_inline`` first, so a reply can neither ping anyone nor run a command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.github.http import GitHubClient
from app.loop.commands.grammar import Command
from app.loop.incident.consent import note_refusal, source_consented
from app.loop.incident.repo_config import RepoConfig
from app.loop.incident.state import IncidentState, cluster_of
from app.loop.render.text import code_span, truncate
from app.loop.steps import issue_ops
from app.rollouts.kube import KubeClient, KubeNotFound
from app.rollouts.model import ANNOTATION_REPO
from app.store import Incident

if TYPE_CHECKING:
    from app.services import Services

REPLY_MARKER = "<!-- fixloop:command-reply -->"
MAX_REPLY = 60_000
NO_CLUSTER = (
    "the Kubernetes cluster is not reachable from Fixloop (no KUBECONFIG or in-cluster access), "
    "so it cannot act on the Rollout."
)
HELP = """Commands (at the start of a line, by users with write access; one reply per comment):

| command | what it does |
|---|---|
| `/fixloop help` | this list |
| `/fixloop status` | stage, attempts, pull requests and the Rollout's state |
| `/fixloop analyze` | collect fresh evidence from the cluster and post a new analysis |
| `/fixloop assign <agent\\|none\\|@user>` | hand the issue to an agent (copilot, jules, claude, codex, \
openhands), to nobody, or to a person |
| `/fixloop retry` | clear the Rollout's abort: the canary runs again |
| `/fixloop abort` | abort the Rollout (back to the stable revision) |
| `/fixloop promote [--full]` | promote the canary one step, or fully |
| `/fixloop redeploy` | send the merged fix through the canary again |
| `/fixloop ignore` | mute this failure: no new issue for it; the incident is ignored |
| `/fixloop close` | close this issue; the incident is ignored (or superseded) |"""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    text: str  # safe markdown: fixed words and neutralised values only


class Refused(Exception):
    """The command cannot run here; ``text`` (safe markdown) tells the human why."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass
class Invocation:
    """One command run: who asked, on which incident (kept current as commands move it)."""

    services: Services
    gh: GitHubClient
    incident: Incident
    actor: str
    _config: RepoConfig | None = None

    @property
    def state(self) -> IncidentState:
        return IncidentState.of(self.incident)

    @property
    def kube(self) -> KubeClient:
        """The cluster client; without one every Kubernetes command is refused, saying why."""
        kube = self.services.kube_for(cluster_of(self.incident))  # the incident's cluster, never another
        if kube is None:
            raise Refused(NO_CLUSTER)
        return kube

    @property
    def rollout_ref(self) -> str:
        return code_span(f"{self.incident.namespace}/{self.incident.rollout}")

    async def config(self) -> RepoConfig:
        if self._config is None:
            self._config = (await issue_ops.read_repo_config(self.gh, self.incident.repo)).config
        return self._config


Runner = Callable[[Invocation, Command], Awaitable[Outcome]]


def no_args(command: Command) -> None:
    if command.args:
        raise Refused(f"{code_span(command.name)} takes no arguments. Comment `/fixloop help` for the usage.")


async def mapped_rollout(inv: Invocation) -> dict[str, Any]:
    """The incident's Rollout, re-read now, if the cluster is reachable, it still maps to this repo and
    the repo (still) consents to its cluster and namespace."""
    cluster = cluster_of(inv.incident)
    if not source_consented(inv.services, await inv.config(), cluster, inv.incident.namespace):
        reason = note_refusal(inv.services, inv.incident.repo, cluster, inv.incident.namespace, "command")
        raise Refused(f"{reason}: Fixloop leaves the Rollout alone.")
    try:
        rollout = await inv.kube.get_rollout(inv.incident.namespace, inv.incident.rollout)
    except KubeNotFound as exc:
        raise Refused(f"the Rollout {inv.rollout_ref} no longer exists in the cluster.") from exc
    annotations = (rollout.get("metadata") or {}).get("annotations") or {}
    mapped = str(annotations.get(ANNOTATION_REPO, ""))
    if mapped.lower() != inv.incident.repo.lower():
        raise Refused(
            f"the Rollout {inv.rollout_ref} is not mapped to this repository any more "
            f"({code_span(ANNOTATION_REPO)} is {code_span(mapped or 'missing')}): Fixloop leaves it alone."
        )
    return rollout


def render_reply(results: Sequence[tuple[Command, Outcome]], *, skipped: int = 0) -> str:
    lines = [REPLY_MARKER]
    for command, outcome in results:
        mark = "✅" if outcome.ok else "❌"
        lines.append(f"- {mark} {code_span(command.key, 120)}: {outcome.text}")
    if skipped > 0:
        lines.append(f"- ❌ {skipped} more command(s) not run: at most {len(results)} per comment.")
    if any(command.name == "help" or command.name not in KNOWN for command, _ in results):
        lines += ["", HELP]
    return truncate("\n".join(lines), MAX_REPLY)


KNOWN = frozenset(
    {"help", "status", "analyze", "assign", "retry", "abort", "promote", "redeploy", "ignore", "close"}
)
