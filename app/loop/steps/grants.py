"""A user authorised Fixloop: the hand-offs that waited for a user token are resumed.

Copilot and Jules take work only from a user. When none had authorised, the hand-off ended in
``needs_human`` with outcome ``no_user_token`` and the status comment asked for a sign-in. The OAuth
callback stores the grant, links it to the installations it reaches and submits a ``user-grant`` job
(``app.github.oauth_routes.GRANT_JOB``); this job finds those waiting incidents and hands each off again,
with the token of a user who may write to the repository (checked by ``hand_off`` as always). The status
comment then says whose sign-in resumed it. A user who may not write changes nothing: the incident keeps
waiting for someone who may.

Each incident is one job step: a retried job does not hand an incident off twice.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from app.errors import PermanentError, TransientError
from app.github.oauth_routes import GRANT_JOB
from app.loop.incident.repo_config import AgentName
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState
from app.loop.steps import issue_ops
from app.loop.steps.handoff import NO_USER_TOKEN, hand_off, writer_token
from app.store import Incident

if TYPE_CHECKING:
    from app.jobs import JobContext
    from app.services import Services
    from app.store import Job

__all__ = ["GRANT_JOB", "on_grant"]

log = logging.getLogger(__name__)


def waits_for_a_token(incident: Incident, installations: set[int]) -> bool:
    state = IncidentState.of(incident)
    return (
        incident.stage is Stage.NEEDS_HUMAN
        and incident.issue_number is not None
        and incident.installation_id in installations
        and state.handoff.outcome == NO_USER_TOKEN
    )


async def on_grant(services: Services, job: Job, ctx: JobContext) -> None:
    login = str(job.payload.get("login", ""))
    installations = {int(i) for i in job.payload.get("installations") or []}
    delayed: TransientError | None = None
    async for incident in services.store.iter_incidents(stages=[Stage.NEEDS_HUMAN.value]):
        if not waits_for_a_token(incident, installations):
            continue
        try:
            await ctx.step(f"resume:{incident.id}", functools.partial(_resume, services, incident.id, login))
        except TransientError as exc:  # the others still resume; this one with the job's retry
            log.warning("incident %s: resuming its hand-off will be retried: %s", incident.id, exc)
            delayed = delayed or exc
        except PermanentError as exc:
            log.warning("incident %s: its hand-off could not be resumed: %s", incident.id, exc)
    if delayed is not None:
        raise delayed


async def _resume(services: Services, incident_id: int, login: str) -> dict[str, Any]:
    incident = await services.store.get_incident(incident_id)  # fresh: the step may run on a retry
    if incident is None or incident.installation_id is None:
        return {"resumed": False, "why": "gone"}
    if not waits_for_a_token(incident, {incident.installation_id}):
        return {"resumed": False, "why": f"now {incident.stage}"}
    gh = services.github.installation_client(incident.installation_id)
    if await writer_token(services, gh, incident) is None:
        log.info(
            "incident %s: %s signed in, but no authorised user may write to %s",
            incident.id,
            login,
            incident.repo,
        )
        return {"resumed": False, "why": "no authorised writer"}
    config = (await issue_ops.read_repo_config(gh, incident.repo)).config
    agent = AgentName(IncidentState.of(incident).handoff.agent or config.agent.value)
    incident = await hand_off(services, gh, incident, config, view=None, agent=agent, resumed_by=login)
    outcome = IncidentState.of(incident).handoff.outcome
    log.info(
        "incident %s: hand-off to %s resumed after %s signed in: %s", incident.id, agent.value, login, outcome
    )
    return {"resumed": outcome == "ok", "outcome": outcome}
