"""The non-server commands: ``check-config`` and ``analyze``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from app.analysis.evidence import Evidence
from app.analysis.llm import LLMConfig, analyse
from app.clusters import load_clusters
from app.loop.incident.repo_config import ConfigResult, parse_repo_config, problem_line
from app.loop.origin.provenance import resolve
from app.loop.origin.suspects import Origin, find_suspects
from app.loop.render.issue import issue_title, render_issue_body
from app.metrics import Metrics
from app.rollouts.evidence import collect_evidence
from app.rollouts.kube import KubeClient
from app.rollouts.model import parse_rollout
from app.rollouts.notification import BadNotification, Notification, parse_notification
from app.rollouts.snapshot import EXAMPLES, SnapshotCluster
from app.services import start_services, stop_services
from app.settings import Settings
from app.store import open_store
from app.store.schema import LATEST


def _line(ok: bool, what: str, detail: str) -> bool:
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")
    return ok


def _clusters_line(settings: Settings) -> bool:
    if settings.clusters_file:
        names = ", ".join(load_clusters(settings).names)  # validated at start: it loads
        return _line(True, "FIXLOOP_CLUSTERS_FILE", f"clusters {names}")
    return _line(
        bool(settings.notify_token),
        "FIXLOOP_NOTIFY_TOKEN",
        "set" if settings.notify_token else "missing: /rollouts/notify refuses every notification",
    )


async def _database_line(settings: Settings) -> bool:
    """Reach the store without migrating it (migrations go forward only: a look must not upgrade it)."""
    try:
        store = await open_store(settings.database_url, migrate_schema=False)
        try:
            version = await store.schema_version()
            problem = await store.durability_problem()
        finally:
            await store.close()
    except Exception as exc:  # report any failure to reach the store as a failed check
        return _line(False, "DATABASE_URL", f"{type(exc).__name__}: {exc}")
    if problem:  # the operator's choice to make, so a warning, not a failure
        print(f"warn DATABASE_URL: {problem}")
    engine = settings.database_url.split("://")[0]
    if version > LATEST:
        return _line(
            False, "DATABASE_URL", f"{engine} schema v{version} is newer than this Fixloop's v{LATEST}"
        )
    upgrade = f"; `serve` migrates it to v{LATEST} (back it up first)" if version < LATEST else ""
    return _line(True, "DATABASE_URL", f"{engine} reachable, schema v{version}{upgrade}")


async def check_config(settings: Settings) -> int:
    """Validate what can be validated without side effects; exit 1 when something required is missing."""
    results = [
        _line(
            bool(settings.github_webhook_secret),
            "GITHUB_WEBHOOK_SECRET",
            "set" if settings.github_webhook_secret else "missing: every GitHub delivery would be refused",
        ),
        _line(
            settings.github_enabled,
            "GitHub App",
            f"app id {settings.github_app_id}"
            if settings.github_enabled
            else "GITHUB_APP_ID + GITHUB_PRIVATE_KEY(_PATH) missing: cannot talk to GitHub",
        ),
        _clusters_line(settings),
    ]
    print(f"info LLM: {'model ' + settings.llm_model if settings.llm_enabled else 'none (offline analyser)'}")
    if settings.a2a_url:
        from app.agents.a2a import AgentFailure, read_agent_card  # noqa: PLC0415 - ~1 s of imports

        try:
            name = await read_agent_card(settings.a2a_url)
            results.append(_line(True, "FIXLOOP_A2A_URL", f"agent card of {name!r} read"))
        except AgentFailure as exc:
            results.append(_line(False, "FIXLOOP_A2A_URL", f"{exc} (incidents would fall back to the LLM)"))
    mcp = f"port {settings.mcp_port}, agents told {settings.mcp_public_url}" if settings.mcp_port else "off"
    print(f"info MCP server: {mcp}")
    results.append(await _database_line(settings))
    if not all(results):
        print("fixloop: configuration incomplete", file=sys.stderr)
        return 1
    return 0


@dataclass(frozen=True)
class AnalyzeInputs:
    notification: Notification
    config: ConfigResult
    bundled: bool  # the bundled example: read the bundled demo cluster too


def load_inputs(notification_path: str | None, config_path: str | None) -> AnalyzeInputs | str:
    """Read the files before the event loop starts; a problem is returned as the message to print."""
    try:
        path = Path(notification_path) if notification_path else EXAMPLES / "demo-notification.json"
        notification = parse_notification(json.loads(path.read_text(encoding="utf-8")))
        config = parse_repo_config(Path(config_path).read_text(encoding="utf-8") if config_path else None)
    except (OSError, json.JSONDecodeError, BadNotification) as exc:
        return f"fixloop analyze: {exc}"
    return AnalyzeInputs(notification, config, bundled=notification_path is None)


async def analyze(settings: Settings, inputs: AnalyzeInputs, kubeconfig: str | None, *, as_json: bool) -> int:
    """Intake, evidence and analysis without GitHub: print the issue Fixloop would file."""
    notification, config = inputs.notification, inputs.config
    for problem in config.problems:
        print(f"fixloop analyze: config: {problem_line(problem)}", file=sys.stderr)
    cluster = await _cluster(settings, kubeconfig, bundled=inputs.bundled)
    try:
        evidence = await collect_evidence(
            cluster,
            notification.namespace,
            notification.name,
            max_pods_per_side=settings.max_pods_per_side,
            tail_lines=settings.log_tail_lines,
            fallback_rollout=notification.rollout,
        )
    finally:
        if isinstance(cluster, KubeClient):
            await cluster.close()
    verdict = await analyse(
        evidence, settings_like=LLMConfig.from_settings(settings), extra_prompt=config.config.extra_prompt
    )
    if as_json:
        print(
            json.dumps({"verdict": verdict.to_dict(), "evidence": evidence.to_dict()}, indent=2, default=str)
        )
        return 0
    origin = await _origin(settings, notification, evidence, config.config.image or "")
    body = render_issue_body(
        incident_id=1, evidence=evidence, verdict=verdict, config=config.config, origin=origin
    )
    print(f"# {issue_title(verdict, evidence)}\n\n{body}")
    return 0


async def _origin(settings: Settings, notification: Notification, evidence: Evidence, image: str) -> Origin:
    """Both sides' revisions from the cluster alone (no registry, no GitHub), and the frames' links."""
    view = parse_rollout(notification.rollout) if notification.rollout else None
    repo = (view.repo if view else None) or ""
    found = await resolve(None, evidence, image or (view.image_template if view else ""))
    suspects = await find_suspects(
        None, repo, found, evidence, web_url=settings.github_web_url, max_commits=settings.max_suspect_commits
    )
    if not repo:
        suspects.frames = []  # no repository to link into
    return Origin(found, suspects)


async def _cluster(
    settings: Settings, kubeconfig: str | None, *, bundled: bool
) -> KubeClient | SnapshotCluster:
    """The bundled demo cluster for the bundled example, else the real cluster of ``--kubeconfig``."""
    if bundled and not kubeconfig:
        return SnapshotCluster.from_dir()
    return await KubeClient.create(kubeconfig or settings.kubeconfig or None, settings.kube_timeout_seconds)


async def run_worker(settings: Settings) -> None:
    """The job workers without the HTTP server, until SIGTERM or SIGINT; then drain and stop."""
    services = await start_services(settings, Metrics(), serve_mcp=False)  # `serve` serves MCP
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await stop_services(services)
