"""schemathesis against Fixloop running for real (``python -m app serve``), driven by app/openapi.yaml.

Every operation is fuzzed with valid and invalid requests; each answer must be documented (status,
content type, JSON schema), never a 5xx, and come within the hang bound. The app talks only to the
fake GitHub and the fake cluster, so nothing reaches the internet.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from tests.fakes.github import FakeGitHub
from tests.fakes.kube import FakeKube
from tests.figures import FigureRecorder
from tests.fuzz.schemathesis_run import DESCRIPTION, Credentials, fuzz_all
from tests.harness import NOTIFY_TOKEN, WEBHOOK_SECRET, base_env
from tests.processes import AppProcess

EXAMPLES_PER_MODE = 150  # per operation, once valid and once invalid
AUTHENTICATED = (
    "POST /rollouts/notify",
    "POST /github/webhook",
    "GET /analysis/{namespace}/{rollout}",
    "POST /analysis/{namespace}/{rollout}",
)


def described_operations() -> int:
    """How many operations app/openapi.yaml describes (the router matches it: test_openapi_description)."""
    paths = yaml.safe_load(DESCRIPTION.read_text(encoding="utf-8"))["paths"]
    methods = {"get", "head", "post", "put", "patch", "delete", "options"}
    return sum(1 for item in paths.values() for method in item if method in methods)


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error_hang_or_contract_violation(
    fake_github: FakeGitHub, fake_kube: FakeKube, tmp_path: Path, figures: FigureRecorder
) -> None:
    env = base_env(fake_github, f"sqlite:///{tmp_path / 'app.db'}", KUBECONFIG=str(fake_kube.kubeconfig))
    app = await AppProcess(env, tmp_path / "app.log").start()
    try:
        credentials = Credentials(notify_token=NOTIFY_TOKEN, webhook_secret=WEBHOOK_SECRET)
        tally = await asyncio.to_thread(fuzz_all, app.url, credentials, EXAMPLES_PER_MODE)
    finally:
        await app.stop()
    described = described_operations()
    figures.record("schemathesis", "operations fuzzed", tally.operations, goal=str(described))
    figures.record("schemathesis", "requests sent", tally.requests)
    figures.record("schemathesis", "5xx answers", tally.server_errors, goal="0")
    figures.record("schemathesis", "hangs", tally.hangs, goal="0")
    figures.record("schemathesis", "contract violations", tally.violations, goal="0")
    assert tally.operations == described, "every operation of app/openapi.yaml"
    assert (tally.server_errors, tally.hangs, tally.violations) == (0, 0, 0), "\n\n".join(tally.reports)
    for label in AUTHENTICATED:
        seen = tally.statuses.get(label, set())
        assert any(200 <= status < 300 for status in seen), f"never past authentication on {label}: {seen}"
        assert 401 in seen, f"no request to {label} was refused for its credentials: {seen}"
