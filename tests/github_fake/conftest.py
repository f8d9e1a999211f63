"""Fixtures for the fake GitHub's own tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.fakes.github import FakeGitHub, fake_github  # noqa: F401 - the shared fixture
from tests.fakes.github_state import Installation

REPO = "acme/web"


@dataclass
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str]  # case-insensitive, like HTTP


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def inst(fake_github: FakeGitHub) -> Installation:  # noqa: F811
    """acme/web, installed; alice (write, Copilot seat), bob (write, no seat)."""
    installation = fake_github.add_installation("acme", ["web"])
    fake_github.add_user("alice", copilot_seat=True)
    fake_github.add_collaborator(REPO, "alice", "write")
    fake_github.add_collaborator(REPO, "bob", "write")
    return installation


async def call(
    http: aiohttp.ClientSession,
    fake: FakeGitHub,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    sent = {"Accept": "application/vnd.github+json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body)
    if data is not None:
        sent["Content-Type"] = "application/json"
    async with http.request(method, fake.api_url + path, data=data, headers=sent) as response:
        raw = await response.read()
        parsed = json.loads(raw) if raw and "json" in response.content_type else raw
        return Answer(response.status, parsed, response.headers.copy())
