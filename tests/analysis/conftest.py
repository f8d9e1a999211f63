"""The shared fake LLM for these tests (tests/conftest.py may list tests.fakes.llm for everyone)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.analysis.llm import forget_formats
from tests.fakes.llm import fake_llm

__all__ = ["fake_llm"]


@pytest.fixture(autouse=True)
def _fresh_format_memory() -> Iterator[None]:
    forget_formats()
    yield
    forget_formats()
