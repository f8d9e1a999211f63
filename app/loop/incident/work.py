"""One worker at a time per incident: Argo sends several notifications per failure, often at once.

The first job to claim the incident does the work (collect evidence, analyse, open the issue); the others
see a live claim and stop, since the claimer will produce the same result. A claim expires, so a job that
died mid-work (SIGKILL) is taken over by its own retry or by the next notification.
"""

from __future__ import annotations

import time

from app.loop.incident.records import WorkClaim
from app.store import Incident, StaleIncident, Store

CLAIM_SECONDS = 300.0


def claim_of(incident: Incident) -> WorkClaim:
    return WorkClaim.from_dict(incident.data.get("work"))


async def claim_incident(store: Store, incident: Incident, job_id: int) -> Incident | None:
    """The incident with our claim on it, or None when another live job holds it."""
    now = time.time()
    if claim_of(incident).held_by_another(job_id, now):
        return None
    data = {**incident.data, "work": WorkClaim(job=job_id, until=now + CLAIM_SECONDS).to_dict()}
    try:
        return await store.update_incident(incident.id, expected_version=incident.version, data=data)
    except StaleIncident:
        fresh = await store.get_incident(incident.id)
        if fresh is None:
            return None
        if claim_of(fresh).held_by_another(job_id, time.time()):
            return None
        raise  # moved for another reason: the runner retries this job, which decides again


async def release_incident(store: Store, incident: Incident, job_id: int) -> Incident:
    if claim_of(incident).job != job_id:
        return incident
    data = {k: v for k, v in incident.data.items() if k != "work"}
    return await store.update_incident(incident.id, expected_version=incident.version, data=data)
