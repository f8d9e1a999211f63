"""Fixtures of the diagnosis worlds: a KubeClient on the shared fake cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.metrics import Metrics
from app.rollouts.kube import KubeClient
from tests.fakes.kube import FakeKube


@pytest.fixture
async def kube(fake_kube: FakeKube) -> AsyncIterator[KubeClient]:
    client = await KubeClient.create(str(fake_kube.kubeconfig), 2.0, Metrics(), retries=1, backoff=0.01)
    try:
        yield client
    finally:
        await client.close()
