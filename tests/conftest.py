"""Project-wide fixtures: the three shared fakes, the store engines, and the app harness."""

from __future__ import annotations

pytest_plugins = [
    "tests.fakes.github",
    "tests.fakes.kube",
    "tests.fakes.llm",
    "tests.fakes.a2a_agent",
    "tests.store.fixtures",
    "tests.harness",
    "tests.figures",
]
