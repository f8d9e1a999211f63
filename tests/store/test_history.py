"""The scorecard's reading of the store: every incident's history, in bounded batches, on both engines."""

from __future__ import annotations

from app.store import Store


async def test_history_comes_in_batches_with_each_incidents_whole_history(store: Store) -> None:
    for n in range(5):
        incident, _ = await store.get_or_create_incident(
            f"fp-{n}",
            namespace="ns",
            rollout=f"r{n}",
            repo=f"org/repo-{n}",
            installation_id=1,
            stage="detected",
            data={},
        )
        await store.record_transition(incident.id, None, "detected", "secret cause text")
        await store.update_incident(incident.id, expected_version=1, stage="analysed", cause="analysed")
        await store.add_audit(incident.id, "handoff", {"agent": "copilot", "outcome": "ok"})
        await store.add_audit(incident.id, "analysis", {"source": "offline"})
    batches = [batch async for batch in store.incident_history(("handoff", "soak"), batch=2)]
    assert [len(repos) for repos, _, _ in batches] == [2, 2, 1]
    for repos, transitions, audit in batches:
        assert {t.incident_id for t in transitions} == set(repos) == {a.incident_id for a in audit}
        assert [t.to_stage for t in transitions] == ["detected", "analysed"] * len(repos)
        assert {t.cause for t in transitions} == {""}, "causes are not read"
        assert {a.kind for a in audit} == {"handoff"}
