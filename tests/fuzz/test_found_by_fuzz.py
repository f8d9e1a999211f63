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
