"""Stage timeouts: an agent that never opens a PR, an image that is never built, a canary that never
finishes. Each escalates to ``needs_human`` after the repository's ``stage_timeouts`` (hours). The same
sweep closes the soak windows that ran out (``app.loop.steps.soak``) and purges finished jobs past
``FIXLOOP_JOB_RETENTION_DAYS`` and expired key/value rows.

Every process enqueues one sweep job per interval, keyed by the interval's number: the store keeps one job
per key, so several replicas still sweep once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from app.github import issues
from app.loop.incident.repo_config import RepoConfig
from app.loop.incident.stages import Stage
from app.loop.incident.state import move
from app.loop.steps import issue_ops
from app.loop.steps.handoff import NEEDS_HUMAN_LABEL
from app.loop.steps.soak import sweep_soaks
from app.loop.steps.status import refresh_status
from app.store import Incident

if TYPE_CHECKING:
    from app.jobs import JobContext
    from app.services import Services
    from app.store import Job

log = logging.getLogger(__name__)

SWEEP_JOB = "sweep"
SWEEP_INTERVAL = 300.0
WAITING = {
    Stage.AGENT_WORKING: ("agent_pr", "the agent opened no pull request"),
    Stage.MERGED: ("image_build", "no image was built for the merge commit"),
    Stage.REDEPLOYING: ("canary", "the canary with the fix did not finish"),
}


def _limit_hours(config: RepoConfig, stage: Stage) -> float:
    return float(getattr(config.stage_timeouts, WAITING[stage][0]))


async def run_sweeps(services: Services, interval: float = SWEEP_INTERVAL) -> None:
    """Background task: enqueue the sweep of each interval (the runner runs it, once across replicas)."""
    while True:
        bucket = int(time.time() // interval)
        await services.submit(SWEEP_JOB, f"sweep-{bucket}", {"bucket": bucket})
        await asyncio.sleep(interval - time.time() % interval)


async def sweep(services: Services, job: Job, ctx: JobContext) -> None:
    stages = [stage.value for stage in WAITING]
    async for incident in services.store.iter_incidents(stages=stages):  # one in memory at a time
        try:
            await _check(services, incident)
        except Exception:  # one incident's failure must not stop the sweep of the others
            log.exception("stage timeout check failed for incident %s", incident.id)
    try:
        for held in await sweep_soaks(services):
            await _announce_held(services, held)
    except Exception:  # the purge below must still run
        log.exception("soak watch sweep failed")
    await purge_finished(services)


async def _announce_held(services: Services, incident: Incident) -> None:
    """The status comment says the fix held; a failure to say so is logged, the outcome is stored."""
    try:
        gh = services.github.installation_client(incident.installation_id or 0)
        config = (await issue_ops.read_repo_config(gh, incident.repo)).config
        await refresh_status(services, gh, incident, config)
    except Exception:  # one incident's comment must not stop the others'
        log.exception("status of incident %s not updated after its soak window", incident.id)


async def purge_finished(services: Services) -> None:
    """Drop job rows past their retention and expired key/value rows, so the store stays bounded."""
    retention = services.settings.job_retention_days * 86400
    jobs = await services.store.purge_jobs(older_than=retention)
    expired = await services.store.purge_expired()
    if jobs or expired:
        log.info("purged %d finished jobs and %d expired entries", jobs, expired)


async def _check(services: Services, incident: Incident) -> None:
    transitions = await services.store.list_transitions(incident.id)
    since = transitions[-1].at if transitions else incident.updated_at
    stage = incident.stage
    gh = services.github.installation_client(incident.installation_id or 0)
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    hours = _limit_hours(config, stage)
    if time.time() - since < hours * 3600:
        return
    why = f"{WAITING[stage][1]} within {hours:g} h (stage_timeouts.{WAITING[stage][0]})"
    if incident.issue_number is not None:
        await issue_ops.ensure_labels(gh, incident.repo, [NEEDS_HUMAN_LABEL])
        await issues.add_labels(gh, incident.repo, incident.issue_number, [NEEDS_HUMAN_LABEL])
    incident = await move(services, incident, Stage.NEEDS_HUMAN, why)
    await refresh_status(services, gh, incident, config, why)
