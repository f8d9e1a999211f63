"""The external-service fault suites run the in-process app on both store engines.

``harness_env`` (which ``app_harness`` lays over its base environment) points DATABASE_URL at the
``store_url`` fixture, parametrised over SQLite and PostgreSQL, so every scenario here runs twice.
Timeouts are short so that a fault beyond them costs seconds, not minutes; they stay well above what a
healthy fake needs on a loaded 2-core machine.
"""

from __future__ import annotations

import pytest

GITHUB_TIMEOUT = 1.5
KUBE_TIMEOUT = 1.0
LLM_TIMEOUT = 2.0


@pytest.fixture
def fault_env(store_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": store_url,
        "FIXLOOP_GITHUB_TIMEOUT": str(GITHUB_TIMEOUT),
        "FIXLOOP_KUBE_TIMEOUT": str(KUBE_TIMEOUT),
        "FIXLOOP_LLM_TIMEOUT": str(LLM_TIMEOUT),
    }


@pytest.fixture
def harness_env(fault_env: dict[str, str]) -> dict[str, str]:
    return dict(fault_env)
