"""Soak watch: a verified fix is watched for the repository's ``soak_hours`` before it counts as held.

Within the window, the same failure signature on the same Rollout reopens the issue (``steps.reopen``)
and counts as a fix that failed in soak. When the window runs out, the periodic sweep closes the incident
for good: its stage stays ``verified``, the watch ends with an audit entry ``soak: held``, and a later
failure of the same revision is a new incident (a chained fingerprint), not a reopening.

The watch lives in the store (key/value namespace ``soak``, one row per watched incident with the end of
its window), so it survives restarts; removing the row is the single point that decides the outcome, so
two processes racing to end one watch record it once.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.loop.incident.repo_config import RepoConfig
from app.loop.incident.stages import Stage
from app.store import Incident, Store

if TYPE_CHECKING:
    from app.services import Services

log = logging.getLogger(__name__)

SOAK = "soak"  # kv namespace: incident id -> {"until", "hours"}
HELD = "held"
FAILED = "failed"
AFTER = "~after-"  # fingerprint of a failure that came after an incident closed for good


async def start_watch(store: Store, incident: Incident, config: RepoConfig) -> float:
    """Watch a just-verified incident for ``config.soak_hours``; the end of the window."""
    until = time.time() + config.soak_hours * 3600
    entry = {"until": until, "hours": config.soak_hours}
    await store.kv_set(SOAK, str(incident.id), entry, None)
    await store.add_audit(incident.id, "soak", {"outcome": "watching", **entry})
    return until


async def watch_until(store: Store, incident: Incident) -> float | None:
    """The end of the incident's soak window, or None when it is not being watched."""
    entry = await store.kv_get(SOAK, str(incident.id))
    return None if entry is None else float(entry.get("until", 0.0))


async def watching(store: Store, incident: Incident) -> bool:
    """Whether the verified incident is still in its soak window (a window past its end is not)."""
    until = await watch_until(store, incident)
    return until is not None and time.time() < until and incident.stage is Stage.VERIFIED


async def end_watch(services: Services, incident_id: int, outcome: str, cause: str) -> bool:
    """End the watch with ``held`` or ``failed``; False when it had ended already (another process)."""
    if not await services.store.kv_delete(SOAK, str(incident_id)):
        return False
    await services.store.add_audit(incident_id, "soak", {"outcome": outcome, "cause": cause})
    services.metrics.soak_outcomes.labels(outcome).inc()
    log.info("incident %s: soak watch ended, %s (%s)", incident_id, outcome, cause)
    return True


async def sweep_soaks(services: Services) -> list[Incident]:
    """Close for good every incident whose window has run out; the incidents closed."""
    closed: list[Incident] = []
    now = time.time()
    for key, entry in await services.store.kv_items(SOAK):
        if now < float(entry.get("until", 0.0)):
            continue
        incident = await services.store.get_incident(int(key))
        if incident is None:
            await services.store.kv_delete(SOAK, key)  # the incident is gone
        elif incident.stage is not Stage.VERIFIED:
            # Reopened, and the reopening stopped before it ended the watch (a crash): not a fix that held.
            await end_watch(services, incident.id, FAILED, "reopened within the window")
        elif await end_watch(services, incident.id, HELD, _held_cause(entry)):
            closed.append(incident)
    return closed


def _held_cause(entry: dict[str, object]) -> str:
    hours = entry.get("hours", 0.0)
    return f"no recurrence within {float(hours) if isinstance(hours, int | float) else 0.0:g} h (soak_hours)"


async def soak_line(store: Store, incident: Incident) -> str:
    """The status comment's soak line of a verified incident ("" for any other stage)."""
    if incident.stage is not Stage.VERIFIED:
        return ""
    until = await watch_until(store, incident)
    if until is not None:
        end = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"until {end}: the same failure on this Rollout before then reopens this issue."
    ended = [a for a in await store.list_audit(incident.id) if a.kind == "soak"]
    if ended and ended[-1].detail.get("outcome") == HELD:
        return "the fix held through the soak window; this incident is closed for good."
    return ""


async def current_incident(
    services: Services, key: str, existing: Incident | None
) -> tuple[str, Incident | None]:
    """The fingerprint and incident a new failure belongs to: a verified incident out of its window is
    closed for good, so the failure goes to its successor (``<fingerprint>~after-<id>``), new or not."""
    while existing is not None and existing.stage is Stage.VERIFIED:
        if await watching(services.store, existing):
            break
        key = f"{key.split(AFTER, 1)[0]}{AFTER}{existing.id}"
        existing = await services.store.get_incident_by_fingerprint(key)
    return key, existing
