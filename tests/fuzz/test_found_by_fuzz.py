"""Regressions for what the schemathesis fuzz found, pinned as plain examples (they must stay 4xx, never 500)."""

from __future__ import annotations

import pytest

from tests.harness import AppHarness

# "²" passes str.isdigit() but int() refuses it; 2**64 is a number the store's JSON cannot hold.
BAD_INSTALLATION_IDS = ["²", "18446744073709551616", "21513461170738707489"]


@pytest.mark.parametrize("installation_id", BAD_INSTALLATION_IDS)
async def test_oauth_start_refuses_an_unusable_installation_id(
    app_harness: AppHarness, installation_id: str
) -> None:
    answer = await app_harness.client.get("/github/oauth/start", params={"installation_id": installation_id})
    assert answer.status == 400
    assert "installation_id must be a number" in await answer.text()


@pytest.mark.parametrize("installation_id", BAD_INSTALLATION_IDS)
async def test_oauth_callback_treats_an_unusable_installation_id_as_no_install(
    app_harness: AppHarness, installation_id: str
) -> None:
    query = {"code": "abc", "setup_action": "install", "installation_id": installation_id}
    answer = await app_harness.client.get("/github/oauth/callback", params=query)
    assert answer.status == 400
    assert "did not start here" in await answer.text()


async def test_oauth_start_still_accepts_a_real_installation_id(app_harness: AppHarness) -> None:
    answer = await app_harness.client.get(
        "/github/oauth/start", params={"installation_id": "9223372036854775807"}, allow_redirects=False
    )
    assert answer.status == 302


async def test_notify_stores_a_notification_with_a_huge_integer(app_harness: AppHarness) -> None:
    """Valid JSON with an integer beyond 64 bits was a 500 (the store could not write it)."""
    body = (
        b'{"event": "rollout-aborted", "namespace": "shop", "name": "web", "extra": 123456789012345678901234}'
    )
    answer = await app_harness.notify(body)
    assert answer.status == 202
    assert (await answer.json())["outcome"] == "queued"


@pytest.mark.parametrize("number", [b"NaN", b"1e400"])
async def test_notify_refuses_numbers_json_does_not_have(app_harness: AppHarness, number: bytes) -> None:
    answer = await app_harness.notify(
        b'{"event": "rollout-aborted", "namespace": "a", "name": "b", "x": ' + number + b"}"
    )
    assert answer.status == 400
    assert "not JSON" in (await answer.json())["error"]
