"""Incidents on both engines: one per fingerprint under races, optimistic concurrency, history."""

from __future__ import annotations

import asyncio

import pytest

from app.errors import TransientError
from app.store import Incident, NotFound, StaleIncident, Store


async def _incident(store: Store, fingerprint: str = "prod/web/sha256:abc", **overrides: object) -> Incident:
    fields: dict[str, object] = {
        "namespace": "prod",
        "rollout": "web",
        "repo": "acme/web",
        "installation_id": 42,
        "stage": "detected",
        "data": {"image": "ghcr.io/acme/web:abc"},
    }
    fields.update(overrides)
    incident, _ = await store.get_or_create_incident(fingerprint, **fields)  # type: ignore[arg-type]
    return incident


async def test_get_or_create_returns_the_existing_incident(store: Store) -> None:
    created, was_created = await store.get_or_create_incident(
        "fp", namespace="prod", rollout="web", repo="acme/web", installation_id=42, stage="detected", data={}
    )
    again, again_created = await store.get_or_create_incident(
        "fp", namespace="x", rollout="y", repo="z/z", installation_id=1, stage="analysed", data={"a": 1}
    )
    assert was_created and not again_created
    assert again == created and again.stage == "detected" and again.version == 1 and again.attempt == 1
    assert await store.get_incident(created.id) == created
    assert await store.get_incident_by_fingerprint("fp") == created
    assert await store.get_incident(created.id + 100) is None


async def test_concurrent_get_or_create_makes_one_incident(store: Store, other_store: Store) -> None:
    calls = [
        s.get_or_create_incident(
            "fp-race", namespace="n", rollout="r", repo="o/r", installation_id=1, stage="detected", data={}
        )
        for _ in range(10)
        for s in (store, other_store)
    ]
    results = await asyncio.gather(*calls)
    assert sum(created for _, created in results) == 1
    assert len({incident.id for incident, _ in results}) == 1
    assert len(await store.list_incidents()) == 1


async def test_update_bumps_the_version_and_rejects_stale_writers(store: Store) -> None:
    incident = await _incident(store)
    updated = await store.update_incident(
        incident.id, expected_version=1, stage="issue_open", issue_number=12, data={"k": "v"}
    )
    assert (updated.stage, updated.issue_number, updated.version) == ("issue_open", 12, 2)
    assert updated.data == {"k": "v"}
    assert updated.attempt == 1 and updated.updated_at >= incident.updated_at
    with pytest.raises(StaleIncident) as info:
        await store.update_incident(incident.id, expected_version=1, stage="verified")
    assert isinstance(info.value, TransientError)  # a job that loses the race is retried
    assert await store.get_incident(incident.id) == updated
    with pytest.raises(NotFound):
        await store.update_incident(incident.id + 100, expected_version=1, stage="verified")


async def test_concurrent_updates_of_one_version_let_one_win(store: Store, other_store: Store) -> None:
    incident = await _incident(store)

    async def bump(s: Store, attempt: int) -> Incident | None:
        try:
            return await s.update_incident(incident.id, expected_version=1, attempt=attempt)
        except StaleIncident:
            return None

    results = await asyncio.gather(*(bump(s, n) for n in range(2, 12) for s in (store, other_store)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await store.get_incident(incident.id) == winners[0]


async def test_stage_change_with_cause_is_recorded_in_the_same_update(store: Store) -> None:
    incident = await _incident(store)
    await store.record_transition(incident.id, None, "detected", "rollout-aborted")
    v2 = await store.update_incident(incident.id, expected_version=1, stage="analysed", cause="llm verdict")
    await store.update_incident(incident.id, expected_version=v2.version, attempt=2, cause="no stage change")
    transitions = await store.list_transitions(incident.id)
    assert [(t.from_stage, t.to_stage, t.cause) for t in transitions] == [
        (None, "detected", "rollout-aborted"),
        ("detected", "analysed", "llm verdict"),
    ]
    assert transitions[0].at <= transitions[1].at


async def test_audit_trail_in_order(store: Store) -> None:
    incident = await _incident(store)
    await store.add_audit(incident.id, "llm_call", {"tokens": 1200})
    await store.add_audit(incident.id, "kube_patch", {"op": "abort"})
    entries = await store.list_audit(incident.id)
    assert [(e.kind, e.detail) for e in entries] == [
        ("llm_call", {"tokens": 1200}),
        ("kube_patch", {"op": "abort"}),
    ]
    assert await store.list_audit(incident.id + 1) == []


async def test_find_list_and_count(store: Store) -> None:
    a = await _incident(store, "fp-a")
    b = await _incident(store, "fp-b", rollout="api", repo="Acme/API")
    c = await _incident(store, "fp-c", namespace="staging")
    await store.update_incident(a.id, expected_version=1, stage="issue_open", issue_number=5)
    found = await store.find_incident_by_issue("ACME/web", 5)
    assert found is not None and found.id == a.id
    assert await store.find_incident_by_issue("acme/web", 6) is None
    assert [i.id for i in await store.list_incidents(repo="acme/api")] == [b.id]
    assert [i.id for i in await store.list_incidents(namespace="prod", rollout="web")] == [a.id]
    assert [i.id for i in await store.list_incidents(stages=["detected"])] == [b.id, c.id]
    assert await store.list_incidents(stages=[]) == []
    assert await store.count_incidents_by_stage() == {"detected": 2, "issue_open": 1}
