"""Fixtures of the rollouts tests: a KubeClient wired to the shared fake API (``fake_kube``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.metrics import Metrics
from app.rollouts.kube import KubeClient
from tests.fakes.kube import FakeKube


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def kube(fake_kube: FakeKube, metrics: Metrics) -> AsyncIterator[KubeClient]:
    """Short timeout and backoff so that fault tests stay fast."""
    client = await KubeClient.create(str(fake_kube.kubeconfig), 0.5, metrics, retries=2, backoff=0.01)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def demo(fake_kube: FakeKube) -> FakeKube:
    fake_kube.load_demo()
    return fake_kube
