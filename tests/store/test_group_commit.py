"""Enqueues of concurrent intakes share one statement and one commit (app.store.group_commit), on both
engines, and each caller still gets its own answer: its job's id, whether it created it, or its own error."""

from __future__ import annotations

import asyncio

import pytest

from app.store import JSONText, Store


async def test_concurrent_enqueues_each_get_their_own_job(store: Store) -> None:
    before, _ = await store.enqueue("webhook", "key-old", {"old": True})
    keys = ["key-old", *(f"key-{n}" for n in range(80)), *(f"key-{n}" for n in range(0, 80, 4))]
    results = await asyncio.gather(*(store.enqueue("webhook", key, {"key": key}) for key in keys))
    by_key: dict[str, list[tuple[int, bool]]] = {}
    for key, result in zip(keys, results, strict=True):
        by_key.setdefault(key, []).append(result)
    assert by_key["key-old"] == [(before, False)]
    for key, answers in by_key.items():
        assert len({job_id for job_id, _ in answers}) == 1  # every caller of a key: the same job
        assert sum(created for _, created in answers) == (0 if key == "key-old" else 1)
        job = await store.get_job(answers[0][0])
        assert job is not None and job.key == key
        assert job.payload == ({"old": True} if key == "key-old" else {"key": key})
    assert (await store.queue_depth())["queued"] == 81


async def test_pre_encoded_payload_is_stored_as_is(store: Store) -> None:
    job_id, created = await store.enqueue(
        "webhook", "raw", JSONText('{"event":"issues","payload":{"a":[1,2]}}')
    )
    job = await store.get_job(job_id)
    assert created and job is not None and job.payload == {"event": "issues", "payload": {"a": [1, 2]}}


async def test_a_row_that_cannot_be_stored_fails_alone(store: Store) -> None:
    unbindable = JSONText('{"a": "\ud800"}')  # a lone surrogate: neither driver can encode it as UTF-8
    calls = [store.enqueue("webhook", f"good-{n}", {"n": n}) for n in range(5)]
    calls.insert(2, store.enqueue("webhook", "bad", unbindable))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[2], Exception)
    good = [result for n, result in enumerate(results) if n != 2]
    assert all(isinstance(result, tuple) and result[1] for result in good)
    assert (await store.queue_depth())["queued"] == 5


async def test_a_caller_that_gives_up_does_not_cancel_the_rows_it_waited_with(store: Store) -> None:
    gave_up = asyncio.create_task(store.enqueue("webhook", "gave-up", {}))
    others = [asyncio.create_task(store.enqueue("webhook", f"other-{n}", {})) for n in range(3)]
    await asyncio.sleep(0)  # every one of them has joined the queue
    gave_up.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gave_up
    assert all(created for _, created in await asyncio.gather(*others))
    # The row of the caller that gave up was written in the batch it had joined: enqueued again, a duplicate.
    assert (await store.enqueue("webhook", "gave-up", {}))[1] is False
