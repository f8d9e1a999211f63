"""Structured logging: JSON lines in production, each record carrying the job's correlation fields.

Correlation fields (delivery id, installation, repository, incident, job) live in a ContextVar, so every
log call inside a job carries them without being passed around. Messages pass through ``redact`` first:
Fixloop's own logs leave the cluster too (log shippers), so they must not carry secrets either.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

_context: ContextVar[dict[str, Any]] = ContextVar("fixloop_log_context", default={})  # noqa: B039

CORRELATION_FIELDS = ("delivery", "installation", "repo", "incident", "job", "kind", "rollout")


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add correlation fields for the duration of a block (nested blocks merge)."""
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_context.get())


def _identity(text: str) -> str:
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, scrub: Callable[[str], str] = _identity) -> None:
        super().__init__()
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self._scrub(record.getMessage()),
        }
        entry.update(_context.get())
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self._scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, scrub: Callable[[str], str] = _identity) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._scrub = scrub

    def format(self, record: logging.LogRecord) -> str:
        ctx = " ".join(f"{k}={v}" for k, v in _context.get().items())
        line = self._scrub(super().format(record))
        return f"{line} [{ctx}]" if ctx else line


def configure_logging(fmt: str, level: str, scrub: Callable[[str], str] = _identity) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(scrub) if fmt == "json" else TextFormatter(scrub))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel("WARNING")
