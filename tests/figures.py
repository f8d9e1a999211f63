"""Figures the fault, attack and load suites measure, printed at the end of every run.

A test asks for the ``figures`` fixture and records what it measured (``figures.record("faults",
"issues lost after SIGKILL", 0, goal="0")``). pytest captures a test's own prints, so a CI log that
runs ``pytest -q`` would never show them; this plugin prints every recorded figure in one table in the
terminal summary instead, whether the test passed or failed, so the run itself carries the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

FIGURES_KEY = pytest.StashKey["Figures"]()


@dataclass(frozen=True)
class Figure:
    suite: str
    what: str
    value: object
    goal: str
    test: str


class Figures:
    def __init__(self) -> None:
        self.rows: list[Figure] = []

    def record(self, suite: str, what: str, value: object, *, goal: str = "", test: str = "") -> None:
        self.rows.append(Figure(suite, what, value, goal, test))


class FigureRecorder:
    """What one test records: its rows carry the test's name."""

    def __init__(self, figures: Figures, test: str) -> None:
        self._figures = figures
        self._test = test

    def record(self, suite: str, what: str, value: object, *, goal: str = "") -> None:
        self._figures.record(suite, what, value, goal=goal, test=self._test)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES_KEY] = Figures()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> FigureRecorder:
    return FigureRecorder(request.config.stash[FIGURES_KEY], request.node.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    rows = config.stash[FIGURES_KEY].rows
    if not rows:
        return
    terminalreporter.section("measured figures")
    width = max(len(f"{r.suite}: {r.what}") for r in rows)
    for row in sorted(rows, key=lambda r: (r.suite, r.test)):
        label = f"{row.suite}: {row.what}".ljust(width)
        goal = f"goal {row.goal}" if row.goal else ""
        terminalreporter.write_line(f"{label}  {row.value!s:>10}  {goal:<16} [{row.test}]")
