"""What every part of the store shares: the driver and the clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from app.store.driver import Driver
from app.store.group_commit import GroupCommit


class StoreBase:
    def __init__(self, db: Driver, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock
        self._job_inserts = GroupCommit(db, clock)  # enqueues of concurrent intakes share a commit

    @property
    def engine(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._db.engine

    def intake_saturated(self, within: float) -> bool:
        """Whether deliveries queued up for a commit in this process in the last ``within`` seconds."""
        return time.monotonic() - self._job_inserts.intake_saturated_at < within

    def now(self) -> float:
        """The store's clock (epoch seconds, UTC); injectable so tests can move time."""
        return self._clock()


def placeholders(start: int, count: int) -> str:
    """``$start, $start+1, ...``: an IN list for values passed as separate parameters."""
    return ", ".join(f"${n}" for n in range(start, start + count))


def in_list(column: str, values: Collection[str], args: list[object]) -> str:
    """Append ``values`` to ``args`` and return ``column IN ($n, ...)`` (``FALSE`` when empty)."""
    if not values:
        return "1 = 0"
    start = len(args) + 1
    args.extend(values)
    return f"{column} IN ({placeholders(start, len(values))})"
